//! The targets the promotion stages deploy to, seen from their services: for an ECS service
//! (`[stages.deploy.ecs]`) the image digest its task definition runs and the state of its
//! newest deployment; for a Lambda function (`[stages.deploy.lambda]`) the version its alias
//! (or `$LATEST`) points at and that version's image and update state. The only code that talks
//! to ECS and Lambda; read-only (DescribeServices, DescribeTaskDefinition; GetAlias,
//! GetFunction).

use aws_sdk_ecs::Client;
use serde::Serialize;
use shipline_core::config::{EcsTarget, LambdaTarget};

use crate::cloudformation::error::DeployError;

/// One stage's service as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceState {
    pub stage: String,
    pub cluster: String,
    pub service: String,
    /// The task definition the service runs (its primary deployment's).
    pub task_definition: Option<String>,
    /// The container's image as the task definition names it.
    pub image: Option<String>,
    /// The digest of that image, when it is named by digest (shipline deploys digests only).
    pub digest: Option<String>,
    /// The newest deployment: id, ECS status, rollout state and its reason.
    pub deployment: Option<DeploymentState>,
    /// Why the service could not be read, if it could not.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploymentState {
    pub id: String,
    pub status: String,
    pub rollout_state: Option<String>,
    pub reason: Option<String>,
}

/// The state of `target`, stage `stage`'s service; a failure to read it is part of the state
/// (status shows what it can).
pub async fn service_state(client: &Client, stage: &str, target: &EcsTarget) -> ServiceState {
    let mut state = ServiceState {
        stage: stage.to_owned(),
        cluster: target.cluster_name().to_owned(),
        service: target.service_name().to_owned(),
        task_definition: None,
        image: None,
        digest: None,
        deployment: None,
        error: None,
    };
    if let Err(err) = read(client, target, &mut state).await {
        state.error = Some(err.to_string());
    }
    state
}

async fn read(
    client: &Client,
    target: &EcsTarget,
    state: &mut ServiceState,
) -> Result<(), DeployError> {
    let found = client
        .describe_services()
        .cluster(target.cluster_name())
        .services(target.service_name())
        .send()
        .await
        .map_err(|e| DeployError::from_sdk("DescribeServices", e))?;
    let Some(service) = found.services().first() else {
        let reason = found
            .failures()
            .first()
            .and_then(|f| f.reason())
            .unwrap_or("not found");
        return Err(DeployError::Refused(format!(
            "service {} in cluster {}: {reason}",
            state.service, state.cluster
        )));
    };
    // A deleted service stays visible as DRAINING, then INACTIVE, for a while (DescribeServices).
    if let Some(status) = service.status().filter(|s| *s != "ACTIVE") {
        state.error = Some(format!(
            "service {} in cluster {} is {status} (deleted or being deleted)",
            state.service, state.cluster
        ));
        return Ok(());
    }
    // Deployments are listed newest first; the PRIMARY one is what the service converges to.
    let newest = service
        .deployments()
        .iter()
        .max_by_key(|d| d.created_at().map(|t| t.secs()));
    state.deployment = newest.map(|d| DeploymentState {
        id: d.id().unwrap_or("?").to_owned(),
        status: d.status().unwrap_or("?").to_owned(),
        rollout_state: d.rollout_state().map(|r| r.as_str().to_owned()),
        reason: d.rollout_state_reason().map(str::to_owned),
    });
    let primary = service
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .and_then(|d| d.task_definition())
        .or(service.task_definition());
    let Some(task_definition) = primary else {
        return Ok(());
    };
    state.task_definition = Some(task_definition.to_owned());
    let described = client
        .describe_task_definition()
        .task_definition(task_definition)
        .send()
        .await
        .map_err(|e| DeployError::from_sdk("DescribeTaskDefinition", e))?;
    let image = described
        .task_definition()
        .map(|t| t.container_definitions())
        .unwrap_or_default()
        .iter()
        .find(|c| c.name() == Some(target.container.as_str()))
        .and_then(|c| c.image());
    state.image = image.map(str::to_owned);
    state.digest = image
        .and_then(|i| i.split_once('@'))
        .map(|(_, digest)| digest.to_owned());
    if image.is_none() {
        state.error = Some(format!(
            "the task definition has no container {:?} (stages.deploy.ecs.container)",
            target.container
        ));
    }
    Ok(())
}

