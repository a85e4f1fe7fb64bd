//! The composition: [`synthesize`] turns a validated [`Config`] into the complete
//! [`Template`] — artifact bucket, ECR repository, build project, delivery function (scan
//! gate and promotion), their log groups and roles, the GitHub connection, the V2 pipeline
//! (Source → Build → Scan → one stage per promotion stage, approvals before the configured
//! ones), the trigger, and the encrypted notification topic with its rules — then runs the
//! tag pass.
//!
//! This is the only place that knows how the pieces connect. Each role starts empty and is
//! filled by the `grant_*` calls below, one per use, so reading this function tells exactly
//! who may do what.

use serde_json::{Value, json};

use crate::config::{APPROVAL_PREFIX, Config, ScanGate, Stage, Trigger};
use crate::iam::Role;
use crate::resources::codebuild::{BuildProject, BuildProjectProps};
use crate::resources::codepipeline::{self, Pipeline};
use crate::resources::connections::{self, Connection};
use crate::resources::ecr::ImageRepository;
use crate::resources::events::{self, EventBus};
use crate::resources::kms::NotificationKey;
use crate::resources::lambda::{Function, FunctionProps};
use crate::resources::logs::LogGroup;
use crate::resources::s3::ArtifactBucket;
use crate::resources::secrets::GeneratedSecret;
use crate::resources::sns::Topic;
use crate::tags;
use crate::template::{Template, embedded_json};

/// Source of the promotion function, embedded at compile time and placed inline.
pub const PROMOTION_SOURCE: &str = include_str!("lambdas/promotion.py");

/// Source of the GitHub webhook receiver, embedded at compile time and placed inline.
pub const WEBHOOK_SOURCE: &str = include_str!("lambdas/webhook.py");

/// The name of the action in every promotion stage (`shipline rollback` and `status` find the
/// promotion history by it).
pub const PROMOTE_ACTION: &str = "Promote";

/// Logical ids, stable across releases (renaming one replaces the resource).
pub mod ids {
    pub const ARTIFACT_BUCKET: &str = "ArtifactBucket";
    pub const ARTIFACT_BUCKET_POLICY: &str = "ArtifactBucketPolicy";
    pub const IMAGE_REPOSITORY: &str = "ImageRepository";
    pub const BUILD_LOG_GROUP: &str = "BuildLogGroup";
    pub const BUILD_ROLE: &str = "BuildRole";
    pub const BUILD_PROJECT: &str = "BuildProject";
    pub const PROMOTION_LOG_GROUP: &str = "PromotionLogGroup";
    pub const PROMOTION_ROLE: &str = "PromotionRole";
    pub const PROMOTION_FUNCTION: &str = "PromotionFunction";
    pub const GITHUB_CONNECTION: &str = "GitHubConnection";
    pub const PIPELINE_ROLE: &str = "PipelineRole";
    pub const PIPELINE: &str = "Pipeline";
    pub const WEBHOOK_SECRET: &str = "WebhookSecret";
    pub const PUSH_EVENT_BUS: &str = "PushEventBus";
    pub const WEBHOOK_LOG_GROUP: &str = "WebhookLogGroup";
    pub const WEBHOOK_ROLE: &str = "WebhookRole";
    pub const WEBHOOK_FUNCTION: &str = "WebhookFunction";
    pub const WEBHOOK_URL: &str = "WebhookUrl";
    pub const WEBHOOK_URL_PERMISSION: &str = "WebhookUrlPermission";
    pub const WEBHOOK_INVOKE_PERMISSION: &str = "WebhookInvokePermission";
    pub const PUSH_RULE: &str = "PushRule";
    pub const PUSH_RULE_ROLE: &str = "PushRuleRole";
    pub const PIPELINE_LOG_GROUP: &str = "PipelineLogGroup";
    pub const NOTIFICATION_KEY: &str = "NotificationKey";
    pub const NOTIFICATION_KEY_ALIAS: &str = "NotificationKeyAlias";
    pub const NOTIFICATION_TOPIC: &str = "NotificationTopic";
    pub const NOTIFICATION_TOPIC_POLICY: &str = "NotificationTopicPolicy";
    pub const PIPELINE_STATE_RULE: &str = "PipelineStateRule";
    pub const STAGE_FAILURE_RULE: &str = "StageFailureRule";
}

