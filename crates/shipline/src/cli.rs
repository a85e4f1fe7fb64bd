//! Command-line surface (clap only): parses arguments into typed options. No logic lives here.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "shipline",
    version,
    about = "A production-grade AWS CI/CD pipeline for a containerized app, in one command"
)]
pub struct Cli {
    /// Path to the config file. Default: ./shipline.toml if it exists, otherwise the
    /// embedded default pipeline.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the CloudFormation template for the pipeline (no AWS access).
    Synth {
        /// Output format.
        #[arg(long, value_enum, default_value_t = FormatArg::Json)]
        format: FormatArg,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Json,
    Yaml,
}

impl From<FormatArg> for shipline_core::Format {
    fn from(format: FormatArg) -> Self {
        match format {
            FormatArg::Json => shipline_core::Format::Json,
            FormatArg::Yaml => shipline_core::Format::Yaml,
        }
    }
}
