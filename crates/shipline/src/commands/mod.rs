//! One module per command. Each takes typed options, does one operation and returns data or
//! an error; `main` maps the result to an exit code.

// A config error is built once per run; its size does not matter.
#![allow(clippy::result_large_err)]

pub mod aws;
pub mod synth;

use std::path::{Path, PathBuf};

use shipline_core::{Config, ConfigError};

/// Where the config came from, for messages.
pub enum ConfigSource {
    File,
    EmbeddedDefault,
}

/// The config to use: `--config PATH` (must exist), else `./shipline.toml` if present, else
/// the embedded default pipeline.
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
            "next: authorize the GitHub connection `{name}` (it starts PENDING): {}?region={region}\n",
            shipline_core::resources::connections::CONSOLE_URL
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
        assert!(steps.contains("connections?region=eu-west-1"), "{steps}");
        assert!(
            steps.contains("https://github.com/acme/orders/settings/hooks/new"),
            "{steps}"
        );
    }
}
