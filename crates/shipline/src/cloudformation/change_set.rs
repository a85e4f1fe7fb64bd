//! Change sets: create one (CREATE or UPDATE, always explicit), wait until CloudFormation has
//! computed it, read every page of its changes with their property values, summarize what it
//! would do ([`render`], shared by `plan` and `deploy`), and clean it up.

use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Replacement, ResourceChange as SdkResourceChange,
};
use serde::Serialize;

use super::error::DeployError;
use crate::staging::TemplateSource;

use shipline_core::pipeline::{DATA_HOLDING, ids};

/// One resource change of a change set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceChange {
    /// Add, Modify, Remove, Import, Dynamic.
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// "True", "Conditional" or "False" (Modify only).
    pub replacement: Option<String>,
    /// What changes inside a Modify, one entry per property path (empty for Add and Remove, and
    /// where CloudFormation reports no details).
    pub properties: Vec<PropertyChange>,
    /// Why the change matters for security (see [`security_relevance`]), if it does.
    pub security: Option<SecurityKind>,
}

/// One changed property of a Modify: DescribeChangeSet's `Details[].Target`
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceTargetDefinition.html>).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PropertyChange {
    /// Properties, Metadata, Tags, DeletionPolicy, UpdateReplacePolicy, ...
    pub attribute: String,
    /// The property's name (when `attribute` is Properties).
    pub name: Option<String>,
    /// The property path, e.g. `/Properties/Policies/0/PolicyDocument` (with property values).
    pub path: Option<String>,
    /// "Never", "Conditionally" or "Always": whether changing it recreates the resource.
    pub requires_recreation: Option<String>,
    /// The value before and after, whitespace collapsed and clipped to [`VALUE_CHARS`]; None
    /// when CloudFormation gives none or when it is hidden.
    pub before: Option<String>,
    pub after: Option<String>,
    /// The values are withheld because they may be secret (see [`hides_values`]).
    pub hidden: bool,
    /// This property is what makes the resource security-relevant.
    pub security: bool,
}

impl PropertyChange {
    /// How the property is named in the summary: its name, else the attribute (Tags, ...).
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.attribute)
    }

    /// The property path without the leading `/Properties/` (`Policies/0/PolicyDocument`),
    /// else the label.
    pub fn key(&self) -> &str {
        match self.path.as_deref() {
            Some(path) if !path.is_empty() => path
                .strip_prefix("/Properties/")
                .unwrap_or(path.trim_start_matches('/')),
            _ => self.label(),
        }
    }

    fn recreation_note(&self) -> Option<&'static str> {
        match self.requires_recreation.as_deref() {
            Some("Always") => Some("requires replacement"),
            Some("Conditionally") => Some("may require replacement"),
            _ => None,
        }
    }
}

/// Why a change matters for security: the kinds `cdk diff` lists as "IAM Statement Changes" and
/// "Security Group Changes", and the resource policies the pipeline uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityKind {
    /// Any `AWS::IAM::*` resource (roles with their inline policies, policies, users, ...), and
    /// the role an EventBridge rule target assumes.
    Iam,
    /// `AWS::EC2::SecurityGroup`, `...Ingress`, `...Egress`.
    SecurityGroup,
    /// A KMS key (its `KeyPolicy`).
    KeyPolicy,
    /// `AWS::S3::BucketPolicy`.
    BucketPolicy,
    /// Who may call a resource: Lambda permissions, SNS topic and SQS queue policies, an ECR
    /// repository's `RepositoryPolicyText`, other `*Policy` resources.
    ResourcePolicy,
    /// What is reachable from the internet: a Lambda function URL (added, or its `AuthType`), a
    /// bucket's `PublicAccessBlockConfiguration`.
    PublicAccess,
}

