//! Change sets: create one (CREATE or UPDATE, always explicit), wait until CloudFormation has
//! computed it, summarize what it would do, and clean it up.

use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType, Replacement};
use serde::Serialize;

use super::error::DeployError;
use crate::staging::TemplateSource;

use shipline_core::pipeline::{DATA_HOLDING, ids};

/// One resource change of a change set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceChange {
    /// Add, Modify, Remove, Import, Dynamic.
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// "True", "Conditional" or "False" (Modify only).
    pub replacement: Option<String>,
}

impl ResourceChange {
    pub fn replaces(&self) -> bool {
        matches!(self.replacement.as_deref(), Some("True" | "Conditional"))
    }

    /// Why this change needs explicit consent, if it does: it replaces or removes a resource
    /// holding the user's data, or the GitHub connection (a new connection starts PENDING, so
    /// the Source stage fails until someone authorizes it again).
    pub fn warning(&self) -> Option<&'static str> {
        if self.action != "Remove" && !self.replaces() {
            return None;
        }
        if DATA_HOLDING.contains(&self.logical_id.as_str()) {
            Some("this change replaces or removes a resource that holds your images or artifacts")
        } else if self.logical_id == ids::GITHUB_CONNECTION {
            Some(
                "this change replaces or removes the GitHub connection: a new connection starts PENDING and the Source stage fails until you authorize it again (deploy prints where)",
            )
        } else {
            None
        }
    }
}

/// A computed change set.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeSet {
    pub id: String,
    pub stack_id: String,
    pub changes: Vec<ResourceChange>,
}

/// What creating a change set produced.
pub enum Planned {
    Changes(ChangeSet),
    /// CloudFormation found nothing to change (the change set was deleted).
    NoChanges,
}

/// Creates a change set for `template` (inline, or staged in S3) and waits until it is computed.
pub async fn create(
    client: &Client,
    stack: &str,
    template: &TemplateSource,
    kind: ChangeSetType,
    poll: Duration,
) -> Result<Planned, DeployError> {
    let name = format!(
        "shipline-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    );
    let request = client
        .create_change_set()
        .stack_name(stack)
        .change_set_name(&name)
        .change_set_type(kind);
    let request = match template {
        TemplateSource::Body(body) => request.template_body(body),
        TemplateSource::Url(url) => request.template_url(url),
    };
    let created = request
        .capabilities(Capability::CapabilityIam)
        .description("created by shipline")
        .send()
        .await
        .map_err(|e| DeployError::from_sdk("CreateChangeSet", e))?;
    let id = created.id().unwrap_or(&name).to_owned();
    let stack_id = created.stack_id().unwrap_or(stack).to_owned();
    let mut delay = poll / 2;
    loop {
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(poll * 5);
        let out = client
            .describe_change_set()
            .change_set_name(&id)
            .stack_name(&stack_id)
            .send()
            .await
            .map_err(|e| DeployError::from_sdk("DescribeChangeSet", e))?;
        match out.status() {
            Some(ChangeSetStatus::CreateComplete) => {
                let changes = out
                    .changes()
                    .iter()
                    .filter_map(|c| c.resource_change())
                    .map(|rc| ResourceChange {
                        action: rc
                            .action()
                            .map(|a| a.as_str().to_owned())
                            .unwrap_or_default(),
                        logical_id: rc.logical_resource_id().unwrap_or("?").to_owned(),
                        resource_type: rc.resource_type().unwrap_or("?").to_owned(),
                        // Only a Modify can replace; CloudFormation leaves it unset otherwise.
                        replacement: rc.replacement().map(Replacement::as_str).map(str::to_owned),
                    })
                    .collect();
                return Ok(Planned::Changes(ChangeSet {
                    id,
                    stack_id,
                    changes,
                }));
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = out.status_reason().unwrap_or("no reason given").to_owned();
                delete(client, &id, &stack_id).await?;
                if reason.contains("didn't contain changes")
                    || reason.contains("No updates are to be performed")
                {
                    return Ok(Planned::NoChanges);
                }
                return Err(DeployError::ChangeSetFailed { reason });
            }
            _ => {}
        }
    }
}

pub async fn delete(client: &Client, id: &str, stack_id: &str) -> Result<(), DeployError> {
    client
        .delete_change_set()
        .change_set_name(id)
        .stack_name(stack_id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| DeployError::from_sdk("DeleteChangeSet", e))
}

/// Human-readable summary lines, data-holding replacements flagged loudly.
pub fn summary_lines(changes: &[ResourceChange]) -> Vec<String> {
    changes
        .iter()
        .map(|c| {
            let sign = match c.action.as_str() {
                "Add" => "+",
                "Remove" => "-",
                _ => "~",
            };
            let mut line = format!("{sign} {:<28} {}", c.logical_id, c.resource_type);
            if c.replaces() {
                line.push_str(&format!("  (REPLACEMENT: {})", c.replacement.as_deref().unwrap_or("")));
            }
            if c.warning().is_some() && DATA_HOLDING.contains(&c.logical_id.as_str()) {
                line.push_str("  !! holds your data: the old one is retained but orphaned, a new empty one takes its place");
            } else if c.warning().is_some() {
                line.push_str("  !! the new connection must be authorized again");
            }
            line
        })
        .collect()
}
