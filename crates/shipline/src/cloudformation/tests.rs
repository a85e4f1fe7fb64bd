//! Failure, recovery and blocked-stack paths under scripted SDK responses (aws-smithy-mocks):
//! what moto cannot model (rollbacks, busy stacks, AWS error answers).

use std::cell::RefCell;
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ResourceChange as SdkResourceChange, ResourceStatus,
    Stack, StackEvent, StackStatus,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use super::error::DeployError;
use super::{Answer, Session, Ui, ops};
use crate::retained::DataStores;

const STACK: &str = "orders-pipeline";
const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/orders-pipeline/1";

/// A Ui that records progress and answers every question the same way.
struct Scripted {
    answer: Answer,
    lines: RefCell<Vec<String>>,
    questions: RefCell<Vec<String>>,
}

impl Scripted {
    fn answering(answer: Answer) -> Self {
        Scripted {
            answer,
            lines: RefCell::new(vec![]),
            questions: RefCell::new(vec![]),
        }
    }
    fn saw(&self, text: &str) -> bool {
        self.lines.borrow().iter().any(|l| l.contains(text))
    }
}

impl Ui for Scripted {
    fn progress(&self, line: &str) {
        self.lines.borrow_mut().push(line.to_owned());
    }
    fn confirm(&self, question: &str) -> Answer {
        self.questions.borrow_mut().push(question.to_owned());
        self.answer
    }
    fn confirm_typed(&self, question: &str, _expected: &str) -> Answer {
        self.confirm(question)
    }
}

fn session(rules: &[&Rule]) -> Session {
    let client: Client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, rules);
    Session {
        client,
        stack: STACK.to_owned(),
        poll: Duration::from_millis(1),
    }
}

fn stack_in(status: StackStatus) -> Rule {
    mock!(Client::describe_stacks).then_output(move || {
        DescribeStacksOutput::builder()
            .stacks(
                Stack::builder()
                    .stack_name(STACK)
                    .stack_id(STACK_ID)
                    .stack_status(status.clone())
                    .creation_time(aws_smithy_types::DateTime::from_secs(0))
                    .build(),
            )
            .build()
    })
}

fn aws_error(code: &'static str, message: &'static str) -> HttpResponse {
    let body = format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    );
    HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::from(body))
}

fn no_stack() -> Rule {
    mock!(Client::describe_stacks).then_http_response(|| {
        aws_error(
            "ValidationError",
            "Stack with id orders-pipeline does not exist",
        )
    })
}

fn event(
    id: &str,
    logical: &str,
    kind: &str,
    status: ResourceStatus,
    reason: Option<&str>,
) -> StackEvent {
    let mut builder = StackEvent::builder()
        .event_id(id)
        .stack_id(STACK_ID)
        .stack_name(STACK)
        .logical_resource_id(logical)
        .resource_type(kind)
        .resource_status(status)
        .timestamp(aws_smithy_types::DateTime::from_secs(0));
    if let Some(reason) = reason {
        builder = builder.resource_status_reason(reason);
    }
    builder.build()
}

/// DescribeStackEvents answering `events` (newest first, as AWS does).
fn events(events: Vec<StackEvent>) -> Rule {
    mock!(Client::describe_stack_events).then_output(move || {
        DescribeStackEventsOutput::builder()
            .set_stack_events(Some(events.clone()))
            .build()
    })
}

fn change_set_flow(kind_add: bool) -> Vec<Rule> {
    let action = if kind_add {
        ChangeAction::Add
    } else {
        ChangeAction::Modify
    };
    vec![
        mock!(Client::create_change_set).then_output(|| {
            CreateChangeSetOutput::builder()
                .id("cs-1")
                .stack_id(STACK_ID)
                .build()
        }),
        mock!(Client::describe_change_set).then_output(move || {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .changes(
                    Change::builder()
                        .resource_change(
                            SdkResourceChange::builder()
                                .action(action.clone())
                                .logical_resource_id("PromotionFunction")
                                .resource_type("AWS::Lambda::Function")
                                .build(),
                        )
                        .build(),
                )
                .build()
        }),
        events(vec![]),
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build()),
    ]
}

