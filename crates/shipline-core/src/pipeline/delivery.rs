//! Delivery: the function that gates on the scan and moves stage tags, and the V2 pipeline
//! that runs it — Source (GitHub) → Build → Scan → for each promotion stage an approval stage
//! where configured, then the stage that moves its tag. The build gets the commit id from the
//! Source action's variables; the gate and every promotion get the digest from the Build
//! action's exported variables: the image *this* execution built, never "the newest image".

use serde_json::{Value, json};

use super::build::Build;
use super::store::Store;
use super::{DEPLOY_ACTION, Names, PROMOTE_ACTION, ids, promotion_source};
use crate::config::{
    APPROVAL_PREFIX, Config, EcsTarget, LambdaTarget, ScanGate, Severity, Stage, Trigger,
};
use crate::iam::Role;
use crate::resources::codepipeline::{self as cp, Pipeline};
use crate::resources::connections::Connection;
use crate::resources::ecs;
use crate::resources::lambda::{Function, FunctionProps};
use crate::resources::logs::LogGroup;
use crate::stack::Stack;
use crate::template::intrinsics::{get_att, ref_, sub};

/// The digest the Build action exported, as CodePipeline resolves it in later actions.
const BUILT_DIGEST: &str = "#{BuildVariables.IMAGE_DIGEST}";

pub struct Delivery {
    pub function: Function,
    pub function_logs: LogGroup,
    pub pipeline: Pipeline,
    /// The InspectorScan action's log group (`scan.gate = "inspector"` only).
    pub inspector_logs: Option<LogGroup>,
}

pub fn add(
    stack: &mut Stack,
    config: &Config,
    names: &Names,
    store: &Store,
    build: &Build,
    connection: &Connection,
) -> Delivery {
    let function = Function {
        logical_id: ids::PROMOTION_FUNCTION,
        name: names.promotion_function.clone(),
    };
    let function_logs = LogGroup {
        logical_id: ids::PROMOTION_LOG_GROUP,
        name: function.default_log_group_name(),
    };
    let pipeline = Pipeline {
        logical_id: ids::PIPELINE,
        name: names.pipeline.clone(),
    };
    add_function(stack, config, &function, &function_logs);
    // No confused-deputy condition on its trust: AWS documents the CodePipeline service role's
    // trust policy without one (CodePipeline User Guide, "Manage the CodePipeline service
    // role") and does not say CodePipeline supplies aws:SourceArn/aws:SourceAccount when it
    // assumes the role; a condition on keys it does not send would fail CreatePipeline.
    stack.add_role(Role::new(
        ids::PIPELINE_ROLE,
        "CodePipeline: runs the source, build and promotion actions",
        "codepipeline.amazonaws.com",
    ));
    let inspector_logs = (config.scan.gate == ScanGate::Inspector).then(|| {
        let logs = LogGroup {
            logical_id: ids::PIPELINE_LOG_GROUP,
            name: format!("/aws/codepipeline/{}", pipeline.name),
        };
        stack.add(
            ids::PIPELINE_LOG_GROUP,
            logs.resource(config.logs.retention_days),
        );
        logs
    });
    let mut stages = vec![
        cp::stage("Source", vec![source_action(config, connection)]),
        cp::stage(
            "Build",
            vec![cp::codebuild_action(
                build.project.name_ref(),
                &[("COMMIT_ID", "#{SourceVariables.CommitId}")],
            )],
        ),
        cp::stage(
            "Scan",
            vec![scan_action(config, &function, &store.repository.name)],
        ),
    ];
    for stage in config.promotion_stages() {
        stages.extend(promotion_stages(&stage, &function, &store.repository.name));
    }
    let resource = pipeline.resource(
        get_att(ids::PIPELINE_ROLE, "Arn"),
        store.bucket.name(),
        stages,
    );
    stack.add(ids::PIPELINE, resource);
    stack.output("PipelineName", "CodePipeline pipeline", pipeline.name_ref());
    stack.output(
        "PipelineConsoleUrl",
        "Pipeline executions in the AWS console",
        pipeline.console_url(),
    );
    stack.output(
        "PromotionFunctionArn",
        "Lambda function promoting built digests",
        function.arn(),
    );
    stack.output(
        "PromotionLogGroupName",
        "CloudWatch Logs group of the promotion function",
        function_logs.name_ref(),
    );
    Delivery {
        function,
        function_logs,
        pipeline,
        inspector_logs,
    }
}

