//! `shipline validate` and the policy check of `plan`/`deploy`, on the real binary: exit codes,
//! the three report formats, the user's own Guard rules, broken rule files, and a deploy
//! stopped by a finding before any AWS request.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{Run, stderr, stdout};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/validate/fixtures")
}

fn fixture(name: &str) -> String {
    fixtures().join(name).display().to_string()
}

const RULES: [&str; 11] = [
    "s3_bucket_encrypted",
    "s3_bucket_versioned",
    "s3_bucket_public_access_blocked",
    "s3_bucket_tls_only",
    "logs_retention",
    "iam_least_privilege",
    "iam_trust_confused_deputy",
    "iam_pass_role_scoped",
    "resources_tagged",
    "ecr_scan_and_lifecycle",
    "sns_topic_encrypted",
];

/// A rule of the user's: Lambda functions must run on x86_64 (shipline's run on arm64).
const X86_ONLY: &str = "\
# What: functions run on x86_64.
# Fix:  set Architectures to [x86_64].
let functions = Resources.*[ Type == 'AWS::Lambda::Function' ]
rule org_functions_on_x86 when %functions !empty {
    %functions.Properties.Architectures[*] == 'x86_64'
    <<our runtime images are x86_64 only>>
}
";

const CONFIG: &str = "[app]\nname = \"orders\"\n[source]\nrepository = \"acme/orders\"\n";

#[test]
fn the_synthesized_template_passes_the_built_in_pack() {
    let run = Run::new("default");
    let out = run.run(&["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "no findings, nothing on stdout");
    assert!(
        stderr(&out).contains("passes 11 built-in rules"),
        "{}",
        stderr(&out)
    );
    for config in
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/configs"))
            .unwrap()
    {
        let path = config.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let out = run.run(&["validate", "--config", path.to_str().unwrap()]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}: {}",
                path.display(),
                stderr(&out)
            );
        }
    }
}