/// Runs `deploy` of an empty template against the scripted `rules`.
#[allow(clippy::result_large_err)] // one error per run; its size does not matter
fn deploy(rules: &[Rule], ui: &Scripted) -> Result<ops::Applied, DeployError> {
    let refs: Vec<&Rule> = rules.iter().collect();
    run(ops::deploy(
        &session(&refs),
        &crate::staging::TemplateSource::Body("{}".into()),
        ui,
    ))
}

/// The rules of a change set that is created, executed and ends with the stack in `final_status`
/// (events, then DescribeStacks for the outputs).
fn successful_execution(
    add: bool,
    final_event: ResourceStatus,
    final_status: StackStatus,
) -> Vec<Rule> {
    let mut rules = change_set_flow(add);
    rules.push(events(vec![event(
        "e3",
        STACK,
        STACK_TYPE,
        final_event,
        None,
    )]));
    rules.push(stack_in(final_status));
    rules
}

pub(crate) fn run<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

const STACK_TYPE: &str = "AWS::CloudFormation::Stack";

#[test]
fn failed_create_reports_the_first_cause_not_the_cancellations() {
    let mut rules = vec![no_stack()];
    rules.extend(change_set_flow(true));
    rules.push(events(vec![
        event(
            "e5",
            STACK,
            STACK_TYPE,
            ResourceStatus::RollbackComplete,
            None,
        ),
        event(
            "e4",
            "BuildProject",
            "AWS::CodeBuild::Project",
            ResourceStatus::CreateFailed,
            Some("Resource creation cancelled"),
        ),
        event(
            "e3",
            "PromotionFunction",
            "AWS::Lambda::Function",
            ResourceStatus::CreateFailed,
            Some("The role defined for the function cannot be assumed by Lambda."),
        ),
        event(
            "e2",
            STACK,
            STACK_TYPE,
            ResourceStatus::CreateInProgress,
            Some("User Initiated"),
        ),
    ]));
    let ui = Scripted::answering(Answer::Yes);
    let err = deploy(&rules, &ui).unwrap_err();
    match &err {
        DeployError::StackFailed {
            status,
            first_failure: Some(cause),
            ..
        } => {
            assert_eq!(status, "ROLLBACK_COMPLETE");
            assert_eq!(cause.logical_id, "PromotionFunction");
            assert!(cause.reason.contains("cannot be assumed"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("first failure PromotionFunction (AWS::Lambda::Function) CREATE_FAILED")
    );
    assert!(
        ui.saw("PromotionFunction"),
        "events are streamed as progress"
    );
}

#[test]
fn failed_update_rolls_back_and_says_why() {
    let mut rules = vec![stack_in(StackStatus::UpdateComplete)];
    rules.extend(change_set_flow(false));
    rules.push(events(vec![
        event(
            "e4",
            STACK,
            STACK_TYPE,
            ResourceStatus::UpdateRollbackComplete,
            None,
        ),
        event(
            "e3",
            "PromotionFunction",
            "AWS::Lambda::Function",
            ResourceStatus::UpdateFailed,
            Some("Runtime python3.9 is deprecated"),
        ),
    ]));
    let err = deploy(&rules, &Scripted::answering(Answer::Yes)).unwrap_err();
    assert!(
        err.to_string()
            .contains("ended in UPDATE_ROLLBACK_COMPLETE: first failure PromotionFunction"),
        "{err}"
    );
}

#[test]
fn rollback_complete_is_explained_and_refused_without_consent() {
    let rules = [stack_in(StackStatus::RollbackComplete)];
    let ui = Scripted::answering(Answer::NotInteractive);
    let err = deploy(&rules, &ui).unwrap_err();
    assert!(matches!(err, DeployError::Refused(_)));
    assert!(
        err.to_string()
            .contains("rerun with --yes to delete and recreate")
    );
    assert!(ui.saw("first create failed and was rolled back"));
}

#[test]
fn rollback_complete_is_deleted_and_recreated_with_consent() {
    let mut rules = vec![
        stack_in(StackStatus::RollbackComplete),
        events(vec![event(
            "e1",
            STACK,
            STACK_TYPE,
            ResourceStatus::CreateFailed,
            None,
        )]),
        mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build()),
        events(vec![
            event(
                "e2",
                STACK,
                STACK_TYPE,
                ResourceStatus::DeleteComplete,
                None,
            ),
            event("e1", STACK, STACK_TYPE, ResourceStatus::CreateFailed, None),
        ]),
        no_stack(),
    ];
    rules.extend(successful_execution(
        true,
        ResourceStatus::CreateComplete,
        StackStatus::CreateComplete,
    ));
    let ui = Scripted::answering(Answer::Yes);
    let applied = deploy(&rules, &ui).unwrap();
    assert_eq!(applied.status, "CREATE_COMPLETE");
    assert_eq!(
        ui.questions.borrow()[0],
        "Delete the failed stack and create it again?"
    );
}

#[test]
fn update_rollback_failed_offers_continue_update_rollback() {
    let rules = [stack_in(StackStatus::UpdateRollbackFailed)];
    let err = deploy(&rules, &Scripted::answering(Answer::No)).unwrap_err();
    assert!(
        err.to_string().contains("continue-update-rollback"),
        "{err}"
    );
}

#[test]
fn busy_stack_is_waited_for_never_raced() {
    let mut rules = vec![
        stack_in(StackStatus::UpdateInProgress),
        events(vec![event(
            "e1",
            STACK,
            STACK_TYPE,
            ResourceStatus::UpdateInProgress,
            None,
        )]),
        events(vec![
            event(
                "e2",
                STACK,
                STACK_TYPE,
                ResourceStatus::UpdateComplete,
                None,
            ),
            event(
                "e1",
                STACK,
                STACK_TYPE,
                ResourceStatus::UpdateInProgress,
                None,
            ),
        ]),
        stack_in(StackStatus::UpdateComplete),
    ];
    rules.extend(successful_execution(
        false,
        ResourceStatus::UpdateComplete,
        StackStatus::UpdateComplete,
    ));
    let ui = Scripted::answering(Answer::Yes);
    let applied = deploy(&rules, &ui).unwrap();
    assert_eq!(applied.status, "UPDATE_COMPLETE");
    assert!(ui.saw("is busy (UPDATE_IN_PROGRESS)"));
}

#[test]
fn no_changes_is_success_and_cleans_up_its_change_set() {
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let rules = [
        stack_in(StackStatus::UpdateComplete),
        mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().id("cs-1").stack_id(STACK_ID).build()),
        mock!(Client::describe_change_set).then_output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::Failed)
                .status_reason("The submitted information didn't contain changes. Submit different information to create a change set.")
                .build()
        }),
        delete,
        stack_in(StackStatus::UpdateComplete),
    ];
    let applied = deploy(&rules, &Scripted::answering(Answer::NotInteractive)).unwrap();
    assert_eq!(applied.status, "NO_CHANGES");
    assert_eq!(rules[3].num_calls(), 1, "the empty change set is deleted");
}

