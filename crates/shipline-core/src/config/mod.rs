//! `shipline.toml`: the schema ([`Config`]), its defaults (the embedded default pipeline is
//! `Config::default()`), parsing and validation. Every error is a [`ConfigError`] that names the
//! file, line, column and key and says what is allowed; nothing here panics on user input.
//!
//! Parsing is two steps over the same text: serde (types, unknown keys — every table denies
//! unknown fields) and then [`validate`] (names, ranges, AWS-accepted values). Both report a
//! dotted key path; [`locate`] maps a path or a byte span back to a line in the file.

// A config error is built once per run; its size does not matter.
#![allow(clippy::result_large_err)]

mod ecs;
mod error;
mod lambda;
mod locate;
mod validate;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

pub use ecs::MAX_PASS_ROLES;
pub use error::{ConfigError, MAX_CONFIG_BYTES};
pub use locate::{KeyPath, Segment};
pub use validate::{
    APPROVAL_PREFIX, BUCKET_NAME_HELP, LOG_RETENTION_DAYS, MAX_STAGES, is_bucket_name,
    owner_repo_of_url,
};

/// The whole `shipline.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub app: AppConfig,
    pub source: SourceConfig,
    pub build: BuildConfig,
    /// `[[stages]]`: the promotion stages, in order (default dev, staging, production).
    pub stages: Vec<StageConfig>,
    pub scan: ScanConfig,
    pub notifications: NotificationsConfig,
    pub artifacts: ArtifactsConfig,
    pub images: ImagesConfig,
    pub logs: LogsConfig,
    pub webhook: WebhookConfig,
    pub deploy: DeployConfig,
    /// Tags applied to every taggable resource, merged over the defaults (`Environment =
    /// "production"`, `Team = "devops"`: `default_tags()`).
    pub tags: BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            app: AppConfig::default(),
            source: SourceConfig::default(),
            build: BuildConfig::default(),
            stages: ["dev", "staging", "production"]
                .map(|name| StageConfig {
                    name: name.to_owned(),
                    approval: None,
                    deploy: None,
                })
                .to_vec(),
            scan: ScanConfig::default(),
            notifications: NotificationsConfig::default(),
            artifacts: ArtifactsConfig::default(),
            images: ImagesConfig::default(),
            logs: LogsConfig::default(),
            webhook: WebhookConfig::default(),
            deploy: DeployConfig::default(),
            tags: BTreeMap::new(),
        }
    }
}

/// `[[stages]]`: one promotion stage. Its name is the pipeline stage's name and the image tag
/// the stage moves to the digest the execution built.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    /// The pipeline stage's name and the image tag it moves: letters, digits, `_`, `.`, `-`.
    pub name: String,
    /// A manual approval before the promotion. Default: only the last stage.
    pub approval: Option<bool>,
    /// `[stages.deploy]`: where the stage deploys its image after moving its tag. Default:
    /// nowhere (the stage only moves its tag).
    pub deploy: Option<StageDeploy>,
}

/// `[stages.deploy]`: the stage's deploy target.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StageDeploy {
    /// An existing ECS service that runs the promoted digest.
    pub ecs: Option<EcsTarget>,
    /// An existing container-image Lambda function that runs the promoted digest.
    pub lambda: Option<LambdaTarget>,
}

/// `[stages.deploy.lambda]`: an existing container-image Lambda function (in the stack's account
/// and region) whose code the stage sets to the promoted digest, publishing a version and
/// moving `alias` to it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LambdaTarget {
    /// The function's name (or unqualified ARN).
    pub function: String,
    /// The alias moved to the published version (it must exist). Default: none, only a
    /// version is published.
    pub alias: Option<String>,
    /// How long the stage waits for Lambda to finish the update before failing. Default 30.
    #[serde(default = "default_lambda_wait_minutes")]
    pub wait_minutes: u32,
}

fn default_lambda_wait_minutes() -> u32 {
    30
}

/// `[stages.deploy.ecs]`: an existing ECS service (in the stack's account and region) that the
/// stage updates to the promoted digest, through the service's own deployment strategy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EcsTarget {
    /// The cluster's name (or ARN).
    pub cluster: String,
    /// The service's name (or ARN).
    pub service: String,
    /// The container in the service's task definition whose image the stage replaces.
    pub container: String,
    /// IAM roles the service's task definition uses (task role, execution role), by name or
    /// ARN: registering a new revision passes them to ECS, so the deploy may pass these only.
    #[serde(default)]
    pub pass_roles: Vec<String>,
    /// How long the stage waits for ECS to finish the deployment (bake time included) before
    /// failing. Default 60.
    #[serde(default = "default_deploy_wait_minutes")]
    pub wait_minutes: u32,
}

fn default_deploy_wait_minutes() -> u32 {
    60
}

