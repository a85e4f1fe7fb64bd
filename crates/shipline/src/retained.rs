//! The data a deleted stack keeps — the ECR repository with its images and the versioned
//! artifact bucket with every object version — and removing it for `destroy --delete-data`.
//! Nothing here runs unless the user asked for it and confirmed; each function reports how
//! much it removed so nothing disappears silently. The only code that talks to S3.

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use serde::Serialize;

use crate::cloudformation::error::DeployError;

/// The clients for the two data-holding services.
pub struct DataStores {
    pub ecr: aws_sdk_ecr::Client,
    pub s3: aws_sdk_s3::Client,
}

impl DataStores {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        DataStores {
            ecr: aws_sdk_ecr::Client::new(config),
            s3: s3_client(config),
        }
    }
}

/// An S3 client for `config`; path-style addressing only against a local endpoint
/// (AWS_ENDPOINT_URL, e.g. moto), which has no per-bucket DNS names.
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

/// Which kind of data a retained resource holds.
/// Ordered: the repository is reported and deleted before the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    EcrRepository,
    S3Bucket,
}

impl DataKind {
    pub fn from_resource_type(resource_type: &str) -> Option<Self> {
        match resource_type {
            "AWS::ECR::Repository" => Some(DataKind::EcrRepository),
            "AWS::S3::Bucket" => Some(DataKind::S3Bucket),
            _ => None,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            DataKind::EcrRepository => "ECR repository",
            DataKind::S3Bucket => "S3 bucket",
        }
    }

    /// The manual commands that remove such a resource with its contents.
    pub fn remove_with(self, id: &str) -> String {
        match self {
            DataKind::EcrRepository => {
                format!("aws ecr delete-repository --force --repository-name {id}")
            }
            DataKind::S3Bucket => format!(
                "delete every object version and delete marker (e.g. in the S3 console: Empty), then: aws s3api delete-bucket --bucket {id}"
            ),
        }
    }
}

/// A data-holding resource of a stack, by physical id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataResource {
    pub kind: DataKind,
    pub id: String,
}

/// The number of images in a repository (for the confirmation question).
pub async fn count_images(stores: &DataStores, repository: &str) -> Result<usize, DeployError> {
    let mut pages = stores
        .ecr
        .list_images()
        .repository_name(repository)
        .into_paginator()
        .send();
    let mut count = 0;
    while let Some(page) = pages.next().await {
        count += page
            .map_err(|e| DeployError::from_sdk("ListImages", e))?
            .image_ids()
            .len();
    }
    Ok(count)
}

/// Deletes the resource with all its contents; returns how many images / object versions
/// went with it.
pub async fn delete(stores: &DataStores, resource: &DataResource) -> Result<usize, DeployError> {
    match resource.kind {
        DataKind::EcrRepository => {
            let images = count_images(stores, &resource.id).await?;
            stores
                .ecr
                .delete_repository()
                .repository_name(&resource.id)
                .force(true)
                .send()
                .await
                .map_err(|e| DeployError::from_sdk("DeleteRepository", e))?;
            Ok(images)
        }
        DataKind::S3Bucket => {
            let versions = empty_bucket(stores, &resource.id).await?;
            stores
                .s3
                .delete_bucket()
                .bucket(&resource.id)
                .send()
                .await
                .map_err(|e| DeployError::from_sdk("DeleteBucket", e))?;
            Ok(versions)
        }
    }
}

/// Deletes every object version and delete marker of a versioned bucket (a plain "delete
/// objects" would only add delete markers), at most 1,000 per DeleteObjects call (its limit).
async fn empty_bucket(stores: &DataStores, bucket: &str) -> Result<usize, DeployError> {
    let mut deleted = 0;
    loop {
        // Always list from the start: what was deleted is gone, so each page is new work.
        let page = stores
            .s3
            .list_object_versions()
            .bucket(bucket)
            .max_keys(1000)
            .send()
            .await
            .map_err(|e| DeployError::from_sdk("ListObjectVersions", e))?;
        let versions = page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                page.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            );
        let identifiers: Vec<ObjectIdentifier> = versions
            .filter_map(|(key, version)| {
                ObjectIdentifier::builder()
                    .key(key?)
                    .set_version_id(version.map(str::to_owned))
                    .build()
                    .ok()
            })
            .collect();
        if identifiers.is_empty() {
            return Ok(deleted);
        }
        for batch in identifiers.chunks(1000) {
            let request = Delete::builder()
                .set_objects(Some(batch.to_vec()))
                .quiet(true)
                .build()
                .expect("objects are set");
            let out = stores
                .s3
                .delete_objects()
                .bucket(bucket)
                .delete(request)
                .send()
                .await
                .map_err(|e| DeployError::from_sdk("DeleteObjects", e))?;
            if let Some(error) = out.errors().first() {
                return Err(DeployError::Aws {
                    operation: "DeleteObjects",
                    code: error.code().map(str::to_owned),
                    message: format!(
                        "{} of {} object versions could not be deleted, e.g. {}: {}",
                        out.errors().len(),
                        batch.len(),
                        error.key().unwrap_or("?"),
                        error.message().unwrap_or("no detail")
                    ),
                });
            }
            deleted += batch.len();
        }
    }
}
