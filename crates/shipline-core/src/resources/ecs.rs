//! Amazon ECS: services shipline deploys to but does not create (a stage's
//! `[stages.deploy.ecs]`), and the grant that lets the delivery function put a new image on
//! them. Action names and ARN forms follow the Service Authorization Reference, "Actions,
//! resources, and condition keys for Amazon Elastic Container Service".

use serde_json::{Value, json};

use crate::config::EcsTarget;
use crate::iam::{Role, Statement};
use crate::template::intrinsics::sub;

/// An existing ECS service in the stack's account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub cluster: String,
    pub name: String,
}

impl Service {
    pub fn of(target: &EcsTarget) -> Service {
        Service {
            cluster: target.cluster_name().to_owned(),
            name: target.service_name().to_owned(),
        }
    }

    /// The service's ARN (the long form, `service/<cluster>/<name>`, the only one IAM matches).
    pub fn arn(&self) -> Value {
        sub(&format!(
            "arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:service/{}/{}",
            self.cluster, self.name
        ))
    }

    /// Every deployment of the service (`service-deployment/<cluster>/<name>/<id>`).
    fn deployments_arn(&self) -> Value {
        sub(&format!(
            "arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:service-deployment/{}/{}/*",
            self.cluster, self.name
        ))
    }
}

/// A `pass_roles` entry as a `Fn::Sub` pattern: an ARN as written, a name in the stack's account.
pub fn role_arn_pattern(role: &str) -> String {
    if role.starts_with("arn:") {
        role.to_owned()
    } else {
        format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{role}")
    }
}

/// A `pass_roles` entry's ARN (a literal when written as an ARN: a `Fn::Sub` without variables
/// draws a cfn-lint warning).
pub fn role_arn(role: &str) -> Value {
    if role.starts_with("arn:") {
        json!(role)
    } else {
        sub(&role_arn_pattern(role))
    }
}

/// What deploying an image to `services` takes: read each service and its deployments, point
/// it at a new task-definition revision (registered from its current one), and pass the roles
/// that revision names to ECS tasks (`pass_roles`) — nothing else.
pub fn grant_deploy(role: &mut Role, services: &[Service], pass_roles: &[String]) {
    if services.is_empty() {
        return;
    }
    role.add(Statement::allow(
        "DeployToEcsServices",
        &["ecs:DescribeServices", "ecs:UpdateService"],
        services.iter().map(Service::arn).collect(),
    ));
    // DescribeServiceDeployments lists two required resource types, the service and its
    // service deployments (Service Authorization Reference): both are named.
    role.add(Statement::allow(
        "WatchEcsDeployments",
        &["ecs:DescribeServiceDeployments"],
        services
            .iter()
            .flat_map(|s| [s.arn(), s.deployments_arn()])
            .collect(),
    ));
    // The family of a service's task definition is the service's business, not in
    // shipline.toml, so new revisions may be registered in any family of this account and
    // region (RegisterTaskDefinition's resource type is `task-definition`); a revision only
    // runs where an UpdateService granted above puts it.
    role.add(Statement::allow(
        "RegisterTaskDefinitions",
        &["ecs:RegisterTaskDefinition"],
        vec![sub(
            "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-definition/*",
        )],
    ));
    role.add(Statement::on_any_resource(
        "ReadTaskDefinitions",
        &["ecs:DescribeTaskDefinition"],
        "ecs:DescribeTaskDefinition supports no resource-level permissions: the Service Authorization Reference lists no resource type for it",
    ));
    if !pass_roles.is_empty() {
        // Registering a revision that names a task or execution role passes that role; only
        // the listed roles, and only to ECS tasks (IAM User Guide, "Grant a user permissions
        // to pass a role to an AWS service"; ECS Developer Guide, "Task IAM role").
        role.add(
            Statement::allow(
                "PassTaskRoles",
                &["iam:PassRole"],
                pass_roles.iter().map(|r| role_arn(r)).collect(),
            )
            .when(json!({ "StringEquals": { "iam:PassedToService": "ecs-tasks.amazonaws.com" } }))
            .accepting(
                "PERMISSIONS_MANAGEMENT_ACTIONS",
                "passing the task and execution roles the user listed in pass_roles, to ECS tasks only, is what registering the service's next task-definition revision requires",
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role() -> Role {
        Role::new("PromotionRole", "Lambda", "lambda.amazonaws.com")
    }

    #[test]
    fn deploy_is_scoped_to_the_named_services_and_roles() {
        let mut role = role();
        let services = [Service {
            cluster: "prod".into(),
            name: "web".into(),
        }];
        grant_deploy(
            &mut role,
            &services,
            &[
                "web-task".into(),
                "arn:aws:iam::123456789012:role/ecsTaskExecutionRole".into(),
            ],
        );
        let sids: Vec<&str> = role.statements.iter().map(|s| s.sid.as_str()).collect();
        assert_eq!(
            sids,
            [
                "DeployToEcsServices",
                "WatchEcsDeployments",
                "RegisterTaskDefinitions",
                "ReadTaskDefinitions",
                "PassTaskRoles"
            ]
        );
        assert_eq!(
            role.statements[0].resources,
            [
                json!({ "Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/prod/web" })
            ]
        );
        let pass = &role.statements[4];
        assert_eq!(
            pass.resources,
            [
                json!({ "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/web-task" }),
                json!("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"),
            ]
        );
        assert_eq!(
            pass.condition,
            Some(json!({ "StringEquals": { "iam:PassedToService": "ecs-tasks.amazonaws.com" } }))
        );
    }

    #[test]
    fn no_roles_no_pass_role_and_no_services_no_grant() {
        let mut role = role();
        grant_deploy(&mut role, &[], &["web-task".into()]);
        assert!(role.statements.is_empty());
        let services = [Service {
            cluster: "c".into(),
            name: "s".into(),
        }];
        grant_deploy(&mut role, &services, &[]);
        assert!(
            role.statements
                .iter()
                .all(|s| s.actions != ["iam:PassRole"])
        );
    }
}
