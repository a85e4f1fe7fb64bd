//! The AWS side every command but `synth` shares: the SDK configuration (standard credential
//! chain, `--region`, `--profile`, `AWS_ENDPOINT_URL`), the region it resolved to, and the
//! CloudFormation session bound to the stack (`--stack-name`, default from the core's names).

use std::time::Duration;

use shipline_core::Config;
use shipline_core::pipeline::Names;

use crate::cli::AwsArgs;
use crate::cloudformation::{self, Session};

pub struct Aws {
    pub sdk: aws_config::SdkConfig,
    pub region: Option<String>,
    pub session: Session,
}

impl Aws {
    pub async fn connect(args: &AwsArgs, config: &Config) -> Aws {
        let sdk = cloudformation::connect(args.region.clone(), args.profile.clone()).await;
        let stack = args
            .stack_name
            .clone()
            .unwrap_or_else(|| Names::for_app(&config.app.name).stack);
        Aws {
            region: sdk.region().map(|r| r.to_string()),
            session: Session {
                client: aws_sdk_cloudformation::Client::new(&sdk),
                stack,
                poll: poll_interval(),
            },
            sdk,
        }
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
