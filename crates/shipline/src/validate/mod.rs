//! Policy rules over a CloudFormation template, evaluated in process by AWS CloudFormation
//! Guard (the `cfn-guard` crate, through its validate command: `ValidateBuilder` …
//! `execute`): the built-in rule pack ([`BUILTIN`]: `rules/*.guard`, one rule per file, each
//! opening with a comment saying what it checks, why and how to fix it, and each with a
//! passing and a failing template in `fixtures/`) and the user's own rule files ([`load`]).
//!
//! Findings are data ([`Finding`]: rule, resource, property path, message, fix); a rule file
//! Guard cannot parse or evaluate, or a template it cannot read, is an [`Error`] that names
//! the file. Nothing here knows about the command line or AWS.

use std::borrow::Cow;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use cfn_guard::commands::Executable;
use cfn_guard::commands::validate::{OutputFormatType, ShowSummaryType};
use cfn_guard::utils::reader::{ReadBuffer, Reader};
use cfn_guard::utils::writer::{WriteBuffer, Writer};
use cfn_guard::{CommandBuilder, ValidateBuilder};
use serde::Serialize;
use serde_json::{Value, json};

macro_rules! rule {
    ($name:literal) => {
        (
            concat!($name, ".guard"),
            include_str!(concat!("rules/", $name, ".guard")),
        )
    };
}

/// The built-in rule pack: (file name, Guard source). One rule per file, named as the file.
pub const BUILTIN: &[(&str, &str)] = &[
    rule!("s3_bucket_encrypted"),
    rule!("s3_bucket_versioned"),
    rule!("s3_bucket_public_access_blocked"),
    rule!("s3_bucket_tls_only"),
    rule!("logs_retention"),
    rule!("iam_least_privilege"),
    rule!("iam_trust_confused_deputy"),
    rule!("iam_pass_role_scoped"),
    rule!("resources_tagged"),
    rule!("ecr_scan_and_lifecycle"),
    rule!("sns_topic_encrypted"),
];

/// The line of `resources_tagged.guard` that becomes one clause per tag key of the config
/// when shipline synthesizes the template ([`builtin`]).
const TAG_KEYS_MARKER: &str = "# (config tag keys)";

/// Extensions of rule files found in a `--rules` directory (as the cfn-guard CLI reads them).
const RULE_EXTENSIONS: &[&str] = &["guard", "ruleset"];

/// One rule file: the built-in pack's or the user's.
#[derive(Debug, Clone)]
pub struct RuleFile {
    /// The file name for a built-in rule; the path as given (or found in a directory) for a
    /// user's rule file.
    pub file: String,
    pub source: Cow<'static, str>,
    pub builtin: bool,
    /// The names of the rules the file declares (`rule <name> ...`), in order.
    pub rules: Vec<String>,
    pub doc: RuleDoc,
}

/// The `What:` / `Why:` / `Fix:` paragraphs of a rule file's opening comment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleDoc {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// A rule as reports list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    pub id: String,
    pub file: String,
    pub builtin: bool,
    #[serde(flatten)]
    pub doc: RuleDoc,
}

/// One place where the template breaks one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The Guard rule's name.
    pub rule: String,
    /// The rule file it is declared in.
    pub file: String,
    /// Whether that is a file of the built-in pack.
    pub builtin: bool,
    /// The resource's logical id, when the failing value lies under `Resources`.
    pub resource: Option<String>,
    /// The resource's type, when the template could be read here.
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    /// Where in the resource (`Properties.BucketEncryption`), or in the template when there
    /// is no resource; empty for the resource itself.
    pub path: String,
    /// The rule's message for this check, else Guard's.
    pub message: String,
    /// How to fix it (the rule file's `Fix:` paragraph).
    pub fix: Option<String>,
    /// Guard's own account of the failed check.
    pub detail: Option<String>,
}

/// What one evaluation found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub rules: Vec<RuleInfo>,
    pub findings: Vec<Finding>,
    /// How many resources the template has (when it could be read here).
    pub resources: Option<usize>,
}

/// A rule file or template that could not be used; never a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A rule file is missing, unreadable, not Guard, or fails to evaluate.
    Rules { file: String, message: String },
    /// Guard cannot read the template.
    Template { message: String },
}

