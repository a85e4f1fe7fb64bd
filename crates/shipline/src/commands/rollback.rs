//! `shipline rollback --stage S`: confirm, move the stage's tag back to the digest promoted to
//! it before the current one, say from and to. A stage with a deploy target is rolled back
//! through CodePipeline instead (RollbackStage to the execution that promoted that digest), so
//! its ECS service or Lambda function runs the digest again too.

use shipline_core::Config;

use super::status::delivery;
use super::{Aws, Failure, Output, stage_names};
use crate::cloudformation::Ui;
use crate::delivery::RolledBack;
use crate::printer::Printer;

/// `--stage` must name a promotion stage (checked before connecting).
pub fn check_stage(config: &Config, stage: &str) -> Result<(), Failure> {
    let stages = stage_names(config);
    if stages.iter().any(|s| s == stage) {
        return Ok(());
    }
    Err(Failure::BadInput(format!(
        "--stage {stage}: not a promotion stage of this pipeline; its stages are {}",
        stages.join(", ")
    )))
}

pub async fn run(
    config: &Config,
    stage: &str,
    aws: &Aws,
    printer: &Printer,
) -> Result<Output, Failure> {
    let delivery = delivery(config, &aws.sdk);
    aws.announce(
        printer,
        &format!(
            "rolling back stage {stage} of {} in",
            delivery.pipeline_name
        ),
    )
    .await?;
    let target = delivery.rollback_target(stage).await?;
    let (from, to) = (target.from, target.to);
    let deploys_to = config
        .promotion_stages()
        .into_iter()
        .find(|s| s.name == stage)
        .and_then(|s| s.target_description());
    // A stage with a deploy target rolls back through CodePipeline, which re-runs the stage's
    // actions with the earlier execution's digest: the tag moves back and the target gets
    // that digest again, by the same code path as an automatic rollback.
    if let Some(deploys_to) = deploys_to {
        if !delivery.has_image(&to).await? {
            return Err(Failure::Failed(format!(
                "image {to} is no longer in repository {} (expired or deleted); nothing was changed",
                delivery.repository
            )));
        }
        printer
            .confirm(&format!(
                "Roll stage {stage} back to {to} (execution {}): move the tag in {} and redeploy {deploys_to}?",
                target.execution, delivery.repository,
            ))
            .consent("rollback")?;
        let execution = delivery.rollback_stage(stage, &target.execution).await?;
        let line = format!(
            "{}: stage {stage} is rolling back from {from} to {to} (pipeline execution {execution}); it moves the tag and redeploys {deploys_to}",
            delivery.pipeline_name,
        );
        let done = RolledBack {
            stage: stage.to_owned(),
            from,
            to,
            execution: Some(execution),
        };
        return Ok(Output::new(&done, vec![line])
            .note("note: follow it with `shipline status` or in the pipeline console; the next pipeline execution promotes its own build to this stage again"));
    }
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
        execution: None,
    };
    let line = format!(
        "{}: moved {} from {} to {}",
        delivery.repository, done.stage, done.from, done.to
    );
    Ok(Output::new(&done, vec![line])
        .note("note: the next pipeline execution promotes its own build to this stage again"))
}
