//! EventBridge: the custom bus GitHub push events are published to, and the rule that starts
//! the pipeline for pushes to the configured branch.

use serde_json::{Value, json};

use crate::iam::{Role, Statement};
use crate::template::Resource;
use crate::template::intrinsics::{get_att, ref_};

/// `source` of the events the webhook receiver publishes.
pub const PUSH_SOURCE: &str = "shipline.github";
/// `detail-type` of a GitHub push event.
pub const PUSH_DETAIL_TYPE: &str = "GitHub Push";

#[derive(Debug, Clone)]
pub struct EventBus {
    pub logical_id: &'static str,
    pub name: String,
}

impl EventBus {
    pub fn arn(&self) -> Value {
        get_att(self.logical_id, "Arn")
    }

    pub fn name_ref(&self) -> Value {
        ref_(self.logical_id)
    }

    pub fn resource(&self) -> Resource {
        Resource::new("AWS::Events::EventBus")
            .prop("Name", json!(self.name))
            .prop(
                "Description",
                json!("GitHub push events from shipline's webhook receiver"),
            )
    }

    /// Publish events to this bus only.
    pub fn grant_put_events(&self, role: &mut Role) {
        role.add(Statement::allow(
            "PublishPushEvents",
            &["events:PutEvents"],
            vec![self.arn()],
        ));
    }
}

/// The event pattern matching pushes of `branch` in `repository` that are not deletions.
/// `ref` is matched exactly, so tag pushes (`refs/tags/...`) and other branches never match.
pub fn push_pattern(repository: &str, branch: &str) -> Value {
    json!({
        "source": [PUSH_SOURCE],
        "detail-type": [PUSH_DETAIL_TYPE],
        "detail": {
            "repository": [repository],
            "ref": [format!("refs/heads/{branch}")],
            "deleted": [false],
        },
    })
}

/// A rule on `bus` sending matching events to `target_arn` through `role`.
pub fn rule(
    bus: &EventBus,
    description: &str,
    pattern: Value,
    target_arn: Value,
    role_arn: Value,
) -> Resource {
    Resource::new("AWS::Events::Rule")
        .prop("Description", json!(description))
        .prop("EventBusName", bus.name_ref())
        .prop("EventPattern", pattern)
        .prop("State", json!("ENABLED"))
        .prop(
            "Targets",
            json!([{ "Id": "Pipeline", "Arn": target_arn, "RoleArn": role_arn }]),
        )
}

/// `detail-type` of CodePipeline's execution-level state changes (default event bus).
pub const PIPELINE_EXECUTION_CHANGE: &str = "CodePipeline Pipeline Execution State Change";
/// `detail-type` of CodePipeline's stage-level state changes (these name the stage).
pub const STAGE_EXECUTION_CHANGE: &str = "CodePipeline Stage Execution State Change";

/// Events of `detail_type` from the pipeline named `pipeline` reaching one of `states`.
pub fn pipeline_state_pattern(pipeline: &str, detail_type: &str, states: &[&str]) -> Value {
    json!({
        "source": ["aws.codepipeline"],
        "detail-type": [detail_type],
        "detail": { "pipeline": [pipeline], "state": states },
    })
}

/// A rule on the default bus sending matching pipeline events to the topic as one readable
/// line: pipeline, execution id, state, the stage when `with_stage` (stage-level events), and
/// the execution's console link. SNS needs no role: the topic policy admits the rule.
pub fn notification_rule(
    description: &str,
    pattern: Value,
    topic_arn: Value,
    with_stage: bool,
) -> Resource {
    let mut paths = json!({
        "pipeline": "$.detail.pipeline",
        "execution": "$.detail.execution-id",
        "state": "$.detail.state",
        "region": "$.region",
        "time": "$.time",
    });
    let stage = if with_stage {
        paths["stage"] = json!("$.detail.stage");
        " stage <stage>"
    } else {
        ""
    };
    let template = format!(
        "\"[<time>] pipeline <pipeline>{stage}: <state> (execution <execution>). https://<region>.console.aws.amazon.com/codesuite/codepipeline/pipelines/<pipeline>/executions/<execution>/timeline?region=<region>\""
    );
    Resource::new("AWS::Events::Rule")
        .prop("Description", json!(description))
        .prop("EventPattern", pattern)
        .prop("State", json!("ENABLED"))
        .prop(
            "Targets",
            json!([{
                "Id": "Notifications",
                "Arn": topic_arn,
                "InputTransformer": { "InputPathsMap": paths, "InputTemplate": template },
            }]),
        )
}
