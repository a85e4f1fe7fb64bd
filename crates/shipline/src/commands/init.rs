//! `shipline init`: writes a commented `shipline.toml` (every key with its default and what it
//! does) with the GitHub repository, branch and app name filled in from the git checkout it is
//! run in. Needs no existing config (a broken one is what `--force` replaces).
//!
//! The body is `init.toml`, the same text as the README's "Configuration reference" block (a
//! test holds them equal, and holds every key of the JSON Schema to appearing in it).
//!
//! What git says is a guess: `git remote get-url origin` (https, `git@github.com:o/r.git` and
//! `ssh://` forms, through the core's URL reading), `git symbolic-ref refs/remotes/origin/HEAD`
//! for the branch (else the current branch, else `main`), and the directory's name for the app.
//! Each guess is kept only if the config would accept it; git missing, or no repository, is
//! not an error: the defaults stay, and a note says what to set.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::json;
use shipline_core::Config;
use shipline_core::config::PLACEHOLDER_REPOSITORY;

use super::{Failure, Output};

/// The reference body: every key, its default, one line (or a few) on what it does.
pub const REFERENCE: &str = include_str!("init.toml");

/// The column the reference's comments start in (continuation lines are indented to it).
const COMMENT_COLUMN: usize = 28;

/// Where `shipline schema`'s output is looked for, relative to the new config's directory: if
/// one exists, the file opens with a `#:schema` directive (Taplo / Even Better TOML) naming it.
const SCHEMA_FILES: [&str; 2] = ["shipline.schema.json", "schema/shipline.schema.json"];

/// What init filled in, and from where.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Settings {
    pub app: Option<String>,
    pub repository: Option<String>,
    pub branch: String,
    /// `#:schema` target, relative to the config's directory.
    pub schema: Option<String>,
}

pub fn run(path: &Path, repository: Option<&str>, force: bool) -> Result<Output, Failure> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let repository = match repository {
        Some(given) => Some(checked_repository(given)?),
        None => git(&dir, &["remote", "get-url", "origin"])
            .and_then(|url| shipline_core::config::owner_repo_of_url(&url))
            .filter(|repo| is_valid_repository(repo)),
    };
    let settings = Settings {
        app: app_name(&dir, repository.as_deref()),
        branch: branch(&dir),
        schema: SCHEMA_FILES
            .iter()
            .find(|file| dir.join(file).is_file())
            .map(|file| format!("./{file}")),
        repository,
    };
    let text = render(&settings);
    if let Err(err) = Config::parse(&path.display().to_string(), &text) {
        // Every value was checked on its own; a template that does not load is a bug.
        return Err(Failure::Failed(format!(
            "the generated config does not load (please report this): {err}"
        )));
    }
    write(path, &text, force)?;
    let mut filled = Vec::new();
    if let Some(repository) = &settings.repository {
        filled.push(format!("repository {repository}"));
    }
    filled.push(format!("branch {}", settings.branch));
    if let Some(app) = &settings.app {
        filled.push(format!("app {app}"));
    }
    let mut output = Output::new(
        &json!({ "path": path.display().to_string(), "settings": settings }),
        Vec::new(),
    )
    .note(format!("wrote {} ({})", path.display(), filled.join(", ")));
    if settings.repository.is_none() {
        output = output.note(format!(
            "note: no GitHub remote `origin` found, so the repository is the placeholder {PLACEHOLDER_REPOSITORY}: set `source.repository` in {} to your GitHub owner/repo before `shipline plan` or `deploy` (or run `shipline init --force --repository owner/repo`)",
            path.display()
        ));
    }
    Ok(output)
}

