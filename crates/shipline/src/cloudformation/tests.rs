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
    assert!(ui.saw("[requires replacement]") && ui.saw("holds your data"));
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

/// One property change of a Modify, as DescribeChangeSet reports it with property values.
fn detail(
    name: &str,
    path: &str,
    recreation: aws_sdk_cloudformation::types::RequiresRecreation,
    values: Option<(&str, &str)>,
) -> aws_sdk_cloudformation::types::ResourceChangeDetail {
    use aws_sdk_cloudformation::types::{
        ChangeSource, EvaluationType, ResourceAttribute, ResourceChangeDetail,
        ResourceTargetDefinition,
    };
    let mut target = ResourceTargetDefinition::builder()
        .attribute(ResourceAttribute::Properties)
        .name(name)
        .path(path)
        .requires_recreation(recreation);
    if let Some((before, after)) = values {
        target = target.before_value(before).after_value(after);
    }
    ResourceChangeDetail::builder()
        .target(target.build())
        .evaluation(EvaluationType::Static)
        .change_source(ChangeSource::DirectModification)
        .build()
}

fn resource_change(
    action: ChangeAction,
    logical_id: &str,
    resource_type: &str,
    replacement: Option<aws_sdk_cloudformation::types::Replacement>,
    details: Vec<aws_sdk_cloudformation::types::ResourceChangeDetail>,
) -> Change {
    Change::builder()
        .resource_change(
            SdkResourceChange::builder()
                .action(action)
                .logical_resource_id(logical_id)
                .resource_type(resource_type)
                .set_replacement(replacement)
                .set_details(Some(details))
                .build(),
        )
        .build()
}

/// A plan whose change set has a replacement, an IAM policy change, a secret, an added
/// permission and a removed topic.
fn mixed_changes() -> Vec<Change> {
    use aws_sdk_cloudformation::types::{Replacement, RequiresRecreation};
    let statement = r#"{"Effect": "Allow",
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], "Resource": "*"}"#;
    vec![
        resource_change(
            ChangeAction::Modify,
            "BuildLogGroup",
            "AWS::Logs::LogGroup",
            Some(Replacement::False),
            vec![detail(
                "RetentionInDays",
                "/Properties/RetentionInDays",
                RequiresRecreation::Never,
                Some(("7", "14")),
            )],
        ),
        resource_change(
            ChangeAction::Modify,
            "ImageRepository",
            "AWS::ECR::Repository",
            Some(Replacement::True),
            vec![
                detail(
                    "RepositoryName",
                    "/Properties/RepositoryName",
                    RequiresRecreation::Always,
                    Some(("orders", "orders-v2")),
                ),
                detail(
                    "RepositoryPolicyText",
                    "/Properties/RepositoryPolicyText",
                    RequiresRecreation::Never,
                    None,
                ),
            ],
        ),
        resource_change(
            ChangeAction::Modify,
            "PipelineRole",
            "AWS::IAM::Role",
            Some(Replacement::False),
            vec![
                detail(
                    "Policies",
                    "/Properties/Policies/0/PolicyDocument/Statement/1",
                    RequiresRecreation::Never,
                    Some(("", statement)),
                ),
                // The same property again, for another cause: listed once.
                detail(
                    "Policies",
                    "/Properties/Policies/0/PolicyDocument/Statement/1",
                    RequiresRecreation::Never,
                    Some(("", statement)),
                ),
            ],
        ),
        resource_change(
            ChangeAction::Modify,
            "WebhookSecret",
            "AWS::SecretsManager::Secret",
            Some(Replacement::False),
            vec![detail(
                "SecretString",
                "/Properties/SecretString",
                RequiresRecreation::Never,
                Some(("hunter2", "correct horse battery staple")),
            )],
        ),
        resource_change(
            ChangeAction::Add,
            "PromotionPermission",
            "AWS::Lambda::Permission",
            None,
            vec![],
        ),
        resource_change(
            ChangeAction::Remove,
            "OldTopic",
            "AWS::SNS::Topic",
            None,
            vec![],
        ),
    ]
}

