//! Semantic checks on a parsed [`Config`]: names against the strictest AWS naming rule that
//! applies to them, numbers against the ranges AWS accepts. The first problem found is returned.

use super::error::Problem;
use super::locate::KeyPath;
use super::{Config, ScanGate, Severity, Stage, Trigger};

/// Retention periods CloudWatch Logs accepts (PutRetentionPolicy `retentionInDays`).
pub const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Maximum length of the app name: the longest derived name, the stack-created connection
/// `<name>-<region code>` (code at most 7 characters), must fit CodeConnections' 32.
pub const APP_NAME_MAX: usize = 24;

/// Environment variables shipline's buildspec sets itself; a user value would break the build.
const RESERVED_BUILD_VARIABLES: [&str; 6] = [
    "REPOSITORY_URI",
    "REPOSITORY_NAME",
    "DOCKERFILE",
    "BUILD_CONTEXT",
    "COMMIT_ID",
    "IMAGE_TAG",
];

pub(super) fn problem(key: impl Into<KeyPath>, message: String, help: &str) -> Problem {
    Problem {
        key: key.into(),
        message,
        help: help.to_owned(),
    }
}

pub fn validate(config: &Config) -> Result<(), Problem> {
    app_name(&config.app.name)?;
    repository(&config.source.repository)?;
    branch(&config.source.branch)?;
    if let Some(arn) = &config.source.connection_arn {
        connection_arn(arn)?;
    }
    file_paths(config)?;
    in_range(
        "webhook.reserved_concurrency",
        config.webhook.reserved_concurrency,
        0,
        1000,
        "0 reserves none; the receiver handles one delivery in milliseconds, so a few are plenty",
    )?;
    stages(config)?;
    if let Some(bucket) = &config.deploy.staging_bucket {
        bucket_name("deploy.staging_bucket", bucket)?;
    }
    scan(config)?;
    notifications(config)?;
    repo_path("build.dockerfile", &config.build.dockerfile)?;
    repo_path("build.context", &config.build.context)?;
    for (name, value) in &config.build.environment {
        build_variable(name, value)?;
    }
    in_range(
        "artifacts.expiration_days",
        config.artifacts.expiration_days,
        1,
        3650,
        "S3 lifecycle expiration needs at least 1 day; shipline caps it at 3650 (10 years)",
    )?;
    in_range(
        "images.keep_last",
        config.images.keep_last,
        1,
        10_000,
        "ECR lifecycle rules keep at least 1 image; a repository holds at most 10000 images by default",
    )?;
    if !LOG_RETENTION_DAYS.contains(&config.logs.retention_days) {
        return Err(problem(
            "logs.retention_days",
            format!(
                "{} is not a retention period CloudWatch Logs accepts",
                config.logs.retention_days
            ),
            "use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
        ));
    }
    tags(config)
}

/// ECR accepts at most 5 tag-mutability exclusion filters (the CloudFormation schema of
/// `AWS::ECR::Repository`, `ImageTagMutabilityExclusionFilters` maxItems), one per stage tag.
pub const MAX_STAGES: usize = 5;

