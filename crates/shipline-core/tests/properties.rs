//! Property tests over generated configs: nothing panics, and every config shipline accepts
//! gives a template within AWS's limits — names within each service's length, tags valid for
//! every type that carries them, YAML that reads back as the JSON template.

use proptest::prelude::*;
use serde_json::Value;
use shipline_core::{Config, Format, synthesize};

/// A TOML basic string holding `s` exactly.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Strings that stress names and tags: plausible values plus punctuation, YAML 1.1 words,
/// combining marks, non-ASCII letters, and lengths around the limits.
fn tricky() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,30}",
        "[A-Za-z0-9_.:/=+@ -]{0,20}",
        prop::sample::select(vec![
            "yes",
            "off",
            "on",
            "y",
            "1_000",
            "1:20",
            "0755",
            "=",
            "<<",
            "~",
            "null",
            "",
            " ",
            "refs/heads/main",
            "acme/orders.git",
            "-",
            "--pull",
            "aws:x",
            "Approve-x",
            "Environment",
            "environment",
            "e\u{301}",
            "\u{e9}t\u{e9}",
            "Source",
            "scan",
        ])
        .prop_map(str::to_owned),
        (1usize..4, 90usize..130).prop_map(|(c, n)| ["a", "Z", "\u{e9}"][c % 3].repeat(n)),
    ]
}

/// Mostly values of the shape `valid` (so that many configs are accepted and their templates
/// checked), sometimes a tricky one (so that the checks are exercised).
fn mostly(valid: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![6 => valid, 1 => tricky()]
}

/// Tag keys: valid ones, case variants of the default tags (IAM keys are case-insensitive),
/// lengths around ECR's 127, and tricky strings.
fn tag_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z][A-Za-z0-9_ .:/=+@\u{e9}-]{0,20}",
        1 => prop::sample::select(vec!["environment", "TEAM", "team", "Environment"]).prop_map(str::to_owned),
        1 => "[a-z]{125,129}",
        1 => tricky(),
    ]
}

/// Tag values: valid ones, lengths around ECR's 255, the empty value, and tricky strings.
fn tag_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9_.:/=+@\u{e9}-][A-Za-z0-9_ .:/=+@-]{0,30}",
        1 => "[a-z]{253,257}",
        1 => Just(String::new()),
        1 => tricky(),
    ]
}

fn config_text() -> impl Strategy<Value = String> {
    (
        mostly("[a-z][a-z0-9]{1,12}(-[a-z0-9]{1,8})?"),
        mostly("[a-z][a-z0-9._-]{0,20}"),
        mostly("[a-z][a-z0-9/_-]{0,15}[a-z]"),
        prop::collection::vec(
            (mostly("[a-z_][A-Za-z0-9_.-]{0,12}"), prop::option::of(any::<bool>())),
            1..6,
        ),
        prop::collection::btree_map(tag_key(), tag_value(), 0..5),
        prop::collection::btree_map("[A-Z_][A-Z0-9_]{0,8}", tricky(), 0..4),
        (mostly("[a-z][a-z0-9_./-]{0,12}"), mostly("[a-z.][a-z0-9_./-]{0,12}")),
        (any::<bool>(), any::<bool>(), 0u32..4000),
    )
        .prop_map(|(app, repo, branch, stages, tags, env, (dockerfile, context), (webhook, inspector, n))| {
            let mut t = format!(
                "[app]\nname = {}\n[source]\nrepository = {}\nbranch = {}\ntrigger = {}\n",
                toml_str(&app),
                toml_str(&format!("acme/{repo}")),
                toml_str(&branch),
                if webhook { "\"webhook\"" } else { "\"connection\"" },
            );
            t.push_str(&format!(
                "[build]\ndockerfile = {}\ncontext = {}\n",
                toml_str(&dockerfile),
                toml_str(&context)
            ));
            if !env.is_empty() {
                t.push_str("[build.environment]\n");
                for (k, v) in &env {
                    t.push_str(&format!("{k} = {}\n", toml_str(v)));
                }
            }
            t.push_str(&format!(
                "[scan]\ngate = {}\n[logs]\nretention_days = {}\n[webhook]\nreserved_concurrency = {}\n",
                if inspector { "\"inspector\"" } else { "\"basic\"" },
                [1, 7, 30, 3653, n][n as usize % 5],
                [0, 5, n % 1200][n as usize % 3],
            ));
            if !tags.is_empty() {
                t.push_str("[tags]\n");
                for (k, v) in &tags {
                    t.push_str(&format!("{} = {}\n", toml_str(k), toml_str(v)));
                }
            }
            for (name, approval) in &stages {
                t.push_str(&format!("[[stages]]\nname = {}\n", toml_str(name)));
                if let Some(approval) = approval {
                    t.push_str(&format!("approval = {approval}\n"));
                }
            }
            t
        })
}

