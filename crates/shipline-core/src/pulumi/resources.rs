//! One translation per CloudFormation type: its properties as pulumi-aws v7 arguments, split
//! into the separate resources pulumi-aws models (the bucket's versioning, encryption, public
//! access block, ownership and lifecycle; the repository's lifecycle policy; the topic's
//! subscriptions; each rule's targets; the secret's generated value). JSON documents (policies,
//! event patterns) are written with `fn::toJSON`; CodePipeline's action configuration, a map of
//! strings in pulumi-aws, gets its booleans as strings. Tags are not written here: the provider's
//! `defaultTags` carries them.

use serde_json::{Map, Value, json};

use super::PulumiResource;
use super::expr::{Context, literal};
use crate::template::{Resource, Template};

/// The Pulumi resources `resource` (logical id `id`) becomes.
pub fn translate(id: &str, resource: &Resource, c: &Context<'_>) -> Vec<PulumiResource> {
    let p = &Value::Object(resource.properties.clone());
    let get = |key: &str| c.expr(p.get(key).unwrap_or(&Value::Null));
    let one = |token, properties| vec![made(id, token, properties)];
    match resource.type_name {
        "AWS::S3::Bucket" => bucket(id, resource, c),
        "AWS::S3::BucketPolicy" => one(
            "aws:s3:BucketPolicy",
            json!({ "bucket": get("Bucket"), "policy": to_json(get("PolicyDocument")) }),
        ),
        "AWS::ECR::Repository" => repository(id, resource, c),
        "AWS::Logs::LogGroup" => one(
            "aws:cloudwatch:LogGroup",
            json!({ "name": get("LogGroupName"), "retentionInDays": get("RetentionInDays") }),
        ),
        "AWS::IAM::Role" => one("aws:iam:Role", role(resource, c)),
        "AWS::Lambda::Function" => one("aws:lambda:Function", function(resource, c)),
        "AWS::Lambda::Url" => one(
            "aws:lambda:FunctionUrl",
            json!({ "functionName": get("TargetFunctionArn"), "authorizationType": get("AuthType") }),
        ),
        "AWS::Lambda::Permission" => one("aws:lambda:Permission", permission(resource, c)),
        "AWS::CodeBuild::Project" => one("aws:codebuild:Project", project(resource, c)),
        "AWS::CodePipeline::Pipeline" => one("aws:codepipeline:Pipeline", pipeline(resource, c)),
        "AWS::CodeConnections::Connection" => one(
            "aws:codeconnections:Connection",
            json!({ "name": get("ConnectionName"), "providerType": get("ProviderType") }),
        ),
        "AWS::KMS::Key" => one(
            "aws:kms:Key",
            json!({
                "description": get("Description"),
                "enableKeyRotation": get("EnableKeyRotation"),
                "customerMasterKeySpec": get("KeySpec"),
                "keyUsage": get("KeyUsage"),
                "policy": to_json(get("KeyPolicy")),
            }),
        ),
        "AWS::KMS::Alias" => one(
            "aws:kms:Alias",
            json!({ "name": get("AliasName"), "targetKeyId": get("TargetKeyId") }),
        ),
        "AWS::SNS::Topic" => topic(id, resource, c),
        "AWS::SNS::TopicPolicy" => one(
            "aws:sns:TopicPolicy",
            json!({ "arn": get("Topics")[0], "policy": to_json(get("PolicyDocument")) }),
        ),
        "AWS::Events::EventBus" => one(
            "aws:cloudwatch:EventBus",
            json!({ "name": get("Name"), "description": get("Description") }),
        ),
        "AWS::Events::Rule" => rule(id, resource, c),
        "AWS::SecretsManager::Secret" => secret(id, resource, c),
        other => panic!("pulumi: no translation recorded for {other}"),
    }
}

fn made(name: &str, token: &'static str, properties: Value) -> PulumiResource {
    PulumiResource {
        name: name.to_owned(),
        token,
        properties: without_nulls(properties),
        options: Map::new(),
    }
}

