//! The data the stack keeps: the artifact bucket (TLS-only) and the ECR repository whose stage
//! tags move while commit tags stay immutable (and, when stages deploy to Lambda functions, whose
//! policy lets Lambda pull their images). Both are retained when the stack is deleted.

use super::{Names, ids};
use crate::config::Config;
use crate::resources::ecr::ImageRepository;
use crate::resources::lambda::TargetFunction;
use crate::resources::s3::ArtifactBucket;
use crate::stack::Stack;

pub struct Store {
    pub bucket: ArtifactBucket,
    pub repository: ImageRepository,
}

pub fn add(stack: &mut Stack, config: &Config, names: &Names) -> Store {
    let bucket = ArtifactBucket {
        logical_id: ids::ARTIFACT_BUCKET,
    };
    let repository = ImageRepository {
        logical_id: ids::IMAGE_REPOSITORY,
        name: names.repository.clone(),
    };
    let stage_tags: Vec<String> = config
        .promotion_stages()
        .into_iter()
        .map(|s| s.name)
        .collect();
    let stage_tags: Vec<&str> = stage_tags.iter().map(String::as_str).collect();
    stack.add(
        ids::ARTIFACT_BUCKET,
        bucket.resource(config.artifacts.expiration_days),
    );
    stack.add(ids::ARTIFACT_BUCKET_POLICY, bucket.tls_only_policy());
    let mut resource = repository.resource(&stage_tags, config.images.keep_last);
    let functions: Vec<_> = config
        .promotion_stages()
        .into_iter()
        .filter_map(|s| s.lambda)
        .map(|t| TargetFunction {
            name: t.function_name().to_owned(),
        })
        .flat_map(|f| [f.arn(), f.qualified_arns()])
        .collect();
    if !functions.is_empty() {
        resource = resource.prop(
            "RepositoryPolicyText",
            ImageRepository::lambda_pull_policy(functions),
        );
    }
    stack.add(ids::IMAGE_REPOSITORY, resource);
    stack.output(
        "ArtifactBucketName",
        "Artifact store bucket of the pipeline",
        bucket.name(),
    );
    stack.output(
        "ArtifactBucketArn",
        "ARN of the artifact store bucket",
        bucket.arn(),
    );
    stack.output(
        "RepositoryUri",
        "ECR repository the build pushes to",
        repository.uri(),
    );
    Store { bucket, repository }
}