/// Guard's error text on one line, without its "Parser Error when parsing `...`" wrapping.
fn clean(message: &str) -> String {
    let message = message.trim();
    let message = message
        .strip_prefix("Parser Error when parsing `")
        .and_then(|m| m.strip_suffix('`'))
        .unwrap_or(message);
    let message = message.strip_prefix("Parsing Error ").unwrap_or(message);
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Rules { file, message } => write!(f, "rule file {file}: {message}"),
            Error::Template { message } => write!(f, "the template: {message}"),
        }
    }
}

/// The built-in pack, parsed for its rule names and docs. With `required_tag_keys` (the
/// config's, when the template is synthesized from it), `resources_tagged` also requires each
/// of those keys on every taggable resource.
pub fn builtin(required_tag_keys: &[&str]) -> Vec<RuleFile> {
    BUILTIN
        .iter()
        .map(|(file, source)| {
            let source = match source.find(TAG_KEYS_MARKER) {
                Some(at) if !required_tag_keys.is_empty() => {
                    Cow::Owned(with_tag_keys(source, at, required_tag_keys))
                }
                _ => Cow::Borrowed(*source),
            };
            RuleFile::new((*file).to_owned(), source, true)
        })
        .collect()
}

/// `source` with the marker line at `at` replaced by a check of each key.
fn with_tag_keys(source: &str, at: usize, keys: &[&str]) -> String {
    let line_start = source[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[at..].find('\n').map_or(source.len(), |i| at + i);
    let mut clauses = String::from("    %taggable[ Properties.Tags !empty ] {\n");
    for key in keys {
        // Config tag keys hold letters, digits, spaces and `_ . : / = + - @` only; escaping
        // the quote (Guard's one string escape) keeps any other key a string all the same.
        let quoted = key.replace('\'', "\\'");
        let shown = key.replace(">>", "> >");
        clauses.push_str(&format!(
            "        some Properties.Tags[*].Key == '{quoted}'\n        <<the tag {shown} from the config is missing>>\n"
        ));
    }
    clauses.push_str("    }");
    format!("{}{clauses}{}", &source[..line_start], &source[line_end..])
}

impl RuleFile {
    fn new(file: String, source: Cow<'static, str>, builtin: bool) -> Self {
        let rules = rule_names(&source);
        let doc = parse_doc(&source);
        RuleFile {
            file,
            source,
            builtin,
            rules,
            doc,
        }
    }

    /// Parses the file with Guard's parser: a syntax error, or a file without rules, is an
    /// error naming the file.
    fn check(&self) -> Result<(), Error> {
        let failed = |message: String| Error::Rules {
            file: self.file.clone(),
            message,
        };
        let parsed = std::panic::catch_unwind(|| {
            cfn_guard::commands::validate::parse_rules(&self.source, &self.file)
                .map(|rules| rules.is_some())
                .map_err(|err| err.to_string())
        })
        .map_err(|_| failed("Guard's parser panicked on this file".into()))?;
        match parsed {
            Ok(true) if !self.rules.is_empty() => Ok(()),
            Ok(_) => Err(failed("declares no rule (`rule <name> { ... }`)".into())),
            Err(message) => Err(failed(clean(&message))),
        }
    }
}

/// The user's rule files: each path a file (any name), or a directory searched recursively for
/// `*.guard` and `*.ruleset` files (sorted by path). Every file is parsed here, so a broken one
/// is reported by name before anything is evaluated.
pub fn load(paths: &[PathBuf]) -> Result<Vec<RuleFile>, Error> {
    let mut files = Vec::new();
    for path in paths {
        let unreadable = |err: std::io::Error| Error::Rules {
            file: path.display().to_string(),
            message: err.to_string(),
        };
        let metadata = std::fs::metadata(path).map_err(unreadable)?;
        let found = if metadata.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found).map_err(unreadable)?;
            found.sort();
            if found.is_empty() {
                return Err(Error::Rules {
                    file: path.display().to_string(),
                    message: "the directory holds no .guard or .ruleset file".into(),
                });
            }
            found
        } else {
            vec![path.clone()]
        };
        for file in found {
            let source = std::fs::read_to_string(&file).map_err(|err| Error::Rules {
                file: file.display().to_string(),
                message: err.to_string(),
            })?;
            let rule_file = RuleFile::new(file.display().to_string(), Cow::Owned(source), false);
            rule_file.check()?;
            files.push(rule_file);
        }
    }
    Ok(files)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| RULE_EXTENSIONS.contains(&e))
        {
            found.push(path);
        }
    }
    Ok(())
}