/// A change set replacing `logical_id` (of `resource_type`), deployed without a terminal.
fn deploy_replacing(
    logical_id: &'static str,
    resource_type: &'static str,
) -> (DeployError, Scripted, Rule) {
    let deleted =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let rules = [
        stack_in(StackStatus::UpdateComplete),
        mock!(Client::create_change_set).then_output(|| {
            CreateChangeSetOutput::builder()
                .id("cs-1")
                .stack_id(STACK_ID)
                .build()
        }),
        mock!(Client::describe_change_set).then_output(move || {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .changes(
                    Change::builder()
                        .resource_change(
                            SdkResourceChange::builder()
                                .action(ChangeAction::Modify)
                                .logical_resource_id(logical_id)
                                .resource_type(resource_type)
                                .replacement(aws_sdk_cloudformation::types::Replacement::True)
                                .build(),
                        )
                        .build(),
                )
                .build()
        }),
        deleted.clone(),
    ];
    let ui = Scripted::answering(Answer::NotInteractive);
    let err = deploy(&rules, &ui).unwrap_err();
    (err, ui, deleted)
}

#[test]
fn data_holding_replacement_is_refused_without_a_terminal() {
    let (err, ui, deleted) = deploy_replacing("ImageRepository", "AWS::ECR::Repository");
    let text = err.to_string();
    assert!(
        text.contains("holds your images or artifacts") && text.contains("--yes"),
        "{text}"
    );
    assert!(ui.saw("REPLACEMENT: True") && ui.saw("holds your data"));
    assert_eq!(
        deleted.num_calls(),
        1,
        "the refused change set is deleted, nothing executed"
    );
}