#[test]
fn each_rule_passes_its_passing_fixture_and_fails_its_failing_one() {
    let run = Run::new("fixtures");
    for rule in RULES {
        let out = run.run(&[
            "validate",
            "--template",
            &fixture(&format!("{rule}.pass.yaml")),
        ]);
        assert_eq!(out.status.code(), Some(0), "{rule}: {}", stdout(&out));

        let out = run.run(&[
            "validate",
            "--template",
            &fixture(&format!("{rule}.fail.yaml")),
        ]);
        assert_eq!(out.status.code(), Some(1), "{rule}: {}", stderr(&out));
        let text = stdout(&out);
        let findings: Vec<&str> = text.lines().filter(|l| !l.starts_with("  ")).collect();
        assert!(!findings.is_empty());
        for finding in findings {
            assert!(
                finding.starts_with(&format!("{rule}: ")),
                "{rule}: {finding}"
            );
        }
        assert!(text.contains("\n  fix: "), "{text}");
        assert!(
            stderr(&out).contains("breaks 1 of 11 built-in rules"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn the_users_rules_run_beside_the_pack() {
    let run = Run::new("user-rules");
    run.write("policies/x86.guard", X86_ONLY);
    run.write("policies/README.md", "not a rule file");
    // A directory, as the cfn-guard CLI reads one.
    let out = run.run(&["validate", "--rules", "policies"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "org_functions_on_x86: PromotionFunction (AWS::Lambda::Function) at Properties.Architectures[0]: our runtime images are x86_64 only"
        ),
        "{text}"
    );
    assert!(
        text.contains("  fix: set Architectures to [x86_64]."),
        "{text}"
    );
    assert!(text.contains("  rule file: policies/x86.guard"), "{text}");
    assert!(
        stderr(&out)
            .contains("breaks 1 of 12 rules (11 built-in, 1 from --rules in 1 file): 2 findings"),
        "{}",
        stderr(&out)
    );

    // A file, in JSON.
    let out = run.run(&[
        "validate",
        "--rules",
        "policies/x86.guard",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{report:#}");
    for finding in findings {
        assert_eq!(finding["rule"], "org_functions_on_x86");
        assert_eq!(finding["file"], "policies/x86.guard");
        assert_eq!(finding["builtin"], false);
        assert_eq!(finding["type"], "AWS::Lambda::Function");
        assert_eq!(finding["path"], "Properties.Architectures[0]");
    }
    assert_eq!(report["rules"].as_array().unwrap().len(), RULES.len() + 1);
    assert_eq!(report["resources"], 28);

    // A rule that holds: exit 0.
    run.write("ok.guard", "rule has_resources { Resources !empty }\n");
    let out = run.run(&["validate", "--rules", "ok.guard"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_broken_rule_file_exits_2_naming_the_file() {
    let run = Run::new("broken");
    run.write("rules/good.guard", X86_ONLY);
    run.write(
        "rules/typo.guard",
        "rule typo {\n    Resources.*[ Type == \n}\n",
    );
    run.write(
        "undefined.guard",
        "rule undefined_variable {\n    %nowhere == 1\n}\n",
    );
    for (args, file) in [
        (&["validate", "--rules", "rules"][..], "rules/typo.guard"),
        (
            &["validate", "--rules", "undefined.guard"][..],
            "undefined.guard",
        ),
        (
            &["validate", "--rules", "missing.guard"][..],
            "missing.guard",
        ),
        (
            &[
                "validate",
                "--format",
                "sarif",
                "--rules",
                "rules/typo.guard",
            ][..],
            "rules/typo.guard",
        ),
    ] {
        let out = run.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(&format!("error: rule file {file}: ")), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(stdout(&out), "", "no report for a run that did not happen");
    }
    let out = run.run(&["validate", "--rules", "rules/typo.guard"]);
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));

    let template = run.write("broken.yaml", "Resources:\n  A: [unclosed\n");
    let out = run.run(&["validate", "--template", template.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("broken.yaml: Guard cannot read the template"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sarif_reports_rules_results_and_logical_locations() {
    let run = Run::new("sarif");
    run.write("x86.guard", X86_ONLY);
    let template = fixture("iam_least_privilege.fail.yaml");
    let out = run.run(&[
        "validate",
        "--template",
        &template,
        "--rules",
        "x86.guard",
        "--format",
        "sarif",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let sarif: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run0 = &sarif["runs"][0];
    assert_eq!(run0["tool"]["driver"]["name"], "shipline");
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut expected = RULES.to_vec();
    expected.push("org_functions_on_x86");
    assert_eq!(ids, expected);
    for rule in &rules[..RULES.len()] {
        for key in ["shortDescription", "fullDescription", "help"] {
            assert!(rule[key]["text"].as_str().unwrap().len() > 10, "{rule}");
        }
        assert_eq!(rule["defaultConfiguration"]["level"], "error");
    }
    assert_eq!(rules[RULES.len()]["properties"]["file"], "x86.guard");
    let results = run0["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "{results:#?}");
    for result in results {
        assert_eq!(result["ruleId"], "iam_least_privilege");
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert_eq!(result["level"], "error");
        assert!(!result["message"]["text"].as_str().unwrap().is_empty());
        let location = &result["locations"][0];
        assert_eq!(
            location["physicalLocation"]["artifactLocation"]["uri"],
            template
        );
        let logical = &location["logicalLocations"][0];
        assert_eq!(logical["kind"], "resource");
        let name = logical["name"].as_str().unwrap();
        assert!(["BuildRole", "ReadLogsPolicy"].contains(&name), "{name}");
        let qualified = logical["fullyQualifiedName"].as_str().unwrap();
        assert!(
            qualified.starts_with(&format!("Resources.{name}.Properties.")),
            "{qualified}"
        );
    }
    assert_eq!(run0["artifacts"][0]["location"]["uri"], template);

    // Clean: every rule listed, no results, exit 0.
    let out = run.run(&["validate", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(0));
    let sarif: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sarif["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .len(),
        RULES.len()
    );
}

#[test]
fn deploy_stops_on_a_finding_before_any_aws_call() {
    let run = Run::new("deploy");
    run.write("shipline.toml", CONFIG);
    run.write("x86.guard", X86_ONLY);
    for args in [
        // The user's rule fails on the synthesized template.
        &[
            "deploy",
            "--yes",
            "--region",
            "us-east-1",
            "--rules",
            "x86.guard",
        ][..],
        &["plan", "--region", "us-east-1", "--rules", "x86.guard"][..],
        // The built-in pack fails on a template file.
        &[
            "deploy",
            "--yes",
            "--region",
            "us-east-1",
            "--template",
            &fixture("s3_bucket_tls_only.fail.yaml"),
        ][..],
    ] {
        let out = run.offline(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("nothing was sent to AWS"), "{err}");
        assert!(err.contains("pass --no-validate"), "{err}");
        assert!(
            err.contains("org_functions_on_x86: PromotionFunction")
                || err.contains("s3_bucket_tls_only: OtherBucket"),
            "{err}"
        );
        assert!(!err.contains("could not reach AWS"), "{err}");
    }

    // --no-validate says so, and goes on to AWS (which is not there).
    let out = run.offline(&[
        "deploy",
        "--yes",
        "--region",
        "us-east-1",
        "--rules",
        "x86.guard",
        "--no-validate",
    ]);
    let err = stderr(&out);
    assert!(
        err.contains("--no-validate: the policy rules were not run"),
        "{err}"
    );
    assert!(err.contains("could not reach AWS"), "{err}");
    assert_eq!(out.status.code(), Some(1), "{err}");

    // A clean template passes the check and goes on to AWS.
    let out = run.offline(&["plan", "--region", "us-east-1"]);
    let err = stderr(&out);
    assert!(!err.contains("policy"), "{err}");
    assert!(err.contains("could not reach AWS"), "{err}");
}
