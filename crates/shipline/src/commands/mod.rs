//! One module per command. Each takes typed options, does one operation, and returns an
//! [`Output`] (what to print, as text and as JSON) or a [`Failure`]; only `main` turns either
//! into bytes and an exit code.

#[cfg(feature = "aws")]
mod aws;
pub mod cost;
#[cfg(feature = "aws")]
pub mod deploy;
#[cfg(feature = "aws")]
pub mod destroy;
pub mod docs;
pub mod init;
#[cfg(feature = "aws")]
pub mod plan;
#[cfg(feature = "aws")]
pub mod rollback;
pub mod schema;
#[cfg(feature = "aws")]
pub mod status;
pub mod synth;
#[cfg(feature = "aws")]
pub mod template;
#[cfg(feature = "validate")]
pub mod validate;

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};
use shipline_core::{Config, ConfigError};

#[cfg(feature = "aws")]
pub use aws::Aws;

/// What a command reports: lines for stdout (text), the same data as a JSON object
/// (`--json`), and notes for stderr.
#[derive(Debug)]
pub struct Output {
    pub json: Value,
    pub lines: Vec<String>,
    pub notes: Vec<String>,
}

impl Output {
    pub fn new(data: &impl Serialize, lines: Vec<String>) -> Self {
        Output {
            json: serde_json::to_value(data).expect("reports serialize"),
            lines,
            notes: Vec::new(),
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// The exit code of a success: 0; with `plan --detailed-exitcode`, 2 when the plan found
    /// changes (its result's `status` is `PLANNED`).
    pub fn exit_code(&self, codes: ExitCodes) -> u8 {
        match codes {
            ExitCodes::Detailed if self.json["status"] == "PLANNED" => 2,
            _ => 0,
        }
    }
}

/// Which exit-code convention a run follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCodes {
    /// 0 success, 1 the operation failed, 2 bad input, 130 interrupted.
    Standard,
    /// `plan --detailed-exitcode` (Terraform's `-detailed-exitcode`): 0 no changes, 2 changes,
    /// 1 every error (bad input too, so that 2 only ever means changes), 130 interrupted.
    Detailed,
}

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// `shipline.toml` is wrong.
    Config(Box<ConfigError>),
    /// Bad input found before any AWS request: flags, template file, region, placeholder.
    BadInput(String),
    /// The operation failed, or was refused or cancelled.
    Failed(String),
    /// Ctrl-C: shipline stopped waiting; an operation already started goes on in AWS.
    Interrupted { stack: String },
}

#[cfg(feature = "aws")]
impl From<crate::cloudformation::error::DeployError> for Failure {
    fn from(err: crate::cloudformation::error::DeployError) -> Self {
        use crate::cloudformation::error::DeployError;
        match err {
            // No region, an unknown profile, no or expired credentials: bad input (exit 2),
            // the user must fix the configuration; an unreachable endpoint stays a failure.
            DeployError::Setup(setup) if setup.is_configuration() => {
                Failure::BadInput(setup.to_string())
            }
            err => Failure::Failed(err.to_string()),
        }
    }
}

impl Failure {
    /// The process exit code, the one place that decides it: 1 the operation failed, 2 bad
    /// input, 130 interrupted (128 + SIGINT, as shells report it); under
    /// [`ExitCodes::Detailed`] bad input is 1 too.
    pub fn exit_code(&self, codes: ExitCodes) -> u8 {
        match (self, codes) {
            (Failure::Interrupted { .. }, _) => 130,
            (Failure::Failed(_), _) | (_, ExitCodes::Detailed) => 1,
            (Failure::Config(_) | Failure::BadInput(_), ExitCodes::Standard) => 2,
        }
    }

    /// The one-line (config errors: located, multi-line) message for stderr.
    pub fn message(&self) -> String {
        match self {
            Failure::Config(err) => err.to_string(),
            Failure::BadInput(message) | Failure::Failed(message) => message.clone(),
            Failure::Interrupted { stack } => format!(
                "interrupted: any operation already started continues in AWS; watch it with `shipline status --stack-name {stack}` or in the CloudFormation console"
            ),
        }
    }

    /// `{"error": {...}}` for `--json`: the message, the exit code, and for config errors
    /// where the problem is.
    pub fn json(&self, codes: ExitCodes) -> Value {
        let mut error = json!({ "message": self.message(), "exit_code": self.exit_code(codes) });
        if let Failure::Config(err) = self {
            error["message"] = json!(err.message);
            error["file"] = json!(err.file);
            error["line"] = json!(err.position.map(|p| p.0));
            error["column"] = json!(err.position.map(|p| p.1));
            error["key"] = json!(err.key);
            error["help"] = json!(err.help);
        }
        json!({ "error": error })
    }
}

/// Where the config came from, for messages.
pub enum ConfigSource {
    File,
    EmbeddedDefault,
}