/// A promotion stage as the pipeline runs it (defaults applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub name: String,
    pub approval: bool,
    /// The ECS service the stage deploys to, if any.
    pub ecs: Option<EcsTarget>,
    /// The Lambda function the stage deploys to, if any (at most one target per stage).
    pub lambda: Option<LambdaTarget>,
}

impl Stage {
    /// Whether the stage deploys its digest somewhere after moving its tag.
    pub fn deploys(&self) -> bool {
        self.ecs.is_some() || self.lambda.is_some()
    }

    /// The stage's target in words (`ECS service web in cluster prod`), if it has one.
    pub fn target_description(&self) -> Option<String> {
        match (&self.ecs, &self.lambda) {
            (Some(ecs), _) => Some(format!(
                "ECS service {} in cluster {}",
                ecs.service_name(),
                ecs.cluster_name()
            )),
            (_, Some(lambda)) => Some(match &lambda.alias {
                Some(alias) => {
                    format!("Lambda function {} (alias {alias})", lambda.function_name())
                }
                None => format!("Lambda function {}", lambda.function_name()),
            }),
            _ => None,
        }
    }
}

/// `[scan]`: the security gate between the build and the first promotion.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct ScanConfig {
    /// Which scanner the gate reads.
    pub gate: ScanGate,
    /// Findings at or above this severity count against `max_findings`.
    pub severity: Severity,
    /// The most counted findings an image may have and still be promoted.
    pub max_findings: u32,
    /// Vulnerability ids (e.g. "CVE-2024-12345") not counted (`gate = "basic"` only).
    pub ignore: Vec<String>,
    /// How long the gate waits for the scan-on-push result before failing (`basic` only).
    pub wait_minutes: u32,
}

/// Which scanner the gate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum ScanGate {
    /// ECR basic scan-on-push results, checked by shipline's gate function.
    #[default]
    Basic,
    /// CodePipeline's InspectorScan action (accounts with Amazon Inspector).
    Inspector,
}

/// Finding severities, lowest first (ECR basic scanning's levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    #[default]
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Informational,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "INFORMATIONAL",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            gate: ScanGate::Basic,
            severity: Severity::Critical,
            max_findings: 0,
            ignore: Vec::new(),
            wait_minutes: 30,
        }
    }
}

/// `[notifications]`: the encrypted SNS topic pipeline events go to.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsConfig {
    /// Email addresses subscribed to the topic (each must confirm the subscription).
    pub emails: Vec<String>,
    /// Pipeline execution states that send a notification.
    pub on: Vec<ExecutionState>,
}

/// A final state of a pipeline execution, as CodePipeline reports it to EventBridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum ExecutionState {
    Failed,
    Succeeded,
    Superseded,
    Canceled,
    Stopped,
}

impl ExecutionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionState::Failed => "FAILED",
            ExecutionState::Succeeded => "SUCCEEDED",
            ExecutionState::Superseded => "SUPERSEDED",
            ExecutionState::Canceled => "CANCELED",
            ExecutionState::Stopped => "STOPPED",
        }
    }
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        NotificationsConfig {
            emails: Vec::new(),
            on: vec![ExecutionState::Failed, ExecutionState::Succeeded],
        }
    }
}

/// `[app]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct AppConfig {
    /// Used in every resource name: repository `<name>`, project `<name>-build`, ...
    pub name: String,
}

/// `[source]`: the GitHub repository and branch the pipeline follows.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct SourceConfig {
    /// `owner/repo` on GitHub.
    pub repository: String,
    /// The branch the pipeline follows: a branch name, not a ref (no `refs/heads/`).
    pub branch: String,
    /// An existing CodeConnections connection; when absent the stack creates one (PENDING
    /// until someone authorizes it in the console).
    pub connection_arn: Option<String>,
    /// What starts the pipeline on a push.
    pub trigger: Trigger,
    /// Path filters of the native trigger (`trigger = "connection"` only).
    pub file_paths: FilePaths,
}

/// What starts an execution when someone pushes to the branch. Exactly one is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// GitHub webhook -> signed-delivery receiver (Lambda URL) -> EventBridge bus -> rule ->
    /// StartPipelineExecution. The Source action does not detect changes itself.
    #[default]
    Webhook,
    /// CodePipeline V2's own trigger on the connection, with optional file-path filters.
    Connection,
}

/// `[source.file_paths]`: glob patterns of the native trigger's push filter.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct FilePaths {
    /// Pushes touching a file matching one of these globs start the pipeline (at most 8).
    pub include: Vec<String>,
    /// Pushes touching only files matching these globs are ignored (at most 8).
    pub exclude: Vec<String>,
}

/// `[webhook]`: the GitHub webhook receiver (`trigger = "webhook"`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// Concurrent executions reserved for (and so the most allowed to) the receiver; 0
    /// reserves none (needed in accounts whose concurrency quota is still 10).
    pub reserved_concurrency: u32,
}

