//! The operations: [`plan`], [`deploy`], [`status`], [`destroy`]. Each reads the stack's state
//! first and never makes a call that conflicts with an operation already running.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::ChangeSetType;
use serde::Serialize;

use super::change_set::{self, ChangeSet, Planned, ResourceChange};
use super::error::DeployError;
use super::stack::{self, StackState};
use super::{Answer, Session, Ui};
use crate::retained::{self, DataKind, DataResource, DataStores};
use crate::staging::TemplateSource;

/// Result of `deploy` and `plan`.
#[derive(Debug, Serialize)]
pub struct Applied {
    pub stack: String,
    /// Final stack status (deploy), or "PLANNED" / "NO_CHANGES".
    pub status: String,
    pub changes: Vec<ResourceChange>,
    /// Stack outputs by name (`jq .outputs.RepositoryUri`).
    pub outputs: BTreeMap<String, String>,
}

/// Result of `status`.
#[derive(Debug, Serialize)]
pub struct Status {
    pub stack: String,
    pub status: String,
    pub reason: Option<String>,
    pub recent_events: Vec<String>,
    /// Stack outputs by name.
    pub outputs: BTreeMap<String, String>,
}

/// Result of `destroy`.
#[derive(Debug, Serialize)]
pub struct Destroyed {
    pub stack: String,
    pub existed: bool,
    /// Data-holding resources retained with their contents, and how to remove each.
    pub kept: Vec<KeptData>,
    /// Data-holding resources deleted on request (`--delete-data`), with what they held.
    pub deleted: Vec<DeletedData>,
}

#[derive(Debug, Serialize)]
pub struct KeptData {
    #[serde(flatten)]
    pub resource: DataResource,
    pub remove_with: String,
}

#[derive(Debug, Serialize)]
pub struct DeletedData {
    #[serde(flatten)]
    pub resource: DataResource,
    /// Images (repository) or object versions and delete markers (bucket) deleted with it.
    pub items: usize,
}

/// Starts one stack operation (`start`, not yet polled) and streams the stack's events until it
/// settles; the operation must end in one of `expected`, else its first failure is reported.
/// `resources` is how many resources it touches (0 if unknown), for a progress bar.
async fn operate(
    session: &Session,
    ui: &dyn Ui,
    stack_id: &str,
    expected: &[&str],
    resources: usize,
    start: impl std::future::Future<Output = Result<(), DeployError>>,
) -> Result<String, DeployError> {
    let since = stack::latest_event_id(&session.client, stack_id).await?;
    start.await?;
    ui.begin(resources);
    let watched = stack::watch(&session.client, stack_id, since, session.poll, |e| {
        ui.progress(&stack::event_line(e));
        if stack::settles_a_resource(e) {
            ui.advance();
        }
    })
    .await;
    ui.finish();
    let (status, events) = watched?;
    if !expected.contains(&status.as_str()) {
        return Err(DeployError::StackFailed {
            stack: session.stack.clone(),
            status,
            first_failure: stack::first_failure(&events),
        });
    }
    Ok(status)
}

async fn delete_stack(session: &Session, stack_id: &str) -> Result<(), DeployError> {
    session
        .client
        .delete_stack()
        .stack_name(stack_id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| DeployError::from_sdk("DeleteStack", e))
}

