//! Maps between positions in a `shipline.toml` and dotted key paths, using toml's spanned
//! parse tree: which key an error span belongs to, and where a key path is written.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// The dotted path of the innermost key whose key or value contains `span`.
pub fn key_at(text: &str, span: &Range<usize>) -> Option<String> {
    let root = DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    descend(root.get_ref(), span, &mut path);
    (!path.is_empty()).then(|| path.join("."))
}

fn descend(table: &DeTable<'_>, span: &Range<usize>, path: &mut Vec<String>) {
    let contains = |r: Range<usize>| r.start <= span.start && span.start < r.end.max(r.start + 1);
    for (key, value) in table.iter() {
        if contains(key.span()) {
            path.push(key.get_ref().to_string());
            return;
        }
        let in_value = contains(value.span());
        if let DeValue::Table(inner) = value.get_ref() {
            // A `[section]`'s value span may cover only its header; look inside either way.
            let mut inner_path = Vec::new();
            descend(inner, span, &mut inner_path);
            if in_value || !inner_path.is_empty() {
                path.push(key.get_ref().to_string());
                path.extend(inner_path);
                return;
            }
        } else if let DeValue::Array(items) = value.get_ref() {
            // `[[stages]]` entries and inline lists: name the element, `stages[1].name`.
            for (i, item) in items.iter().enumerate() {
                let mut inner_path = Vec::new();
                if let DeValue::Table(inner) = item.get_ref() {
                    descend(inner, span, &mut inner_path);
                }
                if contains(item.span()) || !inner_path.is_empty() {
                    path.push(format!("{}[{i}]", key.get_ref()));
                    path.extend(inner_path);
                    return;
                }
            }
            if in_value {
                path.push(key.get_ref().to_string());
                return;
            }
        } else if in_value {
            path.push(key.get_ref().to_string());
            return;
        }
    }
}

/// The span of the value at a dotted key path (or of the deepest table on the path that
/// exists, so a missing key still points at its section).
pub fn span_of(text: &str, path: &str) -> Option<Range<usize>> {
    let root = DeTable::parse(text).ok()?;
    let mut table = root.get_ref();
    let mut found = None;
    for part in path.split('.') {
        // `name[i]`: element i of an array (`[[stages]]` or an inline list).
        let (name, index) = match part.strip_suffix(']').and_then(|p| p.split_once('[')) {
            Some((name, index)) => (name, index.parse::<usize>().ok()),
            None => (part, None),
        };
        let (key, value) = table.iter().find(|(k, _)| k.get_ref().as_ref() == name)?;
        let (span, value) = match (index, value.get_ref()) {
            (Some(i), DeValue::Array(items)) => match items.get(i) {
                Some(item) => (item.span(), item.get_ref()),
                None => return Some(value.span()),
            },
            (_, DeValue::Table(_)) => (key.span(), value.get_ref()),
            _ => (value.span(), value.get_ref()),
        };
        found = Some(span);
        match value {
            DeValue::Table(inner) => table = inner,
            _ => break,
        }
    }
    found
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
