//! The GitHub connection (CodeConnections) the Source action reads through: either one the
//! user already authorized (an ARN in config) or one this stack creates, which stays PENDING
//! until someone completes the GitHub handshake in the console.

use serde_json::{Value, json};

use crate::iam::{Role, Statement};
use crate::template::Resource;
use crate::template::intrinsics::ref_;

/// Where to authorize a pending connection in `region` (or a placeholder such as `<region>`):
/// the region's console host and `?region=`, since a bare `console.aws.amazon.com` link opens
/// the region last used, where the connection may not be.
pub fn console_url(region: &str) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/codesuite/settings/connections?region={region}"
    )
}

#[derive(Debug, Clone)]
pub enum Connection {
    /// An existing connection's ARN, from config.
    Existing(String),
    /// A connection created by this stack under `logical_id`.
    Created { logical_id: &'static str },
}

impl Connection {
    /// The ARN as given (existing) or as CloudFormation returns it (created).
    pub fn arn(&self) -> Value {
        match self {
            Connection::Existing(arn) => json!(arn),
            Connection::Created { logical_id } => ref_(logical_id),
        }
    }

    /// The connection's ARN written with `prefix` as its service.
    fn arn_with_prefix(&self, prefix: &str) -> Value {
        match self {
            Connection::Existing(arn) => {
                let mut parts: Vec<&str> = arn.splitn(6, ':').collect();
                parts[2] = prefix;
                json!(parts.join(":"))
            }
            Connection::Created { logical_id } => json!({ "Fn::Sub": [
                format!("arn:${{AWS::Partition}}:{prefix}:${{AWS::Region}}:${{AWS::AccountId}}:connection/${{ConnectionId}}"),
                { "ConnectionId": { "Fn::Select": [1, { "Fn::Split": ["/", ref_(logical_id)] }] } },
            ]}),
        }
    }

    /// A new GitHub connection named `name` (a value that resolves to at most 32 characters).
    pub fn resource(name: Value) -> Resource {
        Resource::new("AWS::CodeConnections::Connection")
            .prop("ConnectionName", name)
            .prop("ProviderType", json!("GitHub"))
    }

    /// Use the connection (CodePipeline calls UseConnection to fetch the source). The service
    /// was renamed from CodeStar Connections to CodeConnections in 2024; a connection answers
    /// to both ARN forms and IAM evaluates `<prefix>:UseConnection` against the ARN of the
    /// same prefix, so each action is granted on this one connection's ARN in its own prefix.
    pub fn grant_use(&self, role: &mut Role) {
        role.add(Statement::allow(
            "UseGitHubConnection",
            &["codeconnections:UseConnection"],
            vec![self.arn_with_prefix("codeconnections")],
        ));
        role.add(Statement::allow(
            "UseGitHubConnectionLegacyPrefix",
            &["codestar-connections:UseConnection"],
            vec![self.arn_with_prefix("codestar-connections")],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0a1b2c3d-1111-2222-3333-444455556666";

    fn granted_resources(connection: &Connection) -> Vec<(String, Vec<&'static str>, Vec<Value>)> {
        let mut role = Role::new("PipelineRole", "test", "codepipeline.amazonaws.com");
        connection.grant_use(&mut role);
        role.statements
            .into_iter()
            .map(|s| (s.sid, s.actions, s.resources))
            .collect()
    }

    #[test]
    fn a_created_connection_is_a_github_connection_with_the_given_name() {
        let name = json!({ "Fn::Join": ["-", ["orders", "use1"]] });
        let resource = Connection::resource(name.clone());
        assert_eq!(resource.type_name, "AWS::CodeConnections::Connection");
        assert_eq!(resource.properties["ConnectionName"], name);
        assert_eq!(resource.properties["ProviderType"], "GitHub");
    }

    #[test]
    fn the_arn_is_the_configured_one_or_the_created_connections_ref() {
        let arn = format!("arn:aws:codeconnections:eu-west-1:123456789012:connection/{ID}");
        assert_eq!(Connection::Existing(arn.clone()).arn(), json!(arn));
        assert_eq!(
            Connection::Created {
                logical_id: "GitHubConnection"
            }
            .arn(),
            json!({ "Ref": "GitHubConnection" })
        );
    }

    #[test]
    fn an_existing_connection_is_granted_under_both_service_prefixes() {
        for given in ["codeconnections", "codestar-connections"] {
            let arn = format!("arn:aws-cn:{given}:cn-north-1:123456789012:connection/{ID}");
            assert_eq!(
                granted_resources(&Connection::Existing(arn)),
                [
                    (
                        "UseGitHubConnection".to_owned(),
                        vec!["codeconnections:UseConnection"],
                        vec![json!(format!(
                            "arn:aws-cn:codeconnections:cn-north-1:123456789012:connection/{ID}"
                        ))],
                    ),
                    (
                        "UseGitHubConnectionLegacyPrefix".to_owned(),
                        vec!["codestar-connections:UseConnection"],
                        vec![json!(format!(
                            "arn:aws-cn:codestar-connections:cn-north-1:123456789012:connection/{ID}"
                        ))],
                    ),
                ],
                "given {given}"
            );
        }
    }

    #[test]
    fn a_created_connection_is_granted_under_both_prefixes_from_its_id() {
        let id =
            json!({ "Fn::Select": [1, { "Fn::Split": ["/", { "Ref": "GitHubConnection" }] }] });
        let arn_in = |prefix: &str| {
            json!({ "Fn::Sub": [
                format!("arn:${{AWS::Partition}}:{prefix}:${{AWS::Region}}:${{AWS::AccountId}}:connection/${{ConnectionId}}"),
                { "ConnectionId": id },
            ]})
        };
        let granted = granted_resources(&Connection::Created {
            logical_id: "GitHubConnection",
        });
        assert_eq!(granted.len(), 2);
        assert_eq!(granted[0].1, ["codeconnections:UseConnection"]);
        assert_eq!(granted[0].2, [arn_in("codeconnections")]);
        assert_eq!(granted[1].1, ["codestar-connections:UseConnection"]);
        assert_eq!(granted[1].2, [arn_in("codestar-connections")]);
    }
}