/// Regression: renaming the connection (`<app>-github` to `<app>-<region code>`) replaces it,
/// and the new one starts PENDING; that went through without a word.
#[test]
fn replacing_the_github_connection_is_refused_without_a_terminal() {
    let (err, ui, deleted) =
        deploy_replacing("GitHubConnection", "AWS::CodeConnections::Connection");
    let text = err.to_string();
    assert!(
        text.contains("starts PENDING") && text.contains("--yes"),
        "{text}"
    );
    assert!(ui.saw("WARNING: this change replaces or removes the GitHub connection"));
    assert!(!ui.saw("holds your data"));
    assert_eq!(
        deleted.num_calls(),
        1,
        "the refused change set is deleted, nothing executed"
    );
}

#[test]
fn expired_credentials_are_one_clear_line() {
    let rules = [mock!(Client::describe_stacks).then_http_response(|| {
        aws_error(
            "ExpiredToken",
            "The security token included in the request is expired",
        )
    })];
    let refs: Vec<&Rule> = rules.iter().collect();
    let err = run(ops::status(&session(&refs))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "DescribeStacks: your AWS credentials have expired: refresh them (e.g. `aws sso login`) and retry"
    );
}

#[test]
fn access_denied_names_the_missing_action() {
    let rules = [
        stack_in(StackStatus::UpdateComplete),
        mock!(Client::create_change_set).then_http_response(|| {
            aws_error("AccessDenied", "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: cloudformation:CreateChangeSet")
        }),
    ];
    let err = deploy(&rules, &Scripted::answering(Answer::Yes)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("CreateChangeSet: access denied:"),
        "{text}"
    );
    assert!(text.contains("cloudformation:CreateChangeSet"), "{text}");
}

#[test]
fn throttling_is_retried_with_backoff_then_succeeds() {
    let throttled = mock!(Client::describe_stacks)
        .sequence()
        .http_response(|| aws_error("Throttling", "Rate exceeded"))
        .times(2)
        .output(|| {
            DescribeStacksOutput::builder()
                .stacks(
                    Stack::builder()
                        .stack_name(STACK)
                        .stack_id(STACK_ID)
                        .stack_status(StackStatus::CreateComplete)
                        .creation_time(aws_smithy_types::DateTime::from_secs(0))
                        .build(),
                )
                .build()
        })
        .build();
    let stack_events = events(vec![event(
        "e1",
        STACK,
        STACK_TYPE,
        ResourceStatus::CreateComplete,
        None,
    )]);
    let outputs = stack_in(StackStatus::CreateComplete);
    // The retry policy shipline's own `connect` produces (not one the test makes up), with a
    // tiny backoff so the test is fast.
    let sdk = run(super::connect(Some("us-east-1".into()), None));
    let retry = sdk
        .retry_config()
        .expect("connect configures retries")
        .clone();
    assert!(retry.max_attempts() >= 3, "{retry:?}");
    let client: Client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::Sequential,
        [&throttled, &stack_events, &outputs],
        |c| c.retry_config(retry.clone().with_initial_backoff(Duration::from_millis(1)))
    );
    let session = Session {
        client,
        stack: STACK.to_owned(),
        poll: Duration::from_millis(1),
    };
    let status = run(ops::status(&session)).unwrap();
    assert_eq!(status.status, "CREATE_COMPLETE");
    assert_eq!(
        throttled.num_calls(),
        3,
        "two throttled attempts, then the answer"
    );
}