impl SecurityKind {
    pub fn label(self) -> &'static str {
        match self {
            SecurityKind::Iam => "IAM",
            SecurityKind::SecurityGroup => "security group",
            SecurityKind::KeyPolicy => "KMS key policy",
            SecurityKind::BucketPolicy => "bucket policy",
            SecurityKind::ResourcePolicy => "resource policy",
            SecurityKind::PublicAccess => "public access",
        }
    }
}

/// Whether changing `property` of a `resource_type` is security-relevant. `property` is the
/// property key (`KeyPolicy`, `Targets/0/RoleArn`); None is the resource as a whole (added,
/// removed, or modified without details).
pub fn security_relevance(resource_type: &str, property: Option<&str>) -> Option<SecurityKind> {
    let top = property.map(|p| p.split('/').next().unwrap_or(p));
    match resource_type {
        t if t.starts_with("AWS::IAM::") => Some(SecurityKind::Iam),
        t if t.starts_with("AWS::EC2::SecurityGroup") => Some(SecurityKind::SecurityGroup),
        "AWS::KMS::Key" if matches!(top, None | Some("KeyPolicy")) => Some(SecurityKind::KeyPolicy),
        "AWS::S3::BucketPolicy" => Some(SecurityKind::BucketPolicy),
        "AWS::Lambda::Permission"
        | "AWS::SNS::TopicPolicy"
        | "AWS::SQS::QueuePolicy"
        | "AWS::Events::EventBusPolicy"
        | "AWS::SecretsManager::ResourcePolicy"
        | "AWS::Logs::ResourcePolicy" => Some(SecurityKind::ResourcePolicy),
        "AWS::ECR::Repository" if top == Some("RepositoryPolicyText") => {
            Some(SecurityKind::ResourcePolicy)
        }
        "AWS::Events::EventBus" if top == Some("Policy") => Some(SecurityKind::ResourcePolicy),
        // Without a path CloudFormation only says "Targets"; it may be the role.
        "AWS::Events::Rule"
            if top == Some("Targets")
                && property.is_some_and(|p| p.contains("RoleArn") || !p.contains('/')) =>
        {
            Some(SecurityKind::Iam)
        }
        "AWS::Lambda::Url" if matches!(top, None | Some("AuthType")) => {
            Some(SecurityKind::PublicAccess)
        }
        "AWS::S3::Bucket" if top == Some("PublicAccessBlockConfiguration") => {
            Some(SecurityKind::PublicAccess)
        }
        _ => None,
    }
}

/// Longest value shown, in characters (CloudFormation itself may truncate large values).
pub const VALUE_CHARS: usize = 60;

/// Whether a property's values are withheld: everything of a Secrets Manager secret, and any
/// property whose path names a secret, password, token, credential or private key.
pub fn hides_values(resource_type: &str, key: &str) -> bool {
    const SENSITIVE: [&str; 6] = [
        "secret",
        "password",
        "passphrase",
        "token",
        "credential",
        "privatekey",
    ];
    let key = key.to_ascii_lowercase().replace(['_', '-'], "");
    resource_type == "AWS::SecretsManager::Secret" || SENSITIVE.iter().any(|w| key.contains(w))
}

/// A value on one line: whitespace collapsed, clipped to [`VALUE_CHARS`] characters.
fn clip(value: &str) -> String {
    let flat = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= VALUE_CHARS {
        flat
    } else {
        let kept: String = flat.chars().take(VALUE_CHARS - 1).collect();
        format!("{kept}…")
    }
}

impl ResourceChange {
    /// A change with its properties' security flags and the resource's [`SecurityKind`] worked out.
    pub fn new(
        action: impl Into<String>,
        logical_id: impl Into<String>,
        resource_type: impl Into<String>,
        replacement: Option<String>,
        mut properties: Vec<PropertyChange>,
    ) -> Self {
        let resource_type = resource_type.into();
        let mut security = None;
        for property in &mut properties {
            let found = security_relevance(&resource_type, Some(property.key()));
            property.security = found.is_some();
            security = security.or(found);
        }
        if properties.is_empty() {
            security = security_relevance(&resource_type, None);
        }
        ResourceChange {
            action: action.into(),
            logical_id: logical_id.into(),
            resource_type,
            replacement,
            properties,
            security,
        }
    }

