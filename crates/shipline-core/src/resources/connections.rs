//! The GitHub connection (CodeConnections) the Source action reads through: either one the
//! user already authorized (an ARN in config) or one this stack creates, which stays PENDING
//! until someone completes the GitHub handshake in the console.

use serde_json::{Value, json};

use crate::iam::{Role, Statement};
use crate::template::Resource;

/// Where to authorize a pending connection.
pub const CONSOLE_URL: &str = "https://console.aws.amazon.com/codesuite/settings/connections";

/// A new GitHub connection named `name` (at most 32 characters).
pub fn resource(name: &str) -> Resource {
    Resource::new("AWS::CodeConnections::Connection")
        .prop("ConnectionName", json!(name))
        .prop("ProviderType", json!("GitHub"))
}

/// Use the connection: CodePipeline calls UseConnection to fetch the source. The service was
/// renamed from CodeStar Connections to CodeConnections in 2024 and IAM checks either prefix
/// depending on the connection's ARN, so both actions are granted on that one ARN.
pub fn grant_use(role: &mut Role, connection_arn: Value) {
    role.add(Statement::allow(
        "UseGitHubConnection",
        &["codeconnections:UseConnection", "codestar-connections:UseConnection"],
        vec![connection_arn],
    ));
}