/// The config text: a header, then the reference with the inferred values in place.
pub fn render(settings: &Settings) -> String {
    let mut text = String::new();
    if let Some(schema) = &settings.schema {
        // Taplo reads the directive only at the top of the document.
        text.push_str(&format!("#:schema {schema}\n"));
    }
    text.push_str(
        "# shipline.toml: the pipeline `shipline synth`, `plan` and `deploy` build (written by\n\
         # `shipline init`). Every key is optional: the values below are the defaults, except the\n\
         # ones init filled in from git. The README's \"Configuration reference\" says the same.\n",
    );
    if settings.schema.is_none() {
        text.push_str(
            "# Completion and checks in your editor (Taplo / Even Better TOML): run\n\
             # `shipline schema > shipline.schema.json` and make the first line of this file\n\
             # `#:schema ./shipline.schema.json`.\n",
        );
    }
    text.push('\n');
    let mut body = REFERENCE.to_owned();
    if let Some(app) = &settings.app {
        body = set_value(&body, "[app]", "name", app);
    }
    if let Some(repository) = &settings.repository {
        body = set_value(&body, "[source]", "repository", repository);
    }
    body = set_value(&body, "[source]", "branch", &settings.branch);
    text.push_str(&body);
    text
}

/// `text` with the first `key = ...` line after the `section` header set to `value`, its
/// trailing comment kept in its column.
fn set_value(text: &str, section: &str, key: &str, value: &str) -> String {
    let mut in_section = false;
    let mut done = false;
    let mut out = String::with_capacity(text.len() + value.len());
    for line in text.split_inclusive('\n') {
        if line.starts_with('[') {
            in_section = line.split_whitespace().next() == Some(section);
        }
        let prefix = format!("{key} = ");
        if in_section && !done && line.starts_with(&prefix) {
            done = true;
            let new = format!("{prefix}{}", quoted(value));
            // Default values hold no '#': the first one starts the comment. It goes to the
            // reference's comment column, or past a longer value.
            match line.find('#') {
                Some(comment) => {
                    let pad = comment.min(COMMENT_COLUMN).saturating_sub(new.len()).max(1);
                    out.push_str(&format!("{new}{}{}", " ".repeat(pad), &line[comment..]));
                }
                None => out.push_str(&format!("{new}\n")),
            }
            continue;
        }
        out.push_str(line);
    }
    out
}

/// A TOML basic string (JSON's escapes are TOML's).
fn quoted(value: &str) -> String {
    serde_json::to_string(value).expect("strings serialize")
}

/// Would the config accept `text` as the value of `key` in `[section]`?
fn accepts(section: &str, key: &str, text: &str) -> bool {
    Config::parse("init", &format!("[{section}]\n{key} = {}\n", quoted(text))).is_ok()
}

fn is_valid_repository(repository: &str) -> bool {
    accepts("source", "repository", repository)
}

/// `--repository`: `owner/repo`, or a GitHub URL naming one.
fn checked_repository(given: &str) -> Result<String, Failure> {
    let repository =
        shipline_core::config::owner_repo_of_url(given).unwrap_or_else(|| given.to_owned());
    if is_valid_repository(&repository) {
        return Ok(repository);
    }
    let help = match Config::parse(
        "--repository",
        &format!("[source]\nrepository = {}\n", quoted(&repository)),
    ) {
        Err(err) => err.help,
        Ok(_) => String::new(),
    };
    Err(Failure::BadInput(format!(
        "--repository {given:?} is not a GitHub repository: {help}"
    )))
}

/// The branch origin's HEAD points at, else the branch checked out, else `main`.
fn branch(dir: &Path) -> String {
    git(
        dir,
        &["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"],
    )
    .and_then(|target| {
        target
            .strip_prefix("refs/remotes/origin/")
            .map(str::to_owned)
    })
    .filter(|branch| accepts("source", "branch", branch))
    .or_else(|| {
        git(dir, &["symbolic-ref", "--quiet", "--short", "HEAD"])
            .filter(|branch| accepts("source", "branch", branch))
    })
    .unwrap_or_else(|| "main".to_owned())
}

/// The directory's name, else the repository's name, if the config accepts it as an app name.
fn app_name(dir: &Path, repository: Option<&str>) -> Option<String> {
    let dir_name = std::fs::canonicalize(dir)
        .ok()
        .and_then(|dir| dir.file_name().map(|n| n.to_string_lossy().into_owned()));
    let repo_name = repository
        .and_then(|r| r.split_once('/'))
        .map(|(_, n)| n.to_owned());
    [dir_name, repo_name]
        .into_iter()
        .flatten()
        .find(|name| accepts("app", "name", name))
}

