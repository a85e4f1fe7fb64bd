//! Checks a template must pass before `plan` or `deploy` sends it to AWS: it is not the
//! embedded placeholder pipeline, and the target region offers every resource type it uses
//! (see [`crate::regions`]). Each failure says which config avoids it. Pure functions over the
//! template document: the binary calls [`check`] once it knows the region, before any request.

use std::fmt;

use serde_json::Value;

use crate::config::{Config, PLACEHOLDER_REPOSITORY};
use crate::regions::{self, RegionError};

/// Why a template must not be deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreflightError {
    /// The Source action follows the embedded default's placeholder repository.
    Placeholder,
    /// The region lacks a resource type the template uses (or shipline cannot tell).
    Region(RegionError),
    /// A stage's target (ECS service, Lambda function) is written as an ARN in another region
    /// than the stack's: the delivery function deploys in its own region, where it does not
    /// exist.
    TargetElsewhere {
        stage: String,
        target_region: String,
        region: String,
    },
    /// A stage's target is written as an ARN in another account than the one deploying:
    /// cross-account deploys are not supported (the grants name the stack's own account).
    TargetInAnotherAccount {
        stage: String,
        target_account: String,
        account: String,
    },
}

impl fmt::Display for PreflightError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PreflightError::Placeholder => write!(
                f,
                "the pipeline follows the placeholder repository `{PLACEHOLDER_REPOSITORY}` of the \
                 embedded default; write a shipline.toml with `[source] repository = \"owner/repo\"` \
                 (your GitHub repository) before deploying (nothing was sent to AWS)"
            ),
            PreflightError::Region(err @ RegionError::Missing { types, .. }) => {
                write!(f, "{err} (nothing was sent to AWS)")?;
                let advice: Vec<&str> = types.iter().filter_map(|t| avoided_by(t)).collect();
                if advice.len() == types.len() {
                    write!(f, "\nor keep the region and change shipline.toml:")?;
                    for line in advice {
                        write!(f, "\n  {line}")?;
                    }
                }
                Ok(())
            }
            PreflightError::Region(err) => write!(f, "{err} (nothing was sent to AWS)"),
            PreflightError::TargetElsewhere {
                stage,
                target_region,
                region,
            } => write!(
                f,
                "stage {stage:?} deploys to a target in {target_region}, but the stack goes to {region}: a stage deploys only in the stack's region; deploy the stack to {target_region}, or point `[stages.deploy]` at a target in {region} (nothing was sent to AWS)"
            ),
            PreflightError::TargetInAnotherAccount {
                stage,
                target_account,
                account,
            } => write!(
                f,
                "stage {stage:?} deploys to a target in account {target_account}, but you are deploying to account {account}: a stage deploys only in the stack's own account (cross-account deploys are not supported yet); use that account's credentials, or point `[stages.deploy]` at a target in {account} (nothing was changed)"
            ),
        }
    }
}

impl std::error::Error for PreflightError {}

/// The config that removes `resource_type` from the template, if any.
fn avoided_by(resource_type: &str) -> Option<&'static str> {
    match resource_type {
        "AWS::Lambda::Url" => Some(
            "AWS::Lambda::Url (the webhook receiver's function URL): set `trigger = \"connection\"` in [source] to use CodePipeline's own push trigger instead",
        ),
        "AWS::CodeConnections::Connection" => Some(
            "AWS::CodeConnections::Connection: set `connection_arn` in [source] to an existing, authorized connection the pipeline can use, so the stack creates none",
        ),
        _ => None,
    }
}

/// The ARNs a config's deploy targets are written as (stage name, ARN); names are not listed.
pub fn target_arns(config: &Config) -> Vec<(String, String)> {
    let mut arns = Vec::new();
    for stage in config.promotion_stages() {
        let written = match (&stage.ecs, &stage.lambda) {
            (Some(ecs), _) => vec![ecs.cluster.clone(), ecs.service.clone()],
            (_, Some(lambda)) => vec![lambda.function.clone()],
            _ => Vec::new(),
        };
        arns.extend(
            written
                .into_iter()
                .filter(|w| w.starts_with("arn:"))
                .map(|arn| (stage.name.clone(), arn)),
        );
    }
    arns
}

/// Refuses a config whose deploy targets name (by ARN) another region than `region`, or,
/// when `account` is known, another account.
pub fn check_targets(
    config: &Config,
    region: &str,
    account: Option<&str>,
) -> Result<(), PreflightError> {
    for (stage, arn) in target_arns(config) {
        // arn:<partition>:<service>:<region>:<account>:<resource>
        let mut parts = arn.split(':').skip(3);
        let (target_region, target_account) =
            (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if target_region != region {
            return Err(PreflightError::TargetElsewhere {
                stage,
                target_region: target_region.to_owned(),
                region: region.to_owned(),
            });
        }
        if let Some(account) = account
            && target_account != account
        {
            return Err(PreflightError::TargetInAnotherAccount {
                stage,
                target_account: target_account.to_owned(),
                account: account.to_owned(),
            });
        }
    }
    Ok(())
}

/// `Ok` with warnings when `template` (a CloudFormation document) may be deployed to `region`;
/// an error when it must not be. A region the table has no data for, and resource types it has
/// not checked (a hand-written `--template`), are warned about, not refused: shipline cannot
/// tell, and CloudFormation would roll back a create it cannot complete.
pub fn check(template: &Value, region: &str) -> Result<Vec<String>, PreflightError> {
    if follows_placeholder(template) {
        return Err(PreflightError::Placeholder);
    }
    let mut types: Vec<&str> = resources(template)
        .filter_map(|r| r["Type"].as_str())
        .collect();
    types.sort();
    types.dedup();
    if !regions::is_known(region) {
        let reason = regions::check(region, []).unwrap_err();
        return Ok(vec![format!(
            "warning: {reason}; deploying without checking which resource types it offers"
        )]);
    }
    let checked: Vec<&str> = regions::checked_types().collect();
    let (known, unchecked): (Vec<&str>, Vec<&str>) =
        types.into_iter().partition(|t| checked.contains(t));
    regions::check(region, known).map_err(PreflightError::Region)?;
    Ok(if unchecked.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "warning: cannot check whether region `{region}` offers {} (not in {})",
            unchecked.join(", "),
            regions::source()
        )]
    })
}