/// DescribeStackResources listing the two data-holding resources (repository first).
fn data_resources() -> Rule {
    mock!(Client::describe_stack_resources).then_output(|| {
        let resource = |logical: &str, kind: &str, physical: &str| {
            aws_sdk_cloudformation::types::StackResource::builder()
                .logical_resource_id(logical)
                .resource_type(kind)
                .physical_resource_id(physical)
                .resource_status(ResourceStatus::CreateComplete)
                .timestamp(aws_smithy_types::DateTime::from_secs(0))
                .build()
        };
        aws_sdk_cloudformation::operation::describe_stack_resources::DescribeStackResourcesOutput::builder()
            .stack_resources(resource("ImageRepository", "AWS::ECR::Repository", "orders"))
            .stack_resources(resource("ArtifactBucket", "AWS::S3::Bucket", "orders-artifacts-1"))
            .build()
    })
}

fn three_images() -> Rule {
    mock!(aws_sdk_ecr::Client::list_images).then_output(|| {
        let id = |digest: &str| {
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_digest(digest)
                .build()
        };
        aws_sdk_ecr::operation::list_images::ListImagesOutput::builder()
            .image_ids(id("sha256:1"))
            .image_ids(id("sha256:2"))
            .image_ids(id("sha256:3"))
            .build()
    })
}

fn stores(ecr: &[&Rule], s3: &[&Rule]) -> DataStores {
    DataStores {
        ecr: mock_client!(aws_sdk_ecr, RuleMode::Sequential, ecr),
        s3: mock_client!(aws_sdk_s3, RuleMode::Sequential, s3),
    }
}

#[test]
fn delete_data_declined_at_the_typed_confirmation_deletes_nothing() {
    let images = three_images();
    let stores = stores(&[&images], &[]);
    let ui = Scripted::answering(Answer::No);
    // No DeleteStack, DeleteRepository or S3 call is scripted: any would fail the test.
    let err = run(ops::destroy(
        &session(&[&stack_in(StackStatus::CreateComplete), &data_resources()]),
        &ui,
        Some(&stores),
    ))
    .unwrap_err();
    assert_eq!(err.to_string(), "destroy cancelled; nothing was changed");
    assert!(ui.saw("PERMANENTLY deletes ECR repository orders with its 3 image(s) and S3 bucket orders-artifacts-1 with every object version"));
    assert!(ui.questions.borrow()[0].contains("Type the stack name (orders-pipeline)"));
}

#[test]
fn data_left_behind_after_the_stack_is_deleted_is_named_with_how_to_remove_it() {
    let (images, images_again) = (three_images(), three_images());
    let repository_deleted = mock!(aws_sdk_ecr::Client::delete_repository).then_output(|| {
        aws_sdk_ecr::operation::delete_repository::DeleteRepositoryOutput::builder().build()
    });
    let listing_denied = mock!(aws_sdk_s3::Client::list_object_versions).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(403).unwrap(),
            SdkBody::from("<Error><Code>AccessDenied</Code><Message>not allowed: s3:ListBucketVersions</Message></Error>"),
        )
    });
    let stores = stores(
        &[&images, &images_again, &repository_deleted],
        &[&listing_denied],
    );
    let deleted = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let done = events(vec![event(
        "e9",
        STACK,
        STACK_TYPE,
        ResourceStatus::DeleteComplete,
        None,
    )]);
    let ui = Scripted::answering(Answer::Yes);
    let err = run(ops::destroy(
        &session(&[
            &stack_in(StackStatus::CreateComplete),
            &data_resources(),
            &events(vec![]),
            &deleted,
            &done,
        ]),
        &ui,
        Some(&stores),
    ))
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(
            "stack orders-pipeline was deleted but S3 bucket orders-artifacts-1 was not"
        ),
        "{message}"
    );
    assert!(
        message.contains("access denied: not allowed: s3:ListBucketVersions"),
        "{message}"
    );
    assert!(
        message.ends_with("aws s3api delete-bucket --bucket orders-artifacts-1"),
        "{message}"
    );
    assert_eq!(
        repository_deleted.num_calls(),
        1,
        "the repository went first"
    );
    assert!(ui.saw("deleting ECR repository orders"));
}
