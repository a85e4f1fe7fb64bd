//! `shipline docs`: a Markdown description of *this* pipeline, generated from the model. The
//! finished [`Template`] says what is deployed (names, stages, event patterns and triggers, IAM
//! statements and the reasons for their wildcards, retention, lifecycle rules, outputs); the
//! [`Config`] it came from adds what the template holds only in encoded form (the scan policy)
//! and what the template cannot do (the steps a person takes after deploying). The sections: a
//! Mermaid flowchart of the flow, the trigger and its filters, the stages, the scan policy,
//! notifications, retention and lifecycle, a resource table, an IAM matrix, the outputs, and
//! the manual steps.
//!
//! Everything is read from the template's sorted JSON ([`Template::to_value`]) and the config,
//! never from the environment or a clock, so the same input always gives the same bytes.
//! Values the user wrote (branches, globs) are escaped for Markdown tables and for Mermaid.

use serde_json::Value;

use crate::config::{Config, ScanGate, Trigger};
use crate::pipeline::{DEPLOY_ACTION, connection_name, ids};
use crate::resources::connections;
use crate::template::{Template, embedded_json};

/// The file `shipline docs -o DIR` writes into `DIR`.
pub const FILE_NAME: &str = "PIPELINE.md";

/// What `shipline docs` prints when a wildcard statement has no reason in the template (never,
/// for templates from [`crate::synthesize`]: [`crate::iam::Role::into_resource`] records one
/// for every statement made by [`crate::iam::Statement::on_any_resource`]).
pub const NO_REASON: &str = "no reason recorded in the template";

static NULL: Value = Value::Null;

/// The Markdown document describing the pipeline `template` synthesized from `config`.
pub fn markdown(config: &Config, template: &Template) -> String {
    let model = Model {
        config,
        template: template.to_value(),
    };
    let steps = model.steps();
    let mut doc = Doc::default();
    header(&mut doc, &model, &steps);
    flow(&mut doc, &model, &steps);
    trigger(&mut doc, &model);
    stages(&mut doc, &model, &steps);
    scan_policy(&mut doc, &model);
    notifications(&mut doc, &model, &steps);
    retention(&mut doc, &model);
    resources(&mut doc, &model);
    iam(&mut doc, &model);
    outputs(&mut doc, &model);
    manual_steps(&mut doc, &model);
    doc.text
}

/// The config and the template as sorted JSON, with lookups that yield `null` when absent.
struct Model<'a> {
    config: &'a Config,
    template: Value,
}

/// The ECS service or Lambda function a promotion stage deploys to: its `Deploy` action's
/// parameters (a `Fn::Sub` pattern whose JSON carries the names as written).
fn stage_target(stage: &Value) -> Option<Target> {
    let action = stage["Actions"]
        .as_array()?
        .iter()
        .find(|a| a["Name"] == DEPLOY_ACTION)?;
    let pattern = action["Configuration"]["UserParameters"]["Fn::Sub"].as_str()?;
    let parameters: Value = serde_json::from_str(pattern).ok()?;
    let text = |key: &str| parameters[key].as_str().map(str::to_owned);
    match parameters["action"].as_str()? {
        "deploy-ecs" => Some(Target::Ecs {
            cluster: text("cluster")?,
            service: text("service")?,
            container: text("container")?,
        }),
        "deploy-lambda" => Some(Target::Lambda {
            function: text("function")?,
            alias: text("alias"),
        }),
        _ => None,
    }
}

/// One pipeline stage as the docs describe it.
struct Step {
    name: String,
    kind: Kind,
    rolls_back: bool,
    /// Where the stage deploys its digest, if it has a Deploy action.
    target: Option<Target>,
}

/// A stage's deploy target, read from its Deploy action's parameters.
enum Target {
    Ecs {
        cluster: String,
        service: String,
        container: String,
    },
    Lambda {
        function: String,
        alias: Option<String>,
    },
}

impl Target {
    /// `ECS orders-web` / `Lambda orders-api`.
    fn short(&self) -> String {
        match self {
            Target::Ecs { service, .. } => format!("ECS {service}"),
            Target::Lambda { function, .. } => format!("Lambda {function}"),
        }
    }

    /// The lines of its flowchart node.
    fn node_lines(&self) -> Vec<String> {
        match self {
            Target::Ecs {
                cluster,
                service,
                container,
            } => vec![
                format!("ECS service {service}"),
                format!("cluster {cluster}"),
                format!("container {container}"),
            ],
            Target::Lambda { function, alias } => {
                let mut lines = vec![format!("Lambda function {function}")];
                lines.extend(alias.as_ref().map(|a| format!("alias {a}")));
                lines
            }
        }
    }

    /// What the Deploy action does, for the stages table.
    fn does(&self) -> String {
        match self {
            Target::Ecs {
                cluster,
                service,
                container,
            } => format!(
                "deploys that digest to the ECS service {} in cluster {} (container {}) with the service's own deployment strategy, and waits until ECS finishes; a deployment ECS fails or rolls back fails the stage",
                code(service),
                code(cluster),
                code(container)
            ),
            Target::Lambda { function, alias } => format!(
                "sets the Lambda function {}'s image to that digest, waits for the update, publishes a version{}; a failed update fails the stage",
                code(function),
                alias
                    .as_ref()
                    .map(|a| format!(" and moves the alias {} to it", code(a)))
                    .unwrap_or_default()
            ),
        }
    }
}

enum Kind {
    Source,
    Build,
    Scan,
    Approval,
    /// Moves the image tag to the digest the execution built.
    Promotion(String),
    Other(String),
}