/// Makes the stack ready for a change set: waits out running operations and, with consent,
/// recovers from ROLLBACK_COMPLETE and UPDATE_ROLLBACK_FAILED. Returns the change set type.
async fn prepare(
    session: &Session,
    ui: &dyn Ui,
    may_recover: bool,
) -> Result<ChangeSetType, DeployError> {
    loop {
        let current = stack::describe(&session.client, &session.stack).await?;
        let stack_id = current
            .as_ref()
            .and_then(|s| s.stack_id())
            .unwrap_or(&session.stack)
            .to_owned();
        match stack::state_of(current.as_ref()) {
            StackState::Missing { .. } => return Ok(ChangeSetType::Create),
            StackState::Ready(_) => return Ok(ChangeSetType::Update),
            StackState::Busy(status) => {
                ui.progress(&format!("stack {} is busy ({status}), probably someone else's deploy; waiting for it to finish", session.stack));
                let since = stack::latest_event_id(&session.client, &stack_id).await?;
                stack::watch(&session.client, &stack_id, since, session.poll, |e| {
                    ui.progress(&stack::event_line(e))
                })
                .await?;
            }
            StackState::RollbackComplete => {
                ui.progress(&format!(
                    "stack {} is in ROLLBACK_COMPLETE: its first create failed and was rolled back, so it can only be deleted and created again (the bucket and repository it may have created are retained)",
                    session.stack
                ));
                if !may_recover
                    || ui.confirm("Delete the failed stack and create it again?") != Answer::Yes
                {
                    return Err(DeployError::Refused(format!(
                        "stack {0} is in ROLLBACK_COMPLETE; rerun with --yes to delete and recreate it, or delete it yourself: aws cloudformation delete-stack --stack-name {0}",
                        session.stack
                    )));
                }
                operate(
                    session,
                    ui,
                    &stack_id,
                    &["DELETE_COMPLETE"],
                    0,
                    delete_stack(session, &stack_id),
                )
                .await?;
            }
            StackState::UpdateRollbackFailed(_) => {
                ui.progress(&format!(
                    "stack {} is in UPDATE_ROLLBACK_FAILED: an update failed and so did its rollback (often a resource changed outside CloudFormation). CloudFormation can continue the rollback.",
                    session.stack
                ));
                if !may_recover || ui.confirm("Continue the update rollback now?") != Answer::Yes {
                    return Err(DeployError::Refused(format!(
                        "stack {0} is in UPDATE_ROLLBACK_FAILED; rerun with --yes to continue the rollback, or: aws cloudformation continue-update-rollback --stack-name {0}",
                        session.stack
                    )));
                }
                let resume = async {
                    session
                        .client
                        .continue_update_rollback()
                        .stack_name(&stack_id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| DeployError::from_sdk("ContinueUpdateRollback", e))
                };
                operate(
                    session,
                    ui,
                    &stack_id,
                    &["UPDATE_ROLLBACK_COMPLETE"],
                    0,
                    resume,
                )
                .await?;
            }
            StackState::Failed(status) => {
                return Err(DeployError::Refused(format!(
                    "stack {} is in {status}; look at its events (shipline status) and fix or delete it in the console before deploying",
                    session.stack
                )));
            }
        }
    }
}

async fn outputs(session: &Session) -> Result<BTreeMap<String, String>, DeployError> {
    let current = stack::describe(&session.client, &session.stack).await?;
    Ok(current
        .iter()
        .flat_map(|s| s.outputs())
        .map(|o| {
            (
                o.output_key().unwrap_or("?").to_owned(),
                o.output_value().unwrap_or("").to_owned(),
            )
        })
        .collect())
}

/// `deploy` shows the change list (the one `plan` prints on stdout) before asking.
fn print_changes(ui: &dyn Ui, set: &ChangeSet) {
    ui.progress(&format!("{} change(s):", set.changes.len()));
    for line in change_set::render(&set.changes) {
        if !line.is_empty() {
            ui.progress(&format!("  {line}"));
        }
    }
}

/// Removes a plan's change set and, when the plan had to create the stack to hold it (a
/// CREATE change set leaves a REVIEW_IN_PROGRESS stack), that empty stack too.
async fn discard(
    session: &Session,
    set: &ChangeSet,
    kind: &ChangeSetType,
) -> Result<(), DeployError> {
    change_set::delete(&session.client, &set.id, &set.stack_id).await?;
    if *kind == ChangeSetType::Create {
        delete_stack(session, &set.stack_id).await?;
    }
    Ok(())
}