/// The config to use: `--config PATH` (must exist), else `./shipline.toml` if present, else
/// the embedded default pipeline.
#[allow(clippy::result_large_err)] // built once per run, boxed right after
pub fn load_config(explicit: Option<&Path>) -> Result<(Config, ConfigSource), ConfigError> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => {
            let default = PathBuf::from("shipline.toml");
            if !default.exists() {
                return Ok((Config::default(), ConfigSource::EmbeddedDefault));
            }
            default
        }
    };
    let config = Config::load(&path)?;
    Ok((config, ConfigSource::File))
}

/// What the user must do by hand after deploying to `region`.
pub fn next_steps(config: &Config, region: &str) -> String {
    let mut steps = String::new();
    if config.source.connection_arn.is_none() {
        let name = shipline_core::pipeline::connection_name(&config.app.name, region)
            .unwrap_or_else(|| format!("{}-<region code>", config.app.name));
        steps.push_str(&format!(
            "next: authorize the GitHub connection `{name}` (it starts PENDING): {}\n",
            shipline_core::resources::connections::console_url(region)
        ));
    }
    if config.source.trigger == shipline_core::config::Trigger::Webhook {
        steps.push_str(&format!(
            "next: register the webhook in GitHub (https://github.com/{}/settings/hooks/new):\n\
             \x20 Payload URL:  the stack output WebhookUrl\n\
             \x20 Content type: application/json\n\
             \x20 Secret:       aws secretsmanager get-secret-value --query SecretString --output text --secret-id <stack output WebhookSecretArn>\n\
             \x20 Events:       Just the push event\n",
            config.source.repository
        ));
    }
    steps
}

/// Stack outputs as aligned `name value` lines.
#[cfg(feature = "aws")]
fn output_lines(outputs: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    outputs
        .iter()
        .map(|(key, value)| format!("  {key:<24} {value}"))
        .collect()
}

/// The names of the promotion stages, in order.
#[cfg(feature = "aws")]
fn stage_names(config: &Config) -> Vec<String> {
    config
        .promotion_stages()
        .into_iter()
        .map(|s| s.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_steps_name_the_regions_connection_and_the_webhook() {
        let config = Config::parse(
            "t.toml",
            "[app]\nname = \"orders\"\n[source]\nrepository = \"acme/orders\"\n",
        )
        .unwrap();
        let steps = next_steps(&config, "eu-west-1");
        assert!(
            steps.contains("authorize the GitHub connection `orders-euw1`"),
            "{steps}"
        );
        assert!(
            steps.contains(
                "https://eu-west-1.console.aws.amazon.com/codesuite/settings/connections?region=eu-west-1"
            ),
            "{steps}"
        );
        assert!(
            steps.contains("https://github.com/acme/orders/settings/hooks/new"),
            "{steps}"
        );
    }

    #[test]
    fn failures_map_to_exit_codes_and_json_errors() {
        let err = Config::parse("shipline.toml", "[logs]\nretention_days = 8\n").unwrap_err();
        let config = Failure::Config(Box::new(err));
        let json = config.json(ExitCodes::Standard);
        assert_eq!(json["error"]["exit_code"], 2);
        assert_eq!(json["error"]["line"], 2);
        assert_eq!(json["error"]["key"], "logs.retention_days");
        assert!(json["error"]["help"].as_str().unwrap().contains("3653"));
        assert_eq!(
            Failure::Failed("x".into()).json(ExitCodes::Standard),
            json!({ "error": { "message": "x", "exit_code": 1 } })
        );
        assert_eq!(
            Failure::BadInput("y".into()).exit_code(ExitCodes::Standard),
            2
        );
    }

    /// `plan --detailed-exitcode`: 2 means changes and nothing else, so every error is 1 (also in
    /// the JSON error), an interruption stays 130.
    #[test]
    fn detailed_exit_codes_keep_2_for_changes() {
        let err = Config::parse("shipline.toml", "[logs]\nretention_days = 8\n").unwrap_err();
        let config = Failure::Config(Box::new(err));
        assert_eq!(config.exit_code(ExitCodes::Detailed), 1);
        assert_eq!(config.json(ExitCodes::Detailed)["error"]["exit_code"], 1);
        assert_eq!(
            Failure::BadInput("y".into()).exit_code(ExitCodes::Detailed),
            1
        );
        assert_eq!(
            Failure::Failed("x".into()).exit_code(ExitCodes::Detailed),
            1
        );
        let interrupted = Failure::Interrupted { stack: "s".into() };
        assert_eq!(interrupted.exit_code(ExitCodes::Detailed), 130);
        let planned = Output::new(&json!({ "status": "PLANNED" }), vec![]);
        let unchanged = Output::new(&json!({ "status": "NO_CHANGES" }), vec![]);
        assert_eq!(planned.exit_code(ExitCodes::Detailed), 2);
        assert_eq!(unchanged.exit_code(ExitCodes::Detailed), 0);
        assert_eq!(planned.exit_code(ExitCodes::Standard), 0);
    }
}