fn change_set_created() -> Rule {
    mock!(Client::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("cs-1")
            .stack_id(STACK_ID)
            .build()
    })
}

/// Runs `plan` of an empty template against the scripted `rules`.
#[allow(clippy::result_large_err)] // one error per run; its size does not matter
fn plan(rules: &[&Rule], ui: &Scripted) -> Result<ops::Applied, DeployError> {
    run(ops::plan(
        &session(rules),
        &crate::staging::TemplateSource::Body("{}".into()),
        ui,
    ))
}

#[test]
fn plan_prints_each_change_with_its_properties_and_a_security_section() {
    let described = mock!(Client::describe_change_set)
        .match_requests(|r| r.include_property_values() == Some(true))
        .then_output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .set_changes(Some(mixed_changes()))
                .build()
        });
    let deleted =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let ui = Scripted::answering(Answer::NotInteractive);
    let planned = plan(
        &[
            &stack_in(StackStatus::UpdateComplete),
            &change_set_created(),
            &described,
            &deleted,
        ],
        &ui,
    )
    .unwrap();
    assert_eq!(deleted.num_calls(), 1, "the plan's change set is deleted");
    assert!(
        ui.lines
            .borrow()
            .iter()
            .all(|l| !l.contains("PipelineRole")),
        "the list is the result (stdout), not progress"
    );
    let output = crate::commands::Output::new(&planned, crate::commands::plan::lines(&planned));
    let text = output.lines.join("\n");
    assert_eq!(
        text,
        "\
~ BuildLogGroup                AWS::Logs::LogGroup              RetentionInDays
      RetentionInDays: 7 -> 14
~ ImageRepository              AWS::ECR::Repository             [requires replacement]  RepositoryName (requires replacement), RepositoryPolicyText  !! holds your data: the old one is retained but orphaned, a new empty one takes its place
      RepositoryName: orders -> orders-v2
~ PipelineRole                 AWS::IAM::Role                   Policies
      Policies/0/PolicyDocument/Statement/1: \"\" -> {\"Effect\": \"Allow\", \"Action\": [\"ecr:BatchGetImage\", \"ecr:Ge…
~ WebhookSecret                AWS::SecretsManager::Secret      SecretString
      SecretString: (value hidden)
+ PromotionPermission          AWS::Lambda::Permission
- OldTopic                     AWS::SNS::Topic

Security-relevant changes (3): IAM, security groups, key, bucket and resource policies, public access
  ~ ImageRepository              AWS::ECR::Repository             resource policy: RepositoryPolicyText
  ~ PipelineRole                 AWS::IAM::Role                   IAM: Policies
  + PromotionPermission          AWS::Lambda::Permission          resource policy
stack orders-pipeline: 6 change(s) planned (nothing was changed)"
    );
    assert!(!text.contains("hunter2") && !text.contains("horse"));
    assert!(
        !output.json.to_string().contains("hunter2"),
        "nor in --json"
    );
    let role = &output.json["changes"][2];
    assert_eq!(role["security"], "iam");
    assert_eq!(
        role["properties"].as_array().unwrap().len(),
        1,
        "duplicates merged"
    );
    assert_eq!(
        output.json["changes"][1]["properties"][0]["requires_recreation"],
        "Always"
    );
    use crate::commands::ExitCodes;
    assert_eq!(output.exit_code(ExitCodes::Detailed), 2);
    assert_eq!(output.exit_code(ExitCodes::Standard), 0);
}

#[test]
fn plan_without_changes_exits_0_even_with_detailed_exit_codes() {
    let rules = [
        stack_in(StackStatus::UpdateComplete),
        change_set_created(),
        mock!(Client::describe_change_set).then_output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::Failed)
                .status_reason("The submitted information didn't contain changes. Submit different information to create a change set.")
                .build()
        }),
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build()),
    ];
    let refs: Vec<&Rule> = rules.iter().collect();
    let planned = plan(&refs, &Scripted::answering(Answer::NotInteractive)).unwrap();
    let output = crate::commands::Output::new(&planned, crate::commands::plan::lines(&planned));
    assert_eq!(output.lines, ["stack orders-pipeline: no changes"]);
    assert_eq!(output.exit_code(crate::commands::ExitCodes::Detailed), 0);
}

