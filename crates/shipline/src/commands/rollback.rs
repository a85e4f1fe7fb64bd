//! `shipline rollback --stage S`: confirm, move the stage's tag back to the digest promoted to
//! it before the current one, say from and to.

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
    let line = format!(
        "{}: moved {} from {} to {}",
        delivery.repository, done.stage, done.from, done.to
    );
    Ok(Output::new(&done, vec![line])
        .note("note: the next pipeline execution promotes its own build to this stage again"))
}
