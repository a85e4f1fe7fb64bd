//! Why shipline could not talk to AWS at all, as one line that says what to do: no region, a
//! profile that is not in the profile files, no credentials anywhere in the chain, an SSO
//! session that has expired, an endpoint that cannot be reached, an instance metadata service
//! that refuses. [`classify`] walks an SDK error's `source()` chain (never its `Debug` dump);
//! [`check_profile`] and the region check in `Aws::connect` catch the first two before any
//! request.
//!
//! Exit codes ([`SetupError::is_configuration`]): what the person running shipline must fix
//! on this machine (region, profile, credentials missing or expired) is bad input, 2; an
//! endpoint that failed or refused (network, instance metadata, a credential process) is a
//! failed operation, 1.

use std::error::Error;
use std::fmt;
use std::sync::OnceLock;

use aws_config::imds::client::error::{ImdsError, TokenError};
use aws_config::profile::credentials::ProfileFileError;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_cloudformation::config::http::HttpResponse;
use aws_sdk_cloudformation::error::{ConnectorError, SdkError};

/// What the classification needs to know about the connection: the profile asked for, the
/// region and an endpoint override (for naming the host that could not be reached).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

static CONTEXT: OnceLock<Context> = OnceLock::new();

/// Records the connection's context once per run (`Aws::connect`), for errors classified far
/// from it ([`crate::cloudformation::error::DeployError::from_sdk`]).
pub fn remember(context: Context) {
    let _ = CONTEXT.set(context);
}

/// The context [`remember`]ed, or an empty one.
pub fn context() -> Context {
    CONTEXT.get().cloned().unwrap_or_default()
}

/// Why an endpoint could not be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// The host name did not resolve.
    Dns,
    Refused,
    TimedOut,
    /// Another I/O failure, with its message.
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupError {
    NoRegion,
    UnknownProfile {
        profile: String,
        /// The profile files read, as the user would write them (`~/.aws/config`).
        files: Vec<String>,
        found: Vec<String>,
    },
    /// The profile files could not be read or parsed.
    ProfileFiles {
        detail: String,
    },
    /// The profile exists but cannot give credentials as configured.
    Profile {
        detail: String,
    },
    /// No provider in the default chain had credentials.
    NoCredentials {
        profile: Option<String>,
        /// The profile files, as in [`SetupError::UnknownProfile`].
        files: Vec<String>,
    },
    /// The SSO token of the profile is missing from the cache (`expired: false`) or expired.
    SsoLogin {
        profile: Option<String>,
        expired: bool,
    },
    Unreachable {
        host: String,
        why: Unreachable,
    },
    /// The EC2 instance metadata service answered 401/403.
    MetadataRefused {
        status: u16,
    },
    /// Any other failure of a credential provider (credential process, web identity, STS).
    CredentialSource {
        detail: String,
    },
}

impl SetupError {
    /// True when the user must change the configuration on this machine (exit 2), false when
    /// an endpoint failed (exit 1).
    pub fn is_configuration(&self) -> bool {
        match self {
            SetupError::NoRegion
            | SetupError::UnknownProfile { .. }
            | SetupError::ProfileFiles { .. }
            | SetupError::Profile { .. }
            | SetupError::NoCredentials { .. }
            | SetupError::SsoLogin { .. } => true,
            SetupError::Unreachable { .. }
            | SetupError::MetadataRefused { .. }
            | SetupError::CredentialSource { .. } => false,
        }
    }
}

/// `--profile X` for a named profile, nothing for the default one.
fn profile_flag(profile: &Option<String>) -> String {
    match profile.as_deref() {
        Some(p) if p != "default" => format!(" --profile {p}"),
        _ => String::new(),
    }
}

