//! The running pipeline, seen from its history: recent executions with per-stage results and
//! durations, the digest behind each stage tag, the one promoted before it and that image's
//! scan findings, delivery metrics over a window (`crate::metrics`), and `rollback` — moving a
//! stage's tag back to that previous digest. History comes from CodePipeline's executions and
//! action executions (each promotion's resolved UserParameters name the digest it promoted;
//! the source action's output variables the commit's author date); tags and scans live in ECR.
//! The only code that talks to CodePipeline.
//!
//! Requests for `status`: ListPipelineExecutions and ListActionExecutions, each paginated (100
//! a page) until a page reaches back past `--since` (at most [`EXECUTION_PAGES`] and
//! [`ACTION_PAGES`] pages), then per stage one DescribeImages and, per distinct digest, one
//! DescribeImageScanFindings (more only for enhanced findings without severity counts).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_codepipeline::types::{
    ActionExecutionDetail, ActionExecutionStatus, ExecutionType, PipelineExecutionSummary,
};
use aws_sdk_ecr::types::ImageIdentifier;
use serde::Serialize;
use shipline_core::pipeline::{DEPLOY_ACTION, PROMOTE_ACTION};

use crate::cloudformation::error::DeployError;
use crate::metrics::{self, DeliveryMetrics, Run, StageRun};

/// Media types a promoted manifest may have (the same list as the delivery function's).
const MANIFEST_TYPES: [&str; 4] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/// Page caps for the history behind `status` (100 items a page, the APIs' maximum): 1,000
/// executions and 3,000 action executions (about 350 executions of a 3-stage pipeline).
pub const EXECUTION_PAGES: usize = 10;
pub const ACTION_PAGES: usize = 30;
/// Page cap for enhanced findings counted one by one (the API returns at most 100 of them a
/// page, whatever maxResults says: boto/boto3#3449).
const FINDING_PAGES: usize = 10;
/// Executions listed by `status`.
const RECENT: usize = 5;

pub struct Delivery {
    pub pipeline: aws_sdk_codepipeline::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub pipeline_name: String,
    pub repository: String,
    /// The stages with a deploy target (a `Deploy` action after `Promote`): a promotion there
    /// counts only when the same execution's deploy succeeded too.
    pub deploying_stages: Vec<String>,
}

/// One recent execution.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Execution {
    pub id: String,
    pub status: String,
    /// Stage name -> its result.
    pub stages: BTreeMap<String, StageResult>,
}

/// How a stage of one execution ended.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct StageResult {
    /// Succeeded, Failed, InProgress, Abandoned...: the worst of its actions' results.
    pub result: String,
    /// From its first action's start to its last update.
    pub seconds: i64,
}

/// What `status` knows of one promotion stage: the digest its tag points at now, the digest
/// promoted to it before that one, and the current image's scan. (One field per source of
/// per-stage facts; add the next one here.)
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct StageImage {
    pub stage: String,
    pub current: Option<String>,
    pub previous: Option<String>,
    /// None when the tag is not in the repository.
    pub scan: Option<Scan>,
}

/// The scan findings of one image (DescribeImageScanFindings; see
/// <https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImageScanFindings.html>).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Scan {
    /// A finished scan (COMPLETE; ACTIVE under enhanced continuous scanning).
    Complete {
        status: String,
        /// Severity -> findings; CRITICAL, HIGH, MEDIUM, LOW and INFORMATIONAL always present.
        counts: BTreeMap<String, i64>,
        completed_at: Option<String>,
        /// False when enhanced findings were counted one by one and the page cap cut them:
        /// the counts are then lower bounds.
        complete: bool,
    },
    /// ECR has no scan of this image (ScanNotFoundException).
    NotFound,
    /// IN_PROGRESS or PENDING.
    InProgress { status: String },
    /// FAILED, UNSUPPORTED_IMAGE, SCAN_ELIGIBILITY_EXPIRED, FINDINGS_UNAVAILABLE, ...
    Failed { status: String, reason: String },
    /// The findings could not be read (e.g. access denied; with enhanced scanning reading
    /// them needs `inspector2:ListFindings` too).
    Unreadable { reason: String },
}

/// Severities shown, highest first.
pub const SEVERITIES: [&str; 6] = [
    "CRITICAL",
    "HIGH",
    "MEDIUM",
    "LOW",
    "INFORMATIONAL",
    "UNDEFINED",
];

/// The pipeline part of `shipline status`.
#[derive(Debug, Serialize)]
pub struct PipelineStatus {
    pub executions: Vec<Execution>,
    pub images: Vec<StageImage>,
    pub delivery: DeliveryMetrics,
}

/// Result of `shipline rollback`.
#[derive(Debug, Serialize)]
pub struct RolledBack {
    pub stage: String,
    pub from: String,
    pub to: String,
    /// The rollback's pipeline execution (stages with a deploy target roll back through
    /// CodePipeline); None when only the tag moved.
    pub execution: Option<String>,
}

/// Where a stage's rollback returns to.
#[derive(Debug, PartialEq, Eq)]
pub struct RollbackTarget {
    /// The digest the stage's tag points at now.
    pub from: String,
    /// The digest promoted to the stage before it.
    pub to: String,
    /// The pipeline execution that promoted `to`.
    pub execution: String,
}

/// What the history pages hold.
struct History {
    summaries: Vec<PipelineExecutionSummary>,
    actions: Vec<ActionExecutionDetail>,
    /// Both lists reach back past the window's start (or to the first execution).
    complete: bool,
}

fn secs(t: Option<&aws_sdk_codepipeline::primitives::DateTime>) -> Option<i64> {
    t.map(|t| t.secs())
}

