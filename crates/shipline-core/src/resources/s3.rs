//! The pipeline's artifact bucket: versioned, SSE-S3 encrypted, private, TLS-only, objects
//! owned by the bucket owner, artifacts expiring after a configured number of days.

use serde_json::{Value, json};

use crate::iam::{Role, Statement};
use crate::template::Resource;
use crate::template::intrinsics::{get_att, ref_, sub};

/// Handle to the artifact bucket. The bucket is unnamed: CloudFormation generates a globally
/// unique name, so two stacks never collide on it.
#[derive(Debug, Clone)]
pub struct ArtifactBucket {
    pub logical_id: &'static str,
}

impl ArtifactBucket {
    pub fn arn(&self) -> Value {
        get_att(self.logical_id, "Arn")
    }

    pub fn name(&self) -> Value {
        ref_(self.logical_id)
    }

    fn objects_arn(&self) -> Value {
        sub(&format!("${{{}.Arn}}/*", self.logical_id))
    }

    /// The bucket. Objects expire after `expiration_days`; noncurrent versions (left behind
    /// by expiry, since the bucket is versioned) `expiration_days` after that; incomplete
    /// multipart uploads after one day. Retained on stack deletion: it holds build artifacts.
    pub fn resource(&self, expiration_days: u32) -> Resource {
        Resource::new("AWS::S3::Bucket")
            .prop("VersioningConfiguration", json!({ "Status": "Enabled" }))
            .prop(
                "BucketEncryption",
                json!({ "ServerSideEncryptionConfiguration": [
                    { "ServerSideEncryptionByDefault": { "SSEAlgorithm": "AES256" } }
                ]}),
            )
            .prop(
                "PublicAccessBlockConfiguration",
                json!({
                    "BlockPublicAcls": true,
                    "BlockPublicPolicy": true,
                    "IgnorePublicAcls": true,
                    "RestrictPublicBuckets": true,
                }),
            )
            .prop("OwnershipControls", json!({ "Rules": [{ "ObjectOwnership": "BucketOwnerEnforced" }] }))
            .prop(
                "LifecycleConfiguration",
                json!({ "Rules": [
                    {
                        "Id": "expire-artifacts",
                        "Status": "Enabled",
                        "ExpirationInDays": expiration_days,
                        "NoncurrentVersionExpiration": { "NoncurrentDays": expiration_days },
                        "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": 1 },
                    },
                    {
                        "Id": "remove-expired-delete-markers",
                        "Status": "Enabled",
                        "ExpiredObjectDeleteMarker": true,
                    },
                ]}),
            )
            .retain_data()
            .skip_checkov(
                "CKV_AWS_18",
                "Holds only transient pipeline artifacts that expire; access is auditable through CloudTrail data events, and a log bucket would need its own log bucket.",
            )
    }

    /// Bucket policy denying every request not made over TLS.
    pub fn tls_only_policy(&self) -> Resource {
        Resource::new("AWS::S3::BucketPolicy")
            .prop("Bucket", self.name())
            .prop(
                "PolicyDocument",
                json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": { "AWS": "*" },
                        "Action": "s3:*",
                        "Resource": [self.arn(), self.objects_arn()],
                        "Condition": { "Bool": { "aws:SecureTransport": "false" } },
                    }],
                }),
            )
    }

    /// Read and write artifacts (objects) and the bucket metadata CodePipeline and CodeBuild
    /// check before using an artifact store.
    pub fn grant_read_write(&self, role: &mut Role) {
        role.add(Statement::allow(
            "ReadWriteArtifacts",
            &["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
            vec![self.objects_arn()],
        ));
        role.add(Statement::allow(
            "InspectArtifactBucket",
            &[
                "s3:GetBucketAcl",
                "s3:GetBucketLocation",
                "s3:GetBucketVersioning",
            ],
            vec![self.arn()],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::RetainPolicy;

    fn bucket() -> ArtifactBucket {
        ArtifactBucket {
            logical_id: "ArtifactBucket",
        }
    }

    #[test]
    fn the_bucket_is_versioned_sse_s3_encrypted_private_and_owner_enforced() {
        let resource = bucket().resource(30);
        assert_eq!(resource.type_name, "AWS::S3::Bucket");
        let props = &resource.properties;
        assert_eq!(
            props["VersioningConfiguration"],
            json!({ "Status": "Enabled" })
        );
        assert_eq!(
            props["BucketEncryption"],
            json!({ "ServerSideEncryptionConfiguration": [
                { "ServerSideEncryptionByDefault": { "SSEAlgorithm": "AES256" } }
            ]})
        );
        assert_eq!(
            props["PublicAccessBlockConfiguration"],
            json!({
                "BlockPublicAcls": true,
                "BlockPublicPolicy": true,
                "IgnorePublicAcls": true,
                "RestrictPublicBuckets": true,
            })
        );
        assert_eq!(
            props["OwnershipControls"],
            json!({ "Rules": [{ "ObjectOwnership": "BucketOwnerEnforced" }] })
        );
        // Unnamed: CloudFormation generates a globally unique name.
        assert!(!props.contains_key("BucketName"));
    }

    #[test]
    fn lifecycle_expiry_uses_the_configured_days() {
        for days in [1, 17, 365] {
            let resource = bucket().resource(days);
            assert_eq!(
                resource.properties["LifecycleConfiguration"],
                json!({ "Rules": [
                    {
                        "Id": "expire-artifacts",
                        "Status": "Enabled",
                        "ExpirationInDays": days,
                        "NoncurrentVersionExpiration": { "NoncurrentDays": days },
                        "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": 1 },
                    },
                    {
                        "Id": "remove-expired-delete-markers",
                        "Status": "Enabled",
                        "ExpiredObjectDeleteMarker": true,
                    },
                ]}),
                "expiration_days = {days}"
            );
        }
    }

    #[test]
    fn the_bucket_is_retained_on_delete_and_on_replacement() {
        let resource = bucket().resource(30);
        assert_eq!(resource.deletion_policy, Some(RetainPolicy::Retain));
        assert_eq!(resource.update_replace_policy, Some(RetainPolicy::Retain));
        assert_eq!(resource.metadata["checkov"]["skip"][0]["id"], "CKV_AWS_18");
    }

    #[test]
    fn the_tls_only_policy_denies_insecure_transport_on_the_bucket_and_its_objects() {
        let policy = bucket().tls_only_policy();
        assert_eq!(policy.type_name, "AWS::S3::BucketPolicy");
        assert_eq!(
            policy.properties["Bucket"],
            json!({ "Ref": "ArtifactBucket" })
        );
        assert_eq!(
            policy.properties["PolicyDocument"],
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": { "AWS": "*" },
                    "Action": "s3:*",
                    "Resource": [
                        { "Fn::GetAtt": ["ArtifactBucket", "Arn"] },
                        { "Fn::Sub": "${ArtifactBucket.Arn}/*" },
                    ],
                    "Condition": { "Bool": { "aws:SecureTransport": "false" } },
                }],
            })
        );
    }

    #[test]
    fn grant_read_write_scopes_object_and_bucket_actions_to_their_own_arns() {
        let mut role = Role::new("BuildRole", "test", "codebuild.amazonaws.com");
        bucket().grant_read_write(&mut role);
        assert_eq!(
            role.statements,
            vec![
                Statement::allow(
                    "ReadWriteArtifacts",
                    &["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                    vec![json!({ "Fn::Sub": "${ArtifactBucket.Arn}/*" })],
                ),
                Statement::allow(
                    "InspectArtifactBucket",
                    &[
                        "s3:GetBucketAcl",
                        "s3:GetBucketLocation",
                        "s3:GetBucketVersioning",
                    ],
                    vec![json!({ "Fn::GetAtt": ["ArtifactBucket", "Arn"] })],
                ),
            ]
        );
    }
}
