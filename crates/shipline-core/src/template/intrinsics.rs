//! CloudFormation intrinsic functions and pseudo parameters as JSON values, in the long form
//! (`{"Fn::GetAtt": [...]}`) that JSON and YAML renderers both emit without custom tags.

use serde_json::{Value, json};

/// `{"Ref": logical_id}`: a resource's primary identifier (or a pseudo parameter).
pub fn ref_(logical_id: &str) -> Value {
    json!({ "Ref": logical_id })
}

/// `{"Fn::GetAtt": [logical_id, attribute]}`.
pub fn get_att(logical_id: &str, attribute: &str) -> Value {
    json!({ "Fn::GetAtt": [logical_id, attribute] })
}

/// `{"Fn::Sub": text}`: `${Name}` placeholders resolve to Refs, `${Name.Attr}` to GetAtts.
pub fn sub(text: &str) -> Value {
    json!({ "Fn::Sub": text })
}

/// `{"Fn::Join": [separator, parts]}`.
pub fn join(separator: &str, parts: Vec<Value>) -> Value {
    json!({ "Fn::Join": [separator, parts] })
}

/// An ARN in this stack's partition, region and account: `arn:${AWS::Partition}:service:...`.
/// `rest` is everything after the account id and may hold further `${...}` placeholders.
pub fn regional_arn(service: &str, rest: &str) -> Value {
    sub(&format!(
        "arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{rest}"
    ))
}

/// `{"Ref": "AWS::AccountId"}`.
pub fn account_id() -> Value {
    ref_("AWS::AccountId")
}