impl Model<'_> {
    /// The resource `logical_id` (`null` if the template has none).
    fn resource(&self, logical_id: &str) -> &Value {
        self.template["Resources"].get(logical_id).unwrap_or(&NULL)
    }

    /// `Properties` of `logical_id` at the JSON pointer `path` (e.g. `/Name`).
    fn prop(&self, logical_id: &str, path: &str) -> &Value {
        self.resource(logical_id)["Properties"]
            .pointer(path)
            .unwrap_or(&NULL)
    }

    /// A string property, or `""`.
    fn text(&self, logical_id: &str, path: &str) -> &str {
        self.prop(logical_id, path).as_str().unwrap_or_default()
    }

    fn has(&self, logical_id: &str) -> bool {
        !self.resource(logical_id).is_null()
    }

    /// Every resource, in logical-id order.
    fn resources(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.template["Resources"].as_object().into_iter().flatten()
    }

    /// The pipeline's stages, classified by their (first) action; a stage's ECS target from its
    /// second.
    fn steps(&self) -> Vec<Step> {
        let stages = self.prop(ids::PIPELINE, "/Stages").as_array();
        stages
            .into_iter()
            .flatten()
            .map(|stage| {
                let action = &stage["Actions"][0];
                let parameters: Value = action["Configuration"]["UserParameters"]
                    .as_str()
                    .and_then(|text| serde_json::from_str(text).ok())
                    .unwrap_or_default();
                let kind = match (
                    action["ActionTypeId"]["Category"].as_str().unwrap_or(""),
                    action["ActionTypeId"]["Provider"].as_str().unwrap_or(""),
                ) {
                    (_, "CodeStarSourceConnection") => Kind::Source,
                    (_, "CodeBuild") => Kind::Build,
                    (_, "InspectorScan") => Kind::Scan,
                    ("Approval", _) => Kind::Approval,
                    (_, "Lambda") if parameters["action"] == "scan-gate" => Kind::Scan,
                    (_, "Lambda") if parameters["tag"].is_string() => {
                        Kind::Promotion(parameters["tag"].as_str().unwrap_or("").to_owned())
                    }
                    (_, provider) => Kind::Other(provider.to_owned()),
                };
                Step {
                    name: stage["Name"].as_str().unwrap_or("").to_owned(),
                    kind,
                    rolls_back: stage["OnFailure"]["Result"] == "ROLLBACK",
                    target: stage_target(stage),
                }
            })
            .collect()
    }

    /// The states each notification rule sends, as `(rule id, "execution"/"stage", states)`.
    fn notification_rules(&self) -> Vec<(&'static str, &'static str, Vec<&str>)> {
        [
            (ids::PIPELINE_STATE_RULE, "execution"),
            (ids::STAGE_FAILURE_RULE, "stage"),
        ]
        .into_iter()
        .filter(|(id, _)| self.has(id))
        .map(|(id, level)| {
            let states = self.prop(id, "/EventPattern/detail/state").as_array();
            let states = states.into_iter().flatten().filter_map(Value::as_str);
            (id, level, states.collect())
        })
        .collect()
    }

    /// The configuration of the Scan stage's action.
    fn scan_action(&self) -> &Value {
        let stages = self.prop(ids::PIPELINE, "/Stages").as_array();
        stages
            .into_iter()
            .flatten()
            .find(|stage| stage["Name"] == "Scan")
            .map_or(&NULL, |stage| &stage["Actions"][0]["Configuration"])
    }

    /// How the docs name the GitHub connection: the created one's name, or the configured ARN.
    fn connection(&self) -> String {
        match &self.config.source.connection_arn {
            Some(arn) => arn.clone(),
            None => readable(self.prop(ids::GITHUB_CONNECTION, "/ConnectionName")),
        }
    }
}

/// A Markdown document being written.
#[derive(Default)]
struct Doc {
    text: String,
}

impl Doc {
    fn line(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
    }

    /// A heading, preceded by a blank line (except at the top).
    fn heading(&mut self, level: usize, title: &str) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.line(&format!("{} {title}", "#".repeat(level)));
        self.text.push('\n');
    }

    /// A GFM table; every cell is escaped for the table (`|`).
    fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        self.line(&format!("| {} |", header.join(" | ")));
        self.line(&format!("|{}", "---|".repeat(header.len())));
        for row in rows {
            let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
            self.line(&format!("| {} |", cells.join(" | ")));
        }
    }
}

fn header(doc: &mut Doc, m: &Model, steps: &[Step]) {
    let config = m.config;
    doc.heading(1, &format!("Pipeline {}", code(&config.app.name)));
    doc.line("Generated by `shipline docs` from the pipeline's config and the CloudFormation template `shipline synth` prints for it. Regenerate it after changing `shipline.toml`; do not edit it.");
    doc.line("");
    doc.line(&format!(
        "> {}",
        plain(m.template["Description"].as_str().unwrap_or(""))
    ));
    doc.line("");
    let resources = m.resources().count();
    let outputs = m.template["Outputs"].as_object().map_or(0, |o| o.len());
    doc.table(
        &["Setting", "Value"],
        &[
            vec!["GitHub repository".into(), code(&config.source.repository)],
            vec!["Branch".into(), code(&config.source.branch)],
            vec!["Trigger".into(), code(trigger_name(config.source.trigger))],
            vec!["Pipeline".into(), code(m.text(ids::PIPELINE, "/Name"))],
            vec!["Stages".into(), steps.len().to_string()],
            vec![
                "Default stack name".into(),
                code(&format!("{}-pipeline", config.app.name)),
            ],
            vec![
                "Resources / outputs".into(),
                format!("{resources} / {outputs}"),
            ],
        ],
    );
}

fn trigger_name(trigger: Trigger) -> &'static str {
    match trigger {
        Trigger::Webhook => "webhook",
        Trigger::Connection => "connection",
    }
}

/// The Mermaid flowchart: GitHub → trigger → stages → image tags, notifications to the topic.
fn flow(doc: &mut Doc, m: &Model, steps: &[Step]) {
    let config = m.config;
    let mut chart = Chart::default();
    let branch = format!("branch {}", config.source.branch);
    chart.node(
        "github",
        "[",
        &["GitHub", &config.source.repository, &branch],
        "]",
    );
    trigger_nodes(&mut chart, m);
    let via = format!("commit, via connection {}", m.connection());
    chart.edge("github", "-.->", &via, "source");
    pipeline_nodes(&mut chart, m, steps);
    image_nodes(&mut chart, m, steps);
    target_nodes(&mut chart, steps);
    notification_nodes(&mut chart, m, steps);
    doc.heading(2, "Flow");
    doc.line("```mermaid");
    doc.line("flowchart LR");
    for line in chart.nodes.iter().chain(&chart.edges) {
        doc.line(line);
    }
    doc.line("```");
}

/// A Mermaid flowchart being written: node and subgraph lines first, then every edge (a node
/// belongs to the subgraph that declares it, so no edge may mention it before that).
#[derive(Default)]
struct Chart {
    nodes: Vec<String>,
    edges: Vec<String>,
    depth: usize,
}

