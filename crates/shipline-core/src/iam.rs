//! IAM derived from use. A [`Role`] starts empty; resources add to it through their `grant_*`
//! methods (in [`crate::resources`]), each of which adds one [`Statement`] with exactly the
//! actions that use needs on exactly the ARNs it touches. No role's policy is written by hand.
//!
//! A statement on `"*"` can only be made through [`Statement::on_any_resource`], which takes the
//! AWS limitation that forces the wildcard as an argument: the reason lives next to the grant,
//! and the role records it in its `Metadata.shipline.wildcards` for reviewers of the template
//! (and `shipline docs`).

use serde_json::{Map, Value, json};

use crate::template::Resource;

/// One Allow statement of an identity policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Statement id: alphanumeric, unique within the role; names the use ("PushImages").
    pub sid: String,
    pub actions: Vec<&'static str>,
    pub resources: Vec<Value>,
    /// A parliament finding this statement is known to raise, with the reason it is accepted
    /// (recorded in the role's `Metadata.parliament.ignore`).
    pub accepted_finding: Option<AcceptedFinding>,
    /// Why the resource is `"*"`: the AWS limitation passed to [`Statement::on_any_resource`]
    /// (recorded in the role's `Metadata.shipline.wildcards`).
    pub wildcard_reason: Option<&'static str>,
    /// The statement's `Condition` block, if it has one.
    pub condition: Option<Value>,
}

/// A policy-linter finding accepted for one statement, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedFinding {
    pub issue: &'static str,
    pub reason: &'static str,
}