    /// From DescribeChangeSet's answer. `hide_all_values`: the stack has a NoEcho parameter, whose
    /// value could be in any property.
    fn from_sdk(rc: &SdkResourceChange, hide_all_values: bool) -> Self {
        let resource_type = rc.resource_type().unwrap_or("?");
        let mut properties: Vec<PropertyChange> = Vec::new();
        for target in rc.details().iter().filter_map(|d| d.target()) {
            let mut property = PropertyChange {
                attribute: target
                    .attribute()
                    .map(|a| a.as_str().to_owned())
                    .unwrap_or_default(),
                name: target.name().map(str::to_owned),
                path: target.path().map(str::to_owned),
                requires_recreation: target.requires_recreation().map(|r| r.as_str().to_owned()),
                before: None,
                after: None,
                hidden: false,
                security: false,
            };
            let has_values = target.before_value().is_some() || target.after_value().is_some();
            if has_values && (hide_all_values || hides_values(resource_type, property.key())) {
                property.hidden = true;
            } else {
                property.before = target.before_value().map(clip);
                property.after = target.after_value().map(clip);
            }
            // The same property is listed once per cause (a template edit, a changed reference):
            // keep the first, with the strongest recreation.
            let same = properties.iter_mut().find(|p| {
                (&p.attribute, &p.name, &p.path)
                    == (&property.attribute, &property.name, &property.path)
            });
            match same {
                Some(existing) => {
                    if recreation_rank(&property) > recreation_rank(existing) {
                        existing.requires_recreation = property.requires_recreation;
                    }
                }
                None => properties.push(property),
            }
        }
        ResourceChange::new(
            rc.action().map(|a| a.as_str()).unwrap_or_default(),
            rc.logical_resource_id().unwrap_or("?"),
            resource_type,
            // Only a Modify can replace; CloudFormation leaves it unset otherwise.
            rc.replacement().map(Replacement::as_str).map(str::to_owned),
            properties,
        )
    }

    pub fn replaces(&self) -> bool {
        matches!(self.replacement.as_deref(), Some("True" | "Conditional"))
    }

    /// Why this change needs explicit consent, if it does: it replaces or removes a resource
    /// holding the user's data, or the GitHub connection (a new connection starts PENDING, so
    /// the Source stage fails until someone authorizes it again).
    pub fn warning(&self) -> Option<&'static str> {
        if self.action != "Remove" && !self.replaces() {
            return None;
        }
        if DATA_HOLDING.contains(&self.logical_id.as_str()) {
            Some("this change replaces or removes a resource that holds your images or artifacts")
        } else if self.logical_id == ids::GITHUB_CONNECTION {
            Some(
                "this change replaces or removes the GitHub connection: a new connection starts PENDING and the Source stage fails until you authorize it again (deploy prints where)",
            )
        } else {
            None
        }
    }
}

/// A computed change set.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeSet {
    pub id: String,
    pub stack_id: String,
    pub changes: Vec<ResourceChange>,
}

/// What creating a change set produced.
pub enum Planned {
    Changes(ChangeSet),
    /// CloudFormation found nothing to change (the change set was deleted).
    NoChanges,
}

