//! The template `plan` and `deploy` send: synthesized, or read from `--template` (JSON or
//! YAML, pretty or compact), always sent as compact JSON; checked before any request (size,
//! the placeholder repository, the region's resource types); inline up to CloudFormation's
//! 51,200 bytes, else staged in S3 (see [`crate::staging`]).

use std::path::PathBuf;

use shipline_core::{Config, synthesize};

use super::{Aws, Failure};
use crate::printer::Printer;
use crate::staging::{Staging, TEMPLATE_BODY_LIMIT, TEMPLATE_URL_LIMIT, TemplateSource};

/// Where the template comes from and where a large one goes.
pub struct TemplateOptions {
    pub file: Option<PathBuf>,
    pub staging_bucket: Option<String>,
}

/// The template to send, after every check that needs no request.
pub async fn prepare(
    config: &Config,
    options: &TemplateOptions,
    aws: &Aws,
    printer: &Printer,
) -> Result<TemplateSource, Failure> {
    let document = match &options.file {
        None => synthesize(config).to_value(),
        Some(path) => std::fs::read_to_string(path)
            .map_err(|err| err.to_string())
            .and_then(|text| shipline_core::template::parse_document(&text))
            .map_err(|err| {
                Failure::BadInput(format!(
                    "{}: cannot read the template: {err}",
                    path.display()
                ))
            })?,
    };
    let body = serde_json::to_string(&document).expect("template JSON");
    if body.len() > TEMPLATE_URL_LIMIT {
        return Err(Failure::BadInput(format!(
            "the template is {} bytes as compact JSON; CloudFormation reads at most {TEMPLATE_URL_LIMIT} bytes even from S3 (nothing was sent to AWS)",
            body.len()
        )));
    }
    let Some(region) = &aws.region else {
        return Err(Failure::BadInput(
            "no AWS region: pass --region, set AWS_REGION, or set a region in your AWS profile (nothing was sent to AWS)".into(),
        ));
    };
    shipline_core::preflight::check(&document, region)
        .map_err(|err| Failure::BadInput(err.to_string()))?;
    if body.len() <= TEMPLATE_BODY_LIMIT {
        return Ok(TemplateSource::Body(body));
    }
    // --staging-bucket wins over [deploy] staging_bucket.
    let bucket = options
        .staging_bucket
        .as_deref()
        .or(config.deploy.staging_bucket.as_deref());
    let staged = Staging::new(&aws.sdk, region)
        .upload(bucket, &aws.session.stack, &body)
        .await?;
    printer.note(&format!(
        "the template is {} bytes, over CloudFormation's {TEMPLATE_BODY_LIMIT}-byte inline limit: uploaded to s3://{}/{}{} (staged templates expire after a day)",
        body.len(),
        staged.bucket,
        staged.key,
        if staged.created_bucket { ", a staging bucket created now" } else { "" },
    ));
    Ok(TemplateSource::Url(staged.url))
}
