//! `shipline status`: the stack (status, reason, recent events, outputs), then — best effort,
//! since a stack can exist before its pipeline — the pipeline's recent executions per stage
//! and the image behind each stage tag.

use serde_json::json;
use shipline_core::Config;
use shipline_core::pipeline::Names;

use super::{Aws, Failure, Output, output_lines, stage_names};
use crate::cloudformation::ops;
use crate::delivery::{Delivery, PipelineStatus};

pub async fn run(config: &Config, aws: &Aws) -> Result<Output, Failure> {
    let stack = ops::status(&aws.session).await?;
    let pipeline = delivery(config, &aws.sdk)
        .status(&stage_names(config))
        .await
        .map_err(|e| e.to_string());
    let mut json = serde_json::to_value(&stack).expect("JSON");
    json["pipeline"] = match &pipeline {
        Ok(p) => serde_json::to_value(p).expect("JSON"),
        Err(e) => json!({ "error": e }),
    };
    let mut lines = vec![format!("stack {}: {}", stack.stack, stack.status)];
    if let Some(reason) = &stack.reason {
        lines.push(format!("  reason: {reason}"));
    }
    lines.push("recent events (oldest first):".into());
    lines.extend(stack.recent_events.iter().map(|line| format!("  {line}")));
    lines.push("outputs:".into());
    lines.extend(output_lines(&stack.outputs));
    lines.extend(pipeline_lines(&pipeline));
    Ok(Output {
        json,
        lines,
        notes: Vec::new(),
    })
}

fn pipeline_lines(pipeline: &Result<PipelineStatus, String>) -> Vec<String> {
    let p = match pipeline {
        Err(err) => return vec![format!("pipeline: not available ({err})")],
        Ok(p) => p,
    };
    let mut lines = vec!["recent executions (newest first):".to_owned()];
    for e in &p.executions {
        let stages: Vec<String> = e
            .stages
            .iter()
            .map(|(stage, r)| format!("{stage} {} {}s", r.result, r.seconds))
            .collect();
        lines.push(format!("  {} {:<10} {}", e.id, e.status, stages.join(", ")));
    }
    lines.push("stage images:".into());
    for image in &p.images {
        lines.push(format!(
            "  {:<12} {}  (previous: {})",
            image.stage,
            image.current.as_deref().unwrap_or("-"),
            image.previous.as_deref().unwrap_or("-")
        ));
    }
    lines
}

/// The pipeline and repository of `config`, by the names the core gives them.
pub fn delivery(config: &Config, sdk: &aws_config::SdkConfig) -> Delivery {
    let names = Names::for_app(&config.app.name);
    Delivery {
        pipeline: aws_sdk_codepipeline::Client::new(sdk),
        ecr: aws_sdk_ecr::Client::new(sdk),
        pipeline_name: names.pipeline,
        repository: names.repository,
    }
}
