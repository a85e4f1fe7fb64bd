//! Config values that TOML accepts but that would give a pipeline AWS refuses or misreads:
//! each is one located error naming the key and the fix (regression tests for issue 9).

use shipline_core::{Config, ConfigError};

fn error(text: &str) -> ConfigError {
    match Config::parse("shipline.toml", text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(err) => err,
    }
}

fn accepted(text: &str) {
    if let Err(err) = Config::parse("shipline.toml", text) {
        panic!("refused:\n{text}\n{err}");
    }
}

/// The error names `key` at `line` and its help contains `help`.
fn assert_error(text: &str, key: &str, line: usize, help: &str) {
    let err = error(text);
    assert_eq!(err.key.as_deref(), Some(key), "{err}");
    assert_eq!(err.position.map(|p| p.0), Some(line), "{err}");
    assert!(err.help.contains(help), "help lacks {help:?}: {err}");
}

#[test]
fn a_full_ref_as_branch_is_refused_with_the_branch_name() {
    assert_error(
        "[source]\nbranch = \"refs/heads/main\"\n",
        "source.branch",
        2,
        "\"main\"",
    );
    assert_error(
        "[source]\nbranch = \"refs/tags/v1\"\n",
        "source.branch",
        2,
        "branch",
    );
    accepted("[source]\nbranch = \"release/refs\"\n");
    for bad in ["a/.b", "x.lock/y", "feat/{a,b}", "!main"] {
        assert_error(
            &format!("[source]\nbranch = \"{bad}\"\n"),
            "source.branch",
            2,
            "git branch name",
        );
    }
}

#[test]
fn a_clone_url_or_git_suffix_is_refused_with_the_owner_repo_form() {
    for (value, suggestion) in [
        ("acme/orders.git", "\"acme/orders\""),
        ("https://github.com/acme/orders/", "\"acme/orders\""),
        ("https://github.com/acme/orders.git", "\"acme/orders\""),
        ("git@github.com:acme/orders.git", "\"acme/orders\""),
    ] {
        assert_error(
            &format!("[source]\nrepository = \"{value}\"\n"),
            "source.repository",
            2,
            suggestion,
        );
    }
    accepted("[source]\nrepository = \"acme/orders.api\"\n");
}

#[test]
fn stage_names_that_collide_with_generated_or_other_stages_are_refused() {
    // The last stage gets an approval stage `Approve-production`.
    assert_error(
        "[[stages]]\nname = \"Approve-production\"\n[[stages]]\nname = \"production\"\n",
        "stages[0].name",
        2,
        "Approve-<stage>",
    );
    assert_error(
        "[[stages]]\nname = \"dev\"\n[[stages]]\nname = \"Dev\"\n",
        "stages[1].name",
        4,
        "different name",
    );
    assert_error(
        "[[stages]]\nname = \"scan\"\n",
        "stages[0].name",
        2,
        "own stages",
    );
}

#[test]
fn the_approval_stage_name_must_fit_codepipelines_100_characters() {
    let long = "a".repeat(93);
    // Last stage: approval by default, so `Approve-` + 93 = 101 characters.
    assert_error(
        &format!("[[stages]]\nname = \"{long}\"\n"),
        "stages[0].name",
        2,
        "1-92",
    );
    accepted(&format!(
        "[[stages]]\nname = \"{long}\"\napproval = false\n"
    ));
    accepted(&format!("[[stages]]\nname = \"{}\"\n", "a".repeat(92)));
}

#[test]
fn docker_arguments_that_read_as_stdin_or_a_flag_are_refused() {
    for (key, value) in [
        ("context", "-"),
        ("context", "--pull"),
        ("context", "app/-x"),
        ("dockerfile", "-f"),
    ] {
        assert_error(
            &format!("[build]\n{key} = \"{value}\"\n"),
            &format!("build.{key}"),
            2,
            "starting with '-'",
        );
    }
    accepted("[build]\ncontext = \"services/my-api\"\ndockerfile = \"docker/api-v2.Dockerfile\"\n");
}

#[test]
fn tags_are_checked_against_the_strictest_resource_limits() {
    // ECR: keys up to 127, values 1-255 characters.
    accepted(&format!("[tags]\n{} = \"x\"\n", "k".repeat(127)));
    assert_error(
        &format!("[tags]\n{} = \"x\"\n", "k".repeat(128)),
        &format!("tags.{}", "k".repeat(128)),
        2,
        "1-127",
    );
    accepted(&format!("[tags]\nOwner = \"{}\"\n", "v".repeat(255)));
    assert_error(
        &format!("[tags]\nOwner = \"{}\"\n", "v".repeat(256)),
        "tags.Owner",
        2,
        "1-255",
    );
    assert_error("[tags]\nOwner = \"\"\n", "tags.Owner", 2, "empty");
    // IAM's character class is letters/separators/numbers by general category: a combining
    // accent is a mark, not a letter, though Rust's is_alphanumeric accepts it.
    assert_error(
        "[tags]\nOwner = \"Rene\u{0301}\"\n",
        "tags.Owner",
        2,
        "combining",
    );
    accepted("[tags]\nOwner = \"Ren\u{e9}e\"\nTeam = \"caf\u{e9} 2\"\n");
    // A line separator is a separator to IAM, but breaks lines in YAML 1.1.
    assert_error(
        "[tags]\nOwner = \"a\u{2028} b\"\n",
        "tags.Owner",
        2,
        "1-255",
    );
    assert_error(
        "[tags]\n\"aws:owner\" = \"x\"\n",
        "tags.\"aws:owner\"",
        2,
        "aws:",
    );
}

