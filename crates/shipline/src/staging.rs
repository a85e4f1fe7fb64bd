//! Templates too large to send inline. CloudFormation takes at most 51,200 bytes as
//! `TemplateBody` and 1 MB from S3 as `TemplateURL` (CloudFormation User Guide, "Understand
//! CloudFormation quotas"). Above the first limit, `plan` and `deploy` upload the template to a
//! staging bucket and pass its URL, as SAM, rain and CDK do with their managed buckets.
//!
//! The bucket is `--staging-bucket` if given (used as is), else `shipline-staging-<account>-<region>`,
//! created on first need with every public access blocked, bucket-owner-enforced ownership,
//! SSE-S3, a TLS-only policy and a 1-day expiry of staged objects; if configuring a new bucket
//! fails, the bucket is deleted again so nothing half-made is left. Uploads name the expected
//! bucket owner, so a bucket of the same name in another account is never written to.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, ObjectOwnership, OwnershipControls, OwnershipControlsRule,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
};
use serde_json::json;

use crate::cloudformation::error::DeployError;

/// The tag that marks a staging bucket shipline finished configuring.
const CONFIGURED_TAG: (&str, &str) = ("shipline:staging", "configured");

/// CloudFormation's limit on a template passed inline (`TemplateBody`), in bytes.
pub const TEMPLATE_BODY_LIMIT: usize = 51_200;

/// CloudFormation's limit on a template read from S3 (`TemplateURL`): 1 MB.
pub const TEMPLATE_URL_LIMIT: usize = 1_000_000;

/// How a template reaches CloudFormation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    Body(String),
    Url(String),
}

/// The client staging needs, where, and the account (the bucket's name and expected owner).
pub struct Staging {
    pub s3: aws_sdk_s3::Client,
    pub region: String,
    /// From `Aws::account`, the run's one STS `GetCallerIdentity`.
    pub account: String,
}

/// What was uploaded where (reported to the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    pub bucket: String,
    pub key: String,
    pub created_bucket: bool,
    pub url: String,
}

impl Staging {
    pub fn new(config: &aws_config::SdkConfig, region: &str, account: &str) -> Self {
        Staging {
            s3: crate::retained::s3_client(config),
            region: region.to_owned(),
            account: account.to_owned(),
        }
    }

    /// Uploads `body` for `stack` to `bucket` (or the default staging bucket, created if it
    /// does not exist yet) and returns where it went.
    pub async fn upload(
        &self,
        bucket: Option<&str>,
        stack: &str,
        body: &str,
    ) -> Result<Staged, DeployError> {
        let account = &self.account;
        let (bucket, created_bucket) = match bucket {
            Some(bucket) => (bucket.to_owned(), false),
            None => {
                let bucket = default_bucket(account, &self.region);
                let created = self.ensure_bucket(&bucket, account).await?;
                (bucket, created)
            }
        };
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let key = format!("{stack}/template-{millis}.json");
        self.s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .expected_bucket_owner(account)
            .content_type("application/json")
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .map_err(|e| staging_error(&bucket, DeployError::from_sdk("PutObject", e)))?;
        let url = object_url(&bucket, &self.region, &key);
        Ok(Staged {
            bucket,
            key,
            created_bucket,
            url,
        })
    }

    /// Creates and configures the default bucket unless it exists; true when it was created.
    /// The marker tag, written last, tells a finished bucket from one whose configuration was
    /// interrupted (or made by hand): those are configured now, before anything is staged.
    async fn ensure_bucket(&self, bucket: &str, account: &str) -> Result<bool, DeployError> {
        let tagging = self
            .s3
            .get_bucket_tagging()
            .bucket(bucket)
            .expected_bucket_owner(account)
            .send()
            .await;
        let configured = match tagging {
            Ok(out) => out
                .tag_set()
                .iter()
                .any(|t| t.key() == CONFIGURED_TAG.0 && t.value() == CONFIGURED_TAG.1),
            Err(err) => match err.raw_response().map(|r| r.status().as_u16()) {
                // NoSuchBucket: create it. NoSuchTagSet (also 404): it exists, unmarked.
                Some(404) if err.code() == Some("NoSuchTagSet") => false,
                Some(404) => return self.create(bucket).await.map(|()| true),
                Some(403) => {
                    return Err(staging_error(
                        bucket,
                        DeployError::Refused(format!(
                            "GetBucketTagging was refused (403): either your identity lacks s3:GetBucketTagging, or a bucket of this name belongs to another account ({})",
                            err.message().unwrap_or("access denied")
                        )),
                    ));
                }
                _ => {
                    return Err(staging_error(
                        bucket,
                        DeployError::from_sdk("GetBucketTagging", err),
                    ));
                }
            },
        };
        if !configured {
            self.configure(bucket).await?;
        }
        Ok(false)
    }

