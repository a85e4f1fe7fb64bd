//! The rule pack against its fixtures and every synthesized template, and the engine's
//! reading of Guard's reports and errors.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use shipline_core::tags::{TagShape, tag_shape};
use shipline_core::{Config, synthesize};

use super::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/validate/fixtures")
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).unwrap()
}

/// The default pipeline and every config of the template matrix.
fn configs() -> Vec<(String, Config)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/configs");
    let mut configs = vec![("default".to_owned(), Config::default())];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let config = Config::load(&path).unwrap();
            configs.push((path.display().to_string(), config));
        }
    }
    configs
}

fn tag_keys(config: &Config) -> Vec<String> {
    config.effective_tags().into_keys().collect()
}

fn pack_for(config: &Config) -> Vec<RuleFile> {
    let keys = tag_keys(config);
    builtin(&keys.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn the_pack_has_one_documented_rule_per_file_named_as_the_file() {
    assert!((8..=12).contains(&BUILTIN.len()), "keep the pack small");
    for file in builtin(&[]) {
        let stem = file.file.strip_suffix(".guard").unwrap();
        assert_eq!(file.rules, vec![stem.to_owned()], "{}", file.file);
        for (part, text) in [
            ("What", &file.doc.what),
            ("Why", &file.doc.why),
            ("Fix", &file.doc.fix),
        ] {
            let text = text.as_deref().unwrap_or_default();
            assert!(text.len() > 20, "{}: no `{part}:` paragraph", file.file);
        }
        file.check().unwrap();
    }
}

#[test]
fn every_rule_passes_its_passing_fixture_and_fails_only_on_its_failing_one() {
    let pack = builtin(&[]);
    let mut seen = BTreeSet::new();
    for file in &pack {
        let rule = &file.rules[0];
        let pass = format!("{rule}.pass.yaml");
        let report = evaluate(&fixture(&pass), &pack).unwrap();
        assert_eq!(report.findings, vec![], "{pass} must pass the whole pack");

        let fail = format!("{rule}.fail.yaml");
        let report = evaluate(&fixture(&fail), &pack).unwrap();
        assert!(!report.findings.is_empty(), "{fail} must fail {rule}");
        for finding in &report.findings {
            assert_eq!(
                &finding.rule, rule,
                "{fail} fails another rule: {finding:?}"
            );
            assert!(
                finding.resource.is_some(),
                "{fail}: {finding:?} names no resource"
            );
            assert!(finding.builtin);
            assert_eq!(finding.fix, file.doc.fix);
            assert!(!finding.message.starts_with("Check was not"), "{finding:?}");
        }
        seen.extend([pass, fail]);
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        on_disk, seen,
        "a fixture without its rule, or the other way round"
    );
}

#[test]
fn the_fixtures_findings_say_where() {
    let pack = builtin(&[]);
    let findings = |name: &str| evaluate(&fixture(name), &pack).unwrap().findings;
    let places = |name: &str| -> Vec<(String, String, String)> {
        findings(name)
            .into_iter()
            .map(|f| (f.resource.unwrap(), f.path, f.message))
            .collect()
    };
    assert_eq!(
        places("s3_bucket_tls_only.fail.yaml"),
        [("Bucket", ""), ("OtherBucket", "")].map(|(r, p)| (
            r.to_owned(),
            p.to_owned(),
            "no bucket policy of this bucket denies requests made without TLS".to_owned()
        ))
    );
    let iam = places("iam_least_privilege.fail.yaml");
    let expected = [
        (
            "BuildRole",
            "Properties.Policies[0].PolicyDocument.Statement[0].Action",
            "the action has a wildcard: name each action",
        ),
        (
            "BuildRole",
            "Properties.Policies[0].PolicyDocument.Statement[1].Action[1]",
            "Resource \"*\" for an action that can be scoped to an ARN: name the resource",
        ),
        (
            "BuildRole",
            "Properties.Policies[0].PolicyDocument.Statement[2].Action",
            "an Allow statement without Action (NotAction grants every action but the listed ones)",
        ),
        (
            "ReadLogsPolicy",
            "Properties.PolicyDocument.Statement[0].Action[0]",
            "the action has a wildcard: name each action",
        ),
    ]
    .map(|(r, p, m)| (r.to_owned(), p.to_owned(), m.to_owned()));
    assert_eq!(iam, expected);
    let logs = findings("logs_retention.fail.yaml");
    assert_eq!(
        logs[0].resource_type.as_deref(),
        Some("AWS::Logs::LogGroup")
    );
    assert_eq!(logs[0].path, "Properties.RetentionInDays");
    let trust = places("iam_trust_confused_deputy.fail.yaml");
    assert_eq!(trust.len(), 3, "{trust:?}");
    assert!(
        trust
            .iter()
            .any(|(r, p, _)| r == "PushRuleRole" && p.ends_with("aws:SourceArn"))
    );
}

#[test]
fn every_synthesized_template_passes_the_pack() {
    for (name, config) in configs() {
        let template = synthesize(&config).render(shipline_core::Format::Json);
        let report = evaluate(&template, &pack_for(&config)).unwrap();
        assert_eq!(report.findings, vec![], "{name}");
        assert_eq!(report.rules.len(), BUILTIN.len());
        // The YAML rendering reads the same.
        let yaml = synthesize(&config).render(shipline_core::Format::Yaml);
        assert_eq!(
            evaluate(&yaml, &pack_for(&config)).unwrap().findings,
            vec![],
            "{name}"
        );
    }
}

#[test]
fn the_configs_tag_keys_are_required_on_every_taggable_resource() {
    let template = synthesize(&Config::default()).to_value();
    let text = serde_json::to_string(&template).unwrap();
    let report = evaluate(&text, &builtin(&["Team", "CostCenter"])).unwrap();
    let taggable: BTreeSet<String> = template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| tag_shape(r["Type"].as_str().unwrap()) == TagShape::KeyValueList)
        .map(|(id, _)| id.clone())
        .collect();
    let flagged: BTreeSet<String> = report
        .findings
        .iter()
        .map(|f| {
            assert_eq!(f.rule, "resources_tagged");
            assert_eq!(f.message, "the tag CostCenter from the config is missing");
            f.resource.clone().unwrap()
        })
        .collect();
    assert_eq!(flagged, taggable);
}

#[test]
fn the_tag_rule_knows_every_type_the_tag_pass_tags() {
    let source = BUILTIN
        .iter()
        .find(|(file, _)| *file == "resources_tagged.guard")
        .unwrap()
        .1;
    let mut types = BTreeSet::new();
    for (_, config) in configs() {
        let template = synthesize(&config).to_value();
        for resource in template["Resources"].as_object().unwrap().values() {
            let kind = resource["Type"].as_str().unwrap();
            if tag_shape(kind) == TagShape::KeyValueList {
                types.insert(kind.to_owned());
            }
        }
    }
    for kind in types {
        assert!(
            source.contains(&format!("'{kind}'")),
            "resources_tagged.guard does not list {kind}"
        );
    }
}

#[test]
fn a_users_rule_files_are_loaded_by_file_and_by_directory() {
    let dir = std::env::temp_dir().join(format!("shipline-rules-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    std::fs::write(
        dir.join("nested/b.guard"),
        "rule b_rule { Resources exists }\n",
    )
    .unwrap();
    std::fs::write(dir.join("a.ruleset"), "rule a_rule { Resources exists }\n").unwrap();
    std::fs::write(dir.join("notes.txt"), "not a rule").unwrap();
    let single = dir.join("single.rules");
    std::fs::write(&single, "# What: one.\nrule single { Resources exists }\n").unwrap();
    let files = load(&[dir.clone(), single.clone()]).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.rules[0].as_str()).collect();
    assert_eq!(names, ["a_rule", "b_rule", "single"]);
    assert_eq!(files[2].doc.what.as_deref(), Some("one."));
    assert!(files.iter().all(|f| !f.builtin));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn broken_rule_files_are_errors_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("shipline-broken-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let syntax = write("syntax.guard", "rule broken { Resources.*[ Type == \n");
    let empty = write("empty.guard", "# only a comment\n");
    let Err(Error::Rules { file, message }) = load(std::slice::from_ref(&syntax)) else {
        panic!("a syntax error is an error");
    };
    assert_eq!(file, syntax.display().to_string());
    assert!(message.contains("line 1"), "{message}");
    let Err(Error::Rules { file, .. }) = load(std::slice::from_ref(&empty)) else {
        panic!("a file without rules is an error");
    };
    assert_eq!(file, empty.display().to_string());
    let Err(Error::Rules { file, .. }) = load(&[dir.join("missing.guard")]) else {
        panic!("a missing file is an error");
    };
    assert!(file.ends_with("missing.guard"));

    // Parses, but cannot be evaluated: the run fails, and the file is named.
    let undefined = write(
        "undefined.guard",
        "rule uses_undefined {\n    %nope == 1\n}\n",
    );
    let mut rules = builtin(&[]);
    rules.extend(load(std::slice::from_ref(&undefined)).unwrap());
    let template = fixture("logs_retention.pass.yaml");
    let Err(Error::Rules { file, message }) = evaluate(&template, &rules) else {
        panic!("an evaluation error is an error");
    };
    assert_eq!(file, undefined.display().to_string());
    assert!(message.contains("nope"), "{message}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_template_guard_cannot_read_is_a_template_error() {
    for text in ["{\"Resources\": ", "Resources:\n  A: [unclosed\n", "  "] {
        let Err(Error::Template { message }) = evaluate(text, &builtin(&[])) else {
            panic!("{text:?} is not a template");
        };
        assert!(!message.contains("DATA_STDIN"), "{message}");
    }
}

#[test]
fn guard_paths_become_a_resource_and_a_property_path() {
    assert_eq!(
        locate("/Resources/Role/Properties/Policies/0/PolicyDocument", None),
        (
            Some("Role".to_owned()),
            "Properties.Policies[0].PolicyDocument".to_owned()
        )
    );
    let key = Value::String("Bucket".into());
    assert_eq!(
        locate("/Resources", Some(&key)),
        (Some("Bucket".to_owned()), String::new())
    );
    assert_eq!(
        locate("/Outputs/Url/Value", None),
        (None, "Outputs.Url.Value".to_owned())
    );
}

#[test]
fn the_doc_comment_is_read_paragraph_by_paragraph() {
    let doc = parse_doc(
        "# name\n#\n# What: one\n#       two\n# Why:  three\n# Fix:  four\n#   five\n\n# What: ignored\n",
    );
    assert_eq!(doc.what.as_deref(), Some("one two"));
    assert_eq!(doc.why.as_deref(), Some("three"));
    assert_eq!(doc.fix.as_deref(), Some("four five"));
    assert_eq!(
        rule_names(
            "rule a when %x !empty {\n  rule_b\n}\n  rule c{\n}\nrule a {}\nrule d(x) { %x exists }\n"
        ),
        ["a", "c"]
    );
}

#[test]
fn a_rule_guard_fails_without_naming_a_check_is_still_a_finding() {
    let report = serde_json::json!([{
        "name": "DATA_STDIN[1]",
        "status": "FAIL",
        "not_compliant": [
            { "Rule": { "name": "quiet", "messages": { "custom_message": null }, "checks": [] } },
            { "Rule": { "name": "nested", "messages": { "custom_message": null }, "checks": [
                { "Rule": { "name": "inner", "messages": { "custom_message": " said inside " }, "checks": [] } }
            ] } }
        ]
    }]);
    let file = RuleFile::new(
        "mine.guard".into(),
        Cow::Borrowed(
            "# What: something holds.\nrule quiet { Resources exists }\nrule nested { inner }\n",
        ),
        false,
    );
    let found = findings(&report, std::slice::from_ref(&file), None);
    let summary: Vec<(&str, Option<&str>, &str)> = found
        .iter()
        .map(|f| (f.rule.as_str(), f.resource.as_deref(), f.message.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("quiet", None, "something holds."),
            ("nested", None, "said inside")
        ]
    );
}
