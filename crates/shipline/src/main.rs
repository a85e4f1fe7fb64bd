//! The `shipline` binary: parses arguments (`cli`), runs one command (`commands`), prints
//! data on stdout and messages on stderr, and maps the outcome to an exit code:
//! 0 success, 2 bad input (config errors, usage), 1 anything else.

mod cli;
mod commands;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use commands::ConfigSource;

const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (config, source) = match commands::load_config(cli.config.as_deref()) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if let ConfigSource::EmbeddedDefault = source {
        eprintln!(
            "note: no shipline.toml here; using the embedded default pipeline (placeholder repository {})",
            shipline_core::config::PLACEHOLDER_REPOSITORY
        );
    }
    match cli.command {
        Command::Synth { format } => {
            let text = commands::synth::run(&config, format.into());
            let mut stdout = std::io::stdout().lock();
            if let Err(err) = stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                // A closed pipe (e.g. `| head`) is not worth a panic.
                if err.kind() != std::io::ErrorKind::BrokenPipe {
                    eprintln!("error: writing the template: {err}");
                    return ExitCode::FAILURE;
                }
            }
            eprint!("{}", next_steps(&config));
            ExitCode::SUCCESS
        }
    }
}

/// What the user must do by hand after deploying, printed on stderr after the template.
fn next_steps(config: &shipline_core::Config) -> String {
    let mut steps = String::new();
    if config.source.connection_arn.is_none() {
        steps.push_str(&format!(
            "next: after deploying, authorize the GitHub connection `{}-github` (it starts PENDING): {}\n",
            config.app.name,
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
