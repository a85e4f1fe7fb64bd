//! `shipline validate`: the template (synthesized from the config, or `--template FILE`)
//! against the built-in policy rules and the user's AWS CloudFormation Guard rules
//! (`--rules`), evaluated in process ([`crate::validate`]). Findings go to stdout as text, JSON
//! or SARIF 2.1.0 and exit 1; a broken rule file or an unreadable template exits 2. No AWS
//! access. [`precheck`] is the same check as `plan` and `deploy` run it before any request.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use shipline_core::{Config, synthesize};

use super::{Failure, Output};
use crate::cli::ReportFormatArg;
use crate::printer::Printer;
use crate::validate::{self, Finding, Report, RuleFile};

pub fn run(
    config: &Config,
    template: Option<&Path>,
    rules: &[PathBuf],
    format: ReportFormatArg,
    printer: &Printer,
) -> Result<Output, Failure> {
    let tags = config.effective_tags();
    let (data, source, tag_keys) = match template {
        Some(path) => (read(path)?, path.display().to_string(), Vec::new()),
        None => (
            synthesize(config).render(shipline_core::Format::Json),
            "the synthesized template".to_owned(),
            tags.keys().map(String::as_str).collect(),
        ),
    };
    let files = rule_files(&tag_keys, rules)?;
    let report = validate::evaluate(&data, &files).map_err(|err| failure(err, &source))?;
    let text = match format {
        ReportFormatArg::Text => text(&report.findings),
        ReportFormatArg::Json => pretty(&to_json(&report, &source)),
        ReportFormatArg::Sarif => pretty(&sarif(&report, template)),
    };
    let output = Output {
        json: Value::Null,
        lines: (!text.is_empty()).then_some(text).into_iter().collect(),
        notes: Vec::new(),
    };
    let summary = summary(&report, &files, &source);
    if report.findings.is_empty() {
        return Ok(output.note(summary));
    }
    printer.output(&output);
    Err(Failure::Failed(summary))
}

/// What `plan` and `deploy` run first: the built-in pack and `--rules` over `data` (the
/// template as it will be sent; `tag_keys` the config's when it is synthesized). A finding
/// stops them before any AWS request (exit 2, like every other refusal found before a
/// request), listing the findings.
pub fn precheck(
    data: &str,
    tag_keys: &[&str],
    rules: &[PathBuf],
    source: &str,
) -> Result<(), Failure> {
    let files = rule_files(tag_keys, rules)?;
    let report = validate::evaluate(data, &files).map_err(|err| failure(err, source))?;
    if report.findings.is_empty() {
        return Ok(());
    }
    Err(Failure::BadInput(format!(
        "{}; nothing was sent to AWS:\n{}\nfix the template (`shipline validate` checks it again), or pass --no-validate to skip the rules",
        summary(&report, &files, source),
        text(&report.findings)
    )))
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|err| {
        Failure::BadInput(format!(
            "{}: cannot read the template: {err}",
            path.display()
        ))
    })
}

/// The built-in pack (requiring `tag_keys`), then the user's files in the order given.
fn rule_files(tag_keys: &[&str], rules: &[PathBuf]) -> Result<Vec<RuleFile>, Failure> {
    let mut files = validate::builtin(tag_keys);
    files.extend(validate::load(rules).map_err(|err| failure(err, ""))?);
    Ok(files)
}

fn failure(err: validate::Error, source: &str) -> Failure {
    Failure::BadInput(match err {
        validate::Error::Rules { file, message } => {
            format!("rule file {file}: {message}")
        }
        validate::Error::Template { message } => {
            format!("{source}: Guard cannot read the template: {message}")
        }
    })
}

fn summary(report: &Report, files: &[RuleFile], source: &str) -> String {
    let builtin = report.rules.iter().filter(|r| r.builtin).count();
    let yours = report.rules.len() - builtin;
    let user_files = files.iter().filter(|f| !f.builtin).count();
    let checked = match report.resources {
        Some(1) => format!("{source} (1 resource)"),
        Some(n) => format!("{source} ({n} resources)"),
        None => source.to_owned(),
    };
    let rules = if yours == 0 {
        format!("{builtin} built-in rules")
    } else {
        format!(
            "{} rules ({builtin} built-in, {yours} from --rules in {user_files} file{})",
            report.rules.len(),
            if user_files == 1 { "" } else { "s" }
        )
    };
    let broken: std::collections::BTreeSet<&str> =
        report.findings.iter().map(|f| f.rule.as_str()).collect();
    match report.findings.len() {
        0 => format!("{checked} passes {rules}"),
        n => format!(
            "{checked} breaks {} of {rules}: {n} finding{}",
            broken.len(),
            if n == 1 { "" } else { "s" }
        ),
    }
}

