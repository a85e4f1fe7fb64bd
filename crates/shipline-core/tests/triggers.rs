//! Push triggers: in each mode exactly one path starts the pipeline; the webhook rule's event
//! pattern matches exactly the pushes it should; all IAM is scoped to the exact bus, secret
//! and pipeline.

mod support;

use serde_json::{Value, json};
use support::*;

/// EventBridge matching for the operators shipline's patterns use (exact-value arrays and
/// nested objects): every pattern field must be present in the event; a leaf array matches
/// when the event value (or any element of an event array) equals one of its values.
fn event_matches(pattern: &Value, event: &Value) -> bool {
    let Some(fields) = pattern.as_object() else {
        return false;
    };
    fields.iter().all(|(key, expected)| {
        let Some(actual) = event.get(key) else {
            return false;
        };
        match expected {
            Value::Object(_) => actual.is_object() && event_matches(expected, actual),
            Value::Array(allowed) => match actual {
                Value::Array(values) => values.iter().any(|v| allowed.contains(v)),
                scalar => allowed.contains(scalar),
            },
            _ => false,
        }
    })
}

fn push_event(repository: &str, git_ref: &str, deleted: bool) -> Value {
    json!({
        "version": "0", "source": "shipline.github", "detail-type": "GitHub Push",
        "detail": { "repository": repository, "ref": git_ref, "before": "a", "after": "b", "deleted": deleted, "pusher": "octocat", "delivery": "d" },
    })
}

fn source_action(t: &Value) -> &Value {
    &only(t, "AWS::CodePipeline::Pipeline")["Properties"]["Stages"][0]["Actions"][0]
}

#[test]
fn webhook_mode_is_the_default_and_the_only_trigger() {
    let t = synth(&shipline_core::Config::default());
    assert_eq!(
        source_action(&t)["Configuration"]["DetectChanges"],
        false,
        "the Source action must not start executions itself"
    );
    assert!(
        only(&t, "AWS::CodePipeline::Pipeline")["Properties"]
            .get("Triggers")
            .is_none()
    );
    let rule = &t["Resources"]["PushRule"];
    assert_eq!(
        rule["Properties"]["EventBusName"],
        json!({ "Ref": "PushEventBus" })
    );
    assert_eq!(rule["Properties"]["Targets"].as_array().unwrap().len(), 1);
    assert_eq!(
        rule["Properties"]["Targets"][0]["Arn"],
        json!({ "Fn::Sub": "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:example-app-pipeline" })
    );
    has_resource_properties(
        &t,
        "AWS::Lambda::Url",
        json!({ "AuthType": "NONE", "TargetFunctionArn": { "Fn::GetAtt": ["WebhookFunction", "Arn"] } }),
    );
    for output in ["WebhookUrl", "WebhookSecretArn"] {
        assert!(t["Outputs"].get(output).is_some(), "{output}");
    }
}

#[test]
fn connection_mode_uses_the_native_trigger_and_no_webhook_resources() {
    let t = synth_toml(
        "[source]\ntrigger = \"connection\"\nbranch = \"release\"\n[source.file_paths]\ninclude = [\"src/**\"]\nexclude = [\"docs/**\"]\n",
    );
    assert_eq!(source_action(&t)["Configuration"]["DetectChanges"], true);
    assert_eq!(
        only(&t, "AWS::CodePipeline::Pipeline")["Properties"]["Triggers"],
        json!([{
            "ProviderType": "CodeStarSourceConnection",
            "GitConfiguration": {
                "SourceActionName": "GitHub",
                "Push": [{ "Branches": { "Includes": ["release"] }, "FilePaths": { "Includes": ["src/**"], "Excludes": ["docs/**"] } }],
            },
        }])
    );
    // The only rules are the notification rules (on the default bus, not starting anything).
    for (id, rule) in resources_of_type(&t, "AWS::Events::Rule") {
        assert!(
            ["PipelineStateRule", "StageFailureRule"].contains(&id),
            "{id}"
        );
        assert!(rule["Properties"].get("EventBusName").is_none());
    }
    for kind in [
        "AWS::Events::EventBus",
        "AWS::Lambda::Url",
        "AWS::Lambda::Permission",
        "AWS::SecretsManager::Secret",
    ] {
        assert!(
            resources_of_type(&t, kind).is_empty(),
            "{kind} must not exist in connection mode"
        );
    }
    assert_eq!(resources_of_type(&t, "AWS::Lambda::Function").len(), 1);
    assert!(t["Outputs"].get("WebhookUrl").is_none());
}

