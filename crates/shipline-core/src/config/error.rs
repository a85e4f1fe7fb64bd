//! [`ConfigError`]: one problem in a config file, with its location and a fix.

use std::fmt;

use super::locate;

/// A config problem found by validation, before it is given a location in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `logs.retention_days`.
    pub key: String,
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
            "run `shipline init` to write a commented config, or delete the file to use the embedded default pipeline".to_owned(),
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
        let key = span.as_ref().and_then(|s| locate::key_at(text, s));
        let message = err.message().trim().to_owned();
        let help = if message.starts_with("unknown field") {
            "remove the key or correct its spelling: shipline rejects keys it does not know, so a typo is never silently ignored"
        } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
            "change the value to the type shown after `expected`"
        } else if message.starts_with("duplicate key") {
            "keep one of the two definitions"
        } else {
            "fix the TOML syntax at the marked position (see https://toml.io)"
        };
        ConfigError::at(
            file,
            text,
            span.map(|s| s.start),
            key,
            message,
            help.to_owned(),
        )
    }

    pub(super) fn from_problem(file: &str, text: &str, problem: Problem) -> Self {
        let offset = locate::span_of(text, &problem.key).map(|s| s.start);
        ConfigError::at(
            file,
            text,
            offset,
            Some(problem.key),
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
            write!(f, "`{key}`: ")?;
        }
        writeln!(f, "{}", self.message)?;
        if let (Some((line, column)), Some(source)) = (self.position, &self.source_line) {
            let gutter = " ".repeat(line.to_string().len());
            writeln!(f, "{gutter} |")?;
            writeln!(f, "{line} | {source}")?;
            writeln!(f, "{gutter} | {}^", " ".repeat(column - 1))?;
        }
        write!(f, "help: {}", self.help)
    }
}
