//! `[stages.deploy.lambda]`: an existing container-image Lambda function a stage deploys to —
//! its name (or unqualified ARN) and alias, checked against Lambda's naming rules, and read
//! back as a name whichever form the user wrote. Like ECS targets, the function must be in the
//! stack's account and region (`plan`/`deploy` refuse an ARN naming another region).

use super::LambdaTarget;
use super::ecs::is_partition;
use super::error::Problem;
use super::validate::{deploy_wait, problem};

impl LambdaTarget {
    /// The function's name (the last part of an unqualified function ARN).
    pub fn function_name(&self) -> &str {
        self.function
            .strip_prefix("arn:")
            .and_then(|rest| rest.splitn(6, ':').nth(5))
            .unwrap_or(&self.function)
    }

    /// The region an ARN names, if the user wrote the function as an ARN.
    pub fn arn_region(&self) -> Option<&str> {
        self.function.strip_prefix("arn:")?.split(':').nth(2)
    }
}

/// Function names (CreateFunction `FunctionName`): 1-64 letters, digits, hyphens, underscores.
fn is_function_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `arn:<partition>:lambda:<region>:<12 digits>:function:<name>`, without a version or alias.
fn is_function_arn(value: &str) -> bool {
    let parts: Vec<&str> = value.split(':').collect();
    matches!(parts.as_slice(),
        ["arn", partition, "lambda", region, account, "function", name]
            if is_partition(partition)
                && !region.is_empty()
                && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && is_function_name(name))
}

/// Alias names (CreateAlias `Name`): 1-128 letters, digits, hyphens, underscores, not all
/// digits (that would be a version number).
fn is_alias_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.chars().all(|c| c.is_ascii_digit())
}

/// Checks `target`, the Lambda target of stage `index`.
pub(super) fn validate(index: usize, target: &LambdaTarget) -> Result<(), Problem> {
    let key = |field: &str| format!("stages[{index}].deploy.lambda.{field}");
    if !is_function_name(&target.function) && !is_function_arn(&target.function) {
        let qualified =
            target.function.starts_with("arn:") && target.function.split(':').count() == 8;
        return Err(problem(
            key("function"),
            format!("{:?} is not a Lambda function name or ARN", target.function),
            if qualified {
                "name the function without a version or alias (set the alias in `alias`)"
            } else {
                "use the function's name (1-64 letters, digits, '-' and '_') or its unqualified ARN `arn:aws:lambda:<region>:<account>:function:<name>`"
            },
        ));
    }
    if let Some(alias) = &target.alias
        && !is_alias_name(alias)
    {
        return Err(problem(
            key("alias"),
            format!("{alias:?} is not a Lambda alias name"),
            "use 1-128 letters, digits, '-' and '_', not only digits (Lambda's alias rule); create the alias first, shipline moves it but does not create it",
        ));
    }
    deploy_wait(&key("wait_minutes"), target.wait_minutes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KeyPath;

    fn target(function: &str, alias: Option<&str>) -> LambdaTarget {
        LambdaTarget {
            function: function.into(),
            alias: alias.map(str::to_owned),
            wait_minutes: 30,
        }
    }

    #[test]
    fn names_are_read_from_arns() {
        let t = target(
            "arn:aws:lambda:eu-west-1:123456789012:function:orders-api",
            Some("live"),
        );
        assert_eq!(t.function_name(), "orders-api");
        assert_eq!(t.arn_region(), Some("eu-west-1"));
        assert!(validate(0, &t).is_ok());
        let plain = target("orders-api", None);
        assert_eq!(plain.function_name(), "orders-api");
        assert_eq!(plain.arn_region(), None);
        assert!(validate(0, &plain).is_ok());
    }

    #[test]
    fn qualified_arns_numeric_aliases_and_bad_waits_are_located() {
        let qualified = target(
            "arn:aws:lambda:eu-west-1:123456789012:function:api:live",
            None,
        );
        let problem = validate(3, &qualified).unwrap_err();
        assert_eq!(
            problem.key,
            KeyPath::from("stages[3].deploy.lambda.function")
        );
        assert!(
            problem.help.contains("without a version or alias"),
            "{}",
            problem.help
        );
        let numeric = target("api", Some("7"));
        assert_eq!(
            validate(0, &numeric).unwrap_err().key,
            KeyPath::from("stages[0].deploy.lambda.alias")
        );
        let mut slow = target("api", None);
        slow.wait_minutes = 0;
        assert_eq!(
            validate(0, &slow).unwrap_err().key,
            KeyPath::from("stages[0].deploy.lambda.wait_minutes")
        );
        assert!(validate(0, &target("api.v2", None)).is_err());
        assert!(
            validate(
                0,
                &target(
                    "arn:aws${AWS::Region}:lambda:eu-west-1:123456789012:function:api",
                    None
                )
            )
            .is_err()
        );
    }
}
