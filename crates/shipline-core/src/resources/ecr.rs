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
        registry_login(role);
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
        registry_login(role);
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

    /// The repository policy that lets Lambda pull the images of `functions` (function ARNs):
    /// Lambda fetches a container-image function's code as the `lambda.amazonaws.com` service
    /// principal, which the repository policy must allow (Lambda Developer Guide, "Create a
    /// Lambda function using a container image", Amazon ECR permissions), narrowed here to
    /// those functions by `aws:sourceArn`. Written in the template so a stack update never
    /// removes it (a policy Lambda added itself would be dropped by the next update).
    pub fn lambda_pull_policy(functions: Vec<Value>) -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "LambdaPullsTargetFunctionImages",
                "Effect": "Allow",
                "Principal": { "Service": "lambda.amazonaws.com" },
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Condition": { "ArnLike": { "aws:sourceArn": functions } },
            }],
        })
    }

    /// Read the layers of an image. AWS's "Lambda does not have permission to access the ECR
    /// image" article asks the caller that sets a function's image for `ecr:BatchGetImage` and
    /// `ecr:GetDownloadUrlForLayer` (explicitly for cross-account; its same-account example shows
    /// only the repository policy): granted on this repository so an update does not depend on
    /// which reading holds. (`BatchGetImage` comes with the retag grant.)
    pub fn grant_read_layers(&self, role: &mut Role) {
        role.add(Statement::allow(
            "ReadImageLayers",
            &["ecr:GetDownloadUrlForLayer"],
            vec![self.arn()],
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

/// `docker login` to the registry, once per role (pushing and pulling both need it).
fn registry_login(role: &mut Role) {
    if role
        .statements
        .iter()
        .any(|s| s.sid == "AuthenticateToRegistry")
    {
        return;
    }
    role.add(Statement::on_any_resource(
            "AuthenticateToRegistry",
            &["ecr:GetAuthorizationToken"],
            "ecr:GetAuthorizationToken is registry-wide: the Service Authorization Reference lists no resource type for it",
        )
        .accepting(
            "CREDENTIALS_EXPOSURE",
            "docker login needs the 12-hour registry token GetAuthorizationToken returns; the token only carries this role's own ECR permissions",
        ));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::RetainPolicy;

    fn repository() -> ImageRepository {
        ImageRepository {
            logical_id: "ImageRepository",
            name: "orders".to_owned(),
        }
    }

    fn arn() -> Value {
        json!({ "Fn::GetAtt": ["ImageRepository", "Arn"] })
    }

    fn rules(policy: &str) -> Vec<Value> {
        let policy: Value = serde_json::from_str(policy).expect("lifecycle policy is JSON");
        policy["rules"].as_array().expect("rules").clone()
    }

    #[test]
    fn commit_tags_are_immutable_except_one_exclusion_filter_per_movable_tag() {
        let resource = repository().resource(&["dev", "prod"], 20);
        assert_eq!(resource.type_name, "AWS::ECR::Repository");
        let props = &resource.properties;
        assert_eq!(props["RepositoryName"], "orders");
        assert_eq!(props["ImageTagMutability"], "IMMUTABLE_WITH_EXCLUSION");
        assert_eq!(
            props["ImageTagMutabilityExclusionFilters"],
            json!([
                {
                    "ImageTagMutabilityExclusionFilterType": "WILDCARD",
                    "ImageTagMutabilityExclusionFilterValue": "dev",
                },
                {
                    "ImageTagMutabilityExclusionFilterType": "WILDCARD",
                    "ImageTagMutabilityExclusionFilterValue": "prod",
                },
            ])
        );
        assert_eq!(
            props["ImageScanningConfiguration"],
            json!({ "ScanOnPush": true })
        );
        assert_eq!(
            props["EncryptionConfiguration"],
            json!({ "EncryptionType": "AES256" })
        );
    }

    #[test]
    fn the_repository_is_retained_and_carries_its_lifecycle_policy() {
        let resource = repository().resource(&["dev"], 7);
        assert_eq!(resource.deletion_policy, Some(RetainPolicy::Retain));
        assert_eq!(resource.update_replace_policy, Some(RetainPolicy::Retain));
        assert_eq!(
            resource.properties["LifecyclePolicy"],
            json!({ "LifecyclePolicyText": lifecycle_policy(&["dev"], 7) })
        );
    }

    #[test]
    fn each_movable_tag_is_protected_by_a_rule_ahead_of_the_keep_last_rule() {
        let rules = rules(&lifecycle_policy(&["dev", "staging", "prod"], 25));
        assert_eq!(rules.len(), 4);
        for (i, tag) in ["dev", "staging", "prod"].iter().enumerate() {
            assert_eq!(rules[i]["rulePriority"], i + 1);
            assert_eq!(
                rules[i]["selection"],
                json!({
                    "tagStatus": "tagged",
                    "tagPatternList": [tag],
                    "countType": "imageCountMoreThan",
                    "countNumber": 1,
                })
            );
        }
        assert_eq!(
            rules[3]["selection"],
            json!({
                "tagStatus": "any",
                "countType": "imageCountMoreThan",
                "countNumber": 25,
            })
        );
    }

    /// ECR User Guide, lifecycle policy properties: rule priorities are unique, and a rule
    /// with `tagStatus: any` must have the highest `rulePriority` value (it is evaluated last).
    #[test]
    fn the_tag_status_any_rule_has_the_highest_rule_priority_value() {
        for tags in [&[][..], &["dev"][..], &["dev", "test", "prod"][..]] {
            let rules = rules(&lifecycle_policy(tags, 10));
            let priorities: Vec<u64> = rules
                .iter()
                .map(|r| r["rulePriority"].as_u64().expect("integer priority"))
                .collect();
            let mut unique = priorities.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), priorities.len(), "{priorities:?}");
            let any: Vec<&Value> = rules
                .iter()
                .filter(|r| r["selection"]["tagStatus"] == "any")
                .collect();
            assert_eq!(any.len(), 1);
            assert_eq!(
                any[0]["rulePriority"].as_u64(),
                priorities.iter().copied().max(),
                "tags {tags:?}"
            );
        }
    }

    #[test]
    fn grant_push_adds_push_actions_on_the_repository_and_registry_login_on_any_resource() {
        let mut role = Role::new("BuildRole", "test", "codebuild.amazonaws.com");
        repository().grant_push(&mut role);
        assert_eq!(role.statements.len(), 2);
        assert_eq!(role.statements[0].sid, "PushImages");
        assert_eq!(
            role.statements[0].actions,
            [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:CompleteLayerUpload",
                "ecr:DescribeImages",
                "ecr:GetDownloadUrlForLayer",
                "ecr:InitiateLayerUpload",
                "ecr:PutImage",
                "ecr:UploadLayerPart",
            ]
        );
        assert_eq!(role.statements[0].resources, [arn()]);
        let login = &role.statements[1];
        assert_eq!(login.sid, "AuthenticateToRegistry");
        assert_eq!(login.actions, ["ecr:GetAuthorizationToken"]);
        assert_eq!(login.resources, [json!("*")]);
        assert_eq!(
            login.accepted_finding.as_ref().map(|f| f.issue),
            Some("CREDENTIALS_EXPOSURE")
        );
        let resource = role.into_resource();
        let ignore = &resource.metadata["parliament"]["ignore"];
        assert_eq!(ignore.as_array().map(Vec::len), Some(1));
        assert_eq!(ignore[0]["issue"], "CREDENTIALS_EXPOSURE");
        assert_eq!(ignore[0]["actions"], json!(["ecr:GetAuthorizationToken"]));
    }

    #[test]
    fn grant_pull_adds_only_layer_reads_and_registry_login() {
        let mut role = Role::new("PipelineRole", "test", "codepipeline.amazonaws.com");
        repository().grant_pull(&mut role);
        let sids: Vec<&str> = role.statements.iter().map(|s| s.sid.as_str()).collect();
        assert_eq!(sids, ["PullImages", "AuthenticateToRegistry"]);
        assert_eq!(
            role.statements[0].actions,
            [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
            ]
        );
        assert_eq!(role.statements[0].resources, [arn()]);
    }

    #[test]
    fn grant_read_scan_findings_adds_inspector_list_findings_on_any_resource() {
        let mut role = Role::new("PromotionRole", "test", "lambda.amazonaws.com");
        repository().grant_read_scan_findings(&mut role);
        assert_eq!(
            role.statements,
            vec![
                Statement::allow(
                    "ReadScanFindings",
                    &["ecr:DescribeImageScanFindings"],
                    vec![arn()],
                ),
                Statement::on_any_resource(
                    "ReadEnhancedScanFindings",
                    &["inspector2:ListFindings"],
                    "inspector2:ListFindings supports no resource-level permissions: the Service Authorization Reference lists no resource type for it (its findings are filtered by request parameters, not by ARN)",
                ),
            ]
        );
        assert_eq!(role.statements[1].resources, [json!("*")]);
    }

    #[test]
    fn grant_retag_reads_and_puts_images_in_this_repository_only() {
        let mut role = Role::new("PromotionRole", "test", "lambda.amazonaws.com");
        repository().grant_retag(&mut role);
        assert_eq!(
            role.statements,
            vec![Statement::allow(
                "RetagImages",
                &["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:PutImage"],
                vec![arn()],
            )]
        );
    }

    /// Regression: pushing and pulling both need `docker login`; granting both to one role
    /// panicked on a duplicate statement id.
    #[test]
    fn push_and_pull_on_one_role_log_in_once() {
        let mut role = Role::new("R", "d", "codebuild.amazonaws.com");
        let repo = ImageRepository {
            logical_id: "Repo",
            name: "orders".into(),
        };
        repo.grant_push(&mut role);
        repo.grant_pull(&mut role);
        let logins = role
            .statements
            .iter()
            .filter(|s| s.sid == "AuthenticateToRegistry")
            .count();
        assert_eq!(logins, 1);
    }
}
