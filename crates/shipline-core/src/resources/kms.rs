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
