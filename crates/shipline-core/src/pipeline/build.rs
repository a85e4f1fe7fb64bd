//! The image build: the CodeBuild project (shipline's buildspec, Docker in privileged mode),
//! its log group with our retention, and its role, trusted by CodeBuild only on behalf of this
//! project in this account (CodeBuild documents aws:SourceArn/aws:SourceAccount in its service
//! role's trust policy: CodeBuild User Guide, "Cross-service confused deputy prevention").

use super::store::Store;
use super::{Names, ids};
use crate::config::Config;
use crate::iam::Role;
use crate::resources::codebuild::{BuildProject, BuildProjectProps};
use crate::resources::logs::LogGroup;
use crate::stack::Stack;
use crate::template::intrinsics::get_att;

pub struct Build {
    pub project: BuildProject,
    pub logs: LogGroup,
}

pub fn add(stack: &mut Stack, config: &Config, names: &Names, store: &Store) -> Build {
    let project = BuildProject {
        logical_id: ids::BUILD_PROJECT,
        name: names.build_project.clone(),
    };
    let logs = LogGroup {
        logical_id: ids::BUILD_LOG_GROUP,
        name: format!("/aws/codebuild/{}", project.name),
    };
    stack.add_role(
        Role::new(
            ids::BUILD_ROLE,
            "CodeBuild: builds and pushes the app image",
            "codebuild.amazonaws.com",
        )
        .trusted_only_for(project.arn_by_name()),
    );
    stack.add(
        ids::BUILD_LOG_GROUP,
        logs.resource(config.logs.retention_days),
    );
    stack.add(
        ids::BUILD_PROJECT,
        project.resource(BuildProjectProps {
            role_arn: get_att(ids::BUILD_ROLE, "Arn"),
            log_group: logs.name_ref(),
            repository_uri: store.repository.uri(),
            repository_name: store.repository.name_ref(),
            dockerfile: &config.build.dockerfile,
            context: &config.build.context,
            extra_environment: config.build.environment.clone().into_iter().collect(),
        }),
    );
    stack.output(
        "BuildProjectName",
        "CodeBuild project building the image",
        project.name_ref(),
    );
    stack.output(
        "BuildLogGroupName",
        "CloudWatch Logs group of the builds",
        logs.name_ref(),
    );
    Build { project, logs }
}