#[test]
fn tag_keys_differing_only_in_case_collide_on_iam_roles() {
    // `Environment` is a default tag.
    assert_error(
        "[tags]\nenvironment = \"dev\"\n",
        "tags.environment",
        2,
        "\"Environment\" is a default tag",
    );
    assert_error(
        "[tags]\nOwner = \"a\"\nOWNER = \"b\"\n",
        "tags.OWNER",
        3,
        "also in [tags]",
    );
    // Case-insensitive beyond ASCII.
    assert_error(
        "[tags]\n\"\u{c9}quipe\" = \"a\"\n\"\u{e9}quipe\" = \"b\"\n",
        "tags.\"\u{c9}quipe\"",
        2,
        "also in [tags]",
    );
    accepted("[tags]\nEnvironment = \"dev\"\n");
}

#[test]
fn quoted_keys_holding_dots_or_brackets_keep_their_location() {
    let err = error("[app]\nname = \"orders\"\n\n[tags]\n\"team.name\" = \"\"\n");
    assert_eq!(err.key.as_deref(), Some("tags.\"team.name\""));
    assert_eq!(err.position, Some((5, 15)));
    let err = error("[tags]\nok = \"x\"\n\"a[1]\" = \"\u{0301}\"\n");
    assert_eq!(err.position.map(|p| p.0), Some(3));
    let err = error("[build.environment]\n\"1.x\" = \"v\"\n");
    assert_eq!(err.key.as_deref(), Some("build.environment.\"1.x\""));
    assert_eq!(err.position.map(|p| p.0), Some(2));
}

#[test]
fn a_table_written_as_an_array_of_tables_gets_advice_it_can_follow() {
    let err = error("[[app]]\nname = \"orders\"\n");
    assert_eq!(err.key.as_deref(), Some("app"));
    assert!(
        err.help.contains("`[app]`") && err.help.contains("not `[[app]]`"),
        "{err}"
    );
    assert!(!err.to_string().contains("struct"), "{err}");
    // Kinds are named in TOML's words, not serde's.
    let err = error("[images]\nkeep_last = \"ten\"\n");
    assert!(err.message.contains("a whole number"), "{err}");
    let err = error("stages = \"dev\"\n");
    assert!(err.message.contains("expected an array"), "{err}");
}

#[test]
fn oversized_files_and_lines_are_refused_without_echoing_them() {
    let huge = format!("[app]\nname = \"{}\"\n", "a".repeat(300 * 1024));
    let err = error(&huge);
    assert!(err.message.contains("bytes"), "{err}");
    assert!(err.to_string().len() < 1000);
    // Under the cap, a long bad line is shown clipped around the error.
    let long = format!("[app]\nname = \"{}\"\n", "A".repeat(100 * 1024));
    let shown = error(&long).to_string();
    assert!(shown.contains("app.name"), "{shown}");
    assert!(shown.len() < 1500, "{} bytes shown", shown.len());
    // Keys and suggestions that repeat a huge value are clipped too.
    for text in [
        format!("[tags]\n\"{}\" = \"\"\n", "\u{65e5}".repeat(300)),
        format!(
            "[source]\nrepository = \"https://github.com/acme/{}\"\n",
            "r".repeat(3000)
        ),
        format!("[source]\nbranch = \"refs/heads/{}\"\n", "b".repeat(3000)),
    ] {
        let shown = error(&text).to_string();
        assert!(shown.len() < 3000, "{} bytes shown", shown.len());
    }
}

#[test]
fn a_staging_bucket_must_be_an_s3_bucket_name() {
    accepted("[deploy]\nstaging_bucket = \"team-cfn-templates\"\n");
    for bad in [
        "Team",
        "ab",
        "a..b",
        "192.168.0.1",
        "-x-",
        "xn--abc",
        "my_bucket",
    ] {
        assert_error(
            &format!("[deploy]\nstaging_bucket = \"{bad}\"\n"),
            "deploy.staging_bucket",
            2,
            "S3 bucket naming rules",
        );
    }
}

#[test]
fn build_variables_may_not_carry_control_characters() {
    for bad in ["a\\u007Fb", "a\\u0085b", "a\\u0000b", "a\\u001Bb"] {
        assert_error(
            &format!("[build.environment]\nX = \"{bad}\"\n"),
            "build.environment.X",
            2,
            "control characters",
        );
    }
    accepted("[build.environment]\nX = \"tab\\there\\nnewline \\u2028 ok\"\n");
}
