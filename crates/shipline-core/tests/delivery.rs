//! Promotion through the configured stages: approvals, the scan gate, rollback on failure,
//! notifications through the encrypted topic, and the layer cache tag — in both trigger modes.

mod support;

use serde_json::{Value, json};
use shipline_core::Config;
use support::*;

fn stages(t: &Value) -> Vec<&Value> {
    only(t, "AWS::CodePipeline::Pipeline")["Properties"]["Stages"]
        .as_array()
        .unwrap()
        .iter()
        .collect()
}

fn stage<'a>(t: &'a Value, name: &str) -> &'a Value {
    stages(t)
        .into_iter()
        .find(|s| s["Name"] == name)
        .unwrap_or_else(|| panic!("no stage {name}"))
}

fn both_trigger_modes(extra: &str) -> [Value; 2] {
    ["webhook", "connection"].map(|mode| {
        synth_toml(&format!(
            "[source]\nrepository = \"acme/orders\"\ntrigger = \"{mode}\"\n{extra}"
        ))
    })
}

#[test]
fn every_promotion_stage_rolls_back_on_failure_and_nothing_else_does() {
    for t in both_trigger_modes("") {
        for s in stages(&t) {
            let promotes = ["dev", "staging", "production"].contains(&s["Name"].as_str().unwrap());
            assert_eq!(
                s.get("OnFailure").is_some(),
                promotes,
                "stage {}",
                s["Name"]
            );
            if promotes {
                assert_eq!(s["OnFailure"], json!({ "Result": "ROLLBACK" }));
            }
        }
        // Stage rollback is not available in PARALLEL mode: SUPERSEDED keeps it (and sends
        // the newest commit on). (An absent key would be QUEUED's default and fail here too.)
        assert_eq!(
            only(&t, "AWS::CodePipeline::Pipeline")["Properties"]["ExecutionMode"],
            "SUPERSEDED"
        );
    }
}

#[test]
fn an_approval_precedes_the_last_stage_by_default_and_is_configurable_per_stage() {
    let t = synth(&Config::default());
    let approval = &stage(&t, "Approve-production")["Actions"][0];
    assert!(matches(
        approval,
        &json!({
            "ActionTypeId": { "Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1" },
            "Configuration": { "NotificationArn": { "Ref": "NotificationTopic" } },
        })
    ));
    let custom = approval["Configuration"]["CustomData"].as_str().unwrap();
    assert!(
        custom.contains("example-app@#{BuildVariables.IMAGE_DIGEST}"),
        "{custom}"
    );
    assert!(custom.contains("to production"));
    let link = approval["Configuration"]["ExternalEntityLink"]["Fn::Sub"]
        .as_str()
        .unwrap();
    assert!(link.contains("/ecr/repositories/private/${AWS::AccountId}/example-app/_/image/#{BuildVariables.IMAGE_DIGEST}/details"));

    let t = synth_toml(
        "[[stages]]\nname = \"qa\"\napproval = true\n[[stages]]\nname = \"prod\"\napproval = false\n",
    );
    let names: Vec<&str> = stages(&t)
        .iter()
        .map(|s| s["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Source", "Build", "Scan", "Approve-qa", "qa", "prod"]
    );
}

