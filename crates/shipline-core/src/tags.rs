//! The tag pass: one walk over the finished template that tags every resource whose type
//! takes tags, in the shape that type expects. Resource constructors never write tags.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::template::Template;

/// How a resource type takes tags in CloudFormation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagShape {
    /// `Tags: [{Key, Value}, ...]`
    KeyValueList,
    /// The type has no `Tags` property.
    Untaggable,
}

/// The tag shape of every type shipline creates. An unknown type is a programming error:
/// adding a resource type means deciding here how it is tagged.
pub fn tag_shape(type_name: &str) -> TagShape {
    match type_name {
        "AWS::S3::Bucket"
        | "AWS::ECR::Repository"
        | "AWS::Logs::LogGroup"
        | "AWS::IAM::Role"
        | "AWS::CodeBuild::Project"
        | "AWS::CodePipeline::Pipeline"
        | "AWS::Lambda::Function"
        | "AWS::CodeConnections::Connection"
        | "AWS::SecretsManager::Secret"
        | "AWS::Events::EventBus"
        | "AWS::Events::Rule"
        | "AWS::KMS::Key"
        | "AWS::SNS::Topic" => TagShape::KeyValueList,
        "AWS::S3::BucketPolicy"
        | "AWS::Lambda::Url"
        | "AWS::Lambda::Permission"
        | "AWS::KMS::Alias"
        | "AWS::SNS::TopicPolicy" => TagShape::Untaggable,
        other => panic!("tag_shape: no tag shape recorded for {other}"),
    }
}

/// Tags every taggable resource with `tags` (sorted by key, so output is deterministic).
pub fn apply(template: &mut Template, tags: &BTreeMap<String, String>) {
    if tags.is_empty() {
        return;
    }
    let list: Vec<Value> = tags
        .iter()
        .map(|(k, v)| json!({ "Key": k, "Value": v }))
        .collect();
    for resource in template.resources.values_mut() {
        match tag_shape(resource.type_name) {
            TagShape::KeyValueList => {
                resource
                    .properties
                    .insert("Tags".to_owned(), Value::Array(list.clone()));
            }
            TagShape::Untaggable => {}
        }
    }
}
