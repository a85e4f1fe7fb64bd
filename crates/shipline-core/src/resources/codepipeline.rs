//! CodePipeline (V2): the pipeline resource and the grant a job worker (the promotion
//! function) needs to report its result.

use serde_json::{Value, json};

use crate::iam::{Role, Statement};
use crate::template::Resource;
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
    pub fn resource(&self, role: &Role, artifact_bucket: Value, stages: Vec<Value>) -> Resource {
        Resource::new("AWS::CodePipeline::Pipeline")
            .prop("Name", json!(self.name))
            .prop("PipelineType", json!("V2"))
            .prop("ExecutionMode", json!("SUPERSEDED"))
            .prop("RoleArn", role.arn())
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
