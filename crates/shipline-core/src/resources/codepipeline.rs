//! CodePipeline (V2): the pipeline resource, the stages and actions it is made of (each action
//! type's configuration as the CodePipeline action structure reference defines it), the native
//! push trigger, and the grant a job worker (the promotion function) needs to report its result.

use serde_json::{Value, json};

use crate::iam::{Role, Statement};
use crate::template::Resource;
use crate::template::embedded_json;
use crate::template::intrinsics::{ref_, regional_arn, sub};

#[derive(Debug, Clone)]
pub struct Pipeline {
    pub logical_id: &'static str,
    pub name: String,
}

impl Pipeline {
    pub fn name_ref(&self) -> Value {
        ref_(self.logical_id)
    }

    /// This pipeline's ARN, written out (for the trust condition of its own role).
    pub fn arn_by_name(&self) -> Value {
        regional_arn("codepipeline", &self.name)
    }

    /// Console URL of the pipeline's execution history.
    pub fn console_url(&self) -> Value {
        sub(&format!(
            "https://${{AWS::Region}}.console.aws.amazon.com/codesuite/codepipeline/pipelines/${{{}}}/view?region=${{AWS::Region}}",
            self.logical_id
        ))
    }

    /// A V2 pipeline with an S3 artifact store. `SUPERSEDED`: a newer execution replaces an
    /// older one waiting at a stage boundary, so production gets the latest commit, and stage
    /// rollback (not available in PARALLEL mode) stays possible.
    pub fn resource(
        &self,
        role_arn: Value,
        artifact_bucket: Value,
        stages: Vec<Value>,
    ) -> Resource {
        Resource::new("AWS::CodePipeline::Pipeline")
            .prop("Name", json!(self.name))
            .prop("PipelineType", json!("V2"))
            .prop("ExecutionMode", json!("SUPERSEDED"))
            .prop("RoleArn", role_arn)
            .prop("ArtifactStore", json!({ "Type": "S3", "Location": artifact_bucket }))
            .prop("RestartExecutionOnUpdate", json!(false))
            .prop("Stages", Value::Array(stages))
            .skip_checkov(
                "CKV_AWS_219",
                "The artifact store is encrypted with SSE-S3 (AWS-managed keys), as required; a customer-managed KMS key is not.",
            )
    }
}

impl Pipeline {
    /// Start executions of this pipeline (an EventBridge rule target's role).
    pub fn grant_start_execution(&self, role: &mut Role) {
        role.add(Statement::allow(
            "StartPipeline",
            &["codepipeline:StartPipelineExecution"],
            vec![self.arn_by_name()],
        ));
    }
}

/// Report job results back to CodePipeline (a Lambda invoke action's worker).
pub fn grant_put_job_result(role: &mut Role) {
    role.add(Statement::on_any_resource(
        "ReportJobResult",
        &["codepipeline:PutJobFailureResult", "codepipeline:PutJobSuccessResult"],
        "codepipeline:PutJobSuccessResult/PutJobFailureResult support no resource-level permissions: the Service Authorization Reference lists no resource type for them",
    ));
}

/// A stage running `actions`.
pub fn stage(name: &str, actions: Vec<Value>) -> Value {
    json!({ "Name": name, "Actions": actions })
}

/// A stage that, when it fails, rolls back to the last execution in which it succeeded
/// (`OnFailure: ROLLBACK`; CodePipeline User Guide, "Configure stage rollback").
pub fn stage_rolling_back(name: &str, actions: Vec<Value>) -> Value {
    json!({ "Name": name, "Actions": actions, "OnFailure": { "Result": "ROLLBACK" } })
}

fn action_type(category: &str, provider: &str) -> Value {
    json!({ "Category": category, "Owner": "AWS", "Provider": provider, "Version": "1" })
}

/// The GitHub (version 2) source action `GitHub`, exposing `SourceVariables`. With
/// `detect_changes` false it starts nothing itself (another trigger does).
pub fn github_source_action(
    connection_arn: Value,
    repository: &str,
    branch: &str,
    detect_changes: bool,
) -> Value {
    json!({
        "Name": "GitHub",
        "ActionTypeId": action_type("Source", "CodeStarSourceConnection"),
        "Configuration": {
            "ConnectionArn": connection_arn,
            "FullRepositoryId": repository,
            "BranchName": branch,
            "OutputArtifactFormat": "CODE_ZIP",
            "DetectChanges": detect_changes,
        },
        "OutputArtifacts": [{ "Name": "SourceOutput" }],
        "Namespace": "SourceVariables",
        "RunOrder": 1,
    })
}

/// The CodeBuild action `DockerImage`: builds the source with `project`, passing `variables`
/// (name, value) as plain-text environment variables; exposes `BuildVariables`.
pub fn codebuild_action(project: Value, variables: &[(&str, &str)]) -> Value {
    let variables: Vec<Value> = variables
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value, "type": "PLAINTEXT" }))
        .collect();
    json!({
        "Name": "DockerImage",
        "ActionTypeId": action_type("Build", "CodeBuild"),
        "Configuration": {
            "ProjectName": project,
            "EnvironmentVariables": embedded_json(Value::Array(variables)),
        },
        "InputArtifacts": [{ "Name": "SourceOutput" }],
        "OutputArtifacts": [{ "Name": "ImageDetail" }],
        "Namespace": "BuildVariables",
        "RunOrder": 1,
    })
}

