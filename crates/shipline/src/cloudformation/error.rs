//! [`DeployError`]: every way a CloudFormation operation can fail, each rendered as one clear
//! line (plus the root cause where there is one). AWS SDK errors are classified here; a request
//! that could not be sent at all is a [`SetupError`] (see [`crate::setup_error`]).

use aws_sdk_cloudformation::config::http::HttpResponse;
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};

use crate::setup_error::{self, SetupError};

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

    /// The request could not be sent: see [`SetupError`].
    #[error("{0}")]
    Setup(SetupError),
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
    /// Classifies an SDK error as one line that says what to do. A request that could not be
    /// sent (no region, no or expired credentials, an unreachable endpoint) becomes a
    /// [`DeployError::Setup`], classified by its `source()` chain ([`crate::setup_error`]).
    pub fn from_sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let service = setup_error::service_of(std::any::type_name::<E>());
        let context = setup_error::context();
        match &err {
            SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => {
                if let Some(setup) = setup_error::classify(&err, &context, service) {
                    return DeployError::Setup(setup);
                }
            }
            SdkError::TimeoutError(_) => {
                return DeployError::Setup(SetupError::Unreachable {
                    host: setup_error::host(&context, service),
                    why: setup_error::Unreachable::TimedOut,
                });
            }
            _ => {}
        }
        let code = err.code().map(str::to_owned);
        let aws_message = err.message().map(str::to_owned);
        let message = match code.as_deref() {
            Some("ExpiredToken" | "ExpiredTokenException" | "RequestExpired") => {
                "your AWS credentials have expired: refresh them (e.g. `aws sso login`) and retry".to_owned()
            }
            Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => format!(
                "access denied: {} (grant the missing action to your identity, or use --profile)",
                aws_message.as_deref().unwrap_or("no detail")
            ),
            Some("Throttling" | "ThrottlingException" | "RequestLimitExceeded") => {
                "AWS kept throttling the request after retries with backoff; wait a minute and retry".to_owned()
            }
            Some("InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch") => {
                "AWS does not recognize your credentials: check the access key / profile".to_owned()
            }
            Some(code) => format!("{code}: {}", aws_message.as_deref().unwrap_or("no detail")),
            None => match (&err, err.raw_response()) {
                (SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_), _) => format!(
                    "could not send the request: {}; check the network, --region and AWS_ENDPOINT_URL",
                    setup_error::one_line(&err)
                ),
                (_, Some(raw)) => format!(
                    "unexpected response from AWS (HTTP {}) that the SDK could not parse",
                    raw.status().as_u16()
                ),
                _ => aws_message.unwrap_or_else(|| setup_error::one_line(&err)),
            },
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
