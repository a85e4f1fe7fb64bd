//! Assertion helpers over a synthesized template, in the spirit of CDK's `Template`
//! assertions: find resources by type, match properties partially.

#![allow(dead_code)]

use serde_json::Value;
use shipline_core::{Config, synthesize};

/// The synthesized template of `config`, as JSON.
pub fn synth(config: &Config) -> Value {
    synthesize(config).to_value()
}

pub fn synth_toml(text: &str) -> Value {
    synth(&Config::parse("test.toml", text).expect("valid config"))
}

/// `(logical_id, resource)` of every resource of `type_name`.
pub fn resources_of_type<'a>(template: &'a Value, type_name: &str) -> Vec<(&'a str, &'a Value)> {
    template["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == type_name)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

/// The one resource of `type_name`; panics if there is not exactly one.
pub fn only<'a>(template: &'a Value, type_name: &str) -> &'a Value {
    let found = resources_of_type(template, type_name);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {type_name}, found {}",
        found.len()
    );
    found[0].1
}

/// `actual` contains `expected`: objects match key by key (extra keys allowed), arrays match
/// element by element with the same length, scalars must be equal.
pub fn matches(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| matches(av, v))),
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(av, ev)| matches(av, ev))
        }
        _ => actual == expected,
    }
}

/// Asserts that some resource of `type_name` has properties matching `expected`.
pub fn has_resource_properties(template: &Value, type_name: &str, expected: Value) {
    let found = resources_of_type(template, type_name);
    assert!(
        found
            .iter()
            .any(|(_, r)| matches(&r["Properties"], &expected)),
        "no {type_name} has properties matching\n{}\nfound:\n{}",
        serde_json::to_string_pretty(&expected).unwrap(),
        serde_json::to_string_pretty(
            &found
                .iter()
                .map(|(_, r)| &r["Properties"])
                .collect::<Vec<_>>()
        )
        .unwrap()
    );
}

/// Every statement of the inline policies of the role with logical id `role_id`.
pub fn role_statements<'a>(template: &'a Value, role_id: &str) -> Vec<&'a Value> {
    template["Resources"][role_id]["Properties"]["Policies"]
        .as_array()
        .expect("role has inline policies")
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap())
        .collect()
}

/// All actions a role is allowed, each with the resources it is allowed on.
pub fn role_grants(template: &Value, role_id: &str) -> Vec<(String, Value)> {
    role_statements(template, role_id)
        .into_iter()
        .flat_map(|s| {
            s["Action"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |a| (a.as_str().unwrap().to_owned(), s["Resource"].clone()))
        })
        .collect()
}