    /// Creates the bucket and configures it; if configuring fails, deletes it again (it is new
    /// and empty) and says so, or says it is left if that fails too.
    async fn create(&self, bucket: &str) -> Result<(), DeployError> {
        let mut create = self.s3.create_bucket().bucket(bucket);
        // us-east-1 takes no location constraint (S3 API Reference, CreateBucket).
        if self.region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(self.region.as_str()))
                    .build(),
            );
        }
        create
            .object_ownership(ObjectOwnership::BucketOwnerEnforced)
            .send()
            .await
            .map_err(|e| staging_error(bucket, DeployError::from_sdk("CreateBucket", e)))?;
        let Err(err) = self.configure(bucket).await else {
            return Ok(());
        };
        match self.s3.delete_bucket().bucket(bucket).send().await {
            Ok(_) => Err(err),
            Err(delete) => Err(DeployError::Refused(format!(
                "{err}. The new, empty bucket {bucket} could not be deleted either ({}); shipline configures it on the next run, or remove it with: aws s3api delete-bucket --bucket {bucket}",
                DeployError::from_sdk("DeleteBucket", delete)
            ))),
        }
    }

    async fn configure(&self, bucket: &str) -> Result<(), DeployError> {
        self.s3
            .put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .map_err(failed(bucket, "PutPublicAccessBlock"))?;
        self.s3
            .put_bucket_ownership_controls()
            .bucket(bucket)
            .ownership_controls(
                OwnershipControls::builder()
                    .rules(
                        OwnershipControlsRule::builder()
                            .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                            .build()
                            .expect("ownership rule"),
                    )
                    .build()
                    .expect("ownership controls"),
            )
            .send()
            .await
            .map_err(failed(bucket, "PutBucketOwnershipControls"))?;
        self.s3
            .put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(
                                ServerSideEncryptionByDefault::builder()
                                    .sse_algorithm(ServerSideEncryption::Aes256)
                                    .build()
                                    .expect("encryption default"),
                            )
                            .build(),
                    )
                    .build()
                    .expect("encryption configuration"),
            )
            .send()
            .await
            .map_err(failed(bucket, "PutBucketEncryption"))?;
        self.s3
            .put_bucket_policy()
            .bucket(bucket)
            .policy(tls_only_policy(bucket, &self.region).to_string())
            .send()
            .await
            .map_err(failed(bucket, "PutBucketPolicy"))?;
        self.s3
            .put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(
                BucketLifecycleConfiguration::builder()
                    .rules(
                        LifecycleRule::builder()
                            .id("expire-staged-templates")
                            .status(ExpirationStatus::Enabled)
                            .filter(LifecycleRuleFilter::builder().prefix("").build())
                            .expiration(LifecycleExpiration::builder().days(1).build())
                            .abort_incomplete_multipart_upload(
                                AbortIncompleteMultipartUpload::builder()
                                    .days_after_initiation(1)
                                    .build(),
                            )
                            .build()
                            .expect("lifecycle rule"),
                    )
                    .build()
                    .expect("lifecycle configuration"),
            )
            .send()
            .await
            .map_err(failed(bucket, "PutBucketLifecycleConfiguration"))?;
        // Last, so that only a fully configured bucket carries it.
        self.s3
            .put_bucket_tagging()
            .bucket(bucket)
            .tagging(
                Tagging::builder()
                    .tag_set(
                        Tag::builder()
                            .key(CONFIGURED_TAG.0)
                            .value(CONFIGURED_TAG.1)
                            .build()
                            .expect("tag"),
                    )
                    .build()
                    .expect("tagging"),
            )
            .send()
            .await
            .map_err(failed(bucket, "PutBucketTagging"))?;
        Ok(())
    }
}

