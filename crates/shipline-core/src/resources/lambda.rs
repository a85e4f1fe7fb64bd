//! Lambda functions whose Python source is embedded in the binary and placed inline, as
//! written (`Code.ZipFile`), in the template: nothing to upload at deploy time.

use serde_json::{Value, json};

use crate::iam::{Role, Statement};
use crate::template::Resource;
use crate::template::intrinsics::{get_att, ref_};

/// Runtime of every shipline function (python3.11 and older are deprecated in 2026).
pub const RUNTIME: &str = "python3.13";

#[derive(Debug, Clone)]
pub struct Function {
    pub logical_id: &'static str,
    pub name: String,
}

/// What varies between functions.
pub struct FunctionProps<'a> {
    pub description: &'a str,
    pub source: &'static str,
    pub role_arn: Value,
    pub log_group: Value,
    pub timeout_seconds: u32,
    /// Non-secret configuration (names and ARNs only; secrets stay in Secrets Manager).
    pub environment: Vec<(&'static str, Value)>,
    /// Concurrent executions reserved for the function; `None` reserves none.
    pub reserved_concurrency: Option<u32>,
}

impl Function {
    pub fn arn(&self) -> Value {
        get_att(self.logical_id, "Arn")
    }

    pub fn name_ref(&self) -> Value {
        ref_(self.logical_id)
    }

    /// The log group name Lambda would use by default; shipline creates it with retention
    /// and points the function at it explicitly (`LoggingConfig`).
    pub fn default_log_group_name(&self) -> String {
        format!("/aws/lambda/{}", self.name)
    }

    pub fn resource(&self, props: FunctionProps<'_>) -> Resource {
        let mut resource = Resource::new("AWS::Lambda::Function");
        if !props.environment.is_empty() {
            let variables: serde_json::Map<String, Value> = props
                .environment
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
            resource = resource.prop("Environment", json!({ "Variables": variables })).skip_checkov(
                "CKV_AWS_173",
                "The environment holds only resource names and ARNs, no secrets; Lambda encrypts it at rest with an AWS-managed key.",
            );
        }
        resource = match props.reserved_concurrency {
            Some(reserved) => resource.prop("ReservedConcurrentExecutions", json!(reserved)),
            None => resource.skip_checkov(
                "CKV_AWS_115",
                "Reserved concurrency would fail the deploy in new accounts, whose concurrency quota (10) leaves nothing to reserve; CodePipeline bounds invocations to one per execution.",
            ),
        };
        resource
            .prop("FunctionName", json!(self.name))
            .prop("Description", json!(props.description))
            .prop("Runtime", json!(RUNTIME))
            .prop("Architectures", json!(["arm64"]))
            .prop("Handler", json!("index.handler"))
            // The source file exactly as written (docstrings, comments, PEP 8 indentation): what
            // the Lambda console shows is the code we review. Templates over CloudFormation's
            // 51,200-byte inline limit are staged in S3 by `plan`/`deploy`.
            .prop("Code", json!({ "ZipFile": props.source }))
            .prop("Role", props.role_arn)
            .prop("Timeout", json!(props.timeout_seconds))
            .prop("MemorySize", json!(256))
            .prop("LoggingConfig", json!({ "LogGroup": props.log_group, "LogFormat": "Text" }))
            .skip_checkov(
                "CKV_AWS_116",
                "CodePipeline invokes the function asynchronously and the function reports every outcome as a job result; an invocation that still fails is retried by Lambda and then times out the action, which CodePipeline records. A dead-letter queue would hold events nobody replays.",
            )
            .skip_checkov(
                "CKV_AWS_117",
                "Calls only public AWS APIs (ECR, CodePipeline); a VPC would add NAT cost and no isolation.",
            )
    }

    /// A public function URL (`AuthType: NONE`) for this function.
    pub fn public_url(&self) -> Resource {
        Resource::new("AWS::Lambda::Url")
            .prop("TargetFunctionArn", self.arn())
            .prop("AuthType", json!("NONE"))
            .skip_checkov(
                "CKV_AWS_258",
                "GitHub cannot sign AWS requests, so the webhook URL must be public; every delivery is authenticated by its HMAC-SHA256 signature before anything is done.",
            )
    }

    /// The two resource-policy statements a public function URL needs since October 2025
    /// (AWS Lambda Developer Guide, "Control access to Lambda function URLs"): invoking the URL,
    /// and invoking the function *only through* the URL. Nothing broader.
    pub fn public_url_permissions(&self) -> [Resource; 2] {
        [
            Resource::new("AWS::Lambda::Permission")
                .prop("FunctionName", self.name_ref())
                .prop("Action", json!("lambda:InvokeFunctionUrl"))
                .prop("Principal", json!("*"))
                .prop("FunctionUrlAuthType", json!("NONE")),
            Resource::new("AWS::Lambda::Permission")
                .prop("FunctionName", self.name_ref())
                .prop("Action", json!("lambda:InvokeFunction"))
                .prop("Principal", json!("*"))
                .prop("InvokedViaFunctionUrl", json!(true)),
        ]
    }

    /// Invoke this function (what a CodePipeline Lambda invoke action does).
    pub fn grant_invoke(&self, role: &mut Role) {
        role.add(Statement::allow(
            "InvokePromotion",
            &["lambda:InvokeFunction"],
            vec![self.arn()],
        ));
    }
}