impl Chart {
    /// A node: `id`, `open`, the quoted label (`lines` joined by `<br/>`), `close`.
    fn node(&mut self, id: &str, open: &str, lines: &[&str], close: &str) {
        let label: Vec<&str> = lines.iter().copied().filter(|l| !l.is_empty()).collect();
        let label: Vec<String> = label.iter().map(|l| mermaid_text(l)).collect();
        let indent = "  ".repeat(self.depth + 1);
        self.nodes.push(format!(
            "{indent}{id}{open}\"{}\"{close}",
            label.join("<br/>")
        ));
    }

    /// Opens the subgraph `id` titled `title`, laid out in `direction`.
    fn subgraph(&mut self, id: &str, title: &str, direction: &str) {
        let indent = "  ".repeat(self.depth + 1);
        self.nodes.push(format!(
            "{indent}subgraph {id}[\"{}\"]",
            mermaid_text(title)
        ));
        self.nodes.push(format!("{indent}  direction {direction}"));
        self.depth += 1;
    }

    fn end(&mut self) {
        self.depth -= 1;
        self.nodes
            .push(format!("{}end", "  ".repeat(self.depth + 1)));
    }

    /// An edge `from` → `to` (`arrow` is `-->` or `-.->`), labelled unless `label` is empty.
    fn edge(&mut self, from: &str, arrow: &str, label: &str, to: &str) {
        self.edges.push(if label.is_empty() {
            format!("  {from} {arrow} {to}")
        } else {
            format!("  {from} {arrow}|\"{}\"| {to}", mermaid_text(label))
        });
    }
}

/// The path from a push to `StartPipelineExecution`.
fn trigger_nodes(chart: &mut Chart, m: &Model) {
    let pattern = |field: &str| {
        let values = m.prop(ids::PUSH_RULE, &format!("/EventPattern/detail/{field}"));
        let values = values.as_array().into_iter().flatten().map(readable);
        format!("{field} {}", values.collect::<Vec<_>>().join(", "))
    };
    match m.config.source.trigger {
        Trigger::Webhook => {
            let receiver = format!("Lambda {}", m.text(ids::WEBHOOK_FUNCTION, "/FunctionName"));
            let check = "public URL, HMAC signature check";
            chart.node(
                "receiver",
                "[",
                &["Webhook receiver", &receiver, check],
                "]",
            );
            let bus = m.text(ids::PUSH_EVENT_BUS, "/Name");
            chart.node("bus", "[", &["EventBridge bus", bus], "]");
            let rule = format!("rule {}", m.text(ids::PUSH_RULE, "/Name"));
            let [repository, git_ref, deleted] = ["repository", "ref", "deleted"].map(pattern);
            chart.node(
                "rule",
                "{{",
                &[&rule, &repository, &git_ref, &deleted],
                "}}",
            );
            chart.edge("github", "-->", "push (signed delivery)", "receiver");
            chart.edge("receiver", "-->", "GitHub Push event", "bus");
            chart.edge("bus", "-->", "", "rule");
            chart.edge("rule", "-->", "StartPipelineExecution", "source");
        }
        Trigger::Connection => {
            let push = m.prop(ids::PIPELINE, "/Triggers/0/GitConfiguration/Push/0");
            let branches = push["Branches"]["Includes"]
                .as_array()
                .into_iter()
                .flatten();
            let branches: Vec<String> = branches.map(readable).collect();
            let branches = format!("push to {}", branches.join(", "));
            let paths = if push["FilePaths"].is_null() {
                "any path"
            } else {
                "path filters (see Trigger)"
            };
            let label = ["CodePipeline trigger", &branches, paths];
            chart.node("trigger", "{{", &label, "}}");
            chart.edge("github", "-->", "push", "trigger");
            chart.edge("trigger", "-->", "starts", "source");
        }
    }
}

/// The pipeline as a subgraph of its stages, chained in order.
fn pipeline_nodes(chart: &mut Chart, m: &Model, steps: &[Step]) {
    let title = format!("CodePipeline {}", m.text(ids::PIPELINE, "/Name"));
    chart.subgraph("pipeline", &title, "LR");
    for (i, step) in steps.iter().enumerate() {
        let details: Vec<String> = match &step.kind {
            Kind::Source => vec!["fetch the pushed commit".into()],
            Kind::Build => vec![
                format!("CodeBuild {}", m.text(ids::BUILD_PROJECT, "/Name")),
                "docker build and push".into(),
            ],
            Kind::Scan => scan_summary(m.config).to_vec(),
            Kind::Approval => vec!["manual approval".into()],
            Kind::Promotion(tag) => vec![format!("move tag {tag} to the built digest")],
            Kind::Other(provider) => vec![provider.clone()],
        };
        let rollback = if step.rolls_back {
            "rollback on failure"
        } else {
            ""
        };
        let deploys = step
            .target
            .as_ref()
            .map(|t| format!("deploy to {}", t.short()))
            .unwrap_or_default();
        let mut label = vec![step.name.as_str()];
        label.extend(details.iter().map(String::as_str));
        label.push(&deploys);
        label.push(rollback);
        let (open, close) = match step.kind {
            Kind::Scan => ("{", "}"),
            Kind::Approval => ("{{", "}}"),
            _ => ("[", "]"),
        };
        chart.node(&step_id(step, i), open, &label, close);
    }
    chart.end();
    for (i, pair) in steps.windows(2).enumerate() {
        chart.edge(&step_id(&pair[0], i), "-->", "", &step_id(&pair[1], i + 1));
    }
}

/// The Mermaid id of stage `i`: fixed words for the fixed stages, numbered ones otherwise (stage
/// names such as `end` or `on` would be Mermaid keywords).
fn step_id(step: &Step, i: usize) -> String {
    match step.kind {
        Kind::Source => "source".into(),
        Kind::Build => "build".into(),
        Kind::Scan => "scan".into(),
        Kind::Approval => format!("approve{i}"),
        Kind::Promotion(_) => format!("promote{i}"),
        Kind::Other(_) => format!("stage{i}"),
    }
}

