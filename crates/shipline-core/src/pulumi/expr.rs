//! CloudFormation expressions as Pulumi YAML expressions: `Ref`/`Fn::GetAtt` become
//! `${resource.property}` through the attribute table below, pseudo parameters become the
//! program's invoke variables, `Fn::Sub` becomes an interpolated string, `Fn::Join`/`Select`/
//! `Split` the functions of the same name, and `Fn::FindInMap` a lookup in the mapping written
//! as one string (Pulumi YAML has no map lookup by a computed key). Every literal `$` is written
//! `$$`, since `${` starts an interpolation.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// What an expression needs to know about the template: each resource's type, and the
/// mappings `Fn::FindInMap` reads.
pub struct Context<'a> {
    pub types: BTreeMap<&'a str, &'a str>,
    pub mappings: &'a BTreeMap<String, Value>,
}

/// `s` as a Pulumi YAML literal: `$` doubled.
pub fn literal(s: &str) -> String {
    s.replace('$', "$$")
}

impl Context<'_> {
    /// The Pulumi expression of a CloudFormation value.
    pub fn expr(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => json!(literal(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.expr(v)).collect()),
            Value::Object(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next().expect("one entry");
                self.intrinsic(key, arg)
                    .unwrap_or_else(|| json!({ key.clone(): self.expr(arg) }))
            }
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), self.expr(v))).collect())
            }
            other => other.clone(),
        }
    }

    fn intrinsic(&self, key: &str, arg: &Value) -> Option<Value> {
        Some(match key {
            "Ref" => json!(self.reference(arg.as_str()?, None)),
            "Fn::GetAtt" => json!(self.reference(arg[0].as_str()?, Some(arg[1].as_str()?))),
            "Fn::Sub" => self.sub(arg),
            "Fn::Join" => json!({ "fn::join": [arg[0], self.expr(&arg[1])] }),
            "Fn::Select" => json!({ "fn::select": [arg[0], self.expr(&arg[1])] }),
            "Fn::Split" => json!({ "fn::split": [arg[0], self.expr(&arg[1])] }),
            "Fn::FindInMap" => self.find_in_map(arg)?,
            _ => return None,
        })
    }

    /// `${resource.property}` (or an invoke variable) for a `Ref` (`attr` None) or `Fn::GetAtt`.
    fn reference(&self, id: &str, attr: Option<&str>) -> String {
        match id {
            "AWS::Region" => return "${region}".into(),
            "AWS::AccountId" => return "${accountId}".into(),
            "AWS::Partition" => return "${partition}".into(),
            "AWS::StackName" => return "${pulumi.stack}".into(),
            _ => {}
        }
        let resource_type = self.types.get(id).copied().unwrap_or_default();
        let property = match (resource_type, attr) {
            ("AWS::S3::Bucket", None) => "bucket",
            ("AWS::CodeConnections::Connection" | "AWS::SNS::Topic", None) => "arn",
            ("AWS::SecretsManager::Secret", None) => "arn",
            ("AWS::KMS::Key", None) => "keyId",
            (_, None) => "name",
            // CloudFormation's log group Arn ends in `:*` (it covers the streams); Pulumi's not.
            ("AWS::Logs::LogGroup", Some("Arn")) => return format!("${{{id}.arn}}:*"),
            (_, Some("Arn")) => "arn",
            (_, Some("RepositoryUri")) => "repositoryUrl",
            (_, Some("FunctionUrl")) => "functionUrl",
            (_, Some(other)) => other,
        };
        format!("${{{id}.{property}}}")
    }

    /// `Fn::Sub` text (with its variable map, if any) as an interpolated string, or, when a
    /// variable's value is a function (`Fn::Select` of a `Ref`), an `fn::join` of the pieces.
    fn sub(&self, arg: &Value) -> Value {
        let (text, variables) = match arg {
            Value::Array(parts) => (parts[0].as_str().unwrap_or_default(), parts[1].as_object()),
            other => (other.as_str().unwrap_or_default(), None),
        };
        let mut pieces: Vec<Value> = Vec::new();
        let mut current = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            current.push_str(&literal(&rest[..start]));
            let Some(end) = rest[start..].find('}') else {
                break;
            };
            let name = &rest[start + 2..start + end];
            match variables.and_then(|v| v.get(name)).map(|v| self.expr(v)) {
                Some(Value::String(s)) => current.push_str(&s),
                Some(function) => {
                    pieces.push(json!(std::mem::take(&mut current)));
                    pieces.push(function);
                }
                None => current.push_str(&match name.split_once('.') {
                    Some((id, attr)) => self.reference(id, Some(attr)),
                    None => self.reference(name, None),
                }),
            }
            rest = &rest[start + end + 1..];
        }
        current.push_str(&literal(rest));
        if pieces.is_empty() {
            return json!(current);
        }
        pieces.push(json!(current));
        pieces.retain(|p| p != &json!(""));
        json!({ "fn::join": ["", pieces] })
    }

    /// `Fn::FindInMap [map, key, attribute]`: the mapping as one string `|k1=v1|k2=v2|`, split
    /// at `|<key>=` and then at `|`, so the value of the computed key is selected.
    fn find_in_map(&self, arg: &Value) -> Option<Value> {
        let (map, key, attribute) = (arg[0].as_str()?, &arg[1], arg[2].as_str()?);
        let table: String = self.mappings.get(map)?.as_object()?.iter().fold(
            String::from("|"),
            |mut acc, (k, row)| {
                acc.push_str(&format!(
                    "{k}={}|",
                    row[attribute].as_str().unwrap_or_default()
                ));
                acc
            },
        );
        let key = match self.expr(key) {
            Value::String(s) => s,
            _ => return None,
        };
        Some(
            json!({ "fn::select": [0, { "fn::split": ["|", { "fn::select": [1, {
            "fn::split": [format!("|{key}="), literal(&table)]
        }] }] }] }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(mappings: &BTreeMap<String, Value>) -> Context<'_> {
        Context {
            types: BTreeMap::from([
                ("Bucket", "AWS::S3::Bucket"),
                ("Logs", "AWS::Logs::LogGroup"),
                ("Repo", "AWS::ECR::Repository"),
            ]),
            mappings,
        }
    }

    #[test]
    fn references_map_to_the_pulumi_properties_and_invokes() {
        let none = BTreeMap::new();
        let c = context(&none);
        assert_eq!(
            c.expr(&json!({ "Ref": "Bucket" })),
            json!("${Bucket.bucket}")
        );
        assert_eq!(c.expr(&json!({ "Ref": "Repo" })), json!("${Repo.name}"));
        assert_eq!(
            c.expr(&json!({ "Fn::GetAtt": ["Repo", "RepositoryUri"] })),
            json!("${Repo.repositoryUrl}")
        );
        // The log group's CloudFormation Arn covers its streams: `:*` is appended.
        assert_eq!(
            c.expr(&json!({ "Fn::GetAtt": ["Logs", "Arn"] })),
            json!("${Logs.arn}:*")
        );
        assert_eq!(
            c.expr(&json!({ "Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/*" })),
            json!("arn:${partition}:s3:::${Bucket.bucket}/*")
        );
    }

    #[test]
    fn literal_dollars_are_escaped_and_sub_variables_resolve() {
        let none = BTreeMap::new();
        let c = context(&none);
        assert_eq!(
            c.expr(&json!("echo ${HOME} $PATH")),
            json!("echo $${HOME} $$PATH")
        );
        assert_eq!(
            c.expr(&json!({ "Fn::Sub": ["a-${Id}-$x", { "Id": { "Ref": "Repo" } }] })),
            json!("a-${Repo.name}-$$x")
        );
    }

    /// Regression: a Sub variable whose value is a function (the connection id, selected from
    /// its ARN) was written into the string as JSON text.
    #[test]
    fn a_sub_variable_that_is_a_function_becomes_a_join() {
        let none = BTreeMap::new();
        let c = context(&none);
        let id = json!({ "Fn::Select": [1, { "Fn::Split": ["/", { "Ref": "Repo" }] }] });
        assert_eq!(
            c.expr(
                &json!({ "Fn::Sub": ["arn:${AWS::Partition}:x:connection/${Id}", { "Id": id }] })
            ),
            json!({ "fn::join": ["", [
                "arn:${partition}:x:connection/",
                { "fn::select": [1, { "fn::split": ["/", "${Repo.name}"] }] },
            ]] })
        );
    }

    #[test]
    fn find_in_map_selects_the_computed_keys_row() {
        let mappings = BTreeMap::from([(
            "Codes".to_owned(),
            json!({ "us-east-1": { "Code": "use1" }, "us-east-2": { "Code": "use2" } }),
        )]);
        let c = context(&mappings);
        let lookup =
            c.expr(&json!({ "Fn::FindInMap": ["Codes", { "Ref": "AWS::Region" }, "Code"] }));
        assert_eq!(
            lookup,
            json!({ "fn::select": [0, { "fn::split": ["|", { "fn::select": [1, {
                "fn::split": ["|${region}=", "|us-east-1=use1|us-east-2=use2|"]
            }] }] }] })
        );
    }
}