#[test]
fn every_stage_tag_moves_and_never_expires() {
    let t = synth_toml("[[stages]]\nname = \"test\"\n[[stages]]\nname = \"live\"\n");
    let repo = only(&t, "AWS::ECR::Repository");
    let excluded: Vec<&str> = repo["Properties"]["ImageTagMutabilityExclusionFilters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["ImageTagMutabilityExclusionFilterValue"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(excluded, ["test", "live"]);
    let policy: Value = serde_json::from_str(
        repo["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let protected: Vec<&Value> = policy["rules"].as_array().unwrap()[..2]
        .iter()
        .map(|r| &r["selection"]["tagPatternList"][0])
        .collect();
    assert_eq!(protected, [&json!("test"), &json!("live")]);
}

#[test]
fn the_basic_gate_checks_the_built_digest_with_the_configured_policy() {
    for t in both_trigger_modes(
        "[scan]\nseverity = \"HIGH\"\nmax_findings = 2\nignore = [\"CVE-2024-1\", \"CVE-2024-2\"]\nwait_minutes = 15\n",
    ) {
        let action = &stage(&t, "Scan")["Actions"][0];
        assert_eq!(
            action["Configuration"]["FunctionName"],
            json!({ "Ref": "PromotionFunction" })
        );
        let params: Value =
            serde_json::from_str(action["Configuration"]["UserParameters"].as_str().unwrap())
                .unwrap();
        assert_eq!(
            params,
            json!({ "action": "scan-gate", "repository": "example-app", "digest": "#{BuildVariables.IMAGE_DIGEST}" })
        );
        assert_eq!(
            t["Resources"]["PromotionFunction"]["Properties"]["Environment"]["Variables"],
            json!({
                "GATE_SEVERITY": "HIGH",
                "GATE_MAX_FINDINGS": "2",
                "GATE_IGNORE": "CVE-2024-1,CVE-2024-2",
                "GATE_WAIT_SECONDS": "900",
            })
        );
        // The gate precedes the first promotion.
        let names: Vec<&str> = stages(&t)
            .iter()
            .map(|s| s["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names[2..4], ["Scan", "dev"]);
        let reads = role_statements(&t, "PromotionRole").into_iter().any(|s| {
            s["Action"] == json!(["ecr:DescribeImageScanFindings"])
                && s["Resource"] == json!([{ "Fn::GetAtt": ["ImageRepository", "Arn"] }])
        });
        assert!(reads);
        // Regression: with ECR enhanced scanning on the registry, DescribeImageScanFindings
        // also needs inspector2:ListFindings, which has no resource type.
        let enhanced = role_statements(&t, "PromotionRole").into_iter().any(|s| {
            s["Action"] == json!(["inspector2:ListFindings"]) && s["Resource"] == json!(["*"])
        });
        assert!(
            enhanced,
            "the gate cannot read findings under enhanced scanning"
        );
    }
    // The inspector gate does not read findings through the function.
    let t = synth_toml("[scan]\ngate = \"inspector\"\n");
    assert!(
        role_statements(&t, "PromotionRole")
            .iter()
            .all(|s| !s["Action"].to_string().contains("inspector2"))
    );
}

#[test]
fn the_inspector_gate_uses_codepipelines_action_with_per_severity_thresholds() {
    let t = synth_toml("[scan]\ngate = \"inspector\"\nseverity = \"HIGH\"\nmax_findings = 3\n");
    let action = &stage(&t, "Scan")["Actions"][0];
    assert_eq!(
        action["ActionTypeId"],
        json!({ "Category": "Invoke", "Owner": "AWS", "Provider": "InspectorScan", "Version": "1" })
    );
    assert_eq!(
        action["Configuration"],
        json!({
            "InspectorRunMode": "ECRImageScan",
            "ECRRepositoryName": "example-app",
            "ImageTag": "#{BuildVariables.IMAGE_TAG}",
            "HighThreshold": "3",
            "CriticalThreshold": "3",
        })
    );
    assert!(
        t["Resources"]["PromotionFunction"]["Properties"]
            .get("Environment")
            .is_none()
    );
    let pipeline_actions: Vec<String> = role_statements(&t, "PipelineRole")
        .iter()
        .flat_map(|s| {
            s["Action"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
        })
        .collect();
    for needed in [
        "inspector-scan:ScanSbom",
        "ecr:BatchGetImage",
        "ecr:GetAuthorizationToken",
        "logs:PutLogEvents",
    ] {
        assert!(pipeline_actions.iter().any(|a| a == needed), "{needed}");
    }
    has_resource_properties(
        &t,
        "AWS::Logs::LogGroup",
        json!({ "LogGroupName": "/aws/codepipeline/example-app-pipeline" }),
    );
    // Regression: AWS lists logs:CreateLogGroup among the action's permissions; granted on
    // that one group only, in both ARN forms (with and without the `:*` suffix).
    let creates = role_statements(&t, "PipelineRole").into_iter().any(|s| {
        s["Action"] == json!(["logs:CreateLogGroup"])
            && s["Resource"]
                == json!([
                    { "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/codepipeline/example-app-pipeline" },
                    { "Fn::GetAtt": ["PipelineLogGroup", "Arn"] },
                ])
    });
    assert!(creates);
}

#[test]
fn notifications_go_through_a_rotated_customer_managed_key_eventbridge_may_use() {
    for t in both_trigger_modes("[notifications]\nemails = [\"team@example.com\"]\n") {
        has_resource_properties(&t, "AWS::KMS::Key", json!({ "EnableKeyRotation": true }));
        let key = only(&t, "AWS::KMS::Key");
        let events = key["Properties"]["KeyPolicy"]["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Principal"] == json!({ "Service": "events.amazonaws.com" }))
            .expect("EventBridge may use the key");
        assert_eq!(
            events["Action"],
            json!(["kms:Decrypt", "kms:GenerateDataKey"])
        );
        has_resource_properties(
            &t,
            "AWS::SNS::Topic",
            json!({
                "KmsMasterKeyId": { "Fn::GetAtt": ["NotificationKey", "Arn"] },
                "Subscription": [{ "Protocol": "email", "Endpoint": "team@example.com" }],
            }),
        );
    }
}

#[test]
fn only_the_stacks_rules_and_the_pipeline_role_may_publish() {
    let t = synth(&Config::default());
    let policy = &only(&t, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]["Statement"];
    let allows: Vec<&Value> = policy
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .collect();
    assert_eq!(allows.len(), 2);
    assert_eq!(
        allows[0]["Principal"],
        json!({ "Service": "events.amazonaws.com" })
    );
    let sources = allows[0]["Condition"]["ArnEquals"]["aws:SourceArn"].to_string();
    assert!(
        sources.contains("rule/example-app-pipeline-state")
            && sources.contains("rule/example-app-stage-failed")
    );
    assert_eq!(
        allows[1]["Principal"],
        json!({ "AWS": [{ "Fn::GetAtt": ["PipelineRole", "Arn"] }] })
    );
}

#[test]
fn pipeline_results_and_stage_failures_become_readable_messages() {
    let t = synth_toml("[notifications]\non = [\"FAILED\", \"SUCCEEDED\", \"SUPERSEDED\"]\n");
    let state = &t["Resources"]["PipelineStateRule"]["Properties"];
    assert_eq!(
        state["EventPattern"],
        json!({
            "source": ["aws.codepipeline"],
            "detail-type": ["CodePipeline Pipeline Execution State Change"],
            "detail": { "pipeline": ["example-app-pipeline"], "state": ["SUCCEEDED", "SUPERSEDED"] },
        })
    );
    let failed = &t["Resources"]["StageFailureRule"]["Properties"];
    assert_eq!(
        failed["EventPattern"]["detail-type"],
        json!(["CodePipeline Stage Execution State Change"])
    );
    assert_eq!(failed["EventPattern"]["detail"]["state"], json!(["FAILED"]));
    let transformer = &failed["Targets"][0]["InputTransformer"];
    assert_eq!(
        failed["Targets"][0]["Arn"],
        json!({ "Ref": "NotificationTopic" })
    );
    assert_eq!(transformer["InputPathsMap"]["stage"], "$.detail.stage");
    let message = transformer["InputTemplate"].as_str().unwrap();
    for part in [
        "<pipeline>",
        "stage <stage>",
        "<state>",
        "execution <execution>",
        "/executions/<execution>/timeline",
    ] {
        assert!(message.contains(part), "{part} in {message}");
    }
    // Only failures configured: no pipeline-state rule.
    let t = synth_toml("[notifications]\non = [\"FAILED\"]\n");
    assert!(t["Resources"].get("PipelineStateRule").is_none());
}

/// The worst case the config allows — five stages with the longest names, 50 tags at the
/// longest key and value, every build variable at its limit up to the config file's size cap,
/// the longest ignore list, many subscriptions — still fits the 1 MB CloudFormation reads from
/// S3 (TemplateURL), the route `plan`/`deploy` take above 51,200 bytes.
#[test]
fn the_worst_case_config_fits_cloudformations_template_url_limit() {
    let mut toml = String::from(
        "[app]\nname = \"abcdefghijklmnopqrstuvwx\"\n[source]\nrepository = \"acme/orders\"\n",
    );
    for i in 0..5 {
        toml.push_str(&format!(
            "[[stages]]\nname = \"s{i}{}\"\napproval = true\n",
            "x".repeat(90)
        ));
    }
    toml.push_str("[notifications]\nemails = [");
    for i in 0..200 {
        toml.push_str(&format!("\"team{i}@example.com\","));
    }
    toml.push_str("]\n[tags]\n");
    for i in 0..48 {
        toml.push_str(&format!(
            "k{i:02}{} = \"{}\"\n",
            "k".repeat(124),
            "v".repeat(255)
        ));
    }
    toml.push_str("[build.environment]\n");
    let budget = shipline_core::config::MAX_CONFIG_BYTES - toml.len() - 1024;
    for i in 0..budget / 4200 {
        toml.push_str(&format!("V{i} = \"{}\"\n", "v".repeat(4096)));
    }
    let t = synth_toml(&toml);
    let size = serde_json::to_string(&t).unwrap().len();
    assert!(size < 1_000_000, "worst-case template is {size} bytes");
    eprintln!("worst-case template: {size} bytes as compact JSON");
}

/// CodePipeline requires variable namespaces to be unique in a pipeline; stage names that differ
/// only in punctuation ("de-v", "dev") must not produce the same one.
#[test]
fn variable_namespaces_are_unique_whatever_the_stage_names() {
    let t = synth_toml("[[stages]]\nname = \"de-v\"\n[[stages]]\nname = \"dev\"\n");
    let namespaces: Vec<&str> = stages(&t)
        .iter()
        .flat_map(|s| s["Actions"].as_array().unwrap())
        .filter_map(|a| a["Namespace"].as_str())
        .collect();
    let mut unique = namespaces.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), namespaces.len(), "{namespaces:?}");
}

/// CodeConnections names are unique per account, not per region: the same app in two regions
/// must get two names, each within the 32-character limit, for every region it may go to.
#[test]
fn the_created_connection_is_named_per_region_within_32_characters() {
    let app = "abcdefghij-klmnopqrst-uv";
    let t = synth_toml(&format!("[app]\nname = \"{app}\"\n"));
    assert_eq!(
        t["Resources"]["GitHubConnection"]["Properties"]["ConnectionName"],
        json!({ "Fn::Join": ["-", [app, { "Fn::FindInMap": ["RegionCodes", { "Ref": "AWS::Region" }, "Code"] }]] })
    );
    let codes = t["Mappings"]["RegionCodes"].as_object().unwrap();
    let mut names = std::collections::BTreeSet::new();
    assert!(
        codes.contains_key("me-south-1"),
        "regions cfn-lint lists without data too"
    );
    for region in shipline_core::regions::known() {
        let code = codes[region]["Code"].as_str().unwrap();
        let name = format!("{app}-{code}");
        assert!(name.len() <= 32, "{name}");
        assert!(names.insert(name.clone()), "{name} twice");
        assert_eq!(
            shipline_core::pipeline::connection_name(app, region),
            Some(name)
        );
    }
    assert_eq!(
        shipline_core::pipeline::connection_name("orders", "eu-west-1").as_deref(),
        Some("orders-euw1")
    );
    // With an existing connection, nothing is created and no mapping is needed.
    let t = synth_toml(
        "[source]\nconnection_arn = \"arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-1111-2222-3333-444455556666\"\n",
    );
    assert!(t.get("Mappings").is_none());
}

/// Least privilege: with no approval stage, the pipeline role may not publish to the topic,
/// and the topic policy admits no publisher role (an empty principal list is invalid IAM).
#[test]
fn without_approvals_the_pipeline_role_is_not_a_publisher() {
    let t = synth_toml("[[stages]]\nname = \"dev\"\napproval = false\n");
    let policy = &t["Resources"]["NotificationTopicPolicy"]["Properties"]["PolicyDocument"];
    let sids: Vec<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(sids, ["DenyInsecureTransport", "StackRulesPublish"]);
    assert!(
        role_statements(&t, "PipelineRole")
            .iter()
            .all(|s| !s["Action"].to_string().contains("sns:Publish"))
    );
}

const ECS_STAGE: &str = r#"
[[stages]]
name = "staging"

[[stages]]
name = "production"

[stages.deploy.ecs]
cluster = "prod"
service = "orders-web"
container = "web"
pass_roles = ["orders-task"]
wait_minutes = 30
"#;

#[test]
fn a_stage_with_an_ecs_target_deploys_the_promoted_digest_after_moving_its_tag() {
    let t = synth_toml(&format!(
        "[source]\nrepository = \"acme/orders\"\n{ECS_STAGE}"
    ));
    // Only the stage with a target deploys.
    assert_eq!(stage(&t, "staging")["Actions"].as_array().unwrap().len(), 1);
    let actions = stage(&t, "production")["Actions"].as_array().unwrap();
    assert_eq!(actions[0]["Name"], "Promote");
    assert_eq!(actions[0]["RunOrder"], 1);
    let deploy = &actions[1];
    assert_eq!(deploy["Name"], "Deploy");
    assert_eq!(
        deploy["RunOrder"], 2,
        "the tag moves first, then the service"
    );
    assert_eq!(
        deploy["Configuration"]["FunctionName"],
        json!({ "Ref": "PromotionFunction" })
    );
    let pattern = deploy["Configuration"]["UserParameters"]["Fn::Sub"]
        .as_str()
        .expect("the parameters resolve the repository URI and role ARNs");
    let parameters: Value = serde_json::from_str(pattern).unwrap();
    assert_eq!(
        parameters,
        json!({
            "action": "deploy-ecs",
            "image": "${ImageRepository.RepositoryUri}",
            "digest": "#{BuildVariables.IMAGE_DIGEST}",
            "cluster": "prod",
            "service": "orders-web",
            "container": "web",
            "pass_roles": ["arn:${AWS::Partition}:iam::${AWS::AccountId}:role/orders-task"],
            "wait_seconds": 1800,
        })
    );
    // A failed deployment fails the stage, whose rollback re-runs both actions.
    assert_eq!(
        stage(&t, "production")["OnFailure"],
        json!({ "Result": "ROLLBACK" })
    );
}

#[test]
fn ecs_grants_name_the_target_services_and_roles_only() {
    let t = synth_toml(&format!(
        "[source]\nrepository = \"acme/orders\"\n{ECS_STAGE}"
    ));
    let grants = role_grants(&t, "PromotionRole");
    let service = json!({ "Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/prod/orders-web" });
    let find = |sid: &str| {
        role_statements(&t, "PromotionRole")
            .into_iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("no statement {sid}: {grants:?}"))
            .clone()
    };
    assert_eq!(find("DeployToEcsServices")["Resource"], json!([service]));
    assert_eq!(
        find("PassTaskRoles")["Condition"],
        json!({ "StringEquals": { "iam:PassedToService": "ecs-tasks.amazonaws.com" } })
    );
    assert_eq!(
        find("PassTaskRoles")["Resource"],
        json!([{ "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/orders-task" }])
    );
    // Without targets, the function has no ECS or PassRole access at all.
    let plain = synth_toml("[source]\nrepository = \"acme/orders\"\n");
    let actions: Vec<String> = role_statements(&plain, "PromotionRole")
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap().clone())
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert!(
        actions
            .iter()
            .all(|a| !a.starts_with("ecs:") && a != "iam:PassRole"),
        "{actions:?}"
    );
}

const LAMBDA_STAGE: &str = r#"
[[stages]]
name = "production"

[stages.deploy.lambda]
function = "orders-api"
alias = "live"
"#;

#[test]
fn a_stage_with_a_lambda_target_publishes_the_promoted_digest_and_moves_the_alias() {
    let t = synth_toml(&format!(
        "[source]\nrepository = \"acme/orders\"\n{LAMBDA_STAGE}"
    ));
    let actions = stage(&t, "production")["Actions"].as_array().unwrap();
    assert_eq!(
        actions
            .iter()
            .map(|a| (a["Name"].as_str().unwrap(), a["RunOrder"].as_u64().unwrap()))
            .collect::<Vec<_>>(),
        [("Promote", 1), ("Deploy", 2)]
    );
    let pattern = actions[1]["Configuration"]["UserParameters"]["Fn::Sub"]
        .as_str()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(pattern).unwrap(),
        json!({
            "action": "deploy-lambda",
            "image": "${ImageRepository.RepositoryUri}",
            "digest": "#{BuildVariables.IMAGE_DIGEST}",
            "function": "orders-api",
            "alias": "live",
            "wait_seconds": 1800,
        })
    );
    // The delivery function carries the Lambda part of its code, not the ECS part.
    let code = t["Resources"]["PromotionFunction"]["Properties"]["Code"]["ZipFile"].clone();
    let code = code.as_str().unwrap();
    assert!(code.contains("ACTIONS[\"deploy-lambda\"]"));
    assert!(!code.contains("ACTIONS[\"deploy-ecs\"]"));
}