fn profile_name(profile: &Option<String>) -> &str {
    profile.as_deref().unwrap_or("default")
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::NoRegion => f.write_str(
                "no AWS region: pass --region, set AWS_REGION, or set `region` in the profile (~/.aws/config)",
            ),
            SetupError::UnknownProfile {
                profile,
                files,
                found,
            } => {
                let found = if found.is_empty() {
                    "no profiles found".to_owned()
                } else {
                    format!("profiles found: {}", found.join(", "))
                };
                write!(
                    f,
                    "AWS profile `{profile}` is not in {} ({found}): pass a profile that exists with --profile / AWS_PROFILE, or create it with `aws configure --profile {profile}` (or `aws configure sso`)",
                    files.join(" or ")
                )
            }
            SetupError::ProfileFiles { detail } => write!(
                f,
                "cannot read the AWS profile files: {detail}; fix the file, or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at another"
            ),
            SetupError::Profile { detail } => write!(
                f,
                "the AWS profile cannot give credentials: {detail}; fix it in ~/.aws/config (or AWS_CONFIG_FILE), or pass another --profile"
            ),
            SetupError::NoCredentials { profile, files } => write!(
                f,
                "no AWS credentials found (tried: environment variables AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profile `{}` in {}, web identity token, ECS container and EC2 instance metadata): export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile with a profile that has credentials (`aws configure`, `aws sso login`)",
                profile_name(profile),
                files.join(" and ")
            ),
            SetupError::SsoLogin { profile, expired } => {
                let state = if *expired {
                    "has expired"
                } else {
                    "is not logged in on this machine (no cached token)"
                };
                write!(
                    f,
                    "the SSO session for profile `{}` {state}: run `aws sso login{}` and retry",
                    profile_name(profile),
                    profile_flag(profile)
                )
            }
            SetupError::Unreachable { host, why } => {
                let why = match why {
                    Unreachable::Dns => "its name does not resolve (DNS)".to_owned(),
                    Unreachable::Refused => "connection refused".to_owned(),
                    Unreachable::TimedOut => "no answer in time".to_owned(),
                    Unreachable::Other(message) => message.clone(),
                };
                write!(
                    f,
                    "could not reach AWS at {host}: {why}; check the network and any proxy (HTTPS_PROXY), --region, and AWS_ENDPOINT_URL"
                )
            }
            SetupError::MetadataRefused { status } => write!(
                f,
                "the EC2 instance metadata service refused to give credentials (HTTP {status}): give the instance a role and allow IMDSv2 (hop limit 2 in containers), or use a profile (--profile) or environment credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) instead; AWS_EC2_METADATA_DISABLED=true skips the metadata service"
            ),
            SetupError::CredentialSource { detail } => write!(
                f,
                "could not load AWS credentials: {detail}; check the credential source of the profile (credential_process, role_arn, web identity)"
            ),
        }
    }
}

impl Error for SetupError {}

/// An error and its sources, outermost first.
fn chain<'a>(err: &'a (dyn Error + 'static)) -> Vec<&'a (dyn Error + 'static)> {
    let mut chain = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        chain.push(e);
        next = e.source();
    }
    chain
}

