//! The `shipline` binary: parses arguments (`cli`), runs one command (`commands`), prints
//! through one `printer`, and maps the outcome to an exit code:
//! 0 success, 1 the operation failed, 2 bad input (config errors, usage), 130 interrupted.
//!
//! `cloudformation`, `retained` and `delivery` are the only modules that talk to AWS;
//! `shipline synth` never does.

mod cli;
mod cloudformation;
mod commands;
mod delivery;
mod printer;
mod retained;
mod staging;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use commands::ConfigSource;
use printer::Printer;

const EXIT_FAILED: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let assume_yes = matches!(
        cli.command,
        Command::Deploy { yes: true, .. }
            | Command::Destroy { yes: true, .. }
            | Command::Rollback { yes: true, .. }
    );
    let json = cli.command.aws().is_some_and(|aws| aws.json);
    let printer = Printer::new(json, cli.quiet, assume_yes);
    let (config, source) = match commands::load_config(cli.config.as_deref()) {
        Ok(loaded) => loaded,
        Err(err) => {
            printer.error(&err.to_string());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if let ConfigSource::EmbeddedDefault = source {
        printer.note(&format!(
            "note: no shipline.toml here; using the embedded default pipeline (placeholder repository {})",
            shipline_core::config::PLACEHOLDER_REPOSITORY
        ));
    }
    match cli.command {
        Command::Synth { format, out } => {
            let text = commands::synth::run(&config, format.into());
            match out {
                None => printer.data(text.trim_end_matches('\n')),
                Some(path) => {
                    if let Err(err) = commands::synth::write(&path, &text) {
                        printer.error(&format!(
                            "{}: cannot write the template: {err}",
                            path.display()
                        ));
                        return ExitCode::from(EXIT_FAILED);
                    }
                    printer.note(&format!("wrote {} ({} bytes)", path.display(), text.len()));
                }
            }
            ExitCode::SUCCESS
        }
        command => {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(err) => {
                    printer.error(&format!("cannot start the async runtime: {err}"));
                    return ExitCode::from(EXIT_FAILED);
                }
            };
            let aws = command
                .aws()
                .cloned()
                .expect("every command but synth talks to AWS");
            let stack = aws
                .stack_name
                .clone()
                .unwrap_or_else(|| format!("{}-pipeline", config.app.name));
            runtime.block_on(async {
                tokio::select! {
                    code = commands::aws::run(command, &config, &aws, stack.clone(), &printer) => code,
                    _ = tokio::signal::ctrl_c() => {
                        printer.error(&format!(
                            "interrupted: any operation already started continues in AWS; watch it with `shipline status --stack-name {stack}` or in the CloudFormation console"
                        ));
                        ExitCode::from(EXIT_INTERRUPTED)
                    }
                }
            })
        }
    }
}