fn resources(template: &Value) -> impl Iterator<Item = &Value> {
    template["Resources"]
        .as_object()
        .into_iter()
        .flat_map(|resources| resources.values())
}

/// Whether some pipeline's source action reads the placeholder repository.
fn follows_placeholder(template: &Value) -> bool {
    resources(template)
        .filter(|r| r["Type"] == "AWS::CodePipeline::Pipeline")
        .filter_map(|r| r["Properties"]["Stages"].as_array())
        .flatten()
        .filter_map(|stage| stage["Actions"].as_array())
        .flatten()
        .any(|action| action["Configuration"]["FullRepositoryId"] == PLACEHOLDER_REPOSITORY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, synthesize};

    fn template(toml: &str) -> Value {
        synthesize(&Config::parse("t.toml", toml).unwrap()).to_value()
    }

    const ORDERS: &str = "[source]\nrepository = \"acme/orders\"\n";

    #[test]
    fn a_target_arn_in_another_region_or_account_is_refused() {
        let config = |cluster: &str| {
            Config::parse(
                "t.toml",
                &format!("{ORDERS}[[stages]]\nname = \"prod\"\ndeploy.ecs = {{ cluster = \"{cluster}\", service = \"web\", container = \"web\" }}\n"),
            )
            .unwrap()
        };
        let arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/main";
        let err = check_targets(&config(arn), "us-east-1", None).unwrap_err();
        assert!(
            err.to_string()
                .contains("deploys to a target in eu-west-1, but the stack goes to us-east-1"),
            "{err}"
        );
        assert_eq!(check_targets(&config(arn), "eu-west-1", None), Ok(()));
        assert_eq!(
            check_targets(&config(arn), "eu-west-1", Some("123456789012")),
            Ok(())
        );
        let err = check_targets(&config(arn), "eu-west-1", Some("210987654321")).unwrap_err();
        assert!(
            err.to_string().contains(
                "deploys to a target in account 123456789012, but you are deploying to account 210987654321"
            ),
            "{err}"
        );
        assert_eq!(
            check_targets(&config("main"), "us-east-1", Some("210987654321")),
            Ok(())
        );
    }

    #[test]
    fn the_placeholder_pipeline_is_refused_and_a_real_one_passes() {
        let default = synthesize(&Config::default()).to_value();
        assert_eq!(
            check(&default, "us-east-1"),
            Err(PreflightError::Placeholder)
        );
        assert_eq!(check(&template(ORDERS), "us-east-1"), Ok(vec![]));
    }

    #[test]
    fn a_region_without_function_urls_names_the_trigger_that_avoids_them() {
        // ca-west-1 lacks CodeBuild too (per cfn-lint), so use one that lacks only URLs.
        let err = check(&template(ORDERS), "il-central-1").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("AWS::Lambda::Url"), "{text}");
        assert!(text.contains("trigger = \"connection\""), "{text}");
        let connection = format!(
            "{ORDERS}trigger = \"connection\"\nconnection_arn = \"arn:aws:codeconnections:il-central-1:123456789012:connection/0a1b2c3d-1111-2222-3333-444455556666\"\n"
        );
        assert_eq!(check(&template(&connection), "il-central-1"), Ok(vec![]));
    }

    #[test]
    fn a_region_without_codeconnections_names_connection_arn() {
        let text = check(&template(ORDERS), "af-south-1")
            .unwrap_err()
            .to_string();
        assert!(text.contains("connection_arn"), "{text}");
        assert!(!text.contains("Lambda::Url"), "{text}");
    }

    #[test]
    fn a_region_or_type_the_table_cannot_tell_about_is_a_warning_not_a_refusal() {
        let warnings = check(&template(ORDERS), "me-south-1").unwrap();
        assert!(warnings[0].contains("me-south-1"), "{warnings:?}");
        let warnings = check(&template(ORDERS), "xx-nowhere-1").unwrap();
        assert!(warnings[0].contains("unknown region"), "{warnings:?}");
        let mut hand_written = template(ORDERS);
        hand_written["Resources"]["Queue"] = serde_json::json!({ "Type": "AWS::SQS::Queue" });
        let warnings = check(&hand_written, "us-east-1").unwrap();
        assert!(warnings[0].contains("AWS::SQS::Queue"), "{warnings:?}");
        // A type the table does check still refuses where it is missing.
        assert!(check(&hand_written, "il-central-1").is_err());
    }
}