/// `git -C dir args...`'s output, trimmed; `None` when git is missing, fails, or says nothing.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_owned())
}

/// Writes `text` to `path`; without `force`, only if nothing is there yet.
fn write(path: &Path, text: &str, force: bool) -> Result<(), Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|err| {
        if err.kind() == std::io::ErrorKind::AlreadyExists {
            Failure::BadInput(format!(
                "{} already exists; pass --force to overwrite it",
                path.display()
            ))
        } else {
            Failure::Failed(format!(
                "{}: cannot write the config: {err}",
                path.display()
            ))
        }
    })?;
    file.write_all(text.as_bytes()).map_err(|err| {
        Failure::Failed(format!(
            "{}: cannot write the config: {err}",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            app: Some("orders".into()),
            repository: Some("acme/orders".into()),
            branch: "release/v2".into(),
            schema: None,
        }
    }

    #[test]
    fn the_reference_is_the_embedded_default_pipeline() {
        let mut reference = Config::parse("init.toml", REFERENCE).unwrap();
        // [tags] spells the default tags out.
        assert_eq!(
            reference.effective_tags(),
            Config::default().effective_tags()
        );
        reference.tags.clear();
        assert_eq!(reference, Config::default());
    }

    #[test]
    fn the_readme_shows_the_reference_as_init_writes_it() {
        let readme = include_str!("../../../../README.md");
        let block = "## Configuration reference (`shipline.toml`)\n";
        let start = readme
            .find(block)
            .expect("README has the reference section");
        let fenced = format!("```toml\n{REFERENCE}```\n");
        assert!(
            readme[start..].starts_with(block) && readme[start..].contains(&fenced),
            "the README's configuration reference block and crates/shipline/src/commands/init.toml differ: keep them the same text (init writes the file)"
        );
    }

    #[test]
    fn rendered_values_replace_the_defaults_and_keep_the_comment_column() {
        let text = render(&settings());
        let config = Config::parse("t.toml", &text).unwrap();
        assert_eq!(config.app.name, "orders");
        assert_eq!(config.source.repository, "acme/orders");
        assert_eq!(config.source.branch, "release/v2");
        let continuation = REFERENCE
            .lines()
            .find(|l| l.trim_start().starts_with('#') && l.starts_with(' '))
            .unwrap();
        assert_eq!(continuation.find('#'), Some(COMMENT_COLUMN));
        let line = text
            .lines()
            .find(|l| l.starts_with("repository = "))
            .unwrap();
        assert_eq!(line.find('#'), Some(COMMENT_COLUMN), "{line}");
        assert!(line.starts_with("repository = \"acme/orders\" "), "{line}");
        // Only [source]'s branch and [app]'s name changed.
        assert_eq!(
            text.matches("name = \"orders\"").count(),
            1,
            "stage names untouched"
        );
    }

    #[test]
    fn a_schema_file_beside_the_config_gets_a_directive_on_the_first_line() {
        let text = render(&Settings {
            schema: Some("./shipline.schema.json".into()),
            ..settings()
        });
        assert!(
            text.starts_with("#:schema ./shipline.schema.json\n"),
            "{text}"
        );
        let without = render(&settings());
        assert!(!without.starts_with("#:schema"), "{without}");
        assert!(without.contains("`#:schema ./shipline.schema.json`"));
    }

    #[test]
    fn values_needing_escapes_stay_valid_toml() {
        assert_eq!(quoted("a\"b"), "\"a\\\"b\"");
        assert!(!accepts("source", "branch", "a\"b"));
        assert!(accepts("source", "branch", "feature/x#1"));
        let text = render(&Settings {
            branch: "feature/x#1".into(),
            ..settings()
        });
        assert_eq!(
            Config::parse("t.toml", &text).unwrap().source.branch,
            "feature/x#1"
        );
    }
}