#[test]
fn lambda_grants_and_the_repository_policy_name_the_target_function_only() {
    let t = synth_toml(&format!(
        "[source]\nrepository = \"acme/orders\"\n{LAMBDA_STAGE}"
    ));
    let function = json!({ "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:orders-api" });
    let versions = json!({ "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:orders-api:*" });
    let deploy = role_statements(&t, "PromotionRole")
        .into_iter()
        .find(|s| s["Sid"] == "DeployToLambdaFunctions")
        .expect("a Lambda deploy grant")
        .clone();
    assert_eq!(deploy["Resource"], json!([function, versions]));
    let policy = &only(&t, "AWS::ECR::Repository")["Properties"]["RepositoryPolicyText"];
    assert_eq!(
        policy["Statement"][0]["Principal"],
        json!({ "Service": "lambda.amazonaws.com" })
    );
    assert_eq!(
        policy["Statement"][0]["Condition"]["ArnLike"]["aws:sourceArn"],
        json!([function, versions])
    );
    // Without a Lambda target: no repository policy and no Lambda grant.
    let plain = synth_toml("[source]\nrepository = \"acme/orders\"\n");
    assert!(
        only(&plain, "AWS::ECR::Repository")["Properties"]
            .get("RepositoryPolicyText")
            .is_none()
    );
    assert!(
        role_statements(&plain, "PromotionRole")
            .iter()
            .all(|s| s["Sid"] != "DeployToLambdaFunctions")
    );
}
