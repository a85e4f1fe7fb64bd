//! The real binary when the AWS setup is wrong: no region, an unknown profile, no credentials,
//! an SSO session to log in to, an endpoint that cannot be reached, an instance metadata
//! service that refuses. Each is one line on stderr (the same message in `--json`), exit 2
//! when the configuration must change, 1 when an endpoint failed. The environment is built
//! from nothing (`env_clear`): HOME and the profile files point into the test's directory.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

use serde_json::Value;
use support::{Run, stderr, stdout};

const CONFIG: &str = "[app]\nname = \"orders\"\n[source]\nrepository = \"acme/orders\"\n";

/// Profiles `a` and `b`, an SSO profile `sso` (session `x`) and a legacy SSO profile.
const PROFILES: &str = "\
[profile a]
region = eu-west-1
[profile b]
region = eu-west-1
[profile sso]
sso_session = x
sso_account_id = 123456789012
sso_role_name = Deployer
region = eu-west-1
[sso-session x]
sso_region = eu-west-1
sso_start_url = https://example.awsapps.com/start
[profile legacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = eu-west-1
sso_account_id = 123456789012
sso_role_name = Deployer
region = eu-west-1
[profile norole]
role_arn = arn:aws:iam::123456789012:role/deployer
region = eu-west-1
";

/// The SSO token cache file of session `x`: `~/.aws/sso/cache/<sha1("x")>.json`.
const SSO_CACHE: &str = ".aws/sso/cache/11f6ad8ec52a2984abaafd7c3b516503785c2072.json";

struct Env<'a> {
    run: &'a Run,
    vars: Vec<(&'static str, String)>,
}

impl<'a> Env<'a> {
    /// Nothing but PATH, HOME (the test directory) and the profile files in it; no
    /// credentials, no region, instance metadata off.
    fn new(run: &'a Run) -> Self {
        let home = run.dir.display().to_string();
        Env {
            run,
            vars: vec![
                ("PATH", std::env::var("PATH").unwrap_or_default()),
                ("HOME", home.clone()),
                ("AWS_CONFIG_FILE", format!("{home}/aws-config")),
                (
                    "AWS_SHARED_CREDENTIALS_FILE",
                    format!("{home}/aws-credentials"),
                ),
                ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ],
        }
    }

    fn set(mut self, key: &'static str, value: &str) -> Self {
        self.vars.retain(|(k, _)| *k != key);
        self.vars.push((key, value.to_owned()));
        self
    }

    fn unset(mut self, key: &'static str) -> Self {
        self.vars.retain(|(k, _)| *k != key);
        self
    }

    /// Static credentials, so the run gets as far as the endpoint.
    fn keys(self) -> Self {
        self.set("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .set("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_shipline"))
            .args(args)
            .current_dir(&self.run.dir)
            .env_clear()
            .envs(self.vars.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap()
    }
}

fn run(name: &str) -> Run {
    let run = Run::new(&format!("setup-{name}")).with_config(CONFIG);
    run.write("aws-config", PROFILES);
    run
}

/// One `error:` line on stderr, the same message as `--json`'s, and the exit code.
fn one_error(env: &Env, args: &[&str], exit: i32) -> String {
    let out = env.run(args);
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert_eq!(out.status.code(), Some(exit), "{err}");
    assert!(
        !err.contains("Error {") && !err.contains("{ source"),
        "a debug dump: {err}"
    );
    let message = lines[0].trim_start_matches("error: ").to_owned();
    let with_json: Vec<&str> = args.iter().copied().chain(["--json"]).collect();
    let json = env.run(&with_json);
    let error: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(error["error"]["message"], message.as_str());
    assert_eq!(error["error"]["exit_code"], exit);
    message
}

#[test]
fn no_region_is_refused_before_any_request() {
    let run = run("no-region");
    // The endpoint is a closed port: a request would fail differently.
    let env = Env::new(&run)
        .keys()
        .set("AWS_ENDPOINT_URL", "http://127.0.0.1:1");
    for args in [&["status"][..], &["destroy", "--yes"], &["plan"]] {
        assert_eq!(
            one_error(&env, args, 2),
            "no AWS region: pass --region, set AWS_REGION, or set `region` in the profile (~/.aws/config)"
        );
    }
    // A profile's region is a region.
    let out = env.run(&["status", "--profile", "a"]);
    assert!(
        stderr(&out).contains("could not reach AWS"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unknown_profile_names_the_files_and_the_profiles_found() {
    let run = run("unknown-profile");
    let env = Env::new(&run)
        .keys()
        .set("AWS_ENDPOINT_URL", "http://127.0.0.1:1");
    let files = format!("{0}/aws-config or {0}/aws-credentials", run.dir.display());
    let expected = format!(
        "AWS profile `prod` is not in {files} (profiles found: a, b, legacy, norole, sso): pass a profile that exists with --profile / AWS_PROFILE, or create it with `aws configure --profile prod` (or `aws configure sso`)"
    );
    assert_eq!(
        one_error(
            &env,
            &["status", "--region", "eu-west-1", "--profile", "prod"],
            2
        ),
        expected
    );
    let env = env.set("AWS_PROFILE", "prod");
    assert_eq!(
        one_error(&env, &["status", "--region", "eu-west-1"], 2),
        expected
    );
    // Profiles in the credentials file count too.
    run.write(
        "aws-credentials",
        "[prod]\naws_access_key_id = AKID\naws_secret_access_key = s\n",
    );
    let out = env.run(&["status", "--region", "eu-west-1"]);
    assert!(
        stderr(&out).contains("could not reach AWS"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn no_credentials_says_what_was_tried_and_what_to_do() {
    let run = run("no-credentials");
    let env = Env::new(&run);
    let message = one_error(&env, &["status", "--region", "eu-west-1"], 2);
    assert!(
        message.starts_with(
            "no AWS credentials found (tried: environment variables AWS_ACCESS_KEY_ID"
        ),
        "{message}"
    );
    assert!(message.contains("profile `default` in "), "{message}");
    assert!(message.contains("EC2 instance metadata"), "{message}");
    assert!(message.contains("export AWS_ACCESS_KEY_ID"), "{message}");
}

#[test]
fn a_missing_or_expired_sso_session_says_to_log_in_with_the_profile() {
    let run = run("sso");
    let env = Env::new(&run);
    assert_eq!(
        one_error(&env, &["status", "--profile", "sso"], 2),
        "the SSO session for profile `sso` is not logged in on this machine (no cached token): run `aws sso login --profile sso` and retry"
    );
    run.write(
        SSO_CACHE,
        r#"{"accessToken":"token","expiresAt":"2020-01-01T00:00:00Z","region":"eu-west-1","startUrl":"https://example.awsapps.com/start"}"#,
    );
    assert_eq!(
        one_error(&env, &["status", "--profile", "sso"], 2),
        "the SSO session for profile `sso` has expired: run `aws sso login --profile sso` and retry"
    );
    // A legacy SSO profile (sso_start_url in the profile) without a cached token.
    let legacy = env.set("AWS_PROFILE", "legacy");
    assert_eq!(
        one_error(&legacy, &["status"], 2),
        "the SSO session for profile `legacy` is not logged in on this machine (no cached token): run `aws sso login --profile legacy` and retry"
    );
}

#[test]
fn a_profile_that_cannot_give_credentials_says_why() {
    let run = run("norole");
    let message = one_error(&Env::new(&run), &["status", "--profile", "norole"], 2);
    assert!(
        message.starts_with("the AWS profile cannot give credentials: ")
            && message.contains("source_profile"),
        "{message}"
    );
}

#[test]
fn unreachable_endpoints_are_named_with_what_failed() {
    let run = run("unreachable");
    let refused = Env::new(&run)
        .keys()
        .set("AWS_ENDPOINT_URL", "http://127.0.0.1:1");
    assert_eq!(
        one_error(&refused, &["status", "--region", "eu-west-1"], 1),
        "could not reach AWS at 127.0.0.1:1: connection refused; check the network and any proxy (HTTPS_PROXY), --region, and AWS_ENDPOINT_URL"
    );
    let dns = refused.set("AWS_ENDPOINT_URL", "http://shipline-no-such-host.invalid");
    assert_eq!(
        one_error(&dns, &["destroy", "--yes", "--region", "eu-west-1"], 1),
        "could not reach AWS at shipline-no-such-host.invalid: its name does not resolve (DNS); check the network and any proxy (HTTPS_PROXY), --region, and AWS_ENDPOINT_URL"
    );
}

/// A stand-in instance metadata service: the IMDSv2 token request (PUT) answered with a token
/// when `token` is true, else 403; every other request 403.
fn refusing_metadata_service(token: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                let mut request = [0u8; 4096];
                let n = stream.read(&mut request).unwrap_or(0);
                let response = if token && request[..n].starts_with(b"PUT ") {
                    "HTTP/1.1 200 OK\r\nx-aws-ec2-metadata-token-ttl-seconds: 21600\r\nContent-Length: 5\r\nConnection: close\r\n\r\ntoken"
                } else {
                    "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                };
                let _ = stream.write_all(response.as_bytes());
            });
        }
    });
    format!("http://{address}")
}

/// 403 to the token request (IMDS refusing IMDSv2 tokens) and to the credentials request.
/// (401 takes the second path; IMDS retries it with backoff, too slowly for a test.)
#[test]
fn an_instance_metadata_service_that_refuses_is_named_with_the_alternatives() {
    let run = run("imds");
    for token in [false, true] {
        let env = Env::new(&run).unset("AWS_EC2_METADATA_DISABLED").set(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            &refusing_metadata_service(token),
        );
        let message = one_error(&env, &["status", "--region", "eu-west-1"], 1);
        assert!(
            message.starts_with(
                "the EC2 instance metadata service refused to give credentials (HTTP 403)"
            ),
            "{message}"
        );
        assert!(
            message.contains("--profile") && message.contains("AWS_ACCESS_KEY_ID"),
            "{message}"
        );
    }
}