/// `shipline plan`: the change set preview; deletes it afterwards. The changes are returned,
/// not shown: `plan` prints them as its result.
pub async fn plan(
    session: &Session,
    template: &TemplateSource,
    ui: &dyn Ui,
) -> Result<Applied, DeployError> {
    let kind = prepare(session, ui, false).await?;
    match change_set::create(
        &session.client,
        &session.stack,
        template,
        kind.clone(),
        session.poll,
    )
    .await?
    {
        Planned::NoChanges => Ok(Applied {
            stack: session.stack.clone(),
            status: "NO_CHANGES".into(),
            changes: vec![],
            outputs: BTreeMap::new(),
        }),
        Planned::Changes(set) => {
            discard(session, &set, &kind).await?;
            Ok(Applied {
                stack: session.stack.clone(),
                status: "PLANNED".into(),
                changes: set.changes,
                outputs: BTreeMap::new(),
            })
        }
    }
}

/// `shipline deploy`: change set, summary, confirmation, execution with streamed events.
pub async fn deploy(
    session: &Session,
    template: &TemplateSource,
    ui: &dyn Ui,
) -> Result<Applied, DeployError> {
    let kind = prepare(session, ui, true).await?;
    let set = match change_set::create(
        &session.client,
        &session.stack,
        template,
        kind.clone(),
        session.poll,
    )
    .await?
    {
        Planned::NoChanges => {
            return Ok(Applied {
                stack: session.stack.clone(),
                status: "NO_CHANGES".into(),
                changes: vec![],
                outputs: outputs(session).await?,
            });
        }
        Planned::Changes(set) => set,
    };
    print_changes(ui, &set);
    let mut warnings: Vec<&str> = set
        .changes
        .iter()
        .filter_map(ResourceChange::warning)
        .collect();
    warnings.dedup();
    for warning in &warnings {
        ui.progress(&format!("WARNING: {warning}"));
    }
    let endangers = !warnings.is_empty();
    match ui.confirm(&format!(
        "Apply these {} change(s) to stack {}?",
        set.changes.len(),
        session.stack
    )) {
        Answer::Yes => {}
        Answer::NotInteractive if !endangers => {}
        answer => {
            discard(session, &set, &kind).await?;
            return Err(DeployError::Refused(if answer == Answer::No {
                "deploy cancelled; nothing was changed".to_owned()
            } else {
                format!(
                    "refusing without a terminal to confirm on ({}); rerun with --yes if that is intended",
                    warnings.join("; ")
                )
            }));
        }
    }
    let execute = async {
        session
            .client
            .execute_change_set()
            .change_set_name(&set.id)
            .stack_name(&set.stack_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| DeployError::from_sdk("ExecuteChangeSet", e))
    };
    let status = operate(
        session,
        ui,
        &set.stack_id,
        &["CREATE_COMPLETE", "UPDATE_COMPLETE"],
        set.changes.len(),
        execute,
    )
    .await?;
    Ok(Applied {
        stack: session.stack.clone(),
        status,
        changes: set.changes,
        outputs: outputs(session).await?,
    })
}

/// `shipline status`: stack status, its last events, outputs.
pub async fn status(session: &Session) -> Result<Status, DeployError> {
    let Some(current) = stack::describe(&session.client, &session.stack).await? else {
        return Err(DeployError::NoStack {
            stack: session.stack.clone(),
            hint: "; deploy it with `shipline deploy`",
        });
    };
    let mut recent: Vec<String> = stack::recent_events(&session.client, &session.stack)
        .await?
        .iter()
        .take(10)
        .map(stack::event_line)
        .collect();
    recent.reverse();
    Ok(Status {
        stack: session.stack.clone(),
        status: current
            .stack_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        reason: current.stack_status_reason().map(str::to_owned),
        recent_events: recent,
        outputs: outputs(session).await?,
    })
}

