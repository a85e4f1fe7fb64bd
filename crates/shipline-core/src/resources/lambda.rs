//! Lambda functions whose Python source is embedded in the binary and placed inline, as
//! written (`Code.ZipFile`), in the template: nothing to upload at deploy time; and existing
//! container-image functions the stages deploy to ([`TargetFunction`]).

use serde_json::{Value, json};

use crate::iam::{Role, Statement};
use crate::template::Resource;
use crate::template::intrinsics::{get_att, ref_, sub};

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
    pub source: &'a str,
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

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\"\"\"Receiver.\"\"\"\n\n\ndef handler(event, context):\n    # keep me\n    return {\"statusCode\": 200}\n";

    fn function() -> Function {
        Function {
            logical_id: "WebhookFunction",
            name: "orders-webhook".to_owned(),
        }
    }

    fn props(
        environment: Vec<(&'static str, Value)>,
        reserved_concurrency: Option<u32>,
    ) -> FunctionProps<'static> {
        FunctionProps {
            description: "receives webhooks",
            source: SOURCE,
            role_arn: json!({ "Fn::GetAtt": ["WebhookRole", "Arn"] }),
            log_group: json!({ "Ref": "WebhookLogGroup" }),
            timeout_seconds: 10,
            environment,
            reserved_concurrency,
        }
    }

    fn checkov_skips(resource: &Resource) -> Vec<String> {
        resource.metadata["checkov"]["skip"]
            .as_array()
            .expect("checkov skips")
            .iter()
            .map(|skip| skip["id"].as_str().expect("id").to_owned())
            .collect()
    }

    #[test]
    fn the_inline_code_is_the_source_exactly_as_given() {
        let resource = function().resource(props(vec![], None));
        assert_eq!(resource.type_name, "AWS::Lambda::Function");
        assert_eq!(resource.properties["Code"], json!({ "ZipFile": SOURCE }));
        assert_eq!(resource.properties["Handler"], "index.handler");
        assert_eq!(resource.properties["Runtime"], RUNTIME);
        assert_eq!(resource.properties["Architectures"], json!(["arm64"]));
    }

    #[test]
    fn the_function_uses_the_given_role_timeout_and_log_group() {
        let resource = function().resource(props(vec![], None));
        let p = &resource.properties;
        assert_eq!(p["FunctionName"], "orders-webhook");
        assert_eq!(p["Description"], "receives webhooks");
        assert_eq!(p["Role"], json!({ "Fn::GetAtt": ["WebhookRole", "Arn"] }));
        assert_eq!(p["Timeout"], 10);
        assert_eq!(
            p["LoggingConfig"],
            json!({ "LogGroup": { "Ref": "WebhookLogGroup" }, "LogFormat": "Text" })
        );
        assert_eq!(
            function().default_log_group_name(),
            "/aws/lambda/orders-webhook"
        );
    }

    #[test]
    fn no_reserved_concurrency_records_the_ckv_aws_115_skip() {
        let resource = function().resource(props(vec![], None));
        assert!(
            !resource
                .properties
                .contains_key("ReservedConcurrentExecutions")
        );
        assert!(checkov_skips(&resource).contains(&"CKV_AWS_115".to_owned()));
    }

    #[test]
    fn reserved_concurrency_is_set_as_given_without_the_skip() {
        let resource = function().resource(props(vec![], Some(3)));
        assert_eq!(resource.properties["ReservedConcurrentExecutions"], 3);
        assert!(!checkov_skips(&resource).contains(&"CKV_AWS_115".to_owned()));
    }

    #[test]
    fn environment_variables_are_set_only_when_given() {
        let plain = function().resource(props(vec![], None));
        assert!(!plain.properties.contains_key("Environment"));
        assert!(!checkov_skips(&plain).contains(&"CKV_AWS_173".to_owned()));

        let configured = function().resource(props(
            vec![
                ("EVENT_BUS_NAME", json!({ "Ref": "Bus" })),
                ("SECRET_ARN", json!({ "Ref": "Secret" })),
            ],
            None,
        ));
        assert_eq!(
            configured.properties["Environment"],
            json!({ "Variables": {
                "EVENT_BUS_NAME": { "Ref": "Bus" },
                "SECRET_ARN": { "Ref": "Secret" },
            }})
        );
        assert!(checkov_skips(&configured).contains(&"CKV_AWS_173".to_owned()));
    }

    #[test]
    fn the_public_url_has_no_auth_and_targets_this_function() {
        let url = function().public_url();
        assert_eq!(url.type_name, "AWS::Lambda::Url");
        assert_eq!(url.properties["AuthType"], "NONE");
        assert_eq!(
            url.properties["TargetFunctionArn"],
            json!({ "Fn::GetAtt": ["WebhookFunction", "Arn"] })
        );
    }

    #[test]
    fn public_url_permissions_are_exactly_the_two_url_statements() {
        let [url, invoke] = function().public_url_permissions();
        for permission in [&url, &invoke] {
            assert_eq!(permission.type_name, "AWS::Lambda::Permission");
        }
        assert_eq!(
            Value::Object(url.properties),
            json!({
                "FunctionName": { "Ref": "WebhookFunction" },
                "Action": "lambda:InvokeFunctionUrl",
                "Principal": "*",
                "FunctionUrlAuthType": "NONE",
            })
        );
        assert_eq!(
            Value::Object(invoke.properties),
            json!({
                "FunctionName": { "Ref": "WebhookFunction" },
                "Action": "lambda:InvokeFunction",
                "Principal": "*",
                "InvokedViaFunctionUrl": true,
            })
        );
    }

    #[test]
    fn grant_invoke_allows_invoking_this_function_only() {
        let mut role = Role::new("PipelineRole", "test", "codepipeline.amazonaws.com");
        function().grant_invoke(&mut role);
        assert_eq!(
            role.statements,
            vec![Statement::allow(
                "InvokePromotion",
                &["lambda:InvokeFunction"],
                vec![json!({ "Fn::GetAtt": ["WebhookFunction", "Arn"] })],
            )]
        );
    }
}

/// An existing container-image function a stage deploys to (`[stages.deploy.lambda]`), in the
/// stack's account and region; not created by the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetFunction {
    pub name: String,
}

impl TargetFunction {
    /// The unqualified function ARN.
    pub fn arn(&self) -> Value {
        sub(&format!(
            "arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{}",
            self.name
        ))
    }

    /// The function's versions and aliases (`function:<name>:<qualifier>`).
    pub fn qualified_arns(&self) -> Value {
        sub(&format!(
            "arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{}:*",
            self.name
        ))
    }
}

/// What deploying an image to `functions` takes: read each function, set its image, publish
/// a version, read that version's state, move an alias — on those functions, their versions and
/// aliases only.
pub fn grant_deploy_image(role: &mut Role, functions: &[TargetFunction]) {
    if functions.is_empty() {
        return;
    }
    role.add(Statement::allow(
        "DeployToLambdaFunctions",
        &[
            "lambda:GetAlias",
            "lambda:GetFunction",
            "lambda:GetFunctionConfiguration",
            "lambda:PublishVersion",
            "lambda:UpdateAlias",
            "lambda:UpdateFunctionCode",
        ],
        functions
            .iter()
            .flat_map(|f| [f.arn(), f.qualified_arns()])
            .collect(),
    )
    .accepting(
        "PRIVILEGE_ESCALATION",
        "setting the code of the functions named in [stages.deploy.lambda] is the deploy itself; the grant names those functions only, and the delivery function sets them to the digest the pipeline built",
    ));
}
