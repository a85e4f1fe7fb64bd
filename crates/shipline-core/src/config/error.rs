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

    /// Bytes that are not UTF-8: TOML files are UTF-8 text. Located at the first bad byte.
    pub(super) fn not_utf8(file: &str, bytes: &[u8], err: &std::str::Utf8Error) -> Self {
        let help = format!(
            "TOML files are UTF-8: save {file} as UTF-8 (e.g. `iconv -f latin1 -t utf-8`), or check that --config names your shipline.toml"
        );
        if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
            return ConfigError::at(
                file,
                "",
                None,
                None,
                "the file is UTF-16 text, not UTF-8".to_owned(),
                format!(
                    "TOML files are UTF-8: save {file} as UTF-8 (e.g. `iconv -f utf-16 -t utf-8`)"
                ),
            );
        }
        let offset = err.valid_up_to();
        let text = String::from_utf8_lossy(bytes);
        ConfigError::at(
            file,
            &text,
            Some(offset),
            None,
            format!(
                "the file is not UTF-8 text: byte 0x{:02X} at offset {offset} is not valid UTF-8",
                bytes[offset]
            ),
            help,
        )
    }

    pub(super) fn from_toml(file: &str, text: &str, err: &toml::de::Error) -> Self {
        let span = err.span();
        let mut key = span.as_ref().and_then(|s| locate::key_at(text, s));
        let mut message = in_toml_terms(err.message().trim());
        let allowed = key.as_ref().and_then(allowed_values);
        // A number, array or table where a word from a fixed list belongs.
        if let Some(values) = &allowed
            && message.starts_with("wanted string or table")
        {
            message = format!(
                "invalid type: expected one of {} (a quoted string)",
                values.join(", ")
            );
        }
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
        } else if let Some(values) = allowed.as_ref().filter(|_| {
            message.starts_with("unknown variant") || message.starts_with("invalid type")
        }) {
            use_one_of(key.as_ref(), values)
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
        } else if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(field, _)| field)
        {
            let table = key
                .as_ref()
                .map_or("this table".to_owned(), |k| format!("[{k}]"));
            format!(
                "add `{field} = ...` to {table}: the key is required there (the README's configuration reference describes it)"
            )
        } else if let Some(format) = pasted_format(text) {
            match format {
                "JSON" => "shipline.toml is TOML, not JSON: write {\"app\": {\"name\": \"orders\"}} as a line `[app]` followed by `name = \"orders\"` (the README's configuration reference shows every key)".to_owned(),
                _ => "shipline.toml is TOML, not YAML: write `app:` / `  name: orders` as a line `[app]` followed by `name = \"orders\"` (the README's configuration reference shows every key)".to_owned(),
            }
        } else if message.starts_with("string values must be quoted") {
            unquoted_help(text, span.as_ref().map_or(0, |s| s.start))
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

/// The values an enum key accepts (`source.trigger`: `webhook`, `connection`), as serde's derive
/// lists them: the config types are the one source.
fn allowed_values(key: &KeyPath) -> Option<Vec<String>> {
    use super::{ExecutionState, ScanGate, Severity, Trigger};
    use locate::Segment::{Index, Key};
    let names: Vec<&str> = key
        .0
        .iter()
        .filter_map(|segment| match segment {
            Key(name) => Some(name.as_str()),
            Index(_) => None,
        })
        .collect();
    let expected = match names.as_slice() {
        ["source", "trigger"] => variants::<Trigger>(),
        ["scan", "gate"] => variants::<ScanGate>(),
        ["scan", "severity"] => variants::<Severity>(),
        ["notifications", "on"] if matches!(key.0.last(), Some(Index(_))) => {
            variants::<ExecutionState>()
        }
        _ => return None,
    }?;
    Some(
        expected
            .trim_start_matches("one of ")
            .split(", ")
            .flat_map(|part| part.split(" or "))
            .map(|value| value.trim().replace('`', "\""))
            .filter(|value| !value.is_empty())
            .collect(),
    )
}

/// What serde's derive says an enum expects (e.g. "`webhook` or `connection`").
fn variants<'de, T: serde::Deserialize<'de>>() -> Option<String> {
    use serde::de::IntoDeserializer;
    let deserializer: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        "\u{0}".into_deserializer();
    let err = T::deserialize(deserializer).err()?.to_string();
    err.split_once(", expected ")
        .map(|(_, expected)| expected.to_owned())
}

/// "use one of ...", with the value written as TOML wants it.
fn use_one_of(key: Option<&KeyPath>, values: &[String]) -> String {
    let first = values.first().map_or("", String::as_str);
    let example = match key.map(|k| k.0.as_slice()) {
        Some([.., locate::Segment::Key(name), locate::Segment::Index(_)]) => {
            format!(", e.g. {name} = [{first}]")
        }
        Some([.., locate::Segment::Key(name)]) => format!(", e.g. {name} = {first}"),
        _ => String::new(),
    };
    format!("use one of {}{example}", values.join(", "))
}

/// A bare word where a string belongs: the fix is quotes (and for an enum key, its values).
fn unquoted_help(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or_default();
    let Some((key, value)) = line.split_once('=') else {
        return "put the value in double quotes, e.g. name = \"orders\"".to_owned();
    };
    let key = key.trim();
    let value = value.split('#').next().unwrap_or_default().trim();
    // The table the line is in: the nearest header above it.
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|header| {
            let inner = header.trim_start_matches('[');
            inner[..inner.find(']').unwrap_or(inner.len())]
                .trim()
                .to_owned()
        });
    let path = match table {
        Some(table) => format!("{table}.{key}"),
        None => key.to_owned(),
    };
    match allowed_values(&KeyPath::from(path.as_str())) {
        Some(values) => use_one_of(Some(&KeyPath::from(key)), &values).replacen(
            "use one of",
            "put the value in double quotes: one of",
            1,
        ),
        None => format!("put the value in double quotes: {key} = \"{value}\""),
    }
}