/// The repository and its tags: the commit tag the build pushes, the stage tags that move.
fn image_nodes(chart: &mut Chart, m: &Model, steps: &[Step]) {
    let repository = m.text(ids::IMAGE_REPOSITORY, "/RepositoryName");
    chart.subgraph("images", &format!("ECR repository {repository}"), "TB");
    let commit = format!("{repository}:(commit id)");
    chart.node("commit", "[/", &[&commit, "immutable"], "/]");
    chart.edge("build", "-->", "push", "commit");
    for (i, step) in steps.iter().enumerate() {
        if let Kind::Promotion(tag) = &step.kind {
            let tag_id = format!("tag{i}");
            chart.node(&tag_id, "[/", &[&format!("{repository}:{tag}")], "/]");
            chart.edge(&step_id(step, i), "-->", "tag", &tag_id);
        }
    }
    chart.end();
}

/// The services and functions the stages deploy to (existing, not in the stack).
fn target_nodes(chart: &mut Chart, steps: &[Step]) {
    if steps.iter().all(|s| s.target.is_none()) {
        return;
    }
    chart.subgraph("targets", "Deploy targets (existing)", "TB");
    for (i, step) in steps.iter().enumerate() {
        if let Some(target) = &step.target {
            let lines = target.node_lines();
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            let id = format!("target{i}");
            chart.node(&id, "[", &lines, "]");
            chart.edge(&step_id(step, i), "-->", "deploy digest", &id);
        }
    }
    chart.end();
}

/// The topic, what the rules send to it, and the approval requests.
fn notification_nodes(chart: &mut Chart, m: &Model, steps: &[Step]) {
    let topic = m.text(ids::NOTIFICATION_TOPIC, "/TopicName");
    chart.node("topic", ">", &["SNS topic", topic], "]");
    for (_, level, states) in m.notification_rules() {
        chart.edge(
            "pipeline",
            "-.->",
            &format!("{level} {}", states.join(", ")),
            "topic",
        );
    }
    for (i, step) in steps.iter().enumerate() {
        if let Kind::Approval = step.kind {
            chart.edge(&step_id(step, i), "-.->", "approval request", "topic");
        }
    }
}

/// `text` safe inside a quoted Mermaid label: quotes, HTML and Mermaid's own syntax characters
/// become entity codes (`#quot;`, `#60;`), which Mermaid renders as the character.
fn mermaid_text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => escaped.push_str("#quot;"),
            '#' | '&' | '<' | '>' | '|' | ';' | '%' | '`' | '\\' | '{' | '}' | '[' | ']' => {
                escaped.push_str(&format!("#{};", u32::from(c)));
            }
            c if c.is_control() => escaped.push(' '),
            c => escaped.push(c),
        }
    }
    escaped
}

fn trigger(doc: &mut Doc, m: &Model) {
    doc.heading(2, "Trigger");
    match m.config.source.trigger {
        Trigger::Webhook => webhook_trigger(doc, m),
        Trigger::Connection => native_trigger(doc, m),
    }
}

fn webhook_trigger(doc: &mut Doc, m: &Model) {
    doc.line(&format!(
        "**Webhook** (`trigger = \"webhook\"`). GitHub sends every push to the receiver {} (Lambda behind a public function URL, `AuthType: NONE`), which checks the `X-Hub-Signature-256` HMAC against the stack-generated secret `{}` before reading anything else and publishes each authentic push to the EventBridge bus {}. The rule {} starts the pipeline (`StartPipelineExecution`, as `{}`) only for events that match:",
        code(m.text(ids::WEBHOOK_FUNCTION, "/FunctionName")),
        ids::WEBHOOK_SECRET,
        code(m.text(ids::PUSH_EVENT_BUS, "/Name")),
        code(m.text(ids::PUSH_RULE, "/Name")),
        ids::PUSH_RULE_ROLE,
    ));
    doc.line("");
    let mut rows = Vec::new();
    flatten_pattern("", m.prop(ids::PUSH_RULE, "/EventPattern"), &mut rows);
    doc.table(&["Field", "Matches"], &rows);
    doc.line("");
    let reserved = m.prop(ids::WEBHOOK_FUNCTION, "/ReservedConcurrentExecutions");
    doc.line(&format!(
        "Reserved concurrency of the receiver: {} (`webhook.reserved_concurrency`). The Source action does not detect changes itself (`DetectChanges: false`) and the pipeline has no native trigger, so every push starts exactly one execution; other branches, tag pushes and branch deletions start nothing.",
        reserved.as_u64().map_or("none".to_owned(), |n| n.to_string())
    ));
}

/// One `(field, values)` row per leaf of an EventBridge pattern, in key order.
fn flatten_pattern(prefix: &str, pattern: &Value, rows: &mut Vec<Vec<String>>) {
    if let Some(fields) = pattern.as_object() {
        for (key, value) in fields {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            flatten_pattern(&path, value, rows);
        }
    } else {
        let values = pattern.as_array().into_iter().flatten();
        let values: Vec<String> = values.map(|v| code(&readable(v))).collect();
        rows.push(vec![code(prefix), values.join(", ")]);
    }
}

fn native_trigger(doc: &mut Doc, m: &Model) {
    let push = m.prop(ids::PIPELINE, "/Triggers/0/GitConfiguration/Push/0");
    doc.line(&format!(
        "**CodePipeline's native trigger** (`trigger = \"connection\"`). The V2 pipeline's own Git trigger on the source action `{}` starts an execution for each push that matches every filter below; no webhook resources are created.",
        m.text(ids::PIPELINE, "/Triggers/0/GitConfiguration/SourceActionName"),
    ));
    doc.line("");
    let mut rows = vec![vec![
        "Branches, include".into(),
        list(&push["Branches"]["Includes"], ", "),
    ]];
    for (key, label) in [
        ("Includes", "File paths, include"),
        ("Excludes", "File paths, exclude"),
    ] {
        if !push["FilePaths"][key].is_null() {
            rows.push(vec![label.into(), list(&push["FilePaths"][key], ", ")]);
        }
    }
    if push["FilePaths"].is_null() {
        rows.push(vec![
            "File paths".into(),
            "any (no `[source.file_paths]`)".into(),
        ]);
    }
    doc.table(&["Filter", "Patterns"], &rows);
}

/// The strings of a JSON array, each as code, joined by `separator`.
fn list(values: &Value, separator: &str) -> String {
    let values = values.as_array().into_iter().flatten();
    values
        .map(|v| code(&readable(v)))
        .collect::<Vec<_>>()
        .join(separator)
}

