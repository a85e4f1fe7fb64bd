//! The second engine: the finished CloudFormation model ([`Template`]) rendered as a Pulumi YAML
//! program for the `pulumi-aws` provider (v7), so both engines deploy the same resources, names,
//! policies, tags and outputs from one model. [`MAPPING`] is the table of which pulumi-aws
//! resources each CloudFormation type becomes; [`resources`] holds one translation per type;
//! [`expr`] translates intrinsics. Tags go through the provider's `defaultTags`; account, region
//! and partition through invokes; `DeletionPolicy: Retain` becomes `retainOnDelete`.

mod expr;
mod resources;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::template::{Template, yaml};

/// The pulumi-aws major version the program is written for and the tests type-check against.
pub const AWS_PROVIDER_VERSION: &str = "7.48.0";

/// The pulumi-random version (the webhook secret's value).
pub const RANDOM_PROVIDER_VERSION: &str = "4.21.2";

/// CloudFormation type → the pulumi-aws (or pulumi-random) resources it becomes.
pub const MAPPING: &[(&str, &[&str])] = &[
    (
        "AWS::S3::Bucket",
        &[
            "aws:s3:Bucket",
            "aws:s3:BucketVersioning",
            "aws:s3:BucketServerSideEncryptionConfiguration",
            "aws:s3:BucketPublicAccessBlock",
            "aws:s3:BucketOwnershipControls",
            "aws:s3:BucketLifecycleConfiguration",
        ],
    ),
    ("AWS::S3::BucketPolicy", &["aws:s3:BucketPolicy"]),
    (
        "AWS::ECR::Repository",
        &[
            "aws:ecr:Repository",
            "aws:ecr:LifecyclePolicy",
            "aws:ecr:RepositoryPolicy",
        ],
    ),
    ("AWS::Logs::LogGroup", &["aws:cloudwatch:LogGroup"]),
    ("AWS::IAM::Role", &["aws:iam:Role"]),
    ("AWS::Lambda::Function", &["aws:lambda:Function"]),
    ("AWS::Lambda::Url", &["aws:lambda:FunctionUrl"]),
    ("AWS::Lambda::Permission", &["aws:lambda:Permission"]),
    ("AWS::CodeBuild::Project", &["aws:codebuild:Project"]),
    (
        "AWS::CodePipeline::Pipeline",
        &["aws:codepipeline:Pipeline"],
    ),
    (
        "AWS::CodeConnections::Connection",
        &["aws:codeconnections:Connection"],
    ),
    ("AWS::KMS::Key", &["aws:kms:Key"]),
    ("AWS::KMS::Alias", &["aws:kms:Alias"]),
    (
        "AWS::SNS::Topic",
        &["aws:sns:Topic", "aws:sns:TopicSubscription"],
    ),
    ("AWS::SNS::TopicPolicy", &["aws:sns:TopicPolicy"]),
    ("AWS::Events::EventBus", &["aws:cloudwatch:EventBus"]),
    (
        "AWS::Events::Rule",
        &["aws:cloudwatch:EventRule", "aws:cloudwatch:EventTarget"],
    ),
    (
        "AWS::SecretsManager::Secret",
        &[
            "random:index:RandomPassword",
            "aws:secretsmanager:Secret",
            "aws:secretsmanager:SecretVersion",
        ],
    ),
];

/// The explicit provider every AWS resource uses (it carries the tags).
const PROVIDER: &str = "awsProvider";

/// One Pulumi resource: its name in the program, type token, properties and options.
pub struct PulumiResource {
    pub name: String,
    pub token: &'static str,
    pub properties: Value,
    pub options: Map<String, Value>,
}

/// `Pulumi.yaml`: the project `name` with `description`, runtime YAML (the program in
/// `Main.yaml` beside it).
pub fn project_file(name: &str, description: &str) -> String {
    yaml::render(&crate::template::sorted(
        json!({ "name": name, "runtime": "yaml", "description": description }),
    ))
}

