//! KMS: the customer-managed key that encrypts the notification topic. The AWS-managed
//! `aws/sns` key cannot be used there: its key policy cannot be changed, so EventBridge (which
//! publishes as the `events.amazonaws.com` service principal) would be refused and every
//! notification silently dropped (EventBridge user guide, "Amazon SNS permissions").

use serde_json::{Value, json};

use crate::iam::{Role, Statement};
use crate::template::Resource;
use crate::template::intrinsics::{get_att, sub};

#[derive(Debug, Clone)]
pub struct NotificationKey {
    pub logical_id: &'static str,
}

impl NotificationKey {
    pub fn arn(&self) -> Value {
        get_att(self.logical_id, "Arn")
    }

    /// The key, with yearly rotation. In a key policy `"Resource": "*"` means "this key" (a
    /// key policy can name no other resource). The account statement lets IAM policies grant
    /// use of the key (how the pipeline role, which sends approval requests, gets it); the
    /// EventBridge statement has no source condition because SNS calls KMS on EventBridge's
    /// behalf without passing one — the topic policy is what limits publishers to this
    /// stack's rules.
    pub fn resource(&self, description: &str) -> Resource {
        Resource::new("AWS::KMS::Key")
            .prop("Description", json!(description))
            .prop("EnableKeyRotation", json!(true))
            .prop("KeySpec", json!("SYMMETRIC_DEFAULT"))
            .prop("KeyUsage", json!("ENCRYPT_DECRYPT"))
            .prop(
                "KeyPolicy",
                json!({
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministersKeyThroughIam",
                            "Effect": "Allow",
                            "Principal": { "AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root") },
                            "Action": "kms:*",
                            "Resource": "*",
                        },
                        {
                            "Sid": "EventBridgePublishesEncryptedNotifications",
                            "Effect": "Allow",
                            "Principal": { "Service": "events.amazonaws.com" },
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                            "Resource": "*",
                        },
                    ],
                }),
            )
            .accept_policy_finding(
                "PERMISSIONS_MANAGEMENT_ACTIONS",
                &["kms:CreateGrant", "kms:CreateKey", "kms:PutKeyPolicy", "kms:RetireGrant", "kms:RevokeGrant"],
                "The account statement (kms:* for the account root) is KMS's default key policy: it delegates access to IAM policies; without it the key would be unmanageable (KMS refuses policies that lock out the account)",
            )
    }

    /// An alias, so the key is recognisable in the console.
    pub fn alias(&self, name: &str) -> Resource {
        Resource::new("AWS::KMS::Alias")
            .prop("AliasName", json!(name))
            .prop("TargetKeyId", get_att(self.logical_id, "Arn"))
    }

    /// Publish to a topic encrypted with this key (SNS asks KMS for a data key as the caller).
    pub fn grant_encrypt_for_publishing(&self, role: &mut Role) {
        role.add(Statement::allow(
            "EncryptNotifications",
            &["kms:Decrypt", "kms:GenerateDataKey"],
            vec![self.arn()],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> NotificationKey {
        NotificationKey {
            logical_id: "NotificationKey",
        }
    }

    #[test]
    fn the_key_is_a_rotated_symmetric_encryption_key() {
        let resource = key().resource("encrypts notifications");
        assert_eq!(resource.type_name, "AWS::KMS::Key");
        assert_eq!(resource.properties["Description"], "encrypts notifications");
        assert_eq!(resource.properties["EnableKeyRotation"], true);
        assert_eq!(resource.properties["KeySpec"], "SYMMETRIC_DEFAULT");
        assert_eq!(resource.properties["KeyUsage"], "ENCRYPT_DECRYPT");
    }

    #[test]
    fn the_key_policy_delegates_to_iam_and_lets_eventbridge_encrypt() {
        let resource = key().resource("k");
        assert_eq!(
            resource.properties["KeyPolicy"],
            json!({
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AccountAdministersKeyThroughIam",
                        "Effect": "Allow",
                        "Principal": { "AWS": {
                            "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
                        }},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "EventBridgePublishesEncryptedNotifications",
                        "Effect": "Allow",
                        "Principal": { "Service": "events.amazonaws.com" },
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                        "Resource": "*",
                    },
                ],
            })
        );
    }

    #[test]
    fn the_account_statement_finding_is_accepted_with_its_reason() {
        let resource = key().resource("k");
        let ignore = resource.metadata["parliament"]["ignore"]
            .as_array()
            .expect("parliament ignores");
        assert_eq!(ignore.len(), 1);
        assert_eq!(ignore[0]["issue"], "PERMISSIONS_MANAGEMENT_ACTIONS");
        assert_eq!(
            ignore[0]["actions"],
            json!([
                "kms:CreateGrant",
                "kms:CreateKey",
                "kms:PutKeyPolicy",
                "kms:RetireGrant",
                "kms:RevokeGrant",
            ])
        );
        assert!(!ignore[0]["reason"].as_str().expect("reason").is_empty());
    }

    #[test]
    fn the_alias_points_at_the_key() {
        let alias = key().alias("alias/orders-notifications");
        assert_eq!(alias.type_name, "AWS::KMS::Alias");
        assert_eq!(alias.properties["AliasName"], "alias/orders-notifications");
        assert_eq!(
            alias.properties["TargetKeyId"],
            json!({ "Fn::GetAtt": ["NotificationKey", "Arn"] })
        );
    }

    #[test]
    fn grant_encrypt_for_publishing_allows_data_keys_from_this_key_only() {
        let mut role = Role::new("PipelineRole", "test", "codepipeline.amazonaws.com");
        key().grant_encrypt_for_publishing(&mut role);
        assert_eq!(
            role.statements,
            vec![Statement::allow(
                "EncryptNotifications",
                &["kms:Decrypt", "kms:GenerateDataKey"],
                vec![json!({ "Fn::GetAtt": ["NotificationKey", "Arn"] })],
            )]
        );
    }
}
