//! The CloudFormation document model: [`Template`], [`Resource`], [`Output`], the intrinsic
//! functions in [`intrinsics`], and rendering to JSON or YAML.
//!
//! Property values are plain `serde_json::Value`s: the typed layer lives in
//! [`crate::resources`], whose constructors are the only code that writes properties. The model
//! keeps everything in `BTreeMap`s, so the same input always renders to the same bytes.

pub mod intrinsics;
pub(crate) mod yaml;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

/// A whole CloudFormation template.
#[derive(Debug, Clone, Serialize)]
pub struct Template {
    #[serde(rename = "AWSTemplateFormatVersion")]
    pub format_version: &'static str,
    #[serde(rename = "Description")]
    pub description: String,
    /// Lookup tables (`Fn::FindInMap`), e.g. a code per region.
    #[serde(rename = "Mappings", skip_serializing_if = "BTreeMap::is_empty")]
    pub mappings: BTreeMap<String, Value>,
    #[serde(rename = "Resources")]
    pub resources: BTreeMap<String, Resource>,
    #[serde(rename = "Outputs", skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, Output>,
}

/// What happens to a resource's data when CloudFormation deletes or replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RetainPolicy {
    Retain,
    Delete,
}

/// One resource: its type, properties and the resource-level attributes shipline uses.
#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    #[serde(rename = "Type")]
    pub type_name: &'static str,
    #[serde(rename = "DependsOn", skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    #[serde(rename = "DeletionPolicy", skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<RetainPolicy>,
    #[serde(
        rename = "UpdateReplacePolicy",
        skip_serializing_if = "Option::is_none"
    )]
    pub update_replace_policy: Option<RetainPolicy>,
    #[serde(rename = "Metadata", skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    #[serde(rename = "Properties")]
    pub properties: Map<String, Value>,
}

impl Resource {
    pub fn new(type_name: &'static str) -> Self {
        Resource {
            type_name,
            depends_on: Vec::new(),
            deletion_policy: None,
            update_replace_policy: None,
            metadata: Map::new(),
            properties: Map::new(),
        }
    }

    /// Sets one property (builder style).
    pub fn prop(mut self, name: &str, value: Value) -> Self {
        self.properties.insert(name.to_owned(), value);
        self
    }

    /// Creates this resource only after `logical_id` (for dependencies no reference implies).
    pub fn depends_on(mut self, logical_id: &str) -> Self {
        self.depends_on.push(logical_id.to_owned());
        self
    }

    /// Keeps the resource and its data when the stack deletes or replaces it.
    pub fn retain_data(mut self) -> Self {
        self.deletion_policy = Some(RetainPolicy::Retain);
        self.update_replace_policy = Some(RetainPolicy::Retain);
        self
    }

    /// Records, in the resource's Metadata, that parliament reports `issue` for `actions` in
    /// this resource's policy and why that is accepted (`Metadata.parliament.ignore`; the
    /// policy checker refuses an entry without a reason).
    pub fn accept_policy_finding(mut self, issue: &str, actions: &[&str], reason: &str) -> Self {
        let parliament = self
            .metadata
            .entry("parliament")
            .or_insert_with(|| json!({ "ignore": [] }));
        if let Some(ignores) = parliament["ignore"].as_array_mut() {
            ignores.push(json!({ "issue": issue, "actions": actions, "reason": reason }));
        }
        self
    }

    /// Records, in the resource's Metadata, that a checkov check does not apply and why.
    /// checkov reads `Metadata.checkov.skip[].{id, comment}`; the reason is for humans.
    pub fn skip_checkov(mut self, check_id: &str, reason: &str) -> Self {
        let checkov = self
            .metadata
            .entry("checkov")
            .or_insert_with(|| json!({ "skip": [] }));
        if let Some(skips) = checkov["skip"].as_array_mut() {
            skips.push(json!({ "id": check_id, "comment": reason }));
        }
        self
    }
}

/// A stack output.
#[derive(Debug, Clone, Serialize)]
pub struct Output {
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "Value")]
    pub value: Value,
}

/// Output format of a rendered template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Json,
    Yaml,
}

