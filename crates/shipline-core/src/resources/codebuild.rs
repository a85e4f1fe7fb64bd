//! The CodeBuild project that builds the Docker image and pushes it to ECR tagged with the
//! commit id. The buildspec is shipline's own ([`BUILDSPEC`]), inline in the project.

use serde_json::{Value, json};

use crate::iam::{Role, Statement};
use crate::template::Resource;
use crate::template::intrinsics::{get_att, ref_, regional_arn};

/// The buildspec. Inputs arrive as environment variables (`REPOSITORY_URI`, `REPOSITORY_NAME`,
/// `DOCKERFILE`, `BUILD_CONTEXT` from the project; `COMMIT_ID` from the pipeline's Source
/// variables), so the text is the same for every app.
///
/// Commit tags are immutable: if this commit was already pushed (a retried execution), the
/// build reuses that image instead of failing on the tag. The digest is read back from ECR —
/// it is the digest of what the tag points at (an image index when buildx pushes one) — and
/// exported as `IMAGE_DIGEST`/`IMAGE_URI` variables and in `imageDetail.json`.
///
/// Layer cache: CodeBuild's local Docker layer cache only (`LOCAL_DOCKER_LAYER_CACHE`, below).
/// No registry cache: Docker documents the `inline` and `registry` cache backends of the
/// default `docker` build driver as working only with the containerd image store (Docker docs,
/// "Cache storage backends"), which CodeBuild's Docker daemon does not enable, and
/// moby/buildkit#5242 reports inline cache import failing with dockerd 27 and later; the
/// `docker-container` driver would pull BuildKit's image from Docker Hub on every build.
///
/// Every command is a plain scalar without `: ` or a literal block (`|`): YAML reads an
/// unquoted `key: value` inside a command as a mapping and CodeBuild fails the build with
/// `YAML_FILE_ERROR ... found subkeys instead` (CodeBuild User Guide, "Build specification
/// reference": quote commands that contain a colon followed by a space). The unit test below
/// parses the text as YAML; tests/pipeline runs every phase in bash.
pub const BUILDSPEC: &str = include_str!("buildspec.yml");

#[derive(Debug, Clone)]
pub struct BuildProject {
    pub logical_id: &'static str,
    pub name: String,
}

/// Everything the project needs from the rest of the stack.
pub struct BuildProjectProps<'a> {
    pub role_arn: Value,
    pub log_group: Value,
    pub repository_uri: Value,
    pub repository_name: Value,
    pub dockerfile: &'a str,
    pub context: &'a str,
    pub extra_environment: Vec<(String, String)>,
}

fn plaintext(name: &str, value: Value) -> Value {
    json!({ "Name": name, "Type": "PLAINTEXT", "Value": value })
}

impl BuildProject {
    pub fn arn(&self) -> Value {
        get_att(self.logical_id, "Arn")
    }

    pub fn name_ref(&self) -> Value {
        ref_(self.logical_id)
    }

    /// This project's ARN, written out (for trust conditions that must not reference the
    /// project itself).
    pub fn arn_by_name(&self) -> Value {
        regional_arn("codebuild", &format!("project/{}", self.name))
    }

    pub fn resource(&self, props: BuildProjectProps<'_>) -> Resource {
        let mut variables = vec![
            plaintext("REPOSITORY_URI", props.repository_uri),
            plaintext("REPOSITORY_NAME", props.repository_name),
            plaintext("DOCKERFILE", json!(props.dockerfile)),
            plaintext("BUILD_CONTEXT", json!(props.context)),
        ];
        variables.extend(
            props
                .extra_environment
                .into_iter()
                .map(|(k, v)| plaintext(&k, json!(v))),
        );
        Resource::new("AWS::CodeBuild::Project")
            .prop("Name", json!(self.name))
            .prop("Description", json!("Builds the Docker image and pushes it to ECR tagged with the commit id"))
            .prop("ServiceRole", props.role_arn)
            .prop("Source", json!({ "Type": "CODEPIPELINE", "BuildSpec": BUILDSPEC }))
            .prop("Artifacts", json!({ "Type": "CODEPIPELINE" }))
            .prop(
                "Environment",
                json!({
                    "Type": "LINUX_CONTAINER",
                    "ComputeType": "BUILD_GENERAL1_SMALL",
                    "Image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
                    "ImagePullCredentialsType": "CODEBUILD",
                    "PrivilegedMode": true,
                    "EnvironmentVariables": variables,
                }),
            )
            .prop("Cache", json!({ "Type": "LOCAL", "Modes": ["LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE"] }))
            .prop(
                "LogsConfig",
                json!({
                    "CloudWatchLogs": { "Status": "ENABLED", "GroupName": props.log_group },
                    "S3Logs": { "Status": "DISABLED" },
                }),
            )
            .prop("TimeoutInMinutes", json!(30))
            .prop("QueuedTimeoutInMinutes", json!(60))
            .skip_checkov(
                "CKV_AWS_316",
                "Privileged mode is required to run the Docker daemon that builds the image.",
            )
            .skip_checkov(
                "CKV_AWS_147",
                "Build artifacts are encrypted with the AWS-managed S3 key; the artifact store uses SSE-S3 as required, not a customer-managed KMS key.",
            )
    }

    /// Start this project's builds and follow them (what a CodePipeline build action does).
    pub fn grant_start(&self, role: &mut Role) {
        role.add(Statement::allow(
            "RunBuilds",
            &["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
            vec![self.arn()],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::BUILDSPEC;

    /// Regression: a command holding `: ` outside quotes was read as a mapping, failing every
    /// build. CodeBuild requires each command to be a string.
    #[test]
    fn every_buildspec_command_is_a_string() {
        let spec: serde_json::Value = serde_norway::from_str(BUILDSPEC).expect("buildspec is YAML");
        let phases = spec["phases"].as_object().expect("phases");
        assert!(phases.contains_key("build"));
        for (phase, body) in phases {
            for (i, command) in body["commands"]
                .as_array()
                .expect("commands")
                .iter()
                .enumerate()
            {
                assert!(
                    command.is_string(),
                    "phases.{phase}.commands[{i}] is {command}"
                );
            }
        }
    }
}