/// Creates a change set for `template` (inline, or staged in S3) and waits until it is computed.
pub async fn create(
    client: &Client,
    stack: &str,
    template: &TemplateSource,
    kind: ChangeSetType,
    poll: Duration,
) -> Result<Planned, DeployError> {
    let name = format!(
        "shipline-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    );
    let request = client
        .create_change_set()
        .stack_name(stack)
        .change_set_name(&name)
        .change_set_type(kind);
    let request = match template {
        TemplateSource::Body(body) => request.template_body(body),
        TemplateSource::Url(url) => request.template_url(url),
    };
    let created = request
        .capabilities(Capability::CapabilityIam)
        .description("created by shipline")
        .send()
        .await
        .map_err(|e| DeployError::from_sdk("CreateChangeSet", e))?;
    let id = created.id().unwrap_or(&name).to_owned();
    let stack_id = created.stack_id().unwrap_or(stack).to_owned();
    let mut delay = poll / 2;
    loop {
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(poll * 5);
        let out = describe(client, &id, &stack_id, None).await?;
        match out.status() {
            Some(ChangeSetStatus::CreateComplete) => {
                let changes = all_changes(client, &id, &stack_id, out).await?;
                return Ok(Planned::Changes(ChangeSet {
                    id,
                    stack_id,
                    changes,
                }));
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = out.status_reason().unwrap_or("no reason given").to_owned();
                delete(client, &id, &stack_id).await?;
                if reason.contains("didn't contain changes")
                    || reason.contains("No updates are to be performed")
                {
                    return Ok(Planned::NoChanges);
                }
                return Err(DeployError::ChangeSetFailed { reason });
            }
            _ => {}
        }
    }
}

/// One page of DescribeChangeSet, with property values (`IncludePropertyValues`: before and
/// after values in `Details[].Target`;
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html>).
async fn describe(
    client: &Client,
    id: &str,
    stack_id: &str,
    next_token: Option<&str>,
) -> Result<DescribeChangeSetOutput, DeployError> {
    client
        .describe_change_set()
        .change_set_name(id)
        .stack_name(stack_id)
        .include_property_values(true)
        .set_next_token(next_token.map(str::to_owned))
        .send()
        .await
        .map_err(|e| DeployError::from_sdk("DescribeChangeSet", e))
}

/// The changes of `first` and of every page after it: a large change set is split over pages
/// chained by `NextToken`.
async fn all_changes(
    client: &Client,
    id: &str,
    stack_id: &str,
    first: DescribeChangeSetOutput,
) -> Result<Vec<ResourceChange>, DeployError> {
    // A NoEcho parameter's value is masked with asterisks in `Parameters`; where it ends up in
    // a property value cannot be told, so no value is shown at all then.
    let hide_all_values = first.parameters().iter().any(|p| {
        p.parameter_value()
            .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c == '*'))
    });
    let mut changes = Vec::new();
    let mut page = first;
    loop {
        changes.extend(
            page.changes()
                .iter()
                .filter_map(|c| c.resource_change())
                .map(|rc| ResourceChange::from_sdk(rc, hide_all_values)),
        );
        match page.next_token() {
            Some(token) if !token.is_empty() => {
                page = describe(client, id, stack_id, Some(token)).await?;
            }
            _ => return Ok(changes),
        }
    }
}

pub async fn delete(client: &Client, id: &str, stack_id: &str) -> Result<(), DeployError> {
    client
        .delete_change_set()
        .change_set_name(id)
        .stack_name(stack_id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| DeployError::from_sdk("DeleteChangeSet", e))
}

fn recreation_rank(property: &PropertyChange) -> u8 {
    match property.requires_recreation.as_deref() {
        Some("Always") => 2,
        Some("Conditionally") => 1,
        _ => 0,
    }
}

fn sign(action: &str) -> &'static str {
    match action {
        "Add" => "+",
        "Remove" => "-",
        _ => "~",
    }
}