/// Stage names are pipeline stage names and image tags: the intersection of both rules
/// (CodePipeline `[A-Za-z0-9.@_-]{1,100}`, Docker tags `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`),
/// not one of the pipeline's own stages or a full commit id (commit tags must stay immutable).
/// A stage with an approval is preceded by `Approve-<name>`, which must itself fit
/// CodePipeline's 100 characters and not collide; and since stage names differing only in case
/// are easily confused in the console and in `shipline rollback --stage`, they are refused.
fn stages(config: &Config) -> Result<(), Problem> {
    if config.stages.is_empty() || config.stages.len() > MAX_STAGES {
        return Err(problem(
            "stages",
            format!("{} promotion stages configured", config.stages.len()),
            &format!(
                "configure 1 to {MAX_STAGES} [[stages]] (ECR allows 5 tag-mutability exclusions, one per stage tag)"
            ),
        ));
    }
    let stages = config.promotion_stages();
    for (i, stage) in stages.iter().enumerate() {
        let key = format!("stages[{i}].name");
        let name = stage.name.as_str();
        let max_len = if stage.approval {
            STAGE_NAME_MAX - APPROVAL_PREFIX.len()
        } else {
            STAGE_NAME_MAX
        };
        let well_formed = !name.is_empty()
            && name.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !well_formed || name.len() > max_len {
            return Err(problem(
                &key,
                format!("{name:?} is not a valid stage name"),
                &format!(
                    "use 1-{max_len} letters, digits, '_', '.', '-', starting with a letter, digit or '_' (the name is the pipeline stage and the image tag{})",
                    if stage.approval {
                        "; its approval stage `Approve-<name>` must fit CodePipeline's 100 characters"
                    } else {
                        ""
                    }
                ),
            ));
        }
        let reserved = ["Source", "Build", "Scan"]
            .iter()
            .any(|r| r.eq_ignore_ascii_case(name))
            || name.len() > APPROVAL_PREFIX.len()
                && name[..APPROVAL_PREFIX.len()].eq_ignore_ascii_case(APPROVAL_PREFIX);
        let commit_like = name.len() == 40 && name.chars().all(|c| c.is_ascii_hexdigit());
        if reserved || commit_like {
            return Err(problem(
                &key,
                format!("{name:?} is reserved"),
                "Source, Build and Scan are the pipeline's own stages, Approve-<stage> names its approval stages, and 40-hex-digit tags are commit tags; choose another name",
            ));
        }
        if let Some(earlier) = stages[..i]
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
        {
            return Err(problem(
                &key,
                if earlier.name == name {
                    format!("stage {name:?} is configured twice")
                } else {
                    format!(
                        "stage {name:?} differs from stage {:?} only in case",
                        earlier.name
                    )
                },
                "give each [[stages]] entry a different name",
            ));
        }
        deploy_target(config, i)?;
    }
    Ok(())
}

/// Stage `i`'s `[stages.deploy]`: a target when the table is there, and no ECS service that
/// an earlier stage already deploys to (two stages would fight over one service).
fn deploy_target(config: &Config, i: usize) -> Result<(), Problem> {
    let Some(deploy) = &config.stages[i].deploy else {
        return Ok(());
    };
    let stages = config.promotion_stages();
    let earlier = &stages[..i];
    match (&deploy.ecs, &deploy.lambda) {
        (None, None) => Err(problem(
            format!("stages[{i}].deploy"),
            "[stages.deploy] names no target".into(),
            "add `ecs = { cluster = \"<cluster>\", service = \"<service>\", container = \"<container>\" }` or `lambda = { function = \"<function>\", alias = \"<alias>\" }`, or remove [stages.deploy]",
        )),
        (Some(_), Some(_)) => Err(problem(
            format!("stages[{i}].deploy.lambda"),
            "a stage deploys to one target, but both `ecs` and `lambda` are set".into(),
            "keep one of them: each stage deploys its digest to one ECS service or one Lambda function",
        )),
        (Some(ecs), None) => {
            super::ecs::validate(i, ecs)?;
            let same = |s: &&Stage| {
                s.ecs.as_ref().is_some_and(|e| {
                    e.cluster_name() == ecs.cluster_name() && e.service_name() == ecs.service_name()
                })
            };
            match earlier.iter().find(same) {
                Some(other) => Err(problem(
                    format!("stages[{i}].deploy.ecs.service"),
                    format!(
                        "service {:?} in cluster {:?} is already the target of stage {:?}",
                        ecs.service_name(),
                        ecs.cluster_name(),
                        other.name
                    ),
                    "give each stage its own service (one per environment)",
                )),
                None => Ok(()),
            }
        }
        (None, Some(lambda)) => {
            super::lambda::validate(i, lambda)?;
            let same = |s: &&Stage| {
                s.lambda
                    .as_ref()
                    .is_some_and(|l| l.function_name() == lambda.function_name())
            };
            match earlier.iter().find(same) {
                Some(other) => Err(problem(
                    format!("stages[{i}].deploy.lambda.function"),
                    format!(
                        "function {:?} is already the target of stage {:?}",
                        lambda.function_name(),
                        other.name
                    ),
                    "give each stage its own function (one per environment)",
                )),
                None => Ok(()),
            }
        }
    }
}