/// Evaluates `rules` against `data` (a template, JSON or YAML, as Guard reads it: short-form
/// tags such as `!Ref` included) in one Guard run.
pub fn evaluate(data: &str, rules: &[RuleFile]) -> Result<Report, Error> {
    let document = shipline_core::template::parse_document(data).ok();
    let findings = match run_guard(data, rules) {
        Ok(output) => findings(&output, rules, document.as_ref()),
        Err(message) => return Err(blame(data, rules, message)),
    };
    Ok(Report {
        rules: rules
            .iter()
            .flat_map(|file| {
                file.rules.iter().map(|id| RuleInfo {
                    id: id.clone(),
                    file: file.file.clone(),
                    builtin: file.builtin,
                    doc: file.doc.clone(),
                })
            })
            .collect(),
        findings,
        resources: document
            .as_ref()
            .and_then(|d| d["Resources"].as_object())
            .map(|r| r.len()),
    })
}

/// After a failed run: the template, when Guard cannot read it even with a trivial rule;
/// else the first rule file that fails on its own.
fn blame(data: &str, rules: &[RuleFile], message: String) -> Error {
    let probe = RuleFile::new(
        "probe".into(),
        Cow::Borrowed("let probe = 1\nrule shipline_probe { %probe == 1 }\n"),
        true,
    );
    if let Err(message) = run_guard(data, std::slice::from_ref(&probe)) {
        return Error::Template {
            message: clean(&message.replace("DATA_STDIN[1]", "the template")),
        };
    }
    let culprit = rules.iter().find_map(|file| {
        run_guard(data, std::slice::from_ref(file))
            .err()
            .map(|message| (file, message))
    });
    match culprit {
        Some((file, message)) => Error::Rules {
            file: file.file.clone(),
            message: clean(&message.replace("RULES_STDIN[1]", &file.file)),
        },
        None => Error::Template {
            message: clean(&message),
        },
    }
}

/// One run of Guard's validate command on a payload of rules and data; its structured JSON
/// report, or what went wrong.
fn run_guard(data: &str, rules: &[RuleFile]) -> Result<Value, String> {
    let payload = json!({
        "rules": rules.iter().map(|r| r.source.as_ref()).collect::<Vec<_>>(),
        "data": [data],
    });
    let command = ValidateBuilder::default()
        .payload(true)
        .structured(true)
        .output_format(OutputFormatType::JSON)
        .show_summary(vec![ShowSummaryType::None])
        .try_build()
        .map_err(|err| err.to_string())?;
    let mut reader = Reader::new(ReadBuffer::Cursor(Cursor::new(
        serde_json::to_vec(&payload).expect("payload JSON"),
    )));
    let mut writer =
        Writer::new_with_err(WriteBuffer::Vec(Vec::new()), WriteBuffer::Vec(Vec::new()))
            .map_err(|err| err.to_string())?;
    let status = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        command.execute(&mut writer, &mut reader)
    }))
    .map_err(|_| "Guard panicked while evaluating".to_owned())?
    .map_err(|err| err.to_string())?;
    // 0 every rule passed, 19 some failed, 5 an error (already written to the error buffer).
    match status {
        0 | 19 => {
            let text = writer.into_string().map_err(|err| err.to_string())?;
            serde_json::from_str(&text).map_err(|err| format!("unreadable Guard report: {err}"))
        }
        _ => Err(writer
            .err_to_stripped()
            .map(|text| text.trim().trim_end_matches("---").trim().to_owned())
            .unwrap_or_else(|err| err.to_string())),
    }
}