/// Physical names derived from the app name (validated to fit every service's limits).
pub struct Names {
    pub repository: String,
    pub build_project: String,
    pub pipeline: String,
    pub promotion_function: String,
    /// The created connection is `<prefix>-<region code>` ([`connection_name`]).
    pub connection_prefix: String,
    pub webhook_function: String,
    pub push_event_bus: String,
    pub push_rule: String,
    pub notification_topic: String,
    pub notification_key_alias: String,
    pub pipeline_state_rule: String,
    pub stage_failure_rule: String,
}

impl Names {
    pub fn for_app(app: &str) -> Self {
        Names {
            repository: app.to_owned(),
            build_project: format!("{app}-build"),
            pipeline: format!("{app}-pipeline"),
            promotion_function: format!("{app}-promote"),
            connection_prefix: app.to_owned(),
            webhook_function: format!("{app}-webhook"),
            push_event_bus: format!("{app}-github-events"),
            push_rule: format!("{app}-push"),
            notification_topic: format!("{app}-notifications"),
            notification_key_alias: format!("alias/{app}-notifications"),
            pipeline_state_rule: format!("{app}-pipeline-state"),
            stage_failure_rule: format!("{app}-stage-failed"),
        }
    }
}

/// The mapping of region to short code, for names unique per account.
const REGION_CODES: &str = "RegionCodes";

