//! The composition: [`synthesize`] turns a validated [`Config`] into the complete
//! [`Template`]. Each feature is a small function in its own module that adds its resources,
//! roles and outputs to a [`Stack`] and returns a handle to what it made:
//!
//! - [`store`]: the artifact bucket and the image repository (the data the stack keeps);
//! - [`source`]: the GitHub connection (created, or an existing one);
//! - [`build`]: the CodeBuild project, its log group and role;
//! - [`delivery`]: the delivery function (scan gate and promotions) and the V2 pipeline with its
//!   stages — Source → Build → Scan → one stage per promotion stage, approvals before the
//!   configured ones;
//! - [`notifications`]: the encrypted topic and the rules that feed it;
//! - [`triggers`]: the webhook receiver → EventBridge path, or CodePipeline's native trigger.
//!
//! [`grants`] is the one table of who may do what: every `grant_*` call, role by role, after
//! the features made their resources. [`Stack::finish`] renders the roles, tags everything and
//! checks every reference.

mod build;
mod delivery;
mod grants;
mod notifications;
mod source;
mod store;
mod triggers;

use serde_json::{Value, json};

use crate::config::{Config, Stage};
use crate::stack::Stack;
use crate::template::Template;

/// Source of the promotion function, embedded at compile time and placed inline.
pub const PROMOTION_SOURCE: &str = include_str!("../lambdas/promotion.py");

/// What the deploy actions share (tokens, waits, field checks), appended to
/// [`PROMOTION_SOURCE`] only when a stage deploys somewhere.
pub const DEPLOY_COMMON_SOURCE: &str = include_str!("../lambdas/deploy_common.py");

/// The promotion function's ECS part (the `deploy-ecs` action), appended after
/// [`DEPLOY_COMMON_SOURCE`] only when a stage deploys to ECS.
pub const ECS_DEPLOY_SOURCE: &str = include_str!("../lambdas/ecs_deploy.py");

/// The promotion function's Lambda part (the `deploy-lambda` action), appended to
/// [`PROMOTION_SOURCE`] only when a stage deploys to a Lambda function.
pub const LAMBDA_DEPLOY_SOURCE: &str = include_str!("../lambdas/lambda_deploy.py");

/// The delivery function's inline code for `config`: the promotion source, then its ECS and
/// Lambda parts when a stage has such a target (pipelines without one carry none of that code).
pub fn promotion_source(config: &Config) -> String {
    let stages = config.promotion_stages();
    let mut source = PROMOTION_SOURCE.to_owned();
    if stages.iter().any(Stage::deploys) {
        source = format!("{source}\n\n{DEPLOY_COMMON_SOURCE}");
    }
    if stages.iter().any(|s| s.ecs.is_some()) {
        source = format!("{source}\n\n{ECS_DEPLOY_SOURCE}");
    }
    if stages.iter().any(|s| s.lambda.is_some()) {
        source = format!("{source}\n\n{LAMBDA_DEPLOY_SOURCE}");
    }
    source
}

/// Source of the GitHub webhook receiver, embedded at compile time and placed inline.
pub const WEBHOOK_SOURCE: &str = include_str!("../lambdas/webhook.py");

/// The name of the action in every promotion stage (`shipline rollback` and `status` find the
/// promotion history by it).
pub const PROMOTE_ACTION: &str = "Promote";

/// The action that deploys the promoted digest to a stage's ECS service (stages with a
/// `[stages.deploy.ecs]` target), after `Promote`.
pub const DEPLOY_ACTION: &str = "Deploy";

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

/// Logical ids of the resources that hold the user's data (retained when the stack is deleted;
/// replacing or removing one needs explicit consent).
pub const DATA_HOLDING: [&str; 2] = [ids::ARTIFACT_BUCKET, ids::IMAGE_REPOSITORY];

/// Physical names derived from the app name (validated to fit every service's limits).
pub struct Names {
    /// The default stack name (`--stack-name` overrides it).
    pub stack: String,
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
            stack: format!("{app}-pipeline"),
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

/// The full pipeline template for `config`.
pub fn synthesize(config: &Config) -> Template {
    let names = Names::for_app(&config.app.name);
    let mut stack = Stack::new(description(config));
    let store = store::add(&mut stack, config, &names);
    let connection = source::add(&mut stack, config, &names);
    let build = build::add(&mut stack, config, &names, &store);
    let delivery = delivery::add(&mut stack, config, &names, &store, &build, &connection);
    let topic = notifications::add(&mut stack, config, &names, &delivery.pipeline);
    let trigger = triggers::add(&mut stack, config, &names, &delivery.pipeline);
    let parts = grants::Parts {
        config,
        store: &store,
        connection: &connection,
        build: &build,
        delivery: &delivery,
        topic: &topic,
        trigger: trigger.as_ref(),
    };
    grants::grant(&mut stack, &parts);
    stack
        .finish(&config.effective_tags())
        .unwrap_or_else(|dangling| panic!("the template refers to undefined names: {dangling:?}"))
}

fn description(config: &Config) -> String {
    let stages: Vec<String> = config
        .promotion_stages()
        .into_iter()
        .map(|s| s.name)
        .collect();
    format!(
        "shipline CI/CD pipeline for {}: GitHub {}@{} -> CodeBuild -> ECR -> scan gate -> {}",
        config.app.name,
        config.source.repository,
        config.source.branch,
        stages.join(" -> ")
    )
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