fn resources(t: &Value) -> impl Iterator<Item = (&String, &Value)> {
    t["Resources"].as_object().unwrap().iter()
}

/// The invariants every accepted config's template must hold.
fn check_template(config: &Config) -> Result<(), TestCaseError> {
    let template = synthesize(config);
    let t = template.to_value();
    for (id, resource) in resources(&t) {
        let props = &resource["Properties"];
        for (key, max) in [
            ("FunctionName", 64),
            ("Name", 64),
            ("RepositoryName", 256),
            ("LogGroupName", 512),
            ("TopicName", 256),
        ] {
            if let Some(name) = props.get(key).and_then(Value::as_str) {
                prop_assert!(name.len() <= max, "{id}.{key} {name:?} over {max}");
            }
        }
        if let Some(tags) = props.get("Tags").and_then(Value::as_array) {
            prop_assert!(tags.len() <= 50, "{id} has {} tags", tags.len());
            for tag in tags {
                let key = tag["Key"].as_str().unwrap();
                let value = tag["Value"].as_str().unwrap();
                prop_assert!(
                    (1..=127).contains(&key.chars().count()),
                    "{id} tag key {key:?}"
                );
                prop_assert!(
                    (1..=255).contains(&value.chars().count()),
                    "{id} tag value {value:?}"
                );
                prop_assert!(!key.to_ascii_lowercase().starts_with("aws:"));
            }
            let mut lower: Vec<String> = tags
                .iter()
                .map(|t| t["Key"].as_str().unwrap().to_lowercase())
                .collect();
            lower.sort();
            lower.dedup();
            prop_assert_eq!(
                lower.len(),
                tags.len(),
                "{} has tag keys differing only in case",
                id
            );
        }
        if resource["Type"] == "AWS::CodePipeline::Pipeline" {
            let stages = props["Stages"].as_array().unwrap();
            let mut names: Vec<String> = stages
                .iter()
                .map(|s| s["Name"].as_str().unwrap().to_lowercase())
                .collect();
            for name in &names {
                prop_assert!((1..=100).contains(&name.len()), "stage name {name:?}");
            }
            names.sort();
            names.dedup();
            prop_assert_eq!(names.len(), stages.len(), "stage names collide");
        }
    }
    if let Some(arr) =
        t["Resources"]["GitHubConnection"]["Properties"]["ConnectionName"]["Fn::Join"][1].as_array()
    {
        let app = arr[0].as_str().unwrap();
        prop_assert!(
            app.len() + 1 + 7 <= 32,
            "connection name for {app:?} can exceed 32"
        );
    }
    let yaml: Value = serde_norway::from_str(&template.render(Format::Yaml)).unwrap();
    prop_assert_eq!(yaml, t);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Generated configs: parsing never panics; an accepted one satisfies every invariant.
    #[test]
    fn accepted_configs_give_templates_aws_accepts(text in config_text()) {
        if let Ok(config) = Config::parse("shipline.toml", &text) {
            check_template(&config)?;
        }
    }

    /// Arbitrary text, and single-byte mutations of a valid config: an error or a config,
    /// never a panic; an error always renders.
    #[test]
    fn parsing_never_panics(text in "\\PC{0,200}", at in 0usize..400, byte in any::<u8>()) {
        if let Err(err) = Config::parse("shipline.toml", &text) {
            let _ = err.to_string();
        }
        let mut valid = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/configs/all-options.toml")).unwrap();
        let at = at % valid.len();
        valid[at] = byte;
        if let Ok(mutated) = String::from_utf8(valid) {
            match Config::parse("shipline.toml", &mutated) {
                Ok(config) => check_template(&config)?,
                Err(err) => { let _ = err.to_string(); }
            }
        }
    }
}

#[test]
fn the_generator_reaches_accepted_configs() {
    // Guard against a generator that only ever produces rejected configs (the property would
    // then hold vacuously): count acceptances over a fixed-seed run.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = config_text();
    let accepted = (0..400)
        .filter(|_| {
            let text = strategy.new_tree(&mut runner).unwrap().current();
            Config::parse("shipline.toml", &text).is_ok()
        })
        .count();
    assert!(
        accepted >= 20,
        "only {accepted} of 400 generated configs were accepted"
    );
}