/// A deploy target's `wait_minutes`: the Deploy action keeps answering "in progress" for
/// up to 24 hours, after which CodePipeline fails a Lambda invoke action (CodePipeline User
/// Guide, "Quotas in AWS CodePipeline").
pub(super) fn deploy_wait(key: &str, minutes: u32) -> Result<(), Problem> {
    in_range(
        key,
        minutes,
        1,
        1440,
        "CodePipeline fails a Lambda invoke action after 24 hours",
    )
}

/// CodePipeline's limit on stage names (`[A-Za-z0-9.@_-]{1,100}`, CreatePipeline API).
const STAGE_NAME_MAX: usize = 100;

/// The prefix of a stage's approval stage (`Approve-production`).
pub const APPROVAL_PREFIX: &str = "Approve-";

fn scan(config: &Config) -> Result<(), Problem> {
    let scan = &config.scan;
    in_range(
        "scan.wait_minutes",
        scan.wait_minutes,
        1,
        60,
        "basic scans usually finish within minutes; the gate fails when the result takes longer",
    )?;
    in_range(
        "scan.max_findings",
        scan.max_findings,
        0,
        10_000,
        "0 blocks any finding at or above `severity`",
    )?;
    if scan.gate == ScanGate::Inspector {
        if !scan.ignore.is_empty() {
            return Err(problem(
                "scan.ignore",
                "ignored vulnerability ids are not supported with gate = \"inspector\"".to_owned(),
                "CodePipeline's InspectorScan action has only per-severity thresholds: remove `ignore`, or use gate = \"basic\"",
            ));
        }
        if scan.severity == Severity::Informational {
            return Err(problem(
                "scan.severity",
                "INFORMATIONAL has no InspectorScan threshold".to_owned(),
                "use LOW, MEDIUM, HIGH or CRITICAL with gate = \"inspector\"",
            ));
        }
    }
    let mut total = 0;
    for (i, id) in scan.ignore.iter().enumerate() {
        total += id.len() + 1;
        let valid = (1..=128).contains(&id.len())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
        if !valid {
            return Err(problem(
                format!("scan.ignore[{i}]"),
                format!("{id:?} is not a vulnerability id"),
                "use ids as ECR reports them, e.g. \"CVE-2024-12345\" (letters, digits, '-', '_', '.', ':')",
            ));
        }
    }
    if total > 3000 {
        return Err(problem(
            "scan.ignore",
            format!("the ignore list is {total} characters long"),
            "keep it under 3000 characters (it travels in the gate function's environment, 4 KB in all); fix or rebuild the images instead of ignoring that many",
        ));
    }
    Ok(())
}

fn notifications(config: &Config) -> Result<(), Problem> {
    for (i, email) in config.notifications.emails.iter().enumerate() {
        let valid = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c == ',')
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            });
        if !valid {
            return Err(problem(
                format!("notifications.emails[{i}]"),
                format!("{email:?} is not an email address"),
                "use one address per entry, e.g. \"team@example.com\"",
            ));
        }
    }
    let on = &config.notifications.on;
    if let Some(i) = (1..on.len()).find(|&i| on[..i].contains(&on[i])) {
        return Err(problem(
            format!("notifications.on[{i}]"),
            format!("{} is listed twice", on[i].as_str()),
            "list each state once",
        ));
    }
    Ok(())
}

/// Whether `name` is an S3 general purpose bucket name (S3 User Guide, "General purpose bucket
/// naming rules"): 3-63 lowercase letters, digits, `.` and `-`, starting and ending with a
/// letter or digit, no `..`, not an IP address, none of the reserved prefixes (`xn--`,
/// `sthree-`, `amzn-s3-demo-`) or suffixes (`-s3alias`, `--ol-s3`, `--x-s3`, `--table-s3`).
pub fn is_bucket_name(name: &str) -> bool {
    let edge = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..=63).contains(&name.len())
        && name.starts_with(edge)
        && name.ends_with(edge)
        && name.chars().all(|c| edge(c) || c == '.' || c == '-')
        && !name.contains("..")
        && name.parse::<std::net::Ipv4Addr>().is_err()
        && !["xn--", "sthree-", "amzn-s3-demo-"]
            .iter()
            .any(|p| name.starts_with(p))
        && !["-s3alias", "--ol-s3", "--x-s3", "--table-s3"]
            .iter()
            .any(|p| name.ends_with(p))
}