fn to_json(value: Value) -> Value {
    json!({ "fn::toJSON": value })
}

/// Drops properties whose CloudFormation source was absent (translated as null).
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        other => other,
    }
}

/// The bucket and the five resources pulumi-aws splits its configuration into.
fn bucket(id: &str, resource: &Resource, c: &Context<'_>) -> Vec<PulumiResource> {
    let p = &Value::Object(resource.properties.clone());
    let bucket = json!(format!("${{{id}.id}}"));
    let lifecycle: Vec<Value> = p["LifecycleConfiguration"]["Rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|rule| {
            let mut out = json!({ "id": rule["Id"], "status": rule["Status"], "filter": {} });
            if let Some(days) = rule.get("ExpirationInDays") {
                out["expiration"] = json!({ "days": days });
            }
            if rule.get("ExpiredObjectDeleteMarker") == Some(&json!(true)) {
                out["expiration"] = json!({ "expiredObjectDeleteMarker": true });
            }
            if let Some(days) = rule["NoncurrentVersionExpiration"].get("NoncurrentDays") {
                out["noncurrentVersionExpiration"] = json!({ "noncurrentDays": days });
            }
            if let Some(days) = rule["AbortIncompleteMultipartUpload"].get("DaysAfterInitiation") {
                out["abortIncompleteMultipartUpload"] = json!({ "daysAfterInitiation": days });
            }
            out
        })
        .collect();
    let block = &p["PublicAccessBlockConfiguration"];
    vec![
        made(id, "aws:s3:Bucket", json!({})),
        made(
            &format!("{id}Versioning"),
            "aws:s3:BucketVersioning",
            json!({ "bucket": bucket, "versioningConfiguration": { "status": c.expr(&p["VersioningConfiguration"]["Status"]) } }),
        ),
        made(
            &format!("{id}Encryption"),
            "aws:s3:BucketServerSideEncryptionConfiguration",
            json!({ "bucket": bucket, "rules": [{ "applyServerSideEncryptionByDefault": {
                "sseAlgorithm": c.expr(&p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"])
            } }] }),
        ),
        made(
            &format!("{id}PublicAccessBlock"),
            "aws:s3:BucketPublicAccessBlock",
            json!({
                "bucket": bucket,
                "blockPublicAcls": block["BlockPublicAcls"],
                "blockPublicPolicy": block["BlockPublicPolicy"],
                "ignorePublicAcls": block["IgnorePublicAcls"],
                "restrictPublicBuckets": block["RestrictPublicBuckets"],
            }),
        ),
        made(
            &format!("{id}OwnershipControls"),
            "aws:s3:BucketOwnershipControls",
            json!({ "bucket": bucket, "rule": { "objectOwnership": p["OwnershipControls"]["Rules"][0]["ObjectOwnership"] } }),
        ),
        made(
            &format!("{id}Lifecycle"),
            "aws:s3:BucketLifecycleConfiguration",
            json!({ "bucket": bucket, "rules": lifecycle }),
        ),
    ]
}

/// The repository, its lifecycle policy and repository policy (separate resources in
/// pulumi-aws).
fn repository(id: &str, resource: &Resource, c: &Context<'_>) -> Vec<PulumiResource> {
    let p = &Value::Object(resource.properties.clone());
    let filters: Vec<Value> = p["ImageTagMutabilityExclusionFilters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            json!({
                "filter": c.expr(&f["ImageTagMutabilityExclusionFilterValue"]),
                "filterType": f["ImageTagMutabilityExclusionFilterType"],
            })
        })
        .collect();
    let mut resources = vec![
        made(
            id,
            "aws:ecr:Repository",
            json!({
                "name": c.expr(&p["RepositoryName"]),
                "imageScanningConfiguration": { "scanOnPush": p["ImageScanningConfiguration"]["ScanOnPush"] },
                "imageTagMutability": p["ImageTagMutability"],
                "imageTagMutabilityExclusionFilters": filters,
                "encryptionConfigurations": [{ "encryptionType": p["EncryptionConfiguration"]["EncryptionType"] }],
            }),
        ),
        made(
            &format!("{id}LifecyclePolicy"),
            "aws:ecr:LifecyclePolicy",
            json!({
                "repository": format!("${{{id}.name}}"),
                "policy": c.expr(&p["LifecyclePolicy"]["LifecyclePolicyText"]),
            }),
        ),
    ];
    // The repository policy (stages that deploy to Lambda functions), a separate resource too.
    if let Some(policy) = p.get("RepositoryPolicyText") {
        resources.push(made(
            &format!("{id}Policy"),
            "aws:ecr:RepositoryPolicy",
            json!({
                "repository": format!("${{{id}.name}}"),
                "policy": to_json(c.expr(policy)),
            }),
        ));
    }
    resources
}

