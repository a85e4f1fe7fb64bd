//! Who may do what: every grant of the stack, role by role, in one table. Each `grant_*` call
//! adds exactly the actions one use needs on exactly the resources it touches (see
//! [`crate::resources`]); nothing else puts a statement in a role.

use super::build::Build;
use super::delivery::Delivery;
use super::ids;
use super::notifications::Notifications;
use super::store::Store;
use super::triggers::Webhook;
use crate::config::{Config, ScanGate};
use crate::iam::Statement;
use crate::resources::codepipeline;
use crate::resources::connections::Connection;
use crate::resources::ecs;
use crate::resources::lambda::{self, TargetFunction};
use crate::stack::Stack;

/// The features' handles the grants refer to.
pub struct Parts<'a> {
    pub config: &'a Config,
    pub store: &'a Store,
    pub connection: &'a Connection,
    pub build: &'a Build,
    pub delivery: &'a Delivery,
    pub topic: &'a Notifications,
    /// The webhook path, in webhook mode.
    pub trigger: Option<&'a Webhook>,
}

pub fn grant(stack: &mut Stack, parts: &Parts<'_>) {
    let Parts {
        config,
        store,
        connection,
        build,
        delivery,
        topic,
        trigger,
    } = parts;

    // Build: push to this repository, write its own log group, read sources and write the
    // image detail artifact in the artifact bucket.
    let role = stack.role(ids::BUILD_ROLE);
    store.repository.grant_push(role);
    build.logs.grant_write(role, "WriteBuildLogs");
    store.bucket.grant_read_write(role);

    // Delivery function: gate on this repository's scan results (basic gate), retag by digest
    // in it, report the job result, write its logs.
    let role = stack.role(ids::PROMOTION_ROLE);
    if config.scan.gate == ScanGate::Basic {
        store.repository.grant_read_scan_findings(role);
    }
    store.repository.grant_retag(role);
    // With deploy targets: update exactly the stages' ECS services and Lambda functions to the
    // promoted digest.
    let stages = config.promotion_stages();
    let ecs_targets: Vec<_> = stages.iter().filter_map(|s| s.ecs.as_ref()).collect();
    let services: Vec<ecs::Service> = ecs_targets.iter().map(|t| ecs::Service::of(t)).collect();
    let mut pass_roles: Vec<String> = ecs_targets
        .iter()
        .flat_map(|t| t.pass_roles.clone())
        .collect();
    pass_roles.sort();
    pass_roles.dedup();
    ecs::grant_deploy(role, &services, &pass_roles);
    let functions: Vec<TargetFunction> = stages
        .iter()
        .filter_map(|s| s.lambda.as_ref())
        .map(|t| TargetFunction {
            name: t.function_name().to_owned(),
        })
        .collect();
    if !functions.is_empty() {
        lambda::grant_deploy_image(role, &functions);
        store.repository.grant_read_layers(role);
    }
    codepipeline::grant_put_job_result(role);
    delivery
        .function_logs
        .grant_write(role, "WritePromotionLogs");

    // Pipeline: read the source through the connection, run the build, invoke the delivery
    // function, move artifacts through the bucket; publish approval requests (the manual
    // approval action publishes as the pipeline role); with the inspector gate, what the
    // InspectorScan action does as the pipeline role.
    let role = stack.role(ids::PIPELINE_ROLE);
    connection.grant_use(role);
    build.project.grant_start(role);
    delivery.function.grant_invoke(role);
    store.bucket.grant_read_write(role);
    if config.promotion_stages().iter().any(|s| s.approval) {
        topic.topic.grant_publish(role);
        topic.key.grant_encrypt_for_publishing(role);
    }
    if let Some(logs) = &delivery.inspector_logs {
        store.repository.grant_pull(role);
        role.add(Statement::on_any_resource(
            "ScanImagesWithInspector",
            &["inspector-scan:ScanSbom"],
            "inspector-scan:ScanSbom supports no resource-level permissions: the Service Authorization Reference lists no resource type for it",
        ));
        // The action's documented permissions include logs:CreateLogGroup (CodePipeline User
        // Guide, "Amazon Inspector InspectorScan invoke action reference"); the stack creates the
        // group, but the action may still call CreateLogGroup, so it may do so on this group only.
        logs.grant_create(role, "CreateInspectorScanLogGroup");
        logs.grant_write(role, "WriteInspectorScanLogs");
    }

    if let Some(webhook) = trigger {
        // Receiver: read the one secret, publish to the one bus, write its logs.
        let role = stack.role(ids::WEBHOOK_ROLE);
        webhook.secret.grant_read(role);
        webhook.bus.grant_put_events(role);
        webhook.logs.grant_write(role, "WriteWebhookLogs");
        // Rule target: start this pipeline only.
        delivery
            .pipeline
            .grant_start_execution(stack.role(ids::PUSH_RULE_ROLE));
    }
}
