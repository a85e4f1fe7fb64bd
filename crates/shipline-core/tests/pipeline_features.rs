//! The reference pipeline's features, one test each, named after what it checks: the artifact
//! bucket, the repository, the build, log groups, the pipeline's stages and connection, the
//! delivery function, IAM (roles, wildcards, trust), tags, outputs, and config reaching the
//! template. (Stages, gates and notifications: delivery.rs; triggers: triggers.rs.)

mod support;

use serde_json::{Value, json};
use shipline_core::Config;
use support::*;

fn default_template() -> Value {
    synth(&Config::default())
}

#[test]
fn artifact_bucket_is_versioned_expiring_encrypted_private_tls_only_owner_enforced() {
    let t = default_template();
    has_resource_properties(
        &t,
        "AWS::S3::Bucket",
        json!({
            "VersioningConfiguration": { "Status": "Enabled" },
            "BucketEncryption": { "ServerSideEncryptionConfiguration": [
                { "ServerSideEncryptionByDefault": { "SSEAlgorithm": "AES256" } }
            ]},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true
            },
            "OwnershipControls": { "Rules": [{ "ObjectOwnership": "BucketOwnerEnforced" }] },
        }),
    );
    let rules = &only(&t, "AWS::S3::Bucket")["Properties"]["LifecycleConfiguration"]["Rules"];
    assert!(matches(
        &rules[0],
        &json!({
            "Status": "Enabled",
            "ExpirationInDays": 30,
            "NoncurrentVersionExpiration": { "NoncurrentDays": 30 },
            "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": 1 },
        })
    ));
    // The bucket is the pipeline's artifact store and nothing else uses it.
    let pipeline = only(&t, "AWS::CodePipeline::Pipeline");
    assert_eq!(
        pipeline["Properties"]["ArtifactStore"],
        json!({ "Type": "S3", "Location": { "Ref": "ArtifactBucket" } })
    );
    // TLS-only bucket policy on the bucket and its objects.
    let policy = only(&t, "AWS::S3::BucketPolicy");
    assert_eq!(
        policy["Properties"]["Bucket"],
        json!({ "Ref": "ArtifactBucket" })
    );
    let statement = &policy["Properties"]["PolicyDocument"]["Statement"][0];
    assert!(matches(
        statement,
        &json!({
            "Effect": "Deny",
            "Action": "s3:*",
            "Condition": { "Bool": { "aws:SecureTransport": "false" } },
            "Resource": [{ "Fn::GetAtt": ["ArtifactBucket", "Arn"] }, { "Fn::Sub": "${ArtifactBucket.Arn}/*" }],
        })
    ));
    // Artifacts are data: the bucket survives stack deletion and replacement.
    let bucket = only(&t, "AWS::S3::Bucket");
    assert_eq!(bucket["DeletionPolicy"], "Retain");
    assert_eq!(bucket["UpdateReplacePolicy"], "Retain");
}