/// One stage's Lambda function as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionState {
    pub stage: String,
    pub function: String,
    pub alias: Option<String>,
    /// The version the alias points at (`$LATEST` without an alias).
    pub version: Option<String>,
    /// The image that version runs, as Lambda records it (`Code.ImageUri`).
    pub image: Option<String>,
    /// Its digest, when the image is named by digest.
    pub digest: Option<String>,
    /// `State` / `LastUpdateStatus` of that version (e.g. `Active` / `Successful`).
    pub state: Option<String>,
    pub error: Option<String>,
}

/// The state of `target`, stage `stage`'s function; a failure to read it is part of the state.
pub async fn function_state(
    client: &aws_sdk_lambda::Client,
    stage: &str,
    target: &LambdaTarget,
) -> FunctionState {
    let mut state = FunctionState {
        stage: stage.to_owned(),
        function: target.function_name().to_owned(),
        alias: target.alias.clone(),
        version: None,
        image: None,
        digest: None,
        state: None,
        error: None,
    };
    if let Err(err) = read_function(client, target, &mut state).await {
        state.error = Some(err.to_string());
    }
    state
}

async fn read_function(
    client: &aws_sdk_lambda::Client,
    target: &LambdaTarget,
    state: &mut FunctionState,
) -> Result<(), DeployError> {
    let version = match &target.alias {
        Some(alias) => client
            .get_alias()
            .function_name(target.function_name())
            .name(alias)
            .send()
            .await
            .map_err(|e| DeployError::from_sdk("GetAlias", e))?
            .function_version()
            .unwrap_or("$LATEST")
            .to_owned(),
        None => "$LATEST".to_owned(),
    };
    let function = client
        .get_function()
        .function_name(target.function_name())
        .qualifier(&version)
        .send()
        .await
        .map_err(|e| DeployError::from_sdk("GetFunction", e))?;
    state.version = Some(version);
    let image = function.code().and_then(|c| c.image_uri());
    state.image = image.map(str::to_owned);
    state.digest = image
        .and_then(|i| i.split_once('@'))
        .map(|(_, digest)| digest.to_owned());
    state.state = function.configuration().map(|c| {
        format!(
            "{} / {}",
            c.state().map_or("?", |s| s.as_str()),
            c.last_update_status().map_or("?", |s| s.as_str())
        )
    });
    Ok(())
}

/// One line per function for `status`.
pub fn function_lines(states: &[FunctionState]) -> Vec<String> {
    if states.is_empty() {
        return Vec::new();
    }
    let mut lines = vec!["Lambda functions:".to_owned()];
    for s in states {
        let mut line = format!("  {:<12} {}", s.stage, s.function);
        if let (Some(alias), Some(version)) = (&s.alias, &s.version) {
            line.push_str(&format!(":{alias} -> version {version}"));
        } else if let Some(version) = &s.version {
            line.push_str(&format!(" {version}"));
        }
        match (&s.digest, &s.image) {
            (Some(digest), _) => line.push_str(&format!("  runs {digest}")),
            (None, Some(image)) => line.push_str(&format!("  runs {image} (not by digest)")),
            _ => {}
        }
        if let Some(state) = &s.state {
            line.push_str(&format!("  ({state})"));
        }
        if let Some(err) = &s.error {
            line.push_str(&format!("  not available: {err}"));
        }
        lines.push(line);
    }
    lines
}