/// The program (`Main.yaml`) for `template`, tagging every taggable resource with `tags`.
pub fn program(template: &Template, tags: &BTreeMap<String, String>) -> String {
    let context = expr::Context {
        types: template
            .resources
            .iter()
            .map(|(id, r)| (id.as_str(), r.type_name))
            .collect(),
        mappings: &template.mappings,
    };
    let mut resources = Map::new();
    resources.insert(
        PROVIDER.into(),
        json!({
            "type": "pulumi:providers:aws",
            "properties": { "defaultTags": { "tags": context.expr(&json!(tags)) } },
            "options": { "version": AWS_PROVIDER_VERSION },
        }),
    );
    for (id, resource) in &template.resources {
        for mut made in resources::translate(id, resource, &context) {
            if made.token.starts_with("aws:") {
                made.options
                    .insert("provider".into(), json!(format!("${{{PROVIDER}}}")));
            } else {
                made.options
                    .insert("version".into(), json!(RANDOM_PROVIDER_VERSION));
            }
            if resource.deletion_policy == Some(crate::template::RetainPolicy::Retain) {
                made.options.insert("retainOnDelete".into(), json!(true));
            }
            if !resource.depends_on.is_empty() {
                let after: Vec<String> = resource
                    .depends_on
                    .iter()
                    .map(|d| format!("${{{d}}}"))
                    .collect();
                made.options.insert("dependsOn".into(), json!(after));
            }
            let mut body = json!({ "type": made.token, "properties": made.properties });
            if !made.options.is_empty() {
                body["options"] = Value::Object(made.options);
            }
            resources.insert(made.name, body);
        }
    }
    let mut outputs: Map<String, Value> = template
        .outputs
        .iter()
        .map(|(name, output)| (name.clone(), context.expr(&output.value)))
        .collect();
    if let Some(password) = resources::secret_value_resource(template) {
        // The webhook secret itself, as a secret output (`pulumi stack output --show-secrets`).
        outputs.insert(
            "WebhookSecret".into(),
            json!({ "fn::secret": format!("${{{password}.result}}") }),
        );
    }
    let program = json!({
        "variables": {
            "accountId": invoke("aws:getCallerIdentity", "accountId"),
            "region": invoke("aws:getRegion", "region"),
            "partition": invoke("aws:getPartition", "partition"),
        },
        "resources": resources,
        "outputs": outputs,
    });
    // Keys sorted here, whatever serde_json's map order is (compiler mode needs the same bytes
    // from every build).
    yaml::render(&crate::template::sorted(program))
}