/// The role with its trust policy and inline policies (attached with the role, atomically, as
/// in CloudFormation).
fn role(resource: &Resource, c: &Context<'_>) -> Value {
    let p = &Value::Object(resource.properties.clone());
    let policies: Vec<Value> = p["Policies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|policy| {
            json!({ "name": policy["PolicyName"], "policy": to_json(c.expr(&policy["PolicyDocument"])) })
        })
        .collect();
    json!({
        "description": c.expr(&p["Description"]),
        "assumeRolePolicy": to_json(c.expr(&p["AssumeRolePolicyDocument"])),
        "inlinePolicies": policies,
    })
}

/// The function with its inline source as an archive of one string asset, `index.py`.
fn function(resource: &Resource, c: &Context<'_>) -> Value {
    let p = &Value::Object(resource.properties.clone());
    let source = p["Code"]["ZipFile"].as_str().unwrap_or_default();
    let mut properties = json!({
        "name": c.expr(&p["FunctionName"]),
        "description": c.expr(&p["Description"]),
        "runtime": p["Runtime"],
        "architectures": p["Architectures"],
        "handler": p["Handler"],
        "role": c.expr(&p["Role"]),
        "timeout": p["Timeout"],
        "memorySize": p["MemorySize"],
        "code": { "fn::assetArchive": { "index.py": { "fn::stringAsset": literal(source) } } },
        "loggingConfig": {
            "logGroup": c.expr(&p["LoggingConfig"]["LogGroup"]),
            "logFormat": p["LoggingConfig"]["LogFormat"],
        },
    });
    if let Some(variables) = p.get("Environment") {
        properties["environment"] = json!({ "variables": c.expr(&variables["Variables"]) });
    }
    if let Some(reserved) = p.get("ReservedConcurrentExecutions") {
        properties["reservedConcurrentExecutions"] = reserved.clone();
    }
    properties
}

fn permission(resource: &Resource, c: &Context<'_>) -> Value {
    let p = &Value::Object(resource.properties.clone());
    let mut properties = json!({
        "function": c.expr(&p["FunctionName"]),
        "action": p["Action"],
        "principal": p["Principal"],
    });
    if let Some(auth) = p.get("FunctionUrlAuthType") {
        properties["functionUrlAuthType"] = auth.clone();
    }
    if let Some(via_url) = p.get("InvokedViaFunctionUrl") {
        properties["invokedViaFunctionUrl"] = via_url.clone();
    }
    properties
}