fn region_codes() -> Value {
    crate::regions::short_codes()
        .map(|(region, code)| (region.to_owned(), json!({ "Code": code })))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The name of the GitHub connection the stack creates for `app` in `region`, e.g.
/// `orders-use1` (app at most 24 characters, code at most 7: within CodeConnections' 32).
pub fn connection_name(app: &str, region: &str) -> Option<String> {
    crate::regions::short_code(region).map(|code| format!("{app}-{code}"))
}

/// The full pipeline template for `config`.
pub fn synthesize(config: &Config) -> Template {
    let names = Names::for_app(&config.app.name);
    let stages = config.promotion_stages();
    let stage_names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
    let mut template = Template::new(format!(
        "shipline CI/CD pipeline for {}: GitHub {}@{} -> CodeBuild -> ECR -> scan gate -> {}",
        config.app.name,
        config.source.repository,
        config.source.branch,
        stage_names.join(" -> ")
    ));

    let bucket = ArtifactBucket {
        logical_id: ids::ARTIFACT_BUCKET,
    };
    let repository = ImageRepository {
        logical_id: ids::IMAGE_REPOSITORY,
        name: names.repository.clone(),
    };
    let project = BuildProject {
        logical_id: ids::BUILD_PROJECT,
        name: names.build_project.clone(),
    };
    let function = Function {
        logical_id: ids::PROMOTION_FUNCTION,
        name: names.promotion_function.clone(),
    };
    let pipeline = Pipeline {
        logical_id: ids::PIPELINE,
        name: names.pipeline.clone(),
    };
    let build_logs = LogGroup {
        logical_id: ids::BUILD_LOG_GROUP,
        name: format!("/aws/codebuild/{}", project.name),
    };
    let promotion_logs = LogGroup {
        logical_id: ids::PROMOTION_LOG_GROUP,
        name: function.default_log_group_name(),
    };

    let connection = match &config.source.connection_arn {
        Some(arn) => Connection::Existing(arn.clone()),
        None => {
            // CodeConnections names are unique per account, not per region: the region's short
            // code keeps the same app deployable in two regions (`orders-use1`, `orders-euw1`).
            template.mapping(REGION_CODES, region_codes());
            template.add(
                ids::GITHUB_CONNECTION,
                Connection::resource(json!({ "Fn::Join": ["-", [
                    names.connection_prefix,
                    { "Fn::FindInMap": [REGION_CODES, { "Ref": "AWS::Region" }, "Code"] },
                ]] })),
            );
            Connection::Created {
                logical_id: ids::GITHUB_CONNECTION,
            }
        }
    };
    let connection_arn = connection.arn();

    // Build: push to this repository, write its own log group, read sources and write the
    // image detail artifact in the artifact bucket.
    // Trusted only on behalf of this project in this account: CodeBuild documents
    // aws:SourceArn/aws:SourceAccount in its service role's trust policy (CodeBuild User Guide,
    // "Cross-service confused deputy prevention").
    let mut build_role = Role::new(
        ids::BUILD_ROLE,
        "CodeBuild: builds and pushes the app image",
        "codebuild.amazonaws.com",
    )
    .trusted_only_for(project.arn_by_name());
    repository.grant_push(&mut build_role);
    build_logs.grant_write(&mut build_role, "WriteBuildLogs");
    bucket.grant_read_write(&mut build_role);

    // Delivery function: gate on this repository's scan results (basic gate), retag by digest
    // in it, report the job result, write its logs.
    // Lambda assumes execution roles without aws:SourceArn/aws:SourceAccount in the request
    // context, so its trust policy cannot be conditioned on them (a condition would make the
    // role unassumable); the role's permissions are what bound it.
    let mut promotion_role = Role::new(
        ids::PROMOTION_ROLE,
        "Lambda: gates on the image scan and moves stage tags to the built digest",
        "lambda.amazonaws.com",
    );
    if config.scan.gate == ScanGate::Basic {
        repository.grant_read_scan_findings(&mut promotion_role);
    }
    repository.grant_retag(&mut promotion_role);
    codepipeline::grant_put_job_result(&mut promotion_role);
    promotion_logs.grant_write(&mut promotion_role, "WritePromotionLogs");

    // Pipeline: read the source through the connection, run the build, invoke the promotion,
    // and move artifacts through the artifact bucket.
    // No confused-deputy condition on its trust: AWS documents the CodePipeline service role's
    // trust policy without one (CodePipeline User Guide, "Manage the CodePipeline service
    // role") and does not say CodePipeline supplies aws:SourceArn/aws:SourceAccount when it
    // assumes the role; a condition on keys it does not send would fail CreatePipeline.
    let mut pipeline_role = Role::new(
        ids::PIPELINE_ROLE,
        "CodePipeline: runs the source, build and promotion actions",
        "codepipeline.amazonaws.com",
    );
    connection.grant_use(&mut pipeline_role);
    project.grant_start(&mut pipeline_role);
    function.grant_invoke(&mut pipeline_role);
    bucket.grant_read_write(&mut pipeline_role);
    let key = NotificationKey {
        logical_id: ids::NOTIFICATION_KEY,
    };
    let topic = Topic {
        logical_id: ids::NOTIFICATION_TOPIC,
        name: names.notification_topic.clone(),
    };
    if stages.iter().any(|s| s.approval) {
        // Approval requests: the manual approval action publishes as the pipeline role.
        topic.grant_publish(&mut pipeline_role);
        key.grant_encrypt_for_publishing(&mut pipeline_role);
    }
    if config.scan.gate == ScanGate::Inspector {
        // CodePipeline's InspectorScan action pulls the image and logs as the pipeline role.
        let pipeline_logs = LogGroup {
            logical_id: ids::PIPELINE_LOG_GROUP,
            name: format!("/aws/codepipeline/{}", pipeline.name),
        };
        repository.grant_pull(&mut pipeline_role);
        pipeline_role.add(crate::iam::Statement::on_any_resource(
            "ScanImagesWithInspector",
            &["inspector-scan:ScanSbom"],
            "inspector-scan:ScanSbom supports no resource-level permissions: the Service Authorization Reference lists no resource type for it",
        ));
        // The action's documented permissions include logs:CreateLogGroup (CodePipeline User
        // Guide, "Amazon Inspector InspectorScan invoke action reference"); the stack creates the
        // group, but the action may still call CreateLogGroup, so it may do so on this group only.
        pipeline_logs.grant_create(&mut pipeline_role, "CreateInspectorScanLogGroup");
        pipeline_logs.grant_write(&mut pipeline_role, "WriteInspectorScanLogs");
        template.add(
            ids::PIPELINE_LOG_GROUP,
            pipeline_logs.resource(config.logs.retention_days),
        );
    }

    template.add(
        ids::ARTIFACT_BUCKET,
        bucket.resource(config.artifacts.expiration_days),
    );
    template.add(ids::ARTIFACT_BUCKET_POLICY, bucket.tls_only_policy());
    template.add(
        ids::IMAGE_REPOSITORY,
        repository.resource(&stage_names, config.images.keep_last),
    );
    template.add(
        ids::BUILD_LOG_GROUP,
        build_logs.resource(config.logs.retention_days),
    );
    template.add(
        ids::PROMOTION_LOG_GROUP,
        promotion_logs.resource(config.logs.retention_days),
    );
    template.add(
        ids::BUILD_PROJECT,
        project.resource(BuildProjectProps {
            role: &build_role,
            log_group: build_logs.name_ref(),
            repository_uri: repository.uri(),
            repository_name: repository.name_ref(),
            dockerfile: &config.build.dockerfile,
            context: &config.build.context,
            extra_environment: config.build.environment.clone().into_iter().collect(),
        }),
    );
    template.add(
        ids::PROMOTION_FUNCTION,
        function.resource(FunctionProps {
            description: "shipline: gates on the image scan and moves stage tags to the digest this pipeline execution built",
            source: PROMOTION_SOURCE,
            role: &promotion_role,
            log_group: promotion_logs.name_ref(),
            timeout_seconds: 60,
            environment: gate_environment(config),
            reserved_concurrency: None,
        }),
    );
    let pipeline_stages = pipeline_stages(
        config,
        &stages,
        &connection_arn,
        &project,
        &function,
        &repository,
        &topic,
    );
    let mut pipeline_resource = pipeline.resource(&pipeline_role, bucket.name(), pipeline_stages);
    let pipeline_role_arn = pipeline_role.arn();
    let mut roles = vec![build_role, promotion_role, pipeline_role];
    match config.source.trigger {
        Trigger::Webhook => roles.extend(webhook_trigger(&mut template, config, &names, &pipeline)),
        Trigger::Connection => {
            pipeline_resource = pipeline_resource.prop("Triggers", native_trigger(config));
        }
    }
    template.add(ids::PIPELINE, pipeline_resource);
    notifications(
        &mut template,
        config,
        &names,
        &key,
        &topic,
        pipeline_role_arn,
    );
    for role in roles {
        let id = role.logical_id.clone();
        template.add(&id, role.into_resource());
    }

    outputs(
        &mut template,
        config,
        &bucket,
        &repository,
        &project,
        &function,
        &pipeline,
        &build_logs,
        &promotion_logs,
        connection_arn,
    );
    tags::apply(&mut template, &config.effective_tags());
    template
}

/// The scan gate's policy, in the delivery function's environment (basic gate only).
fn gate_environment(config: &Config) -> Vec<(&'static str, Value)> {
    if config.scan.gate != ScanGate::Basic {
        return Vec::new();
    }
    let scan = &config.scan;
    vec![
        ("GATE_SEVERITY", json!(scan.severity.as_str())),
        ("GATE_MAX_FINDINGS", json!(scan.max_findings.to_string())),
        ("GATE_IGNORE", json!(scan.ignore.join(","))),
        (
            "GATE_WAIT_SECONDS",
            json!((scan.wait_minutes * 60).to_string()),
        ),
    ]
}

/// Source (GitHub via the connection) -> Build (CodeBuild) -> Scan (the gate) -> for each
/// promotion stage: an approval stage where configured, then the stage that moves its tag.
/// The build gets the commit id from the Source action's variables; the gate and every
/// promotion get the digest from the Build action's exported variables — the image *this*
/// execution built, never "the newest image".
#[allow(clippy::too_many_arguments)]
fn pipeline_stages(
    config: &Config,
    stages: &[Stage],
    connection_arn: &Value,
    project: &BuildProject,
    function: &Function,
    repository: &ImageRepository,
    topic: &Topic,
) -> Vec<Value> {
    let digest = "#{BuildVariables.IMAGE_DIGEST}";
    let mut pipeline_stages = vec![
        json!({
            "Name": "Source",
            "Actions": [{
                "Name": "GitHub",
                "ActionTypeId": { "Category": "Source", "Owner": "AWS", "Provider": "CodeStarSourceConnection", "Version": "1" },
                "Configuration": {
                    "ConnectionArn": connection_arn,
                    "FullRepositoryId": config.source.repository,
                    "BranchName": config.source.branch,
                    "OutputArtifactFormat": "CODE_ZIP",
                    // Exactly one trigger: with the webhook, EventBridge starts executions.
                    "DetectChanges": config.source.trigger == Trigger::Connection,
                },
                "OutputArtifacts": [{ "Name": "SourceOutput" }],
                "Namespace": "SourceVariables",
                "RunOrder": 1,
            }],
        }),
        json!({
            "Name": "Build",
            "Actions": [{
                "Name": "DockerImage",
                "ActionTypeId": { "Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1" },
                "Configuration": {
                    "ProjectName": project.name_ref(),
                    "EnvironmentVariables": embedded_json(json!([
                        { "name": "COMMIT_ID", "value": "#{SourceVariables.CommitId}", "type": "PLAINTEXT" }
                    ])),
                },
                "InputArtifacts": [{ "Name": "SourceOutput" }],
                "OutputArtifacts": [{ "Name": "ImageDetail" }],
                "Namespace": "BuildVariables",
                "RunOrder": 1,
            }],
        }),
        json!({ "Name": "Scan", "Actions": [scan_action(config, function, repository, digest)] }),
    ];
    for stage in stages {
        if stage.approval {
            // Its own stage, so that rejecting it fails nothing a rollback would re-run.
            pipeline_stages.push(json!({
                "Name": format!("{APPROVAL_PREFIX}{}", stage.name),
                "Actions": [{
                    "Name": "Approval",
                    "ActionTypeId": { "Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1" },
                    "Configuration": {
                        "NotificationArn": topic.arn(),
                        "CustomData": format!(
                            "Promote {}@{digest} (commit #{{SourceVariables.CommitId}}) to {}? It passed the scan gate.",
                            repository.name, stage.name
                        ),
                        "ExternalEntityLink": crate::template::intrinsics::sub(&format!(
                            "https://${{AWS::Region}}.console.aws.amazon.com/ecr/repositories/private/${{AWS::AccountId}}/{}/_/image/{digest}/details?region=${{AWS::Region}}",
                            repository.name
                        )),
                    },
                    "RunOrder": 1,
                }],
            }));
        }
        let parameters =
            json!({ "repository": repository.name, "digest": digest, "tag": stage.name });
        pipeline_stages.push(json!({
            "Name": stage.name,
            "Actions": [{
                "Name": PROMOTE_ACTION,
                "ActionTypeId": { "Category": "Invoke", "Owner": "AWS", "Provider": "Lambda", "Version": "1" },
                "Configuration": {
                    "FunctionName": function.name_ref(),
                    "UserParameters": embedded_json(parameters),
                },
                "RunOrder": 1,
            }],
            // A failed promotion returns the stage to the last successful execution's image.
            "OnFailure": { "Result": "ROLLBACK" },
        }));
    }
    pipeline_stages
}

/// The gate between the build and the first promotion: shipline's function reading ECR's
/// basic scan-on-push result, or CodePipeline's InspectorScan action (enhanced scanning).
fn scan_action(
    config: &Config,
    function: &Function,
    repository: &ImageRepository,
    digest: &str,
) -> Value {
    match config.scan.gate {
        ScanGate::Basic => json!({
            "Name": "ScanGate",
            "ActionTypeId": { "Category": "Invoke", "Owner": "AWS", "Provider": "Lambda", "Version": "1" },
            "Configuration": {
                "FunctionName": function.name_ref(),
                "UserParameters": embedded_json(json!({ "action": "scan-gate", "repository": repository.name, "digest": digest })),
            },
            "Namespace": "ScanVariables",
            "RunOrder": 1,
        }),
        ScanGate::Inspector => {
            // Thresholds are per severity: each level at or above the configured one allows
            // `max_findings` findings of that level.
            let mut configuration = serde_json::Map::new();
            configuration.insert("InspectorRunMode".into(), json!("ECRImageScan"));
            configuration.insert("ECRRepositoryName".into(), json!(repository.name));
            configuration.insert("ImageTag".into(), json!("#{BuildVariables.IMAGE_TAG}"));
            for (level, key) in [
                (crate::config::Severity::Low, "LowThreshold"),
                (crate::config::Severity::Medium, "MediumThreshold"),
                (crate::config::Severity::High, "HighThreshold"),
                (crate::config::Severity::Critical, "CriticalThreshold"),
            ] {
                if level >= config.scan.severity {
                    configuration.insert(key.into(), json!(config.scan.max_findings.to_string()));
                }
            }
            json!({
                "Name": "InspectorScan",
                "ActionTypeId": { "Category": "Invoke", "Owner": "AWS", "Provider": "InspectorScan", "Version": "1" },
                "Configuration": configuration,
                "OutputArtifacts": [{ "Name": "InspectorSbom" }],
                "Namespace": "ScanVariables",
                "RunOrder": 1,
            })
        }
    }
}

/// The notification topic (customer-managed KMS key, rotation on), its email subscriptions,
/// the rules that send pipeline state changes to it, and the policy admitting exactly those
/// rules and the pipeline role (approval requests) as publishers.
fn notifications(
    template: &mut Template,
    config: &Config,
    names: &Names,
    key: &NotificationKey,
    topic: &Topic,
    pipeline_role_arn: Value,
) {
    template.add(
        ids::NOTIFICATION_KEY,
        key.resource(&format!(
            "shipline: encrypts the {} notification topic",
            config.app.name
        )),
    );
    template.add(
        ids::NOTIFICATION_KEY_ALIAS,
        key.alias(&names.notification_key_alias),
    );
    template.add(
        ids::NOTIFICATION_TOPIC,
        topic.resource(key.arn(), &config.notifications.emails),
    );
    let rule_arn =
        |name: &str| crate::template::intrinsics::regional_arn("events", &format!("rule/{name}"));
    let mut rule_arns = Vec::new();
    let on = &config.notifications.on;
    let pipeline_states: Vec<&str> = on
        .iter()
        .filter(|s| **s != crate::config::ExecutionState::Failed)
        .map(|s| s.as_str())
        .collect();
    if !pipeline_states.is_empty() {
        let rule = events::notification_rule(
            "Notifies the pipeline's execution results",
            events::pipeline_state_pattern(
                &names.pipeline,
                events::PIPELINE_EXECUTION_CHANGE,
                &pipeline_states,
            ),
            topic.arn(),
            false,
        )
        .prop("Name", json!(names.pipeline_state_rule));
        template.add(ids::PIPELINE_STATE_RULE, rule);
        rule_arns.push(rule_arn(&names.pipeline_state_rule));
    }
    if on.contains(&crate::config::ExecutionState::Failed) {
        // Failures are reported per stage, so the message names the stage that failed.
        let rule = events::notification_rule(
            "Notifies failed pipeline stages",
            events::pipeline_state_pattern(
                &names.pipeline,
                events::STAGE_EXECUTION_CHANGE,
                &["FAILED"],
            ),
            topic.arn(),
            true,
        )
        .prop("Name", json!(names.stage_failure_rule));
        template.add(ids::STAGE_FAILURE_RULE, rule);
        rule_arns.push(rule_arn(&names.stage_failure_rule));
    }
    template.add(
        ids::NOTIFICATION_TOPIC_POLICY,
        topic.policy(rule_arns, vec![pipeline_role_arn]),
    );
    template.output(
        "NotificationTopicArn",
        "SNS topic of pipeline notifications and approval requests (subscribe more endpoints here)",
        topic.arn(),
    );
}

/// `trigger = "webhook"`: GitHub -> signed-delivery receiver (public function URL) -> push
/// event bus -> rule (this repository, this branch, not a deletion) -> StartPipelineExecution.
/// Returns the roles it created, for the caller to add with the others.
fn webhook_trigger(
    template: &mut Template,
    config: &Config,
    names: &Names,
    pipeline: &Pipeline,
) -> [Role; 2] {
    let secret = GeneratedSecret {
        logical_id: ids::WEBHOOK_SECRET,
    };
    let bus = EventBus {
        logical_id: ids::PUSH_EVENT_BUS,
        name: names.push_event_bus.clone(),
    };
    let receiver = Function {
        logical_id: ids::WEBHOOK_FUNCTION,
        name: names.webhook_function.clone(),
    };
    let logs = LogGroup {
        logical_id: ids::WEBHOOK_LOG_GROUP,
        name: receiver.default_log_group_name(),
    };

    // Receiver: read the one secret, publish to the one bus, write its logs. (Lambda: no
    // confused-deputy condition possible on an execution role's trust, see above.)
    let mut receiver_role = Role::new(
        ids::WEBHOOK_ROLE,
        "Lambda: verifies GitHub webhook deliveries and publishes pushes",
        "lambda.amazonaws.com",
    );
    secret.grant_read(&mut receiver_role);
    bus.grant_put_events(&mut receiver_role);
    logs.grant_write(&mut receiver_role, "WriteWebhookLogs");

    // Rule target: start this pipeline only, and only on behalf of this rule (EventBridge
    // documents aws:SourceArn/aws:SourceAccount for the roles its targets use: EventBridge User
    // Guide, "Cross-service confused deputy prevention").
    let rule_arn = crate::template::intrinsics::regional_arn(
        "events",
        &format!("rule/{}/{}", bus.name, names.push_rule),
    );
    let mut rule_role = Role::new(
        ids::PUSH_RULE_ROLE,
        "EventBridge: starts the pipeline on pushes to the branch",
        "events.amazonaws.com",
    )
    .trusted_only_for(rule_arn);
    pipeline.grant_start_execution(&mut rule_role);

    let reserved = config.webhook.reserved_concurrency;
    template.add(
        ids::WEBHOOK_SECRET,
        secret.resource(
            "Shared secret of the GitHub webhook; paste it into the webhook's Secret field",
        ),
    );
    template.add(ids::PUSH_EVENT_BUS, bus.resource());
    template.add(
        ids::WEBHOOK_LOG_GROUP,
        logs.resource(config.logs.retention_days),
    );
    template.add(
        ids::WEBHOOK_FUNCTION,
        receiver.resource(FunctionProps {
            description: "shipline: verifies GitHub webhook signatures and publishes push events to EventBridge",
            source: WEBHOOK_SOURCE,
            role: &receiver_role,
            log_group: logs.name_ref(),
            timeout_seconds: 10,
            environment: vec![("WEBHOOK_SECRET_ARN", secret.arn()), ("EVENT_BUS_NAME", bus.name_ref())],
            reserved_concurrency: (reserved > 0).then_some(reserved),
        }),
    );
    template.add(ids::WEBHOOK_URL, receiver.public_url());
    let [url_permission, invoke_permission] = receiver.public_url_permissions();
    template.add(ids::WEBHOOK_URL_PERMISSION, url_permission);
    template.add(ids::WEBHOOK_INVOKE_PERMISSION, invoke_permission);
    let rule = events::rule(
        &bus,
        "Starts the pipeline on pushes to the configured branch",
        events::push_pattern(&config.source.repository, &config.source.branch),
        pipeline.arn_by_name(),
        &rule_role,
    )
    .prop("Name", json!(names.push_rule));
    // The target ARN is written out from the pipeline's name; order the rule after it anyway.
    template.add(ids::PUSH_RULE, rule.depends_on(ids::PIPELINE));

    template.output(
        "WebhookUrl",
        "Payload URL of the GitHub webhook (content type application/json, push events)",
        crate::template::intrinsics::get_att(ids::WEBHOOK_URL, "FunctionUrl"),
    );
    template.output(
        "WebhookSecretArn",
        "Secret of the GitHub webhook: aws secretsmanager get-secret-value --query SecretString --output text --secret-id <this ARN>",
        secret.arn(),
    );
    [receiver_role, rule_role]
}

/// `trigger = "connection"`: CodePipeline V2's own push trigger on the Source action, for the
/// branch and the configured file paths.
fn native_trigger(config: &Config) -> Value {
    let mut push = serde_json::Map::new();
    push.insert(
        "Branches".into(),
        json!({ "Includes": [config.source.branch] }),
    );
    let paths = &config.source.file_paths;
    if !paths.include.is_empty() || !paths.exclude.is_empty() {
        let mut file_paths = serde_json::Map::new();
        if !paths.include.is_empty() {
            file_paths.insert("Includes".into(), json!(paths.include));
        }
        if !paths.exclude.is_empty() {
            file_paths.insert("Excludes".into(), json!(paths.exclude));
        }
        push.insert("FilePaths".into(), Value::Object(file_paths));
    }
    json!([{
        "ProviderType": "CodeStarSourceConnection",
        "GitConfiguration": { "SourceActionName": "GitHub", "Push": [push] },
    }])
}

#[allow(clippy::too_many_arguments)]
fn outputs(
    template: &mut Template,
    config: &Config,
    bucket: &ArtifactBucket,
    repository: &ImageRepository,
    project: &BuildProject,
    function: &Function,
    pipeline: &Pipeline,
    build_logs: &LogGroup,
    promotion_logs: &LogGroup,
    connection_arn: Value,
) {
    template.output(
        "ArtifactBucketName",
        "Artifact store bucket of the pipeline",
        bucket.name(),
    );
    template.output(
        "ArtifactBucketArn",
        "ARN of the artifact store bucket",
        bucket.arn(),
    );
    template.output(
        "RepositoryUri",
        "ECR repository the build pushes to",
        repository.uri(),
    );
    template.output("PipelineName", "CodePipeline pipeline", pipeline.name_ref());
    template.output(
        "PipelineConsoleUrl",
        "Pipeline executions in the AWS console",
        pipeline.console_url(),
    );
    template.output(
        "BuildProjectName",
        "CodeBuild project building the image",
        project.name_ref(),
    );
    template.output(
        "PromotionFunctionArn",
        "Lambda function promoting built digests",
        function.arn(),
    );
    template.output(
        "BuildLogGroupName",
        "CloudWatch Logs group of the builds",
        build_logs.name_ref(),
    );
    template.output(
        "PromotionLogGroupName",
        "CloudWatch Logs group of the promotion function",
        promotion_logs.name_ref(),
    );
    let connection_note = if config.source.connection_arn.is_some() {
        "GitHub connection used by the Source action (from shipline.toml)".to_owned()
    } else {
        format!(
            "GitHub connection created by this stack: it stays PENDING until you authorize it at {} (select it, choose 'Update pending connection')",
            connections::CONSOLE_URL
        )
    };
    template.output("ConnectionArn", &connection_note, connection_arn);
}
