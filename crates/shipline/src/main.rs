//! The `shipline` binary: parses arguments (`cli`), runs one command (`commands`: one module
//! each, returning an output or a failure), prints through one `printer`, and exits with the
//! failure's code (`commands::Failure::exit_code`): 0 success, 1 the operation failed, 2 bad
//! input (config errors, usage), 130 interrupted. `plan --detailed-exitcode` follows
//! Terraform instead (`commands::ExitCodes::Detailed`): 0 no changes, 2 changes, 1 any error.
//!
//! `cloudformation`, `staging`, `retained` and `delivery` are the only modules that talk to
//! AWS; `shipline synth` never does.

// Without the `aws` feature, what only the AWS commands use is compiled but unused.
#![cfg_attr(not(feature = "aws"), allow(dead_code))]

mod cli;
#[cfg(feature = "aws")]
mod cloudformation;
mod commands;
#[cfg(feature = "aws")]
mod delivery;
mod metrics;
mod printer;
#[cfg(feature = "aws")]
mod retained;
#[cfg(feature = "aws")]
mod setup_error;
#[cfg(feature = "aws")]
mod staging;
#[cfg(feature = "aws")]
mod targets;
#[cfg(feature = "validate")]
mod validate;

use std::process::ExitCode;

use clap::Parser;
use shipline_core::Config;

use cli::{Cli, Command};
use commands::{ConfigSource, ExitCodes, Failure, Output};
use printer::Printer;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // A usage error is 2 (clap's convention), except under `plan --detailed-exitcode`,
            // where 2 means "changes present" and every error is 1 (Terraform's convention).
            let detailed = std::env::args().any(|a| a == "--detailed-exitcode");
            let code = if err.use_stderr() && detailed {
                1
            } else {
                err.exit_code()
            };
            let _ = err.print();
            return ExitCode::from(u8::try_from(code).unwrap_or(1));
        }
    };
    let assume_yes = matches!(
        cli.command,
        Command::Deploy { yes: true, .. }
            | Command::Destroy { yes: true, .. }
            | Command::Rollback { yes: true, .. }
    );
    let json = cli.command.aws().is_some_and(|aws| aws.json)
        || matches!(cli.command, Command::Cost { json: true, .. });
    let printer = Printer::new(json, cli.quiet, assume_yes);
    let codes = match cli.command {
        Command::Plan {
            detailed_exitcode: true,
            ..
        } => ExitCodes::Detailed,
        _ => ExitCodes::Standard,
    };
    // Completions need no config (a broken shipline.toml must not stop them).
    if let Command::Completions { shell } = cli.command {
        let mut command = <Cli as clap::CommandFactory>::command();
        clap_complete::generate(shell, &mut command, "shipline", &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    // Neither do init (it writes the config) and schema (it describes it).
    let early = match &cli.command {
        Command::Init { repository, force } => Some(commands::init::run(
            cli.config
                .as_deref()
                .unwrap_or(std::path::Path::new("shipline.toml")),
            repository.as_deref(),
            *force,
        )),
        Command::Schema => Some(commands::schema::run()),
        _ => None,
    };
    let result = if let Some(result) = early {
        result
    } else {
        commands::load_config(cli.config.as_deref())
        .map_err(|err| Failure::Config(Box::new(err)))
        .and_then(|(config, source)| {
            if let ConfigSource::EmbeddedDefault = source {
                printer.note(&format!(
                    "note: no shipline.toml here; using the embedded default pipeline (placeholder repository {})",
                    shipline_core::config::PLACEHOLDER_REPOSITORY
                ));
            }
            match cli.command {
                Command::Synth {
                    target,
                    format,
                    ref out,
                } => commands::synth::run(&config, target, format, out.as_deref()),
                Command::Cost { ref usage, .. } => commands::cost::run(&config, usage),
                Command::Docs { ref out } => commands::docs::run(&config, out.as_deref()),
                #[cfg(feature = "validate")]
                Command::Validate {
                    ref template,
                    ref rules,
                    format,
                } => commands::validate::run(&config, template.as_deref(), rules, format, &printer),
                command => run_on_aws(command, &config, &printer),
            }
        })
    };
    match result {
        Ok(output) => {
            printer.output(&output);
            ExitCode::from(output.exit_code(codes))
        }
        Err(failure) => {
            printer.failure(&failure, codes);
            ExitCode::from(failure.exit_code(codes))
        }
    }
}

/// Built without the `aws` feature: only `synth` is available.
#[cfg(not(feature = "aws"))]
fn run_on_aws(_: Command, _: &Config, _: &Printer) -> Result<Output, Failure> {
    Err(Failure::BadInput(
        "this shipline was built without the `aws` cargo feature, so it can only synthesize; install the full tool with `cargo install --locked --path crates/shipline`".into(),
    ))
}

/// Runs a command that talks to AWS on a single-threaded runtime; Ctrl-C stops waiting (an
/// operation already started continues in AWS).
#[cfg(feature = "aws")]
fn run_on_aws(command: Command, config: &Config, printer: &Printer) -> Result<Output, Failure> {
    if let Command::Rollback { stage, .. } = &command {
        commands::rollback::check_stage(config, stage)?;
    }
    use commands::Aws;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Failure::Failed(format!("cannot start the async runtime: {err}")))?;
    let args = command
        .aws()
        .cloned()
        .expect("every command but synth talks to AWS");
    runtime.block_on(async {
        let aws = Aws::connect(&args, config).await?;
        let stack = aws.session.stack.clone();
        tokio::select! {
            result = dispatch(command, config, &aws, printer) => result,
            _ = tokio::signal::ctrl_c() => Err(Failure::Interrupted { stack }),
        }
    })
}

#[cfg(feature = "aws")]
async fn dispatch(
    command: Command,
    config: &Config,
    aws: &commands::Aws,
    printer: &Printer,
) -> Result<Output, Failure> {
    match command {
        Command::Synth { .. }
        | Command::Cost { .. }
        | Command::Validate { .. }
        | Command::Docs { .. }
        | Command::Completions { .. }
        | Command::Init { .. }
        | Command::Schema => {
            unreachable!("runs without AWS")
        }
        Command::Plan { template, .. } => {
            commands::plan::run(config, &template, aws, printer).await
        }
        Command::Deploy { template, .. } => {
            commands::deploy::run(config, &template, aws, printer).await
        }
        Command::Status { since, .. } => commands::status::run(config, &since, aws).await,
        Command::Rollback { stage, .. } => {
            commands::rollback::run(config, &stage, aws, printer).await
        }
        Command::Destroy { delete_data, .. } => {
            commands::destroy::run(delete_data, aws, printer).await
        }
    }
}
