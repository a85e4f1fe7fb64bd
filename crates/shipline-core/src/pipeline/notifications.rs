//! Notifications: the SNS topic encrypted with the stack's own KMS key (EventBridge cannot
//! publish to a topic under the AWS-managed `aws/sns` key), its email subscriptions, the rules
//! that send pipeline results and failed stages to it as readable lines, and the topic policy
//! admitting exactly those rules and the pipeline role (approval requests) as publishers.

use serde_json::json;

use super::{Names, ids};
use crate::config::{Config, ExecutionState};
use crate::resources::codepipeline::Pipeline;
use crate::resources::events;
use crate::resources::kms::NotificationKey;
use crate::resources::sns::Topic;
use crate::stack::Stack;
use crate::template::intrinsics::{get_att, regional_arn};

pub struct Notifications {
    pub key: NotificationKey,
    pub topic: Topic,
}

pub fn add(
    stack: &mut Stack,
    config: &Config,
    names: &Names,
    pipeline: &Pipeline,
) -> Notifications {
    let key = NotificationKey {
        logical_id: ids::NOTIFICATION_KEY,
    };
    let topic = Topic {
        logical_id: ids::NOTIFICATION_TOPIC,
        name: names.notification_topic.clone(),
    };
    let description = format!(
        "shipline: encrypts the {} notification topic",
        config.app.name
    );
    stack.add(ids::NOTIFICATION_KEY, key.resource(&description));
    stack.add(
        ids::NOTIFICATION_KEY_ALIAS,
        key.alias(&names.notification_key_alias),
    );
    stack.add(
        ids::NOTIFICATION_TOPIC,
        topic.resource(key.arn(), &config.notifications.emails),
    );
    let rule_arn = |name: &str| regional_arn("events", &format!("rule/{name}"));
    let mut rule_arns = Vec::new();
    let on = &config.notifications.on;
    let results: Vec<&str> = on
        .iter()
        .filter(|s| **s != ExecutionState::Failed)
        .map(|s| s.as_str())
        .collect();
    if !results.is_empty() {
        let pattern = events::pipeline_state_pattern(
            &pipeline.name,
            events::PIPELINE_EXECUTION_CHANGE,
            &results,
        );
        let rule = events::notification_rule(
            "Notifies the pipeline's execution results",
            pattern,
            topic.arn(),
            false,
        )
        .prop("Name", json!(names.pipeline_state_rule));
        stack.add(ids::PIPELINE_STATE_RULE, rule);
        rule_arns.push(rule_arn(&names.pipeline_state_rule));
    }
    if on.contains(&ExecutionState::Failed) {
        // Failures are reported per stage, so the message names the stage that failed.
        let pattern = events::pipeline_state_pattern(
            &pipeline.name,
            events::STAGE_EXECUTION_CHANGE,
            &["FAILED"],
        );
        let rule = events::notification_rule(
            "Notifies failed pipeline stages",
            pattern,
            topic.arn(),
            true,
        )
        .prop("Name", json!(names.stage_failure_rule));
        stack.add(ids::STAGE_FAILURE_RULE, rule);
        rule_arns.push(rule_arn(&names.stage_failure_rule));
    }
    // The pipeline role publishes approval requests: admitted only when a stage has one.
    let approvals = config.promotion_stages().iter().any(|s| s.approval);
    let publishers = if approvals {
        vec![get_att(ids::PIPELINE_ROLE, "Arn")]
    } else {
        vec![]
    };
    stack.add(
        ids::NOTIFICATION_TOPIC_POLICY,
        topic.policy(rule_arns, publishers),
    );
    stack.output(
        "NotificationTopicArn",
        "SNS topic of pipeline notifications and approval requests (subscribe more endpoints here)",
        topic.arn(),
    );
    Notifications { key, topic }
}