#[test]
fn ecr_repository_scans_on_push_keeps_last_10_and_only_promotion_tags_move() {
    let t = default_template();
    has_resource_properties(
        &t,
        "AWS::ECR::Repository",
        json!({
            "RepositoryName": "example-app",
            "ImageScanningConfiguration": { "ScanOnPush": true },
            "ImageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
            "ImageTagMutabilityExclusionFilters": [
                { "ImageTagMutabilityExclusionFilterType": "WILDCARD", "ImageTagMutabilityExclusionFilterValue": "dev" },
                { "ImageTagMutabilityExclusionFilterType": "WILDCARD", "ImageTagMutabilityExclusionFilterValue": "staging" },
                { "ImageTagMutabilityExclusionFilterType": "WILDCARD", "ImageTagMutabilityExclusionFilterValue": "production" }
            ],
        }),
    );
    let repo = only(&t, "AWS::ECR::Repository");
    let text = repo["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"]
        .as_str()
        .unwrap();
    let policy: Value = serde_json::from_str(text).unwrap();
    let rules = policy["rules"].as_array().unwrap();
    let keep_last = rules.last().unwrap();
    assert!(matches(
        keep_last,
        &json!({
            "selection": { "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10 },
            "action": { "type": "expire" },
        })
    ));
    // ECR requires the `any` rule to have the highest rulePriority.
    let max_priority = rules
        .iter()
        .map(|r| r["rulePriority"].as_u64().unwrap())
        .max()
        .unwrap();
    assert_eq!(keep_last["rulePriority"].as_u64().unwrap(), max_priority);
    // The image each stage runs is protected from expiry by higher-precedence rules (one per
    // tag: a rule's tag list matches images with all of them).
    for (i, tag) in ["dev", "staging", "production"].iter().enumerate() {
        assert!(matches(
            &rules[i],
            &json!({
                "rulePriority": i + 1,
                "selection": { "tagStatus": "tagged", "tagPatternList": [tag], "countType": "imageCountMoreThan", "countNumber": 1 },
            })
        ));
    }
    assert_eq!(repo["DeletionPolicy"], "Retain");
}

#[test]
fn codebuild_builds_privileged_small_amazon_linux_and_exports_the_digest() {
    let t = default_template();
    has_resource_properties(
        &t,
        "AWS::CodeBuild::Project",
        json!({
            "Name": "example-app-build",
            "Source": { "Type": "CODEPIPELINE" },
            "Artifacts": { "Type": "CODEPIPELINE" },
            "Environment": {
                "Type": "LINUX_CONTAINER",
                "ComputeType": "BUILD_GENERAL1_SMALL",
                "Image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
                "PrivilegedMode": true,
            },
        }),
    );
    let project = only(&t, "AWS::CodeBuild::Project");
    let vars = project["Properties"]["Environment"]["EnvironmentVariables"]
        .as_array()
        .unwrap();
    let var = |name: &str| {
        vars.iter()
            .find(|v| v["Name"] == name)
            .map(|v| v["Value"].clone())
    };
    assert_eq!(
        var("REPOSITORY_URI"),
        Some(json!({ "Fn::GetAtt": ["ImageRepository", "RepositoryUri"] }))
    );
    assert_eq!(var("DOCKERFILE"), Some(json!("Dockerfile")));
    assert_eq!(var("BUILD_CONTEXT"), Some(json!(".")));

    let buildspec: Value = serde_norway::from_str(
        project["Properties"]["Source"]["BuildSpec"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        buildspec["env"]["exported-variables"],
        json!(["IMAGE_TAG", "IMAGE_DIGEST", "IMAGE_URI"])
    );
    assert_eq!(buildspec["artifacts"]["files"], json!(["imageDetail.json"]));
    let commands = buildspec["phases"]["build"]["commands"].to_string();
    assert!(commands.contains(r#"docker build --file \"$DOCKERFILE\" --tag \"$REPOSITORY_URI:$IMAGE_TAG\" \"$BUILD_CONTEXT\" || exit 1"#));
    assert!(commands.contains(r#"docker push \"$REPOSITORY_URI:$IMAGE_TAG\" || exit 1"#));
    // No registry layer cache (see codebuild::BUILDSPEC): only CodeBuild's local one.
    assert_eq!(var("CACHE_TAG"), None);
    assert_eq!(
        project["Properties"]["Cache"]["Modes"],
        json!(["LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE"])
    );
    // The image is tagged with the commit id from the Source action.
    let pre_build = buildspec["phases"]["pre_build"]["commands"].to_string();
    assert!(pre_build.contains("IMAGE_TAG=\\\"${COMMIT_ID"));
    let build_action = &stage(&t, "Build")["Actions"][0];
    let env: Value = serde_json::from_str(
        build_action["Configuration"]["EnvironmentVariables"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        env,
        json!([{ "name": "COMMIT_ID", "value": "#{SourceVariables.CommitId}", "type": "PLAINTEXT" }])
    );
    assert_eq!(build_action["Namespace"], "BuildVariables");
    assert_eq!(
        build_action["OutputArtifacts"],
        json!([{ "Name": "ImageDetail" }])
    );
}

#[test]
fn build_environment_paths_and_variables_come_from_config() {
    let t = synth_toml(
        "[build]\ndockerfile = \"docker/api.Dockerfile\"\ncontext = \"services/api\"\n[build.environment]\nNODE_ENV = \"production\"\n",
    );
    let vars =
        &only(&t, "AWS::CodeBuild::Project")["Properties"]["Environment"]["EnvironmentVariables"];
    for (name, value) in [
        ("DOCKERFILE", "docker/api.Dockerfile"),
        ("BUILD_CONTEXT", "services/api"),
        ("NODE_ENV", "production"),
    ] {
        assert!(
            vars.as_array()
                .unwrap()
                .iter()
                .any(|v| v["Name"] == name && v["Value"] == value && v["Type"] == "PLAINTEXT"),
            "{name}"
        );
    }
}

#[test]
fn log_groups_are_created_by_the_stack_with_retention() {
    let t = default_template();
    has_resource_properties(
        &t,
        "AWS::Logs::LogGroup",
        json!({ "LogGroupName": "/aws/codebuild/example-app-build", "RetentionInDays": 7 }),
    );
    has_resource_properties(
        &t,
        "AWS::Logs::LogGroup",
        json!({ "LogGroupName": "/aws/lambda/example-app-promote", "RetentionInDays": 7 }),
    );
    // Both services write to the stack's groups.
    has_resource_properties(
        &t,
        "AWS::CodeBuild::Project",
        json!({
            "LogsConfig": { "CloudWatchLogs": { "Status": "ENABLED", "GroupName": { "Ref": "BuildLogGroup" } } }
        }),
    );
    has_resource_properties(
        &t,
        "AWS::Lambda::Function",
        json!({ "LoggingConfig": { "LogGroup": { "Ref": "PromotionLogGroup" } } }),
    );
    has_resource_properties(
        &t,
        "AWS::Lambda::Function",
        json!({ "LoggingConfig": { "LogGroup": { "Ref": "WebhookLogGroup" } } }),
    );
    // No log group of ours is left without retention.
    for (_, group) in resources_of_type(&t, "AWS::Logs::LogGroup") {
        assert!(group["Properties"]["RetentionInDays"].is_u64());
    }
    let t = synth_toml("[logs]\nretention_days = 400\n");
    for (_, group) in resources_of_type(&t, "AWS::Logs::LogGroup") {
        assert_eq!(group["Properties"]["RetentionInDays"], 400);
    }
}

fn stage<'a>(t: &'a Value, name: &str) -> &'a Value {
    only(t, "AWS::CodePipeline::Pipeline")["Properties"]["Stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Name"] == name)
        .unwrap_or_else(|| panic!("no stage {name}"))
}

#[test]
fn pipeline_v2_has_source_build_scan_and_the_promotion_stages() {
    let t = default_template();
    let pipeline = only(&t, "AWS::CodePipeline::Pipeline");
    assert_eq!(pipeline["Properties"]["PipelineType"], "V2");
    let names: Vec<&str> = pipeline["Properties"]["Stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Source",
            "Build",
            "Scan",
            "dev",
            "staging",
            "Approve-production",
            "production"
        ]
    );
    assert!(matches(
        &stage(&t, "Source")["Actions"][0],
        &json!({
            "ActionTypeId": { "Category": "Source", "Owner": "AWS", "Provider": "CodeStarSourceConnection", "Version": "1" },
            "Configuration": {
                "ConnectionArn": { "Ref": "GitHubConnection" },
                "FullRepositoryId": "example-org/example-app",
                "BranchName": "main",
            },
        })
    ));
    assert!(matches(
        &stage(&t, "Build")["Actions"][0],
        &json!({
            "ActionTypeId": { "Category": "Build", "Provider": "CodeBuild" },
            "Configuration": { "ProjectName": { "Ref": "BuildProject" } },
        })
    ));
    for name in ["dev", "staging", "production"] {
        assert!(matches(
            &stage(&t, name)["Actions"][0],
            &json!({
                "Name": "Promote",
                "ActionTypeId": { "Category": "Invoke", "Provider": "Lambda" },
                "Configuration": { "FunctionName": { "Ref": "PromotionFunction" } },
            })
        ));
    }
}

#[test]
fn stack_creates_a_pending_connection_only_when_none_is_configured() {
    let t = default_template();
    has_resource_properties(
        &t,
        "AWS::CodeConnections::Connection",
        json!({
            "ConnectionName": { "Fn::Join": ["-", ["example-app", { "Fn::FindInMap": ["RegionCodes", { "Ref": "AWS::Region" }, "Code"] }]] },
            "ProviderType": "GitHub",
        }),
    );
    let connection_note = t["Outputs"]["ConnectionArn"]["Description"]
        .as_str()
        .unwrap();
    assert!(
        connection_note.contains("PENDING")
            && connection_note.contains("console.aws.amazon.com/codesuite/settings/connections")
    );

    let arn = "arn:aws:codeconnections:eu-west-1:123456789012:connection/0a1b2c3d-1111-2222-3333-444455556666";
    let t = synth_toml(&format!(
        "[source]\nrepository = \"acme/orders\"\nbranch = \"release\"\nconnection_arn = \"{arn}\"\n"
    ));
    assert!(resources_of_type(&t, "AWS::CodeConnections::Connection").is_empty());
    assert!(matches(
        &stage(&t, "Source")["Actions"][0]["Configuration"],
        &json!({
            "ConnectionArn": arn, "FullRepositoryId": "acme/orders", "BranchName": "release",
        })
    ));
}

#[test]
fn promotion_lambda_is_inline_current_python_and_promotes_the_built_digest() {
    let t = default_template();
    let props = &t["Resources"]["PromotionFunction"]["Properties"];
    assert_eq!(props["Runtime"], "python3.13");
    assert_eq!(props["Handler"], "index.handler");
    let code = props["Code"]["ZipFile"].as_str().unwrap();
    assert_eq!(code, shipline_core::pipeline::PROMOTION_SOURCE);
    assert!(code.contains("def handler(event, context):"));
    assert!(
        props["Code"].get("S3Bucket").is_none(),
        "no external artifact at deploy time"
    );
    // The digest comes from this execution's Build variables, never "the newest image".
    for tag in ["dev", "staging", "production"] {
        let action = &stage(&t, tag)["Actions"][0];
        let params: Value =
            serde_json::from_str(action["Configuration"]["UserParameters"].as_str().unwrap())
                .unwrap();
        assert_eq!(
            params,
            json!({ "repository": "example-app", "digest": "#{BuildVariables.IMAGE_DIGEST}", "tag": tag })
        );
    }
}

#[test]
fn each_principal_has_its_own_role_with_exact_grants() {
    let t = default_template();
    let roles: Vec<&str> = resources_of_type(&t, "AWS::IAM::Role")
        .iter()
        .map(|(id, _)| *id)
        .collect();
    // The webhook trigger's two roles (receiver, rule target) are checked in triggers.rs.
    assert_eq!(
        roles,
        [
            "BuildRole",
            "PipelineRole",
            "PromotionRole",
            "PushRuleRole",
            "WebhookRole"
        ]
    );
    let repo_arn = json!([{ "Fn::GetAtt": ["ImageRepository", "Arn"] }]);
    let objects = json!([{ "Fn::Sub": "${ArtifactBucket.Arn}/*" }]);

    // Build: push to this repository, its own log group, this bucket's objects.
    let build = role_grants(&t, "BuildRole");
    for (action, resource) in &build {
        let expected = match action.as_str() {
            "ecr:GetAuthorizationToken" => json!(["*"]),
            a if a.starts_with("ecr:") => repo_arn.clone(),
            a if a.starts_with("logs:") => json!([{ "Fn::GetAtt": ["BuildLogGroup", "Arn"] }]),
            "s3:GetObject" | "s3:GetObjectVersion" | "s3:PutObject" => objects.clone(),
            a if a.starts_with("s3:GetBucket") => {
                json!([{ "Fn::GetAtt": ["ArtifactBucket", "Arn"] }])
            }
            other => panic!("unexpected build grant {other}"),
        };
        assert_eq!(resource, &expected, "{action}");
    }
    assert!(build.iter().any(|(a, _)| a == "ecr:PutImage"));

    // Delivery function: read scan results of, and retag in, this repository; report the job
    // result; its own log group.
    let promotion = role_grants(&t, "PromotionRole");
    let actions: Vec<&str> = promotion.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "ecr:DescribeImageScanFindings",
            "inspector2:ListFindings",
            "ecr:BatchGetImage",
            "ecr:DescribeImages",
            "ecr:PutImage",
            "codepipeline:PutJobFailureResult",
            "codepipeline:PutJobSuccessResult",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ]
    );
    for (action, resource) in &promotion {
        if action.starts_with("ecr:") {
            assert_eq!(resource, &repo_arn);
        }
    }

    // Pipeline: the connection, this project, this function, this bucket.
    let pipeline = role_grants(&t, "PipelineRole");
    let grant = |name: &str| {
        pipeline
            .iter()
            .find(|(a, _)| a == name)
            .map(|(_, r)| r.clone())
            .unwrap()
    };
    assert_eq!(
        grant("codebuild:StartBuild"),
        json!([{ "Fn::GetAtt": ["BuildProject", "Arn"] }])
    );
    assert_eq!(
        grant("lambda:InvokeFunction"),
        json!([{ "Fn::GetAtt": ["PromotionFunction", "Arn"] }])
    );
    assert!(
        grant("codeconnections:UseConnection")[0]["Fn::Sub"][0]
            .as_str()
            .unwrap()
            .contains(":codeconnections:")
    );
    assert!(
        grant("codestar-connections:UseConnection")[0]["Fn::Sub"][0]
            .as_str()
            .unwrap()
            .contains(":codestar-connections:")
    );
    assert_eq!(grant("s3:PutObject"), objects);
    // Approval requests: publish to this topic, encrypted with this key.
    assert_eq!(
        grant("sns:Publish"),
        json!([{ "Ref": "NotificationTopic" }])
    );
    assert_eq!(
        grant("kms:GenerateDataKey"),
        json!([{ "Fn::GetAtt": ["NotificationKey", "Arn"] }])
    );
}

#[test]
fn wildcard_resources_are_only_the_actions_aws_cannot_scope() {
    let t = default_template();
    let mut wildcards: Vec<String> = Vec::new();
    for (role, _) in resources_of_type(&t, "AWS::IAM::Role") {
        for (action, resource) in role_grants(&t, role) {
            if resource == json!(["*"]) {
                wildcards.push(action);
            }
        }
    }
    wildcards.sort();
    assert_eq!(
        wildcards,
        [
            "codepipeline:PutJobFailureResult",
            "codepipeline:PutJobSuccessResult",
            "ecr:GetAuthorizationToken",
            "inspector2:ListFindings"
        ]
    );
}

#[test]
fn trust_policies_carry_confused_deputy_conditions_where_supported() {
    let t = default_template();
    let trust = |role: &str| {
        t["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0].clone()
    };
    let build = trust("BuildRole");
    assert_eq!(
        build["Principal"],
        json!({ "Service": "codebuild.amazonaws.com" })
    );
    assert_eq!(
        build["Condition"]["StringEquals"]["aws:SourceAccount"],
        json!({ "Ref": "AWS::AccountId" })
    );
    assert_eq!(
        build["Condition"]["ArnLike"]["aws:SourceArn"],
        json!({ "Fn::Sub": "arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/example-app-build" })
    );
    // Regression: AWS documents CodePipeline's service-role trust without conditions and
    // nowhere says CodePipeline sends aws:SourceArn/aws:SourceAccount; a condition on keys it
    // does not send would make CreatePipeline fail ("not authorized to perform sts:AssumeRole").
    let pipeline = trust("PipelineRole");
    assert_eq!(
        pipeline["Principal"],
        json!({ "Service": "codepipeline.amazonaws.com" })
    );
    assert!(pipeline.get("Condition").is_none());
    // Lambda does not put SourceArn/SourceAccount in the context when it assumes an
    // execution role; a condition would make the role unusable.
    assert!(trust("PromotionRole").get("Condition").is_none());
}

#[test]
fn every_taggable_resource_has_the_default_tags_and_config_extends_them() {
    let t = default_template();
    let expected = json!([{ "Key": "Environment", "Value": "production" }, { "Key": "Team", "Value": "devops" }]);
    for (id, resource) in t["Resources"].as_object().unwrap() {
        match shipline_core::tags::tag_shape(resource["Type"].as_str().unwrap()) {
            shipline_core::tags::TagShape::KeyValueList => {
                assert_eq!(resource["Properties"]["Tags"], expected, "{id}")
            }
            shipline_core::tags::TagShape::Untaggable => {
                assert!(resource["Properties"].get("Tags").is_none(), "{id}")
            }
        }
    }
    let t = synth_toml("[tags]\nTeam = \"payments\"\nCostCenter = \"cc-42\"\n");
    assert_eq!(
        only(&t, "AWS::ECR::Repository")["Properties"]["Tags"],
        json!([
            { "Key": "CostCenter", "Value": "cc-42" },
            { "Key": "Environment", "Value": "production" },
            { "Key": "Team", "Value": "payments" },
        ])
    );
}

#[test]
fn outputs_name_everything_a_user_needs() {
    let t = default_template();
    let outputs: Vec<&str> = t["Outputs"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        outputs,
        [
            "ArtifactBucketArn",
            "ArtifactBucketName",
            "BuildLogGroupName",
            "BuildProjectName",
            "ConnectionArn",
            "NotificationTopicArn",
            "PipelineConsoleUrl",
            "PipelineName",
            "PromotionFunctionArn",
            "PromotionLogGroupName",
            "RepositoryUri",
            "WebhookSecretArn",
            "WebhookUrl",
        ]
    );
    assert_eq!(
        t["Outputs"]["RepositoryUri"]["Value"],
        json!({ "Fn::GetAtt": ["ImageRepository", "RepositoryUri"] })
    );
    assert!(
        t["Outputs"]["PipelineConsoleUrl"]["Value"]["Fn::Sub"]
            .as_str()
            .unwrap()
            .contains("/codepipeline/pipelines/${Pipeline}/view")
    );
}

#[test]
fn config_values_reach_the_template() {
    let t = synth_toml(
        "[app]\nname = \"orders\"\n[artifacts]\nexpiration_days = 14\n[images]\nkeep_last = 25\n",
    );
    has_resource_properties(
        &t,
        "AWS::ECR::Repository",
        json!({ "RepositoryName": "orders" }),
    );
    has_resource_properties(
        &t,
        "AWS::CodePipeline::Pipeline",
        json!({ "Name": "orders-pipeline" }),
    );
    has_resource_properties(
        &t,
        "AWS::Lambda::Function",
        json!({ "FunctionName": "orders-promote" }),
    );
    let rules = &only(&t, "AWS::S3::Bucket")["Properties"]["LifecycleConfiguration"]["Rules"];
    assert_eq!(rules[0]["ExpirationInDays"], 14);
    let text =
        only(&t, "AWS::ECR::Repository")["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"]
            .as_str()
            .unwrap()
            .to_owned();
    assert!(text.contains("\"countNumber\":25"));
}
