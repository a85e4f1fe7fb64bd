//! The GitHub connection the Source action reads through: the configured one, or one the stack
//! creates (PENDING until authorized), named `<app>-<region code>` because CodeConnections
//! names are unique per account, not per region.

use serde_json::json;

use super::{Names, REGION_CODES, ids, region_codes};
use crate::config::Config;
use crate::resources::connections::{self, Connection};
use crate::stack::Stack;

pub fn add(stack: &mut Stack, config: &Config, names: &Names) -> Connection {
    let connection = match &config.source.connection_arn {
        Some(arn) => Connection::Existing(arn.clone()),
        None => {
            stack.mapping(REGION_CODES, region_codes());
            let name = json!({ "Fn::Join": ["-", [
                names.connection_prefix,
                { "Fn::FindInMap": [REGION_CODES, { "Ref": "AWS::Region" }, "Code"] },
            ]] });
            stack.add(ids::GITHUB_CONNECTION, Connection::resource(name));
            Connection::Created {
                logical_id: ids::GITHUB_CONNECTION,
            }
        }
    };
    let note = if config.source.connection_arn.is_some() {
        "GitHub connection used by the Source action (from shipline.toml)".to_owned()
    } else {
        format!(
            "GitHub connection created by this stack: it stays PENDING until you authorize it at {} (select it, choose 'Update pending connection')",
            connections::console_url("<region>")
        )
    };
    stack.output("ConnectionArn", &note, connection.arn());
    connection
}