/// The help for a name [`is_bucket_name`] refuses.
pub const BUCKET_NAME_HELP: &str = "use 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit (S3 bucket naming rules)";

fn bucket_name(key: &str, name: &str) -> Result<(), Problem> {
    if is_bucket_name(name) {
        Ok(())
    } else {
        Err(problem(
            key,
            format!("{name:?} is not an S3 bucket name"),
            BUCKET_NAME_HELP,
        ))
    }
}

fn in_range(key: &str, value: u32, min: u32, max: u32, why: &str) -> Result<(), Problem> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(problem(
        key,
        format!("{value} is out of range"),
        &format!("use a whole number from {min} to {max}: {why}"),
    ))
}

/// App names appear in the ECR repository name (lowercase only), CodeBuild project, pipeline,
/// Lambda function and log group names: lowercase letters, digits and single hyphens.
fn app_name(name: &str) -> Result<(), Problem> {
    let help = "use 2-24 lowercase letters, digits and single hyphens, starting with a letter and ending with a letter or digit (ECR repository names are lowercase; `<name>-<region code>` must fit the 32-character connection name limit)";
    let valid = (2..=APP_NAME_MAX).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.contains("--");
    if valid {
        Ok(())
    } else {
        Err(problem(
            "app.name",
            format!("{name:?} is not a valid app name"),
            help,
        ))
    }
}

/// GitHub `owner/repo`: owner 1-39 alphanumerics or single inner hyphens; repo 1-100 of
/// letters, digits, `.`, `-`, `_`, not `.` or `..`, and not ending in `.git` (GitHub strips
/// that suffix from clone URLs, so it never names a repository: the Source action would look
/// for `orders.git` and the webhook rule would never match). A clone URL is recognised and
/// the `owner/repo` it names is suggested.
fn repository(full_name: &str) -> Result<(), Problem> {
    let help = "use the GitHub `owner/repo` form, e.g. \"acme/orders\" (owner: letters, digits and inner hyphens, up to 39; repo: letters, digits, '.', '-', '_', up to 100)";
    let bad = |help: &str| {
        Err(problem(
            "source.repository",
            format!("{full_name:?} is not a GitHub repository id"),
            help,
        ))
    };
    if let Some(suggested) = owner_repo_of_url(full_name) {
        return bad(&format!(
            "write the repository as `owner/repo`, not a URL: \"{suggested}\""
        ));
    }
    let Some((owner, repo)) = full_name.split_once('/') else {
        return bad(help);
    };
    let owner_ok = (1..=39).contains(&owner.len())
        && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !owner.starts_with('-')
        && !owner.ends_with('-')
        && !owner.contains("--");
    let repo_ok = (1..=100).contains(&repo.len())
        && repo
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && repo != "."
        && repo != "..";
    if owner_ok && repo_ok && repo.to_ascii_lowercase().ends_with(".git") {
        return bad(&format!(
            "drop the .git suffix: \"{owner}/{}\"",
            &repo[..repo.len() - 4]
        ));
    }
    if owner_ok && repo_ok {
        Ok(())
    } else {
        bad(help)
    }
}

/// `owner/repo` of a GitHub clone or web URL (`https://github.com/acme/orders.git`,
/// `git@github.com:acme/orders`, with or without a trailing slash), if `text` is one.
pub fn owner_repo_of_url(text: &str) -> Option<String> {
    let rest = [
        "https://github.com/",
        "http://github.com/",
        "git@github.com:",
        "ssh://git@github.com/",
        "github.com/",
    ]
    .iter()
    .find_map(|prefix| text.strip_prefix(prefix))?;
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix(".git").unwrap_or(rest);
    let mut parts = rest.split('/');
    let (owner, repo) = (parts.next()?, parts.next()?);
    (!owner.is_empty() && !repo.is_empty()).then(|| format!("{owner}/{repo}"))
}