/// "JSON" or "YAML" when `text` (which TOML could not read) looks like one of them: JSON opens
/// with `{`; YAML with `---` or `key:` lines that have no `=`.
fn pasted_format(text: &str) -> Option<&'static str> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))?;
    if first.starts_with('{') {
        return Some("JSON");
    }
    let yaml_key = |line: &str| {
        line.split_once(':').is_some_and(|(key, rest)| {
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && (rest.is_empty() || rest.starts_with(' '))
        }) && !line.contains('=')
    };
    (first == "---" || first.starts_with("- ") || yaml_key(first)).then_some("YAML")
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

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    fn error(text: &str) -> ConfigError {
        Config::parse("shipline.toml", text).unwrap_err()
    }

    #[test]
    fn an_unknown_or_mistyped_enum_value_lists_the_values_not_toml_syntax() {
        for text in [
            "[source]\ntrigger = \"push\"\n",
            "[source]\ntrigger = 3\n",
            "[source]\ntrigger = push\n",
        ] {
            let err = error(text);
            assert!(
                err.help.contains("\"webhook\", \"connection\""),
                "{text}: {err}"
            );
            assert!(!err.help.contains("TOML syntax"), "{text}: {err}");
        }
        let err = error("[notifications]\non = [\"PUSHED\"]\n");
        assert!(err.help.contains("e.g. on = [\"FAILED\"]"), "{err}");
        let err = error("[scan]\ngate = \"deep\"\n");
        assert_eq!(
            err.help,
            "use one of \"basic\", \"inspector\", e.g. gate = \"basic\""
        );
        let err = error("[build]\ndockerfile = Dockerfile\n");
        assert_eq!(
            err.help,
            "put the value in double quotes: dockerfile = \"Dockerfile\""
        );
    }

    #[test]
    fn yaml_or_json_gets_a_hint_that_the_file_is_toml() {
        for (text, format) in [
            ("app:\n  name: orders\n", "not YAML"),
            ("# pipeline\n---\napp:\n  name: x\n", "not YAML"),
            ("{\"app\": {\"name\": \"orders\"}}\n", "not JSON"),
        ] {
            let err = error(text);
            assert!(err.help.contains(format), "{text}: {err}");
            assert!(err.help.contains("`[app]`"), "{err}");
        }
        // Plain TOML syntax errors keep the syntax help.
        let err = error("[app]\nname = \"x\nx\n");
        assert!(err.help.contains("TOML syntax"), "{err}");
        assert_eq!(pasted_format("[app]\nname: x\n"), None);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_named_with_their_offset() {
        let bytes = b"[app]\nname = \"caf\xe9\"\n".to_vec();
        let err = std::str::from_utf8(&bytes).unwrap_err();
        let err = ConfigError::not_utf8("shipline.toml", &bytes, &err);
        assert_eq!(
            err.message,
            "the file is not UTF-8 text: byte 0xE9 at offset 17 is not valid UTF-8"
        );
        assert_eq!(err.position, Some((2, 12)));
        assert!(!err.help.contains("permissions"), "{err}");
        let utf16 = b"\xff\xfe[\0a\0".to_vec();
        let err = std::str::from_utf8(&utf16).unwrap_err();
        let err = ConfigError::not_utf8("shipline.toml", &utf16, &err);
        assert!(err.message.contains("UTF-16"), "{err}");
    }
}