/// A Lambda invoke action `name` calling `function` with `parameters` as UserParameters,
/// exposing `namespace` when given.
pub fn lambda_action(
    name: &str,
    function: Value,
    parameters: Value,
    namespace: Option<&str>,
) -> Value {
    let mut action = json!({
        "Name": name,
        "ActionTypeId": action_type("Invoke", "Lambda"),
        "Configuration": { "FunctionName": function, "UserParameters": embedded_json(parameters) },
        "RunOrder": 1,
    });
    if let Some(namespace) = namespace {
        action["Namespace"] = json!(namespace);
    }
    action
}

/// A manual approval `Approval` whose request goes to `topic` with `custom_data` and `link`.
pub fn approval_action(topic: Value, custom_data: String, link: Value) -> Value {
    json!({
        "Name": "Approval",
        "ActionTypeId": action_type("Approval", "Manual"),
        "Configuration": {
            "NotificationArn": topic,
            "CustomData": custom_data,
            "ExternalEntityLink": link,
        },
        "RunOrder": 1,
    })
}

/// CodePipeline's InspectorScan action on `repository:image_tag` with per-severity
/// `thresholds` (configuration key, count); exposes `ScanVariables`.
pub fn inspector_scan_action(
    repository: &str,
    image_tag: &str,
    thresholds: &[(&str, String)],
) -> Value {
    let mut configuration = serde_json::Map::new();
    configuration.insert("InspectorRunMode".into(), json!("ECRImageScan"));
    configuration.insert("ECRRepositoryName".into(), json!(repository));
    configuration.insert("ImageTag".into(), json!(image_tag));
    for (key, count) in thresholds {
        configuration.insert((*key).into(), json!(count));
    }
    json!({
        "Name": "InspectorScan",
        "ActionTypeId": action_type("Invoke", "InspectorScan"),
        "Configuration": configuration,
        "OutputArtifacts": [{ "Name": "InspectorSbom" }],
        "Namespace": "ScanVariables",
        "RunOrder": 1,
    })
}

/// V2's native trigger: pushes to `branch` (optionally filtered by file-path globs) start the
/// pipeline through the source action `GitHub`.
pub fn push_trigger(branch: &str, include: &[String], exclude: &[String]) -> Value {
    let mut push = serde_json::Map::new();
    push.insert("Branches".into(), json!({ "Includes": [branch] }));
    if !include.is_empty() || !exclude.is_empty() {
        let mut file_paths = serde_json::Map::new();
        if !include.is_empty() {
            file_paths.insert("Includes".into(), json!(include));
        }
        if !exclude.is_empty() {
            file_paths.insert("Excludes".into(), json!(exclude));
        }
        push.insert("FilePaths".into(), Value::Object(file_paths));
    }
    json!([{
        "ProviderType": "CodeStarSourceConnection",
        "GitConfiguration": { "SourceActionName": "GitHub", "Push": [push] },
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_action_exposes_its_variables_and_honours_detect_changes() {
        let action = github_source_action(json!("arn"), "acme/orders", "main", false);
        assert_eq!(action["Namespace"], "SourceVariables");
        assert_eq!(action["Configuration"]["DetectChanges"], false);
        assert_eq!(
            action["ActionTypeId"]["Provider"],
            "CodeStarSourceConnection"
        );
    }

    #[test]
    fn lambda_parameters_travel_as_compact_sorted_json() {
        let action = lambda_action(
            "Promote",
            json!({ "Ref": "F" }),
            json!({ "tag": "dev", "digest": "d" }),
            None,
        );
        assert_eq!(
            action["Configuration"]["UserParameters"],
            r#"{"digest":"d","tag":"dev"}"#
        );
        assert!(action.get("Namespace").is_none());
        let gate = lambda_action("ScanGate", json!("f"), json!({}), Some("ScanVariables"));
        assert_eq!(gate["Namespace"], "ScanVariables");
    }

    #[test]
    fn the_native_trigger_filters_paths_only_when_asked() {
        let plain = push_trigger("main", &[], &[]);
        assert!(
            plain[0]["GitConfiguration"]["Push"][0]
                .get("FilePaths")
                .is_none()
        );
        let filtered = push_trigger("main", &["src/**".into()], &[]);
        assert_eq!(
            filtered[0]["GitConfiguration"]["Push"][0]["FilePaths"],
            json!({ "Includes": ["src/**"] })
        );
    }

    #[test]
    fn a_promotion_stage_rolls_back_and_an_approval_stage_does_not() {
        assert_eq!(
            stage_rolling_back("dev", vec![])["OnFailure"],
            json!({ "Result": "ROLLBACK" })
        );
        assert!(stage("Approve-dev", vec![]).get("OnFailure").is_none());
    }
}
