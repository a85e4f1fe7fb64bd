//! Stack state: reading it, classifying it, and waiting for it to settle while streaming the
//! stack's events. Polling starts at one request a second and backs off to one every five.

use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Stack, StackEvent};

use super::error::{DeployError, FailedResource};

/// Where a stack stands, as far as starting an operation on it is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackState {
    /// No such stack (or only a change set that was never executed: REVIEW_IN_PROGRESS).
    Missing { review_in_progress: bool },
    /// Settled and updatable (CREATE_COMPLETE, UPDATE_COMPLETE, UPDATE_ROLLBACK_COMPLETE, ...).
    Ready(String),
    /// Someone's operation is running (`*_IN_PROGRESS`).
    Busy(String),
    /// A first create failed and rolled back: the stack can only be deleted.
    RollbackComplete,
    /// An update's rollback failed: needs ContinueUpdateRollback.
    UpdateRollbackFailed(String),
    /// Any other failed state (DELETE_FAILED, ROLLBACK_FAILED, ...).
    Failed(String),
}

pub fn classify(status: &str) -> StackState {
    match status {
        "REVIEW_IN_PROGRESS" => StackState::Missing {
            review_in_progress: true,
        },
        "ROLLBACK_COMPLETE" => StackState::RollbackComplete,
        "UPDATE_ROLLBACK_FAILED" => StackState::UpdateRollbackFailed(status.to_owned()),
        s if s.ends_with("_IN_PROGRESS") => StackState::Busy(s.to_owned()),
        s if s.ends_with("_FAILED") => StackState::Failed(s.to_owned()),
        s => StackState::Ready(s.to_owned()),
    }
}

/// The stack, or None when it does not exist.
pub async fn describe(client: &Client, stack: &str) -> Result<Option<Stack>, DeployError> {
    match client.describe_stacks().stack_name(stack).send().await {
        Ok(out) => Ok(out.stacks().first().cloned()),
        Err(err) => {
            let err = DeployError::from_sdk("DescribeStacks", err);
            if err.is_missing_stack() {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

pub fn state_of(stack: Option<&Stack>) -> StackState {
    match stack.and_then(|s| s.stack_status()) {
        None => StackState::Missing {
            review_in_progress: false,
        },
        Some(status) => classify(status.as_str()),
    }
}

/// The stack's most recent events, newest first (one page: enough when polling).
pub async fn recent_events(client: &Client, stack: &str) -> Result<Vec<StackEvent>, DeployError> {
    let out = client
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| DeployError::from_sdk("DescribeStackEvents", e))?;
    Ok(out.stack_events().to_vec())
}

/// The newest event id of the stack, so a watcher prints only what happens after it.
pub async fn latest_event_id(client: &Client, stack: &str) -> Result<Option<String>, DeployError> {
    Ok(recent_events(client, stack)
        .await?
        .first()
        .and_then(|e| e.event_id())
        .map(str::to_owned))
}

/// A progress line for one event.
pub fn event_line(event: &StackEvent) -> String {
    let status = event.resource_status().map(|s| s.as_str()).unwrap_or("?");
    let mut line = format!(
        "{:<28} {:<34} {}",
        event.logical_resource_id().unwrap_or("?"),
        event.resource_type().unwrap_or("?"),
        status
    );
    if let Some(reason) = event.resource_status_reason() {
        line.push_str(&format!("  {reason}"));
    }
    line
}

/// True when the event is a resource (not the stack) reaching a final state.
pub fn settles_a_resource(event: &StackEvent) -> bool {
    event.resource_type() != Some("AWS::CloudFormation::Stack")
        && event
            .resource_status()
            .is_some_and(|s| !s.as_str().ends_with("_IN_PROGRESS"))
}

/// The root cause among an operation's events (oldest first): the first failed resource
/// whose reason is not a cancellation caused by another failure.
pub fn first_failure(events: &[StackEvent]) -> Option<FailedResource> {
    let failed: Vec<&StackEvent> = events
        .iter()
        .filter(|e| {
            e.resource_status()
                .is_some_and(|s| s.as_str().ends_with("_FAILED"))
        })
        .filter(|e| e.resource_type() != Some("AWS::CloudFormation::Stack"))
        .collect();
    let cancelled = |e: &&&StackEvent| {
        e.resource_status_reason()
            .is_some_and(|r| r.contains("cancelled") || r.contains("canceled"))
    };
    let chosen = failed.iter().find(|e| !cancelled(e)).or(failed.first())?;
    Some(FailedResource {
        logical_id: chosen.logical_resource_id().unwrap_or("?").to_owned(),
        resource_type: chosen.resource_type().unwrap_or("?").to_owned(),
        status: chosen
            .resource_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        reason: chosen
            .resource_status_reason()
            .unwrap_or("no reason given")
            .to_owned(),
    })
}

/// Polls the events of `stack` (name or id; use the id when the stack is being deleted)
/// after `since_event_id`, reporting each new one (oldest first)
/// through `on_event`, until the stack's own status is terminal. Returns the final status and
/// the operation's events.
pub async fn watch(
    client: &Client,
    stack: &str,
    since_event_id: Option<String>,
    poll: Duration,
    mut on_event: impl FnMut(&StackEvent),
) -> Result<(String, Vec<StackEvent>), DeployError> {
    let mut seen = since_event_id;
    let mut operation_events: Vec<StackEvent> = Vec::new();
    let mut delay = poll;
    loop {
        tokio::time::sleep(delay).await;
        // Newest first: take events up to the last one already seen, then replay them in order.
        let mut fresh: Vec<StackEvent> = recent_events(client, stack)
            .await?
            .into_iter()
            .take_while(|e| seen.is_none() || e.event_id() != seen.as_deref())
            .collect();
        fresh.reverse();
        if let Some(newest) = fresh.last() {
            seen = newest.event_id().map(str::to_owned);
            delay = poll;
        } else {
            delay = (delay * 2).min(poll * 5);
        }
        for event in &fresh {
            on_event(event);
        }
        let terminal = fresh.iter().rev().find_map(|e| {
            // The stack's own events (shipline creates no nested stacks).
            let own = e.resource_type() == Some("AWS::CloudFormation::Stack");
            let status = e.resource_status()?.as_str();
            (own && !status.ends_with("_IN_PROGRESS")).then(|| status.to_owned())
        });
        operation_events.extend(fresh);
        if let Some(status) = terminal {
            return Ok((status, operation_events));
        }
    }
}
