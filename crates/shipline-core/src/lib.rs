//! shipline-core: models shipline's AWS CI/CD pipeline and renders it as CloudFormation.
//!
//! Data flows one way, each arrow a plain function over plain data:
//!
//! ```text
//! shipline.toml --config::Config::parse--> Config --pipeline::synthesize--> Template
//!                                                     (resources + grants, then tags::apply)
//! Template --Template::render--> CloudFormation JSON / YAML
//! ```
//!
//! - [`config`]: the `shipline.toml` schema, defaults (the embedded default pipeline) and
//!   validation with file/line/key errors.
//! - [`template`]: the CloudFormation document model, intrinsics, rendering (JSON, and YAML
//!   quoted for CloudFormation's YAML 1.1 reading), reading a template file back.
//! - [`resources`]: one module per AWS service — resource shapes with safe defaults and the
//!   `grant_*` methods that derive IAM from use.
//! - [`iam`]: roles, statements and policy documents.
//! - [`tags`]: the single tag pass over a finished template.
//! - [`pipeline`]: the composition of all of the above.
//! - [`regions`]: which regions offer each resource type (data from cfn-lint), region codes.
//! - [`preflight`]: what `plan`/`deploy` check before any request (placeholder, region).
//! - [`pulumi`]: the finished template as a Pulumi YAML program (the second engine).
//! - [`docs`]: the finished template (and its config) described as Markdown: flowchart,
//!   resources, IAM matrix with the reason for every wildcard, manual steps.
//! - [`cost`]: the monthly estimate, from a dated price table and usage assumptions.
//!
//! This crate has no AWS SDK and no async runtime: synthesis never touches the network.

pub mod config;
pub mod cost;
pub mod docs;
pub mod iam;
pub mod pipeline;
pub mod preflight;
pub mod pulumi;
pub mod regions;
pub mod resources;
pub mod stack;
pub mod tags;
pub mod template;

pub use config::{Config, ConfigError};
pub use pipeline::synthesize;
pub use template::{Format, Template};