fn stages(doc: &mut Doc, m: &Model, steps: &[Step]) {
    doc.heading(2, "Stages");
    let config = m.config;
    let topic = code(m.text(ids::NOTIFICATION_TOPIC, "/TopicName"));
    let rows: Vec<Vec<String>> = steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let does = match &step.kind {
                Kind::Source => format!(
                    "GitHub action: fetches the pushed commit of {} branch {} through the connection {}; exposes `#{{SourceVariables.CommitId}}`",
                    code(&config.source.repository), code(&config.source.branch), code(&m.connection())
                ),
                Kind::Build => format!(
                    "CodeBuild {} builds {} (context {}), pushes `<repository>:<commit id>` and exports `IMAGE_DIGEST`, `IMAGE_URI`, `IMAGE_TAG`",
                    code(m.text(ids::BUILD_PROJECT, "/Name")), code(&config.build.dockerfile), code(&config.build.context)
                ),
                Kind::Scan => format!("scan gate: {} (see Scan policy)", scan_summary(config).join(", ")),
                Kind::Approval => format!("manual approval; the request goes to the SNS topic {topic} with the digest, the commit and a link to the image"),
                Kind::Promotion(tag) => format!("the delivery function moves the tag {} to the digest this execution built", code(tag)),
                Kind::Other(provider) => format!("{provider} action"),
            };
            let does = match &step.target {
                Some(t) => format!("{does}; then {}", t.does()),
                None => does,
            };
            let on_failure = match (&step.kind, step.rolls_back) {
                (_, true) if step.target.is_some() => "rolls back: the tag returns to the image of the stage's last successful execution, which is deployed to the target again",
                (_, true) => "rolls back to the image of the stage's last successful execution",
                (Kind::Approval, false) => "rejection stops the execution (no rollback)",
                _ => "the execution stops",
            };
            vec![(i + 1).to_string(), code(&step.name), does, on_failure.to_owned()]
        })
        .collect();
    doc.table(&["#", "Stage", "What it does", "On failure"], &rows);
}

/// The scan policy in two phrases: the scanner, and the limit.
fn scan_summary(config: &Config) -> [String; 2] {
    let scan = &config.scan;
    let (scanner, per) = match scan.gate {
        ScanGate::Basic => ("ECR basic scan-on-push", ""),
        ScanGate::Inspector => ("Amazon Inspector (InspectorScan)", " per severity"),
    };
    let limit = format!(
        "at most {} findings{per} at or above {}",
        scan.max_findings,
        scan.severity.as_str()
    );
    [scanner.to_owned(), limit]
}

fn scan_policy(doc: &mut Doc, m: &Model) {
    doc.heading(2, "Scan policy");
    let scan = &m.config.scan;
    match scan.gate {
        ScanGate::Basic => {
            let ignored = if scan.ignore.is_empty() {
                "none".to_owned()
            } else {
                scan.ignore
                    .iter()
                    .map(|id| code(id))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            doc.line(&format!(
                "`scan.gate = \"basic\"`: the delivery function {} waits for ECR's scan-on-push result of the digest this execution built, then counts its findings.",
                code(m.text(ids::PROMOTION_FUNCTION, "/FunctionName"))
            ));
            doc.line("");
            doc.table(
                &["Setting", "Value"],
                &[
                    vec![
                        "Counted (`scan.severity`)".into(),
                        format!("findings at or above {}", code(scan.severity.as_str())),
                    ],
                    vec![
                        "Allowed (`scan.max_findings`)".into(),
                        format!(
                            "at most {} counted findings; more fail the execution",
                            scan.max_findings
                        ),
                    ],
                    vec!["Not counted (`scan.ignore`)".into(), ignored],
                    vec![
                        "Waits for the result (`scan.wait_minutes`)".into(),
                        format!(
                            "{}, then fails",
                            count(u64::from(scan.wait_minutes), "minute")
                        ),
                    ],
                    vec![
                        "Scan result `FAILED` or `UNSUPPORTED_IMAGE`".into(),
                        "fails the execution with the reason".into(),
                    ],
                ],
            );
        }
        ScanGate::Inspector => inspector_policy(doc, m),
    }
}

fn inspector_policy(doc: &mut Doc, m: &Model) {
    let scan = m.scan_action();
    doc.line(&format!(
        "`scan.gate = \"inspector\"`: CodePipeline's InspectorScan action scans {} with Amazon Inspector (CodeBuild minutes billed). Findings at or above {} are limited per severity:",
        code(&format!(
            "{}:{}",
            readable(&scan["ECRRepositoryName"]),
            readable(&scan["ImageTag"])
        )),
        code(m.config.scan.severity.as_str()),
    ));
    doc.line("");
    let rows: Vec<Vec<String>> = ["Critical", "High", "Medium", "Low"]
        .into_iter()
        .filter_map(|level| {
            let threshold = scan[format!("{level}Threshold")].as_str()?;
            Some(vec![level.to_uppercase(), format!("at most {threshold}")])
        })
        .collect();
    doc.table(&["Severity", "Findings allowed"], &rows);
}

fn notifications(doc: &mut Doc, m: &Model, steps: &[Step]) {
    doc.heading(2, "Notifications");
    let emails = m.prop(ids::NOTIFICATION_TOPIC, "/Subscription").as_array();
    let emails: Vec<String> = emails
        .into_iter()
        .flatten()
        .map(|s| code(&readable(&s["Endpoint"])))
        .collect();
    doc.line(&format!(
        "SNS topic {}, encrypted with the stack's KMS key {} (EventBridge cannot publish to a topic under the AWS-managed `aws/sns` key). Email subscriptions: {}.",
        code(m.text(ids::NOTIFICATION_TOPIC, "/TopicName")),
        code(m.text(ids::NOTIFICATION_KEY_ALIAS, "/AliasName")),
        if emails.is_empty() { "none (subscribe endpoints to the `NotificationTopicArn` output)".to_owned() } else { emails.join(", ") },
    ));
    doc.line("");
    let mut rows: Vec<Vec<String>> = m
        .notification_rules()
        .into_iter()
        .map(|(id, level, states)| {
            let states: Vec<String> = states.iter().map(|s| code(s)).collect();
            vec![
                code(m.text(id, "/Name")),
                format!("each {level} that ends {}", states.join(", ")),
            ]
        })
        .collect();
    let approvals: Vec<String> = steps
        .iter()
        .filter(|s| matches!(s.kind, Kind::Approval))
        .map(|s| code(&s.name))
        .collect();
    if !approvals.is_empty() {
        rows.push(vec![
            format!("`{}` (pipeline role)", ids::PIPELINE_ROLE),
            format!("approval requests of {}", approvals.join(", ")),
        ]);
    }
    doc.table(&["Publisher", "Sends"], &rows);
}

fn retention(doc: &mut Doc, m: &Model) {
    doc.heading(2, "Retention and lifecycle");
    let kept: Vec<String> = m
        .resources()
        .filter(|(_, r)| r["DeletionPolicy"] == "Retain")
        .map(|(id, r)| format!("{} ({})", code(id), name_cell(r)))
        .collect();
    doc.line(&format!(
        "Kept, with their data, when the stack is deleted or the resource replaced: {}.",
        kept.join(", ")
    ));
    doc.line("");
    let bucket = ids::ARTIFACT_BUCKET;
    let mut rows = vec![vec![
        format!("`{bucket}` versioning"),
        code(m.text(bucket, "/VersioningConfiguration/Status")),
    ]];
    for rule in m
        .prop(bucket, "/LifecycleConfiguration/Rules")
        .as_array()
        .into_iter()
        .flatten()
    {
        rows.push(vec![
            format!("`{bucket}` rule {}", code(&readable(&rule["Id"]))),
            bucket_rule(rule),
        ]);
    }
    let repository = ids::IMAGE_REPOSITORY;
    let stage_tags = m
        .prop(repository, "/ImageTagMutabilityExclusionFilters")
        .as_array();
    let stage_tags: Vec<String> = stage_tags
        .into_iter()
        .flatten()
        .map(|f| code(&readable(&f["ImageTagMutabilityExclusionFilterValue"])))
        .collect();
    rows.push(vec![
        format!("`{repository}` tags"),
        format!(
            "{}: tags are immutable except the stage tags {}",
            code(m.text(repository, "/ImageTagMutability")),
            stage_tags.join(", ")
        ),
    ]);
    let policy = m.text(repository, "/LifecyclePolicy/LifecyclePolicyText");
    let policy: Value = serde_json::from_str(policy).unwrap_or_default();
    for rule in policy["rules"].as_array().into_iter().flatten() {
        rows.push(vec![
            format!("`{repository}` lifecycle rule {}", rule["rulePriority"]),
            plain(&readable(&rule["description"])),
        ]);
    }
    for (id, resource) in m
        .resources()
        .filter(|(_, r)| r["Type"] == "AWS::Logs::LogGroup")
    {
        let days = &resource["Properties"]["RetentionInDays"];
        rows.push(vec![
            format!("`{id}` {}", code(&physical_name(resource))),
            format!(
                "log events kept {}",
                count(days.as_u64().unwrap_or(0), "day")
            ),
        ]);
    }
    doc.table(&["What", "Setting"], &rows);
}

/// An S3 lifecycle rule in words.
fn bucket_rule(rule: &Value) -> String {
    let mut terms = Vec::new();
    if let Some(days) = rule["ExpirationInDays"].as_u64() {
        terms.push(format!("objects expire after {}", count(days, "day")));
    }
    if let Some(days) = rule["NoncurrentVersionExpiration"]["NoncurrentDays"].as_u64() {
        terms.push(format!(
            "noncurrent versions are deleted {} after they become noncurrent",
            count(days, "day")
        ));
    }
    if let Some(days) = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"].as_u64() {
        terms.push(format!(
            "incomplete uploads are aborted after {}",
            count(days, "day")
        ));
    }
    if rule["ExpiredObjectDeleteMarker"] == true {
        terms.push("expired delete markers are removed".to_owned());
    }
    let status = readable(&rule["Status"]);
    if status == "Enabled" {
        terms.join("; ")
    } else {
        format!("{} ({status})", terms.join("; "))
    }
}

