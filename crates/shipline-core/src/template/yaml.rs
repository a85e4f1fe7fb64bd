//! The YAML renderer. CloudFormation reads YAML 1.1, where plain `yes`, `off`, `1_000`, `1:20`,
//! `=` or `<<` are not strings; a YAML 1.2 emitter (serde's) leaves such scalars unquoted and
//! changes their meaning. This renderer writes a string plain only when it starts with a
//! letter or `/` and holds nothing YAML 1.1 could resolve to another type or read as syntax;
//! everything else is single-quoted, or double-quoted with JSON escapes when it holds control
//! characters. Multi-line strings (the buildspec, inline Python) are literal blocks, so they
//! read as written. Block style throughout, keys in the order of the value (sorted by the
//! template model), so output is deterministic.

use serde_json::Value;

/// `value` as a YAML document (ends in a newline).
pub fn render(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_list(&mut out, items, 0),
        scalar => {
            out.push_str(&inline(scalar, 0));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            push_indent(out, indent);
        }
        out.push_str(&scalar_string(key, indent));
        out.push(':');
        write_nested(out, value, indent);
    }
}

fn write_list(out: &mut String, items: &[Value], indent: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            push_indent(out, indent);
        }
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => write_map(out, map, indent + 2),
            Value::Array(inner) if !inner.is_empty() => write_list(out, inner, indent + 2),
            scalar => {
                out.push_str(&inline(scalar, indent + 2));
                out.push('\n');
            }
        }
    }
}

/// The value after `key:`: on the same line for scalars, below and indented for collections.
fn write_nested(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            push_indent(out, indent + 2);
            write_map(out, map, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            push_indent(out, indent + 2);
            write_list(out, items, indent + 2);
        }
        scalar => {
            out.push(' ');
            out.push_str(&inline(scalar, indent + 2));
            out.push('\n');
        }
    }
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// A scalar (or empty collection) on one line, or a literal block starting on this line.
fn inline(value: &Value, indent: usize) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar_string(s, indent),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

fn scalar_string(s: &str, indent: usize) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else if let Some(block) = literal_block(s, indent) {
        block
    } else if s.chars().all(|c| printable(c) && !is_line_break(c)) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        double_quoted(s)
    }
}

/// YAML 1.1's printable characters (spec 5.1): tab, LF, CR, the visible ASCII range, NEL,
/// and Unicode outside the C0/C1 controls, surrogates and U+FFFE/U+FFFF.
fn printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        || c >= '\u{10000}'
}

/// YAML 1.1's line breaks (spec 5.4): a literal block or a quoted scalar would fold or end
/// the line at any of them, not only at LF.
fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// A double-quoted scalar with YAML's escapes (spec 5.7) for every character that could not
/// stand as itself: line breaks, non-printables, and the quote and backslash.
fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if printable(c) => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02X}", c as u32)),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Words YAML 1.1 resolves to booleans or null (YAML 1.1 types: bool, null), compared
/// case-insensitively so that every spelling is quoted.
const YAML11_WORDS: [&str; 11] = [
    "y", "yes", "n", "no", "true", "false", "on", "off", "null", "nan", "inf",
];

/// Plain (unquoted) only when no YAML 1.1 resolver can claim it and nothing in it is syntax:
/// starts with an ASCII letter or `/` (so never a number, timestamp, `.inf`, `~`, `=`, `<<`, an
/// indicator or a quote), holds only letters, digits, single inner spaces and `_ . / : @ -`,
/// no `: ` or trailing `:` (mapping), and is not one of the 1.1 boolean/null words.
fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " _./:@-".contains(c))
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !s.contains("  ")
        && !YAML11_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

