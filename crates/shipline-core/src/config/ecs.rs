//! `[stages.deploy.ecs]`: the names an ECS deploy target is made of — cluster, service,
//! container, the roles its task definition passes — checked against ECS's and IAM's naming
//! rules, and read back as names whichever form (name or ARN) the user wrote.
//!
//! The target must be in the stack's own account and region: the delivery function calls ECS
//! in its region and IAM grants are built from `${AWS::Region}`/`${AWS::AccountId}`. An ARN is
//! accepted for convenience; `plan`/`deploy` refuse one naming another region (preflight).

use super::EcsTarget;
use super::error::Problem;
use super::validate::{deploy_wait, problem};

/// Most roles one target may pass (a task definition uses at most two: task and execution).
pub const MAX_PASS_ROLES: usize = 10;

impl EcsTarget {
    /// The cluster's name (the last part of a cluster ARN).
    pub fn cluster_name(&self) -> &str {
        arn_resource(&self.cluster, "cluster/").unwrap_or(&self.cluster)
    }

    /// The service's name (the last part of a service ARN, `service/<cluster>/<name>`).
    pub fn service_name(&self) -> &str {
        arn_resource(&self.service, "service/")
            .and_then(|rest| rest.split_once('/'))
            .map_or(self.service.as_str(), |(_, name)| name)
    }

    /// The region an ARN names, if the user wrote one for the cluster or the service.
    pub fn arn_region(&self) -> Option<&str> {
        [&self.cluster, &self.service]
            .into_iter()
            .find_map(|value| value.strip_prefix("arn:")?.split(':').nth(2))
    }
}

/// The resource part after `<kind>` of an ECS ARN (`arn:<partition>:ecs:<region>:<account>:<kind>…`).
fn arn_resource<'a>(value: &'a str, kind: &str) -> Option<&'a str> {
    let mut parts = value.strip_prefix("arn:")?.splitn(5, ':');
    let (_partition, service, _region, _account) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    (service == "ecs").then_some(())?;
    parts.next()?.strip_prefix(kind)
}

/// An AWS partition: `aws`, `aws-cn`, `aws-us-gov`, ... (lowercase words joined by hyphens).
/// Anything else in an ARN is refused: the ARNs go into `Fn::Sub` patterns and IAM policies,
/// where `${`, `*` or `?` would be substitutions or wildcards.
pub(super) fn is_partition(partition: &str) -> bool {
    let mut words = partition.split('-');
    words.next() == Some("aws")
        && words.all(|word| !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase()))
}