fn resources(doc: &mut Doc, m: &Model) {
    doc.heading(2, "Resources");
    let rows: Vec<Vec<String>> = m
        .resources()
        .map(|(id, resource)| {
            let type_name = resource["Type"].as_str().unwrap_or("");
            vec![
                code(id),
                code(type_name),
                name_cell(resource),
                purpose(resource),
            ]
        })
        .collect();
    doc.table(&["Logical id", "Type", "Physical name", "Purpose"], &rows);
}

/// The physical name the template gives `resource`, or `generated` (CloudFormation names it).
fn physical_name(resource: &Value) -> String {
    let property = match resource["Type"].as_str().unwrap_or("") {
        "AWS::S3::Bucket" => "BucketName",
        "AWS::ECR::Repository" => "RepositoryName",
        "AWS::Logs::LogGroup" => "LogGroupName",
        "AWS::Lambda::Function" => "FunctionName",
        "AWS::SNS::Topic" => "TopicName",
        "AWS::KMS::Alias" => "AliasName",
        "AWS::CodeConnections::Connection" => "ConnectionName",
        "AWS::IAM::Role" => "RoleName",
        "AWS::CodeBuild::Project"
        | "AWS::CodePipeline::Pipeline"
        | "AWS::Events::EventBus"
        | "AWS::Events::Rule"
        | "AWS::SecretsManager::Secret" => "Name",
        _ => "",
    };
    match &resource["Properties"][property] {
        Value::Null => "generated".to_owned(),
        value => readable(value),
    }
}

/// The physical name as code, or `generated`.
fn name_cell(resource: &Value) -> String {
    match physical_name(resource) {
        name if name == "generated" => name,
        name => code(&name),
    }
}

/// What a resource is for: its Description property where it has one, else a phrase per type.
fn purpose(resource: &Value) -> String {
    let properties = &resource["Properties"];
    if let Some(description) = properties["Description"].as_str() {
        return plain(description);
    }
    match resource["Type"].as_str().unwrap_or("") {
        "AWS::S3::Bucket" => "Artifact store of the pipeline".to_owned(),
        "AWS::S3::BucketPolicy" => format!("Policy of {}", code(&readable(&properties["Bucket"]))),
        "AWS::ECR::Repository" => {
            "Image repository: commit tags (immutable) and stage tags".to_owned()
        }
        "AWS::Logs::LogGroup" => "Log group".to_owned(),
        "AWS::CodeConnections::Connection" => {
            "GitHub connection of the Source action (PENDING until authorized)".to_owned()
        }
        "AWS::KMS::Alias" => format!("Alias of {}", code(&readable(&properties["TargetKeyId"]))),
        "AWS::SNS::Topic" => "Notifications and approval requests".to_owned(),
        "AWS::SNS::TopicPolicy" => "Who may publish to the notification topic".to_owned(),
        "AWS::CodePipeline::Pipeline" => "The pipeline".to_owned(),
        "AWS::Lambda::Url" => format!(
            "Function URL of {}, `AuthType: {}`",
            code(&readable(&properties["TargetFunctionArn"])),
            readable(&properties["AuthType"])
        ),
        "AWS::Lambda::Permission" => format!(
            "Lets {} call {} on {}",
            code(&readable(&properties["Principal"])),
            code(&readable(&properties["Action"])),
            code(&readable(&properties["FunctionName"]))
        ),
        other => plain(other),
    }
}