/// The findings of Guard's structured report, in the order of the rule files and of the rules
/// in each, then by resource, path and message; each once.
fn findings(report: &Value, rules: &[RuleFile], document: Option<&Value>) -> Vec<Finding> {
    let mut findings: Vec<((usize, usize), Finding)> = Vec::new();
    let reports = report.as_array().map(Vec::as_slice).unwrap_or_default();
    for failure in reports.iter().flat_map(|r| iter(&r["not_compliant"])) {
        let Some(rule) = failure.get("Rule") else {
            continue;
        };
        let name = rule["name"].as_str().unwrap_or_default().to_owned();
        let (order, file) = rules
            .iter()
            .enumerate()
            .find_map(|(i, f)| {
                let at = f.rules.iter().position(|r| *r == name)?;
                Some(((i, at), f))
            })
            .map_or(((usize::MAX, 0), None), |(order, f)| (order, Some(f)));
        let mut leaves = Vec::new();
        collect(rule, None, &mut leaves);
        if leaves.is_empty() {
            // Guard can fail a rule without naming a failed clause (e.g. through named or
            // parameterized rules whose checks it does not record): still one finding, on the
            // template, so a failing rule is never silent.
            let message = first_message(rule)
                .or_else(|| file.and_then(|f| f.doc.what.clone()))
                .unwrap_or_else(|| "the rule failed (Guard names no failed check)".to_owned());
            leaves.push(Leaf {
                path: String::new(),
                value: None,
                message,
                detail: None,
            });
        }
        for leaf in leaves {
            let (resource, path) = locate(&leaf.path, leaf.value);
            let resource_type = resource.as_ref().and_then(|id| {
                document?["Resources"][id]["Type"]
                    .as_str()
                    .map(str::to_owned)
            });
            let finding = Finding {
                rule: name.clone(),
                file: file.map(|f| f.file.clone()).unwrap_or_default(),
                builtin: file.is_some_and(|f| f.builtin),
                resource,
                resource_type,
                path,
                message: leaf.message,
                fix: file.and_then(|f| f.doc.fix.clone()),
                detail: leaf.detail,
            };
            // Guard reports a clause once per value that reached it (and a block's clauses
            // once per enclosing value).
            let duplicate = findings.iter().any(|(_, f)| {
                f.rule == finding.rule
                    && f.resource == finding.resource
                    && f.path == finding.path
                    && f.message == finding.message
            });
            if !duplicate {
                findings.push((order, finding));
            }
        }
    }
    findings.sort_by(|(a, x), (b, y)| {
        (a, &x.resource, &x.path, &x.message).cmp(&(b, &y.resource, &y.path, &y.message))
    });
    findings.into_iter().map(|(_, f)| f).collect()
}

fn iter(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

/// One failed check: where (a Guard path such as `/Resources/Bucket/Properties/Tags`, and the
/// value there), and what it says.
struct Leaf<'a> {
    path: String,
    value: Option<&'a Value>,
    message: String,
    detail: Option<String>,
}

/// The failed checks under a report node (a rule, a block, a disjunction or a clause);
/// `fallback` is the message of the nearest enclosing rule.
fn collect<'a>(node: &'a Value, fallback: Option<&str>, leaves: &mut Vec<Leaf<'a>>) {
    let text = |messages: &Value, key: &str| {
        messages[key]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if node.get("checks").is_some() {
        // A rule (the top one, or a named rule it references) or a disjunction.
        let message = text(&node["messages"], "custom_message");
        let fallback = message.as_deref().or(fallback);
        for check in iter(&node["checks"]) {
            for (kind, inner) in check.as_object().into_iter().flatten() {
                match kind.as_str() {
                    "Rule" | "Block" | "Clause" => collect(inner, fallback, leaves),
                    // `a or b or c <<message>>` failed: one failure, where the first
                    // alternative looked, with the message (Guard gives it to the last one).
                    "Disjunctions" => {
                        let message = first_message(inner);
                        let mut alternatives = Vec::new();
                        collect(inner, message.as_deref().or(fallback), &mut alternatives);
                        leaves.extend(alternatives.into_iter().take(1));
                    }
                    _ => {}
                }
            }
        }
        return;
    }
    // A clause report is {"Unary": {...}} or {"Binary": {...}}; a block report is flat.
    let report = node
        .get("Unary")
        .or_else(|| node.get("Binary"))
        .unwrap_or(node);
    let messages = &report["messages"];
    let detail = text(messages, "error_message");
    let message = text(messages, "custom_message")
        .or_else(|| fallback.map(str::to_owned))
        .or_else(|| detail.clone())
        .unwrap_or_else(|| "the check failed".to_owned());
    let (path, value) = match (report.get("unresolved"), report.get("check")) {
        (Some(unresolved), _) if !unresolved.is_null() => missing(unresolved),
        (_, Some(check)) => {
            let (state, check) = check
                .as_object()
                .and_then(|o| o.iter().next())
                .map_or(("", &Value::Null), |(k, v)| (k.as_str(), v));
            match state {
                "Resolved" | "InResolved" => {
                    let at = check.get("value").or_else(|| check.get("from"));
                    (
                        at.and_then(|v| v["path"].as_str())
                            .unwrap_or_default()
                            .to_owned(),
                        at.map(|v| &v["value"]),
                    )
                }
                "UnResolved" => missing(&check["value"]),
                _ => (String::new(), None),
            }
        }
        _ => (String::new(), None),
    };
    leaves.push(Leaf {
        path,
        value,
        message,
        detail,
    });
}