/// The delivery function, its log group, and its role. Lambda assumes execution roles without
/// aws:SourceArn/aws:SourceAccount in the request context, so the trust policy cannot be
/// conditioned on them (a condition would make the role unassumable); its grants bound it.
fn add_function(stack: &mut Stack, config: &Config, function: &Function, logs: &LogGroup) {
    let deploys = config.promotion_stages().iter().any(Stage::deploys);
    let and_deploys = if deploys {
        " and deploys it to the stages' targets"
    } else {
        ""
    };
    stack.add_role(Role::new(
        ids::PROMOTION_ROLE,
        &format!(
            "Lambda: gates on the image scan and moves stage tags to the built digest{and_deploys}"
        ),
        "lambda.amazonaws.com",
    ));
    stack.add(
        ids::PROMOTION_LOG_GROUP,
        logs.resource(config.logs.retention_days),
    );
    stack.add(
        ids::PROMOTION_FUNCTION,
        function.resource(FunctionProps {
            description: &format!(
                "shipline: gates on the image scan and moves stage tags to the digest this pipeline execution built{and_deploys}"
            ),
            source: &promotion_source(config),
            role_arn: get_att(ids::PROMOTION_ROLE, "Arn"),
            log_group: logs.name_ref(),
            timeout_seconds: 60,
            environment: gate_environment(config),
            reserved_concurrency: None,
        }),
    );
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

/// GitHub through the connection. Exactly one trigger is active: with the webhook,
/// EventBridge starts executions, so the action does not detect changes itself.
fn source_action(config: &Config, connection: &Connection) -> Value {
    cp::github_source_action(
        connection.arn(),
        &config.source.repository,
        &config.source.branch,
        config.source.trigger == Trigger::Connection,
    )
}

/// The gate between the build and the first promotion: shipline's function reading ECR's
/// basic scan-on-push result, or CodePipeline's InspectorScan action (enhanced scanning), whose
/// thresholds are per severity: each level at or above the configured one allows
/// `max_findings` findings of that level.
fn scan_action(config: &Config, function: &Function, repository: &str) -> Value {
    match config.scan.gate {
        ScanGate::Basic => cp::lambda_action(
            "ScanGate",
            function.name_ref(),
            json!({ "action": "scan-gate", "repository": repository, "digest": BUILT_DIGEST }),
            Some("ScanVariables"),
        ),
        ScanGate::Inspector => {
            let thresholds: Vec<(&str, String)> = [
                (Severity::Low, "LowThreshold"),
                (Severity::Medium, "MediumThreshold"),
                (Severity::High, "HighThreshold"),
                (Severity::Critical, "CriticalThreshold"),
            ]
            .into_iter()
            .filter(|(level, _)| *level >= config.scan.severity)
            .map(|(_, key)| (key, config.scan.max_findings.to_string()))
            .collect();
            cp::inspector_scan_action(repository, "#{BuildVariables.IMAGE_TAG}", &thresholds)
        }
    }
}

/// A promotion stage, preceded by its approval stage when it has one (its own stage, so that
/// rejecting it fails nothing a rollback would re-run). A failed promotion returns the stage to
/// the last successful execution's image.
fn promotion_stages(stage: &Stage, function: &Function, repository: &str) -> Vec<Value> {
    let mut stages = Vec::new();
    if stage.approval {
        let request = format!(
            "Promote {repository}@{BUILT_DIGEST} (commit #{{SourceVariables.CommitId}}) to {}? It passed the scan gate.",
            stage.name
        );
        let link = sub(&format!(
            "https://${{AWS::Region}}.console.aws.amazon.com/ecr/repositories/private/${{AWS::AccountId}}/{repository}/_/image/{BUILT_DIGEST}/details?region=${{AWS::Region}}"
        ));
        stages.push(cp::stage(
            &format!("{APPROVAL_PREFIX}{}", stage.name),
            vec![cp::approval_action(
                ref_(ids::NOTIFICATION_TOPIC),
                request,
                link,
            )],
        ));
    }
    let parameters = json!({ "repository": repository, "digest": BUILT_DIGEST, "tag": stage.name });
    let mut actions = vec![cp::lambda_action(
        PROMOTE_ACTION,
        function.name_ref(),
        parameters,
        None,
    )];
    if let Some(target) = &stage.ecs {
        actions.push(ecs_deploy_action(target, function));
    }
    if let Some(target) = &stage.lambda {
        actions.push(lambda_deploy_action(target, function));
    }
    stages.push(cp::stage_rolling_back(&stage.name, actions));
    stages
}

/// After the tag moved (RunOrder 2), the stage's ECS service gets the same digest: the
/// delivery function registers a revision of the service's task definition with only the
/// container's image changed, updates the service, and follows the deployment through
/// continuation tokens until ECS reports it done or rolled back. A deployment ECS rolls back
/// fails the stage, whose rollback then moves the tag back and redeploys the previous digest.
fn ecs_deploy_action(target: &EcsTarget, function: &Function) -> Value {
    deploy_action(
        function,
        json!({
            "action": "deploy-ecs",
            "cluster": target.cluster_name(),
            "service": target.service_name(),
            "container": target.container,
            "pass_roles": target.pass_roles.iter().map(|r| ecs::role_arn_pattern(r)).collect::<Vec<_>>(),
            "wait_seconds": target.wait_minutes * 60,
        }),
    )
}

/// After the tag moved (RunOrder 2), the stage's Lambda function gets the same digest: the
/// delivery function sets the function's image to `<repository>@<digest>`, waits for Lambda to
/// finish the update, publishes a version and moves the alias to it. A failed update fails the
/// stage, whose rollback moves the tag back and deploys the previous digest the same way.
fn lambda_deploy_action(target: &LambdaTarget, function: &Function) -> Value {
    deploy_action(
        function,
        json!({
            "action": "deploy-lambda",
            "function": target.function_name(),
            "alias": target.alias,
            "wait_seconds": target.wait_minutes * 60,
        }),
    )
}

/// A Deploy action (RunOrder 2, after Promote) with `parameters` plus the repository URI and
/// the digest this execution built. One `Fn::Sub` holds the parameters so the repository URI
/// and role names resolve in it; no user value can hold `${` (config validation), so only
/// shipline's own references are substituted.
fn deploy_action(function: &Function, mut parameters: Value) -> Value {
    parameters["image"] = json!(format!("${{{}.RepositoryUri}}", ids::IMAGE_REPOSITORY));
    parameters["digest"] = json!(BUILT_DIGEST);
    let mut action = cp::lambda_action(DEPLOY_ACTION, function.name_ref(), json!(null), None);
    action["Configuration"]["UserParameters"] = sub(&crate::template::embedded_json(parameters));
    action["RunOrder"] = json!(2);
    action
}
