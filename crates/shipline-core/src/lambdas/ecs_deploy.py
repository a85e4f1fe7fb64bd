"""shipline delivery function, ECS part: the deploy-ecs action.

The template appends this to promotion.py and deploy_common.py (after a blank line) when a
stage has a `[stages.deploy.ecs]` target, so pipelines without one carry none of it; it uses
their names (client, Done, PromotionError, digest_field, image_field, read_token, ...) and
registers itself in ACTIONS. UserParameters:
    {"action": "deploy-ecs", "image": "<registry>/<repository>", "digest": "sha256:...",
     "cluster": "<name or ARN>", "service": "<name or ARN>", "container": "<name>",
     "pass_roles": ["arn:aws:iam::<account>:role/<name>", ...], "wait_seconds": 60-86400}
It registers a revision of the service's task definition that differs only in the container's
image (`<image>@<digest>`), points the service at it (the service's own deployment strategy runs
it: rolling, or ECS-native blue/green, linear, canary), then follows the deployment through
continuation tokens. Output variables ECS_TASK_DEFINITION and ECS_DEPLOYMENT. A deployment that
fails or that ECS rolls back fails the job, so the stage rolls back (moving the tag back and
redeploying the previous digest).
"""

import copy

# --- deploy-ecs -------------------------------------------------------------------------------
#
# One deployment takes three kinds of invocation, each making at most three ECS calls (so with
# its report attempts it ends within the function's 60 s, like a promotion; see CLIENT_CONFIG):
#   start   DescribeServices, DescribeTaskDefinition, RegisterTaskDefinition
#   update  DescribeServices, UpdateService
#   watch   DescribeServiceDeployments, or DescribeServices (+ DescribeServiceDeployments once)
# and between them a continuation token (deploy_common.py's write_token) carries what the next one
# needs. CodePipeline keeps a
# Lambda invoke action that keeps answering "in progress" for up to 24 hours (CodePipeline User
# Guide, "Quotas in AWS CodePipeline"); the action's own limit is `wait_seconds`.

ECS_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")  # clusters, services, containers (ECS API Reference)
_ARN = r"arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:"
CLUSTER_ARN = re.compile(_ARN + r"cluster/([A-Za-z0-9_-]{1,255})")
# Services have a short (`service/<name>`) and a long (`service/<cluster>/<name>`) ARN form.
SERVICE_ARN = re.compile(_ARN + r"service/(?:[A-Za-z0-9_-]{1,255}/)?([A-Za-z0-9_-]{1,255})")
TASK_DEFINITION_ARN = re.compile(_ARN + r"task-definition/[A-Za-z0-9_-]{1,255}:[0-9]{1,10}")
SERVICE_DEPLOYMENT_ARN = re.compile(
    _ARN + r"service-deployment/([A-Za-z0-9_-]{1,255})/([A-Za-z0-9_-]{1,255})/[^/\s]{1,255}"
)
# `arn:<partition>:iam::<account>:role/<optional path/>name` (IAM identifiers: names 1-64 of
# letters, digits and +=,.@_-; paths printable ASCII).
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/(?:[!-~]{0,510}/)?[A-Za-z0-9+=,.@_-]{1,64}")
DEPLOYMENT_ID = re.compile(r"[!-~]{1,255}")
TOKEN_VERSION = 1