/// A literal block (`|`) for a multi-line string whose every line can be written as is:
/// printable, LF the only line break (CR, NEL, U+2028 and U+2029 also break lines in YAML 1.1), first line not starting with a space (the block's
/// indentation is taken from it). Chomping keeps the trailing newlines exactly.
fn literal_block(s: &str, indent: usize) -> Option<String> {
    let writable = s
        .chars()
        .all(|c| c == '\n' || (printable(c) && !is_line_break(c)));
    if !s.contains('\n') || !writable || s.starts_with([' ', '\n']) {
        return None;
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut block = format!("|{chomp}");
    for line in s
        .split('\n')
        .take(body.split('\n').count() + trailing.saturating_sub(1))
    {
        block.push('\n');
        if !line.is_empty() {
            block.extend(std::iter::repeat_n(' ', indent));
            block.push_str(line);
        }
    }
    Some(block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(value: &Value) -> Value {
        serde_norway::from_str(&render(value)).expect("rendered YAML parses")
    }

    #[test]
    fn yaml_11_scalars_are_quoted() {
        for s in [
            "yes",
            "No",
            "ON",
            "off",
            "y",
            "n",
            "~",
            "null",
            "1_000",
            "1:20",
            "190:20:30",
            "=",
            "<<",
            "0755",
            "0x1F",
            "0o17",
            ".inf",
            "-.5",
            "+1",
            "1e3",
            "2001-12-14",
            "True",
            "",
            " lead",
            "trail ",
            "a: b",
            "a #b",
            "#x",
            "@x",
            "*x",
            "&x",
            "!x",
            "%x",
            "`x",
            "'x",
            "\"x",
            "[x]",
            "{x}",
            "|x",
            ">x",
            "-x",
            "?x",
            ",x",
            "x\ty",
        ] {
            let rendered = render(&json!({ "k": s }));
            assert!(rendered != format!("k: {s}\n"), "{s:?} left plain");
            assert_eq!(round_trip(&json!({ "k": s })), json!({ "k": s }), "{s:?}");
        }
    }

    #[test]
    fn ordinary_values_stay_plain_and_readable() {
        let value = json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Fn::GetAtt": ["ImageRepository", "Arn"],
            "Path": "/aws/codebuild/orders-build",
            "Runtime": "python3.13",
            "Count": 3,
            "On": true,
            "Empty": [],
        });
        let text = render(&value);
        assert!(
            text.contains("Fn::GetAtt:\n  - ImageRepository\n  - Arn\n"),
            "{text}"
        );
        assert!(
            text.contains("Path: /aws/codebuild/orders-build\n"),
            "{text}"
        );
        assert!(
            text.contains("AWSTemplateFormatVersion: '2010-09-09'\n"),
            "{text}"
        );
        assert!(
            text.contains("Count: 3\n") && text.contains("'On': true\n"),
            "{text}"
        );
        assert_eq!(round_trip(&value), value);
    }

    #[test]
    fn multi_line_strings_are_literal_blocks_that_read_back_exactly() {
        for s in [
            "a\nb\n",
            "a\nb",
            "a\n\n  indented\n\n",
            "def f():\n    return 1\n",
            "x\n# not a comment\n",
        ] {
            let value = json!({ "Code": { "ZipFile": s }, "L": [s] });
            let text = render(&value);
            assert!(text.contains("ZipFile: |"), "{text}");
            assert_eq!(round_trip(&value), value, "{s:?}\n{text}");
        }
        // Not representable as a block: falls back to quoting.
        let value = json!({ "k": " a\nb", "c": "a\r\nb" });
        assert_eq!(round_trip(&value), value);
    }

    /// Regression: YAML 1.1 breaks lines at NEL, U+2028 and U+2029 and refuses DEL, the C1
    /// controls and U+FFFE/U+FFFF; JSON's escaping left them raw, so PyYAML misread or refused
    /// the template.
    #[test]
    fn unicode_line_breaks_and_non_printables_are_escaped() {
        for s in [
            "line1\nfoo\u{2028}bar\n",
            "x\n\u{2029}y",
            "a\u{7f}b",
            "a\u{80}b",
            "a\u{85}b",
            "a\u{2028}  b",
            "a\u{ffff}b",
            "tab\there",
            "quote\" and \\ backslash",
        ] {
            let text = render(&json!({ "k": s }));
            assert!(
                !text.contains([
                    '\u{7f}', '\u{80}', '\u{85}', '\u{2028}', '\u{2029}', '\u{ffff}'
                ]),
                "{s:?} written raw: {text}"
            );
            assert_eq!(
                round_trip(&json!({ "k": s })),
                json!({ "k": s }),
                "{s:?}: {text}"
            );
        }
    }

    /// YAML 1.1's implicit resolvers (the regular expressions of PyYAML's `resolver.py`, which
    /// implements the 1.1 type repository): a plain scalar matching one is not a string.
    fn resolved_by_yaml_11(s: &str) -> bool {
        const RESOLVERS: [&str; 7] = [
            r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
            r"^(?:<<)$",
            r"^(?:~|null|Null|NULL|)$",
            r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
            r"^(?:=)$",
        ];
        RESOLVERS
            .iter()
            .any(|pattern| regex_lite::Regex::new(pattern).unwrap().is_match(s))
    }

    #[test]
    fn the_resolver_table_recognises_what_it_should() {
        for s in [
            "yes",
            "Off",
            "1_000",
            "1:20",
            "0755",
            "0x1F",
            "=",
            "<<",
            "~",
            "",
            "2001-12-14",
            ".inf",
            "1.5",
        ] {
            assert!(resolved_by_yaml_11(s), "{s}");
        }
        assert!(!resolved_by_yaml_11("orders"));
    }

    proptest::proptest! {
        /// No string written plain is one YAML 1.1 would resolve to another type, and every
        /// string reads back as itself.
        #[test]
        fn plain_scalars_are_strings_under_yaml_11(s in "[ -~\n\u{e9}\u{301}\u{85}\u{2028}\u{7f}\u{9f}]{0,12}") {
            if is_plain_safe(&s) {
                proptest::prop_assert!(!resolved_by_yaml_11(&s), "{:?} written plain", s);
            }
            let value = json!({ "k": s, "l": [s] });
            proptest::prop_assert_eq!(round_trip(&value), value);
        }

        #[test]
        fn words_made_of_yaml_special_pieces_are_never_left_plain(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "y", "Y", "n", "on", "Off", "yes", "NO", "true", "null", "0", "1", "_", ":", ".", "-", "+",
                "e", "x", "b", "o", "inf", "nan", "~", "=", "<", "2001", "12", "T", " ",
            ]), 1..6)
        ) {
            let s: String = parts.concat();
            if is_plain_safe(&s) {
                proptest::prop_assert!(!resolved_by_yaml_11(&s), "{:?} written plain", s);
            }
        }
    }
}