/// One finding per paragraph: `rule: Resource (Type) at Path: message`, then the fix (and the
/// rule file, for a rule of the user's).
fn text(findings: &[Finding]) -> String {
    let mut out = String::new();
    for finding in findings {
        let mut place = finding
            .resource
            .clone()
            .unwrap_or_else(|| "template".into());
        if let Some(kind) = &finding.resource_type {
            place.push_str(&format!(" ({kind})"));
        }
        if !finding.path.is_empty() {
            place.push_str(&format!(" at {}", finding.path));
        }
        // A multi-line message (a rule's `<<...>>` may span lines) stays under its finding.
        let message: Vec<&str> = finding.message.lines().map(str::trim).collect();
        out.push_str(&format!(
            "{}: {place}: {}\n",
            finding.rule,
            message.join("\n    ")
        ));
        if let Some(fix) = &finding.fix {
            out.push_str(&format!("  fix: {fix}\n"));
        }
        if !finding.builtin {
            out.push_str(&format!("  rule file: {}\n", finding.file));
        }
    }
    out.trim_end().to_owned()
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("JSON")
}

fn to_json(report: &Report, source: &str) -> Value {
    json!({
        "template": source,
        "resources": report.resources,
        "rules": report.rules,
        "findings": report.findings,
    })
}

/// SARIF 2.1.0: one run; every evaluated rule in `tool.driver.rules` (what, why, fix); one
/// result per finding, located logically at the resource (`Resources.<id>.<path>`) and, for a
/// `--template` file, physically at that file.
fn sarif(report: &Report, template: Option<&Path>) -> Value {
    let rules: Vec<Value> = report
        .rules
        .iter()
        .map(|rule| {
            let mut value = json!({
                "id": rule.id,
                "name": rule.id,
                "defaultConfiguration": { "level": "error" },
                "properties": { "file": rule.file, "builtin": rule.builtin },
            });
            if let Some(what) = &rule.doc.what {
                value["shortDescription"] = json!({ "text": what });
            }
            if let Some(why) = &rule.doc.why {
                value["fullDescription"] = json!({ "text": why });
            }
            if let Some(fix) = &rule.doc.fix {
                value["help"] = json!({ "text": fix });
            }
            value
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|finding| {
            let index = report
                .rules
                .iter()
                .position(|r| r.id == finding.rule && r.file == finding.file);
            let mut location = json!({});
            if let Some(id) = &finding.resource {
                let mut qualified = format!("Resources.{id}");
                if !finding.path.is_empty() {
                    qualified.push('.');
                    qualified.push_str(&finding.path);
                }
                location["logicalLocations"] = json!([{
                    "name": id,
                    "fullyQualifiedName": qualified,
                    "kind": "resource",
                }]);
            }
            if let Some(path) = template {
                location["physicalLocation"] = json!({ "artifactLocation": { "uri": uri(path) } });
            }
            let mut result = json!({
                "ruleId": finding.rule,
                "level": "error",
                "message": { "text": finding.message },
                "locations": [location],
            });
            if let Some(index) = index {
                result["ruleIndex"] = json!(index);
            }
            if let Some(kind) = &finding.resource_type {
                result["properties"] = json!({ "resourceType": kind });
            }
            result
        })
        .collect();
    let mut run = json!({
        "tool": { "driver": {
            "name": "shipline",
            "version": env!("CARGO_PKG_VERSION"),
            "rules": rules,
        }},
        "results": results,
    });
    if let Some(path) = template {
        run["artifacts"] = json!([{ "location": { "uri": uri(path) } }]);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    })
}

/// A relative file URI reference (SARIF's `uri`), forward slashes.
fn uri(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}
