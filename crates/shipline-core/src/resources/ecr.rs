//! The ECR repository: scan on push, commit tags immutable while promotion tags move
//! (`IMMUTABLE_WITH_EXCLUSION`), and a lifecycle policy that keeps the last N images without
//! ever expiring an image a promotion tag points at.

use serde_json::{Value, json};

use crate::iam::{Role, Statement};
use crate::template::Resource;
use crate::template::intrinsics::{get_att, ref_};

#[derive(Debug, Clone)]
pub struct ImageRepository {
    pub logical_id: &'static str,
    pub name: String,
}

impl ImageRepository {
    pub fn arn(&self) -> Value {
        get_att(self.logical_id, "Arn")
    }

    pub fn uri(&self) -> Value {
        get_att(self.logical_id, "RepositoryUri")
    }

    pub fn name_ref(&self) -> Value {
        ref_(self.logical_id)
    }

    /// The repository. `movable_tags` (the promotion tags) are excluded from immutability and
    /// protected from expiry. Retained on stack deletion: it holds the team's images.
    pub fn resource(&self, movable_tags: &[&str], keep_last: u32) -> Resource {
        let exclusions: Vec<Value> = movable_tags
            .iter()
            .map(|tag| {
                json!({
                    "ImageTagMutabilityExclusionFilterType": "WILDCARD",
                    "ImageTagMutabilityExclusionFilterValue": tag,
                })
            })
            .collect();
        Resource::new("AWS::ECR::Repository")
            .prop("RepositoryName", json!(self.name))
            .prop("ImageScanningConfiguration", json!({ "ScanOnPush": true }))
            .prop("ImageTagMutability", json!("IMMUTABLE_WITH_EXCLUSION"))
            .prop("ImageTagMutabilityExclusionFilters", Value::Array(exclusions))
            .prop("EncryptionConfiguration", json!({ "EncryptionType": "AES256" }))
            .prop("LifecyclePolicy", json!({ "LifecyclePolicyText": lifecycle_policy(movable_tags, keep_last) }))
            .retain_data()
            .skip_checkov(
                "CKV_AWS_136",
                "Images are encrypted at rest with AWS-managed keys (AES256), as required; a customer-managed KMS key is not.",
            )
            .skip_checkov(
                "CKV_AWS_51",
                "Tags are immutable except the promotion tags, which must move (IMMUTABLE_WITH_EXCLUSION); checkov only recognises IMMUTABLE.",
            )
    }

    /// Push images and read back their digests (the build exports the digest it pushed).
    pub fn grant_push(&self, role: &mut Role) {
        role.add(Statement::allow(
            "PushImages",
            &[
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:CompleteLayerUpload",
                "ecr:DescribeImages",
                "ecr:GetDownloadUrlForLayer",
                "ecr:InitiateLayerUpload",
                "ecr:PutImage",
                "ecr:UploadLayerPart",
            ],
            vec![self.arn()],
        ));
        role.add(registry_login());
    }

    /// Pull images (what CodePipeline's InspectorScan action does with the pipeline role).
    pub fn grant_pull(&self, role: &mut Role) {
        role.add(Statement::allow(
            "PullImages",
            &[
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
            ],
            vec![self.arn()],
        ));
        role.add(registry_login());
    }

    /// Read scan-on-push results (the scan gate). When the account has turned on ECR
    /// *enhanced* scanning, ECR answers DescribeImageScanFindings from Amazon Inspector and the
    /// caller also needs `inspector2:ListFindings` (ECR User Guide, "IAM permissions required
    /// for enhanced scanning"); shipline cannot know the registry's setting, so it grants both.
    pub fn grant_read_scan_findings(&self, role: &mut Role) {
        role.add(Statement::allow(
            "ReadScanFindings",
            &["ecr:DescribeImageScanFindings"],
            vec![self.arn()],
        ));
        role.add(Statement::on_any_resource(
            "ReadEnhancedScanFindings",
            &["inspector2:ListFindings"],
            "inspector2:ListFindings supports no resource-level permissions: the Service Authorization Reference lists no resource type for it (its findings are filtered by request parameters, not by ARN)",
        ));
    }

    /// Retag an existing image by digest: read its manifest, put it under a new tag, and look
    /// up which digest a tag currently points at.
    pub fn grant_retag(&self, role: &mut Role) {
        role.add(Statement::allow(
            "RetagImages",
            &["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:PutImage"],
            vec![self.arn()],
        ));
    }
}

/// `docker login` to the registry.
fn registry_login() -> Statement {
    Statement::on_any_resource(
            "AuthenticateToRegistry",
            &["ecr:GetAuthorizationToken"],
            "ecr:GetAuthorizationToken is registry-wide: the Service Authorization Reference lists no resource type for it",
        )
        .accepting(
            "CREDENTIALS_EXPOSURE",
            "docker login needs the 12-hour registry token GetAuthorizationToken returns; the token only carries this role's own ECR permissions",
        )
}

/// The lifecycle policy text. One rule per movable tag (priority 1..n) matches the image that
/// tag is on and never expires it (an image matched by a rule cannot be expired by a rule of
/// lower priority — ECR User Guide, "Lifecycle policy evaluation rules"); the last rule, with
/// the highest priority number as ECR requires of a `tagStatus: any` rule, keeps the newest
/// `keep_last` images.
pub fn lifecycle_policy(movable_tags: &[&str], keep_last: u32) -> String {
    let mut rules: Vec<Value> = movable_tags
        .iter()
        .enumerate()
        .map(|(i, tag)| {
            json!({
                "rulePriority": i + 1,
                "description": format!("Never expire the image tagged {tag}"),
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": [tag],
                    "countType": "imageCountMoreThan",
                    "countNumber": 1,
                },
                "action": { "type": "expire" },
            })
        })
        .collect();
    rules.push(json!({
        "rulePriority": movable_tags.len() + 1,
        "description": format!("Keep only the last {keep_last} images"),
        "selection": {
            "tagStatus": "any",
            "countType": "imageCountMoreThan",
            "countNumber": keep_last,
        },
        "action": { "type": "expire" },
    }));
    crate::template::embedded_json(json!({ "rules": rules }))
}
