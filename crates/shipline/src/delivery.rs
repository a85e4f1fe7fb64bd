//! The running pipeline, seen from its history: recent executions with per-stage results and
//! durations, the digest behind each stage tag and the one promoted before it, and
//! `rollback` — moving a stage's tag back to that previous digest. History comes from
//! CodePipeline's action executions (each promotion's resolved UserParameters name the digest
//! it promoted); tags live in ECR. The only code that talks to CodePipeline.

use std::collections::BTreeMap;

use aws_sdk_codepipeline::types::{ActionExecutionDetail, ActionExecutionStatus};
use aws_sdk_ecr::types::ImageIdentifier;
use serde::Serialize;
use shipline_core::pipeline::PROMOTE_ACTION;

use crate::cloudformation::error::DeployError;

/// Media types a promoted manifest may have (the same list as the delivery function's).
const MANIFEST_TYPES: [&str; 4] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

pub struct Delivery {
    pub pipeline: aws_sdk_codepipeline::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub pipeline_name: String,
    pub repository: String,
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

/// What a stage's tag points at now, and the digest promoted to it before that one.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct StageImage {
    pub stage: String,
    pub current: Option<String>,
    pub previous: Option<String>,
}

/// The pipeline part of `shipline status`.
#[derive(Debug, Serialize)]
pub struct PipelineStatus {
    pub executions: Vec<Execution>,
    pub images: Vec<StageImage>,
}

/// Result of `shipline rollback`.
#[derive(Debug, Serialize)]
pub struct RolledBack {
    pub stage: String,
    pub from: String,
    pub to: String,
}

impl Delivery {
    /// The pipeline's most recent action executions (newest first, one page of 100).
    async fn action_history(&self) -> Result<Vec<ActionExecutionDetail>, DeployError> {
        let out = self
            .pipeline
            .list_action_executions()
            .pipeline_name(&self.pipeline_name)
            .max_results(100)
            .send()
            .await
            .map_err(|e| DeployError::from_sdk("ListActionExecutions", e))?;
        let mut history = out.action_execution_details().to_vec();
        history.sort_by_key(|a| std::cmp::Reverse(a.start_time().map(|t| t.as_secs_f64() as i64)));
        Ok(history)
    }

    /// The digests successfully promoted to `stage`, newest first.
    fn promoted(history: &[ActionExecutionDetail], stage: &str) -> Vec<String> {
        history
            .iter()
            .filter(|a| a.stage_name() == Some(stage) && a.action_name() == Some(PROMOTE_ACTION))
            .filter(|a| a.status() == Some(&ActionExecutionStatus::Succeeded))
            .filter_map(|a| {
                let parameters = a.input()?.resolved_configuration()?.get("UserParameters")?;
                let parsed: serde_json::Value = serde_json::from_str(parameters).ok()?;
                Some(parsed["digest"].as_str()?.to_owned())
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

    /// Recent executions and the image behind each stage tag.
    pub async fn status(&self, stages: &[String]) -> Result<PipelineStatus, DeployError> {
        let summaries = self
            .pipeline
            .list_pipeline_executions()
            .pipeline_name(&self.pipeline_name)
            .max_results(5)
            .send()
            .await
            .map_err(|e| DeployError::from_sdk("ListPipelineExecutions", e))?;
        let history = self.action_history().await?;
        let executions = summaries
            .pipeline_execution_summaries()
            .iter()
            .map(|summary| {
                let id = summary.pipeline_execution_id().unwrap_or("?").to_owned();
                let mut stages: BTreeMap<String, (String, i64, i64)> = BTreeMap::new();
                for action in history
                    .iter()
                    .filter(|a| a.pipeline_execution_id() == Some(id.as_str()))
                {
                    let Some(stage) = action.stage_name() else {
                        continue;
                    };
                    let start = action.start_time().map_or(0, |t| t.secs());
                    let end = action.last_update_time().map_or(start, |t| t.secs());
                    let status = action.status().map_or("Unknown", |s| s.as_str()).to_owned();
                    let entry =
                        stages
                            .entry(stage.to_owned())
                            .or_insert((status.clone(), start, end));
                    // A stage's result is its worst action's: Failed over InProgress over Succeeded.
                    let rank = |s: &str| match s {
                        "Failed" => 3,
                        "InProgress" => 2,
                        "Abandoned" => 1,
                        _ => 0,
                    };
                    if rank(&status) > rank(&entry.0) {
                        entry.0 = status;
                    }
                    entry.1 = entry.1.min(start);
                    entry.2 = entry.2.max(end);
                }
                Execution {
                    id,
                    status: summary
                        .status()
                        .map_or("Unknown", |s| s.as_str())
                        .to_owned(),
                    stages: stages
                        .into_iter()
                        .map(|(stage, (result, start, end))| {
                            let seconds = end - start;
                            (stage, StageResult { result, seconds })
                        })
                        .collect(),
                }
            })
            .collect();
        let mut images = Vec::new();
        for stage in stages {
            let current = self.tagged(stage).await?;
            let previous = Self::promoted(&history, stage)
                .into_iter()
                .find(|digest| Some(digest) != current.as_ref());
            images.push(StageImage {
                stage: stage.clone(),
                current,
                previous,
            });
        }
        Ok(PipelineStatus { executions, images })
    }

    /// The digest `stage`'s tag would return to: the newest successful promotion to it that is
    /// not the digest it points at now.
    pub async fn rollback_target(&self, stage: &str) -> Result<(String, String), DeployError> {
        let Some(current) = self.tagged(stage).await? else {
            return Err(DeployError::Refused(format!(
                "the tag {stage} is not in repository {}: nothing has been promoted to {stage} yet",
                self.repository
            )));
        };
        let history = self.action_history().await?;
        let Some(previous) = Self::promoted(&history, stage)
            .into_iter()
            .find(|d| *d != current)
        else {
            return Err(DeployError::Refused(format!(
                "no earlier successful promotion to {stage} in the pipeline's recent history; nothing to roll back to"
            )));
        };
        Ok((current, previous))
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
        ActionExecutionInput, PipelineExecutionStatus, PipelineExecutionSummary,
    };
    use aws_sdk_ecr::operation::batch_get_image::BatchGetImageOutput;
    use aws_sdk_ecr::operation::describe_images::DescribeImagesOutput;
    use aws_sdk_ecr::operation::put_image::PutImageOutput;
    use aws_sdk_ecr::types::{Image, ImageDetail};
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_types::DateTime;

    use super::*;
    use crate::cloudformation::tests::run;

    const OLD: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const GOOD: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    const BAD: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

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
        let (from, to) = run(d.rollback_target("production")).unwrap();
        assert_eq!((from.as_str(), to.as_str()), (BAD, GOOD));
        run(d.retag("production", &to)).unwrap();
        assert_eq!(put.num_calls(), 1);
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
        let d = delivery(&[&executions, &history], &[&dev, &production]);
        let status = run(d.status(&["dev".into(), "production".into()])).unwrap();
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
                previous: Some(GOOD.into())
            }
        );
        assert_eq!(
            status.images[0].previous, None,
            "dev had only one promotion"
        );
    }
}
