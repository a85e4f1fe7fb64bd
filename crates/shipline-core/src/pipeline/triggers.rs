//! What starts an execution on a push; exactly one is active, so every push runs once.
//!
//! - `trigger = "webhook"`: GitHub → signed-delivery receiver (public function URL) → push
//!   event bus → rule (this repository, this branch, not a deletion) → StartPipelineExecution.
//! - `trigger = "connection"`: CodePipeline V2's own push trigger on the Source action, for the
//!   branch and the configured file paths.

use serde_json::json;

use super::{Names, WEBHOOK_SOURCE, ids};
use crate::config::{Config, Trigger};
use crate::iam::Role;
use crate::resources::codepipeline::{self as cp, Pipeline};
use crate::resources::events::{self, EventBus};
use crate::resources::lambda::{Function, FunctionProps};
use crate::resources::logs::LogGroup;
use crate::resources::secrets::GeneratedSecret;
use crate::stack::Stack;
use crate::template::intrinsics::{get_att, regional_arn};

/// The webhook path's resources (whose roles get their grants in [`super::grants`]).
pub struct Webhook {
    pub secret: GeneratedSecret,
    pub bus: EventBus,
    pub logs: LogGroup,
}

/// Adds the configured trigger; returns the webhook path's handles in webhook mode.
pub fn add(
    stack: &mut Stack,
    config: &Config,
    names: &Names,
    pipeline: &Pipeline,
) -> Option<Webhook> {
    match config.source.trigger {
        Trigger::Webhook => Some(webhook(stack, config, names, pipeline)),
        Trigger::Connection => {
            let paths = &config.source.file_paths;
            let trigger = cp::push_trigger(&config.source.branch, &paths.include, &paths.exclude);
            stack
                .resource(ids::PIPELINE)
                .properties
                .insert("Triggers".into(), trigger);
            None
        }
    }
}

fn webhook(stack: &mut Stack, config: &Config, names: &Names, pipeline: &Pipeline) -> Webhook {
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
    // The receiver's role: no confused-deputy condition is possible on a Lambda execution
    // role's trust (see delivery). The rule's role: EventBridge documents aws:SourceArn and
    // aws:SourceAccount for the roles its targets use (EventBridge User Guide, "Cross-service
    // confused deputy prevention"), so it is trusted only on behalf of this rule.
    stack.add_role(Role::new(
        ids::WEBHOOK_ROLE,
        "Lambda: verifies GitHub webhook deliveries and publishes pushes",
        "lambda.amazonaws.com",
    ));
    let rule_arn = regional_arn("events", &format!("rule/{}/{}", bus.name, names.push_rule));
    stack.add_role(
        Role::new(
            ids::PUSH_RULE_ROLE,
            "EventBridge: starts the pipeline on pushes to the branch",
            "events.amazonaws.com",
        )
        .trusted_only_for(rule_arn),
    );
    let reserved = config.webhook.reserved_concurrency;
    stack.add(
        ids::WEBHOOK_SECRET,
        secret.resource(
            "Shared secret of the GitHub webhook; paste it into the webhook's Secret field",
        ),
    );
    stack.add(ids::PUSH_EVENT_BUS, bus.resource());
    stack.add(
        ids::WEBHOOK_LOG_GROUP,
        logs.resource(config.logs.retention_days),
    );
    stack.add(
        ids::WEBHOOK_FUNCTION,
        receiver.resource(FunctionProps {
            description: "shipline: verifies GitHub webhook signatures and publishes push events to EventBridge",
            source: WEBHOOK_SOURCE,
            role_arn: get_att(ids::WEBHOOK_ROLE, "Arn"),
            log_group: logs.name_ref(),
            timeout_seconds: 10,
            environment: vec![("WEBHOOK_SECRET_ARN", secret.arn()), ("EVENT_BUS_NAME", bus.name_ref())],
            reserved_concurrency: (reserved > 0).then_some(reserved),
        }),
    );
    stack.add(ids::WEBHOOK_URL, receiver.public_url());
    let [url_permission, invoke_permission] = receiver.public_url_permissions();
    stack.add(ids::WEBHOOK_URL_PERMISSION, url_permission);
    stack.add(ids::WEBHOOK_INVOKE_PERMISSION, invoke_permission);
    let rule = events::rule(
        &bus,
        "Starts the pipeline on pushes to the configured branch",
        events::push_pattern(&config.source.repository, &config.source.branch),
        pipeline.arn_by_name(),
        get_att(ids::PUSH_RULE_ROLE, "Arn"),
    )
    .prop("Name", json!(names.push_rule));
    // The target ARN is written out from the pipeline's name; order the rule after it anyway.
    stack.add(ids::PUSH_RULE, rule.depends_on(ids::PIPELINE));
    stack.output(
        "WebhookUrl",
        "Payload URL of the GitHub webhook (content type application/json, push events)",
        get_att(ids::WEBHOOK_URL, "FunctionUrl"),
    );
    stack.output(
        "WebhookSecretArn",
        "Secret of the GitHub webhook: aws secretsmanager get-secret-value --query SecretString --output text --secret-id <this ARN>",
        secret.arn(),
    );
    Webhook { secret, bus, logs }
}
