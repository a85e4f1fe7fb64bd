//! CloudWatch Logs groups created by the stack, so that their retention is ours (a group
//! a service creates on first write keeps its logs forever).

use serde_json::{Value, json};

use crate::iam::{Role, Statement};
use crate::template::Resource;
use crate::template::intrinsics::{get_att, ref_, regional_arn};

#[derive(Debug, Clone)]
pub struct LogGroup {
    pub logical_id: &'static str,
    pub name: String,
}

impl LogGroup {
    pub fn resource(&self, retention_days: u32) -> Resource {
        Resource::new("AWS::Logs::LogGroup")
            .prop("LogGroupName", json!(self.name))
            .prop("RetentionInDays", json!(retention_days))
            .skip_checkov(
                "CKV_AWS_158",
                "Build and function logs are encrypted at rest by CloudWatch Logs' service-managed keys; a customer-managed KMS key adds cost and a key policy without protecting more.",
            )
            .skip_checkov(
                "CKV_AWS_338",
                "Retention is the user's choice in shipline.toml (default 7 days); one-year retention of build logs is not required.",
            )
    }

    pub fn name_ref(&self) -> Value {
        ref_(self.logical_id)
    }

    /// Create streams in and write events to this group only. The `Arn` attribute ends in
    /// `:*`, which covers the group's log streams (the resource PutLogEvents is checked on).
    pub fn grant_write(&self, role: &mut Role, sid: &str) {
        role.add(Statement::allow(
            sid,
            &["logs:CreateLogStream", "logs:PutLogEvents"],
            vec![get_att(self.logical_id, "Arn")],
        ));
    }

    /// Create this group (for a service that creates its group itself before writing, such as
    /// CodePipeline's InspectorScan action, whose documented service-role permissions include
    /// `logs:CreateLogGroup`). CreateLogGroup is authorized on the group's ARN *without* the
    /// `:*` suffix the `Arn` attribute carries, so the ARN is written out.
    pub fn grant_create(&self, role: &mut Role, sid: &str) {
        role.add(Statement::allow(
            sid,
            &["logs:CreateLogGroup"],
            vec![regional_arn("logs", &format!("log-group:{}", self.name))],
        ));
    }
}
