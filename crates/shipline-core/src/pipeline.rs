//! The composition: [`synthesize`] turns a validated [`Config`] into the complete
//! [`Template`] — artifact bucket, ECR repository, build project, promotion function, their
//! log groups and roles, the GitHub connection and the V2 pipeline — then runs the tag pass.
//!
//! This is the only place that knows how the pieces connect. Each role starts empty and is
//! filled by the `grant_*` calls below, one per use, so reading this function tells exactly
//! who may do what.

use serde_json::{Value, json};

use crate::config::Config;
use crate::iam::Role;
use crate::resources::codebuild::{BuildProject, BuildProjectProps};
use crate::resources::codepipeline::{self, Pipeline};
use crate::resources::ecr::ImageRepository;
use crate::resources::lambda::{Function, FunctionProps};
use crate::resources::logs::LogGroup;
use crate::resources::s3::ArtifactBucket;
use crate::resources::connections::{self, Connection};
use crate::tags;
use crate::template::Template;

/// Source of the promotion function, embedded at compile time and placed inline.
pub const PROMOTION_SOURCE: &str = include_str!("lambdas/promotion.py");

/// The tag the Deploy stage moves to the digest this execution built.
pub const PRODUCTION_TAG: &str = "production";

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
}

/// Physical names derived from the app name (validated to fit every service's limits).
pub struct Names {
    pub repository: String,
    pub build_project: String,
    pub pipeline: String,
    pub promotion_function: String,
    pub connection: String,
}

impl Names {
    pub fn for_app(app: &str) -> Self {
        Names {
            repository: app.to_owned(),
            build_project: format!("{app}-build"),
            pipeline: format!("{app}-pipeline"),
            promotion_function: format!("{app}-promote"),
            connection: format!("{app}-github"),
        }
    }
}

/// The full pipeline template for `config`.
pub fn synthesize(config: &Config) -> Template {
    let names = Names::for_app(&config.app.name);
    let mut template = Template::new(format!(
        "shipline CI/CD pipeline for {}: GitHub {}@{} -> CodeBuild -> ECR -> promotion to `{PRODUCTION_TAG}`",
        config.app.name, config.source.repository, config.source.branch
    ));

    let bucket = ArtifactBucket { logical_id: ids::ARTIFACT_BUCKET };
    let repository = ImageRepository { logical_id: ids::IMAGE_REPOSITORY, name: names.repository.clone() };
    let project = BuildProject { logical_id: ids::BUILD_PROJECT, name: names.build_project.clone() };
    let function = Function { logical_id: ids::PROMOTION_FUNCTION, name: names.promotion_function.clone() };
    let pipeline = Pipeline { logical_id: ids::PIPELINE, name: names.pipeline.clone() };
    let build_logs = LogGroup { logical_id: ids::BUILD_LOG_GROUP, name: format!("/aws/codebuild/{}", project.name) };
    let promotion_logs = LogGroup { logical_id: ids::PROMOTION_LOG_GROUP, name: function.default_log_group_name() };

    let connection = match &config.source.connection_arn {
        Some(arn) => Connection::Existing(arn.clone()),
        None => {
            template.add(ids::GITHUB_CONNECTION, Connection::resource(&names.connection));
            Connection::Created { logical_id: ids::GITHUB_CONNECTION }
        }
    };
    let connection_arn = connection.arn();

    // Build: push to this repository, write its own log group, read sources and write the
    // image detail artifact in the artifact bucket.
    let mut build_role = Role::new(ids::BUILD_ROLE, "CodeBuild: builds and pushes the app image", "codebuild.amazonaws.com")
        .trusted_only_for(project.arn_by_name());
    repository.grant_push(&mut build_role);
    build_logs.grant_write(&mut build_role, "WriteBuildLogs");
    bucket.grant_read_write(&mut build_role);

    // Promotion: retag by digest in this repository, report the job result, write its logs.
    // Lambda assumes execution roles without aws:SourceArn/aws:SourceAccount in the request
    // context, so its trust policy cannot be conditioned on them (a condition would make the
    // role unassumable); the role's permissions are what bound it.
    let mut promotion_role = Role::new(ids::PROMOTION_ROLE, "Lambda: moves the promotion tag to the built digest", "lambda.amazonaws.com");
    repository.grant_retag(&mut promotion_role);
    codepipeline::grant_put_job_result(&mut promotion_role);
    promotion_logs.grant_write(&mut promotion_role, "WritePromotionLogs");

    // Pipeline: read the source through the connection, run the build, invoke the promotion,
    // and move artifacts through the artifact bucket.
    let mut pipeline_role = Role::new(ids::PIPELINE_ROLE, "CodePipeline: runs the source, build and promotion actions", "codepipeline.amazonaws.com")
        .trusted_only_for(pipeline.arn_by_name());
    connection.grant_use(&mut pipeline_role);
    project.grant_start(&mut pipeline_role);
    function.grant_invoke(&mut pipeline_role);
    bucket.grant_read_write(&mut pipeline_role);

    template.add(ids::ARTIFACT_BUCKET, bucket.resource(config.artifacts.expiration_days));
    template.add(ids::ARTIFACT_BUCKET_POLICY, bucket.tls_only_policy());
    template.add(ids::IMAGE_REPOSITORY, repository.resource(&[PRODUCTION_TAG], config.images.keep_last));
    template.add(ids::BUILD_LOG_GROUP, build_logs.resource(config.logs.retention_days));
    template.add(ids::PROMOTION_LOG_GROUP, promotion_logs.resource(config.logs.retention_days));
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
            description: "shipline: tags the image digest this pipeline execution built as the promotion tag",
            source: PROMOTION_SOURCE,
            role: &promotion_role,
            log_group: promotion_logs.name_ref(),
            timeout_seconds: 60,
        }),
    );
    let stages = stages(config, &connection_arn, &project, &function, &repository);
    template.add(ids::PIPELINE, pipeline.resource(&pipeline_role, bucket.name(), stages));
    for role in [build_role, promotion_role, pipeline_role] {
        let id = role.logical_id.clone();
        template.add(&id, role.into_resource());
    }

    outputs(&mut template, config, &bucket, &repository, &project, &function, &pipeline, &build_logs, &promotion_logs, connection_arn);
    tags::apply(&mut template, &config.effective_tags());
    template
}