/// A git branch name (the subset of `git check-ref-format --branch` rules that matter here).
fn branch(name: &str) -> Result<(), Problem> {
    let valid = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(['-', '/', '.'])
        && !name.ends_with(['/', '.'])
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && name
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && !"~^:?*[\\\"'`${}!".contains(c))
        // git: no component may start with `.` or end with `.lock`.
        && name
            .split('/')
            .all(|part| !part.starts_with('.') && !part.ends_with(".lock"));
    if let Some(short) = name.strip_prefix("refs/heads/") {
        // The Source action takes a branch name and the push rule prefixes `refs/heads/`
        // itself; a full ref would match `refs/heads/refs/heads/...`, i.e. never.
        return Err(problem(
            "source.branch",
            format!("{name:?} is a full git ref"),
            &format!("write the branch name only: \"{short}\""),
        ));
    }
    if name.starts_with("refs/") {
        return Err(problem(
            "source.branch",
            format!("{name:?} is not a branch"),
            "the pipeline follows a branch: write its name, e.g. \"main\" (tags and other refs cannot be followed)",
        ));
    }
    if valid {
        Ok(())
    } else {
        Err(problem(
            "source.branch",
            format!("{name:?} is not a valid branch name"),
            "use a git branch name such as \"main\" or \"release/v2\": no spaces, quotes, `..`, no part starting with '.' or ending in .lock, and none of ~ ^ : ? * [ \\ $ { } ! (CodePipeline reads braces and ! as glob syntax in trigger filters)",
        ))
    }
}

/// `arn:<partition>:codeconnections|codestar-connections:<region>:<account>:connection/<uuid>`.
fn connection_arn(arn: &str) -> Result<(), Problem> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov")
        && matches!(parts[2], "codeconnections" | "codestar-connections")
        && !parts[3].is_empty()
        && parts[3]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].strip_prefix("connection/").is_some_and(|id| {
            id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        });
    if valid {
        Ok(())
    } else {
        Err(problem(
            "source.connection_arn",
            format!("{arn:?} is not a CodeConnections connection ARN"),
            "copy the ARN from the console (Developer Tools > Settings > Connections), e.g. \"arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-1111-2222-3333-444455556666\", or remove the key to let the stack create a connection",
        ))
    }
}

/// Paths inside the repository, passed to `docker build` through environment variables:
/// relative, without `..`, in a conservative character set, and no part starting with `-`
/// (docker would read `-` as "context from stdin" and `--pull` as a flag).
fn repo_path(key: &str, path: &str) -> Result<(), Problem> {
    let valid = !path.is_empty()
        && path.len() <= 1024
        && !path.starts_with('/')
        && !path
            .split('/')
            .any(|segment| segment == ".." || segment.starts_with('-'))
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'));
    if valid {
        Ok(())
    } else {
        Err(problem(
            key,
            format!("{path:?} is not a usable path inside the repository"),
            "use a path relative to the repository root, e.g. \"Dockerfile\" or \"services/api\", made of letters, digits, '.', '-', '_' and '/', without '..' and with no part starting with '-' (docker would read it as stdin or a flag)",
        ))
    }
}