fn iam(doc: &mut Doc, m: &Model) {
    doc.heading(2, "IAM");
    doc.line("One role per principal, each with one inline policy derived from use. Resources: `X (arn)` is the ARN of the resource `X` in this stack, `X (ref)` its `Ref` value; `${...}` is resolved by CloudFormation.");
    for (id, role) in m.resources().filter(|(_, r)| r["Type"] == "AWS::IAM::Role") {
        doc.heading(3, &code(id));
        doc.line(&role_trust(role));
        doc.line("");
        let statements =
            role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].as_array();
        let statements: Vec<&Value> = statements.into_iter().flatten().collect();
        let rows: Vec<Vec<String>> = statements
            .iter()
            .map(|s| {
                vec![
                    code(&readable(&s["Sid"])),
                    list(&s["Action"], ", "),
                    list(&s["Resource"], ", "),
                ]
            })
            .collect();
        doc.table(&["Statement", "Actions", "Resources"], &rows);
        let reasons = wildcard_reasons(role, &statements);
        if !reasons.is_empty() {
            doc.line("");
            for reason in reasons {
                doc.line(&reason);
            }
        }
    }
}

/// Who may assume the role, and on whose behalf.
fn role_trust(role: &Value) -> String {
    let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
    let mut text = format!(
        "{}. Assumed by {}",
        plain(&readable(&role["Properties"]["Description"])),
        code(&readable(&trust["Principal"]["Service"]))
    );
    let source = &trust["Condition"]["ArnLike"]["aws:SourceArn"];
    if source.is_null() {
        text.push_str(" (no `aws:SourceArn` condition in the trust policy).");
    } else {
        text.push_str(&format!(
            " only on behalf of {} in this account.",
            code(&readable(source))
        ));
    }
    text
}

/// A line for every statement on `"*"`, with the reason the role's Metadata records, and one
/// for every policy-linter finding accepted for the role.
fn wildcard_reasons(role: &Value, statements: &[&Value]) -> Vec<String> {
    let recorded = role["Metadata"]["shipline"]["wildcards"].as_array();
    let recorded: Vec<&Value> = recorded.into_iter().flatten().collect();
    let mut lines: Vec<String> = statements
        .iter()
        .filter(|s| {
            s["Resource"]
                .as_array()
                .is_some_and(|r| r.iter().any(|v| v == "*"))
        })
        .map(|s| {
            let reason = recorded
                .iter()
                .find(|w| w["sid"] == s["Sid"])
                .and_then(|w| w["reason"].as_str())
                .map_or(NO_REASON.to_owned(), plain);
            format!(
                "- `*` in {} ({}): {reason}",
                code(&readable(&s["Sid"])),
                list(&s["Action"], ", ")
            )
        })
        .collect();
    for accepted in role["Metadata"]["parliament"]["ignore"]
        .as_array()
        .into_iter()
        .flatten()
    {
        lines.push(format!(
            "- Accepted policy-linter finding {} for {}: {}",
            code(&readable(&accepted["issue"])),
            list(&accepted["actions"], ", "),
            plain(&readable(&accepted["reason"]))
        ));
    }
    lines
}

fn outputs(doc: &mut Doc, m: &Model) {
    doc.heading(2, "Outputs");
    let outputs = m.template["Outputs"].as_object().into_iter().flatten();
    let rows: Vec<Vec<String>> = outputs
        .map(|(name, output)| {
            vec![
                code(name),
                code(&readable(&output["Value"])),
                plain(&readable(&output["Description"])),
            ]
        })
        .collect();
    doc.table(&["Output", "Value", "Description"], &rows);
}

fn manual_steps(doc: &mut Doc, m: &Model) {
    doc.heading(2, "After deploying");
    let config = m.config;
    let app = &config.app.name;
    let mut steps = Vec::new();
    if config.source.connection_arn.is_none() {
        let examples: Vec<String> = ["us-east-1", "eu-west-1"]
            .into_iter()
            .filter_map(|region| {
                connection_name(app, region).map(|name| format!("{} in {region}", code(&name)))
            })
            .collect();
        steps.push(format!(
            "**Authorize the GitHub connection** {} (e.g. {}; `shipline deploy` prints the exact name). AWS creates it `PENDING`, and the Source stage fails until someone completes the GitHub handshake: open `{}` (`<region>`: the stack's region), select the connection, choose **Update pending connection** and install the AWS Connector for GitHub app on {}.",
            code(&m.connection()),
            examples.join(", "),
            connections::console_url("<region>"),
            code(&config.source.repository),
        ));
    } else {
        steps.push(format!(
            "**Check the GitHub connection** {} (`source.connection_arn`): it must be `AVAILABLE` and allowed to read {}.",
            code(&m.connection()),
            code(&config.source.repository),
        ));
    }
    if config.source.trigger == Trigger::Webhook {
        steps.push(format!(
            "**Register the GitHub webhook** at <https://github.com/{}/settings/hooks/new>:\n   - **Payload URL**: the stack output `WebhookUrl`\n   - **Content type**: `application/json`\n   - **Secret**: `aws secretsmanager get-secret-value --query SecretString --output text --secret-id <WebhookSecretArn output>`\n   - **Events**: *Just the push event*\n\n   GitHub then sends a `ping`; the receiver answers 200 (*Recent Deliveries* in GitHub).",
            config.source.repository
        ));
    }
    let targets: Vec<String> = config
        .promotion_stages()
        .iter()
        .filter_map(|s| s.ecs.as_ref())
        .map(|t| {
            format!(
                "{} (cluster {})",
                code(t.service_name()),
                code(t.cluster_name())
            )
        })
        .collect();
    let functions: Vec<String> = config
        .promotion_stages()
        .iter()
        .filter_map(|s| s.lambda.as_ref())
        .map(|t| code(t.function_name()))
        .collect();
    if !functions.is_empty() {
        steps.push(format!(
            "**Check the Lambda functions** {}: each must be a container-image function (`PackageType: Image`) in this account and region, built for x86_64 like the pipeline's image, with its alias created; the repository policy already lets Lambda pull the image for them.",
            functions.join(", ")
        ));
    }
    if !targets.is_empty() {
        steps.push(format!(
            "**Let the ECS services pull the image** — {}: each task definition's execution role needs `ecr:GetAuthorizationToken` (on `*`) and `ecr:BatchGetImage`, `ecr:GetDownloadUrlForLayer` on the repository (the AWS managed policy `AmazonECSTaskExecutionRolePolicy` has them). List the task and execution roles in `pass_roles`. Each stage's first deploy needs a successful earlier run of that stage for its automatic rollback to have an image to return to.",
            targets.join(", ")
        ));
    }
    if !config.notifications.emails.is_empty() {
        steps.push("**Confirm the email subscriptions**: each address gets a confirmation email from AWS and receives nothing until it is confirmed.".to_owned());
    }
    for (i, step) in steps.iter().enumerate() {
        doc.line(&format!("{}. {step}", i + 1));
    }
}