/// One line per service for `status`.
pub fn lines(states: &[ServiceState]) -> Vec<String> {
    if states.is_empty() {
        return Vec::new();
    }
    let mut lines = vec!["ECS services:".to_owned()];
    for s in states {
        let mut line = format!("  {:<12} {}/{}", s.stage, s.cluster, s.service);
        if let Some(digest) = &s.digest {
            line.push_str(&format!("  runs {digest}"));
        } else if let Some(image) = &s.image {
            line.push_str(&format!("  runs {image} (not by digest)"));
        }
        if let Some(d) = &s.deployment {
            line.push_str(&format!(
                "  deployment {} {}",
                d.id,
                d.rollout_state.as_deref().unwrap_or(&d.status)
            ));
            if let Some(reason) = &d.reason {
                line.push_str(&format!(" ({reason})"));
            }
        }
        if let Some(err) = &s.error {
            line.push_str(&format!("  not available: {err}"));
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
    use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
    use aws_sdk_ecs::primitives::DateTime;
    use aws_sdk_ecs::types::{
        ContainerDefinition, Deployment, DeploymentRolloutState, Failure, Service, TaskDefinition,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn target() -> EcsTarget {
        EcsTarget {
            cluster: "prod".into(),
            service: "web".into(),
            container: "web".into(),
            pass_roles: vec![],
            wait_minutes: 60,
        }
    }

    fn deployment(id: &str, status: &str, rollout: DeploymentRolloutState, at: i64) -> Deployment {
        Deployment::builder()
            .id(id)
            .status(status)
            .rollout_state(rollout)
            .task_definition(format!(
                "arn:aws:ecs:us-east-1:123456789012:task-definition/web:{at}"
            ))
            .created_at(DateTime::from_secs(at))
            .build()
    }

    #[tokio::test]
    async fn the_running_digest_and_the_newest_deployment() {
        let services = mock!(Client::describe_services).then_output(|| {
            DescribeServicesOutput::builder()
                .services(
                    Service::builder()
                        .status("ACTIVE")
                        .deployments(deployment(
                            "ecs-svc/1",
                            "ACTIVE",
                            DeploymentRolloutState::Completed,
                            1,
                        ))
                        .deployments(deployment(
                            "ecs-svc/2",
                            "PRIMARY",
                            DeploymentRolloutState::InProgress,
                            2,
                        ))
                        .build(),
                )
                .build()
        });
        let task = mock!(Client::describe_task_definition)
            .match_requests(|r| r.task_definition() == Some("arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"))
            .then_output(|| {
                DescribeTaskDefinitionOutput::builder()
                    .task_definition(
                        TaskDefinition::builder()
                            .container_definitions(ContainerDefinition::builder().name("sidecar").image("envoy:1").build())
                            .container_definitions(
                                ContainerDefinition::builder()
                                    .name("web")
                                    .image(format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/orders@{DIGEST}"))
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&services, &task]);
        let state = service_state(&client, "production", &target()).await;
        assert_eq!(state.digest.as_deref(), Some(DIGEST));
        assert_eq!(state.error, None);
        let deployment = state.deployment.clone().unwrap();
        assert_eq!(deployment.id, "ecs-svc/2");
        assert_eq!(deployment.rollout_state.as_deref(), Some("IN_PROGRESS"));
        assert_eq!(
            lines(&[state])[1],
            format!("  production   prod/web  runs {DIGEST}  deployment ecs-svc/2 IN_PROGRESS")
        );
    }

    #[tokio::test]
    async fn a_function_alias_shows_its_version_and_the_digest_it_runs() {
        use aws_sdk_lambda::operation::get_alias::GetAliasOutput;
        use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
        use aws_sdk_lambda::types::{
            FunctionCodeLocation, FunctionConfiguration, LastUpdateStatus, State,
        };
        let alias = mock!(aws_sdk_lambda::Client::get_alias)
            .match_requests(|r| r.function_name() == Some("orders-api") && r.name() == Some("live"))
            .then_output(|| GetAliasOutput::builder().function_version("7").build());
        let function = mock!(aws_sdk_lambda::Client::get_function)
            .match_requests(|r| r.qualifier() == Some("7"))
            .then_output(|| {
                GetFunctionOutput::builder()
                    .code(
                        FunctionCodeLocation::builder()
                            .image_uri(format!(
                                "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders@{DIGEST}"
                            ))
                            .build(),
                    )
                    .configuration(
                        FunctionConfiguration::builder()
                            .state(State::Active)
                            .last_update_status(LastUpdateStatus::Successful)
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&alias, &function]);
        let target = LambdaTarget {
            function: "orders-api".into(),
            alias: Some("live".into()),
            wait_minutes: 30,
        };
        let state = function_state(&client, "production", &target).await;
        assert_eq!(state.digest.as_deref(), Some(DIGEST));
        assert_eq!(
            function_lines(&[state])[1],
            format!(
                "  production   orders-api:live -> version 7  runs {DIGEST}  (Active / Successful)"
            )
        );
    }

    #[tokio::test]
    async fn a_missing_service_is_reported_in_place() {
        let services = mock!(Client::describe_services).then_output(|| {
            DescribeServicesOutput::builder()
                .failures(
                    Failure::builder()
                        .arn("arn:aws:ecs:us-east-1:1:service/prod/web")
                        .reason("MISSING")
                        .build(),
                )
                .build()
        });
        let client = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&services]);
        let state = service_state(&client, "production", &target()).await;
        assert_eq!(state.digest, None);
        assert_eq!(
            state.error.as_deref(),
            Some("service web in cluster prod: MISSING")
        );
        assert!(
            lines(&[state])[1].ends_with("not available: service web in cluster prod: MISSING")
        );
    }
}
