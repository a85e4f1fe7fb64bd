//! Command-line surface (clap only): parses arguments into typed options. No logic lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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

    /// No progress output on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The usage `shipline cost` assumes; each default is what a small team's pipeline does.
#[derive(Debug, Clone, Args)]
pub struct UsageArgs {
    /// Pipeline executions a month.
    #[arg(long, default_value_t = 100.0, value_name = "N")]
    pub runs_per_month: f64,
    /// Minutes one image build takes.
    #[arg(long, default_value_t = 5.0, value_name = "M")]
    pub build_minutes: f64,
    /// Size of one image, GB.
    #[arg(long, default_value_t = 0.5, value_name = "G")]
    pub image_gb: f64,
    /// Size of one execution's source artifact, GB.
    #[arg(long, default_value_t = 0.05, value_name = "G")]
    pub artifact_gb: f64,
    /// Minutes the basic scan gate waits for the scan result.
    #[arg(long, default_value_t = 2.0, value_name = "M")]
    pub scan_wait_minutes: f64,
    /// Build log written per build minute, MB.
    #[arg(long, default_value_t = 1.0, value_name = "MB")]
    pub log_mb_per_build_minute: f64,
    /// Minutes one deployment takes (stages with an ECS or Lambda target).
    #[arg(long, default_value_t = 10.0, value_name = "M")]
    pub deploy_minutes: f64,
}

/// Where `plan` and `deploy` get the template and where a large one goes.
#[derive(Debug, Clone, Args)]
pub struct TemplateArgs {
    /// Use this template file (JSON or YAML, e.g. one reviewed from `synth`) instead of
    /// synthesizing.
    #[arg(long = "template", value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// S3 bucket for templates over CloudFormation's 51,200-byte inline limit. Default:
    /// `shipline-staging-<account>-<region>`, created on first need.
    #[arg(long, value_name = "BUCKET")]
    pub staging_bucket: Option<String>,
    /// Also check the template against these AWS CloudFormation Guard rules (a file, or a
    /// directory of .guard files) before any request; repeatable.
    #[arg(long, value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Skip the policy rules (`shipline validate`) that otherwise run before any request.
    #[arg(long)]
    pub no_validate: bool,
}

/// The flags of every command that talks to AWS (not offered on `synth`, which does not).
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// Stack name. Default: `<app name>-pipeline`.
    #[arg(long)]
    pub stack_name: Option<String>,

    /// AWS region (default: the standard AWS config chain).
    #[arg(long)]
    pub region: Option<String>,

    /// AWS profile from ~/.aws/config.
    #[arg(long)]
    pub profile: Option<String>,

    /// Machine-readable JSON result on stdout (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the CloudFormation template for the pipeline (no AWS access).
    Synth {
        /// The engine: a CloudFormation template, or a Pulumi YAML program.
        #[arg(long, value_enum, default_value_t = TargetArg::Cloudformation)]
        target: TargetArg,
        /// Output format of the CloudFormation template (default json; a Pulumi program is
        /// always YAML).
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        /// CloudFormation: write the template to this file. Pulumi: write the project
        /// (`Pulumi.yaml`) and the program (`Main.yaml`) into this directory. `-` is stdout.
        #[arg(long, short, value_name = "PATH")]
        out: Option<PathBuf>,
    },
    /// Print a shell completion script, e.g. `shipline completions bash >
    /// ~/.local/share/bash-completion/completions/shipline`.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Write a commented shipline.toml (every key, its default and what it does), with the
    /// GitHub repository, branch and app name taken from the git checkout. Writes --config PATH
    /// if given.
    Init {
        /// GitHub `owner/repo` (or its URL); default: from `git remote get-url origin`.
        #[arg(long, value_name = "OWNER/REPO")]
        repository: Option<String>,
        /// Overwrite the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Print the JSON Schema of shipline.toml (for editors: Taplo / Even Better TOML's
    /// `#:schema` directive).
    Schema,
    /// Estimate what the pipeline costs a month, line by line (us-east-1 list prices; no AWS
    /// access).
    Cost {
        #[command(flatten)]
        usage: UsageArgs,
        /// The estimate as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Check the template against policy rules: the built-in pack and your own AWS
    /// CloudFormation Guard rules (no AWS access). Exit 1 on findings, 2 on a broken rule file
    /// or template.
    Validate {
        /// Check this template file (JSON or YAML) instead of the synthesized one.
        #[arg(long, value_name = "PATH")]
        template: Option<PathBuf>,
        /// Also evaluate these Guard rules: a rule file, or a directory searched for .guard and
        /// .ruleset files; repeatable.
        #[arg(long, value_name = "PATH")]
        rules: Vec<PathBuf>,
        /// Report format on stdout.
        #[arg(long, value_enum, default_value_t = ReportFormatArg::Text)]
        format: ReportFormatArg,
    },
    /// Describe the pipeline as Markdown: a Mermaid flowchart, the trigger, stages, scan
    /// policy, resources, IAM matrix and the steps left to do by hand (no AWS access).
    Docs {
        /// Write `PIPELINE.md` into this directory (created if missing) instead of stdout.
        /// `-` is stdout.
        #[arg(long, short, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Preview what `deploy` would change (a change set, deleted afterwards): the change list
    /// on stdout.
    Plan {
        /// Exit 0 when nothing would change, 2 when something would, 1 on any error (bad input
        /// and config errors too, which otherwise exit 2): Terraform's -detailed-exitcode.
        #[arg(long)]
        detailed_exitcode: bool,
        #[command(flatten)]
        template: TemplateArgs,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Create or update the pipeline stack, streaming its events.
    Deploy {
        /// Do not ask for confirmation (also allows replacing data-holding resources).
        #[arg(long, short)]
        yes: bool,
        #[command(flatten)]
        template: TemplateArgs,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Show the stack's status, recent events and outputs, the pipeline's recent executions,
    /// the image behind each stage tag with its scan findings, and delivery metrics.
    Status {
        /// The window of the delivery metrics: 30d, 12h, 2w, or an RFC 3339 date
        /// (2026-01-31) or date-time (2026-01-31T08:00:00Z).
        #[arg(long, default_value = "30d", value_name = "WHEN", value_parser = crate::metrics::Since::parse)]
        since: crate::metrics::Since,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Put a stage's tag back on the digest promoted to it before the current one.
    Rollback {
        /// The promotion stage (a `[[stages]]` name, e.g. production).
        #[arg(long)]
        stage: String,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Delete the stack. The ECR repository and artifact bucket are kept with their contents
    /// unless --delete-data is given.
    Destroy {
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
        /// Also delete the ECR repository (every image) and the artifact bucket (every object
        /// version), after the stack. Asks you to type the stack name unless --yes.
        #[arg(long)]
        delete_data: bool,
        #[command(flatten)]
        aws: AwsArgs,
    },
}

impl Command {
    /// The AWS flags of a command that talks to AWS (`None` for `synth`).
    pub fn aws(&self) -> Option<&AwsArgs> {
        match self {
            Command::Synth { .. }
            | Command::Cost { .. }
            | Command::Validate { .. }
            | Command::Docs { .. }
            | Command::Completions { .. }
            | Command::Init { .. }
            | Command::Schema => None,
            Command::Plan { aws, .. }
            | Command::Deploy { aws, .. }
            | Command::Status { aws, .. }
            | Command::Rollback { aws, .. }
            | Command::Destroy { aws, .. } => Some(aws),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    Cloudformation,
    Pulumi,
}

/// How `validate` reports findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormatArg {
    Text,
    Json,
    /// SARIF 2.1.0 (code-scanning tools).
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
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
