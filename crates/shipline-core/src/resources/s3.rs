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
