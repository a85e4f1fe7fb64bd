//! `shipline schema`: the JSON Schema (draft-07) of `shipline.toml`, generated from the config
//! types (`shipline_core::Config` and its tables, through schemars): descriptions are their doc
//! comments, defaults are `Config::default()`'s, enums list their values, and every table
//! refuses unknown keys as the parser does. Editors read it through a `#:schema` directive
//! (Taplo / Even Better TOML). Ranges and naming rules are checked by `shipline synth` and the
//! other commands, not by the schema. The committed copy is `schema/shipline.schema.json`.

use schemars::generate::SchemaSettings;
use serde_json::{Value, json};
use shipline_core::Config;

use super::{Failure, Output};

/// The schema as a JSON value.
pub fn schema() -> Value {
    let generator = SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<Config>().to_value();
    without_null(&mut schema);
    // Rules the core states as data, so they cannot drift from the checks.
    let definitions = &mut schema["definitions"];
    definitions["LogsConfig"]["properties"]["retention_days"]["enum"] =
        json!(shipline_core::config::LOG_RETENTION_DAYS);
    let stages = &mut schema["properties"]["stages"];
    stages["minItems"] = json!(1);
    stages["maxItems"] = json!(shipline_core::config::MAX_STAGES);
    if let Some(root) = schema.as_object_mut() {
        root.insert("title".into(), "shipline.toml".into());
        root.insert(
            "description".into(),
            "Configuration of shipline, which synthesizes an AWS CI/CD pipeline (CodePipeline, CodeBuild, ECR) for a containerized app. Every key is optional; the defaults are the embedded default pipeline.".into(),
        );
    }
    shipline_core::template::sorted(schema)
}

/// TOML has no null: an absent key is how a value is left out. schemars describes `Option`
/// fields as "T or null" and their `None` defaults as null; this drops those.
fn without_null(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(alternatives)) = map.get_mut("anyOf") {
                alternatives.retain(|a| a.get("type").is_none_or(|t| t != "null"));
                if alternatives.len() == 1 {
                    let only = alternatives.remove(0);
                    map.remove("anyOf");
                    map.insert("allOf".into(), json!([only]));
                }
            }
            if map.get("default").is_some_and(Value::is_null) {
                map.remove("default");
            }
            if let Some(default) = map.get_mut("default") {
                strip_null_entries(default);
            }
            for value in map.values_mut() {
                without_null(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(without_null),
        _ => {}
    }
}

/// A default value without its null (absent) entries.
fn strip_null_entries(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_null_entries);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null_entries),
        _ => {}
    }
}

/// The schema as printed: pretty JSON and a final newline.
pub fn text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).expect("schemas serialize");
    text.push('\n');
    text
}

pub fn run() -> Result<Output, Failure> {
    Ok(Output {
        json: Value::Null,
        lines: vec![text().trim_end_matches('\n').to_owned()],
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// `schema/shipline.schema.json` is what `shipline schema` prints.
    #[test]
    fn the_committed_schema_is_the_generated_one() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schema/shipline.schema.json"
        );
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == text(),
            "schema/shipline.schema.json is not the schema the config types give: run `cargo run -- schema > schema/shipline.schema.json`"
        );
    }

    /// Every (table, key) the schema has, as `section.key` with `section` the top-level table
    /// (`stages` for `[[stages]]` and its nested tables); map entries (`[tags]`,
    /// `[build.environment]`) are values, not keys.
    fn schema_keys(schema: &Value) -> BTreeSet<String> {
        fn walk(schema: &Value, root: &Value, section: &str, keys: &mut BTreeSet<String>) {
            let resolved = resolve(schema, root);
            for branch in ["anyOf", "oneOf", "allOf"] {
                for alternative in resolved[branch].as_array().into_iter().flatten() {
                    walk(alternative, root, section, keys);
                }
            }
            if let Some(items) = resolved.get("items") {
                walk(items, root, section, keys);
            }
            for (key, value) in resolved["properties"].as_object().into_iter().flatten() {
                let section = if section.is_empty() { key } else { section };
                keys.insert(format!("{section}.{key}"));
                walk(value, root, section, keys);
            }
        }
        fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
            match schema["$ref"].as_str() {
                Some(reference) => root
                    .pointer(reference.trim_start_matches('#'))
                    .expect("local reference"),
                None => schema,
            }
        }
        let mut keys = BTreeSet::new();
        walk(schema, schema, "", &mut keys);
        // The top-level tables are sections, not keys of one.
        keys.retain(|key| key.split_once('.').is_some_and(|(s, k)| s != k));
        keys
    }

    /// Every (section, key) written in the reference, commented out or not, inline tables
    /// included.
    fn reference_keys(reference: &str) -> BTreeSet<String> {
        let mut keys = BTreeSet::new();
        let mut section = String::new();
        for line in reference.lines() {
            let line = line.trim_start_matches('#').trim();
            if let Some(header) = line.strip_prefix('[') {
                let header = header.trim_start_matches('[');
                let name = header.split([']', '.']).next().unwrap_or_default().trim();
                section = name.to_owned();
                // `[source.file_paths]`: file_paths is a key of source.
                let inner: Vec<&str> = header
                    .split(']')
                    .next()
                    .unwrap_or_default()
                    .split('.')
                    .collect();
                for key in &inner[1..] {
                    keys.insert(format!("{section}.{}", key.trim()));
                }
                continue;
            }
            // Each `key =` on the line (inline tables give several).
            let mut rest = line;
            while let Some(eq) = rest.find(" = ") {
                let before = &rest[..eq];
                // Past the comment: prose, not keys.
                if before.contains('#') {
                    break;
                }
                let key = before
                    .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or_default();
                if !key.is_empty() && !section.is_empty() {
                    keys.insert(format!("{section}.{key}"));
                }
                rest = &rest[eq + 3..];
            }
        }
        keys
    }

    #[test]
    fn every_key_of_the_schema_is_in_the_configuration_reference_and_back() {
        let schema = schema();
        let in_schema = schema_keys(&schema);
        let in_reference = reference_keys(super::super::init::REFERENCE);
        // Entries of the free-form maps are examples, not keys.
        let maps = ["tags.", "build.NODE_ENV"];
        let in_reference: BTreeSet<String> = in_reference
            .into_iter()
            .filter(|k| !maps.iter().any(|m| k.starts_with(m)))
            .collect();
        let missing: Vec<_> = in_schema.difference(&in_reference).collect();
        assert!(
            missing.is_empty(),
            "keys missing from the configuration reference (crates/shipline/src/commands/init.toml and the README): {missing:?}"
        );
        let unknown: Vec<_> = in_reference.difference(&in_schema).collect();
        assert!(
            unknown.is_empty(),
            "the configuration reference names keys the config does not have: {unknown:?}"
        );
        assert!(in_schema.contains("source.trigger") && in_schema.contains("stages.approval"));
    }

    #[test]
    fn descriptions_defaults_and_enums_are_in_the_schema() {
        let schema = schema();
        let text = schema.to_string();
        // A doc comment.
        assert!(
            text.contains("What starts the pipeline on a push."),
            "{text}"
        );
        // Defaults from Config::default().
        let root = &schema["properties"];
        assert_eq!(root["logs"]["default"]["retention_days"], 7);
        assert_eq!(root["stages"]["default"][2]["name"], "production");
        // Enums.
        assert!(text.contains("\"inspector\""));
        assert!(text.contains("\"SUPERSEDED\""));
        // Unknown keys are refused, as the parser does.
        assert_eq!(schema["additionalProperties"], false);
    }
}
