//! `shipline init` and `shipline schema` on the real binary: the file init writes loads and
//! synthesizes as is, carries what git says, and is never overwritten without --force.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::{Run, stderr, stdout};

/// `shipline args...` in `dir`, with `PATH` replaced when given (to hide git).
fn shipline(dir: &Path, args: &[&str], path: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shipline"));
    command.args(args).current_dir(dir);
    if let Some(path) = path {
        command.env("PATH", path);
    }
    command.output().unwrap()
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

/// A git checkout in `<run dir>/<name>` on branch `branch`, with remote `origin` at `url`.
fn checkout(run: &Run, name: &str, branch: &str, url: Option<&str>) -> PathBuf {
    let dir = run.dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q", "-b", branch]);
    if let Some(url) = url {
        git(&dir, &["remote", "add", "origin", url]);
    }
    dir
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn init_in_a_checkout_writes_a_config_that_synthesizes_with_its_repository_and_branch() {
    let run = Run::new("init-ssh");
    let dir = checkout(
        &run,
        "orders-api",
        "work",
        Some("git@github.com:acme/orders.git"),
    );
    // What `git clone` records: origin's default branch.
    git(
        &dir,
        &[
            "symbolic-ref",
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/trunk",
        ],
    );
    let out = shipline(&dir, &["init"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("wrote shipline.toml (repository acme/orders, branch trunk, app orders-api)"),
        "{}",
        stderr(&out)
    );
    let text = read(&dir, "shipline.toml");
    assert!(text.contains("repository = \"acme/orders\""), "{text}");
    assert!(text.contains("branch = \"trunk\""), "{text}");
    assert!(text.contains("name = \"orders-api\""), "{text}");
    // Every key is there with its explanation.
    for key in [
        "retention_days = 7",
        "# connection_arn = ",
        "keep_last = 10",
    ] {
        assert!(text.contains(key), "{key} missing:\n{text}");
    }
    // It loads and synthesizes as is.
    let synth = shipline(&dir, &["synth"], None);
    assert_eq!(synth.status.code(), Some(0), "{}", stderr(&synth));
    let template: Value = serde_json::from_str(&stdout(&synth)).unwrap();
    assert_eq!(
        template["Resources"]["ImageRepository"]["Properties"]["RepositoryName"],
        "orders-api"
    );
    let source = &template["Resources"]["Pipeline"]["Properties"]["Stages"][0]["Actions"][0]["Configuration"];
    assert_eq!(source["FullRepositoryId"], "acme/orders", "{source}");
    assert_eq!(source["BranchName"], "trunk", "{source}");
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let run = Run::new("init-force").with_config("[app]\nname = \"mine\"\n");
    let out = shipline(&run.dir, &["init", "--repository", "acme/web"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("shipline.toml already exists; pass --force to overwrite it"),
        "{}",
        stderr(&out)
    );
    assert_eq!(read(&run.dir, "shipline.toml"), "[app]\nname = \"mine\"\n");
    // A broken config does not stop init (it is what init replaces).
    run.write("shipline.toml", "[app\n");
    let forced = shipline(
        &run.dir,
        &["init", "--force", "--repository", "acme/web"],
        None,
    );
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
    assert!(read(&run.dir, "shipline.toml").contains("repository = \"acme/web\""));
}

#[test]
fn an_https_remote_and_the_current_branch_are_used_and_repository_overrides() {
    let run = Run::new("init-https");
    let dir = checkout(
        &run,
        "Web_Site",
        "develop",
        Some("https://github.com/acme/web-site.git"),
    );
    let out = shipline(&dir, &["init"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = read(&dir, "shipline.toml");
    assert!(text.contains("repository = \"acme/web-site\""), "{text}");
    assert!(text.contains("branch = \"develop\""), "{text}");
    // `Web_Site` is no app name; the repository's name is.
    assert!(text.contains("name = \"web-site\""), "{text}");
    // --repository wins over the remote, and takes a URL too.
    let out = shipline(
        &dir,
        &[
            "init",
            "--force",
            "--repository",
            "ssh://git@github.com/other/thing.git",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(read(&dir, "shipline.toml").contains("repository = \"other/thing\""));
    let bad = shipline(
        &dir,
        &["init", "--force", "--repository", "not a repo"],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("owner/repo"), "{}", stderr(&bad));
}

#[test]
fn without_git_or_a_github_remote_init_writes_the_placeholder_and_says_what_to_set() {
    let run = Run::new("init-nogit");
    let gitlab = checkout(
        &run,
        "gitlab",
        "main",
        Some("git@gitlab.com:acme/orders.git"),
    );
    for (dir, path) in [
        // Not a checkout.
        (&run.dir, None),
        // git not on PATH at all.
        (&gitlab, Some("/nonexistent")),
        // Not a GitHub remote.
        (&gitlab, None),
    ] {
        let out = shipline(dir, &["init", "--force"], path);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("set `source.repository`") && err.contains("example-org/example-app"),
            "{err}"
        );
        let text = read(dir, "shipline.toml");
        assert!(text.contains("repository = \"example-org/example-app\""));
        assert!(text.contains("branch = \"main\""));
        assert_eq!(
            shipline(dir, &["synth"], path).status.code(),
            Some(0),
            "the placeholder config synthesizes"
        );
    }
    // plan refuses the placeholder before any request, as for the embedded default.
    let plan = run.offline(&["plan", "--region", "us-east-1"]);
    assert_eq!(plan.status.code(), Some(2), "{}", stderr(&plan));
}

#[test]
fn init_writes_the_config_path_given_and_points_at_a_schema_beside_it() {
    let run = Run::new("init-path");
    run.write("infra/shipline.schema.json", "{}");
    let out = shipline(
        &run.dir,
        &[
            "init",
            "--config",
            "infra/pipeline.toml",
            "--repository",
            "acme/orders",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = read(&run.dir, "infra/pipeline.toml");
    assert!(
        text.starts_with("#:schema ./shipline.schema.json\n"),
        "{text}"
    );
    assert!(!run.dir.join("shipline.toml").exists());
    let synth = shipline(
        &run.dir,
        &["synth", "--config", "infra/pipeline.toml"],
        None,
    );
    assert_eq!(synth.status.code(), Some(0), "{}", stderr(&synth));
    // No schema file beside it: the directive is explained, not written.
    let out = shipline(&run.dir, &["init", "--repository", "acme/orders"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = read(&run.dir, "shipline.toml");
    assert!(!text.starts_with("#:schema"), "{text}");
    assert!(
        text.contains("shipline schema > shipline.schema.json"),
        "{text}"
    );
}

#[test]
fn schema_needs_no_config_and_prints_json_schema() {
    let run = Run::new("schema").with_config("not toml at all [");
    let out = run.run(&["schema"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let schema: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["title"], "shipline.toml");
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/shipline.schema.json"),
    )
    .unwrap();
    assert_eq!(stdout(&out), committed);
}