fn invoke(function: &str, field: &str) -> Value {
    json!({ "fn::invoke": { "function": function, "arguments": {}, "return": field } })
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use serde_json::Value;

    use super::*;
    use crate::{Config, synthesize};

    fn programs() -> Vec<Value> {
        let configs = [
            "[source]\nrepository = \"acme/orders\"\n",
            "[source]\nrepository = \"acme/orders\"\ntrigger = \"connection\"\nconnection_arn = \"arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-1111-2222-3333-444455556666\"\n[source.file_paths]\ninclude = [\"src/**\"]\n[scan]\ngate = \"inspector\"\n",
            "[notifications]\nemails = [\"a@example.com\", \"b@example.com\"]\n",
        ];
        configs
            .iter()
            .map(|text| {
                let config = Config::parse("t.toml", text).unwrap();
                let yaml = program(&synthesize(&config), &config.effective_tags());
                serde_norway::from_str(&yaml).unwrap()
            })
            .collect()
    }

    /// Every `${name...}` in `value`, by the name it starts with (`$$` is an escaped `$`).
    fn references(value: &Value, out: &mut BTreeSet<String>) {
        match value {
            Value::String(s) => {
                let unescaped = s.replace("$$", "\u{0}");
                for part in unescaped.split("${").skip(1) {
                    let name = part.split(['}', '.', '[']).next().unwrap_or_default();
                    out.insert(name.to_owned());
                }
            }
            Value::Array(items) => items.iter().for_each(|v| references(v, out)),
            Value::Object(map) => map.values().for_each(|v| references(v, out)),
            _ => {}
        }
    }

    #[test]
    fn only_pulumi_yaml_keys_and_known_functions_are_used() {
        const FUNCTIONS: [&str; 9] = [
            "fn::invoke",
            "fn::toJSON",
            "fn::join",
            "fn::select",
            "fn::split",
            "fn::assetArchive",
            "fn::stringAsset",
            "fn::secret",
            "fn::fileAsset",
        ];
        fn functions(value: &Value, out: &mut BTreeSet<String>) {
            match value {
                Value::Array(items) => items.iter().for_each(|v| functions(v, out)),
                Value::Object(map) => {
                    for (k, v) in map {
                        if k.starts_with("fn::") {
                            out.insert(k.clone());
                        }
                        functions(v, out);
                    }
                }
                _ => {}
            }
        }
        for program in programs() {
            let top: Vec<&String> = program.as_object().unwrap().keys().collect();
            assert_eq!(top, ["outputs", "resources", "variables"]);
            for (name, resource) in program["resources"].as_object().unwrap() {
                for key in resource.as_object().unwrap().keys() {
                    assert!(
                        ["type", "properties", "options"].contains(&key.as_str()),
                        "{name}.{key}"
                    );
                }
                for key in resource["options"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k)
                {
                    assert!(
                        [
                            "provider",
                            "dependsOn",
                            "retainOnDelete",
                            "version",
                            "protect"
                        ]
                        .contains(&key.as_str()),
                        "{name}.options.{key}"
                    );
                }
            }
            let mut used = BTreeSet::new();
            functions(&program, &mut used);
            assert!(
                used.iter().all(|f| FUNCTIONS.contains(&f.as_str())),
                "{used:?}"
            );
        }
    }

    #[test]
    fn every_reference_resolves_and_there_is_no_cycle() {
        for program in programs() {
            let resources = program["resources"].as_object().unwrap();
            let variables = program["variables"].as_object().unwrap();
            let mut graph: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
            for (name, resource) in resources {
                let mut refs = BTreeSet::new();
                references(resource, &mut refs);
                for r in &refs {
                    assert!(
                        resources.contains_key(r) || variables.contains_key(r) || r == "pulumi",
                        "{name} refers to undefined {r}"
                    );
                }
                graph.insert(name, refs);
            }
            let mut outputs = BTreeSet::new();
            references(&program["outputs"], &mut outputs);
            assert!(
                outputs
                    .iter()
                    .all(|r| resources.contains_key(r) || variables.contains_key(r))
            );
            // Kahn's algorithm over resource-to-resource edges: everything gets an order.
            let mut remaining: BTreeMap<&str, BTreeSet<String>> = graph
                .iter()
                .map(|(k, v)| {
                    (
                        *k,
                        v.iter()
                            .filter(|r| resources.contains_key(*r))
                            .cloned()
                            .collect(),
                    )
                })
                .collect();
            while !remaining.is_empty() {
                let ready: Vec<&str> = remaining
                    .iter()
                    .filter(|(_, deps)| deps.is_empty())
                    .map(|(k, _)| *k)
                    .collect();
                assert!(
                    !ready.is_empty(),
                    "dependency cycle among {:?}",
                    remaining.keys()
                );
                for name in ready {
                    remaining.remove(name);
                    remaining.values_mut().for_each(|deps| {
                        deps.remove(name);
                    });
                }
            }
        }
    }

    #[test]
    fn unescaped_strings_are_exactly_the_buildspec_and_the_lambda_sources() {
        let program = &programs()[0];
        let unescape = |v: &Value| v.as_str().unwrap().replace("$$", "$");
        let buildspec = &program["resources"]["BuildProject"]["properties"]["source"]["buildspec"];
        assert_eq!(unescape(buildspec), crate::resources::codebuild::BUILDSPEC);
        for (name, source) in [
            ("PromotionFunction", crate::pipeline::PROMOTION_SOURCE),
            ("WebhookFunction", crate::pipeline::WEBHOOK_SOURCE),
        ] {
            let code = &program["resources"][name]["properties"]["code"]["fn::assetArchive"]["index.py"]
                ["fn::stringAsset"];
            assert_eq!(unescape(code), source, "{name}");
        }
    }

    #[test]
    fn every_cloudformation_type_has_a_mapping_and_retained_data_stays() {
        let config = Config::parse("t.toml", "[source]\nrepository = \"acme/orders\"\n").unwrap();
        let template = synthesize(&config);
        for resource in template.resources.values() {
            assert!(
                MAPPING.iter().any(|(t, _)| *t == resource.type_name),
                "{}",
                resource.type_name
            );
        }
        let program: Value =
            serde_norway::from_str(&program(&template, &config.effective_tags())).unwrap();
        for name in [
            "ArtifactBucket",
            "ImageRepository",
            "ImageRepositoryLifecyclePolicy",
        ] {
            assert_eq!(
                program["resources"][name]["options"]["retainOnDelete"], true,
                "{name}"
            );
        }
        assert_eq!(
            program["resources"][PROVIDER]["properties"]["defaultTags"]["tags"],
            serde_json::json!({ "Environment": "production", "Team": "devops" })
        );
    }
}
