//! SNS: the notification topic (encrypted with the stack's own KMS key), its email
//! subscriptions, and the topic policy that lets only this stack's EventBridge rules and the
//! pipeline role publish.

use serde_json::{Value, json};

use crate::iam::{Role, Statement};
use crate::template::Resource;
use crate::template::intrinsics::ref_;

#[derive(Debug, Clone)]
pub struct Topic {
    pub logical_id: &'static str,
    pub name: String,
}

impl Topic {
    /// `Ref` of a topic is its ARN.
    pub fn arn(&self) -> Value {
        ref_(self.logical_id)
    }

    pub fn resource(&self, key_arn: Value, emails: &[String]) -> Resource {
        let subscriptions: Vec<Value> = emails
            .iter()
            .map(|email| json!({ "Protocol": "email", "Endpoint": email }))
            .collect();
        let mut topic = Resource::new("AWS::SNS::Topic")
            .prop("TopicName", json!(self.name))
            .prop("DisplayName", json!("shipline pipeline"))
            .prop("KmsMasterKeyId", key_arn);
        if !subscriptions.is_empty() {
            topic = topic.prop("Subscription", Value::Array(subscriptions));
        }
        topic
    }

    /// Publishers: EventBridge for the given rules only (`aws:SourceArn`), and the given
    /// roles; every request must use TLS.
    pub fn policy(&self, rule_arns: Vec<Value>, publisher_roles: Vec<Value>) -> Resource {
        let mut statements = vec![json!({
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": { "AWS": "*" },
            "Action": "sns:Publish",
            "Resource": self.arn(),
            "Condition": { "Bool": { "aws:SecureTransport": "false" } },
        })];
        if !rule_arns.is_empty() {
            statements.push(json!({
                "Sid": "StackRulesPublish",
                "Effect": "Allow",
                "Principal": { "Service": "events.amazonaws.com" },
                "Action": "sns:Publish",
                "Resource": self.arn(),
                "Condition": { "ArnEquals": { "aws:SourceArn": rule_arns } },
            }));
        }
        statements.push(json!({
            "Sid": "PipelinePublishesApprovalRequests",
            "Effect": "Allow",
            "Principal": { "AWS": publisher_roles },
            "Action": "sns:Publish",
            "Resource": self.arn(),
        }));
        Resource::new("AWS::SNS::TopicPolicy")
            .prop("Topics", json!([self.arn()]))
            .prop(
                "PolicyDocument",
                json!({ "Version": "2012-10-17", "Statement": statements }),
            )
    }

    /// Publish to this topic (a manual approval action's notification).
    pub fn grant_publish(&self, role: &mut Role) {
        role.add(Statement::allow(
            "PublishNotifications",
            &["sns:Publish"],
            vec![self.arn()],
        ));
    }
}
