//! The real `shipline` binary: output, exit codes and config errors as a user sees them.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{Run, stderr, stdout};

#[test]
fn synth_without_config_prints_the_default_pipeline_as_json() {
    let out = Run::new("default").run(&["synth"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let template: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(template["AWSTemplateFormatVersion"], "2010-09-09");
    assert!(template["Resources"]["Pipeline"].is_object());
    assert!(
        stderr(&out).contains("embedded default pipeline"),
        "the user is told no config was found"
    );
}

#[test]
fn synth_yaml_is_the_same_template_as_json() {
    let run = Run::new("yaml");
    let json: Value = serde_json::from_str(&stdout(&run.run(&["synth"]))).unwrap();
    let yaml = run.run(&["synth", "--format", "yaml"]);
    assert_eq!(yaml.status.code(), Some(0));
    let from_yaml: Value = serde_norway::from_str(&stdout(&yaml)).unwrap();
    assert_eq!(json, from_yaml);
    assert!(
        stdout(&yaml).contains("Fn::GetAtt"),
        "long-form intrinsics, no custom YAML tags"
    );
}

#[test]
fn synth_is_deterministic() {
    let run = Run::new("deterministic")
        .with_config("[app]\nname = \"orders\"\n[tags]\nB = \"2\"\nA = \"1\"\n");
    for format in ["json", "yaml"] {
        let first = run.run(&["synth", "--format", format]);
        let second = run.run(&["synth", "--format", format]);
        assert_eq!(first.status.code(), Some(0));
        assert_eq!(
            first.stdout, second.stdout,
            "{format} output differs between runs"
        );
    }
}

#[test]
fn synth_reads_shipline_toml_from_the_working_directory() {
    let out = Run::new("cwd")
        .with_config("[app]\nname = \"orders\"\n")
        .run(&["synth"]);
    assert_eq!(out.status.code(), Some(0));
    let template: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        template["Resources"]["ImageRepository"]["Properties"]["RepositoryName"],
        "orders"
    );
    assert!(!stderr(&out).contains("embedded default"));
}

#[test]
fn explicit_config_that_does_not_exist_is_an_error() {
    let out = Run::new("missing").run(&["synth", "--config", "nope.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("nope.toml: cannot read the file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unknown_command_line_flag_is_a_usage_error() {
    let out = Run::new("flag").run(&["synth", "--formt", "json"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Every file in `tests/configs/malformed/`, used as `shipline.toml`: exactly one located error
/// with a fix, exit 2, nothing on stdout. The whole stderr is a snapshot
/// (`tests/snapshots/cli__malformed-*.snap`), so a wrong help line shows up in review.
#[test]
fn malformed_configs_give_one_clear_error_and_exit_2() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/configs/malformed");
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    fixtures.sort();
    let snapshots =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"))
            .map(|dir| {
                dir.filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .starts_with("cli__malformed-")
                        && e.as_ref()
                            .unwrap()
                            .path()
                            .extension()
                            .is_some_and(|x| x == "snap")
                })
                .count()
            })
            .unwrap_or(0);
    assert!(
        snapshots == 0 || snapshots == fixtures.len(),
        "{snapshots} snapshots for {} fixtures: remove the snapshot of a deleted fixture",
        fixtures.len()
    );
    for path in fixtures {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        // Copied as bytes: some fixtures are not UTF-8 on purpose.
        let run = Run::new(&name);
        std::fs::copy(&path, run.dir.join("shipline.toml")).unwrap();
        let out = run.run(&["synth"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}: nothing on stdout");
        assert_eq!(
            err.matches("error:").count(),
            1,
            "{name}: exactly one error\n{err}"
        );
        assert!(err.contains("help:"), "{name}: says how to fix it\n{err}");
        assert!(
            err.starts_with("error: shipline.toml:"),
            "{name}: names the file\n{err}"
        );
        insta::assert_snapshot!(format!("malformed-{name}"), err);
    }
}

#[test]
fn config_error_shows_the_offending_line() {
    let out = Run::new("snippet")
        .with_config("[app]\nname = \"orders\"\n\n[logs]\nretention_days = 8\n")
        .run(&["synth"]);
    let err = stderr(&out);
    assert!(err.contains("5 | retention_days = 8"), "{err}");
    assert!(err.contains("error: shipline.toml:5:18: `logs.retention_days`: 8 is not a retention period CloudWatch Logs accepts"), "{err}");
}

#[test]
fn synth_prints_only_the_template_and_writes_it_with_out() {
    let run = Run::new("synth-out").with_config("[source]\nrepository = \"acme/orders\"\n");
    let out = run.run(&["synth"]);
    assert_eq!(out.status.code(), Some(0));
    // Deploy instructions belong to `deploy`, not to synth.
    assert_eq!(stderr(&out), "");
    let written = run.run(&["synth", "--format", "yaml", "-o", "pipeline.yaml"]);
    assert_eq!(written.status.code(), Some(0), "{}", stderr(&written));
    assert_eq!(stdout(&written), "");
    let text = std::fs::read_to_string(run.dir.join("pipeline.yaml")).unwrap();
    let yaml = run.run(&["synth", "--format", "yaml"]);
    assert_eq!(text, stdout(&yaml));
    assert!(stderr(&written).contains(&format!("wrote pipeline.yaml ({} bytes)", text.len())));
    // Flags synth would ignore are not offered.
    for flag in [
        &["--region", "us-east-1"][..],
        &["--stack-name", "x"],
        &["--json"],
    ] {
        let args: Vec<&str> = ["synth"].iter().chain(flag).copied().collect();
        let refused = run.run(&args);
        assert_eq!(refused.status.code(), Some(2), "{flag:?}");
    }
}

#[test]
fn deploying_the_embedded_placeholder_is_refused_before_any_aws_call() {
    let run = Run::new("placeholder");
    for args in [
        &["deploy", "--yes", "--region", "us-east-1"][..],
        &["plan", "--region", "us-east-1"][..],
    ] {
        let out = run.offline(args);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("placeholder repository `example-org/example-app`"),
            "{err}"
        );
        assert!(err.contains("nothing was sent to AWS"), "{err}");
    }
    // synth keeps working on it.
    assert_eq!(run.offline(&["synth"]).status.code(), Some(0));
}

#[test]
fn a_region_lacking_a_needed_resource_type_is_refused_naming_the_config_that_avoids_it() {
    let run = Run::new("region").with_config("[source]\nrepository = \"acme/orders\"\n");
    let out = run.offline(&["deploy", "--yes", "--region", "il-central-1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("region `il-central-1` does not offer"),
        "{err}"
    );
    assert!(err.contains("AWS::Lambda::Url"), "{err}");
    assert!(err.contains("trigger = \"connection\""), "{err}");
    // A region the table has no data for is a warning, not a refusal (the request then fails
    // here only because there is no AWS to reach: exit 1).
    let out = run.offline(&["plan", "--region", "xx-nowhere-1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("warning: unknown region `xx-nowhere-1`"));
    let out = run.offline(&["plan"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no AWS region"), "{}", stderr(&out));
}

#[test]
fn rollback_of_an_unknown_stage_names_the_stages() {
    let out = Run::new("rollback-stage")
        .with_config("[app]\nname = \"orders\"\n")
        .run(&["rollback", "--stage", "prod"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--stage prod: not a promotion stage of this pipeline; its stages are dev, staging, production"));
}

#[test]
fn json_errors_are_objects_with_the_exit_code_config_errors_with_their_location() {
    let run = Run::new("json-errors").with_config("[logs]\nretention_days = 8\n");
    let out = run.offline(&["plan", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let error: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(error["error"]["exit_code"], 2);
    assert_eq!(error["error"]["file"], "shipline.toml");
    assert_eq!(error["error"]["line"], 2);
    assert_eq!(error["error"]["key"], "logs.retention_days");
    let run = Run::new("json-placeholder");
    let out = run.offline(&["deploy", "--json", "--region", "us-east-1"]);
    assert_eq!(out.status.code(), Some(2));
    let error: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("placeholder repository")
    );
}

#[test]
fn a_yaml_template_with_short_form_tags_is_sent_as_written_after_a_note() {
    let run = Run::new("yaml-tags");
    std::fs::write(
        run.dir.join("t.yaml"),
        "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      DisplayName: !Ref AWS::StackName\n",
    )
    .unwrap();
    // --no-validate: the bare topic would fail the built-in rules (encryption, tags).
    let out = run.offline(&[
        "plan",
        "--template",
        "t.yaml",
        "--region",
        "us-east-1",
        "--no-validate",
    ]);
    let err = stderr(&out);
    // Read and accepted: it fails only on reaching AWS (exit 1), not as bad input (exit 2).
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("checks were skipped"), "{err}");
    assert!(!err.contains("cannot read the template"), "{err}");
}

/// Compiler mode: pulumi-yaml runs `shipline synth --target pulumi` in the project directory,
/// sometimes without any `PULUMI_*` variables; the program must be the same bytes either way,
/// on stdout alone.
#[test]
fn the_pulumi_program_is_the_same_whatever_the_environment() {
    let run = Run::new("pulumi").with_config("[source]\nrepository = \"acme/orders\"\n");
    let plain = run.run(&["synth", "--target", "pulumi"]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert_eq!(stderr(&plain), "", "stderr stays empty");
    let with_pulumi = Command::new(env!("CARGO_BIN_EXE_shipline"))
        .args(["synth", "--target", "pulumi"])
        .current_dir(&run.dir)
        .env("PULUMI_PROJECT", "orders")
        .env("PULUMI_STACK", "prod")
        .env("PULUMI_CONFIG", "{\"aws:region\":\"eu-west-1\"}")
        .output()
        .unwrap();
    assert_eq!(plain.stdout, with_pulumi.stdout);
    assert!(stdout(&plain).contains("type: aws:codepipeline:Pipeline"));
    // A Pulumi program is YAML only; the project files go to a directory.
    let json = run.run(&["synth", "--target", "pulumi", "--format", "json"]);
    assert_eq!(json.status.code(), Some(2));
    let written = run.run(&["synth", "--target", "pulumi", "-o", "infra"]);
    assert_eq!(written.status.code(), Some(0), "{}", stderr(&written));
    let main = std::fs::read(run.dir.join("infra/Main.yaml")).unwrap();
    assert_eq!(main, plain.stdout);
    let project = std::fs::read_to_string(run.dir.join("infra/Pulumi.yaml")).unwrap();
    assert!(
        project.contains("runtime: yaml") && project.contains("name: example-app"),
        "{project}"
    );
}

#[test]
fn cost_is_an_itemized_estimate_with_assumptions_and_json() {
    let run = Run::new("cost").with_config("[source]\nrepository = \"acme/orders\"\n");
    let out = run.run(&[
        "cost",
        "--runs-per-month",
        "300",
        "--build-minutes",
        "10",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let estimate: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let build = estimate["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["item"] == "CodeBuild general1.small")
        .unwrap();
    // 300 runs × 10 minutes, 100 free, $0.005 a minute.
    assert_eq!(build["quantity"], 3000.0);
    assert_eq!(build["monthly_usd"], 14.5);
    assert_eq!(estimate["dominant"], "CodeBuild general1.small");
    assert_eq!(estimate["usage"]["runs_per_month"], 300.0);
    let text = run.run(&["cost"]);
    assert!(stdout(&text).contains("<- largest") && stdout(&text).contains("total"));
    assert!(stderr(&text).contains("read 2026-11"));
    let bad = run.run(&["cost", "--image-gb=-1"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("--image-gb"));
}

#[test]
fn completions_are_printed_for_each_shell_even_with_a_broken_config() {
    let run = Run::new("completions").with_config("[app\n");
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run.run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains("shipline"), "{shell}");
        assert!(
            script.contains("deploy") && script.contains("staging-bucket"),
            "{shell}"
        );
    }
    assert_eq!(run.run(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn y_answers_yes_like_the_long_flag() {
    // Offline, -y gets past argument parsing to the placeholder refusal (exit 2 with that
    // message), as --yes does; an unknown short flag would be a usage error naming it.
    let run = Run::new("short-yes");
    let out = run.offline(&["deploy", "-y", "--region", "us-east-1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("placeholder repository"),
        "{}",
        stderr(&out)
    );
}

/// `plan --detailed-exitcode` (Terraform's convention): 2 means "changes present" only, so an
/// error that is exit 2 without the flag (bad input, config error) is 1 with it, in the JSON
/// error too.
#[test]
fn plan_detailed_exitcode_maps_every_error_to_1() {
    let run = Run::new("detailed-exitcode");
    let help = run.run(&["plan", "--help"]);
    assert!(
        stdout(&help).contains("--detailed-exitcode"),
        "{}",
        stdout(&help)
    );
    // The embedded placeholder is refused before any request: 2 without the flag, 1 with it.
    let plain = run.offline(&["plan", "--region", "us-east-1"]);
    assert_eq!(plain.status.code(), Some(2), "{}", stderr(&plain));
    let detailed = run.offline(&[
        "plan",
        "--region",
        "us-east-1",
        "--detailed-exitcode",
        "--json",
    ]);
    assert_eq!(detailed.status.code(), Some(1), "{}", stderr(&detailed));
    let error: Value = serde_json::from_str(&stdout(&detailed)).unwrap();
    assert_eq!(error["error"]["exit_code"], 1);
    assert!(
        stderr(&detailed).contains("placeholder repository"),
        "{}",
        stderr(&detailed)
    );
    let broken = Run::new("detailed-exitcode-config").with_config("[logs]\nretention_days = 8\n");
    let out = broken.offline(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("retention_days"), "{}", stderr(&out));
    // A usage error too: 2 must only ever mean "changes present".
    let usage = run.offline(&["plan", "--detailed-exitcode", "--no-such-flag"]);
    assert_eq!(usage.status.code(), Some(1), "{}", stderr(&usage));
    assert!(
        stderr(&usage).contains("--no-such-flag"),
        "{}",
        stderr(&usage)
    );
    let usage = run.offline(&["plan", "--no-such-flag"]);
    assert_eq!(usage.status.code(), Some(2), "{}", stderr(&usage));
}

/// `status --since` is read before any request: a bad value or a future date is bad input.
#[test]
fn status_since_refuses_bad_windows_before_any_request() {
    let run = Run::new("status-since");
    let bogus = run.offline(&["status", "--since", "bogus"]);
    assert_eq!(bogus.status.code(), Some(2), "{}", stderr(&bogus));
    assert!(
        stderr(&bogus).contains("use e.g. 30d, 12h, 2w, or an RFC 3339 date"),
        "{}",
        stderr(&bogus)
    );
    let future = run.offline(&["status", "--since", "2999-01-01", "--region", "us-east-1"]);
    assert_eq!(future.status.code(), Some(2), "{}", stderr(&future));
    assert!(
        stderr(&future).contains("is not in the past"),
        "{}",
        stderr(&future)
    );
}
