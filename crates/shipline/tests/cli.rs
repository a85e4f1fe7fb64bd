//! The real `shipline` binary: output, exit codes and config errors as a user sees them.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// Runs the binary in a fresh temporary directory (so no stray shipline.toml is picked up),
/// optionally with a `shipline.toml` holding `config`.
struct Run {
    dir: PathBuf,
}

impl Run {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("shipline-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Run { dir }
    }

    fn with_config(self, text: &str) -> Self {
        std::fs::write(self.dir.join("shipline.toml"), text).unwrap();
        self
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_shipline"))
            .args(args)
            .current_dir(&self.dir)
            .output()
            .unwrap()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

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

/// (name, config text, expected line, expected key, words the message must contain)
type Malformed = (
    &'static str,
    &'static str,
    Option<usize>,
    Option<&'static str>,
    &'static str,
);
const MALFORMED: &[Malformed] = &[
    ("empty file", "", None, None, "the file is empty"),
    (
        "only comments",
        "# nothing here\n\n",
        None,
        None,
        "the file is empty",
    ),
    (
        "invalid toml",
        "[app\nname = \"x\"\n",
        Some(1),
        None,
        "help: fix the TOML syntax",
    ),
    (
        "unterminated string",
        "[app]\nname = \"orders\n",
        Some(2),
        None,
        "help:",
    ),
    (
        "unknown section",
        "[aplication]\nname = \"orders\"\n",
        Some(1),
        Some("aplication"),
        "unknown field",
    ),
    (
        "unknown key",
        "[app]\nname = \"orders\"\nnmae = \"x\"\n",
        Some(3),
        Some("app.nmae"),
        "unknown field",
    ),
    (
        "unknown nested key",
        "[source]\nrepository = \"a/b\"\nbrnch = \"main\"\n",
        Some(3),
        Some("source.brnch"),
        "unknown field",
    ),
    (
        "wrong type for name",
        "[app]\nname = 42\n",
        Some(2),
        Some("app.name"),
        "invalid type",
    ),
    (
        "wrong type for number",
        "[logs]\nretention_days = \"seven\"\n",
        Some(2),
        Some("logs.retention_days"),
        "invalid type",
    ),
    (
        "negative number",
        "[images]\nkeep_last = -1\n",
        Some(2),
        Some("images.keep_last"),
        "help:",
    ),
    (
        "table instead of value",
        "[app.name]\nx = 1\n",
        Some(1),
        Some("app.name"),
        "invalid type",
    ),
    (
        "duplicate key",
        "[app]\nname = \"a\"\nname = \"b\"\n",
        Some(3),
        None,
        "duplicate key",
    ),
    (
        "uppercase app name",
        "[app]\nname = \"Orders\"\n",
        Some(2),
        Some("app.name"),
        "lowercase",
    ),
    (
        "app name too long",
        "[app]\nname = \"a-very-long-application-name\"\n",
        Some(2),
        Some("app.name"),
        "2-24",
    ),
    (
        "app name with double hyphen",
        "[app]\nname = \"or--ders\"\n",
        Some(2),
        Some("app.name"),
        "single hyphens",
    ),
    (
        "app name ending in hyphen",
        "[app]\nname = \"orders-\"\n",
        Some(2),
        Some("app.name"),
        "ending with a letter or digit",
    ),
    (
        "repository without owner",
        "[source]\nrepository = \"orders\"\n",
        Some(2),
        Some("source.repository"),
        "owner/repo",
    ),
    (
        "repository with spaces",
        "[source]\nrepository = \"acme/my repo\"\n",
        Some(2),
        Some("source.repository"),
        "owner/repo",
    ),
    (
        "branch with spaces",
        "[source]\nbranch = \"my branch\"\n",
        Some(2),
        Some("source.branch"),
        "git branch name",
    ),
    (
        "bad connection arn",
        "[source]\nconnection_arn = \"arn:aws:s3:::bucket\"\n",
        Some(2),
        Some("source.connection_arn"),
        "connection ARN",
    ),
    (
        "absolute dockerfile path",
        "[build]\ndockerfile = \"/etc/Dockerfile\"\n",
        Some(2),
        Some("build.dockerfile"),
        "relative",
    ),
    (
        "context escaping the repo",
        "[build]\ncontext = \"../other\"\n",
        Some(2),
        Some("build.context"),
        "without '..'",
    ),
    (
        "reserved build variable",
        "[build.environment]\nIMAGE_TAG = \"x\"\n",
        Some(2),
        Some("build.environment.IMAGE_TAG"),
        "reserved",
    ),
    (
        "invalid build variable name",
        "[build.environment]\n\"1BAD\" = \"x\"\n",
        Some(2),
        Some("build.environment.1BAD"),
        "environment variable name",
    ),
    (
        "zero expiration",
        "[artifacts]\nexpiration_days = 0\n",
        Some(2),
        Some("artifacts.expiration_days"),
        "from 1 to 3650",
    ),
    (
        "reserved stage name",
        "[[stages]]\nname = \"dev\"\n\n[[stages]]\nname = \"Build\"\n",
        Some(5),
        Some("stages[1].name"),
        "pipeline's own stages",
    ),
    (
        "duplicate stage",
        "[[stages]]\nname = \"dev\"\n[[stages]]\nname = \"dev\"\n",
        Some(4),
        Some("stages[1].name"),
        "different name",
    ),
    (
        "too many stages",
        "stages = [{name = \"a\"}, {name = \"b\"}, {name = \"c\"}, {name = \"d\"}, {name = \"e\"}, {name = \"f\"}]\n",
        Some(1),
        Some("stages"),
        "1 to 5 [[stages]]",
    ),
    (
        "unknown stage key",
        "[[stages]]\nname = \"dev\"\napprove = true\n",
        Some(3),
        Some("stages[0].approve"),
        "remove the key",
    ),
    (
        "bad severity",
        "[scan]\nseverity = \"SEVERE\"\n",
        Some(2),
        Some("scan.severity"),
        "`INFORMATIONAL`, `LOW`, `MEDIUM`, `HIGH`, `CRITICAL`",
    ),
    (
        "ignore list with the inspector gate",
        "[scan]\ngate = \"inspector\"\nignore = [\"CVE-2024-1\"]\n",
        Some(3),
        Some("scan.ignore"),
        "gate = \"basic\"",
    ),
    (
        "bad email",
        "[notifications]\nemails = [\"team at example.com\"]\n",
        Some(2),
        Some("notifications.emails[0]"),
        "one address per entry",
    ),
    (
        "unknown notification state",
        "[notifications]\non = [\"BROKEN\"]\n",
        Some(2),
        Some("notifications.on[0]"),
        "`FAILED`, `SUCCEEDED`, `SUPERSEDED`, `CANCELED`, `STOPPED`",
    ),
    (
        "zero images kept",
        "[images]\nkeep_last = 0\n",
        Some(2),
        Some("images.keep_last"),
        "from 1 to 10000",
    ),
    (
        "invalid retention",
        "[logs]\nretention_days = 8\n",
        Some(2),
        Some("logs.retention_days"),
        "1, 3, 5, 7, 14",
    ),
    (
        "reserved tag prefix",
        "[tags]\n\"aws:owner\" = \"me\"\n",
        Some(2),
        Some("tags.\"aws:owner\""),
        "aws: prefix",
    ),
    (
        "unknown trigger",
        "[source]\ntrigger = \"poll\"\n",
        Some(2),
        Some("source.trigger"),
        "unknown variant",
    ),
    (
        "file paths with the webhook",
        "[source.file_paths]\ninclude = [\"src/**\"]\n",
        Some(1),
        Some("source.file_paths"),
        "set `trigger = \"connection\"`",
    ),
    (
        "too much reserved concurrency",
        "[webhook]\nreserved_concurrency = 5000\n",
        Some(2),
        Some("webhook.reserved_concurrency"),
        "from 0 to 1000",
    ),
    (
        "invalid tag value",
        "[tags]\nOwner = \"a;b\"\n",
        Some(2),
        Some("tags.Owner"),
        "tag value",
    ),
];

#[test]
fn malformed_configs_give_one_clear_error_and_exit_2() {
    assert!(MALFORMED.len() >= 20);
    for (name, text, line, key, words) in MALFORMED {
        let out = Run::new(&name.replace(' ', "-"))
            .with_config(text)
            .run(&["synth"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}: nothing on stdout");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert_eq!(
            err.matches("error:").count(),
            1,
            "{name}: exactly one error\n{err}"
        );
        assert!(err.contains("help:"), "{name}: says how to fix it\n{err}");
        assert!(err.contains(words), "{name}: expected {words:?} in\n{err}");
        match line {
            Some(line) => assert!(
                err.contains(&format!("error: shipline.toml:{line}:")),
                "{name}: expected line {line} in\n{err}"
            ),
            None => assert!(err.starts_with("error: shipline.toml: "), "{name}: {err}"),
        }
        if let Some(key) = key {
            assert!(
                err.contains(&format!("`{key}`")),
                "{name}: expected key `{key}` in\n{err}"
            );
        }
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

/// Runs `args` with no AWS endpoint or credentials to reach: a refusal must come before any
/// request (exit 2 and "nothing was sent"), not from a failed call (exit 1).
fn offline(run: &Run, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shipline"))
        .args(args)
        .current_dir(&run.dir)
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", run.dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            run.dir.join("no-aws-credentials"),
        )
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
}

#[test]
fn deploying_the_embedded_placeholder_is_refused_before_any_aws_call() {
    let run = Run::new("placeholder");
    for args in [
        &["deploy", "--yes", "--region", "us-east-1"][..],
        &["plan", "--region", "us-east-1"][..],
    ] {
        let out = offline(&run, args);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("placeholder repository `example-org/example-app`"),
            "{err}"
        );
        assert!(err.contains("nothing was sent to AWS"), "{err}");
    }
    // synth keeps working on it.
    assert_eq!(offline(&run, &["synth"]).status.code(), Some(0));
}

#[test]
fn a_region_lacking_a_needed_resource_type_is_refused_naming_the_config_that_avoids_it() {
    let run = Run::new("region").with_config("[source]\nrepository = \"acme/orders\"\n");
    let out = offline(&run, &["deploy", "--yes", "--region", "il-central-1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("region `il-central-1` does not offer"),
        "{err}"
    );
    assert!(err.contains("AWS::Lambda::Url"), "{err}");
    assert!(err.contains("trigger = \"connection\""), "{err}");
    let out = offline(&run, &["plan", "--region", "xx-nowhere-1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("unknown region `xx-nowhere-1`"));
    let out = offline(&run, &["plan"]);
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
    let out = offline(&run, &["plan", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let error: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(error["error"]["exit_code"], 2);
    assert_eq!(error["error"]["file"], "shipline.toml");
    assert_eq!(error["error"]["line"], 2);
    assert_eq!(error["error"]["key"], "logs.retention_days");
    let run = Run::new("json-placeholder");
    let out = offline(&run, &["deploy", "--json", "--region", "us-east-1"]);
    assert_eq!(out.status.code(), Some(2));
    let error: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("placeholder repository")
    );
}
