//! `plan`, `deploy`, `status`, `destroy`: synthesize (no AWS), connect, run one
//! CloudFormation operation (plus, for `destroy --delete-data`, the retained data's removal), print its result as text or JSON, return the exit code.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use shipline_core::{Config, synthesize};

use crate::cli::{AwsArgs, Command};
use crate::cloudformation::Ui;
use crate::cloudformation::error::DeployError;
use crate::cloudformation::{self, Session, ops};
use crate::delivery::{Delivery, PipelineStatus, RolledBack};
use crate::printer::Printer;
use crate::retained::{DataKind, DataStores};
use crate::staging::{Staging, TEMPLATE_BODY_LIMIT, TEMPLATE_URL_LIMIT, TemplateSource};

/// Polling interval; overridable for tests against a local endpoint.
fn poll_interval() -> Duration {
    std::env::var("SHIPLINE_POLL_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(1))
}

pub async fn run(
    command: Command,
    config: &Config,
    aws: &AwsArgs,
    stack: String,
    printer: &Printer,
) -> ExitCode {
    if let Command::Rollback { stage, .. } = &command
        && !stage_names(config).contains(stage)
    {
        printer.error(&format!(
            "--stage {stage}: not a promotion stage of this pipeline; its stages are {}",
            stage_names(config).join(", ")
        ));
        return ExitCode::from(2);
    }
    let (template_file, staging_bucket) = match &command {
        Command::Plan {
            template,
            staging_bucket,
            ..
        }
        | Command::Deploy {
            template,
            staging_bucket,
            ..
        } => (template.clone(), staging_bucket.clone()),
        _ => (None, None),
    };
    let document = match template_file {
        None => synthesize(config).to_value(),
        Some(path) => match std::fs::read_to_string(&path)
            .map_err(|err| err.to_string())
            .and_then(|text| shipline_core::template::parse_document(&text))
        {
            Ok(document) => document,
            Err(err) => {
                printer.error(&format!(
                    "{}: cannot read the template: {err}",
                    path.display()
                ));
                return ExitCode::from(2);
            }
        },
    };
    // What is sent is compact JSON, whatever the file looked like: the limits apply to it.
    let body = serde_json::to_string(&document).expect("template JSON");
    if body.len() > TEMPLATE_URL_LIMIT {
        printer.error(&format!(
            "the template is {} bytes as compact JSON; CloudFormation reads at most {TEMPLATE_URL_LIMIT} bytes even from S3 (nothing was sent to AWS)",
            body.len()
        ));
        return ExitCode::from(2);
    }
    let sdk_config = cloudformation::connect(aws.region.clone(), aws.profile.clone()).await;
    let mut template = TemplateSource::Body(body);
    let region = sdk_config.region().map(|r| r.to_string());
    if matches!(command, Command::Plan { .. } | Command::Deploy { .. }) {
        let Some(region) = region.clone() else {
            printer.error("no AWS region: pass --region, set AWS_REGION, or set a region in your AWS profile (nothing was sent to AWS)");
            return ExitCode::from(2);
        };
        if let Err(err) = shipline_core::preflight::check(&document, &region) {
            if printer.json {
                printer.data(&json!({ "error": err.to_string() }).to_string());
            }
            printer.error(&err.to_string());
            return ExitCode::from(2);
        }
        if let TemplateSource::Body(body) = &template
            && body.len() > TEMPLATE_BODY_LIMIT
        {
            let staging = Staging::new(&sdk_config, &region);
            match staging
                // --staging-bucket wins over [deploy] staging_bucket.
                .upload(
                    staging_bucket
                        .as_deref()
                        .or(config.deploy.staging_bucket.as_deref()),
                    &stack,
                    body,
                )
                .await
            {
                Ok(staged) => {
                    printer.note(&format!(
                        "the template is {} bytes, over CloudFormation's {TEMPLATE_BODY_LIMIT}-byte inline limit: uploaded to s3://{}/{}{} (staged templates expire after a day)",
                        body.len(),
                        staged.bucket,
                        staged.key,
                        if staged.created_bucket { ", a staging bucket created now" } else { "" },
                    ));
                    template = TemplateSource::Url(staged.url);
                }
                Err(err) => {
                    if printer.json {
                        printer.data(&json!({ "error": err.to_string() }).to_string());
                    }
                    printer.error(&err.to_string());
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let session = Session {
        client: aws_sdk_cloudformation::Client::new(&sdk_config),
        stack,
        poll: poll_interval(),
    };
    let result = match command {
        Command::Synth { .. } => unreachable!("synth needs no AWS"),
        Command::Plan { .. } => ops::plan(&session, &template, printer)
            .await
            .map(|r| report_applied(printer, &r, false, config, None)),
        Command::Deploy { .. } => ops::deploy(&session, &template, printer)
            .await
            .map(|r| report_applied(printer, &r, true, config, region.as_deref())),
        Command::Status { .. } => match ops::status(&session).await {
            Ok(stack_status) => {
                // The pipeline's side is best effort: a stack can exist before its pipeline.
                let pipeline = delivery(config, &sdk_config)
                    .status(&stage_names(config))
                    .await
                    .map_err(|e| e.to_string());
                report_status(printer, &stack_status, &pipeline);
                Ok(())
            }
            Err(err) => Err(err),
        },
        Command::Rollback { ref stage, .. } => rollback(config, &sdk_config, stage, printer).await,
        Command::Destroy { delete_data, .. } => {
            let stores = delete_data.then(|| DataStores::new(&sdk_config));
            ops::destroy(&session, printer, stores.as_ref())
                .await
                .map(|d| report_destroyed(printer, &d))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if printer.json {
                printer.data(&json!({ "error": err.to_string() }).to_string());
            }
            printer.error(&err.to_string());
            ExitCode::FAILURE
        }
    }
}

fn report_applied(
    printer: &Printer,
    applied: &ops::Applied,
    deployed: bool,
    config: &Config,
    region: Option<&str>,
) {
    if printer.json {
        printer.data(&serde_json::to_string_pretty(applied).expect("JSON"));
        return;
    }
    match applied.status.as_str() {
        "NO_CHANGES" => printer.data(&format!("stack {}: no changes", applied.stack)),
        "PLANNED" => printer.data(&format!(
            "stack {}: {} change(s) planned (nothing was changed)",
            applied.stack,
            applied.changes.len()
        )),
        status => printer.data(&format!("stack {}: {status}", applied.stack)),
    }
    for (key, value) in &applied.outputs {
        printer.data(&format!("  {key:<24} {value}"));
    }
    if deployed && applied.status != "NO_CHANGES" {
        let region = region.unwrap_or("<region>");
        let steps = super::next_steps(config, region);
        if !steps.is_empty() {
            printer.note(steps.trim_end());
        }
    }
}

fn stage_names(config: &Config) -> Vec<String> {
    config
        .promotion_stages()
        .into_iter()
        .map(|s| s.name)
        .collect()
}

fn delivery(config: &Config, sdk_config: &aws_config::SdkConfig) -> Delivery {
    let names = shipline_core::pipeline::Names::for_app(&config.app.name);
    Delivery {
        pipeline: aws_sdk_codepipeline::Client::new(sdk_config),
        ecr: aws_sdk_ecr::Client::new(sdk_config),
        pipeline_name: names.pipeline,
        repository: names.repository,
    }
}

/// `shipline rollback --stage S`: confirm, move the tag, say from and to.
async fn rollback(
    config: &Config,
    sdk_config: &aws_config::SdkConfig,
    stage: &str,
    printer: &Printer,
) -> Result<(), DeployError> {
    let delivery = delivery(config, sdk_config);
    let (from, to) = delivery.rollback_target(stage).await?;
    printer
        .confirm(&format!(
            "Move {stage} in {} from {from} back to {to}?",
            delivery.repository
        ))
        .consent("rollback")?;
    delivery.retag(stage, &to).await?;
    let done = RolledBack {
        stage: stage.to_owned(),
        from,
        to,
    };
    if printer.json {
        printer.data(&serde_json::to_string_pretty(&done).expect("JSON"));
    } else {
        printer.data(&format!(
            "{}: moved {} from {} to {}",
            delivery.repository, done.stage, done.from, done.to
        ));
        printer
            .note("note: the next pipeline execution promotes its own build to this stage again");
    }
    Ok(())
}

fn report_status(
    printer: &Printer,
    status: &ops::Status,
    pipeline: &Result<PipelineStatus, String>,
) {
    if printer.json {
        let pipeline = match pipeline {
            Ok(p) => serde_json::to_value(p).expect("JSON"),
            Err(e) => json!({ "error": e }),
        };
        let mut value = serde_json::to_value(status).expect("JSON");
        value["pipeline"] = pipeline;
        printer.data(&serde_json::to_string_pretty(&value).expect("JSON"));
        return;
    }
    printer.data(&format!("stack {}: {}", status.stack, status.status));
    if let Some(reason) = &status.reason {
        printer.data(&format!("  reason: {reason}"));
    }
    printer.data("recent events (oldest first):");
    for line in &status.recent_events {
        printer.data(&format!("  {line}"));
    }
    printer.data("outputs:");
    for (key, value) in &status.outputs {
        printer.data(&format!("  {key:<24} {value}"));
    }
    match pipeline {
        Err(err) => printer.data(&format!("pipeline: not available ({err})")),
        Ok(p) => {
            printer.data("recent executions (newest first):");
            for e in &p.executions {
                let stages: Vec<String> = e
                    .stages
                    .iter()
                    .map(|(stage, (result, secs))| format!("{stage} {result} {secs}s"))
                    .collect();
                printer.data(&format!(
                    "  {} {:<10} {}",
                    e.id,
                    e.status,
                    stages.join(", ")
                ));
            }
            printer.data("stage images:");
            for image in &p.images {
                printer.data(&format!(
                    "  {:<12} {}  (previous: {})",
                    image.stage,
                    image.current.as_deref().unwrap_or("-"),
                    image.previous.as_deref().unwrap_or("-")
                ));
            }
        }
    }
}

fn report_destroyed(printer: &Printer, destroyed: &ops::Destroyed) {
    if printer.json {
        printer.data(&serde_json::to_string_pretty(destroyed).expect("JSON"));
        return;
    }
    if !destroyed.existed {
        printer.data(&format!(
            "stack {} does not exist; nothing to delete",
            destroyed.stack
        ));
        return;
    }
    printer.data(&format!("stack {}: deleted", destroyed.stack));
    for kept in &destroyed.kept {
        printer.data(&format!(
            "  kept {} {} with its contents; to remove it: {}",
            kept.resource.kind.describe(),
            kept.resource.id,
            kept.remove_with
        ));
    }
    for deleted in &destroyed.deleted {
        let items = match deleted.resource.kind {
            DataKind::EcrRepository => "image(s)",
            DataKind::S3Bucket => "object version(s) and delete marker(s)",
        };
        printer.data(&format!(
            "  deleted {} {} with {} {items}",
            deleted.resource.kind.describe(),
            deleted.resource.id,
            deleted.items
        ));
    }
}