/// The messages of an error and its sources in one line (`Display` only, never `Debug`).
pub fn one_line(err: &(dyn Error + 'static)) -> String {
    join(&chain(err))
}

/// The messages of `errors` joined into one line (each `Display`, never `Debug`).
fn join(errors: &[&(dyn Error + 'static)]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in errors {
        let text = e.to_string().replace('\n', " ");
        if !text.is_empty() && !parts.iter().any(|p| p == &text) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// Classifies a failure to send a request (an SDK `DispatchFailure`, a credential or endpoint
/// error) by its `source()` chain; None when it is none of the setup failures. `service` is the
/// endpoint prefix (`cloudformation`, `sts`, ...) for naming the host.
pub fn classify(
    err: &(dyn Error + 'static),
    context: &Context,
    service: Option<&str>,
) -> Option<SetupError> {
    let chain = chain(err);
    // Credentials first: a provider's own failure (an unreachable SSO or metadata endpoint)
    // is about credentials, not about the service endpoint.
    if let Some(at) = chain.iter().position(|e| e.is::<CredentialsError>()) {
        return Some(credentials(&chain[at..], context));
    }
    for e in &chain {
        let text = e.to_string();
        // aws-smithy's endpoint resolver: "Invalid Configuration: Missing Region".
        if text.contains("Missing Region") {
            return Some(SetupError::NoRegion);
        }
        // The whole credential chain has 5 seconds (aws-smithy-runtime's identity cache).
        if text.contains("identity resolver timed out") {
            return Some(SetupError::CredentialSource {
                detail: format!(
                    "{text} (a slow or silent instance metadata, container or SSO endpoint)"
                ),
            });
        }
    }
    let why = unreachable(&chain)?;
    Some(SetupError::Unreachable {
        host: host(context, service),
        why,
    })
}

/// How a connection failed, if the chain is one.
fn unreachable(chain: &[&(dyn Error + 'static)]) -> Option<Unreachable> {
    // hyper-util says "dns error" above the resolver's message.
    if chain.iter().any(|e| {
        let text = e.to_string();
        text == "dns error" || text.contains("failed to lookup address")
    }) {
        return Some(Unreachable::Dns);
    }
    for e in chain {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(match io.kind() {
                std::io::ErrorKind::ConnectionRefused => Unreachable::Refused,
                std::io::ErrorKind::TimedOut => Unreachable::TimedOut,
                _ => Unreachable::Other(io.to_string()),
            });
        }
    }
    let connector = chain
        .iter()
        .find_map(|e| e.downcast_ref::<ConnectorError>())?;
    if connector.is_timeout() {
        Some(Unreachable::TimedOut)
    } else if connector.is_io() {
        let at = chain
            .iter()
            .position(|e| e.is::<ConnectorError>())
            .unwrap_or(0);
        Some(Unreachable::Other(join(&chain[at + 1..])))
    } else {
        None
    }
}

/// Classifies a credential provider failure (`chain` starts at the `CredentialsError`).
fn credentials(chain: &[&(dyn Error + 'static)], context: &Context) -> SetupError {
    let profile = context.profile.clone();
    for (i, e) in chain.iter().enumerate() {
        if let Some(imds) = e.downcast_ref::<ImdsError>()
            && let Some(status) = metadata_status(imds, &chain[i..])
            && matches!(status, 401 | 403)
        {
            return SetupError::MetadataRefused { status };
        }
        // aws-config's SSO errors are private types; their messages are "the SSO token has
        // expired and cannot be refreshed" and "failed to load the cached SSO token"
        // (aws-config src/sso/token.rs), and for a legacy profile (`sso_start_url`, no
        // `sso_session`) "failed to read `~/.aws/sso/cache/<hash>.json`" (src/sso/cache.rs)
        // or the SSO portal's UnauthorizedException (GetRoleCredentials with a stale token).
        let text = e.to_string();
        if text.contains("SSO token has expired") || text.contains("UnauthorizedException") {
            return SetupError::SsoLogin {
                profile,
                expired: true,
            };
        }
        if text.contains("failed to load the cached SSO token")
            || text.contains("/sso/cache/")
            || text.contains("\\sso\\cache\\")
        {
            return SetupError::SsoLogin {
                profile,
                expired: false,
            };
        }
        if let Some(profile_error) = e.downcast_ref::<ProfileFileError>() {
            // Only `InvalidProfile` (the files could not be read or parsed) has a source.
            return match profile_error.source() {
                Some(load) => SetupError::ProfileFiles {
                    detail: load.to_string(),
                },
                None => SetupError::Profile {
                    detail: profile_error.to_string(),
                },
            };
        }
    }
    match chain[0].downcast_ref::<CredentialsError>() {
        Some(CredentialsError::CredentialsNotLoaded(_)) => SetupError::NoCredentials {
            profile,
            files: profile_files(),
        },
        Some(CredentialsError::InvalidConfiguration(_)) => SetupError::Profile {
            detail: join(&chain[1..]),
        },
        _ => {
            let detail = match unreachable(chain) {
                Some(Unreachable::Dns) => {
                    "a credential endpoint's name does not resolve (DNS)".to_owned()
                }
                _ => join(chain),
            };
            SetupError::CredentialSource { detail }
        }
    }
}

/// The HTTP status IMDS answered with, if it answered with an error.
fn metadata_status(imds: &ImdsError, chain: &[&(dyn Error + 'static)]) -> Option<u16> {
    if let ImdsError::ErrorResponse(response) = imds {
        return Some(response.response().status().as_u16());
    }
    chain.iter().find_map(|e| {
        e.downcast_ref::<SdkError<TokenError, HttpResponse>>()
            .and_then(|token| token.raw_response())
            .map(|raw| raw.status().as_u16())
    })
}

/// The host a request to `service` went to: the endpoint override's, else the regional one.
pub fn host(context: &Context, service: Option<&str>) -> String {
    if let Some(url) = &context.endpoint_url {
        let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        return rest.split('/').next().unwrap_or(rest).to_owned();
    }
    let Some(service) = service else {
        return "its endpoint".to_owned();
    };
    match context.region.as_deref() {
        // China regions are in their own partition, under amazonaws.com.cn.
        Some(region) if region.starts_with("cn-") => {
            format!("{service}.{region}.amazonaws.com.cn")
        }
        Some(region) => format!("{service}.{region}.amazonaws.com"),
        None => format!("{service}.amazonaws.com"),
    }
}

/// The endpoint prefix of the SDK crate an error type comes from (its path, e.g.
/// `aws_sdk_ecr::operation::...`): ECR's API is `api.ecr`.
pub fn service_of(type_name: &str) -> Option<&'static str> {
    let service = type_name.strip_prefix("aws_sdk_")?.split("::").next()?;
    Some(match service {
        "cloudformation" => "cloudformation",
        "codepipeline" => "codepipeline",
        "ecr" => "api.ecr",
        "s3" => "s3",
        "sts" => "sts",
        _ => return None,
    })
}

/// The files profiles are read from, as written in messages: `AWS_CONFIG_FILE` /
/// `AWS_SHARED_CREDENTIALS_FILE` when set, else `~/.aws/config` and `~/.aws/credentials`
/// (AWS SDKs and Tools Reference Guide, "Location of the shared config and credentials files").
fn profile_files() -> Vec<String> {
    let file = |var: &str, default: &str| {
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_owned())
    };
    vec![
        file("AWS_CONFIG_FILE", "~/.aws/config"),
        file("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
    ]
}

/// The profile named by `--profile` or `AWS_PROFILE`, if any.
pub fn requested_profile(flag: Option<&str>) -> Option<String> {
    flag.map(str::to_owned)
        .or_else(|| std::env::var("AWS_PROFILE").ok())
        .filter(|p| !p.is_empty())
}

/// Checks that a named profile (not `default`, which the chain does without) is in the profile
/// files, as aws-config reads them (honouring `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`).
pub async fn check_profile(profile: &str) -> Result<(), SetupError> {
    if profile == "default" {
        return Ok(());
    }
    #[allow(deprecated)] // the alias of aws_runtime's EnvConfigFiles, saving a dependency
    let files = aws_config::profile::profile_file::ProfileFiles::default();
    let set = aws_config::profile::load(
        &aws_types::os_shim_internal::Fs::real(),
        &aws_types::os_shim_internal::Env::real(),
        &files,
        None,
    )
    .await
    .map_err(|err| SetupError::ProfileFiles {
        detail: one_line(&err),
    })?;
    profile_in(profile, set.profiles().map(str::to_owned).collect())
}

/// `profile` among `found`, else [`SetupError::UnknownProfile`].
fn profile_in(profile: &str, mut found: Vec<String>) -> Result<(), SetupError> {
    if found.iter().any(|p| p == profile) {
        return Ok(());
    }
    found.sort();
    Err(SetupError::UnknownProfile {
        profile: profile.to_owned(),
        files: profile_files(),
        found,
    })
}

#[cfg(test)]
mod tests {
    use aws_credential_types::Credentials;
    use aws_credential_types::provider::future::ProvideCredentials as Future;
    use aws_credential_types::provider::{self, ProvideCredentials};
    use aws_sdk_cloudformation::config::Region;
    use aws_smithy_runtime_api::client::http::{
        HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;

    use super::*;
    use crate::cloudformation::error::DeployError;
    use crate::cloudformation::tests::run;
    use crate::commands::Failure;

    /// A connector failing every request with the error `fail` makes.
    #[derive(Debug, Clone, Copy)]
    struct Failing(fn() -> ConnectorError);

    impl HttpConnector for Failing {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            HttpConnectorFuture::ready(Err((self.0)()))
        }
    }

    #[derive(Debug)]
    struct NoCredentials;

    impl ProvideCredentials for NoCredentials {
        fn provide_credentials<'a>(&'a self) -> Future<'a>
        where
            Self: 'a,
        {
            Future::ready(Err(provider::error::CredentialsError::not_loaded(
                "no providers in chain provided credentials",
            )))
        }
    }

    /// DescribeStacks through a client with `region`, no credentials if `anonymous`, and a
    /// connector failing with `fail`; the error as `DeployError::from_sdk` classifies it.
    fn describe(
        region: Option<&str>,
        anonymous: bool,
        fail: fn() -> ConnectorError,
    ) -> DeployError {
        let mut config = aws_sdk_cloudformation::Config::builder()
            .behavior_version_latest()
            .region(region.map(|r| Region::new(r.to_owned())))
            .http_client(http_client_fn(move |_, _| {
                SharedHttpConnector::new(Failing(fail))
            }))
            .retry_config(aws_sdk_cloudformation::config::retry::RetryConfig::disabled());
        config = if anonymous {
            config.credentials_provider(NoCredentials)
        } else {
            config.credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
        };
        let client = aws_sdk_cloudformation::Client::from_conf(config.build());
        let err = run(client
            .describe_stacks()
            .stack_name("orders-pipeline")
            .send())
        .unwrap_err();
        DeployError::from_sdk("DescribeStacks", err)
    }

    fn refused() -> ConnectorError {
        ConnectorError::io(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )))
    }

    #[test]
    fn sdk_dispatch_failures_are_classified_by_their_source_chain() {
        let err = describe(Some("eu-west-1"), false, refused);
        let text = err.to_string();
        assert!(
            text.starts_with("could not reach AWS at cloudformation.")
                && text.contains(": connection refused; check the network"),
            "{text}"
        );
        assert!(
            matches!(Failure::from(err), Failure::Failed(_)),
            "an endpoint failure exits 1"
        );

        let timeout = describe(Some("eu-west-1"), false, || {
            ConnectorError::timeout("read timed out".into())
        });
        assert!(
            timeout.to_string().contains(": no answer in time;"),
            "{timeout}"
        );

        let no_region = describe(None, false, refused);
        assert_eq!(no_region.to_string(), SetupError::NoRegion.to_string());
        assert!(
            matches!(Failure::from(no_region), Failure::BadInput(_)),
            "no region exits 2"
        );

        let anonymous = describe(Some("eu-west-1"), true, refused);
        assert!(
            anonymous
                .to_string()
                .starts_with("no AWS credentials found (tried: "),
            "{anonymous}"
        );
        assert!(matches!(Failure::from(anonymous), Failure::BadInput(_)));
    }

    #[test]
    fn no_message_is_a_debug_dump() {
        for err in [
            describe(Some("eu-west-1"), false, refused),
            describe(Some("eu-west-1"), false, || {
                ConnectorError::other("something odd".into(), None)
            }),
        ] {
            let text = err.to_string();
            assert!(
                !text.contains("{ ") && !text.contains("ConnectorError"),
                "{text}"
            );
        }
    }

    fn context() -> Context {
        Context {
            profile: Some("prod".into()),
            region: Some("eu-west-1".into()),
            endpoint_url: None,
        }
    }

    #[test]
    fn hosts_are_named_from_the_endpoint_override_or_the_region() {
        assert_eq!(
            host(&context(), Some("cloudformation")),
            "cloudformation.eu-west-1.amazonaws.com"
        );
        let china = Context {
            region: Some("cn-north-1".into()),
            ..context()
        };
        assert_eq!(host(&china, Some("sts")), "sts.cn-north-1.amazonaws.com.cn");
        let local = Context {
            endpoint_url: Some("http://127.0.0.1:4566/".into()),
            ..context()
        };
        assert_eq!(host(&local, Some("sts")), "127.0.0.1:4566");
        assert_eq!(
            service_of("aws_sdk_ecr::operation::put_image::PutImageError"),
            Some("api.ecr")
        );
        assert_eq!(service_of("std::io::Error"), None);
    }

    #[test]
    fn an_unknown_profile_names_the_files_and_the_profiles_found() {
        let err = profile_in("prod", vec!["b".into(), "a".into()]).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("AWS profile `prod` is not in "), "{text}");
        assert!(text.contains("(profiles found: a, b)"), "{text}");
        assert!(err.is_configuration());
        assert!(profile_in("a", vec!["a".into()]).is_ok());
        let none = profile_in("prod", Vec::new()).unwrap_err().to_string();
        assert!(none.contains("(no profiles found)"), "{none}");
    }

    #[test]
    fn sso_messages_name_the_login_command_for_the_profile() {
        let expired = SetupError::SsoLogin {
            profile: Some("prod".into()),
            expired: true,
        };
        assert_eq!(
            expired.to_string(),
            "the SSO session for profile `prod` has expired: run `aws sso login --profile prod` and retry"
        );
        let default = SetupError::SsoLogin {
            profile: None,
            expired: false,
        };
        assert!(
            default
                .to_string()
                .contains("run `aws sso login` and retry")
        );
    }
}
