//! [`ConfigError`]: one problem in a config file, with its location and a fix.

use std::fmt;

use super::locate::{self, KeyPath};

/// The largest config file shipline reads. A real `shipline.toml` is a few kilobytes; the cap
/// keeps a wrong path (a log file, a binary) from being parsed and echoed back.
pub const MAX_CONFIG_BYTES: usize = 256 * 1024;

/// The top-level tables of `shipline.toml` that appear once (`[[stages]]` is the array).
const SINGLE_TABLES: [&str; 11] = [
    "app",
    "source",
    "build",
    "scan",
    "notifications",
    "artifacts",
    "images",
    "logs",
    "webhook",
    "deploy",
    "tags",
];

/// How much of a source line an error shows, around the marked column: user values are
/// echoed back, and a megabyte-long line must not be.
const MAX_SHOWN_CHARS: usize = 160;

/// How much of a message an error shows (messages quote values, and list what is allowed).
const MAX_MESSAGE_CHARS: usize = 400;

/// A config problem found by validation, before it is given a location in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where the value is, e.g. `logs.retention_days`.
    pub key: KeyPath,
    pub message: String,
    /// What is allowed / how to fix it.
    pub help: String,
}

/// An error in `shipline.toml`: file, position, key, what is wrong and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based line and column, when the problem has a position in the file.
    pub position: Option<(usize, usize)>,
    pub key: Option<String>,
    pub message: String,
    pub help: String,
    /// The offending source line, for display.
    source_line: Option<String>,
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    fn at(
        file: &str,
        text: &str,
        offset: Option<usize>,
        key: Option<String>,
        message: String,
        help: String,
    ) -> Self {
        let position = offset.map(|o| locate::line_col(text, o));
        let source_line = position
            .and_then(|(line, _)| text.lines().nth(line - 1))
            .map(str::to_owned);
        ConfigError {
            file: file.to_owned(),
            position,
            key,
            message,
            help,
            source_line,
        }
    }

    pub(super) fn empty(file: &str) -> Self {
        ConfigError::at(
            file,
            "",
            None,
            None,
            "the file is empty".to_owned(),
            "write the pipeline's settings in it (the README's configuration reference lists every key), or delete the file to use the embedded default pipeline".to_owned(),
        )
    }

    pub(super) fn too_large(file: &str, bytes: u64) -> Self {
        ConfigError::at(
            file,
            "",
            None,
            None,
            format!("the file is {bytes} bytes, more than shipline reads ({MAX_CONFIG_BYTES})"),
            "check that --config names your shipline.toml; a config is a few kilobytes".to_owned(),
        )
    }

    pub(super) fn unreadable(file: &str, err: &std::io::Error) -> Self {
        ConfigError::at(
            file,
            "",
            None,
            None,
            format!("cannot read the file: {err}"),
            "check the path and its permissions".to_owned(),
        )
    }

    pub(super) fn from_toml(file: &str, text: &str, err: &toml::de::Error) -> Self {
        let span = err.span();
        let mut key = span.as_ref().and_then(|s| locate::key_at(text, s));
        let mut message = in_toml_terms(err.message().trim());
        // `[[app]]` for `[app]`: serde reads the array positionally and complains about its
        // first element; the mistake is the double brackets.
        if let Some(KeyPath(segments)) = &mut key
            && let [locate::Segment::Key(name), locate::Segment::Index(_), ..] = segments.as_slice()
            && SINGLE_TABLES.contains(&name.as_str())
        {
            message = format!("`{name}` is written as an array of tables (`[[{name}]]`)");
            segments.truncate(1);
        }
        let help = if message.starts_with("unknown field") {
            "remove the key or correct its spelling: shipline rejects keys it does not know, so a typo is never silently ignored".to_owned()
        } else if message.starts_with("unknown variant") {
            "use one of the values listed after `expected`".to_owned()
        } else if message.contains("is written as an array of tables")
            || message.starts_with("invalid type: array, expected a table")
        {
            let name = key.as_ref().map_or("section".to_owned(), |k| k.to_string());
            format!(
                "`{name}` is a single table: write its header `[{name}]`, not `[[{name}]]` (double brackets make an array of tables)"
            )
        } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
            "change the value to the kind shown after `expected`".to_owned()
        } else if message.starts_with("duplicate key") {
            "keep one of the two definitions".to_owned()
        } else {
            "fix the TOML syntax at the marked position (see https://toml.io)".to_owned()
        };
        ConfigError::at(
            file,
            text,
            span.map(|s| s.start),
            key.map(|k| k.to_string()),
            message,
            help,
        )
    }

    pub(super) fn from_problem(file: &str, text: &str, problem: Problem) -> Self {
        let offset = locate::span_of(text, &problem.key).map(|s| s.start);
        ConfigError::at(
            file,
            text,
            offset,
            Some(problem.key.to_string()),
            problem.message,
            problem.help,
        )
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": ")?;
        if let Some(key) = &self.key {
            write!(f, "`{}`: ", clip(key, 0, MAX_SHOWN_CHARS).0)?;
        }
        writeln!(f, "{}", clip(&self.message, 0, MAX_MESSAGE_CHARS).0)?;
        if let (Some((line, column)), Some(source)) = (self.position, &self.source_line) {
            let gutter = " ".repeat(line.to_string().len());
            let (shown, column) = clip(source, column - 1, MAX_SHOWN_CHARS);
            writeln!(f, "{gutter} |")?;
            writeln!(f, "{line} | {shown}")?;
            writeln!(f, "{gutter} | {}^", " ".repeat(column))?;
        }
        write!(f, "help: {}", clip(&self.help, 0, MAX_MESSAGE_CHARS).0)
    }
}

/// At most `max` characters of `text` around character `column` (with `…` where text was
/// cut), and the column's position in what is shown.
fn clip(text: &str, column: usize, max: usize) -> (String, usize) {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= max {
        return (text.to_owned(), column);
    }
    let start = column.saturating_sub(max / 2).min(chars.len() - max);
    let end = start + max;
    let mut shown = String::new();
    let mut column = column - start;
    if start > 0 {
        shown.push('…');
        column += 1;
    }
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push('…');
    }
    (shown, column)
}

/// serde's words for the expected kind of value, in TOML's: `struct AppConfig` is a table,
/// a `sequence` an array, `u32` a whole number.
fn in_toml_terms(message: &str) -> String {
    let mut out = message
        .replace("invalid type: sequence", "invalid type: array")
        .replace("invalid type: map", "invalid type: table")
        .replace("expected a sequence", "expected an array")
        .replace("expected a map", "expected a table")
        .replace(
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        )
        .replace("expected a boolean", "expected true or false")
        .replace("expected a string", "expected a quoted string");
    if let Some(at) = out.find("expected struct ") {
        let rest = &out[at + "expected struct ".len()..];
        let name_end = rest
            .find(|c: char| !c.is_alphanumeric())
            .unwrap_or(rest.len());
        out = format!("{}expected a table{}", &out[..at], &rest[name_end..]);
    }
    out
}
