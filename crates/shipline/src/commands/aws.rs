//! The AWS side every command but `synth` shares: the SDK configuration (standard credential
//! chain, `--region`, `--profile`, `AWS_ENDPOINT_URL`), the region it resolved to, the
//! CloudFormation session bound to the stack (`--stack-name`, default from the core's names),
//! and the account the credentials belong to (STS `GetCallerIdentity`, asked once per run).
//!
//! [`Aws::connect`] refuses, before any request, a named profile that is not in the profile
//! files and a configuration without a region ([`crate::setup_error`]).

use std::sync::OnceLock;
use std::time::Duration;

use shipline_core::Config;
use shipline_core::pipeline::Names;

use super::Failure;
use crate::cli::AwsArgs;
use crate::cloudformation::error::DeployError;
use crate::cloudformation::{self, Session, Ui};
use crate::printer::Printer;
use crate::setup_error::{self, SetupError};

pub struct Aws {
    pub sdk: aws_config::SdkConfig,
    pub region: String,
    /// The profile named by `--profile` or `AWS_PROFILE` (None: the default chain).
    pub profile: Option<String>,
    pub session: Session,
    pub sts: aws_sdk_sts::Client,
    account: OnceLock<String>,
}

impl Aws {
    pub async fn connect(args: &AwsArgs, config: &Config) -> Result<Aws, Failure> {
        let profile = setup_error::requested_profile(args.profile.as_deref());
        if let Some(profile) = &profile {
            setup_error::check_profile(profile)
                .await
                .map_err(DeployError::Setup)?;
        }
        let sdk = cloudformation::connect(args.region.clone(), args.profile.clone()).await;
        let region = sdk.region().map(|r| r.to_string());
        setup_error::remember(setup_error::Context {
            profile: profile.clone(),
            region: region.clone(),
            endpoint_url: sdk.endpoint_url().map(str::to_owned),
        });
        let Some(region) = region else {
            return Err(DeployError::Setup(SetupError::NoRegion).into());
        };
        let stack = args
            .stack_name
            .clone()
            .unwrap_or_else(|| Names::for_app(&config.app.name).stack);
        Ok(Aws {
            region,
            profile,
            session: Session {
                client: aws_sdk_cloudformation::Client::new(&sdk),
                stack,
                poll: poll_interval(),
            },
            sts: aws_sdk_sts::Client::new(&sdk),
            sdk,
            account: OnceLock::new(),
        })
    }

    /// The account the credentials belong to: one `GetCallerIdentity` per run, shared by
    /// whoever asks first (the target line, the staging bucket's name and owner).
    pub async fn account(&self) -> Result<&str, DeployError> {
        if let Some(account) = self.account.get() {
            return Ok(account);
        }
        let account = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| DeployError::from_sdk("GetCallerIdentity", e))?
            .account()
            .unwrap_or_default()
            .to_owned();
        Ok(self.account.get_or_init(|| account))
    }

    /// Where the command acts, for the line printed before anything changes:
    /// `account 123456789012 in eu-west-1 (profile prod)`.
    pub async fn target(&self) -> Result<String, DeployError> {
        let account = self.account().await?;
        let profile = match &self.profile {
            Some(profile) => format!(" (profile {profile})"),
            None => String::new(),
        };
        Ok(format!("account {account} in {}{profile}", self.region))
    }

    /// Prints `{action} account ... in ... (profile ...)` as a progress line on stderr, before
    /// anything is shown for confirmation or changed (also without a terminal and with --yes,
    /// so CI logs say where a run went).
    pub async fn announce(&self, printer: &Printer, action: &str) -> Result<(), DeployError> {
        printer.progress(&format!("{action} {}", self.target().await?));
        Ok(())
    }
}

/// Polling interval; overridable for tests against a local endpoint.
fn poll_interval() -> Duration {
    std::env::var("SHIPLINE_POLL_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;
    use crate::cloudformation::tests::run;

    fn connected(sts: aws_sdk_sts::Client, profile: Option<&str>) -> Aws {
        let sdk = aws_config::SdkConfig::builder().build();
        Aws {
            region: "eu-west-1".into(),
            profile: profile.map(str::to_owned),
            session: Session {
                client: aws_sdk_cloudformation::Client::new(&sdk),
                stack: "orders-pipeline".into(),
                poll: Duration::from_millis(1),
            },
            sts,
            sdk,
            account: OnceLock::new(),
        }
    }

    #[test]
    fn the_target_names_account_region_and_profile_from_one_identity_call() {
        let identity = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
            GetCallerIdentityOutput::builder()
                .account("123456789012")
                .arn("arn:aws:iam::123456789012:user/dev")
                .build()
        });
        let aws = connected(
            mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&identity]),
            Some("prod"),
        );
        assert_eq!(
            run(aws.target()).unwrap(),
            "account 123456789012 in eu-west-1 (profile prod)"
        );
        assert_eq!(run(aws.account()).unwrap(), "123456789012");
        assert_eq!(
            identity.num_calls(),
            1,
            "the identity is asked once per run"
        );
        let anonymous = connected(
            mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&identity]),
            None,
        );
        assert_eq!(
            run(anonymous.target()).unwrap(),
            "account 123456789012 in eu-west-1"
        );
    }
}
