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
    role: &Role,
) -> Resource {
    Resource::new("AWS::Events::Rule")
        .prop("Description", json!(description))
        .prop("EventBusName", bus.name_ref())
        .prop("EventPattern", pattern)
        .prop("State", json!("ENABLED"))
        .prop(
            "Targets",
            json!([{ "Id": "Pipeline", "Arn": target_arn, "RoleArn": role.arn() }]),
        )
}