/// The first message a rule report or any report under it carries.
fn first_message(node: &Value) -> Option<String> {
    match node {
        Value::Object(map) => {
            let own = map
                .get("messages")
                .and_then(|m| m["custom_message"].as_str())
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_owned);
            own.or_else(|| map.values().find_map(first_message))
        }
        Value::Array(items) => items.iter().find_map(first_message),
        _ => None,
    }
}

/// Where a missing value should be: the path Guard got to, then the rest of the query
/// (`Condition.*.aws:SourceArn`).
fn missing(unresolved: &Value) -> (String, Option<&Value>) {
    let reached = unresolved["traversed_to"]["path"]
        .as_str()
        .unwrap_or_default();
    let rest = unresolved["remaining_query"].as_str().unwrap_or_default();
    let rest = rest.trim_start_matches(['.', '/']);
    if rest.is_empty() || rest.starts_with('[') {
        (format!("{reached}{rest}"), None)
    } else {
        (format!("{reached}/{rest}"), None)
    }
}

/// A Guard path as (logical id, property path): `/Resources/Role/Properties/Policies/0` is
/// (`Role`, `Properties.Policies[0]`). A check on a captured resource key (`Resources[ id | ...]`)
/// reports the path `/Resources` with the key as its value.
fn locate(path: &str, value: Option<&Value>) -> (Option<String>, String) {
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    let first = parts.next();
    let rest: Vec<&str> = parts.collect();
    if first == Some("Resources") {
        if let Some((id, rest)) = rest.split_first() {
            return (Some((*id).to_owned()), dotted(rest));
        }
        if let Some(Value::String(id)) = value {
            return (Some(id.clone()), String::new());
        }
    }
    (
        None,
        dotted(&first.into_iter().chain(rest).collect::<Vec<_>>()),
    )
}

fn dotted(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        if part.parse::<usize>().is_ok() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    out
}

/// The names of the rules a Guard file declares (`rule <name>` at the start of a line), once
/// each; not parameterized rules (`rule <name>(...)`), which run only when another rule calls
/// them.
fn rule_names(source: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let found = source
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("rule "))
        .filter_map(|rest| {
            let rest = rest.trim_start();
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let parameterized = rest[name.len()..].trim_start().starts_with('(');
            (!name.is_empty() && !parameterized).then_some(name)
        });
    for name in found {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The `What:`, `Why:` and `Fix:` paragraphs of the file's opening comment (a paragraph goes on
/// over indented comment lines).
fn parse_doc(source: &str) -> RuleDoc {
    const LABELS: [&str; 3] = ["What:", "Why:", "Fix:"];
    let mut paragraphs: [Option<String>; 3] = Default::default();
    let mut current: Option<usize> = None;
    for line in source.lines() {
        let Some(comment) = line.trim_start().strip_prefix('#') else {
            break;
        };
        let text = comment.trim();
        if let Some((index, rest)) = LABELS
            .iter()
            .enumerate()
            .find_map(|(i, label)| text.strip_prefix(label).map(|rest| (i, rest)))
        {
            paragraphs[index] = Some(rest.trim().to_owned());
            current = Some(index);
        } else if text.is_empty() || !comment.starts_with("  ") {
            current = None;
        } else if let Some(paragraph) = current.and_then(|i| paragraphs[i].as_mut()) {
            paragraph.push(' ');
            paragraph.push_str(text);
        }
    }
    let [what, why, fix] = paragraphs;
    RuleDoc { what, why, fix }
}

#[cfg(test)]
mod tests;
