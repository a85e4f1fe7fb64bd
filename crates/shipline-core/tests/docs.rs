//! `shipline docs`, reviewed like code: the Markdown of the default pipeline and of the
//! all-options config (approvals mid-pipeline, emails, an ignore list, an existing connection)
//! as snapshots in `tests/snapshots/`; for every config in `tests/configs/`, what each document
//! must hold: the same bytes every time, one Mermaid block, every resource and output named, the
//! recorded reason for every `"*"` resource, the trigger's filters and the scan thresholds.
//! Update the snapshots with `INSTA_UPDATE=always cargo test -p shipline-core --test docs` and
//! read the diff before committing it. (`tests/docs/test_mermaid.py` parses the Mermaid block.)

use serde_json::Value;
use shipline_core::{Config, docs, synthesize};

fn config(name: &str) -> Config {
    let path = format!(
        "{}/../../tests/configs/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    Config::load(path.as_ref()).unwrap()
}

/// The default and every config in `tests/configs/`, by name.
fn every_config() -> Vec<(String, Config)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/configs");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 7, "tests/configs went missing");
    let mut configs = vec![("default".to_owned(), Config::default())];
    configs.extend(names.into_iter().map(|name| {
        let config = config(&name);
        (name, config)
    }));
    configs
}

fn markdown(config: &Config) -> String {
    docs::markdown(config, &synthesize(config))
}

#[test]
fn default_pipeline_docs() {
    insta::assert_snapshot!(markdown(&Config::default()));
}

#[test]
fn all_options_docs() {
    insta::assert_snapshot!(markdown(&config("all-options")));
}

#[test]
fn every_document_names_every_resource_and_output_once_in_its_table() {
    for (name, config) in every_config() {
        let template = synthesize(&config);
        let text = docs::markdown(&config, &template);
        assert_eq!(text, markdown(&config), "{name}: not deterministic");
        assert_eq!(text.matches("```mermaid\n").count(), 1, "{name}");
        for (id, resource) in &template.resources {
            let row = format!("| `{id}` | `{}` |", resource.type_name);
            assert_eq!(text.matches(&row).count(), 1, "{name}: {row}");
        }
        let outputs = text.split("\n## Outputs\n").nth(1).unwrap();
        let outputs = outputs.split("\n## ").next().unwrap();
        for output in template.outputs.keys() {
            let row = format!("\n| `{output}` | ");
            assert_eq!(outputs.matches(&row).count(), 1, "{name}: output {output}");
        }
        assert_eq!(
            outputs.matches("\n| `").count(),
            template.outputs.len(),
            "{name}"
        );
    }
}

/// Every statement on `"*"` in the template is listed with the reason its role's Metadata
/// records (`Statement::on_any_resource`'s argument), and no reason is missing.
#[test]
fn every_wildcard_resource_is_listed_with_its_reason() {
    for (name, config) in every_config() {
        let template = synthesize(&config).to_value();
        let text = markdown(&config);
        let mut wildcards = 0;
        for (id, role) in template["Resources"].as_object().unwrap() {
            if role["Type"] != "AWS::IAM::Role" {
                continue;
            }
            let statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap();
            for statement in statements
                .iter()
                .filter(|s| s["Resource"] == Value::from(["*"]))
            {
                wildcards += 1;
                let recorded = role["Metadata"]["shipline"]["wildcards"]
                    .as_array()
                    .unwrap();
                let entry = recorded.iter().find(|w| w["sid"] == statement["Sid"]);
                let entry = entry.unwrap_or_else(|| panic!("{name}: {id} records no reason"));
                assert_eq!(entry["actions"], statement["Action"], "{name}: {id}");
                let line = format!("- `*` in `{}` (", statement["Sid"].as_str().unwrap());
                let listed = text.lines().find(|l| l.starts_with(&line));
                let listed = listed.unwrap_or_else(|| panic!("{name}: {line} missing"));
                // Markdown escapes aside, the line ends with the reason as recorded.
                let reason = entry["reason"].as_str().unwrap();
                let unescaped = listed.replace('\\', "");
                assert!(
                    unescaped.ends_with(&format!("): {reason}")),
                    "{name}: {listed}"
                );
            }
        }
        assert!(wildcards >= 3, "{name}: {wildcards} wildcard statements");
        assert_eq!(text.matches("\n- `*` in ").count(), wildcards, "{name}");
        assert!(!text.contains(docs::NO_REASON), "{name}");
    }
}

#[test]
fn the_trigger_section_shows_the_rules_pattern_or_the_native_filters() {
    let webhook = markdown(&Config::default());
    assert!(webhook.contains("| `detail.ref` | `refs/heads/main` |"));
    assert!(webhook.contains("| `detail.repository` | `example-org/example-app` |"));
    assert!(webhook.contains("| `detail.deleted` | `false` |"));
    assert!(webhook.contains("2. **Register the GitHub webhook**"));
    let native = markdown(&config("connection-trigger"));
    assert!(native.contains("| Branches, include | `trunk` |"));
    assert!(native.contains("| File paths, include | `src/**`, `Dockerfile` |"));
    assert!(native.contains("| File paths, exclude | `docs/**` |"));
    assert!(!native.contains("Webhook"), "no webhook in connection mode");
    assert!(native.contains("1. **Authorize the GitHub connection** `orders-<region code>`"));
    assert!(native.contains("(e.g. `orders-use1` in us-east-1, `orders-euw1` in eu-west-1;"));
}

#[test]
fn the_scan_policy_shows_the_inspector_thresholds_from_the_template() {
    let text = markdown(&config("inspector-gate"));
    for level in ["CRITICAL", "HIGH", "MEDIUM"] {
        assert!(
            text.contains(&format!("| {level} | at most 5 |")),
            "{level}"
        );
    }
    assert!(!text.contains("| LOW |"));
    assert!(text.contains(
        "| `PipelineLogGroup` `/aws/codepipeline/inventory-pipeline` | log events kept 7 days |"
    ));
}
