//! Maps between positions in a `shipline.toml` and key paths ([`KeyPath`]), using toml's
//! spanned parse tree: which key an error span belongs to, and where a key path is written.
//! A path is a list of segments, not a dotted string, so quoted keys holding `.` or `[`
//! (`tags."team.name"`) keep their location.

use std::fmt;
use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// One step of a key path: a table key or an array element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// Where a value lives in the file, e.g. `stages[1].name` or `tags."team.name"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Segment>);

impl KeyPath {
    /// This path extended by the table key `key` (taken literally, whatever it contains).
    pub fn key(mut self, key: &str) -> Self {
        self.0.push(Segment::Key(key.to_owned()));
        self
    }

    /// This path extended by array element `index`.
    pub fn index(mut self, index: usize) -> Self {
        self.0.push(Segment::Index(index));
        self
    }
}

/// Paths written by shipline itself (`"stages[1].name"`): dots separate keys and `[i]`
/// indexes. Keys that come from the user are added with [`KeyPath::key`] instead.
impl From<&str> for KeyPath {
    fn from(dotted: &str) -> Self {
        let mut path = KeyPath::default();
        for part in dotted.split('.') {
            match part.strip_suffix(']').and_then(|p| p.split_once('[')) {
                Some((name, index)) => {
                    path = path.key(name);
                    if let Ok(index) = index.parse() {
                        path = path.index(index);
                    }
                }
                None => path = path.key(part),
            }
        }
        path
    }
}

impl From<&String> for KeyPath {
    fn from(dotted: &String) -> Self {
        KeyPath::from(dotted.as_str())
    }
}

impl From<String> for KeyPath {
    fn from(dotted: String) -> Self {
        KeyPath::from(dotted.as_str())
    }
}

/// TOML's own spelling: bare keys as they are, other keys quoted, indexes in brackets.
impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !key.is_empty()
                        && key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if bare {
                        f.write_str(key)?;
                    } else {
                        write!(f, "{key:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The path of the innermost key whose key or value contains `span`.
pub fn key_at(text: &str, span: &Range<usize>) -> Option<KeyPath> {
    let root = DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    descend(root.get_ref(), span, &mut path);
    (!path.is_empty()).then_some(KeyPath(path))
}

fn descend(table: &DeTable<'_>, span: &Range<usize>, path: &mut Vec<Segment>) {
    let contains = |r: Range<usize>| r.start <= span.start && span.start < r.end.max(r.start + 1);
    for (key, value) in table.iter() {
        let name = || Segment::Key(key.get_ref().to_string());
        if contains(key.span()) {
            path.push(name());
            return;
        }
        let in_value = contains(value.span());
        if let DeValue::Table(inner) = value.get_ref() {
            // A `[section]`'s value span may cover only its header; look inside either way.
            let mut inner_path = Vec::new();
            descend(inner, span, &mut inner_path);
            if in_value || !inner_path.is_empty() {
                path.push(name());
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
                    path.push(name());
                    path.push(Segment::Index(i));
                    path.extend(inner_path);
                    return;
                }
            }
            if in_value {
                path.push(name());
                return;
            }
        } else if in_value {
            path.push(name());
            return;
        }
    }
}

/// The span of the value at `path` (or of the deepest table or array on the path that exists,
/// so a missing key still points at its section).
pub fn span_of(text: &str, path: &KeyPath) -> Option<Range<usize>> {
    let root = DeTable::parse(text).ok()?;
    let mut current: Option<&DeValue<'_>> = None;
    let mut table = root.get_ref();
    let mut found = None;
    for segment in &path.0 {
        let (span, value) = match (segment, current) {
            (Segment::Key(name), _) => {
                let (key, value) = table.iter().find(|(k, _)| k.get_ref().as_ref() == name)?;
                match value.get_ref() {
                    // A table points at its header; other values at themselves.
                    DeValue::Table(_) => (key.span(), value.get_ref()),
                    _ => (value.span(), value.get_ref()),
                }
            }
            (Segment::Index(i), Some(DeValue::Array(items))) => match items.get(*i) {
                Some(item) => (item.span(), item.get_ref()),
                None => break,
            },
            (Segment::Index(_), _) => break,
        };
        found = Some(span);
        current = Some(value);
        match value {
            DeValue::Table(inner) => table = inner,
            DeValue::Array(_) => {}
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