/// A template value in words: strings as they are, `Fn::GetAtt X.Arn` as `X (arn)`, `Ref X` as
/// `X (ref)`, pseudo parameters and `Fn::Sub` text as `${...}`, the region's code in a mapping
/// as `<region code>`; anything else as compact JSON.
fn readable(value: &Value) -> String {
    let Some((function, argument)) = value
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())
    else {
        return match value {
            Value::String(text) => text.clone(),
            Value::Null => String::new(),
            other => embedded_json(other.clone()),
        };
    };
    let args = argument.as_array().map(Vec::as_slice).unwrap_or_default();
    match (function.as_str(), argument) {
        ("Ref", Value::String(name)) if name.starts_with("AWS::") => format!("${{{name}}}"),
        ("Ref", Value::String(name)) => format!("{name} (ref)"),
        ("Fn::GetAtt", _) if args.len() == 2 => {
            let attribute = readable(&args[1]);
            let attribute = if attribute == "Arn" {
                "arn".to_owned()
            } else {
                attribute
            };
            format!("{} ({attribute})", readable(&args[0]))
        }
        ("Fn::Sub", Value::String(text)) => text.clone(),
        ("Fn::Sub", _) if args.len() == 2 => {
            let variables = args[1].as_object().into_iter().flatten();
            let variables: Vec<String> = variables
                .map(|(k, v)| format!("{k} = {}", readable(v)))
                .collect();
            format!("{} (where {})", readable(&args[0]), variables.join(", "))
        }
        ("Fn::Join", _) if args.len() == 2 => {
            let parts = args[1].as_array().into_iter().flatten().map(readable);
            parts.collect::<Vec<_>>().join(&readable(&args[0]))
        }
        ("Fn::FindInMap", _)
            if args.len() == 3
                && args[1] == serde_json::json!({ "Ref": "AWS::Region" })
                && args[2] == "Code" =>
        {
            "<region code>".to_owned()
        }
        ("Fn::Select", _) if args.len() == 2 => {
            format!("element {} of {}", args[0], readable(&args[1]))
        }
        ("Fn::Split", _) if args.len() == 2 => {
            format!("{} split at \"{}\"", readable(&args[1]), readable(&args[0]))
        }
        _ => embedded_json(value.clone()),
    }
}

/// `text` as a Markdown code span (longer fences when it holds backticks).
fn code(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest > 0 || text.starts_with(' ') || text.ends_with(' ') {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

/// `n` and the unit, plural unless `n` is 1: `1 day`, `7 days`.
fn count(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// Text from the template as Markdown prose: what Markdown would read as markup (emphasis,
/// code, links, HTML) escaped with backslashes; `_` inside a word is no markup (GFM) and stays.
fn plain(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut escaped = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let intraword = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        let markup = match c {
            '\\' | '`' | '*' | '[' | ']' | '<' => true,
            '_' => !(intraword(i.checked_sub(1)) && intraword(Some(i + 1))),
            _ => false,
        };
        if markup {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// `text` safe in a GFM table cell: pipes escaped (also inside code spans, as GFM requires),
/// line breaks as spaces.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn readable_writes_intrinsics_as_reviewers_read_them() {
        assert_eq!(
            readable(&json!({ "Fn::GetAtt": ["Repo", "Arn"] })),
            "Repo (arn)"
        );
        assert_eq!(readable(&json!({ "Ref": "Topic" })), "Topic (ref)");
        assert_eq!(readable(&json!({ "Ref": "AWS::Region" })), "${AWS::Region}");
        assert_eq!(
            readable(&json!({ "Fn::Sub": "${Bucket.Arn}/*" })),
            "${Bucket.Arn}/*"
        );
        let name = json!({ "Fn::Join": ["-", ["orders", { "Fn::FindInMap": ["RegionCodes", { "Ref": "AWS::Region" }, "Code"] }]] });
        assert_eq!(readable(&name), "orders-<region code>");
        assert_eq!(
            readable(&json!({ "Fn::Base64": "x" })),
            r#"{"Fn::Base64":"x"}"#
        );
    }

    #[test]
    fn code_spans_and_cells_survive_backticks_and_pipes() {
        assert_eq!(code("main"), "`main`");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(cell(&code("a|b")), "`a\\|b`");
        assert_eq!(
            plain("<this ARN> *all* my_var _x_"),
            "\\<this ARN> \\*all\\* my_var \\_x\\_"
        );
    }

    #[test]
    fn mermaid_labels_escape_syntax_as_entity_codes() {
        assert_eq!(mermaid_text("a\"b"), "a#quot;b");
        assert_eq!(mermaid_text("<x>#1|;%"), "#60;x#62;#35;1#124;#59;#37;");
        assert_eq!(mermaid_text("release/2026 (v2)"), "release/2026 (v2)");
    }

    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(count(1, "day"), "1 day");
        assert_eq!(count(30, "day"), "30 days");
    }
}
