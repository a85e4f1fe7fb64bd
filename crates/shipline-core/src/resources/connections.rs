//! The GitHub connection (CodeConnections) the Source action reads through: either one the
//! user already authorized (an ARN in config) or one this stack creates, which stays PENDING
//! until someone completes the GitHub handshake in the console.

use serde_json::{Value, json};

use crate::iam::{Role, Statement};
use crate::template::Resource;
use crate::template::intrinsics::ref_;

/// Where to authorize a pending connection.
pub const CONSOLE_URL: &str = "https://console.aws.amazon.com/codesuite/settings/connections";

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