impl Default for WebhookConfig {
    /// Reserves nothing by default: Lambda lets an account reserve at most its unreserved
    /// concurrency minus 100, and new accounts have a quota of 10, so any reservation fails the
    /// deploy there (Lambda Developer Guide, "Configuring reserved concurrency").
    fn default() -> Self {
        WebhookConfig {
            reserved_concurrency: 0,
        }
    }
}

/// `[deploy]`: how `plan` and `deploy` reach CloudFormation (not part of the template).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct DeployConfig {
    /// S3 bucket for templates over CloudFormation's 51,200-byte inline limit; default
    /// `shipline-staging-<account>-<region>`, created on first need. `--staging-bucket` wins.
    pub staging_bucket: Option<String>,
}

/// `[build]`: how CodeBuild builds the image.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct BuildConfig {
    /// Dockerfile path, relative to the repository root.
    pub dockerfile: String,
    /// Docker build context, relative to the repository root.
    pub context: String,
    /// Plain-text environment variables for the build.
    pub environment: BTreeMap<String, String>,
}

/// `[artifacts]`: the pipeline's artifact bucket.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct ArtifactsConfig {
    /// Days after which artifacts expire (noncurrent versions as many days after that), 1-3650.
    pub expiration_days: u32,
}

/// `[images]`: the ECR repository.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct ImagesConfig {
    /// How many images the lifecycle rule keeps (never one a stage tag points at), 1-10000.
    pub keep_last: u32,
}

/// `[logs]`: CloudWatch Logs groups created by the stack.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(serde::Serialize, schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct LogsConfig {
    /// Days CloudWatch Logs keeps the groups' events (a period CloudWatch Logs accepts).
    pub retention_days: u32,
}

/// The placeholder repository of the embedded default pipeline.
pub const PLACEHOLDER_REPOSITORY: &str = "example-org/example-app";

/// Tags every resource gets unless `[tags]` overrides them.
pub fn default_tags() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("Environment".to_owned(), "production".to_owned()),
        ("Team".to_owned(), "devops".to_owned()),
    ])
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            name: "example-app".to_owned(),
        }
    }
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            repository: PLACEHOLDER_REPOSITORY.to_owned(),
            branch: "main".to_owned(),
            connection_arn: None,
            trigger: Trigger::default(),
            file_paths: FilePaths::default(),
        }
    }
}

impl Default for BuildConfig {
    fn default() -> Self {
        BuildConfig {
            dockerfile: "Dockerfile".to_owned(),
            context: ".".to_owned(),
            environment: BTreeMap::new(),
        }
    }
}

impl Default for ArtifactsConfig {
    fn default() -> Self {
        ArtifactsConfig {
            expiration_days: 30,
        }
    }
}

impl Default for ImagesConfig {
    fn default() -> Self {
        ImagesConfig { keep_last: 10 }
    }
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig { retention_days: 7 }
    }
}

impl Config {
    /// Parses and validates `text`, the contents of the file named `file` (used in errors).
    pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
        if text.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::too_large(file, text.len() as u64));
        }
        if text.lines().all(|line| {
            let line = line.trim();
            line.is_empty() || line.starts_with('#')
        }) {
            return Err(ConfigError::empty(file));
        }
        let config: Config =
            toml::from_str(text).map_err(|err| ConfigError::from_toml(file, text, &err))?;
        validate::validate(&config)
            .map_err(|problem| ConfigError::from_problem(file, text, problem))?;
        Ok(config)
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        if size > MAX_CONFIG_BYTES as u64 {
            return Err(ConfigError::too_large(&file, size));
        }
        let bytes = std::fs::read(path).map_err(|err| ConfigError::unreadable(&file, &err))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|err| ConfigError::not_utf8(&file, &bytes, &err))?;
        Config::parse(&file, text)
    }

    /// The promotion stages in order, with their defaults applied: a manual approval precedes
    /// the last stage unless its `approval` says otherwise.
    pub fn promotion_stages(&self) -> Vec<Stage> {
        let last = self.stages.len().saturating_sub(1);
        self.stages
            .iter()
            .enumerate()
            .map(|(i, stage)| Stage {
                name: stage.name.clone(),
                approval: stage.approval.unwrap_or(i == last),
                ecs: stage.deploy.as_ref().and_then(|d| d.ecs.clone()),
                lambda: stage.deploy.as_ref().and_then(|d| d.lambda.clone()),
            })
            .collect()
    }

    /// The tags to apply: the defaults, overridden and extended by `[tags]`.
    pub fn effective_tags(&self) -> BTreeMap<String, String> {
        let mut tags = default_tags();
        tags.extend(self.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        tags
    }
}
