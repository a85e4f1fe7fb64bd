//! [`Stack`]: the model every feature of the pipeline writes into. A feature adds resources,
//! outputs and mappings, creates the roles of the principals it introduces, and grants use of
//! its resources to roles by logical id — in any order, since roles are rendered only by
//! [`Stack::finish`], after every grant has landed. `finish` then runs the tag pass and checks
//! that every `Ref`, `Fn::GetAtt`, `Fn::Sub` and `Fn::FindInMap` names something the template
//! defines, so a renamed resource cannot leave a dangling reference behind.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::iam::Role;
use crate::tags;
use crate::template::{Resource, Template};

/// A template under construction, with its roles still open for grants.
pub struct Stack {
    template: Template,
    roles: BTreeMap<String, Role>,
}

impl Stack {
    pub fn new(description: String) -> Self {
        Stack {
            template: Template::new(description),
            roles: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, logical_id: &str, resource: Resource) {
        self.template.add(logical_id, resource);
    }

    /// A resource added earlier, for a feature that extends it (a trigger on the pipeline).
    pub fn resource(&mut self, logical_id: &str) -> &mut Resource {
        self.template
            .resources
            .get_mut(logical_id)
            .unwrap_or_else(|| panic!("no resource {logical_id} in the stack"))
    }

    pub fn output(&mut self, name: &str, description: &str, value: Value) {
        self.template.output(name, description, value);
    }

    pub fn mapping(&mut self, name: &str, table: Value) {
        self.template.mapping(name, table);
    }

    /// Registers a role; grants reach it through [`Stack::role`] until `finish`.
    pub fn add_role(&mut self, role: Role) {
        let id = role.logical_id.clone();
        assert!(
            self.roles.insert(id.clone(), role).is_none(),
            "role {id} added twice"
        );
    }

    /// The role `logical_id`, to grant to. Asking for a role no feature created is a bug.
    pub fn role(&mut self, logical_id: &str) -> &mut Role {
        self.roles
            .get_mut(logical_id)
            .unwrap_or_else(|| panic!("no role {logical_id} in the stack"))
    }

    /// Renders the roles, tags every taggable resource with `tags`, and checks references.
    pub fn finish(mut self, tags: &BTreeMap<String, String>) -> Result<Template, Vec<String>> {
        for (id, role) in std::mem::take(&mut self.roles) {
            self.template.add(&id, role.into_resource());
        }
        tags::apply(&mut self.template, tags);
        let dangling = dangling_references(&self.template);
        if dangling.is_empty() {
            Ok(self.template)
        } else {
            Err(dangling)
        }
    }
}

/// Every reference in `template` to a resource, pseudo parameter or mapping it does not define.
fn dangling_references(template: &Template) -> Vec<String> {
    let defined: BTreeSet<&str> = template.resources.keys().map(String::as_str).collect();
    let mut problems = Vec::new();
    let mut check = |kind: &str, target: &str, known: bool| {
        if !known {
            problems.push(format!("{kind} {target}"));
        }
    };
    // The model's own values, walked in place (no serialization of the whole template).
    for resource in template.resources.values() {
        for target in &resource.depends_on {
            check("DependsOn", target, defined.contains(target.as_str()));
        }
    }
    let mut pending: Vec<&Value> = template
        .resources
        .values()
        .flat_map(|r| r.properties.values())
        .chain(template.outputs.values().map(|o| &o.value))
        .collect();
    while let Some(node) = pending.pop() {
        match node {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => {
                for (key, inner) in map {
                    match (key.as_str(), inner) {
                        ("Ref", Value::String(target)) => {
                            let known =
                                target.starts_with("AWS::") || defined.contains(target.as_str());
                            check("Ref", target, known);
                        }
                        ("Fn::GetAtt", Value::Array(parts)) => {
                            let target = parts[0].as_str().unwrap_or_default();
                            check("Fn::GetAtt", target, defined.contains(target));
                        }
                        ("Fn::Sub", Value::String(text)) => {
                            for target in sub_placeholders(text) {
                                let known = target.starts_with("AWS::") || defined.contains(target);
                                check("Fn::Sub", target, known);
                            }
                        }
                        ("Fn::Sub", Value::Array(parts)) => {
                            let variables = parts.get(1).and_then(Value::as_object);
                            for target in sub_placeholders(parts[0].as_str().unwrap_or_default()) {
                                let known = target.starts_with("AWS::")
                                    || defined.contains(target)
                                    || variables.is_some_and(|v| v.contains_key(target));
                                check("Fn::Sub", target, known);
                            }
                            pending.extend(parts.iter().skip(1));
                        }
                        ("Fn::FindInMap", Value::Array(parts)) => {
                            let name = parts[0].as_str().unwrap_or_default();
                            check("Fn::FindInMap", name, template.mappings.contains_key(name));
                            pending.extend(parts.iter().skip(1));
                        }
                        _ => pending.push(inner),
                    }
                }
            }
            _ => {}
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

/// The names `${Name}` / `${Name.Attr}` in a `Fn::Sub` string refers to (`${!Literal}` is not one).
fn sub_placeholders(text: &str) -> Vec<&str> {
    text.split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(inner, _)| inner))
        .filter(|inner| !inner.starts_with('!'))
        .map(|inner| inner.split('.').next().unwrap_or(inner))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finish_renders_roles_after_every_grant_and_tags_them() {
        let mut stack = Stack::new("t".into());
        stack.add_role(Role::new("BuildRole", "d", "codebuild.amazonaws.com"));
        stack.add("Bucket", Resource::new("AWS::S3::Bucket"));
        stack.role("BuildRole").add(crate::iam::Statement::allow(
            "Read",
            &["s3:GetObject"],
            vec![json!({ "Fn::GetAtt": ["Bucket", "Arn"] })],
        ));
        let tags = BTreeMap::from([("Team".to_owned(), "devops".to_owned())]);
        let template = stack.finish(&tags).unwrap();
        let role = &template.resources["BuildRole"];
        assert_eq!(
            role.properties["Policies"][0]["PolicyDocument"]["Statement"][0]["Sid"],
            "Read"
        );
        assert_eq!(
            role.properties["Tags"],
            json!([{ "Key": "Team", "Value": "devops" }])
        );
    }

    #[test]
    fn finish_names_every_dangling_reference() {
        let mut stack = Stack::new("t".into());
        stack.add(
            "Topic",
            Resource::new("AWS::SNS::Topic").prop(
                "KmsMasterKeyId",
                json!({ "Fn::Join": ["", [
                    { "Ref": "Key" },
                    { "Ref": "AWS::Region" },
                    { "Fn::GetAtt": ["Gone", "Arn"] },
                    { "Fn::Sub": "${Topic.TopicName}-${Missing}-${AWS::AccountId}-${!Literal}" },
                    { "Fn::Sub": ["${Id}-${Other}", { "Id": { "Ref": "Topic" } }] },
                    { "Fn::FindInMap": ["Codes", { "Ref": "AWS::Region" }, "Code"] },
                ]] }),
            ),
        );
        assert_eq!(
            stack.finish(&BTreeMap::new()).unwrap_err(),
            [
                "Fn::FindInMap Codes",
                "Fn::GetAtt Gone",
                "Fn::Sub Missing",
                "Fn::Sub Other",
                "Ref Key",
            ]
        );
    }
}