/// ECS names (CreateCluster `clusterName`, CreateService `serviceName`, ContainerDefinition
/// `name`): up to 255 letters, digits, hyphens and underscores.
fn is_ecs_name(name: &str) -> bool {
    (1..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `arn:<partition>:ecs:<region>:<12 digits>:` followed by what `rest` accepts.
fn is_ecs_arn(value: &str, kind: &str, rest: impl Fn(&str) -> bool) -> bool {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    matches!(parts.as_slice(),
        ["arn", partition, "ecs", region, account, resource]
            if is_partition(partition)
                && !region.is_empty()
                && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && resource.strip_prefix(kind).is_some_and(&rest))
}

/// IAM role names: 1-64 of letters, digits and `+=,.@_-` (CreateRole `RoleName`).
fn is_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// `arn:<partition>:iam::<12 digits>:role/<optional path/>name`.
fn is_role_arn(value: &str) -> bool {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    matches!(parts.as_slice(),
    ["arn", partition, "iam", "", account, resource]
        if is_partition(partition)
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
            && resource.strip_prefix("role/").is_some_and(|path| {
                let name = path.rsplit_once('/').map_or(path, |(_, name)| name);
                // Paths are up to 512 characters of printable ASCII (IAM identifiers); `$`, `*`,
                // `?` and braces are refused too: the ARN goes into a `Fn::Sub` (the deploy
                // action's parameters) and a PassRole statement, where they would substitute or
                // match other roles.
                is_role_name(name)
                    && path.len() <= 512 + 64
                    && path.chars().all(|c| c.is_ascii_graphic() && !"$*?{}".contains(c))
            }))
}

/// Checks `target`, the ECS target of stage `index`.
pub(super) fn validate(index: usize, target: &EcsTarget) -> Result<(), Problem> {
    let key = |field: &str| format!("stages[{index}].deploy.ecs.{field}");
    let name_rule = "up to 255 letters, digits, '-' and '_' (ECS's naming rule)";
    if !is_ecs_name(&target.cluster) && !is_ecs_arn(&target.cluster, "cluster/", is_ecs_name) {
        return Err(problem(
            key("cluster"),
            format!("{:?} is not an ECS cluster name or ARN", target.cluster),
            &format!("use the cluster's name ({name_rule}) or its ARN"),
        ));
    }
    let service_arn = |rest: &str| {
        rest.split_once('/')
            .is_some_and(|(cluster, name)| is_ecs_name(cluster) && is_ecs_name(name))
    };
    if !is_ecs_name(&target.service) && !is_ecs_arn(&target.service, "service/", service_arn) {
        return Err(problem(
            key("service"),
            format!("{:?} is not an ECS service name or ARN", target.service),
            &format!(
                "use the service's name ({name_rule}) or its ARN `arn:aws:ecs:<region>:<account>:service/<cluster>/<service>`"
            ),
        ));
    }
    if target.service.starts_with("arn:") {
        let arn_cluster = target
            .service
            .splitn(6, ':')
            .nth(5)
            .and_then(|r| r.split('/').nth(1));
        if arn_cluster != Some(target.cluster_name()) {
            return Err(problem(
                key("service"),
                format!(
                    "the service ARN names cluster {:?}, but `cluster` is {:?}",
                    arn_cluster.unwrap_or(""),
                    target.cluster_name()
                ),
                "make `cluster` the cluster the service runs in",
            ));
        }
    }
    if let (Some(a), Some(b)) = (
        target
            .cluster
            .starts_with("arn:")
            .then(|| target.cluster.split(':').nth(3)),
        target
            .service
            .starts_with("arn:")
            .then(|| target.service.split(':').nth(3)),
    ) && a != b
    {
        return Err(problem(
            key("service"),
            "the cluster and service ARNs name different regions".into(),
            "the service runs in its cluster's region; the target must be in the stack's region",
        ));
    }
    if !is_ecs_name(&target.container) {
        return Err(problem(
            key("container"),
            format!("{:?} is not an ECS container name", target.container),
            &format!(
                "use the `name` of the container in the service's task definition ({name_rule})"
            ),
        ));
    }
    if target.pass_roles.len() > MAX_PASS_ROLES {
        return Err(problem(
            key("pass_roles"),
            format!("{} roles listed", target.pass_roles.len()),
            &format!(
                "list at most {MAX_PASS_ROLES}: a task definition uses two roles at most (taskRoleArn, executionRoleArn)"
            ),
        ));
    }
    for (i, role) in target.pass_roles.iter().enumerate() {
        if !is_role_name(role) && !is_role_arn(role) {
            return Err(problem(
                format!("stages[{index}].deploy.ecs.pass_roles[{i}]"),
                format!("{role:?} is not an IAM role name or ARN"),
                "use the role's name (1-64 letters, digits and +=,.@_-) or its ARN `arn:aws:iam::<account>:role/<path/>name`",
            ));
        }
        if target.pass_roles[..i].contains(role) {
            return Err(problem(
                format!("stages[{index}].deploy.ecs.pass_roles[{i}]"),
                format!("role {role:?} is listed twice"),
                "list each role once",
            ));
        }
    }
    deploy_wait(&key("wait_minutes"), target.wait_minutes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KeyPath;

    fn target(cluster: &str, service: &str) -> EcsTarget {
        EcsTarget {
            cluster: cluster.into(),
            service: service.into(),
            container: "web".into(),
            pass_roles: vec![],
            wait_minutes: 60,
        }
    }

    #[test]
    fn names_are_read_from_arns() {
        let t = target(
            "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
            "arn:aws:ecs:eu-west-1:123456789012:service/prod/orders-web",
        );
        assert_eq!(t.cluster_name(), "prod");
        assert_eq!(t.service_name(), "orders-web");
        assert_eq!(t.arn_region(), Some("eu-west-1"));
        assert!(validate(0, &t).is_ok());
        let plain = target("prod", "orders-web");
        assert_eq!(plain.cluster_name(), "prod");
        assert_eq!(plain.service_name(), "orders-web");
        assert_eq!(plain.arn_region(), None);
    }

    #[test]
    fn a_service_arn_in_another_cluster_is_refused() {
        let t = target(
            "prod",
            "arn:aws:ecs:eu-west-1:123456789012:service/staging/orders-web",
        );
        let problem = validate(2, &t).unwrap_err();
        assert_eq!(problem.key, KeyPath::from("stages[2].deploy.ecs.service"));
        assert!(
            problem.message.contains("\"staging\""),
            "{}",
            problem.message
        );
    }

    #[test]
    fn bad_names_are_located() {
        let mut t = target("prod cluster", "web");
        assert_eq!(
            validate(1, &t).unwrap_err().key,
            KeyPath::from("stages[1].deploy.ecs.cluster")
        );
        t.cluster = "prod".into();
        t.container = "web/app".into();
        assert_eq!(
            validate(1, &t).unwrap_err().key,
            KeyPath::from("stages[1].deploy.ecs.container")
        );
        t.container = "web".into();
        t.pass_roles = vec![
            "ok-role".into(),
            "arn:aws:iam::123:role/short-account".into(),
        ];
        assert_eq!(
            validate(1, &t).unwrap_err().key,
            KeyPath::from("stages[1].deploy.ecs.pass_roles[1]")
        );
        t.pass_roles = vec!["arn:aws:iam::123456789012:role/service-role/web-task".into()];
        assert!(validate(1, &t).is_ok());
        // Substitutions and wildcards never reach the template's Fn::Sub or PassRole.
        for role in [
            "arn:aws${X}:iam::123456789012:role/web-task",
            "arn:aws:iam::123456789012:role/*/web-task",
            "arn:aws:iam::123456789012:role/a?/web-task",
            "arn:awsx:iam::123456789012:role/web-task",
        ] {
            t.pass_roles = vec![role.into()];
            assert_eq!(
                validate(1, &t).unwrap_err().key,
                KeyPath::from("stages[1].deploy.ecs.pass_roles[0]"),
                "{role}"
            );
        }
        t.pass_roles = vec!["arn:aws-us-gov:iam::123456789012:role/web-task".into()];
        assert!(validate(1, &t).is_ok());
        t.pass_roles = vec![];
        t.cluster = "arn:aws${AWS::Region}:ecs:us-east-1:123456789012:cluster/prod".into();
        assert!(validate(1, &t).is_err());
        t.cluster = "prod".into();
        t.wait_minutes = 1441;
        assert_eq!(
            validate(1, &t).unwrap_err().key,
            KeyPath::from("stages[1].deploy.ecs.wait_minutes")
        );
    }
}