/// Source (GitHub via the connection) -> Build (CodeBuild) -> Deploy (promotion Lambda).
/// The build gets the commit id from the Source action's variables; the promotion gets the
/// digest from the Build action's exported variables — the image *this* execution built.
fn stages(
    config: &Config,
    connection_arn: &Value,
    project: &BuildProject,
    function: &Function,
    repository: &ImageRepository,
) -> Vec<Value> {
    let promotion_parameters = json!({
        "repository": repository.name,
        "digest": "#{BuildVariables.IMAGE_DIGEST}",
        "tag": PRODUCTION_TAG,
    });
    vec![
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
                    "DetectChanges": true,
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
                    "EnvironmentVariables": serde_json::to_string(&json!([
                        { "name": "COMMIT_ID", "value": "#{SourceVariables.CommitId}", "type": "PLAINTEXT" }
                    ])).expect("JSON"),
                },
                "InputArtifacts": [{ "Name": "SourceOutput" }],
                "OutputArtifacts": [{ "Name": "ImageDetail" }],
                "Namespace": "BuildVariables",
                "RunOrder": 1,
            }],
        }),
        json!({
            "Name": "Deploy",
            "Actions": [{
                "Name": "PromoteToProduction",
                "ActionTypeId": { "Category": "Invoke", "Owner": "AWS", "Provider": "Lambda", "Version": "1" },
                "Configuration": {
                    "FunctionName": function.name_ref(),
                    "UserParameters": serde_json::to_string(&promotion_parameters).expect("JSON"),
                },
                "InputArtifacts": [{ "Name": "ImageDetail" }],
                "RunOrder": 1,
            }],
        }),
    ]
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
    template.output("ArtifactBucketName", "Artifact store bucket of the pipeline", bucket.name());
    template.output("ArtifactBucketArn", "ARN of the artifact store bucket", bucket.arn());
    template.output("RepositoryUri", "ECR repository the build pushes to", repository.uri());
    template.output("PipelineName", "CodePipeline pipeline", pipeline.name_ref());
    template.output("PipelineConsoleUrl", "Pipeline executions in the AWS console", pipeline.console_url());
    template.output("BuildProjectName", "CodeBuild project building the image", project.name_ref());
    template.output("PromotionFunctionArn", "Lambda function promoting built digests", function.arn());
    template.output("BuildLogGroupName", "CloudWatch Logs group of the builds", build_logs.name_ref());
    template.output("PromotionLogGroupName", "CloudWatch Logs group of the promotion function", promotion_logs.name_ref());
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