impl Statement {
    /// Allows `actions` on the given resource ARNs.
    pub fn allow(sid: &str, actions: &[&'static str], resources: Vec<Value>) -> Self {
        assert!(!resources.is_empty(), "statement {sid} has no resources");
        assert!(
            sid.chars().all(|c| c.is_ascii_alphanumeric()),
            "sid {sid} must be alphanumeric"
        );
        Statement {
            sid: sid.to_owned(),
            actions: actions.to_vec(),
            resources,
            accepted_finding: None,
            wildcard_reason: None,
            condition: None,
        }
    }

    /// Narrows the statement to requests that meet `condition` (an IAM `Condition` block).
    pub fn when(mut self, condition: Value) -> Self {
        self.condition = Some(condition);
        self
    }

    /// Records that parliament reports `issue` for this statement and why that is accepted.
    pub fn accepting(mut self, issue: &'static str, reason: &'static str) -> Self {
        self.accepted_finding = Some(AcceptedFinding { issue, reason });
        self
    }

    /// Allows `actions` on `"*"`. Only for actions that support no resource-level scoping;
    /// `aws_limitation` names that limitation (it is kept here so the reason sits with the grant).
    pub fn on_any_resource(
        sid: &str,
        actions: &[&'static str],
        aws_limitation: &'static str,
    ) -> Self {
        debug_assert!(
            !aws_limitation.is_empty(),
            "a wildcard resource needs its reason"
        );
        Statement {
            wildcard_reason: Some(aws_limitation),
            ..Statement::allow(sid, actions, vec![json!("*")])
        }
    }

    fn to_value(&self) -> Value {
        let mut statement = json!({
            "Sid": self.sid,
            "Effect": "Allow",
            "Action": self.actions,
            "Resource": self.resources,
        });
        if let Some(condition) = &self.condition {
            statement["Condition"] = condition.clone();
        }
        statement
    }
}

/// A policy document (version 2012-10-17) from statements already rendered as JSON.
pub fn policy_document(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// An IAM role assumed by one AWS service principal, with an inline policy built from grants.
#[derive(Debug, Clone)]
pub struct Role {
    pub logical_id: String,
    pub description: String,
    /// The service principal that assumes the role, e.g. `codebuild.amazonaws.com`.
    pub service: &'static str,
    /// Condition block of the trust statement (confused-deputy protection), if the service
    /// supports `aws:SourceAccount` / `aws:SourceArn` when it assumes roles.
    pub trust_condition: Option<Value>,
    pub statements: Vec<Statement>,
}

impl Role {
    pub fn new(logical_id: &str, description: &str, service: &'static str) -> Self {
        Role {
            logical_id: logical_id.to_owned(),
            description: description.to_owned(),
            service,
            trust_condition: None,
            statements: Vec::new(),
        }
    }

    /// Restricts the trust policy to requests made on behalf of `source_arn` in this account.
    pub fn trusted_only_for(mut self, source_arn: Value) -> Self {
        self.trust_condition = Some(json!({
            "StringEquals": { "aws:SourceAccount": { "Ref": "AWS::AccountId" } },
            "ArnLike": { "aws:SourceArn": source_arn },
        }));
        self
    }

    /// Adds a statement. Grants call this; a second grant with the same sid is a bug.
    pub fn add(&mut self, statement: Statement) {
        assert!(
            self.statements.iter().all(|s| s.sid != statement.sid),
            "role {} already has a statement {}",
            self.logical_id,
            statement.sid
        );
        self.statements.push(statement);
    }

    /// `{"Fn::GetAtt": [role, "Arn"]}`.
    pub fn arn(&self) -> Value {
        crate::template::intrinsics::get_att(&self.logical_id, "Arn")
    }

    /// The trust policy document.
    pub fn trust_policy(&self) -> Value {
        let mut statement = Map::new();
        statement.insert("Effect".into(), json!("Allow"));
        statement.insert("Principal".into(), json!({ "Service": self.service }));
        statement.insert("Action".into(), json!("sts:AssumeRole"));
        if let Some(condition) = &self.trust_condition {
            statement.insert("Condition".into(), condition.clone());
        }
        policy_document(vec![Value::Object(statement)])
    }

    /// The `AWS::IAM::Role` resource: trust policy plus one inline policy holding every grant.
    /// The role is unnamed (CloudFormation generates a unique name), so the stack deploys with
    /// `CAPABILITY_IAM` and the same app can be deployed to several regions of one account.
    /// Every `"*"` statement's reason goes to `Metadata.shipline.wildcards[].{sid, actions,
    /// reason}`, in statement order.
    pub fn into_resource(self) -> Resource {
        assert!(
            !self.statements.is_empty(),
            "role {} has no grants",
            self.logical_id
        );
        let statements = self.statements.iter().map(Statement::to_value).collect();
        let mut resource = Resource::new("AWS::IAM::Role");
        for statement in &self.statements {
            if let Some(accepted) = &statement.accepted_finding {
                resource = resource.accept_policy_finding(
                    accepted.issue,
                    &statement.actions,
                    accepted.reason,
                );
            }
        }
        let wildcards: Vec<Value> = self
            .statements
            .iter()
            .filter_map(|s| {
                s.wildcard_reason
                    .map(|reason| json!({ "sid": s.sid, "actions": s.actions, "reason": reason }))
            })
            .collect();
        if !wildcards.is_empty() {
            resource
                .metadata
                .insert("shipline".into(), json!({ "wildcards": wildcards }));
        }
        resource
            .prop("Description", json!(self.description))
            .prop("AssumeRolePolicyDocument", self.trust_policy())
            .prop(
                "Policies",
                json!([{ "PolicyName": "least-privilege", "PolicyDocument": policy_document(statements) }]),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role() -> Role {
        Role::new("BuildRole", "CodeBuild: builds", "codebuild.amazonaws.com")
    }

    fn read_bucket() -> Statement {
        Statement::allow(
            "ReadBucket",
            &["s3:GetObject"],
            vec![json!("arn:aws:s3:::b/*")],
        )
    }

    #[test]
    fn the_trust_policy_admits_the_service_principal_only() {
        assert_eq!(
            role().trust_policy(),
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": { "Service": "codebuild.amazonaws.com" },
                    "Action": "sts:AssumeRole",
                }],
            })
        );
    }

    #[test]
    fn trusted_only_for_adds_source_account_and_source_arn_conditions() {
        let source = json!({ "Fn::GetAtt": ["Project", "Arn"] });
        let trust = role().trusted_only_for(source.clone()).trust_policy();
        assert_eq!(
            trust["Statement"][0]["Condition"],
            json!({
                "StringEquals": { "aws:SourceAccount": { "Ref": "AWS::AccountId" } },
                "ArnLike": { "aws:SourceArn": source },
            })
        );
        assert_eq!(
            trust["Statement"][0]["Principal"],
            json!({ "Service": "codebuild.amazonaws.com" })
        );
    }

    #[test]
    #[should_panic(expected = "role BuildRole has no grants")]
    fn a_role_without_grants_is_a_programming_error() {
        let _ = role().into_resource();
    }

    #[test]
    #[should_panic(expected = "role BuildRole already has a statement ReadBucket")]
    fn a_second_grant_with_the_same_sid_is_a_programming_error() {
        let mut role = role();
        role.add(read_bucket());
        role.add(read_bucket());
    }

    #[test]
    #[should_panic(expected = "must be alphanumeric")]
    fn a_sid_must_be_alphanumeric() {
        let _ = Statement::allow("Read-Bucket", &["s3:GetObject"], vec![json!("arn")]);
    }

    #[test]
    #[should_panic(expected = "statement ReadBucket has no resources")]
    fn a_statement_needs_a_resource() {
        let _ = Statement::allow("ReadBucket", &["s3:GetObject"], vec![]);
    }

    #[test]
    fn on_any_resource_yields_the_wildcard_resource() {
        let statement =
            Statement::on_any_resource("Login", &["ecr:GetAuthorizationToken"], "no resource type");
        assert_eq!(statement.resources, [json!("*")]);
        assert_eq!(statement.accepted_finding, None);
        assert_eq!(statement.wildcard_reason, Some("no resource type"));
        let mut role = role();
        role.add(read_bucket());
        role.add(statement);
        let resource = role.into_resource();
        assert_eq!(
            resource.properties["Policies"][0]["PolicyDocument"]["Statement"][1]["Resource"],
            json!(["*"])
        );
        // The reason is kept in the template, for reviewers and `shipline docs`.
        assert_eq!(
            resource.metadata["shipline"],
            json!({ "wildcards": [{
                "sid": "Login",
                "actions": ["ecr:GetAuthorizationToken"],
                "reason": "no resource type",
            }]})
        );
    }

    #[test]
    fn the_role_renders_one_inline_policy_holding_every_grant_in_order() {
        let mut role = role().trusted_only_for(json!("arn:aws:codebuild:::project/p"));
        role.add(read_bucket());
        role.add(Statement::allow(
            "PushImages",
            &["ecr:PutImage", "ecr:UploadLayerPart"],
            vec![json!("arn:repo")],
        ));
        let trust = role.trust_policy();
        let resource = role.into_resource();
        assert_eq!(resource.type_name, "AWS::IAM::Role");
        assert_eq!(resource.properties["Description"], "CodeBuild: builds");
        assert_eq!(resource.properties["AssumeRolePolicyDocument"], trust);
        assert_eq!(
            resource.properties["Policies"],
            json!([{
                "PolicyName": "least-privilege",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ReadBucket",
                            "Effect": "Allow",
                            "Action": ["s3:GetObject"],
                            "Resource": ["arn:aws:s3:::b/*"],
                        },
                        {
                            "Sid": "PushImages",
                            "Effect": "Allow",
                            "Action": ["ecr:PutImage", "ecr:UploadLayerPart"],
                            "Resource": ["arn:repo"],
                        },
                    ],
                },
            }])
        );
        // Unnamed, so CloudFormation generates a unique name per stack.
        assert!(!resource.properties.contains_key("RoleName"));
        assert!(!resource.metadata.contains_key("parliament"));
        assert!(!resource.metadata.contains_key("shipline"));
    }

    #[test]
    fn accepted_findings_land_in_metadata_parliament_ignore() {
        let mut role = role();
        role.add(read_bucket());
        role.add(
            Statement::on_any_resource("Login", &["ecr:GetAuthorizationToken"], "registry-wide")
                .accepting("CREDENTIALS_EXPOSURE", "docker login needs it"),
        );
        let resource = role.into_resource();
        assert_eq!(
            resource.metadata["parliament"],
            json!({ "ignore": [{
                "issue": "CREDENTIALS_EXPOSURE",
                "actions": ["ecr:GetAuthorizationToken"],
                "reason": "docker login needs it",
            }]})
        );
    }

    #[test]
    fn arn_is_the_roles_get_att_arn() {
        assert_eq!(role().arn(), json!({ "Fn::GetAtt": ["BuildRole", "Arn"] }));
    }
}