/// The change list as `plan` prints it on stdout and `deploy` shows it before asking: one line
/// per resource (sign, logical id, type, and for a Modify the properties that change, with
/// replacements marked per resource and per property, and data-holding warnings), each
/// property's values indented below it, then the security-relevant changes in a section of
/// their own. Lines that start with a sign are exactly the resources.
pub fn render(changes: &[ResourceChange]) -> Vec<String> {
    let mut lines = Vec::new();
    for change in changes {
        let mut extras = Vec::new();
        match change.replacement.as_deref() {
            Some("True") => extras.push("[requires replacement]".to_owned()),
            Some("Conditional") => extras.push("[may require replacement]".to_owned()),
            _ => {}
        }
        let mut labels: Vec<String> = Vec::new();
        for property in &change.properties {
            let label = match property.recreation_note() {
                Some(note) => format!("{} ({note})", property.label()),
                None => property.label().to_owned(),
            };
            // Paths of one property (Tags/0/Value, Tags/1/Key) show as one label.
            if let Some(existing) = labels
                .iter_mut()
                .find(|l| l.split(" (").next() == Some(property.label()))
            {
                if existing.len() < label.len() {
                    *existing = label;
                }
            } else {
                labels.push(label);
            }
        }
        if !labels.is_empty() {
            extras.push(labels.join(", "));
        }
        if change.warning().is_some() {
            extras.push(if DATA_HOLDING.contains(&change.logical_id.as_str()) {
                "!! holds your data: the old one is retained but orphaned, a new empty one takes its place".to_owned()
            } else {
                "!! the new connection must be authorized again".to_owned()
            });
        }
        let line = format!(
            "{} {:<28} {:<32} {}",
            sign(&change.action),
            change.logical_id,
            change.resource_type,
            extras.join("  ")
        );
        lines.push(line.trim_end().to_owned());
        for property in &change.properties {
            if property.hidden {
                lines.push(format!("      {}: (value hidden)", property.key()));
            } else if property.before.is_some() || property.after.is_some() {
                let shown = |value: Option<&str>| match value {
                    None => "(unset)".to_owned(),
                    Some("") => "\"\"".to_owned(),
                    Some(value) => value.to_owned(),
                };
                lines.push(format!(
                    "      {}: {} -> {}",
                    property.key(),
                    shown(property.before.as_deref()),
                    shown(property.after.as_deref())
                ));
            }
        }
    }
    let security: Vec<&ResourceChange> = changes.iter().filter(|c| c.security.is_some()).collect();
    if !security.is_empty() {
        lines.push(String::new());
        lines.push(format!(
            "Security-relevant changes ({}): IAM, security groups, key, bucket and resource policies, public access",
            security.len()
        ));
        for change in security {
            let mut what = change
                .security
                .map(SecurityKind::label)
                .unwrap_or("")
                .to_owned();
            let mut keys: Vec<&str> = Vec::new();
            for property in change.properties.iter().filter(|p| p.security) {
                if !keys.contains(&property.label()) {
                    keys.push(property.label());
                }
            }
            if !keys.is_empty() {
                what.push_str(": ");
                what.push_str(&keys.join(", "));
            }
            lines.push(format!(
                "  {} {:<28} {:<32} {what}",
                sign(&change.action),
                change.logical_id,
                change.resource_type
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_is_any_iam_resource_and_any_of_its_properties() {
        assert_eq!(
            security_relevance("AWS::IAM::Role", None),
            Some(SecurityKind::Iam)
        );
        assert_eq!(
            security_relevance("AWS::IAM::Role", Some("Policies/0/PolicyDocument")),
            Some(SecurityKind::Iam)
        );
        assert_eq!(
            security_relevance("AWS::IAM::ManagedPolicy", Some("PolicyDocument")),
            Some(SecurityKind::Iam)
        );
        // The role an EventBridge target assumes; without a path CloudFormation says "Targets".
        assert_eq!(
            security_relevance("AWS::Events::Rule", Some("Targets/0/RoleArn")),
            Some(SecurityKind::Iam)
        );
        assert_eq!(
            security_relevance("AWS::Events::Rule", Some("Targets")),
            Some(SecurityKind::Iam)
        );
        assert_eq!(
            security_relevance("AWS::Events::Rule", Some("Targets/0/Input")),
            None
        );
        assert_eq!(security_relevance("AWS::Events::Rule", None), None);
    }

    #[test]
    fn security_groups_and_their_ingress_and_egress() {
        for kind in [
            "AWS::EC2::SecurityGroup",
            "AWS::EC2::SecurityGroupIngress",
            "AWS::EC2::SecurityGroupEgress",
        ] {
            assert_eq!(
                security_relevance(kind, Some("CidrIp")),
                Some(SecurityKind::SecurityGroup)
            );
        }
        assert_eq!(security_relevance("AWS::EC2::Subnet", None), None);
    }

    #[test]
    fn a_kms_key_counts_for_its_key_policy_only() {
        assert_eq!(
            security_relevance("AWS::KMS::Key", Some("KeyPolicy")),
            Some(SecurityKind::KeyPolicy)
        );
        assert_eq!(
            security_relevance("AWS::KMS::Key", None),
            Some(SecurityKind::KeyPolicy)
        );
        assert_eq!(security_relevance("AWS::KMS::Key", Some("Tags")), None);
        assert_eq!(security_relevance("AWS::KMS::Alias", None), None);
    }

    #[test]
    fn bucket_policies() {
        assert_eq!(
            security_relevance("AWS::S3::BucketPolicy", Some("PolicyDocument")),
            Some(SecurityKind::BucketPolicy)
        );
        assert_eq!(
            security_relevance("AWS::S3::Bucket", Some("LifecycleConfiguration")),
            None
        );
    }

    #[test]
    fn resource_policies_the_pipeline_uses() {
        for kind in [
            "AWS::Lambda::Permission",
            "AWS::SNS::TopicPolicy",
            "AWS::SQS::QueuePolicy",
        ] {
            assert_eq!(
                security_relevance(kind, None),
                Some(SecurityKind::ResourcePolicy),
                "{kind}"
            );
        }
        assert_eq!(
            security_relevance("AWS::ECR::Repository", Some("RepositoryPolicyText")),
            Some(SecurityKind::ResourcePolicy)
        );
        assert_eq!(
            security_relevance("AWS::ECR::Repository", Some("LifecyclePolicy")),
            None
        );
        assert_eq!(security_relevance("AWS::ECR::Repository", None), None);
    }

    #[test]
    fn public_access() {
        assert_eq!(
            security_relevance("AWS::Lambda::Url", None),
            Some(SecurityKind::PublicAccess)
        );
        assert_eq!(
            security_relevance("AWS::Lambda::Url", Some("AuthType")),
            Some(SecurityKind::PublicAccess)
        );
        assert_eq!(security_relevance("AWS::Lambda::Url", Some("Cors")), None);
        assert_eq!(
            security_relevance(
                "AWS::S3::Bucket",
                Some("PublicAccessBlockConfiguration/BlockPublicAcls")
            ),
            Some(SecurityKind::PublicAccess)
        );
        assert_eq!(
            security_relevance("AWS::Lambda::Function", Some("Code")),
            None
        );
    }

    #[test]
    fn secrets_are_never_shown_and_long_values_are_clipped() {
        assert!(hides_values("AWS::SecretsManager::Secret", "Description"));
        assert!(hides_values("AWS::CodeBuild::Project", "Source/Auth/Token"));
        assert!(hides_values("AWS::RDS::DBInstance", "MasterUserPassword"));
        assert!(hides_values("AWS::X::Y", "private_key"));
        assert!(!hides_values("AWS::Logs::LogGroup", "RetentionInDays"));
        let long = "x".repeat(200);
        assert_eq!(clip(&long).chars().count(), VALUE_CHARS);
        assert!(clip(&long).ends_with('…'));
        assert_eq!(clip("{\n  \"a\":   1\n}"), "{ \"a\": 1 }");
    }

    /// A Modify without details (moto, or an endpoint that gives none) is judged as a whole.
    #[test]
    fn a_change_without_details_is_judged_as_a_whole() {
        let change = ResourceChange::new("Modify", "Key", "AWS::KMS::Key", None, vec![]);
        assert_eq!(change.security, Some(SecurityKind::KeyPolicy));
        let lines = render(&[change]);
        assert_eq!(lines[0], "~ Key                          AWS::KMS::Key");
        assert!(lines[2].starts_with("Security-relevant changes (1)"));
    }
}