#[test]
fn rule_matches_pushes_to_the_configured_branch_only() {
    let t = synth_toml("[source]\nrepository = \"acme/orders\"\nbranch = \"release/v2\"\n");
    let pattern = &&t["Resources"]["PushRule"]["Properties"]["EventPattern"];
    assert!(event_matches(
        pattern,
        &push_event("acme/orders", "refs/heads/release/v2", false)
    ));
    for (why, event) in [
        (
            "other branch",
            push_event("acme/orders", "refs/heads/main", false),
        ),
        (
            "branch prefix",
            push_event("acme/orders", "refs/heads/release/v2-hotfix", false),
        ),
        (
            "tag push",
            push_event("acme/orders", "refs/tags/release/v2", false),
        ),
        (
            "branch deletion",
            push_event("acme/orders", "refs/heads/release/v2", true),
        ),
        (
            "other repository",
            push_event("acme/billing", "refs/heads/release/v2", false),
        ),
    ] {
        assert!(
            !event_matches(pattern, &event),
            "{why} must not start the pipeline"
        );
    }
    let mut other_source = push_event("acme/orders", "refs/heads/release/v2", false);
    other_source["source"] = json!("aws.codecommit");
    assert!(!event_matches(pattern, &other_source));
}

#[test]
fn webhook_iam_is_scoped_to_the_exact_secret_bus_and_pipeline() {
    let t = synth(&shipline_core::Config::default());
    let receiver = role_grants(&t, "WebhookRole");
    let grant = |grants: &[(String, Value)], action: &str| {
        grants
            .iter()
            .find(|(a, _)| a == action)
            .map(|(_, r)| r.clone())
            .unwrap()
    };
    assert_eq!(
        grant(&receiver, "secretsmanager:GetSecretValue"),
        json!([{ "Ref": "WebhookSecret" }])
    );
    assert_eq!(
        grant(&receiver, "events:PutEvents"),
        json!([{ "Fn::GetAtt": ["PushEventBus", "Arn"] }])
    );
    let actions: Vec<&str> = receiver.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "secretsmanager:GetSecretValue",
            "events:PutEvents",
            "logs:CreateLogStream",
            "logs:PutLogEvents"
        ]
    );

    let rule_role = role_grants(&t, "PushRuleRole");
    assert_eq!(rule_role.len(), 1);
    assert_eq!(rule_role[0].0, "codepipeline:StartPipelineExecution");
    assert_eq!(
        rule_role[0].1,
        json!([{ "Fn::Sub": "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:example-app-pipeline" }])
    );
    let trust =
        &t["Resources"]["PushRuleRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(
        trust["Principal"],
        json!({ "Service": "events.amazonaws.com" })
    );
    assert_eq!(
        trust["Condition"]["ArnLike"]["aws:SourceArn"],
        json!({ "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/example-app-github-events/example-app-push" })
    );
}

#[test]
fn public_url_grants_exactly_the_two_required_permissions() {
    let t = synth(&shipline_core::Config::default());
    let permissions: Vec<&Value> = resources_of_type(&t, "AWS::Lambda::Permission")
        .into_iter()
        .map(|(_, r)| &r["Properties"])
        .collect();
    assert_eq!(permissions.len(), 2);
    assert!(permissions.iter().any(|p| matches(p, &json!({
        "Action": "lambda:InvokeFunctionUrl", "Principal": "*", "FunctionUrlAuthType": "NONE", "FunctionName": { "Ref": "WebhookFunction" },
    }))));
    assert!(permissions.iter().any(|p| matches(p, &json!({
        "Action": "lambda:InvokeFunction", "Principal": "*", "InvokedViaFunctionUrl": true, "FunctionName": { "Ref": "WebhookFunction" },
    }))));
}

#[test]
fn receiver_is_inline_bounded_and_logs_with_retention() {
    let t = synth_toml("[logs]\nretention_days = 14\n[webhook]\nreserved_concurrency = 3\n");
    let function = &t["Resources"]["WebhookFunction"]["Properties"];
    assert_eq!(
        function["Code"]["ZipFile"],
        shipline_core::pipeline::WEBHOOK_SOURCE
    );
    assert_eq!(function["ReservedConcurrentExecutions"], 3);
    assert_eq!(
        function["Environment"]["Variables"],
        json!({ "WEBHOOK_SECRET_ARN": { "Ref": "WebhookSecret" }, "EVENT_BUS_NAME": { "Ref": "PushEventBus" } })
    );
    has_resource_properties(
        &t,
        "AWS::Logs::LogGroup",
        json!({ "LogGroupName": "/aws/lambda/example-app-webhook", "RetentionInDays": 14 }),
    );
    // The secret is generated by the stack, never written into the template.
    let secret = &t["Resources"]["WebhookSecret"]["Properties"];
    assert!(secret.get("SecretString").is_none());
    assert_eq!(secret["GenerateSecretString"]["PasswordLength"], 64);
    // Regression: by default nothing is reserved, so the stack deploys in a new account
    // (concurrency quota 10; Lambda keeps 100 unreserved, so any reservation fails there).
    let t = synth_toml("[app]\nname = \"orders\"\n");
    assert!(
        t["Resources"]["WebhookFunction"]["Properties"]
            .get("ReservedConcurrentExecutions")
            .is_none()
    );
}