/// The executions of `summaries` with their stages from `actions` (newest first, as listed).
fn runs(summaries: &[PipelineExecutionSummary], actions: &[ActionExecutionDetail]) -> Vec<Run> {
    let mut by_execution: HashMap<&str, Vec<&ActionExecutionDetail>> = HashMap::new();
    for action in actions {
        if let Some(id) = action.pipeline_execution_id() {
            by_execution.entry(id).or_default().push(action);
        }
    }
    // A stage's result is its worst action's: Failed over InProgress over Abandoned over Succeeded.
    let rank = |s: &str| match s {
        "Failed" => 3,
        "InProgress" => 2,
        "Abandoned" => 1,
        _ => 0,
    };
    summaries
        .iter()
        .map(|summary| {
            let id = summary.pipeline_execution_id().unwrap_or("?");
            let started = secs(summary.start_time()).unwrap_or(0);
            let mut stages: BTreeMap<String, StageRun> = BTreeMap::new();
            let mut committed = None;
            for action in by_execution.get(id).map(Vec::as_slice).unwrap_or_default() {
                // The GitHub (CodeStarSourceConnection) action's `AuthorDate` variable, ISO 8601:
                // https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-variables.html
                if let Some(date) = action
                    .output()
                    .and_then(|o| o.output_variables())
                    .and_then(|v| v.get("AuthorDate"))
                {
                    committed = committed.or_else(|| metrics::parse_rfc3339(date));
                }
                let Some(stage) = action.stage_name() else {
                    continue;
                };
                let start = secs(action.start_time()).unwrap_or(started);
                let end = secs(action.last_update_time()).unwrap_or(start);
                let status = action.status().map_or("Unknown", |s| s.as_str()).to_owned();
                let entry = stages.entry(stage.to_owned()).or_insert(StageRun {
                    result: status.clone(),
                    started: start,
                    ended: end,
                });
                if rank(&status) > rank(&entry.result) {
                    entry.result = status;
                }
                entry.started = entry.started.min(start);
                entry.ended = entry.ended.max(end);
            }
            Run {
                id: id.to_owned(),
                status: summary
                    .status()
                    .map_or("Unknown", |s| s.as_str())
                    .to_owned(),
                rollback: summary.execution_type() == Some(&ExecutionType::Rollback),
                started,
                committed,
                stages,
            }
        })
        .collect()
}

/// Pages of a list call, newest first (`page` fetches one from a token), until a page holds
/// an item that started before `since`, the list ends, or `cap` pages were read: the items,
/// and whether they reach back that far (or to the first item).
async fn pages<T>(
    cap: usize,
    since: i64,
    started: impl Fn(&T) -> Option<i64>,
    mut page: impl AsyncFnMut(Option<String>) -> Result<(Vec<T>, Option<String>), DeployError>,
) -> Result<(Vec<T>, bool), DeployError> {
    let (mut items, mut token) = (Vec::new(), None);
    for _ in 0..cap {
        let (mut batch, next) = page(token.take()).await?;
        let past = batch
            .iter()
            .any(|item| started(item).is_some_and(|t| t < since));
        items.append(&mut batch);
        token = next;
        if past || token.is_none() {
            return Ok((items, true));
        }
    }
    Ok((items, false))
}

/// Counts by severity, with the usual five always present.
fn severity_counts<'a>(levels: impl IntoIterator<Item = (&'a str, i64)>) -> BTreeMap<String, i64> {
    let mut counts: BTreeMap<String, i64> = SEVERITIES[..5]
        .iter()
        .map(|s| ((*s).to_owned(), 0))
        .collect();
    for (level, n) in levels {
        *counts.entry(level.to_owned()).or_default() += n;
    }
    counts
}