fn build_variable(name: &str, value: &str) -> Result<(), Problem> {
    let key = || KeyPath::from("build.environment").key(name);
    let valid_name = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        return Err(problem(
            key(),
            format!("{name:?} is not a valid environment variable name"),
            "use letters, digits and '_', not starting with a digit",
        ));
    }
    if name.starts_with("CODEBUILD_") || RESERVED_BUILD_VARIABLES.contains(&name) {
        return Err(problem(
            key(),
            format!("{name} is set by CodeBuild or by shipline's buildspec"),
            "rename the variable: names starting with CODEBUILD_ and REPOSITORY_URI, REPOSITORY_NAME, DOCKERFILE, BUILD_CONTEXT, COMMIT_ID, IMAGE_TAG are reserved",
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n'))
    {
        // cfn-lint (and YAML 1.1, CloudFormation's reading) refuse DEL and the C0/C1 controls.
        return Err(problem(
            key(),
            format!("the value holds the control character U+{:04X}", c as u32),
            "remove it: templates may carry tabs and newlines, not other control characters",
        ));
    }
    if value.len() > 4096 {
        return Err(problem(
            key(),
            format!("the value is {} bytes long", value.len()),
            "keep plain-text build variables under 4096 bytes; store larger values in SSM Parameter Store",
        ));
    }
    Ok(())
}

/// Tag keys and values as every type the tag pass tags accepts them (the CloudFormation
/// resource schemas cfn-lint ships): the strictest limits are `AWS::ECR::Repository`'s, keys
/// 1-127 and values 1-255 characters (every other type allows 128/256 and empty values), and
/// `AWS::IAM::Role`'s character class `[\p{L}\p{Z}\p{N}_.:/=+\-@]` (letters, separators,
/// numbers by Unicode general category: Rust's `is_alphanumeric` also admits combining marks,
/// which IAM refuses). No `aws:` prefix (reserved by AWS). IAM tag keys are case-insensitive
/// (IAM User Guide, "Tagging IAM resources"), so two keys differing only in case collide on
/// the roles. At most 50 tags per resource (IAM and ECR: maxItems 50).
fn tags(config: &Config) -> Result<(), Problem> {
    use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};
    // \p{Z} narrowed to space separators: IAM's class also admits the line and paragraph
    // separators U+2028/U+2029, which break lines in YAML 1.1 and belong in no tag.
    let allowed = |c: char| {
        matches!(
            c.general_category_group(),
            GeneralCategoryGroup::Letter | GeneralCategoryGroup::Number
        ) || c.general_category() == GeneralCategory::SpaceSeparator
            || "_.:/=+-@".contains(c)
    };
    let effective = config.effective_tags();
    for (key, value) in &config.tags {
        let path = || KeyPath::from("tags").key(key);
        if key.is_empty() || key.chars().count() > 127 || !key.chars().all(allowed) {
            return Err(problem(
                path(),
                format!("{key:?} is not a valid tag key"),
                "use 1-127 letters, digits, spaces and _ . : / = + - @ (ECR's limit is 127; accents must be precomposed letters, not combining marks)",
            ));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(problem(
                path(),
                format!("{key:?} uses the reserved aws: prefix"),
                "choose a key without the aws: prefix",
            ));
        }
        if value.is_empty() || value.chars().count() > 255 || !value.chars().all(allowed) {
            return Err(problem(
                path(),
                format!("{value:?} is not a valid tag value"),
                "use 1-255 letters, digits, spaces and _ . : / = + - @ (the ECR repository refuses empty values and values over 255 characters; accents must be precomposed letters, not combining marks)",
            ));
        }
        if let Some(other) = effective
            .keys()
            .find(|other| *other != key && other.to_lowercase() == key.to_lowercase())
        {
            return Err(problem(
                path(),
                format!("tag {key:?} and tag {other:?} differ only in case"),
                &format!(
                    "IAM tag keys are case-insensitive, so the roles cannot carry both: keep one spelling (\"{other}\" is {})",
                    if config.tags.contains_key(other) {
                        "also in [tags]"
                    } else {
                        "a default tag; override it with that exact spelling"
                    }
                ),
            ));
        }
    }
    let count = effective.len();
    if count > 50 {
        return Err(problem(
            "tags",
            format!("{count} tags, counting the defaults"),
            "IAM roles and the ECR repository take at most 50 tags; remove some",
        ));
    }
    Ok(())
}

/// File-path filters belong to the native trigger; the webhook rule filters on branch only.
fn file_paths(config: &Config) -> Result<(), Problem> {
    let paths = &config.source.file_paths;
    if config.source.trigger == Trigger::Webhook
        && !(paths.include.is_empty() && paths.exclude.is_empty())
    {
        return Err(problem(
            "source.file_paths",
            "file-path filters only apply to the native trigger".to_owned(),
            "set `trigger = \"connection\"` in [source] to filter pushes by path, or remove [source.file_paths]",
        ));
    }
    for (key, list) in [
        ("source.file_paths.include", &paths.include),
        ("source.file_paths.exclude", &paths.exclude),
    ] {
        if list.len() > 8 {
            return Err(problem(
                key,
                format!("{} patterns", list.len()),
                "CodePipeline accepts at most 8 file-path patterns per list",
            ));
        }
        if let Some(bad) = list.iter().find(|p| p.is_empty() || p.len() > 255) {
            return Err(problem(
                key,
                format!("{bad:?} is not a usable glob pattern"),
                "use 1-255 characters, e.g. \"src/**\"",
            ));
        }
    }
    Ok(())
}
