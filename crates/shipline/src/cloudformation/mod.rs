//! CloudFormation operations behind `plan`, `deploy`, `status` and `destroy`: the only code
//! that talks to AWS. Each operation is one async function over a [`Session`] that returns data
//! or a [`DeployError`](error::DeployError); user interaction goes through the [`Ui`] trait so the same code runs
//! on a terminal, in CI, and under scripted SDK responses in tests.

pub mod change_set;
pub mod error;
pub mod ops;
pub mod stack;

use std::time::Duration;

use aws_sdk_cloudformation::Client;

/// A CloudFormation client bound to one stack.
pub struct Session {
    pub client: Client,
    pub stack: String,
    /// Base polling interval (one request per interval at most, backing off to five).
    pub poll: Duration,
}

/// Where the AWS connection comes from: the standard config chain (environment, profiles,
/// SSO, `AWS_ENDPOINT_URL`), with `--region` / `--profile` on top.
pub async fn connect(region: Option<String>, profile: Option<String>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region));
    }
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    loader.load().await
}

/// What an operation asks of the person running it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// No terminal to ask on (and no --yes).
    NotInteractive,
}

impl Answer {
    /// Ok on Yes; otherwise the refusal `command` reports ("cancelled" or "needs --yes").
    #[allow(clippy::result_large_err)] // one error per run; its size does not matter
    pub fn consent(self, command: &str) -> Result<(), error::DeployError> {
        match self {
            Answer::Yes => Ok(()),
            Answer::No => Err(error::DeployError::Refused(format!(
                "{command} cancelled; nothing was changed"
            ))),
            Answer::NotInteractive => Err(error::DeployError::Refused(format!(
                "{command} needs confirmation: rerun with --yes"
            ))),
        }
    }
}

pub trait Ui {
    /// A progress line (stderr).
    fn progress(&self, line: &str);
    /// Asks a yes/no question; `--yes` answers Yes without asking.
    fn confirm(&self, question: &str) -> Answer;
    /// Asks for `expected` to be typed (for irreversible deletions); `--yes` answers Yes.
    fn confirm_typed(&self, question: &str, expected: &str) -> Answer;
    /// An operation on about `resources` resources starts (0: unknown); a terminal may show
    /// a progress bar until [`Ui::finish`].
    fn begin(&self, _resources: usize) {}
    /// One resource reached a final state.
    fn advance(&self) {}
    fn finish(&self) {}
}

#[cfg(test)]
pub(crate) mod tests;