impl Delivery {
    /// One page (100) of the pipeline's executions, newest first, and the next page's token.
    async fn executions_page(
        &self,
        token: Option<String>,
    ) -> Result<(Vec<PipelineExecutionSummary>, Option<String>), DeployError> {
        let page = self
            .pipeline
            .list_pipeline_executions()
            .pipeline_name(&self.pipeline_name)
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| DeployError::from_sdk("ListPipelineExecutions", e))?;
        let next = page.next_token().map(str::to_owned);
        Ok((page.pipeline_execution_summaries().to_vec(), next))
    }

    /// One page (100) of the pipeline's action executions and the next page's token.
    async fn actions_page(
        &self,
        token: Option<String>,
    ) -> Result<(Vec<ActionExecutionDetail>, Option<String>), DeployError> {
        let page = self
            .pipeline
            .list_action_executions()
            .pipeline_name(&self.pipeline_name)
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| DeployError::from_sdk("ListActionExecutions", e))?;
        let next = page.next_token().map(str::to_owned);
        Ok((page.action_execution_details().to_vec(), next))
    }

    /// The pipeline's most recent action executions (newest first, one page of 100).
    async fn action_history(&self) -> Result<Vec<ActionExecutionDetail>, DeployError> {
        let (mut history, _) = self.actions_page(None).await?;
        history.sort_by_key(|a| std::cmp::Reverse(a.start_time().map(|t| t.as_secs_f64() as i64)));
        Ok(history)
    }

    /// Executions and action executions back to `since`: pages (newest first) until one
    /// holds an item that started before `since`, or the cap. One ListActionExecutions over
    /// the whole pipeline rather than one per execution (filtered by pipelineExecutionId).
    async fn history(&self, since: i64) -> Result<History, DeployError> {
        let (summaries, complete) = pages(
            EXECUTION_PAGES,
            since,
            |e: &PipelineExecutionSummary| secs(e.start_time()),
            async |token| self.executions_page(token).await,
        )
        .await?;
        let (mut actions, actions_complete) = pages(
            ACTION_PAGES,
            since,
            |a: &ActionExecutionDetail| secs(a.start_time()),
            async |token| self.actions_page(token).await,
        )
        .await?;
        actions.sort_by_key(|a| std::cmp::Reverse(secs(a.start_time())));
        Ok(History {
            summaries,
            actions,
            complete: complete && actions_complete,
        })
    }

    /// The digests successfully promoted to `stage`, newest first.
    fn promoted(&self, history: &[ActionExecutionDetail], stage: &str) -> Vec<String> {
        self.promotions(history, stage)
            .into_iter()
            .map(|(digest, _)| digest)
            .collect()
    }

    /// The successful promotions to `stage`, newest first: (digest, pipeline execution id). In
    /// a stage with a deploy target, a promotion whose deploy did not succeed is not one: the
    /// stage failed there (and CodePipeline rolls back only to an execution that succeeded in
    /// the stage: CodePipeline User Guide, "Configure stage rollback").
    fn promotions(&self, history: &[ActionExecutionDetail], stage: &str) -> Vec<(String, String)> {
        let deploys = self.deploying_stages.iter().any(|s| s == stage);
        let deployed = |execution: Option<&str>| {
            history.iter().any(|a| {
                a.pipeline_execution_id() == execution
                    && a.stage_name() == Some(stage)
                    && a.action_name() == Some(DEPLOY_ACTION)
                    && a.status() == Some(&ActionExecutionStatus::Succeeded)
            })
        };
        history
            .iter()
            .filter(|a| a.stage_name() == Some(stage) && a.action_name() == Some(PROMOTE_ACTION))
            .filter(|a| a.status() == Some(&ActionExecutionStatus::Succeeded))
            .filter(|a| !deploys || deployed(a.pipeline_execution_id()))
            .filter_map(|a| {
                let parameters = a.input()?.resolved_configuration()?.get("UserParameters")?;
                let parsed: serde_json::Value = serde_json::from_str(parameters).ok()?;
                Some((
                    parsed["digest"].as_str()?.to_owned(),
                    a.pipeline_execution_id().unwrap_or_default().to_owned(),
                ))
            })
            .collect()
    }

    /// The digest `tag` points at, or None when the tag is not in the repository.
    async fn tagged(&self, tag: &str) -> Result<Option<String>, DeployError> {
        let found = self
            .ecr
            .describe_images()
            .repository_name(&self.repository)
            .image_ids(ImageIdentifier::builder().image_tag(tag).build())
            .send()
            .await;
        match found {
            Ok(out) => Ok(out
                .image_details()
                .first()
                .and_then(|d| d.image_digest())
                .map(str::to_owned)),
            Err(err) => match DeployError::from_sdk("DescribeImages", err) {
                err if err.has_code("ImageNotFoundException") => Ok(None),
                err => Err(err),
            },
        }
    }

    /// The scan findings of `digest`, counted by severity: ECR's `findingSeverityCounts` when
    /// it gives them (basic scanning), else the findings and enhanced (Amazon Inspector)
    /// findings counted page by page. Never an error: what cannot be read is a [`Scan`] too.
    async fn scan(&self, digest: &str) -> Scan {
        let (mut counted, mut token) = (Vec::<String>::new(), None);
        for _ in 0..FINDING_PAGES {
            let page = self
                .ecr
                .describe_image_scan_findings()
                .repository_name(&self.repository)
                .image_id(ImageIdentifier::builder().image_digest(digest).build())
                .max_results(1000)
                .set_next_token(token.take())
                .send()
                .await;
            let page = match page {
                Ok(page) => page,
                Err(err) => {
                    return match DeployError::from_sdk("DescribeImageScanFindings", err) {
                        err if err.has_code("ScanNotFoundException")
                            || err.has_code("ImageNotFoundException") =>
                        {
                            Scan::NotFound
                        }
                        err => Scan::Unreadable {
                            reason: err.to_string(),
                        },
                    };
                }
            };
            let Some(state) = page.image_scan_status() else {
                return Scan::NotFound;
            };
            let status = state.status().map_or("UNKNOWN", |s| s.as_str()).to_owned();
            match status.as_str() {
                "COMPLETE" | "ACTIVE" => {}
                "IN_PROGRESS" | "PENDING" => return Scan::InProgress { status },
                _ => {
                    let reason = state.description().unwrap_or(&status).to_owned();
                    return Scan::Failed { status, reason };
                }
            }
            let findings = page.image_scan_findings();
            let completed_at = findings
                .and_then(|f| f.image_scan_completed_at())
                .map(|t| metrics::format_rfc3339(t.secs()));
            if let Some(counts) = findings
                .and_then(|f| f.finding_severity_counts())
                .filter(|c| !c.is_empty())
            {
                return Scan::Complete {
                    status,
                    counts: severity_counts(
                        counts.iter().map(|(k, v)| (k.as_str(), i64::from(*v))),
                    ),
                    completed_at,
                    complete: true,
                };
            }
            if let Some(findings) = findings {
                counted.extend(
                    findings
                        .findings()
                        .iter()
                        .map(|f| f.severity().map_or("UNDEFINED", |s| s.as_str()).to_owned()),
                );
                counted.extend(
                    findings
                        .enhanced_findings()
                        .iter()
                        .map(|f| f.severity().unwrap_or("UNDEFINED").to_owned()),
                );
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Scan::Complete {
                    status,
                    counts: severity_counts(counted.iter().map(|s| (s.as_str(), 1))),
                    completed_at,
                    complete: true,
                };
            }
        }
        Scan::Complete {
            status: "COMPLETE".to_owned(),
            counts: severity_counts(counted.iter().map(|s| (s.as_str(), 1))),
            completed_at: None,
            complete: false,
        }
    }

    /// Recent executions, the image behind each stage tag with its scan findings, and the
    /// delivery metrics over `[since, now]` (seconds since the epoch).
    pub async fn status(
        &self,
        stages: &[String],
        since: i64,
        now: i64,
    ) -> Result<PipelineStatus, DeployError> {
        let history = self.history(since).await?;
        let runs = runs(&history.summaries, &history.actions);
        let delivery = metrics::compute(&runs, stages, since, now, history.complete);
        let executions = runs
            .iter()
            .take(RECENT)
            .map(|run| Execution {
                id: run.id.clone(),
                status: run.status.clone(),
                stages: run
                    .stages
                    .iter()
                    .map(|(stage, r)| {
                        let result = StageResult {
                            result: r.result.clone(),
                            seconds: r.ended - r.started,
                        };
                        (stage.clone(), result)
                    })
                    .collect(),
            })
            .collect();
        let mut images = Vec::new();
        let mut scans: HashMap<String, Scan> = HashMap::new();
        for stage in stages {
            let current = self.tagged(stage).await?;
            let previous = self
                .promoted(&history.actions, stage)
                .into_iter()
                .find(|digest| Some(digest) != current.as_ref());
            let scan = match &current {
                None => None,
                Some(digest) => Some(match scans.get(digest) {
                    Some(scan) => scan.clone(),
                    None => {
                        let scan = self.scan(digest).await;
                        scans.insert(digest.clone(), scan.clone());
                        scan
                    }
                }),
            };
            images.push(StageImage {
                stage: stage.clone(),
                current,
                previous,
                scan,
            });
        }
        Ok(PipelineStatus {
            executions,
            images,
            delivery,
        })
    }

    /// The digest `stage`'s tag would return to: the newest successful promotion to it that is
    /// not the digest it points at now; with the execution that promoted it.
    pub async fn rollback_target(&self, stage: &str) -> Result<RollbackTarget, DeployError> {
        let Some(current) = self.tagged(stage).await? else {
            return Err(DeployError::Refused(format!(
                "the tag {stage} is not in repository {}: nothing has been promoted to {stage} yet",
                self.repository
            )));
        };
        let history = self.action_history().await?;
        // A stage that deploys rolls back through RollbackStage, which refuses an execution of
        // the rollback type as its target (CodePipeline User Guide, "Configure stage rollback").
        let rollbacks = if self.deploying_stages.iter().any(|s| s == stage) {
            self.rollback_executions().await?
        } else {
            Vec::new()
        };
        let Some((previous, execution)) = self
            .promotions(&history, stage)
            .into_iter()
            .find(|(d, execution)| *d != current && !rollbacks.contains(execution))
        else {
            return Err(DeployError::Refused(format!(
                "no earlier successful promotion to {stage} in the pipeline's recent history; nothing to roll back to"
            )));
        };
        Ok(RollbackTarget {
            from: current,
            to: previous,
            execution,
        })
    }

    /// The ids of the recent executions that were stage rollbacks (one page, 100).
    async fn rollback_executions(&self) -> Result<Vec<String>, DeployError> {
        let (page, _) = self.executions_page(None).await?;
        Ok(page
            .iter()
            .filter(|e| e.execution_type() == Some(&ExecutionType::Rollback))
            .filter_map(|e| e.pipeline_execution_id().map(str::to_owned))
            .collect())
    }

    /// Whether the repository still holds the image `digest` (the lifecycle rule may have
    /// expired it).
    pub async fn has_image(&self, digest: &str) -> Result<bool, DeployError> {
        let found = self
            .ecr
            .describe_images()
            .repository_name(&self.repository)
            .image_ids(ImageIdentifier::builder().image_digest(digest).build())
            .send()
            .await;
        match found {
            Ok(out) => Ok(!out.image_details().is_empty()),
            Err(err) => match DeployError::from_sdk("DescribeImages", err) {
                err if err.has_code("ImageNotFoundException") => Ok(false),
                err => Err(err),
            },
        }
    }

    /// Rolls `stage` back through CodePipeline: it runs again with the artifacts and variables
    /// of `execution` (RollbackStage; CodePipeline User Guide, "Configure stage rollback"), so
    /// every action of the stage (the tag move and the deploy) redoes that execution's work.
    /// Returns the rollback's pipeline execution id.
    pub async fn rollback_stage(
        &self,
        stage: &str,
        execution: &str,
    ) -> Result<String, DeployError> {
        let out = self
            .pipeline
            .rollback_stage()
            .pipeline_name(&self.pipeline_name)
            .stage_name(stage)
            .target_pipeline_execution_id(execution)
            .send()
            .await
            .map_err(|e| match DeployError::from_sdk("RollbackStage", e) {
                // CodePipeline API Reference, RollbackStage "Errors".
                err if err.has_code("PipelineExecutionOutdatedException") => DeployError::Refused(format!(
                    "CodePipeline cannot roll {stage} back to execution {execution}: the pipeline's structure changed since (a `shipline deploy` that changed the pipeline); nothing was changed. Run the pipeline again, or move the tag by hand"
                )),
                err if err.has_code("ConflictException") => DeployError::Refused(format!(
                    "stage {stage} is running: CodePipeline rolls a stage back only when it is not in progress; wait for it (`shipline status`) and retry"
                )),
                err if err.has_code("UnableToRollbackStageException") => DeployError::Refused(format!(
                    "CodePipeline refuses to roll {stage} back to execution {execution} ({err}); nothing was changed"
                )),
                err => err,
            })?;
        Ok(out.pipeline_execution_id().to_owned())
    }

    /// Puts `stage`'s tag on `digest` (the image's own manifest and media type, as the
    /// delivery function does).
    pub async fn retag(&self, stage: &str, digest: &str) -> Result<(), DeployError> {
        let found = self
            .ecr
            .batch_get_image()
            .repository_name(&self.repository)
            .image_ids(ImageIdentifier::builder().image_digest(digest).build())
            .set_accepted_media_types(Some(MANIFEST_TYPES.map(str::to_owned).to_vec()))
            .send()
            .await
            .map_err(|e| DeployError::from_sdk("BatchGetImage", e))?;
        let Some(image) = found.images().first() else {
            return Err(DeployError::Refused(format!(
                "image {digest} is no longer in repository {} (expired or deleted); choose another with `shipline status`",
                self.repository
            )));
        };
        let put = self
            .ecr
            .put_image()
            .repository_name(&self.repository)
            .image_manifest(image.image_manifest().unwrap_or_default())
            .set_image_manifest_media_type(image.image_manifest_media_type().map(str::to_owned))
            .image_tag(stage)
            .image_digest(digest)
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(err) => match DeployError::from_sdk("PutImage", err) {
                // The tag already points at this manifest: the rollback is done.
                err if err.has_code("ImageAlreadyExistsException") => Ok(()),
                err => Err(err),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    //! CodePipeline's history APIs (which moto lacks) and ECR answers, scripted.

    use std::collections::HashMap;

    use aws_sdk_codepipeline::operation::list_action_executions::ListActionExecutionsOutput;
    use aws_sdk_codepipeline::operation::list_pipeline_executions::ListPipelineExecutionsOutput;
    use aws_sdk_codepipeline::types::{
        ActionExecutionInput, ActionExecutionOutput, PipelineExecutionStatus,
        PipelineExecutionSummary,
    };
    use aws_sdk_ecr::operation::batch_get_image::BatchGetImageOutput;
    use aws_sdk_ecr::operation::describe_image_scan_findings::DescribeImageScanFindingsOutput;
    use aws_sdk_ecr::operation::describe_images::DescribeImagesOutput;
    use aws_sdk_ecr::operation::put_image::PutImageOutput;
    use aws_sdk_ecr::types::{
        EnhancedImageScanFinding, FindingSeverity, Image, ImageDetail, ImageScanFindings,
        ImageScanStatus, ScanStatus,
    };
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::DateTime;
    use aws_smithy_types::body::SdkBody;

    use super::*;
    use crate::cloudformation::tests::run;

    const OLD: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const GOOD: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    const BAD: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
    const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
    const DAY: i64 = 86_400;

    fn promotion(
        execution: &str,
        stage: &str,
        digest: &str,
        status: ActionExecutionStatus,
        at: i64,
    ) -> ActionExecutionDetail {
        let parameters =
            format!(r#"{{"repository":"orders","digest":"{digest}","tag":"{stage}"}}"#);
        ActionExecutionDetail::builder()
            .pipeline_execution_id(execution)
            .stage_name(stage)
            .action_name(PROMOTE_ACTION)
            .status(status)
            .start_time(DateTime::from_secs(at))
            .last_update_time(DateTime::from_secs(at + 4))
            .input(
                ActionExecutionInput::builder()
                    .set_resolved_configuration(Some(HashMap::from([(
                        "UserParameters".to_owned(),
                        parameters,
                    )])))
                    .build(),
            )
            .build()
    }

    /// production history, oldest first: OLD promoted, GOOD promoted, BAD promoted, a failed
    /// attempt of something else.
    fn history() -> Rule {
        mock!(aws_sdk_codepipeline::Client::list_action_executions).then_output(|| {
            ListActionExecutionsOutput::builder()
                .action_execution_details(promotion(
                    "e4",
                    "production",
                    OLD,
                    ActionExecutionStatus::Failed,
                    400,
                ))
                .action_execution_details(promotion(
                    "e3",
                    "production",
                    BAD,
                    ActionExecutionStatus::Succeeded,
                    300,
                ))
                .action_execution_details(promotion(
                    "e2",
                    "production",
                    GOOD,
                    ActionExecutionStatus::Succeeded,
                    200,
                ))
                .action_execution_details(promotion(
                    "e1",
                    "production",
                    OLD,
                    ActionExecutionStatus::Succeeded,
                    100,
                ))
                .action_execution_details(promotion(
                    "e3",
                    "dev",
                    BAD,
                    ActionExecutionStatus::Succeeded,
                    290,
                ))
                .build()
        })
    }

    fn tagged(digest: &'static str) -> Rule {
        mock!(aws_sdk_ecr::Client::describe_images).then_output(move || {
            DescribeImagesOutput::builder()
                .image_details(ImageDetail::builder().image_digest(digest).build())
                .build()
        })
    }

    fn delivery(pipeline: &[&Rule], ecr: &[&Rule]) -> Delivery {
        Delivery {
            pipeline: mock_client!(aws_sdk_codepipeline, RuleMode::Sequential, pipeline),
            ecr: mock_client!(aws_sdk_ecr, RuleMode::Sequential, ecr),
            pipeline_name: "orders-pipeline".into(),
            repository: "orders".into(),
            deploying_stages: Vec::new(),
        }
    }

    #[test]
    fn rollback_returns_to_the_last_successful_promotion_before_the_current_one() {
        let (history, current) = (history(), tagged(BAD));
        let manifest = mock!(aws_sdk_ecr::Client::batch_get_image)
            .match_requests(|r| r.image_ids()[0].image_digest() == Some(GOOD))
            .then_output(|| {
                BatchGetImageOutput::builder()
                    .images(
                        Image::builder()
                            .image_manifest("{\"schemaVersion\":2}")
                            .image_manifest_media_type("application/vnd.oci.image.manifest.v1+json")
                            .build(),
                    )
                    .build()
            });
        let put = mock!(aws_sdk_ecr::Client::put_image)
            .match_requests(|r| {
                r.image_tag() == Some("production")
                    && r.image_digest() == Some(GOOD)
                    && r.image_manifest_media_type()
                        == Some("application/vnd.oci.image.manifest.v1+json")
            })
            .then_output(|| PutImageOutput::builder().build());
        let d = delivery(&[&history], &[&current, &manifest, &put]);
        let RollbackTarget { from, to, .. } = run(d.rollback_target("production")).unwrap();
        assert_eq!((from.as_str(), to.as_str()), (BAD, GOOD));
        run(d.retag("production", &to)).unwrap();
        assert_eq!(put.num_calls(), 1);
    }

    #[test]
    fn a_stage_rollback_reruns_the_execution_that_promoted_the_previous_digest() {
        let (history, current) = (history(), tagged(BAD));
        let d = delivery(&[&history], &[&current]);
        let target = run(d.rollback_target("production")).unwrap();
        assert_eq!(target.to, GOOD);
        // e2 promoted GOOD to production (the history above).
        let promoted_good = "e2";
        assert_eq!(target.execution, promoted_good);
        let rollback = mock!(aws_sdk_codepipeline::Client::rollback_stage)
            .match_requests(move |r| {
                r.pipeline_name() == Some("orders-pipeline")
                    && r.stage_name() == Some("production")
                    && r.target_pipeline_execution_id() == Some(promoted_good)
            })
            .then_output(|| {
                aws_sdk_codepipeline::operation::rollback_stage::RollbackStageOutput::builder()
                    .pipeline_execution_id("rollback-1")
                    .build()
                    .unwrap()
            });
        // No ECR call is scripted: the stage's own actions move the tag, not shipline.
        let d = delivery(&[&rollback], &[]);
        assert_eq!(
            run(d.rollback_stage("production", &target.execution)).unwrap(),
            "rollback-1"
        );
        assert_eq!(rollback.num_calls(), 1);
    }

    /// A `Deploy` action execution of `execution` in `stage`.
    fn deploy(
        execution: &str,
        stage: &str,
        status: ActionExecutionStatus,
        at: i64,
    ) -> ActionExecutionDetail {
        ActionExecutionDetail::builder()
            .pipeline_execution_id(execution)
            .stage_name(stage)
            .action_name(DEPLOY_ACTION)
            .status(status)
            .start_time(DateTime::from_secs(at + 5))
            .build()
    }

    /// In a stage that deploys, a promotion whose deploy failed is not a rollback target (the
    /// stage failed there), nor is an execution that was itself a rollback (RollbackStage
    /// refuses those).
    #[test]
    fn a_deploying_stage_rolls_back_only_to_an_execution_whose_deploy_succeeded() {
        use ActionExecutionStatus::{Failed, Succeeded};
        // e1 deployed OLD; e2 promoted GOOD but its deploy failed; r3, the automatic rollback,
        // re-deployed OLD... then e4 promoted and deployed BAD (current).
        let history =
            mock!(aws_sdk_codepipeline::Client::list_action_executions).then_output(|| {
                ListActionExecutionsOutput::builder()
                    .action_execution_details(promotion("e4", "production", BAD, Succeeded, 400))
                    .action_execution_details(deploy("e4", "production", Succeeded, 400))
                    .action_execution_details(promotion("r3", "production", OLD, Succeeded, 300))
                    .action_execution_details(deploy("r3", "production", Succeeded, 300))
                    .action_execution_details(promotion("e2", "production", GOOD, Succeeded, 200))
                    .action_execution_details(deploy("e2", "production", Failed, 200))
                    .action_execution_details(promotion("e1", "production", OLD, Succeeded, 100))
                    .action_execution_details(deploy("e1", "production", Succeeded, 100))
                    .build()
            });
        let executions =
            mock!(aws_sdk_codepipeline::Client::list_pipeline_executions).then_output(|| {
                ListPipelineExecutionsOutput::builder()
                    .pipeline_execution_summaries(
                        PipelineExecutionSummary::builder()
                            .pipeline_execution_id("r3")
                            .execution_type(ExecutionType::Rollback)
                            .build(),
                    )
                    .pipeline_execution_summaries(
                        PipelineExecutionSummary::builder()
                            .pipeline_execution_id("e1")
                            .execution_type(ExecutionType::Standard)
                            .build(),
                    )
                    .build()
            });
        let current = tagged(BAD);
        let mut d = delivery(&[&history, &executions], &[&current]);
        d.deploying_stages = vec!["production".into()];
        let target = run(d.rollback_target("production")).unwrap();
        assert_eq!((target.to.as_str(), target.execution.as_str()), (OLD, "e1"));
    }

    /// CodePipeline's refusals of RollbackStage say what to do (both speak JSON 1.1 errors).
    #[test]
    fn rollback_stage_refusals_say_what_to_do() {
        for (code, expected) in [
            (
                "PipelineExecutionOutdatedException",
                "the pipeline's structure changed since",
            ),
            ("ConflictException", "stage production is running"),
        ] {
            let refused = mock!(aws_sdk_codepipeline::Client::rollback_stage)
                .then_http_response(move || ecr_error(code, "scripted"));
            let d = delivery(&[&refused], &[]);
            let err = run(d.rollback_stage("production", "e1")).unwrap_err();
            assert!(err.to_string().contains(expected), "{code}: {err}");
        }
    }

    #[test]
    fn rollback_without_an_earlier_promotion_changes_nothing() {
        let only_one =
            mock!(aws_sdk_codepipeline::Client::list_action_executions).then_output(|| {
                ListActionExecutionsOutput::builder()
                    .action_execution_details(promotion(
                        "e1",
                        "production",
                        GOOD,
                        ActionExecutionStatus::Succeeded,
                        100,
                    ))
                    .build()
            });
        let current = tagged(GOOD);
        // No BatchGetImage / PutImage scripted: calling either would fail the test.
        let d = delivery(&[&only_one], &[&current]);
        let err = run(d.rollback_target("production")).unwrap_err();
        assert!(
            err.to_string()
                .contains("no earlier successful promotion to production"),
            "{err}"
        );
    }

    #[test]
    fn status_shows_stage_results_durations_and_current_and_previous_digests() {
        let executions =
            mock!(aws_sdk_codepipeline::Client::list_pipeline_executions).then_output(|| {
                ListPipelineExecutionsOutput::builder()
                    .pipeline_execution_summaries(
                        PipelineExecutionSummary::builder()
                            .pipeline_execution_id("e3")
                            .status(PipelineExecutionStatus::Succeeded)
                            .build(),
                    )
                    .build()
            });
        let history = history();
        let (dev, production) = (tagged(BAD), tagged(BAD));
        // Both stages are on BAD: its scan is read once.
        let scan = scanned(&[(FindingSeverity::High, 2)]);
        let d = delivery(&[&executions, &history], &[&dev, &scan, &production]);
        let status =
            run(d.status(&["dev".into(), "production".into()], NOW - 30 * DAY, NOW)).unwrap();
        assert_eq!(scan.num_calls(), 1);
        assert_eq!(status.executions.len(), 1);
        assert_eq!(status.executions[0].status, "Succeeded");
        assert_eq!(
            status.executions[0].stages,
            BTreeMap::from([
                (
                    "dev".to_owned(),
                    StageResult {
                        result: "Succeeded".to_owned(),
                        seconds: 4
                    }
                ),
                (
                    "production".to_owned(),
                    StageResult {
                        result: "Succeeded".to_owned(),
                        seconds: 4
                    }
                ),
            ])
        );
        assert_eq!(
            status.images[1],
            StageImage {
                stage: "production".into(),
                current: Some(BAD.into()),
                previous: Some(GOOD.into()),
                scan: status.images[0].scan.clone(),
            }
        );
        assert_eq!(
            status.images[0].previous, None,
            "dev had only one promotion"
        );
    }

    /// An ECR (JSON protocol) error response.
    fn ecr_error(code: &'static str, message: &'static str) -> HttpResponse {
        let body = format!(r#"{{"__type":"{code}","message":"{message}"}}"#);
        HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::from(body))
    }

    fn scan_page(
        status: ScanStatus,
        findings: ImageScanFindings,
    ) -> DescribeImageScanFindingsOutput {
        DescribeImageScanFindingsOutput::builder()
            .image_scan_status(ImageScanStatus::builder().status(status).build())
            .image_scan_findings(findings)
            .build()
    }

    /// A complete basic scan with these severity counts.
    fn scanned(counts: &'static [(FindingSeverity, i32)]) -> Rule {
        mock!(aws_sdk_ecr::Client::describe_image_scan_findings).then_output(move || {
            let mut findings =
                ImageScanFindings::builder().image_scan_completed_at(DateTime::from_secs(NOW - 60));
            for (level, n) in counts {
                findings = findings.finding_severity_counts(level.clone(), *n);
            }
            scan_page(ScanStatus::Complete, findings.build())
        })
    }

    fn no_tag() -> Rule {
        mock!(aws_sdk_ecr::Client::describe_images)
            .then_http_response(|| ecr_error("ImageNotFoundException", "no such tag"))
    }

    fn counts(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        severity_counts(pairs.iter().copied())
    }

    #[test]
    fn status_reads_each_stage_images_scan_and_says_when_there_is_none() {
        let none = mock!(aws_sdk_codepipeline::Client::list_pipeline_executions)
            .then_output(|| ListPipelineExecutionsOutput::builder().build());
        let no_actions = mock!(aws_sdk_codepipeline::Client::list_action_executions)
            .then_output(|| ListActionExecutionsOutput::builder().build());
        let (dev, found) = (
            tagged(GOOD),
            scanned(&[(FindingSeverity::High, 2), (FindingSeverity::Medium, 5)]),
        );
        let (staging, missing) = (
            tagged(BAD),
            mock!(aws_sdk_ecr::Client::describe_image_scan_findings).then_http_response(|| {
                ecr_error(
                    "ScanNotFoundException",
                    "Image scan does not exist for the image",
                )
            }),
        );
        let (qa, failed) = (
            tagged(OLD),
            mock!(aws_sdk_ecr::Client::describe_image_scan_findings).then_output(|| {
                DescribeImageScanFindingsOutput::builder()
                    .image_scan_status(
                        ImageScanStatus::builder()
                            .status(ScanStatus::UnsupportedImage)
                            .description("The operating system 'scratch' is not supported")
                            .build(),
                    )
                    .build()
            }),
        );
        // production is on GOOD too: no second scan request (a third would fail the test).
        let production = tagged(GOOD);
        let untagged = no_tag();
        let d = delivery(
            &[&none, &no_actions],
            &[
                &dev,
                &found,
                &staging,
                &missing,
                &qa,
                &failed,
                &production,
                &untagged,
            ],
        );
        let stages = ["dev", "staging", "qa", "production", "canary"].map(str::to_owned);
        let status = run(d.status(&stages, NOW - 30 * DAY, NOW)).unwrap();
        let scans: Vec<Option<Scan>> = status.images.iter().map(|i| i.scan.clone()).collect();
        let complete = Scan::Complete {
            status: "COMPLETE".into(),
            counts: counts(&[("HIGH", 2), ("MEDIUM", 5)]),
            completed_at: Some("2025-12-31T23:59:00Z".into()),
            complete: true,
        };
        assert_eq!(
            scans,
            [
                Some(complete.clone()),
                Some(Scan::NotFound),
                Some(Scan::Failed {
                    status: "UNSUPPORTED_IMAGE".into(),
                    reason: "The operating system 'scratch' is not supported".into()
                }),
                Some(complete),
                None,
            ]
        );
        assert_eq!(found.num_calls(), 1);
        let json = serde_json::to_value(&status.images[0]).unwrap();
        assert_eq!(json["scan"]["state"], "complete");
        assert_eq!(json["scan"]["counts"]["CRITICAL"], 0);
        assert_eq!(json["scan"]["counts"]["HIGH"], 2);
        assert_eq!(
            serde_json::to_value(&status.images[1]).unwrap()["scan"]["state"],
            "not_found"
        );
        // No history: the metrics are there, and empty.
        assert_eq!(status.delivery.deployment_frequency.deployments, 0);
        assert!(status.delivery.history_complete);
    }

    #[test]
    fn enhanced_findings_without_counts_are_counted_across_pages() {
        let finding = |level: &str| EnhancedImageScanFinding::builder().severity(level).build();
        let first = mock!(aws_sdk_ecr::Client::describe_image_scan_findings)
            .match_requests(|r| {
                r.next_token().is_none()
                    && r.image_id().and_then(|i| i.image_digest()) == Some(GOOD)
            })
            .then_output(move || {
                let findings = ImageScanFindings::builder()
                    .enhanced_findings(finding("HIGH"))
                    .enhanced_findings(finding("HIGH"))
                    .enhanced_findings(finding("CRITICAL"))
                    .build();
                let mut page = scan_page(ScanStatus::Active, findings);
                page.next_token = Some("f2".into());
                page
            });
        let second = mock!(aws_sdk_ecr::Client::describe_image_scan_findings)
            .match_requests(|r| r.next_token() == Some("f2"))
            .then_output(move || {
                let findings = ImageScanFindings::builder()
                    .enhanced_findings(finding("MEDIUM"))
                    .enhanced_findings(EnhancedImageScanFinding::builder().build())
                    .build();
                scan_page(ScanStatus::Active, findings)
            });
        let d = delivery(&[], &[&first, &second]);
        assert_eq!(
            run(d.scan(GOOD)),
            Scan::Complete {
                status: "ACTIVE".into(),
                counts: counts(&[
                    ("CRITICAL", 1),
                    ("HIGH", 2),
                    ("MEDIUM", 1),
                    ("UNDEFINED", 1)
                ]),
                completed_at: None,
                complete: true,
            }
        );
        assert_eq!(second.num_calls(), 1);
    }

    #[test]
    fn scans_in_progress_or_unreadable_are_reported_not_raised() {
        let pending = mock!(aws_sdk_ecr::Client::describe_image_scan_findings).then_output(|| {
            scan_page(ScanStatus::InProgress, ImageScanFindings::builder().build())
        });
        let denied =
            mock!(aws_sdk_ecr::Client::describe_image_scan_findings).then_http_response(|| {
                ecr_error(
                    "AccessDeniedException",
                    "not authorized to perform: inspector2:ListFindings",
                )
            });
        let d = delivery(&[], &[&pending, &denied]);
        assert_eq!(
            run(d.scan(GOOD)),
            Scan::InProgress {
                status: "IN_PROGRESS".into()
            }
        );
        let Scan::Unreadable { reason } = run(d.scan(GOOD)) else {
            panic!("an access error is unreadable")
        };
        assert!(reason.contains("inspector2:ListFindings"), "{reason}");
    }

    fn summary(
        id: &str,
        status: PipelineExecutionStatus,
        started: i64,
    ) -> PipelineExecutionSummary {
        PipelineExecutionSummary::builder()
            .pipeline_execution_id(id)
            .status(status)
            .start_time(DateTime::from_secs(started))
            .build()
    }

    fn action(
        execution: &str,
        stage: &str,
        status: ActionExecutionStatus,
        at: i64,
    ) -> ActionExecutionDetail {
        ActionExecutionDetail::builder()
            .pipeline_execution_id(execution)
            .stage_name(stage)
            .action_name(if stage == "Source" {
                "Source"
            } else {
                PROMOTE_ACTION
            })
            .status(status)
            .start_time(DateTime::from_secs(at))
            .last_update_time(DateTime::from_secs(at + 60))
            .build()
    }

    /// The GitHub source action of `execution`, with the commit's author date when given.
    fn source(execution: &str, at: i64, authored: Option<&str>) -> ActionExecutionDetail {
        let mut detail = action(execution, "Source", ActionExecutionStatus::Succeeded, at);
        if let Some(date) = authored {
            detail.output = Some(
                ActionExecutionOutput::builder()
                    .set_output_variables(Some(HashMap::from([
                        ("AuthorDate".to_owned(), date.to_owned()),
                        ("CommitId".to_owned(), "0123abc".to_owned()),
                    ])))
                    .build(),
            );
        }
        detail
    }

    #[test]
    fn status_pages_through_the_history_until_it_passes_since_and_computes_the_metrics() {
        use ActionExecutionStatus as A;
        use PipelineExecutionStatus as P;
        let since = NOW - 30 * DAY;
        let executions_1 = mock!(aws_sdk_codepipeline::Client::list_pipeline_executions)
            .match_requests(|r| r.next_token().is_none() && r.max_results() == Some(100))
            .then_output(|| {
                ListPipelineExecutionsOutput::builder()
                    .pipeline_execution_summaries(summary("e5", P::Succeeded, NOW - DAY))
                    .pipeline_execution_summaries(summary("e4", P::Failed, NOW - 2 * DAY))
                    .next_token("p2")
                    .build()
            });
        // Reaches past `since` (e0): the page after it ("p3") is not requested.
        let executions_2 = mock!(aws_sdk_codepipeline::Client::list_pipeline_executions)
            .match_requests(|r| r.next_token() == Some("p2"))
            .then_output(|| {
                ListPipelineExecutionsOutput::builder()
                    .pipeline_execution_summaries(summary("e3", P::Succeeded, NOW - 5 * DAY))
                    .pipeline_execution_summaries(summary("e0", P::Succeeded, NOW - 40 * DAY))
                    .next_token("p3")
                    .build()
            });
        let actions_1 = mock!(aws_sdk_codepipeline::Client::list_action_executions)
            .match_requests(|r| r.next_token().is_none() && r.filter().is_none())
            .then_output(|| {
                ListActionExecutionsOutput::builder()
                    .action_execution_details(action(
                        "e5",
                        "production",
                        A::Succeeded,
                        NOW - DAY + 1200,
                    ))
                    .action_execution_details(action("e5", "dev", A::Succeeded, NOW - DAY + 600))
                    .action_execution_details(source("e5", NOW - DAY, Some("2025-12-30T23:00:00Z")))
                    .action_execution_details(action(
                        "e4",
                        "production",
                        A::Failed,
                        NOW - 2 * DAY + 1200,
                    ))
                    .action_execution_details(action(
                        "e4",
                        "dev",
                        A::Succeeded,
                        NOW - 2 * DAY + 600,
                    ))
                    .next_token("a2")
                    .build()
            });
        let actions_2 = mock!(aws_sdk_codepipeline::Client::list_action_executions)
            .match_requests(|r| r.next_token() == Some("a2"))
            .then_output(|| {
                ListActionExecutionsOutput::builder()
                    .action_execution_details(action(
                        "e3",
                        "production",
                        A::Succeeded,
                        NOW - 5 * DAY + 1200,
                    ))
                    .action_execution_details(source("e3", NOW - 5 * DAY, None))
                    .action_execution_details(action(
                        "e0",
                        "production",
                        A::Succeeded,
                        NOW - 40 * DAY,
                    ))
                    .next_token("a3")
                    .build()
            });
        let (dev, production) = (no_tag(), no_tag());
        let d = delivery(
            &[&executions_1, &executions_2, &actions_1, &actions_2],
            &[&dev, &production],
        );
        let status = run(d.status(&["dev".into(), "production".into()], since, NOW)).unwrap();
        assert_eq!((executions_2.num_calls(), actions_2.num_calls()), (1, 1));
        assert_eq!(
            status
                .executions
                .iter()
                .map(|e| e.id.as_str())
                .collect::<Vec<_>>(),
            ["e5", "e4", "e3", "e0"]
        );
        assert_eq!(status.executions[1].stages["production"].result, "Failed");
        let m = &status.delivery;
        assert!(m.history_complete);
        // e5 and e3 (a page later) reached production in the window; e0 is older.
        assert_eq!(m.deployment_frequency.deployments, 2);
        // e5: commit 1h before its start, production done 1260s after; e3: from its start.
        assert_eq!(m.lead_time.from, "mixed");
        assert_eq!(
            m.lead_time.median_seconds,
            Some((3_600 + 1_260 + 1_260) / 2)
        );
        let c = &m.change_failure_rate;
        assert_eq!((c.changes, c.failures, c.failed), (3, 1, 1));
        // e4's production failed, e5's fixed it a day later.
        assert_eq!(m.time_to_restore.median_seconds, Some(DAY));
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["delivery"]["deployment_frequency"]["deployments"], 2);
        assert_eq!(json["delivery"]["change_failure_rate"]["rate"], 0.333);
    }

    #[test]
    fn a_history_longer_than_the_page_cap_is_cut_and_says_so() {
        let endless = mock!(aws_sdk_codepipeline::Client::list_pipeline_executions)
            .sequence()
            .output(|| {
                ListPipelineExecutionsOutput::builder()
                    .pipeline_execution_summaries(summary(
                        "e",
                        PipelineExecutionStatus::Succeeded,
                        NOW - 60,
                    ))
                    .next_token("more")
                    .build()
            })
            .times(EXECUTION_PAGES)
            .build();
        let actions = mock!(aws_sdk_codepipeline::Client::list_action_executions)
            .then_output(|| ListActionExecutionsOutput::builder().build());
        let d = delivery(&[&endless, &actions], &[]);
        let status = run(d.status(&[], NOW - DAY, NOW)).unwrap();
        assert_eq!(endless.num_calls(), EXECUTION_PAGES);
        assert!(!status.delivery.history_complete);
    }
}