def ecs_parameters(params):
    fields = {"digest": digest_field(params), "image": image_field(params)}
    cluster, service, container = params.get("cluster"), params.get("service"), params.get("container")
    if not isinstance(cluster, str) or not (ECS_NAME.fullmatch(cluster) or CLUSTER_ARN.fullmatch(cluster)):
        raise PromotionError(f"UserParameters.cluster {cluster!r} is not an ECS cluster name or ARN")
    if not isinstance(service, str) or not (ECS_NAME.fullmatch(service) or SERVICE_ARN.fullmatch(service)):
        raise PromotionError(f"UserParameters.service {service!r} is not an ECS service name or ARN")
    if not isinstance(container, str) or not ECS_NAME.fullmatch(container):
        raise PromotionError(f"UserParameters.container {container!r} is not an ECS container name")
    roles = params.get("pass_roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) and ROLE_ARN.fullmatch(r) for r in roles):
        raise PromotionError(f"UserParameters.pass_roles {roles!r} is not a list of IAM role ARNs"[:500])
    wait = wait_seconds_field(params)
    return {
        **fields,
        "cluster": cluster,
        "service": service,
        "container": container,
        "pass_roles": roles,
        "wait_seconds": wait,
    }


def short_name(value, arn):
    """A cluster's or service's name, whichever form (name or ARN) the parameters hold."""
    match = arn.fullmatch(value)
    return match.group(1) if match else value


def console_link(params):
    """The service's deployments page in the ECS console (in the function's region: Lambda sets
    AWS_REGION; the parameters hold the stack's own cluster and service)."""
    region = os.environ.get("AWS_REGION") or client("ecs").meta.region_name
    cluster, service = short_name(params["cluster"], CLUSTER_ARN), short_name(params["service"], SERVICE_ARN)
    return (
        f"https://{region}.console.aws.amazon.com/ecs/v2/clusters/{cluster}/services/{service}/deployments"
        f"?region={region}"
    )


def describe_service(ecs, params):
    """The service, checked: it exists, is ACTIVE and uses the ECS deployment controller."""
    cluster, name = params["cluster"], params["service"]
    try:
        found = ecs.describe_services(cluster=cluster, services=[name])
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ClusterNotFoundException":
            raise PromotionError(
                f"ECS cluster {cluster} does not exist in this account and region; "
                "check stages.deploy.ecs.cluster in shipline.toml"
            ) from None
        raise
    services = found.get("services") or []
    if not services:
        reasons = ", ".join(f.get("reason", "?") for f in found.get("failures") or []) or "not found"
        raise PromotionError(
            f"ECS service {name} is not in cluster {cluster} ({reasons}); "
            "check stages.deploy.ecs.cluster and service in shipline.toml"
        )
    service = services[0]
    # DescribeServices: status is ACTIVE, DRAINING (being deleted) or INACTIVE (deleted).
    status = service.get("status")
    if status != "ACTIVE":
        raise PromotionError(
            f"ECS service {name} in cluster {cluster} is {status} (deleted or being deleted), not ACTIVE; "
            "deploy to an active service"
        )
    controller = (service.get("deploymentController") or {}).get("type", "ECS")
    if controller != "ECS":
        raise PromotionError(
            f"ECS service {name} uses the {controller} deployment controller; shipline deploys through "
            "the ECS controller (rolling update, or ECS-native blue/green, linear or canary): switch the "
            "service's deployment controller to ECS"
        )
    if not service.get("taskDefinition"):
        raise PromotionError(f"ECS service {name} has no task definition to start from")
    return service


def task_definition_fields(ecs):
    """The TaskDefinition fields RegisterTaskDefinition takes back, from the SDK's own model of
    both (ECS API Reference, RegisterTaskDefinition and TaskDefinition): read-only ones
    (taskDefinitionArn, revision, status, requiresAttributes, compatibilities, registeredAt/By,
    deregisteredAt, ...) are not among them; every settable one is, including those added after
    this was written. `tags` is left out: copying them would need ecs:TagResource as well, and a
    revision needs none of the previous one's tags to run."""
    model = ecs.meta.service_model
    accepted = model.operation_model("RegisterTaskDefinition").input_shape.members
    return set(accepted) & set(model.shape_for("TaskDefinition").members) - {"tags"}


def role_allowed(role, allowed):
    """Whether `role` (an ARN, or a bare name as a task definition may hold) is in `allowed`."""
    if role.startswith("arn:"):
        return role in allowed
    return any(arn.rsplit("/", 1)[-1] == role for arn in allowed)


def ecs_token(**fields):
    return write_token("deploy-ecs", TOKEN_VERSION, **fields)


def read_ecs_token(raw, params, now):
    """The state an earlier invocation of this action left in its continuation token, checked;
    None on the first invocation. A token this action did not write fails the job: guessing
    could start a second deployment."""
    if raw is None:
        return None

    def foreign(why):
        return PromotionError(
            f"the continuation token is not one deploy-ecs wrote ({why}); not starting another deployment: "
            f"check the service ({console_link(params)}) and re-run the stage"
        )

    token = read_token(raw, "deploy-ecs", TOKEN_VERSION, now, foreign)
    phase = token.get("phase")
    if not isinstance(token.get("taskDefinition"), str) or not TASK_DEFINITION_ARN.fullmatch(token["taskDefinition"]):
        raise foreign("bad task definition")
    if phase == "update":
        if not isinstance(token.get("from"), str) or not TASK_DEFINITION_ARN.fullmatch(token["from"]):
            raise foreign("bad previous task definition")
        return token
    if phase != "watch":
        raise foreign("unknown phase")
    if not isinstance(token.get("deployment"), str) or not DEPLOYMENT_ID.fullmatch(token["deployment"]):
        raise foreign("bad deployment id")
    if token.get("arn") is not None and deployment_arn(token["arn"], params) is None:
        raise foreign("a deployment of another service")
    if not (token.get("previous") is None or isinstance(token["previous"], str)) or type(token.get("live")) is not bool:
        raise foreign("bad deployment state")
    return token


def deployment_arn(value, params):
    """`value` if it is the ARN of a deployment of this service (the only ones a token may
    carry), else None."""
    match = SERVICE_DEPLOYMENT_ARN.fullmatch(value) if isinstance(value, str) else None
    names = (short_name(params["cluster"], CLUSTER_ARN), short_name(params["service"], SERVICE_ARN))
    return value if match and match.groups() == names else None


def deploy_ecs(ecs, job, params, now):
    raw = job["data"].get("continuationToken")
    token = read_ecs_token(raw, params, now)
    if token is None:
        return start_deployment(ecs, params, now)
    try:
        if token["phase"] == "update":
            return update_service(ecs, params, token, now)
        return watch_deployment(ecs, params, token, now)
    except (ClientError, BotoCoreError) as err:
        # Both phases are safe to repeat (update checks what the service runs first), so an
        # error a later call may not meet (throttling, a 5xx, no answer) does not end a
        # deployment that may be going well: the same token comes back to try again.
        done = retry_later(err, raw, "ECS", now - token["started"] >= params["wait_seconds"])
        if done is None:
            raise
        return done


def start_deployment(ecs, params, now):
    """First invocation: register the new revision (or find the digest already live)."""
    service = describe_service(ecs, params)
    current = service["taskDefinition"]
    definition = ecs.describe_task_definition(taskDefinition=current)["taskDefinition"]
    name = params["container"]
    names = [c.get("name") for c in definition.get("containerDefinitions", [])]
    if name not in names:
        listed = ", ".join(str(n) for n in names) or "none"
        raise PromotionError(
            f"container {name!r} is not in task definition {current} of service {params['service']} "
            f"(its containers: {listed}); set stages.deploy.ecs.container in shipline.toml to one of them"
        )
    pinned = f"{params['image']}@{params['digest']}"
    container = definition["containerDefinitions"][names.index(name)]
    if container.get("image") == pinned:
        # A re-run, or a stage rollback redeploying the digest ECS already rolled back to:
        # nothing to register; the result is that of the deployment under way (or done).
        deployment = next((d for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"), None)
        if deployment is None:
            return deployed(params, current, None, f"{name} already runs {pinned} ({current})")
        token = {"phase": "watch", "taskDefinition": current, "started": now, "live": True}
        token.update(deployment=deployment.get("id", "?"), arn=None, previous=None)
        return judge_rollout(service, deployment, token, params, now, note=f"{name} already runs {pinned}; ")
    for field, kind in (("taskRoleArn", "task role"), ("executionRoleArn", "execution role")):
        role = definition.get(field)
        if role and not role_allowed(role, params["pass_roles"]):
            # Registering a revision that names a role passes it to ECS (iam:PassRole), which the
            # function may do only for the roles listed in the template.
            raise PromotionError(
                f"task definition {current} uses the {kind} {role}, which the delivery function may not pass: "
                f"add {role} to stages.deploy.ecs.pass_roles in shipline.toml and deploy the pipeline again"
            )
    revision = {k: copy.deepcopy(v) for k, v in definition.items() if k in task_definition_fields(ecs)}
    revision["containerDefinitions"][names.index(name)]["image"] = pinned
    registered = ecs.register_task_definition(**revision)["taskDefinition"]["taskDefinitionArn"]
    LOG.info("registered %s from %s with %s running %s", registered, current, name, pinned)
    return Done(
        f"registered {registered} from {current} with {name} running {pinned}; updating {params['service']} next",
        continuation=ecs_token(phase="update", taskDefinition=registered, started=now, **{"from": current}),
    )


def update_service(ecs, params, token, now):
    """Second invocation: point the service at the new revision (only that changes: desired
    count, deployment strategy, network and the rest stay the service's own)."""
    target = token["taskDefinition"]
    service = describe_service(ecs, params)
    live = service["taskDefinition"]
    if live == target:
        answer = service  # an earlier attempt got through
    elif live != token["from"]:
        raise PromotionError(
            f"service {params['service']} changed task definition from {token['from']} to {live} while this "
            f"action ran (another deployment?); not overriding it with {target}: re-run the stage"
        )
    else:
        answer = ecs.update_service(cluster=params["cluster"], service=params["service"], taskDefinition=target)
        answer = answer["service"]
    deployments = answer.get("deployments") or []
    # UpdateService answers with the service as updated: the deployment it started runs the new
    # revision and is PRIMARY ("DescribeServices", Deployment.status).
    ours = next((d for d in deployments if d.get("taskDefinition") == target), None) or next(
        (d for d in deployments if d.get("status") == "PRIMARY"), None
    )
    if ours is None or not isinstance(ours.get("id"), str):
        raise PromotionError(f"ECS started no deployment of {target} on service {params['service']}")
    # The service deployment (ECS Developer Guide, "View service history using Amazon ECS
    # service deployments") is followed when the service's `currentServiceDeployment` names a new
    # one; UpdateService does not promise to return it yet (aws/containers-roadmap#2709), so it
    # may be picked up at the next invocation instead (see watch_deployment).
    previous = deployment_arn(service.get("currentServiceDeployment"), params)
    current = deployment_arn(answer.get("currentServiceDeployment"), params)
    arn = current if current and current != previous and answer is not service else None
    fields = {"phase": "watch", "taskDefinition": target, "started": token["started"], "live": False}
    fields.update(deployment=ours["id"], arn=arn, previous=None if arn else previous)
    return Done(
        f"updated {params['service']} to {target}; ECS deployment {arn or ours['id']} started",
        continuation=ecs_token(**fields),
    )


def watch_deployment(ecs, params, token, now):
    if token["arn"]:
        return judge_service_deployment(describe_service_deployment(ecs, token["arn"]), token, params, now)
    service = describe_service(ecs, params)
    ours = next((d for d in service.get("deployments") or [] if d.get("id") == token["deployment"]), None)
    current = deployment_arn(service.get("currentServiceDeployment"), params)
    # Ours is still the newest (PRIMARY) deployment and the service names a service deployment it
    # did not name before the update: that one is ours. Not for a digest found already live: the
    # newest service deployment may be a failed one ECS rolled back *to* this revision.
    if not token["live"] and ours and ours.get("status") == "PRIMARY" and current and current != token["previous"]:
        token = {**token, "arn": current, "previous": None}
        return judge_service_deployment(describe_service_deployment(ecs, current), token, params, now)
    return judge_rollout(service, ours, token, params, now)


def describe_service_deployment(ecs, arn):
    found = ecs.describe_service_deployments(serviceDeploymentArns=[arn])
    deployments = found.get("serviceDeployments") or []
    if not deployments:
        reasons = "; ".join(
            f"{f.get('reason', '?')}" + (f": {f['detail']}" if f.get("detail") else "")
            for f in found.get("failures") or []
        )
        raise PromotionError(f"ECS does not describe service deployment {arn} ({reasons or 'no answer'})")
    return deployments[0]


def deployed(params, task_definition, deployment, what):
    return Done(
        f"{what}; service {params['service']} is deployed; {console_link(params)}",
        variables={"ECS_TASK_DEFINITION": task_definition, "ECS_DEPLOYMENT": deployment or "none"},
    )


def still_running(params, token, now, state):
    """A continuation while the deployment runs, or the failure once `wait_seconds` have passed."""
    deployment = token["arn"] or token["deployment"]
    waited = int(now - token["started"])
    if waited >= params["wait_seconds"]:
        raise PromotionError(
            f"the ECS deployment {deployment} is still in progress after {waited // 60} minutes ({state}); "
            f"it continues in ECS; check {console_link(params)} (or raise stages.deploy.ecs.wait_minutes)"
        )
    return Done(
        f"ECS deployment {deployment} of {params['service']}: {state} ({waited} s so far)",
        continuation=ecs_token(**{k: v for k, v in token.items() if k != "deploy-ecs"}),
    )


# ServiceDeployment.status (ECS API Reference, "ServiceDeployment"; Developer Guide, "View
# service history using Amazon ECS service deployments": PENDING, then IN_PROGRESS, ending in
# SUCCESSFUL, STOPPED, ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED). A blue/green, linear or canary
# deployment stays IN_PROGRESS through its bake time (lifecycleStage BAKE_TIME) and until
# CLEAN_UP ends ("Amazon ECS blue/green deployments").
RUNNING_DEPLOYMENT = {"PENDING", "IN_PROGRESS"}


def judge_service_deployment(deployment, token, params, now):
    status = deployment.get("status", "?")
    arn = token["arn"]
    if status == "SUCCESSFUL":
        return deployed(params, token["taskDefinition"], arn, f"ECS deployment {arn} succeeded")
    if status in RUNNING_DEPLOYMENT or status not in {
        "STOPPED",
        "STOP_REQUESTED",
        "ROLLBACK_REQUESTED",
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_SUCCESSFUL",
        "ROLLBACK_FAILED",
    }:
        stage = deployment.get("lifecycleStage")
        return still_running(params, token, now, status + (f", {stage}" if stage else ""))
    details = [deployment["statusReason"]] if deployment.get("statusReason") else []
    breaker = deployment.get("deploymentCircuitBreaker") or {}
    if breaker.get("status") == "TRIGGERED":
        failed, threshold = breaker.get("failureCount", "?"), breaker.get("threshold", "?")
        details.append(f"circuit breaker: {failed} failed task(s), threshold {threshold}")
    alarms = (deployment.get("alarms") or {}).get("triggeredAlarmNames") or []
    if alarms:
        details.append("alarms: " + ", ".join(alarms))
    rollback = deployment.get("rollback") or {}
    outcome = {
        "ROLLBACK_SUCCESSFUL": "failed, and ECS rolled the service back"
        + (f" to {rollback['serviceRevisionArn']}" if rollback.get("serviceRevisionArn") else ""),
        "ROLLBACK_REQUESTED": "failed, and ECS is rolling the service back",
        "ROLLBACK_IN_PROGRESS": "failed, and ECS is rolling the service back",
        "ROLLBACK_FAILED": "failed, and ECS could not roll the service back",
    }.get(status, "was stopped")
    if rollback.get("reason"):
        details.append(f"rollback: {rollback['reason']}")
    raise PromotionError(
        f"the ECS deployment {arn} of {params['service']} {outcome} ({status})"
        + (f": {'; '.join(details)}" if details else "")
        + f"; the stage rolls back to the previous digest; see {console_link(params)}"
    )


def judge_rollout(service, ours, token, params, now, note=""):
    """The deployment judged from the service's `deployments` (DescribeServices, Deployment):
    rolloutState IN_PROGRESS, COMPLETED or FAILED; ECS reports it only for rolling updates not
    behind a Classic Load Balancer, so without it the deployment is done once it is the only one
    and runs its desired count (what botocore's ServicesStable waiter checks)."""
    deployment_id = token["deployment"]
    if ours is None:
        raise PromotionError(
            f"the ECS deployment {deployment_id} is no longer among the deployments of {params['service']}: "
            f"a newer deployment or a rollback replaced it; see {console_link(params)}"
        )
    state, reason = ours.get("rolloutState"), ours.get("rolloutStateReason")
    if state == "FAILED":
        breaker = (service.get("deploymentConfiguration") or {}).get("deploymentCircuitBreaker") or {}
        # DeploymentCircuitBreaker: with rollback on, ECS returns the service to its last
        # completed deployment (ECS API Reference, "DeploymentCircuitBreaker").
        after = (
            "ECS rolls the service back to its last completed deployment"
            if breaker.get("rollback")
            else "the circuit breaker's rollback is off, so ECS leaves the service as it is"
        )
        raise PromotionError(
            f"the ECS deployment {deployment_id} of {params['service']} failed"
            + (f": {reason}" if reason else "")
            + f"; {after}; the stage rolls back to the previous digest; see {console_link(params)}"
        )
    if state == "COMPLETED":
        return deployed(
            params, token["taskDefinition"], deployment_id, f"{note}ECS deployment {deployment_id} completed"
        )
    if ours.get("status") != "PRIMARY":
        newest = next((d for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"), {})
        raise PromotionError(
            f"the ECS deployment {deployment_id} of {params['service']} was superseded by deployment "
            f"{newest.get('id', '?')} ({newest.get('taskDefinition', '?')}); see {console_link(params)}"
        )
    running, desired = ours.get("runningCount", 0), ours.get("desiredCount", 0)
    if state is None and len(service.get("deployments") or []) == 1 and running == desired:
        return deployed(
            params,
            token["taskDefinition"],
            deployment_id,
            f"{note}ECS deployment {deployment_id} runs {running} task(s)",
        )
    return still_running(params, token, now, f"{note}{state or 'rolling out'}, {running} of {desired} task(s) running")


def run_deploy_ecs(job, params):
    return deploy_ecs(client("ecs"), job, params, time.time())


ACTIONS["deploy-ecs"] = Action(ecs_parameters, run_deploy_ecs)