/// Regression: a change set of more than one page (AWS splits large ones, chained by
/// NextToken) was read from its first page only, so `plan` and the deploy confirmation missed
/// changes.
#[test]
fn every_page_of_a_large_change_set_is_read() {
    let page = |from: usize, to: usize| -> Vec<Change> {
        (from..to)
            .map(|i| {
                resource_change(
                    ChangeAction::Add,
                    &format!("Topic{i}"),
                    "AWS::SNS::Topic",
                    None,
                    vec![],
                )
            })
            .collect()
    };
    let first = mock!(Client::describe_change_set)
        .match_requests(|r| r.next_token().is_none() && r.include_property_values() == Some(true))
        .then_output(move || {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .set_changes(Some(page(0, 100)))
                .next_token("page-2")
                .build()
        });
    let second = mock!(Client::describe_change_set)
        .match_requests(|r| {
            r.next_token() == Some("page-2") && r.include_property_values() == Some(true)
        })
        .then_output(move || {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .set_changes(Some(page(100, 120)))
                .build()
        });
    let deleted =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let planned = plan(
        &[
            &stack_in(StackStatus::UpdateComplete),
            &change_set_created(),
            &first,
            &second,
            &deleted,
        ],
        &Scripted::answering(Answer::NotInteractive),
    )
    .unwrap();
    assert_eq!(planned.changes.len(), 120);
    assert_eq!(planned.changes[119].logical_id, "Topic119");
    assert_eq!(second.num_calls(), 1);
}

/// A NoEcho parameter is masked in the change set's Parameters; its value may be in any
/// property, so no value is shown.
#[test]
fn a_noecho_parameter_hides_every_value() {
    let described = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::CreateComplete)
            .parameters(
                aws_sdk_cloudformation::types::Parameter::builder()
                    .parameter_key("DbPassword")
                    .parameter_value("****")
                    .build(),
            )
            .set_changes(Some(vec![resource_change(
                ChangeAction::Modify,
                "Build",
                "AWS::CodeBuild::Project",
                None,
                vec![detail(
                    "Environment",
                    "/Properties/Environment/EnvironmentVariables/0/Value",
                    aws_sdk_cloudformation::types::RequiresRecreation::Never,
                    Some(("old-password", "new-password")),
                )],
            )]))
            .build()
    });
    let deleted =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let planned = plan(
        &[
            &stack_in(StackStatus::UpdateComplete),
            &change_set_created(),
            &described,
            &deleted,
        ],
        &Scripted::answering(Answer::NotInteractive),
    )
    .unwrap();
    let lines = super::change_set::render(&planned.changes).join("\n");
    assert!(
        lines.contains("Environment/EnvironmentVariables/0/Value: (value hidden)"),
        "{lines}"
    );
    assert!(!lines.contains("password"), "{lines}");
}

#[test]
fn deploy_shows_the_same_change_list_before_asking() {
    let rules = [
        stack_in(StackStatus::UpdateComplete),
        change_set_created(),
        mock!(Client::describe_change_set).then_output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .set_changes(Some(mixed_changes()))
                .build()
        }),
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build()),
    ];
    let ui = Scripted::answering(Answer::No);
    let err = deploy(&rules, &ui).unwrap_err();
    assert_eq!(err.to_string(), "deploy cancelled; nothing was changed");
    assert!(ui.saw("~ PipelineRole                 AWS::IAM::Role                   Policies"));
    assert!(ui.saw("Security-relevant changes (3)"));
    assert!(
        ui.saw("  + PromotionPermission          AWS::Lambda::Permission          resource policy")
    );
    assert!(!ui.saw("hunter2"));
}
