//! [`DeployError`]: every way a CloudFormation operation can fail, each rendered as one clear
//! line (plus the root cause where there is one). AWS SDK errors are classified here.

use aws_sdk_cloudformation::config::http::HttpResponse;
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};

/// The resource whose failure caused an operation to fail (not the cascade of cancellations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedResource {
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{operation}: {message}")]
    Aws {
        operation: &'static str,
        code: Option<String>,
        message: String,
    },

    #[error("stack {stack} ended in {status}{}", cause_suffix(.first_failure))]
    StackFailed {
        stack: String,
        status: String,
        first_failure: Option<FailedResource>,
    },

    #[error("CloudFormation could not create the change set: {reason}")]
    ChangeSetFailed { reason: String },

    #[error("{0}")]
    Refused(String),

    #[error("stack {stack} was deleted but {what} was not: {cause}; remove it with: {remove_with}")]
    DataNotDeleted {
        stack: String,
        what: String,
        cause: Box<DeployError>,
        remove_with: String,
    },

    #[error("stack {stack} does not exist{hint}")]
    NoStack { stack: String, hint: &'static str },
}

fn cause_suffix(first: &Option<FailedResource>) -> String {
    match first {
        Some(f) => format!(
            ": first failure {} ({}) {}: {}",
            f.logical_id, f.resource_type, f.status, f.reason
        ),
        None => String::new(),
    }
}

impl DeployError {
    /// Classifies an SDK error as one line that says what to do.
    pub fn from_sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let code = err.code().map(str::to_owned);
        let aws_message = err.message().map(str::to_owned);
        let message = match (code.as_deref(), &err) {
            (Some("ExpiredToken" | "ExpiredTokenException" | "RequestExpired"), _) => {
                "your AWS credentials have expired: refresh them (e.g. `aws sso login`) and retry".to_owned()
            }
            (Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation"), _) => format!(
                "access denied: {} (grant the missing action to your identity, or use --profile)",
                aws_message.as_deref().unwrap_or("no detail")
            ),
            (Some("Throttling" | "ThrottlingException" | "RequestLimitExceeded"), _) => {
                "AWS kept throttling the request after retries with backoff; wait a minute and retry".to_owned()
            }
            (Some("InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch"), _) => {
                "AWS does not recognize your credentials: check the access key / profile".to_owned()
            }
            (_, SdkError::DispatchFailure(failure)) => {
                if format!("{failure:?}").contains("credentials") || format!("{err:?}").contains("NoCredentials") {
                    "no AWS credentials found: set AWS_PROFILE / --profile, run `aws sso login`, or export AWS_ACCESS_KEY_ID".to_owned()
                } else {
                    format!("could not reach AWS ({failure:?}); check the network, --region and AWS_ENDPOINT_URL")
                }
            }
            (_, SdkError::TimeoutError(_)) => "AWS did not answer in time; check the network and retry".to_owned(),
            (Some(code), _) => format!("{code}: {}", aws_message.as_deref().unwrap_or("no detail")),
            (None, _) => {
                let detail = format!("{err:?}");
                if detail.contains("NoCredentials") || detail.contains("no credentials") {
                    "no AWS credentials found: set AWS_PROFILE / --profile, run `aws sso login`, or export AWS_ACCESS_KEY_ID".to_owned()
                } else if detail.contains("region") && detail.contains("No region") {
                    "no AWS region configured: pass --region or set AWS_REGION".to_owned()
                } else if let Some(raw) = err.raw_response() {
                    format!("unexpected response from AWS (HTTP {}) that the SDK could not parse", raw.status().as_u16())
                } else {
                    aws_message.unwrap_or_else(|| "the request failed without an error code".to_owned())
                }
            }
        };
        DeployError::Aws {
            operation,
            code,
            message,
        }
    }

    /// True for "the stack does not exist" answers of DescribeStacks.
    pub fn is_missing_stack(&self) -> bool {
        self.has_code("ValidationError")
            && matches!(self, DeployError::Aws { message, .. } if message.contains("does not exist"))
    }

    /// True when AWS answered with this error code.
    pub fn has_code(&self, expected: &str) -> bool {
        matches!(self, DeployError::Aws { code: Some(code), .. } if code == expected)
    }
}
