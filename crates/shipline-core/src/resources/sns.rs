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
        if !publisher_roles.is_empty() {
            statements.push(json!({
                "Sid": "PipelinePublishesApprovalRequests",
                "Effect": "Allow",
                "Principal": { "AWS": publisher_roles },
                "Action": "sns:Publish",
                "Resource": self.arn(),
            }));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn topic() -> Topic {
        Topic {
            logical_id: "NotificationTopic",
            name: "orders-notifications".to_owned(),
        }
    }

    fn topic_arn() -> Value {
        json!({ "Ref": "NotificationTopic" })
    }

    #[test]
    fn the_topic_is_encrypted_with_the_given_key_and_subscribes_each_email() {
        let key = json!({ "Fn::GetAtt": ["NotificationKey", "Arn"] });
        let resource = topic().resource(
            key.clone(),
            &["a@example.com".to_owned(), "b@example.com".to_owned()],
        );
        assert_eq!(resource.type_name, "AWS::SNS::Topic");
        assert_eq!(resource.properties["TopicName"], "orders-notifications");
        assert_eq!(resource.properties["KmsMasterKeyId"], key);
        assert_eq!(
            resource.properties["Subscription"],
            json!([
                { "Protocol": "email", "Endpoint": "a@example.com" },
                { "Protocol": "email", "Endpoint": "b@example.com" },
            ])
        );
    }

    #[test]
    fn a_topic_without_emails_has_no_subscription_property() {
        let resource = topic().resource(json!("arn:key"), &[]);
        assert!(!resource.properties.contains_key("Subscription"));
        assert_eq!(resource.properties["KmsMasterKeyId"], "arn:key");
    }

    #[test]
    fn the_policy_denies_insecure_transport_and_admits_only_the_given_rules_and_roles() {
        let policy = topic().policy(
            vec![json!("arn:rule/a"), json!("arn:rule/b")],
            vec![json!({ "Fn::GetAtt": ["PipelineRole", "Arn"] })],
        );
        assert_eq!(policy.type_name, "AWS::SNS::TopicPolicy");
        assert_eq!(policy.properties["Topics"], json!([topic_arn()]));
        assert_eq!(
            policy.properties["PolicyDocument"],
            json!({
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": { "AWS": "*" },
                        "Action": "sns:Publish",
                        "Resource": topic_arn(),
                        "Condition": { "Bool": { "aws:SecureTransport": "false" } },
                    },
                    {
                        "Sid": "StackRulesPublish",
                        "Effect": "Allow",
                        "Principal": { "Service": "events.amazonaws.com" },
                        "Action": "sns:Publish",
                        "Resource": topic_arn(),
                        "Condition": { "ArnEquals": {
                            "aws:SourceArn": ["arn:rule/a", "arn:rule/b"],
                        }},
                    },
                    {
                        "Sid": "PipelinePublishesApprovalRequests",
                        "Effect": "Allow",
                        "Principal": { "AWS": [{ "Fn::GetAtt": ["PipelineRole", "Arn"] }] },
                        "Action": "sns:Publish",
                        "Resource": topic_arn(),
                    },
                ],
            })
        );
    }

    #[test]
    fn without_rules_eventbridge_is_not_admitted_at_all() {
        let policy = topic().policy(vec![], vec![json!("arn:role")]);
        let sids: Vec<&str> = policy.properties["PolicyDocument"]["Statement"]
            .as_array()
            .expect("statements")
            .iter()
            .map(|s| s["Sid"].as_str().expect("sid"))
            .collect();
        assert_eq!(
            sids,
            ["DenyInsecureTransport", "PipelinePublishesApprovalRequests"]
        );
    }

    #[test]
    fn grant_publish_allows_publishing_to_this_topic_only() {
        let mut role = Role::new("PipelineRole", "test", "codepipeline.amazonaws.com");
        topic().grant_publish(&mut role);
        assert_eq!(
            role.statements,
            vec![Statement::allow(
                "PublishNotifications",
                &["sns:Publish"],
                vec![topic_arn()],
            )]
        );
    }
}
