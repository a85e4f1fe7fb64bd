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
    /// `logs:CreateLogGroup`). The Service Authorization Reference gives the log-group ARN
    /// without the `:*` suffix, while CloudWatch Logs documents the `:*` form (the `Arn`
    /// attribute) for most actions; both name this one group only, so both are granted.
    pub fn grant_create(&self, role: &mut Role, sid: &str) {
        role.add(Statement::allow(
            sid,
            &["logs:CreateLogGroup"],
            vec![
                regional_arn("logs", &format!("log-group:{}", self.name)),
                get_att(self.logical_id, "Arn"),
            ],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> LogGroup {
        LogGroup {
            logical_id: "BuildLogGroup",
            name: "/aws/codebuild/orders".to_owned(),
        }
    }

    #[test]
    fn the_group_is_named_and_keeps_logs_for_the_given_retention() {
        for days in [1, 7, 400] {
            let resource = group().resource(days);
            assert_eq!(resource.type_name, "AWS::Logs::LogGroup");
            assert_eq!(resource.properties["LogGroupName"], "/aws/codebuild/orders");
            assert_eq!(resource.properties["RetentionInDays"], days);
        }
        assert_eq!(group().name_ref(), json!({ "Ref": "BuildLogGroup" }));
    }

    #[test]
    fn grant_write_is_on_the_arn_attribute_which_covers_the_streams() {
        let mut role = Role::new("BuildRole", "test", "codebuild.amazonaws.com");
        group().grant_write(&mut role, "WriteBuildLogs");
        assert_eq!(
            role.statements,
            vec![Statement::allow(
                "WriteBuildLogs",
                &["logs:CreateLogStream", "logs:PutLogEvents"],
                vec![json!({ "Fn::GetAtt": ["BuildLogGroup", "Arn"] })],
            )]
        );
    }

    #[test]
    fn grant_create_is_on_this_group_in_both_arn_forms() {
        let mut role = Role::new("PipelineRole", "test", "codepipeline.amazonaws.com");
        group().grant_create(&mut role, "CreateScanLogGroup");
        assert_eq!(
            role.statements,
            vec![Statement::allow(
                "CreateScanLogGroup",
                &["logs:CreateLogGroup"],
                vec![
                    json!({ "Fn::Sub":
                        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/codebuild/orders"
                    }),
                    json!({ "Fn::GetAtt": [group().logical_id, "Arn"] }),
                ],
            )]
        );
    }
}