/// `shipline-staging-<account>-<region>`: one per account and region, at most 44 characters.
pub fn default_bucket(account: &str, region: &str) -> String {
    format!("shipline-staging-{account}-{region}")
}

/// The object's virtual-hosted-style URL, the form CloudFormation's TemplateURL takes.
fn object_url(bucket: &str, region: &str, key: &str) -> String {
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://{bucket}.s3.{region}.{domain}/{key}")
}

/// Denies every request to the bucket not made over TLS.
fn tls_only_policy(bucket: &str, region: &str) -> serde_json::Value {
    let partition = if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [format!("arn:{partition}:s3:::{bucket}"), format!("arn:{partition}:s3:::{bucket}/*")],
            "Condition": { "Bool": { "aws:SecureTransport": "false" } },
        }],
    })
}

/// Maps an SDK error of `operation` on `bucket` to a [`staging_error`].
fn failed<E>(
    bucket: &str,
    operation: &'static str,
) -> impl FnOnce(aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> DeployError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    move |e| staging_error(bucket, DeployError::from_sdk(operation, e))
}

/// The template could not be staged: nothing was deployed.
fn staging_error(bucket: &str, cause: DeployError) -> DeployError {
    DeployError::Refused(format!(
        "could not stage the template in S3 bucket {bucket}: {cause}. Nothing was deployed; pass --staging-bucket with a bucket you may write to, or grant the missing permission"
    ))
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::Client as S3;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::*;
    use crate::cloudformation::tests::run;

    const BUCKET: &str = "shipline-staging-123456789012-eu-west-1";

    fn staging(s3: &[&Rule]) -> Staging {
        Staging {
            s3: mock_client!(aws_sdk_s3, RuleMode::Sequential, s3),
            region: "eu-west-1".to_owned(),
            account: "123456789012".to_owned(),
        }
    }

    fn status(code: u16, body: &'static str) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(code).unwrap(), SdkBody::from(body))
    }

    fn denied() -> HttpResponse {
        status(
            403,
            "<Error><Code>AccessDenied</Code><Message>not authorized to perform: s3:CreateBucket</Message></Error>",
        )
    }

    fn no_such_bucket() -> HttpResponse {
        status(
            404,
            "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>",
        )
    }

    /// The six calls that configure a bucket, each succeeding.
    fn configuration_rules() -> Vec<Rule> {
        use aws_sdk_s3::operation as op;
        vec![
            mock!(S3::put_public_access_block).then_output(|| op::put_public_access_block::PutPublicAccessBlockOutput::builder().build()),
            mock!(S3::put_bucket_ownership_controls).then_output(|| {
                op::put_bucket_ownership_controls::PutBucketOwnershipControlsOutput::builder().build()
            }),
            mock!(S3::put_bucket_encryption).then_output(|| {
                op::put_bucket_encryption::PutBucketEncryptionOutput::builder().build()
            }),
            mock!(S3::put_bucket_policy)
                .then_output(|| op::put_bucket_policy::PutBucketPolicyOutput::builder().build()),
            mock!(S3::put_bucket_lifecycle_configuration).then_output(|| {
                op::put_bucket_lifecycle_configuration::PutBucketLifecycleConfigurationOutput::builder()
                    .build()
            }),
            mock!(S3::put_bucket_tagging)
                .then_output(|| op::put_bucket_tagging::PutBucketTaggingOutput::builder().build()),
        ]
    }

    fn uploaded() -> Rule {
        mock!(S3::put_object)
            .match_requests(|r| {
                r.bucket() == Some(BUCKET)
                    && r.expected_bucket_owner() == Some("123456789012")
                    && r.key()
                        .is_some_and(|k| k.starts_with("orders-pipeline/template-"))
            })
            .then_output(|| aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build())
    }

    #[test]
    fn a_refused_bucket_creation_is_one_clear_error_and_nothing_is_uploaded() {
        let missing = mock!(S3::get_bucket_tagging).then_http_response(no_such_bucket);
        let create = mock!(S3::create_bucket).then_http_response(denied);
        let upload = uploaded();
        let staging = staging(&[&missing, &create, &upload]);
        let err = run(staging.upload(None, "orders-pipeline", "{}")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&format!("S3 bucket {BUCKET}")), "{text}");
        assert!(text.contains("CreateBucket: access denied"), "{text}");
        assert!(
            text.contains("Nothing was deployed") && text.contains("--staging-bucket"),
            "{text}"
        );
        assert_eq!(upload.num_calls(), 0);
    }

    #[test]
    fn a_new_bucket_that_cannot_be_configured_is_deleted_again_or_named_if_that_fails() {
        for delete_works in [true, false] {
            let missing = mock!(S3::get_bucket_tagging).then_http_response(no_such_bucket);
            let create = mock!(S3::create_bucket).then_output(|| {
                aws_sdk_s3::operation::create_bucket::CreateBucketOutput::builder().build()
            });
            let block = mock!(S3::put_public_access_block).then_http_response(denied);
            let delete = if delete_works {
                mock!(S3::delete_bucket).then_output(|| {
                    aws_sdk_s3::operation::delete_bucket::DeleteBucketOutput::builder().build()
                })
            } else {
                mock!(S3::delete_bucket).then_http_response(denied)
            };
            let staging = staging(&[&missing, &create, &block, &delete]);
            let err = run(staging.upload(None, "orders-pipeline", "{}"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("PutPublicAccessBlock"), "{err}");
            assert_eq!(
                delete.num_calls(),
                1,
                "the half-configured bucket is left behind"
            );
            assert_eq!(
                err.contains("could not be deleted either"),
                !delete_works,
                "{err}"
            );
        }
    }

    #[test]
    fn a_finished_bucket_is_reused_and_the_url_is_the_regional_object_url() {
        let marked = mock!(S3::get_bucket_tagging).then_output(|| {
            aws_sdk_s3::operation::get_bucket_tagging::GetBucketTaggingOutput::builder()
                .tag_set(
                    Tag::builder()
                        .key(CONFIGURED_TAG.0)
                        .value(CONFIGURED_TAG.1)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        });
        let upload = uploaded();
        let staging = staging(&[&marked, &upload]);
        let staged = run(staging.upload(None, "orders-pipeline", "{}")).unwrap();
        assert!(!staged.created_bucket);
        assert_eq!(
            staged.url,
            format!("https://{BUCKET}.s3.eu-west-1.amazonaws.com/{}", staged.key)
        );
        assert_eq!(upload.num_calls(), 1);
    }

    /// Regression: a bucket left half-configured (or made by hand) was reused as it was, without
    /// its TLS-only policy, encryption or expiry.
    #[test]
    fn an_unmarked_bucket_is_configured_before_anything_is_staged_in_it() {
        let unmarked = mock!(S3::get_bucket_tagging).then_http_response(|| {
            status(404, "<Error><Code>NoSuchTagSet</Code><Message>The TagSet does not exist</Message></Error>")
        });
        let configuration = configuration_rules();
        let upload = uploaded();
        let mut rules: Vec<&Rule> = vec![&unmarked];
        rules.extend(configuration.iter());
        rules.push(&upload);
        let staging = staging(&rules);
        let staged = run(staging.upload(None, "orders-pipeline", "{}")).unwrap();
        assert!(!staged.created_bucket);
        assert!(configuration.iter().all(|rule| rule.num_calls() == 1));
        assert_eq!(upload.num_calls(), 1);
    }

    #[test]
    fn a_bucket_of_another_account_is_named_as_a_possible_cause() {
        let foreign = mock!(S3::get_bucket_tagging).then_http_response(denied);
        let err = run(staging(&[&foreign]).upload(None, "orders-pipeline", "{}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("belongs to another account"), "{err}");
    }
}
