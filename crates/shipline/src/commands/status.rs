//! `shipline status`: the stack (status, reason, recent events, outputs), then — best effort,
//! since a stack can exist before its pipeline — the pipeline's recent executions per stage,
//! the image behind each stage tag with its scan findings, and the delivery metrics over
//! `--since` (`crate::metrics`), and for stages with a deploy target the digest their ECS
//! service or Lambda function runs and its state (`crate::targets`).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use shipline_core::Config;
use shipline_core::pipeline::Names;

use super::{Aws, Failure, Output, output_lines, stage_names};
use crate::cloudformation::ops;
use crate::delivery::{Delivery, PipelineStatus, SEVERITIES, Scan, StageImage};
use crate::metrics::{self, Since};
use crate::targets;

pub async fn run(config: &Config, since: &Since, aws: &Aws) -> Result<Output, Failure> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let start = since.start(now).map_err(Failure::BadInput)?;
    let stack = ops::status(&aws.session).await?;
    let pipeline = delivery(config, &aws.sdk)
        .status(&stage_names(config), start, now)
        .await
        .map_err(|e| e.to_string());
    let ecs = aws_sdk_ecs::Client::new(&aws.sdk);
    let lambda = aws_sdk_lambda::Client::new(&aws.sdk);
    let (mut services, mut functions) = (Vec::new(), Vec::new());
    for stage in config.promotion_stages() {
        if let Some(target) = &stage.ecs {
            services.push(targets::service_state(&ecs, &stage.name, target).await);
        }
        if let Some(target) = &stage.lambda {
            functions.push(targets::function_state(&lambda, &stage.name, target).await);
        }
    }
    let mut json = serde_json::to_value(&stack).expect("JSON");
    json["pipeline"] = match &pipeline {
        Ok(p) => serde_json::to_value(p).expect("JSON"),
        Err(e) => json!({ "error": e }),
    };
    json["services"] = serde_json::to_value(&services).expect("JSON");
    json["functions"] = serde_json::to_value(&functions).expect("JSON");
    let mut lines = vec![format!("stack {}: {}", stack.stack, stack.status)];
    if let Some(reason) = &stack.reason {
        lines.push(format!("  reason: {reason}"));
    }
    lines.push("recent events (oldest first):".into());
    lines.extend(stack.recent_events.iter().map(|line| format!("  {line}")));
    lines.push("outputs:".into());
    lines.extend(output_lines(&stack.outputs));
    lines.extend(pipeline_lines(&pipeline, &since.describe()));
    lines.extend(targets::lines(&services));
    lines.extend(targets::function_lines(&functions));
    Ok(Output {
        json,
        lines,
        notes: Vec::new(),
    })
}

fn pipeline_lines(pipeline: &Result<PipelineStatus, String>, window: &str) -> Vec<String> {
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
    lines.push("scan findings of each stage's image:".into());
    lines.extend(p.images.iter().map(scan_line));
    lines.extend(metrics::lines(&p.delivery, window));
    lines
}

/// `  production   sha256:ab12cd34ef56…  CRITICAL 0 HIGH 2 MEDIUM 5`, or what stands in for
/// the counts.
fn scan_line(image: &StageImage) -> String {
    let (digest, scan) = match (&image.current, &image.scan) {
        (Some(digest), Some(scan)) => (digest, scan),
        _ => return format!("  {:<12} -  (no image tagged {})", image.stage, image.stage),
    };
    let short = match digest.split_once(':') {
        Some((algorithm, hex)) if hex.len() > 12 => format!("{algorithm}:{}…", &hex[..12]),
        _ => digest.clone(),
    };
    let findings = match scan {
        Scan::Complete {
            counts, complete, ..
        } => {
            let shown: Vec<String> = SEVERITIES
                .iter()
                .filter_map(|level| {
                    let n = counts.get(*level).copied().unwrap_or(0);
                    // The three that matter always; the rest when there are any.
                    (n > 0 || SEVERITIES[..3].contains(level)).then(|| format!("{level} {n}"))
                })
                .collect();
            let partial = if *complete {
                ""
            } else {
                "  (at least: too many findings to count)"
            };
            format!("{}{partial}", shown.join(" "))
        }
        Scan::NotFound => "scan: not found".to_owned(),
        Scan::InProgress { .. } => "scan: in progress".to_owned(),
        Scan::Failed { status, reason } if reason == status => format!("scan: failed ({status})"),
        Scan::Failed { status, reason } => format!("scan: failed ({status}: {reason})"),
        Scan::Unreadable { reason } => format!("scan: not readable ({reason})"),
    };
    format!("  {:<12} {short}  {findings}", image.stage)
}

/// The pipeline and repository of `config`, by the names the core gives them.
pub fn delivery(config: &Config, sdk: &aws_config::SdkConfig) -> Delivery {
    let names = Names::for_app(&config.app.name);
    Delivery {
        pipeline: aws_sdk_codepipeline::Client::new(sdk),
        ecr: aws_sdk_ecr::Client::new(sdk),
        pipeline_name: names.pipeline,
        repository: names.repository,
        deploying_stages: config
            .promotion_stages()
            .into_iter()
            .filter(|s| s.deploys())
            .map(|s| s.name)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const DIGEST: &str = "sha256:ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12";

    fn image(scan: Option<Scan>) -> StageImage {
        StageImage {
            stage: "production".into(),
            current: scan.is_some().then(|| DIGEST.to_owned()),
            previous: None,
            scan,
        }
    }

    fn complete(counts: &[(&str, i64)], complete: bool) -> Scan {
        let mut all: BTreeMap<String, i64> = SEVERITIES[..5]
            .iter()
            .map(|s| ((*s).to_owned(), 0))
            .collect();
        all.extend(counts.iter().map(|(k, v)| ((*k).to_owned(), *v)));
        Scan::Complete {
            status: "COMPLETE".into(),
            counts: all,
            completed_at: None,
            complete,
        }
    }

    #[test]
    fn scan_lines_show_counts_or_why_there_are_none() {
        let line = |scan| scan_line(&image(scan));
        assert_eq!(
            line(Some(complete(&[("HIGH", 2), ("MEDIUM", 5)], true))),
            "  production   sha256:ab12cd34ef56…  CRITICAL 0 HIGH 2 MEDIUM 5"
        );
        assert_eq!(
            line(Some(complete(&[("LOW", 3), ("UNDEFINED", 1)], false))),
            "  production   sha256:ab12cd34ef56…  CRITICAL 0 HIGH 0 MEDIUM 0 LOW 3 UNDEFINED 1  (at least: too many findings to count)"
        );
        assert!(line(Some(Scan::NotFound)).ends_with("…  scan: not found"));
        assert!(
            line(Some(Scan::InProgress {
                status: "PENDING".into()
            }))
            .ends_with("scan: in progress")
        );
        assert!(
            line(Some(Scan::Failed {
                status: "UNSUPPORTED_IMAGE".into(),
                reason: "unsupported OS".into()
            }))
            .ends_with("scan: failed (UNSUPPORTED_IMAGE: unsupported OS)")
        );
        assert!(
            line(Some(Scan::Unreadable {
                reason: "AccessDenied".into()
            }))
            .ends_with("scan: not readable (AccessDenied)")
        );
        assert_eq!(line(None), "  production   -  (no image tagged production)");
    }

    #[test]
    fn an_unreadable_pipeline_is_one_line_with_the_reason() {
        assert_eq!(
            pipeline_lines(
                &Err("ListPipelineExecutions: not found".into()),
                "last 30 days"
            ),
            ["pipeline: not available (ListPipelineExecutions: not found)"]
        );
    }
}