fn project(resource: &Resource, c: &Context<'_>) -> Value {
    let p = &Value::Object(resource.properties.clone());
    let environment = &p["Environment"];
    let variables: Vec<Value> = environment["EnvironmentVariables"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| json!({ "name": v["Name"], "type": v["Type"], "value": c.expr(&v["Value"]) }))
        .collect();
    let logs = &p["LogsConfig"];
    json!({
        "name": c.expr(&p["Name"]),
        "description": c.expr(&p["Description"]),
        "serviceRole": c.expr(&p["ServiceRole"]),
        "source": { "type": p["Source"]["Type"], "buildspec": c.expr(&p["Source"]["BuildSpec"]) },
        "artifacts": { "type": p["Artifacts"]["Type"] },
        "environment": {
            "type": environment["Type"],
            "computeType": environment["ComputeType"],
            "image": environment["Image"],
            "imagePullCredentialsType": environment["ImagePullCredentialsType"],
            "privilegedMode": environment["PrivilegedMode"],
            "environmentVariables": variables,
        },
        "cache": { "type": p["Cache"]["Type"], "modes": p["Cache"]["Modes"] },
        "logsConfig": {
            "cloudwatchLogs": {
                "status": logs["CloudWatchLogs"]["Status"],
                "groupName": c.expr(&logs["CloudWatchLogs"]["GroupName"]),
            },
            "s3Logs": { "status": logs["S3Logs"]["Status"] },
        },
        "buildTimeout": p["TimeoutInMinutes"],
        "queuedTimeout": p["QueuedTimeoutInMinutes"],
    })
}

/// The pipeline: stages and actions in pulumi-aws's shape (artifact names as lists of strings,
/// configuration values as strings), and the V2 trigger when there is one.
fn pipeline(resource: &Resource, c: &Context<'_>) -> Value {
    let p = &Value::Object(resource.properties.clone());
    let names = |artifacts: &Value| -> Value {
        json!(
            artifacts
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| a["Name"].clone())
                .collect::<Vec<_>>()
        )
    };
    let stages: Vec<Value> = p["Stages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|stage| {
            let actions: Vec<Value> = stage["Actions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    let configuration: Map<String, Value> = a["Configuration"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| {
                            let v = match v {
                                Value::Bool(b) => json!(b.to_string()),
                                other => c.expr(other),
                            };
                            (k.clone(), v)
                        })
                        .collect();
                    let mut action = json!({
                        "name": a["Name"],
                        "category": a["ActionTypeId"]["Category"],
                        "owner": a["ActionTypeId"]["Owner"],
                        "provider": a["ActionTypeId"]["Provider"],
                        "version": a["ActionTypeId"]["Version"],
                        "configuration": configuration,
                        "runOrder": a["RunOrder"],
                    });
                    for (from, to) in [
                        ("InputArtifacts", "inputArtifacts"),
                        ("OutputArtifacts", "outputArtifacts"),
                    ] {
                        if let Some(artifacts) = a.get(from) {
                            action[to] = names(artifacts);
                        }
                    }
                    if let Some(namespace) = a.get("Namespace") {
                        action["namespace"] = namespace.clone();
                    }
                    action
                })
                .collect();
            let mut out = json!({ "name": c.expr(&stage["Name"]), "actions": actions });
            if let Some(result) = stage["OnFailure"].get("Result") {
                out["onFailure"] = json!({ "result": result });
            }
            out
        })
        .collect();
    let mut properties = json!({
        "name": c.expr(&p["Name"]),
        "pipelineType": p["PipelineType"],
        "executionMode": p["ExecutionMode"],
        "roleArn": c.expr(&p["RoleArn"]),
        "artifactStores": [{ "type": p["ArtifactStore"]["Type"], "location": c.expr(&p["ArtifactStore"]["Location"]) }],
        "stages": stages,
    });
    if let Some(triggers) = p.get("Triggers") {
        properties["triggers"] = json!(
            triggers
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| trigger(t, c))
                .collect::<Vec<_>>()
        );
    }
    properties
}

fn trigger(t: &Value, c: &Context<'_>) -> Value {
    let git = &t["GitConfiguration"];
    let pushes: Vec<Value> = git["Push"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|push| {
            let mut out =
                json!({ "branches": { "includes": c.expr(&push["Branches"]["Includes"]) } });
            if let Some(paths) = push.get("FilePaths") {
                let mut file_paths = Map::new();
                for (from, to) in [("Includes", "includes"), ("Excludes", "excludes")] {
                    if let Some(globs) = paths.get(from) {
                        file_paths.insert(to.into(), c.expr(globs));
                    }
                }
                out["filePaths"] = Value::Object(file_paths);
            }
            out
        })
        .collect();
    json!({
        "providerType": t["ProviderType"],
        "gitConfiguration": { "sourceActionName": git["SourceActionName"], "pushes": pushes },
    })
}