impl Template {
    pub fn new(description: impl Into<String>) -> Self {
        Template {
            format_version: "2010-09-09",
            description: description.into(),
            mappings: BTreeMap::new(),
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
        }
    }

    /// Adds a resource under a logical id. Logical ids are fixed names chosen by the
    /// composition, so adding one twice is a programming error.
    pub fn add(&mut self, logical_id: &str, resource: Resource) {
        let previous = self.resources.insert(logical_id.to_owned(), resource);
        assert!(previous.is_none(), "logical id {logical_id} added twice");
    }

    /// Adds the mapping `name` (`{top key: {second key: value}}`).
    pub fn mapping(&mut self, name: &str, table: Value) {
        self.mappings.insert(name.to_owned(), table);
    }

    pub fn output(&mut self, name: &str, description: &str, value: Value) {
        self.outputs.insert(
            name.to_owned(),
            Output {
                description: description.to_owned(),
                value,
            },
        );
    }

    /// The template as a JSON value (what `render` prints, before formatting), with every
    /// object's keys in sorted order. Sorting here, rather than relying on the map type, keeps
    /// output byte-identical even when another crate in the build switches on serde_json's
    /// `preserve_order` feature (cargo unifies features across a workspace).
    pub fn to_value(&self) -> Value {
        sorted(serde_json::to_value(self).expect("a template is always representable as JSON"))
    }

    /// Renders the template. JSON is pretty-printed with two-space indents; YAML (see [`yaml`])
    /// uses the long-form intrinsics (`Fn::GetAtt`), so it needs no custom tags, and quotes
    /// what YAML 1.1 would misread. Both end in a newline.
    pub fn render(&self, format: Format) -> String {
        let value = self.to_value();
        match format {
            Format::Json => {
                let mut text = serde_json::to_string_pretty(&value)
                    .expect("a template is always representable as JSON");
                text.push('\n');
                text
            }
            Format::Yaml => yaml::render(&value),
        }
    }
}

/// Reads a CloudFormation template written as JSON or YAML (pretty or compact; YAML with the
/// long-form intrinsics `synth` emits, `Fn::GetAtt:`, not the `!GetAtt` tags). YAML is read
/// the way CloudFormation reads it only as far as plain JSON-compatible data goes.
pub fn parse_document(text: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => Ok(value),
        Err(json_err) if text.trim_start().starts_with('{') => {
            Err(format!("not valid JSON: {json_err}"))
        }
        Err(_) => serde_norway::from_str::<Value>(text).map_err(|yaml_err| {
            format!("neither JSON nor YAML shipline can read ({yaml_err}); write intrinsics in long form (`Fn::GetAtt:`), not as `!GetAtt` tags")
        }),
    }
    .and_then(|value| {
        if value.get("Resources").is_some_and(Value::is_object) {
            Ok(value)
        } else {
            Err("not a CloudFormation template: it has no `Resources` map".to_owned())
        }
    })
}

/// A JSON document embedded as a string property (a lifecycle policy, UserParameters):
/// compact, keys sorted, so it is byte-identical whatever serde_json's map order is.
pub fn embedded_json(value: Value) -> String {
    serde_json::to_string(&sorted(value)).expect("JSON values always serialize")
}

/// `value` with the keys of every object in sorted order (the same text whether or not
/// serde_json keeps insertion order: its `preserve_order` feature, which the binary's AWS SDK
/// and Guard turn on).
pub fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: output order must not depend on serde_json's `preserve_order` feature,
    /// which a dev-dependency switched on for workspace test builds.
    #[test]
    fn rendering_sorts_keys_whatever_the_insertion_order() {
        let mut map = Map::new();
        map.insert("zeta".into(), json!(1));
        map.insert("alpha".into(), json!({ "y": 1, "b": 2 }));
        assert_eq!(
            embedded_json(Value::Object(map.clone())),
            r#"{"alpha":{"b":2,"y":1},"zeta":1}"#
        );
        let mut template = Template::new("t");
        template.add(
            "R",
            Resource {
                properties: map,
                ..Resource::new("AWS::S3::Bucket")
            },
        );
        let text = template.render(Format::Json);
        assert!(text.find("\"alpha\"").unwrap() < text.find("\"zeta\"").unwrap());
    }
}
