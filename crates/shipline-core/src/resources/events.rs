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

#[cfg(test)]
mod tests {
    use super::*;

    fn bus() -> EventBus {
        EventBus {
            logical_id: "PushEventBus",
            name: "orders-pushes".to_owned(),
        }
    }

    #[test]
    fn the_bus_is_named_as_given() {
        let resource = bus().resource();
        assert_eq!(resource.type_name, "AWS::Events::EventBus");
        assert_eq!(resource.properties["Name"], "orders-pushes");
    }

    #[test]
    fn grant_put_events_allows_publishing_to_this_bus_only() {
        let mut role = Role::new("WebhookRole", "test", "lambda.amazonaws.com");
        bus().grant_put_events(&mut role);
        assert_eq!(
            role.statements,
            vec![Statement::allow(
                "PublishPushEvents",
                &["events:PutEvents"],
                vec![json!({ "Fn::GetAtt": ["PushEventBus", "Arn"] })],
            )]
        );
    }

    #[test]
    fn the_push_pattern_matches_the_exact_branch_ref_and_skips_deletions() {
        assert_eq!(
            push_pattern("acme/orders", "release/v2"),
            json!({
                "source": ["shipline.github"],
                "detail-type": ["GitHub Push"],
                "detail": {
                    "repository": ["acme/orders"],
                    "ref": ["refs/heads/release/v2"],
                    "deleted": [false],
                },
            })
        );
    }

    #[test]
    fn a_push_rule_on_the_bus_targets_the_pipeline_through_the_role() {
        let rule = rule(
            &bus(),
            "start on push",
            push_pattern("acme/orders", "main"),
            json!("arn:pipeline"),
            json!("arn:role"),
        );
        assert_eq!(rule.type_name, "AWS::Events::Rule");
        assert_eq!(
            rule.properties["EventBusName"],
            json!({ "Ref": "PushEventBus" })
        );
        assert_eq!(rule.properties["State"], "ENABLED");
        assert_eq!(rule.properties["Description"], "start on push");
        assert_eq!(
            rule.properties["EventPattern"],
            push_pattern("acme/orders", "main")
        );
        assert_eq!(
            rule.properties["Targets"],
            json!([{ "Id": "Pipeline", "Arn": "arn:pipeline", "RoleArn": "arn:role" }])
        );
    }

    #[test]
    fn the_pipeline_state_pattern_names_pipeline_detail_type_and_states() {
        assert_eq!(
            pipeline_state_pattern("orders", STAGE_EXECUTION_CHANGE, &["FAILED", "SUCCEEDED"]),
            json!({
                "source": ["aws.codepipeline"],
                "detail-type": ["CodePipeline Stage Execution State Change"],
                "detail": { "pipeline": ["orders"], "state": ["FAILED", "SUCCEEDED"] },
            })
        );
    }

    /// Every `<name>` placeholder of an input template, in order.
    fn placeholders(template: &str) -> Vec<&str> {
        template
            .split('<')
            .skip(1)
            .map(|rest| rest.split_once('>').expect("closed placeholder").0)
            .collect()
    }

    #[test]
    fn a_notification_rule_on_the_default_bus_sends_one_readable_line_to_the_topic() {
        let rule = notification_rule(
            "execution state",
            pipeline_state_pattern("orders", PIPELINE_EXECUTION_CHANGE, &["FAILED"]),
            json!({ "Ref": "Topic" }),
            false,
        );
        // The default bus: no EventBusName; SNS needs no role.
        assert!(!rule.properties.contains_key("EventBusName"));
        let target = &rule.properties["Targets"][0];
        assert_eq!(target["Id"], "Notifications");
        assert_eq!(target["Arn"], json!({ "Ref": "Topic" }));
        assert!(target.get("RoleArn").is_none());
        let transformer = &target["InputTransformer"];
        assert_eq!(
            transformer["InputPathsMap"],
            json!({
                "pipeline": "$.detail.pipeline",
                "execution": "$.detail.execution-id",
                "state": "$.detail.state",
                "region": "$.region",
                "time": "$.time",
            })
        );
        assert_eq!(
            transformer["InputTemplate"],
            "\"[<time>] pipeline <pipeline>: <state> (execution <execution>). https://<region>.console.aws.amazon.com/codesuite/codepipeline/pipelines/<pipeline>/executions/<execution>/timeline?region=<region>\""
        );
    }

    #[test]
    fn a_stage_notification_names_the_stage_and_maps_every_placeholder() {
        for with_stage in [false, true] {
            let rule = notification_rule("stage state", json!({}), json!("arn:topic"), with_stage);
            let transformer = &rule.properties["Targets"][0]["InputTransformer"];
            let template = transformer["InputTemplate"].as_str().expect("template");
            let paths = transformer["InputPathsMap"].as_object().expect("paths");
            for name in placeholders(template) {
                assert!(paths.contains_key(name), "<{name}> has no input path");
            }
            assert_eq!(template.contains(" stage <stage>:"), with_stage);
            assert_eq!(
                paths.get("stage"),
                with_stage.then(|| json!("$.detail.stage")).as_ref()
            );
        }
    }
}