/// The topic and one subscription resource per email (CloudFormation's inline `Subscription`).
fn topic(id: &str, resource: &Resource, c: &Context<'_>) -> Vec<PulumiResource> {
    let p = &Value::Object(resource.properties.clone());
    let mut out = vec![made(
        id,
        "aws:sns:Topic",
        json!({
            "name": c.expr(&p["TopicName"]),
            "displayName": c.expr(&p["DisplayName"]),
            "kmsMasterKeyId": c.expr(&p["KmsMasterKeyId"]),
        }),
    )];
    for (i, subscription) in p["Subscription"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        out.push(made(
            &format!("{id}Subscription{}", i + 1),
            "aws:sns:TopicSubscription",
            json!({
                "topic": format!("${{{id}.arn}}"),
                "protocol": subscription["Protocol"],
                "endpoint": c.expr(&subscription["Endpoint"]),
            }),
        ));
    }
    out
}

/// The rule and one target resource per target.
fn rule(id: &str, resource: &Resource, c: &Context<'_>) -> Vec<PulumiResource> {
    let p = &Value::Object(resource.properties.clone());
    let bus = p.get("EventBusName").map(|b| c.expr(b));
    let mut rule = json!({
        "name": c.expr(&p["Name"]),
        "description": c.expr(&p["Description"]),
        "eventPattern": to_json(c.expr(&p["EventPattern"])),
        "state": p["State"],
    });
    if let Some(bus) = &bus {
        rule["eventBusName"] = bus.clone();
    }
    let mut out = vec![made(id, "aws:cloudwatch:EventRule", rule)];
    for target in p["Targets"].as_array().into_iter().flatten() {
        let target_id = target["Id"].as_str().unwrap_or("Target");
        let mut properties = json!({
            "rule": format!("${{{id}.name}}"),
            "targetId": target_id,
            "arn": c.expr(&target["Arn"]),
        });
        if let Some(bus) = &bus {
            properties["eventBusName"] = bus.clone();
        }
        if let Some(role) = target.get("RoleArn") {
            properties["roleArn"] = c.expr(role);
        }
        if let Some(transformer) = target.get("InputTransformer") {
            properties["inputTransformer"] = json!({
                "inputPaths": c.expr(&transformer["InputPathsMap"]),
                "inputTemplate": c.expr(&transformer["InputTemplate"]),
            });
        }
        out.push(made(
            &format!("{id}Target{target_id}"),
            "aws:cloudwatch:EventTarget",
            properties,
        ));
    }
    out
}

/// The secret, its value generated by pulumi-random (stable in state; an invoke would make a
/// new one on every run), and the version that stores it.
fn secret(id: &str, resource: &Resource, c: &Context<'_>) -> Vec<PulumiResource> {
    let p = &Value::Object(resource.properties.clone());
    let generate = &p["GenerateSecretString"];
    let password = format!("{id}Value");
    vec![
        made(
            &password,
            "random:index:RandomPassword",
            json!({
                "length": generate["PasswordLength"],
                "special": generate["ExcludePunctuation"] != json!(true),
            }),
        ),
        made(
            id,
            "aws:secretsmanager:Secret",
            json!({ "description": c.expr(&p["Description"]) }),
        ),
        made(
            &format!("{id}Version"),
            "aws:secretsmanager:SecretVersion",
            json!({ "secretId": format!("${{{id}.id}}"), "secretString": format!("${{{password}.result}}") }),
        ),
    ]
}

/// The name of the generated secret value's resource, when the template has a webhook secret.
pub fn secret_value_resource(template: &Template) -> Option<String> {
    template
        .resources
        .iter()
        .find(|(_, r)| r.type_name == "AWS::SecretsManager::Secret")
        .map(|(id, _)| format!("{id}Value"))
}