/// `shipline destroy`: deletes the stack. The bucket and repository are retained (their
/// DeletionPolicy) and reported with how to remove them — unless `delete_data` is given, in
/// which case they are deleted with their contents after the stack, behind a confirmation
/// that must name the stack.
pub async fn destroy(
    session: &Session,
    ui: &dyn Ui,
    delete_data: Option<&DataStores>,
) -> Result<Destroyed, DeployError> {
    let Some(current) = stack::describe(&session.client, &session.stack).await? else {
        return Ok(Destroyed {
            stack: session.stack.clone(),
            existed: false,
            kept: vec![],
            deleted: vec![],
        });
    };
    let stack_id = current.stack_id().unwrap_or(&session.stack).to_owned();
    if let StackState::Busy(status) = stack::state_of(Some(&current)) {
        return Err(DeployError::Refused(format!(
            "stack {} is busy ({status}); wait for that operation (shipline status) before destroying",
            session.stack
        )));
    }
    let resources = session
        .client
        .describe_stack_resources()
        .stack_name(&stack_id)
        .send()
        .await
        .map_err(|e| DeployError::from_sdk("DescribeStackResources", e))?;
    let mut data: Vec<DataResource> = resources
        .stack_resources()
        .iter()
        .filter(|r| {
            shipline_core::pipeline::DATA_HOLDING.contains(&r.logical_resource_id().unwrap_or(""))
        })
        .filter_map(|r| {
            Some(DataResource {
                kind: DataKind::from_resource_type(r.resource_type()?)?,
                id: r.physical_resource_id()?.to_owned(),
            })
        })
        .collect();
    data.sort_by_key(|resource| resource.kind);
    let answer = match delete_data {
        None => ui.confirm(&format!(
            "Delete stack {} (images and artifacts are kept)?",
            session.stack
        )),
        Some(stores) => {
            let mut doomed = Vec::new();
            for resource in &data {
                doomed.push(match resource.kind {
                    DataKind::EcrRepository => format!(
                        "ECR repository {} with its {} image(s)",
                        resource.id,
                        retained::count_images(stores, &resource.id).await?
                    ),
                    DataKind::S3Bucket => {
                        format!("S3 bucket {} with every object version", resource.id)
                    }
                });
            }
            ui.progress(&format!(
                "WARNING: this deletes stack {} and PERMANENTLY deletes {}",
                session.stack,
                if doomed.is_empty() {
                    "no data (none found)".to_owned()
                } else {
                    doomed.join(" and ")
                }
            ));
            ui.confirm_typed(
                &format!(
                    "Type the stack name ({}) to delete it and its data:",
                    session.stack
                ),
                &session.stack,
            )
        }
    };
    answer.consent("destroy")?;
    operate(
        session,
        ui,
        &stack_id,
        &["DELETE_COMPLETE"],
        resources.stack_resources().len(),
        delete_stack(session, &stack_id),
    )
    .await?;
    let Some(stores) = delete_data else {
        return Ok(Destroyed {
            stack: session.stack.clone(),
            existed: true,
            kept: data
                .into_iter()
                .map(|resource| KeptData {
                    remove_with: resource.kind.remove_with(&resource.id),
                    resource,
                })
                .collect(),
            deleted: vec![],
        });
    };
    let mut deleted = Vec::new();
    for resource in data {
        ui.progress(&format!(
            "deleting {} {}",
            resource.kind.describe(),
            resource.id
        ));
        match retained::delete(stores, &resource).await {
            Ok(items) => deleted.push(DeletedData { resource, items }),
            Err(cause) => {
                return Err(DeployError::DataNotDeleted {
                    stack: session.stack.clone(),
                    what: format!("{} {}", resource.kind.describe(), resource.id),
                    cause: Box::new(cause),
                    remove_with: resource.kind.remove_with(&resource.id),
                });
            }
        }
    }
    Ok(Destroyed {
        stack: session.stack.clone(),
        existed: true,
        kept: vec![],
        deleted,
    })
}
