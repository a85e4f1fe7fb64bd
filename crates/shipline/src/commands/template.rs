//! The template `plan` and `deploy` send: synthesized (sent as compact JSON), or read from
//! `--template` (JSON as compact JSON, YAML as written); checked before any request (size,
//! the policy rules unless `--no-validate`, the placeholder repository, the region's resource
//! types); inline up to CloudFormation's 51,200 bytes, else staged in S3 (see
//! [`crate::staging`]).

use shipline_core::{Config, synthesize};

use super::{Aws, Failure};
use crate::cli::TemplateArgs;
use crate::printer::Printer;
use crate::staging::{Staging, TEMPLATE_BODY_LIMIT, TEMPLATE_URL_LIMIT, TemplateSource};

/// `--template FILE`: JSON (pretty or compact) is sent as compact JSON; YAML is sent as written,
/// since CloudFormation reads YAML 1.1 (where `yes` is a boolean and `0755` an octal number)
/// and re-serializing it could change what it means. The document is read for the checks;
/// YAML with short-form tags (`!Ref`) is sent unchecked.
fn read(path: &std::path::Path) -> Result<(String, Option<serde_json::Value>), Failure> {
    let unreadable = |err: String| {
        Failure::BadInput(format!(
            "{}: cannot read the template: {err}",
            path.display()
        ))
    };
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
    if let Ok(document) = serde_json::from_str::<serde_json::Value>(&text) {
        shipline_core::template::parse_document(&text).map_err(unreadable)?;
        return Ok((
            serde_json::to_string(&document).expect("JSON"),
            Some(document),
        ));
    }
    if text.trim_start().starts_with('{') {
        return Err(unreadable(
            shipline_core::template::parse_document(&text).unwrap_err(),
        ));
    }
    match shipline_core::template::parse_document(&text) {
        Ok(document) => Ok((text, Some(document))),
        Err(_) if text.contains(" !") => Ok((text, None)),
        Err(err) => Err(unreadable(err)),
    }
}

/// The template to send, after every check that needs no request.
pub async fn prepare(
    config: &Config,
    options: &TemplateArgs,
    aws: &Aws,
    printer: &Printer,
) -> Result<TemplateSource, Failure> {
    if let Some(bucket) = &options.staging_bucket
        && !shipline_core::config::is_bucket_name(bucket)
    {
        return Err(Failure::BadInput(format!(
            "--staging-bucket {bucket:?} is not an S3 bucket name: {}",
            shipline_core::config::BUCKET_NAME_HELP
        )));
    }
    let (body, document) = match &options.file {
        None => {
            let document = synthesize(config).to_value();
            (
                serde_json::to_string(&document).expect("template JSON"),
                Some(document),
            )
        }
        Some(path) => read(path)?,
    };
    if body.len() > TEMPLATE_URL_LIMIT {
        return Err(Failure::BadInput(format!(
            "the template is {} bytes as it would be sent; CloudFormation reads at most {TEMPLATE_URL_LIMIT} bytes even from S3 (nothing was sent to AWS)",
            body.len()
        )));
    }
    // The policy rules (`shipline validate`): built-in pack and --rules.
    if options.no_validate {
        printer.note("note: --no-validate: the policy rules were not run");
    } else {
        let tags = config.effective_tags();
        let (tag_keys, source) = match &options.file {
            None => (
                tags.keys().map(String::as_str).collect(),
                "the synthesized template".to_owned(),
            ),
            Some(path) => (Vec::new(), path.display().to_string()),
        };
        super::validate::precheck(&body, &tag_keys, &options.rules, &source)?;
    }
    // `Aws::connect` refused a configuration without a region before any request.
    let region = &aws.region;
    if options.file.is_none() {
        // The account is asked for (one STS call, reused later) only when a target is an ARN.
        let account = if shipline_core::preflight::target_arns(config).is_empty() {
            None
        } else {
            Some(aws.account().await?)
        };
        shipline_core::preflight::check_targets(config, region, account)
            .map_err(|err| Failure::BadInput(err.to_string()))?;
    }
    match &document {
        Some(document) => {
            let warnings = shipline_core::preflight::check(document, region)
                .map_err(|err| Failure::BadInput(err.to_string()))?;
            for warning in warnings {
                printer.note(&warning);
            }
        }
        None => printer.note(
            "note: the template's YAML uses tags (e.g. !Ref) shipline does not read, so the placeholder and region checks were skipped; CloudFormation reads it as written",
        ),
    }
    if body.len() <= TEMPLATE_BODY_LIMIT {
        return Ok(TemplateSource::Body(body));
    }
    // --staging-bucket wins over [deploy] staging_bucket.
    let bucket = options
        .staging_bucket
        .as_deref()
        .or(config.deploy.staging_bucket.as_deref());
    let account = aws.account().await?;
    let staged = Staging::new(&aws.sdk, region, account)
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
