"""The delivery function's deploy-ecs action against moto's ECS (task definitions and services
for real), with what moto 5.2.5 lacks simulated on top (EcsSim): UpdateService starting a
deployment, the service's currentServiceDeployment, DescribeServiceDeployments. Every request
and every scripted answer is checked against the ECS API model; CodePipeline is recorded."""

import copy
import json

import boto3
import pytest
from conftest import AWS_ERRORS, DeployHarness, ModelCheckedClient, client_error, load_lambda
from test_promotion import FakePipeline

ACCOUNT = "123456789012"
IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/orders"
DIGEST = "sha256:" + "b" * 64
OLD_DIGEST = "sha256:" + "a" * 64
PINNED = f"{IMAGE}@{DIGEST}"
TASK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/orders-task"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
SERVICE_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/prod/orders-web"
START_CALLS = ["DescribeServices", "DescribeTaskDefinition", "RegisterTaskDefinition"]
CONSOLE = (
    "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/orders-web/deployments?region=us-east-1"
)
PARAMETERS = {
    "action": "deploy-ecs",
    "image": IMAGE,
    "digest": DIGEST,
    "cluster": "prod",
    "service": "orders-web",
    "container": "web",
    "pass_roles": [TASK_ROLE, EXECUTION_ROLE],
    "wait_seconds": 3600,
}
# A task definition using every field RegisterTaskDefinition takes that moto keeps.
TASK_DEFINITION = {
    "family": "orders",
    "taskRoleArn": TASK_ROLE,
    "executionRoleArn": EXECUTION_ROLE,
    "networkMode": "awsvpc",
    "containerDefinitions": [
        {
            "name": "web",
            "image": f"{IMAGE}@{OLD_DIGEST}",
            "essential": True,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "environment": [{"name": "MODE", "value": "prod"}],
            "secrets": [{"name": "DB", "valueFrom": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/db"}],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "orders"}},
        },
        {"name": "envoy", "image": "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29", "essential": True},
    ],
    "volumes": [{"name": "data", "host": {"sourcePath": "/data"}}],
    "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}],
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "512",
    "memory": "1024",
    "pidMode": "task",
    "ipcMode": "task",
    "proxyConfiguration": {
        "type": "APPMESH",
        "containerName": "envoy",
        "properties": [{"name": "IgnoredUID", "value": "1337"}],
    },
    "inferenceAccelerators": [{"deviceName": "device1", "deviceType": "eia2.medium"}],
    "ephemeralStorage": {"sizeInGiB": 30},
    "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
    "enableFaultInjection": True,
    "tags": [{"key": "team", "value": "orders"}],
}


class EcsSim(ModelCheckedClient):
    """moto's ECS client, plus the ECS behaviour moto does not have: UpdateService with a new
    task definition starts a PRIMARY deployment (the others become ACTIVE) and a service
    deployment the service names as currentServiceDeployment; DescribeServiceDeployments
    answers from `service_deployments` (scripted). `fail[operation]` makes a call raise
    instead; `calls` records (operation, request)."""

    def __init__(self, real):
        super().__init__(real)
        self.deployments, self.current, self.service_deployments = {}, {}, {}
        self.serial = 0
        self.name_current_in_update = True

    def _overlay(self, service):
        name = service["serviceName"]
        if name in self.deployments:
            service["deployments"] = copy.deepcopy(self.deployments[name])
        if name in self.current:
            service["currentServiceDeployment"] = self.current[name]
        return service

    def describe_services(self, **request):
        self._check("DescribeServices", request)
        answer = self.real.describe_services(**request)
        for service in answer["services"]:
            self._overlay(service)
        return answer

    def describe_task_definition(self, **request):
        self._check("DescribeTaskDefinition", request)
        return self.real.describe_task_definition(**request)

    def register_task_definition(self, **request):
        self._check("RegisterTaskDefinition", request)
        return self.real.register_task_definition(**request)

    def update_service(self, **request):
        self._check("UpdateService", request)
        before = self.real.describe_services(cluster=request["cluster"], services=[request["service"]])
        answer = self.real.update_service(**request)
        service = answer["service"]
        name = service["serviceName"]
        if request.get("taskDefinition"):
            old = self.deployments.get(name) or copy.deepcopy(before["services"][0]["deployments"])
            for deployment in old:
                deployment["status"] = "ACTIVE"
            self.serial += 1
            self.deployments[name] = [rollout(f"ecs-svc/{self.serial}", request["taskDefinition"]), *old]
            arn = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service-deployment/prod/{name}/dep{self.serial}"
            self.service_deployments[arn] = service_deployment(arn, "IN_PROGRESS")
            if self.name_current_in_update:
                self.current[name] = arn
            else:  # named only later (UpdateService does not promise it: aws/containers-roadmap#2709)
                answer = copy.deepcopy(answer)
                self._overlay(answer["service"])  # as before: none, or the previous one
                self.current[name] = arn
                return answer
        self._overlay(service)
        return answer

    def describe_service_deployments(self, **request):
        self._check("DescribeServiceDeployments", request)
        answer = {"serviceDeployments": [], "failures": []}
        for arn in request["serviceDeploymentArns"]:
            if arn in self.service_deployments:
                answer["serviceDeployments"].append(copy.deepcopy(self.service_deployments[arn]))
            else:
                answer["failures"].append({"arn": arn, "reason": "MISSING"})
        return self._answer("DescribeServiceDeployments", answer)


def rollout(deployment_id, task_definition, state="IN_PROGRESS", status="PRIMARY", running=0, desired=2, **extra):
    """A Deployment as DescribeServices reports it."""
    deployment = {
        "id": deployment_id,
        "status": status,
        "taskDefinition": task_definition,
        "desiredCount": desired,
        "runningCount": running,
        "pendingCount": desired - running,
        **extra,
    }
    if state:
        deployment["rolloutState"] = state
    return deployment


def service_deployment(arn, status, **extra):
    """A ServiceDeployment as DescribeServiceDeployments reports it."""
    return {
        "serviceDeploymentArn": arn,
        "serviceArn": SERVICE_ARN,
        "clusterArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/prod",
        "status": status,
        **extra,
    }


class Deploy(DeployHarness):
    """The function with moto's ECS (simulated where moto falls short), a recorded pipeline and
    a clock; `run` invokes it once and returns the one job result it reported."""

    def __init__(self, module, sim, pipeline, clock):
        super().__init__(module, sim, pipeline, clock, PARAMETERS)
        self.original = None

    def token(self, result):
        return result["continuationToken"]

    def to_watch(self):
        """Runs the first two invocations (register, update); returns the watch token."""
        kind, first = self.run()
        assert kind == "success", first
        kind, second = self.run(self.token(first))
        assert kind == "success", second
        return self.token(second)

    def service(self):
        """The service as ECS (simulated) has it now, without recording a call."""
        return self.sim._overlay(self.real.describe_services(cluster="prod", services=["orders-web"])["services"][0])

    def task_definition(self, arn):
        return self.real.describe_task_definition(taskDefinition=arn)["taskDefinition"]


@pytest.fixture
def deploy(mocked_aws, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    module = load_lambda("promotion")
    real = boto3.client("ecs")
    real.create_cluster(clusterName="prod")
    original = real.register_task_definition(**TASK_DEFINITION)["taskDefinition"]["taskDefinitionArn"]
    real.create_service(
        cluster="prod",
        serviceName="orders-web",
        taskDefinition=original,
        desiredCount=2,
        launchType="FARGATE",
        deploymentConfiguration={
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
    )
    sim, pipeline = EcsSim(real), FakePipeline()
    module._clients.update({"ecs": sim, "codepipeline": pipeline})
    clock = [1000.0]
    monkeypatch.setattr(module.time, "time", lambda: clock[0])
    harness = Deploy(module, sim, pipeline, clock)
    harness.original = original
    return harness


def finish(deploy, token, status="SUCCESSFUL", **extra):
    """Scripts the state of the service deployment `token` follows; returns its ARN."""
    arn = json.loads(token)["arn"]
    deploy.sim.service_deployments[arn] = service_deployment(arn, status, **extra)
    return arn


# --- the deployment ------------------------------------------------------------------------


def test_a_deploy_registers_a_revision_that_differs_only_in_the_image_and_points_the_service_at_it(deploy):
    kind, first = deploy.run()
    assert kind == "success" and deploy.calls == START_CALLS
    start = json.loads(deploy.token(first))
    new = start["taskDefinition"]
    assert start == {"deploy-ecs": 1, "phase": "update", "taskDefinition": new, "started": 1000.0} | {
        "from": deploy.original
    }
    assert new.endswith("task-definition/orders:2")
    assert deploy.service()["taskDefinition"] == deploy.original, "the service changes only in the next invocation"

    before, after = deploy.task_definition(deploy.original), deploy.task_definition(new)
    for field in sorted(set(before) | set(after)):
        if field in ("taskDefinitionArn", "revision", "registeredAt", "containerDefinitions"):
            continue
        assert after.get(field) == before.get(field), field
    assert [c["name"] for c in after["containerDefinitions"]] == ["web", "envoy"]
    assert after["containerDefinitions"][1] == before["containerDefinitions"][1]
    web_before, web_after = before["containerDefinitions"][0], after["containerDefinitions"][0]
    assert web_after["image"] == PINNED
    assert {k: v for k, v in web_after.items() if k != "image"} == {k: v for k, v in web_before.items() if k != "image"}
    # What was sent: the settable fields only, never tags (they would need ecs:TagResource).
    register = deploy.sim.calls[2][1]
    assert "tags" not in register and "taskDefinitionArn" not in register and "status" not in register
    assert {"volumes", "placementConstraints", "runtimePlatform", "ephemeralStorage", "proxyConfiguration"} <= set(
        register
    )
    assert {"inferenceAccelerators", "pidMode", "ipcMode", "taskRoleArn", "executionRoleArn"} <= set(register)

    kind, second = deploy.run(deploy.token(first))
    assert kind == "success" and deploy.calls == ["DescribeServices", "UpdateService"]
    assert deploy.sim.calls[1][1] == {"cluster": "prod", "service": "orders-web", "taskDefinition": new}
    assert deploy.service()["taskDefinition"] == new
    watch = json.loads(deploy.token(second))
    assert watch["phase"] == "watch" and watch["started"] == 1000.0 and watch["deployment"] == "ecs-svc/1"
    assert watch["arn"].endswith("service-deployment/prod/orders-web/dep1")
    assert "ECS deployment " + watch["arn"] + " started" in second["executionDetails"]["summary"]

    deploy.clock[0] = 1300.0
    kind, third = deploy.run(deploy.token(second))
    assert kind == "success" and deploy.calls == ["DescribeServiceDeployments"]
    assert json.loads(deploy.token(third)) == watch, "the token carries over unchanged"
    assert "IN_PROGRESS (300 s so far)" in third["executionDetails"]["summary"]

    finish(deploy, deploy.token(second))
    kind, done = deploy.run(deploy.token(third))
    assert kind == "success" and "continuationToken" not in done
    assert done["outputVariables"] == {"ECS_TASK_DEFINITION": new, "ECS_DEPLOYMENT": watch["arn"]}
    summary = done["executionDetails"]["summary"]
    assert f"ECS deployment {watch['arn']} succeeded" in summary and CONSOLE in summary


def test_the_update_changes_nothing_but_the_task_definition(deploy):
    before = deploy.real.describe_services(cluster="prod", services=["orders-web"])["services"][0]
    deploy.to_watch()
    after = deploy.real.describe_services(cluster="prod", services=["orders-web"])["services"][0]
    assert after["taskDefinition"].endswith(":2")
    for field in ("desiredCount", "deploymentConfiguration", "launchType", "networkConfiguration", "loadBalancers"):
        assert after.get(field) == before.get(field), field
    assert [request for operation, request in deploy.sim.calls if operation == "UpdateService"] == [
        {"cluster": "prod", "service": "orders-web", "taskDefinition": after["taskDefinition"]}
    ]


def test_only_the_named_container_changes(deploy):
    kind, first = deploy.run(container="envoy")
    before = deploy.task_definition(deploy.original)
    after = deploy.task_definition(json.loads(deploy.token(first))["taskDefinition"])
    assert after["containerDefinitions"][0] == before["containerDefinitions"][0]
    assert after["containerDefinitions"][1]["image"] == PINNED


def test_cluster_and_service_may_be_arns(deploy):
    arns = {"cluster": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/prod", "service": SERVICE_ARN}
    kind, first = deploy.run(**arns)
    kind, second = deploy.run(deploy.token(first), **arns)
    finish(deploy, deploy.token(second))
    kind, done = deploy.run(deploy.token(second), **arns)
    assert kind == "success" and CONSOLE in done["executionDetails"]["summary"]


def test_the_service_deployment_named_only_later_is_picked_up_while_watching(deploy):
    deploy.sim.name_current_in_update = False
    kind, first = deploy.run()
    kind, second = deploy.run(deploy.token(first))
    watch = json.loads(deploy.token(second))
    assert watch["arn"] is None and watch["deployment"] == "ecs-svc/1" and watch["previous"] is None
    arn = deploy.sim.current["orders-web"]
    deploy.sim.service_deployments[arn] = service_deployment(arn, "IN_PROGRESS", lifecycleStage="BAKE_TIME")
    kind, third = deploy.run(deploy.token(second))
    assert deploy.calls == ["DescribeServices", "DescribeServiceDeployments"]
    assert json.loads(deploy.token(third))["arn"] == arn
    assert "IN_PROGRESS, BAKE_TIME" in third["executionDetails"]["summary"]
    deploy.sim.service_deployments[arn]["status"] = "SUCCESSFUL"
    kind, done = deploy.run(deploy.token(third))
    assert deploy.calls == ["DescribeServiceDeployments"] and done["outputVariables"]["ECS_DEPLOYMENT"] == arn


def test_a_service_deployment_the_service_already_named_before_the_update_is_not_taken_for_ours(deploy):
    old = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service-deployment/prod/orders-web/old"
    deploy.sim.current["orders-web"] = old
    deploy.sim.name_current_in_update = False  # UpdateService still answers with the old one
    kind, first = deploy.run()
    kind, second = deploy.run(deploy.token(first))
    watch = json.loads(deploy.token(second))
    assert watch["arn"] is None and watch["previous"] == old
    deploy.sim.current["orders-web"] = old  # ECS has not named the new one yet
    deploy.sim.deployments["orders-web"][0]["rolloutState"] = "COMPLETED"
    kind, done = deploy.run(deploy.token(second))
    assert deploy.calls == ["DescribeServices"], "the old service deployment is not described"
    assert kind == "success" and done["outputVariables"]["ECS_DEPLOYMENT"] == "ecs-svc/1"


# --- results of the deployment ---------------------------------------------------------------


@pytest.mark.parametrize("status", ["PENDING", "IN_PROGRESS", "SOMETHING_NEW"])
def test_a_running_deployment_returns_the_same_token(deploy, status):
    token = deploy.to_watch()
    finish(deploy, token, status)
    kind, result = deploy.run(token)
    assert kind == "success" and json.loads(result["continuationToken"]) == json.loads(token)
    assert "outputVariables" not in result


def test_a_failed_rolling_deployment_stopped_by_the_circuit_breaker_fails_with_the_reason(deploy):
    token = deploy.to_watch()
    finish(
        deploy,
        token,
        "STOPPED",
        statusReason="ECS deployment circuit breaker: tasks failed to start.",
        deploymentCircuitBreaker={"status": "TRIGGERED", "failureCount": 3, "threshold": 3},
    )
    kind, result = deploy.run(token)
    message = result["failureDetails"]["message"]
    assert kind == "failure"
    assert "was stopped (STOPPED): ECS deployment circuit breaker: tasks failed to start." in message
    assert "circuit breaker: 3 failed task(s), threshold 3" in message
    assert "the stage rolls back to the previous digest" in message and CONSOLE in message


def test_a_blue_green_deployment_ecs_rolled_back_fails_naming_the_rollback(deploy):
    token = deploy.to_watch()
    revision = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service-revision/prod/orders-web/111"
    finish(
        deploy,
        token,
        "ROLLBACK_SUCCESSFUL",
        statusReason="Alarm triggered during bake time",
        lifecycleStage="BAKE_TIME",
        alarms={"status": "TRIGGERED", "alarmNames": ["orders-5xx"], "triggeredAlarmNames": ["orders-5xx"]},
        rollback={"reason": "alarm orders-5xx in ALARM", "serviceRevisionArn": revision},
    )
    kind, result = deploy.run(token)
    message = result["failureDetails"]["message"]
    assert kind == "failure"
    assert f"failed, and ECS rolled the service back to {revision} (ROLLBACK_SUCCESSFUL)" in message
    assert "Alarm triggered during bake time; alarms: orders-5xx; rollback: alarm orders-5xx in ALARM" in message


@pytest.mark.parametrize(
    "status, expected",
    [
        ("ROLLBACK_REQUESTED", "failed, and ECS is rolling the service back"),
        ("ROLLBACK_IN_PROGRESS", "failed, and ECS is rolling the service back"),
        ("ROLLBACK_FAILED", "failed, and ECS could not roll the service back"),
        ("STOP_REQUESTED", "was stopped"),
    ],
)
def test_other_ends_of_a_deployment_fail(deploy, status, expected):
    token = deploy.to_watch()
    finish(deploy, token, status)
    kind, result = deploy.run(token)
    assert kind == "failure" and f"{expected} ({status})" in result["failureDetails"]["message"]


def test_a_service_deployment_ecs_does_not_know_fails(deploy):
    token = deploy.to_watch()
    deploy.sim.service_deployments.clear()
    kind, result = deploy.run(token)
    assert kind == "failure" and "ECS does not describe service deployment" in result["failureDetails"]["message"]
    assert "(MISSING)" in result["failureDetails"]["message"]


def test_the_wait_ends_in_a_clear_failure(deploy):
    token = deploy.to_watch()
    deploy.clock[0] = 1000.0 + 3599
    assert deploy.run(token)[0] == "success"
    deploy.clock[0] = 1000.0 + 3600
    kind, result = deploy.run(token)
    arn = json.loads(token)["arn"]
    assert kind == "failure"
    assert result["failureDetails"]["message"] == (
        f"the ECS deployment {arn} is still in progress after 60 minutes (IN_PROGRESS); it continues in ECS; "
        f"check {CONSOLE} (or raise stages.deploy.ecs.wait_minutes)"
    )


# The service's own deployments (rolloutState), when no service deployment is known.


def rollout_token(deploy, **fields):
    deploy.sim.name_current_in_update = False
    token = json.loads(deploy.to_watch())
    assert token["arn"] is None
    deploy.sim.current.pop("orders-web")  # ECS names none (e.g. a Region without service deployments)
    return json.dumps({**token, **fields})


def test_a_completed_rollout_succeeds(deploy):
    token = rollout_token(deploy)
    deploy.sim.deployments["orders-web"][0].update(rolloutState="COMPLETED", runningCount=2, pendingCount=0)
    kind, result = deploy.run(token)
    assert kind == "success" and deploy.calls == ["DescribeServices"]
    assert result["outputVariables"]["ECS_DEPLOYMENT"] == "ecs-svc/1"
    assert result["outputVariables"]["ECS_TASK_DEFINITION"].endswith("task-definition/orders:2")


def test_a_rollout_in_progress_continues(deploy):
    token = rollout_token(deploy)
    deploy.sim.deployments["orders-web"][0].update(runningCount=1, pendingCount=1)
    kind, result = deploy.run(token)
    assert kind == "success" and json.loads(result["continuationToken"]) == json.loads(token)
    assert "IN_PROGRESS, 1 of 2 task(s) running" in result["executionDetails"]["summary"]


@pytest.mark.parametrize("rollback, expected", [(True, "ECS rolls the service back"), (False, "rollback is off")])
def test_a_failed_rollout_fails_and_says_whether_ecs_rolls_back(deploy, rollback, expected):
    token = rollout_token(deploy)
    deploy.real.update_service(
        cluster="prod",
        service="orders-web",
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": rollback}},
    )
    deploy.sim.deployments["orders-web"][0].update(
        rolloutState="FAILED", rolloutStateReason="ECS deployment circuit breaker: tasks failed to start."
    )
    kind, result = deploy.run(token)
    message = result["failureDetails"]["message"]
    assert kind == "failure" and "failed: ECS deployment circuit breaker: tasks failed to start." in message
    assert expected in message


def test_a_rollout_no_longer_listed_fails(deploy):
    token = rollout_token(deploy)
    deploy.sim.deployments["orders-web"] = [rollout("ecs-svc/99", deploy.original, "COMPLETED")]
    kind, result = deploy.run(token)
    assert kind == "failure" and "is no longer among the deployments" in result["failureDetails"]["message"]


def test_a_superseded_rollout_fails(deploy):
    token = rollout_token(deploy)
    ours = deploy.sim.deployments["orders-web"][0]
    ours["status"] = "ACTIVE"
    newer = rollout("ecs-svc/77", f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/orders:9")
    deploy.sim.deployments["orders-web"].insert(0, newer)
    kind, result = deploy.run(token)
    message = result["failureDetails"]["message"]
    assert kind == "failure" and "was superseded by deployment ecs-svc/77" in message and "orders:9" in message


def test_without_a_rollout_state_the_deployment_is_done_when_alone_at_its_desired_count(deploy):
    token = rollout_token(deploy)
    ours = deploy.sim.deployments["orders-web"][0]
    ours.pop("rolloutState")
    kind, result = deploy.run(token)
    assert kind == "success" and "rolling out, 0 of 2" in result["executionDetails"]["summary"]
    ours.update(runningCount=2, pendingCount=0)
    assert deploy.run(token)[0] == "success" and "continuationToken" in deploy.pipeline.only()[1]
    deploy.sim.deployments["orders-web"] = [ours]
    kind, result = deploy.run(token)
    assert kind == "success" and "continuationToken" not in result
    assert result["outputVariables"]["ECS_DEPLOYMENT"] == "ecs-svc/1"


# --- the digest already live ---------------------------------------------------------------


def live_service(deploy, state):
    """The service already runs DIGEST (as after a deploy, or ECS rolling back to it)."""
    definition = {**TASK_DEFINITION}
    definition["containerDefinitions"] = copy.deepcopy(TASK_DEFINITION["containerDefinitions"])
    definition["containerDefinitions"][0]["image"] = PINNED
    live = deploy.real.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
    deploy.real.update_service(cluster="prod", service="orders-web", taskDefinition=live)
    # ECS rolled back to it after a failed deployment of another digest: that one is the
    # newest service deployment, ROLLBACK_SUCCESSFUL, and must not fail this re-run.
    failed = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service-deployment/prod/orders-web/failed"
    deploy.sim.current["orders-web"] = failed
    deploy.sim.service_deployments[failed] = service_deployment(failed, "ROLLBACK_SUCCESSFUL")
    deploy.sim.deployments["orders-web"] = [
        rollout("ecs-svc/rollback", live, state, running=2 if state == "COMPLETED" else 1)
    ]
    return live


def test_a_digest_already_live_and_settled_succeeds_without_registering(deploy):
    live = live_service(deploy, "COMPLETED")
    kind, result = deploy.run()
    assert kind == "success" and deploy.calls == ["DescribeServices", "DescribeTaskDefinition"]
    assert result["outputVariables"] == {"ECS_TASK_DEFINITION": live, "ECS_DEPLOYMENT": "ecs-svc/rollback"}
    assert (
        f"web already runs {PINNED}; ECS deployment ecs-svc/rollback completed"
        in (result["executionDetails"]["summary"])
    )
    assert len(deploy.real.list_task_definitions()["taskDefinitionArns"]) == 2, "nothing registered"


def test_a_digest_already_live_waits_for_the_deployment_under_way(deploy):
    live = live_service(deploy, "IN_PROGRESS")
    kind, result = deploy.run()
    token = json.loads(result["continuationToken"])
    assert token["live"] is True and token["deployment"] == "ecs-svc/rollback" and token["taskDefinition"] == live
    assert "UpdateService" not in deploy.calls
    kind, result = deploy.run(result["continuationToken"])
    assert deploy.calls == ["DescribeServices"], "a live digest is judged by the service's own rollout"
    deploy.sim.deployments["orders-web"][0].update(rolloutState="COMPLETED", runningCount=2, pendingCount=0)
    kind, result = deploy.run(result["continuationToken"])
    assert kind == "success" and result["outputVariables"]["ECS_TASK_DEFINITION"] == live


def test_a_digest_already_live_without_deployments_listed_succeeds(deploy):
    live = live_service(deploy, "COMPLETED")
    deploy.sim.deployments["orders-web"] = []
    kind, result = deploy.run()
    assert kind == "success" and result["outputVariables"] == {"ECS_TASK_DEFINITION": live, "ECS_DEPLOYMENT": "none"}


def test_a_rerun_after_a_deploy_registers_nothing_new(deploy):
    token = deploy.to_watch()
    finish(deploy, token)
    deploy.run(token)
    deploy.sim.deployments["orders-web"][0].update(rolloutState="COMPLETED", runningCount=2, pendingCount=0)
    kind, result = deploy.run()
    assert kind == "success" and "already runs" in result["executionDetails"]["summary"]
    assert len(deploy.real.list_task_definitions()["taskDefinitionArns"]) == 2


# --- what stops a deployment before it starts -----------------------------------------------


def test_a_missing_service_fails(deploy):
    kind, result = deploy.run(service="orders-api")
    assert kind == "failure"
    assert result["failureDetails"]["message"] == (
        "ECS service orders-api is not in cluster prod (MISSING); "
        "check stages.deploy.ecs.cluster and service in shipline.toml"
    )


def test_a_missing_cluster_fails(deploy):
    kind, result = deploy.run(cluster="staging")
    assert kind == "failure" and "ECS cluster staging does not exist" in result["failureDetails"]["message"]


def test_an_inactive_service_fails(deploy):
    deploy.real.update_service(cluster="prod", service="orders-web", desiredCount=0)
    deploy.real.delete_service(cluster="prod", service="orders-web")
    kind, result = deploy.run()
    assert (
        kind == "failure"
        and "is INACTIVE (deleted or being deleted), not ACTIVE" in (result["failureDetails"]["message"])
    )


@pytest.mark.parametrize("controller", ["CODE_DEPLOY", "EXTERNAL"])
def test_a_service_on_another_deployment_controller_fails(deploy, controller):
    deploy.real.create_service(
        cluster="prod",
        serviceName="legacy",
        taskDefinition=deploy.original,
        desiredCount=1,
        deploymentController={"type": controller},
    )
    kind, result = deploy.run(service="legacy")
    message = result["failureDetails"]["message"]
    assert kind == "failure" and f"uses the {controller} deployment controller" in message
    assert "ECS-native blue/green, linear or canary" in message
    assert "RegisterTaskDefinition" not in deploy.calls


def test_a_container_not_in_the_task_definition_fails_listing_those_there(deploy):
    kind, result = deploy.run(container="api")
    message = result["failureDetails"]["message"]
    assert kind == "failure"
    assert f"container 'api' is not in task definition {deploy.original}" in message
    assert "(its containers: web, envoy)" in message and "stages.deploy.ecs.container" in message


@pytest.mark.parametrize("missing", [TASK_ROLE, EXECUTION_ROLE])
def test_a_role_not_in_pass_roles_fails_naming_it(deploy, missing):
    roles = [r for r in (TASK_ROLE, EXECUTION_ROLE) if r != missing]
    kind, result = deploy.run(pass_roles=roles)
    message = result["failureDetails"]["message"]
    assert kind == "failure" and f"add {missing} to stages.deploy.ecs.pass_roles in shipline.toml" in message
    assert "RegisterTaskDefinition" not in deploy.calls


def test_a_role_written_by_name_in_the_task_definition_matches_its_arn(deploy):
    definition = {**TASK_DEFINITION, "taskRoleArn": "orders-task"}
    arn = deploy.real.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
    deploy.real.update_service(cluster="prod", service="orders-web", taskDefinition=arn)
    assert deploy.run()[0] == "success"
    kind, result = deploy.run(pass_roles=[EXECUTION_ROLE, f"arn:aws:iam::{ACCOUNT}:role/other"])
    assert kind == "failure" and "the task role orders-task" in result["failureDetails"]["message"]


def test_a_service_changed_between_register_and_update_is_left_alone(deploy):
    kind, first = deploy.run()
    other = deploy.real.register_task_definition(**TASK_DEFINITION)["taskDefinition"]["taskDefinitionArn"]
    deploy.real.update_service(cluster="prod", service="orders-web", taskDefinition=other)
    kind, result = deploy.run(deploy.token(first))
    assert kind == "failure" and "while this action ran" in result["failureDetails"]["message"]
    assert deploy.calls == ["DescribeServices"]
    assert deploy.service()["taskDefinition"] == other


def test_an_update_that_already_got_through_is_not_sent_again(deploy):
    kind, first = deploy.run()
    new = json.loads(deploy.token(first))["taskDefinition"]
    deploy.sim.update_service(cluster="prod", service="orders-web", taskDefinition=new)
    kind, result = deploy.run(deploy.token(first))
    assert kind == "success" and deploy.calls == ["DescribeServices"]
    assert json.loads(result["continuationToken"])["deployment"] == "ecs-svc/1"


# --- AWS errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("error", sorted(AWS_ERRORS))
@pytest.mark.parametrize("call", START_CALLS)
def test_an_aws_error_before_the_update_fails_the_job_and_changes_nothing(deploy, call, error):
    deploy.sim.fail[call] = AWS_ERRORS[error]
    kind, result = deploy.run()
    assert kind == "failure" and result["failureDetails"]["message"].startswith("AWS call failed")
    assert deploy.calls == START_CALLS[: START_CALLS.index(call) + 1]
    assert deploy.service()["taskDefinition"] == deploy.original
    assert len(deploy.real.list_task_definitions()["taskDefinitionArns"]) == 1


# Throttling, a 5xx, no answer: the same token comes back and the next invocation tries again
# (both phases check before they act). Access denied would be refused again: the job fails.
RETRIED = {"ThrottlingException", "InternalFailure", "EndpointConnectionError"}


@pytest.mark.parametrize("error", sorted(AWS_ERRORS))
@pytest.mark.parametrize("call", ["DescribeServices", "UpdateService"])
def test_an_aws_error_while_updating_is_retried_only_when_it_can_get_through(deploy, call, error):
    kind, first = deploy.run()
    deploy.sim.fail[call] = AWS_ERRORS[error]
    kind, result = deploy.run(deploy.token(first))
    if error in RETRIED:
        assert kind == "success" and result["continuationToken"] == deploy.token(first)
        assert "could not reach ECS" in result["executionDetails"]["summary"]
        del deploy.sim.fail[call]
        kind, result = deploy.run(result["continuationToken"])
        assert kind == "success" and json.loads(result["continuationToken"])["phase"] == "watch"
    else:
        assert kind == "failure" and result["failureDetails"]["message"].startswith("AWS call failed")


@pytest.mark.parametrize("error", sorted(AWS_ERRORS))
@pytest.mark.parametrize("call", ["DescribeServices", "DescribeServiceDeployments"])
def test_an_aws_error_while_watching_is_retried_only_when_it_can_get_through(deploy, call, error):
    deploy.sim.name_current_in_update = False
    token = deploy.to_watch()  # the next invocation calls both
    deploy.sim.fail[call] = AWS_ERRORS[error]
    kind, result = deploy.run(token)
    if error in RETRIED:
        assert kind == "success" and result["continuationToken"] == token
    else:
        assert kind == "failure" and "AccessDeniedException" in result["failureDetails"]["message"]


def test_a_retried_error_past_the_wait_fails(deploy):
    token = deploy.to_watch()
    deploy.sim.fail["DescribeServiceDeployments"] = AWS_ERRORS["ThrottlingException"]
    deploy.clock[0] = 1000.0 + 3600
    kind, result = deploy.run(token)
    assert kind == "failure" and "ThrottlingException" in result["failureDetails"]["message"]


def test_an_unexpected_bug_is_one_failure_result(deploy):
    def boom(**_):
        raise RuntimeError("boom")

    deploy.sim.describe_task_definition = boom
    kind, result = deploy.run()
    assert kind == "failure" and result["failureDetails"]["message"] == "unexpected error: RuntimeError: boom"


# --- continuation tokens and UserParameters ----------------------------------------------------

TASK_DEFINITION_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/orders:2"
OTHER_SERVICE = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service-deployment/prod/billing/dep1"
WATCH = {
    "deploy-ecs": 1,
    "phase": "watch",
    "taskDefinition": TASK_DEFINITION_ARN,
    "started": 1000.0,
    "live": False,
    "deployment": "ecs-svc/1",
    "arn": None,
    "previous": None,
}
BAD_TOKENS = [
    "",
    "not json",
    "[]",
    "null",
    '{"started": 900.0}',  # the scan gate's
    "[" * 100_000,
    json.dumps({**WATCH, "deploy-ecs": 2}),
    json.dumps({**WATCH, "phase": "register"}),
    json.dumps({**WATCH, "started": float("nan")}),
    json.dumps({**WATCH, "started": 99999999999}),
    json.dumps({**WATCH, "started": "1000"}),
    json.dumps({**WATCH, "taskDefinition": "orders:2"}),
    json.dumps({**WATCH, "deployment": ""}),
    json.dumps({**WATCH, "deployment": None}),
    json.dumps({**WATCH, "arn": OTHER_SERVICE}),
    json.dumps({**WATCH, "arn": 5}),
    json.dumps({**WATCH, "live": "no"}),
    json.dumps({**WATCH, "previous": ["x"]}),
    json.dumps({"deploy-ecs": 1, "phase": "update", "taskDefinition": TASK_DEFINITION_ARN, "started": 1000.0}),
    42,
]


@pytest.mark.parametrize("token", BAD_TOKENS, ids=lambda token: repr(token)[:50])
def test_a_token_this_action_did_not_write_fails_without_touching_ecs(deploy, token):
    kind, result = deploy.run(token)
    message = result["failureDetails"]["message"]
    assert kind == "failure" and message.startswith("the continuation token is not one deploy-ecs wrote (")
    assert "not starting another deployment" in message and CONSOLE in message
    assert deploy.calls == []


def test_the_token_written_is_the_token_read(deploy):
    token = json.loads(deploy.to_watch())
    assert set(token) == set(WATCH)


MALFORMED = [
    ({"image": f"{IMAGE}:latest"}, "UserParameters.image", "without a tag or digest"),
    ({"image": PINNED}, "UserParameters.image", "without a tag or digest"),
    ({"image": "orders"}, "UserParameters.image", "is not an image repository URI"),
    ({"image": None}, "UserParameters.image", ""),
    ({"digest": "latest"}, "UserParameters.digest", "IMAGE_DIGEST"),
    ({"cluster": "prod cluster"}, "UserParameters.cluster", ""),
    ({"cluster": f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/prod"}, "UserParameters.cluster", ""),
    ({"service": ["orders-web"]}, "UserParameters.service", ""),
    ({"service": "x" * 256}, "UserParameters.service", ""),
    ({"container": ""}, "UserParameters.container", ""),
    ({"pass_roles": TASK_ROLE}, "UserParameters.pass_roles", ""),
    ({"pass_roles": ["orders-task"]}, "UserParameters.pass_roles", ""),
    ({"pass_roles": None}, "UserParameters.pass_roles", ""),
    ({"wait_seconds": 59}, "UserParameters.wait_seconds", "from 60 to 86400"),
    ({"wait_seconds": 86401}, "UserParameters.wait_seconds", ""),
    ({"wait_seconds": 600.0}, "UserParameters.wait_seconds", ""),
    ({"wait_seconds": True}, "UserParameters.wait_seconds", ""),
    ({"wait_seconds": "3600"}, "UserParameters.wait_seconds", ""),
]


@pytest.mark.parametrize("change, field, hint", MALFORMED, ids=lambda v: repr(v)[:40])
def test_malformed_parameters_fail_naming_the_field(deploy, change, field, hint):
    kind, result = deploy.run(**change)
    message = result["failureDetails"]["message"]
    assert kind == "failure" and message.startswith(field) and hint in message
    assert deploy.calls == []


@pytest.mark.parametrize("field", ["image", "cluster", "service", "container", "pass_roles", "wait_seconds"])
def test_each_field_is_required(deploy, field):
    parameters = {k: v for k, v in PARAMETERS.items() if k != field}
    deploy.pipeline.calls.clear()
    event = {"CodePipeline.job": {"id": "j", "data": {"actionConfiguration": {"configuration": {}}}}}
    event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] = json.dumps(parameters)
    deploy.module.handler(event, None)
    kind, result = deploy.pipeline.only()
    assert kind == "failure" and result["failureDetails"]["message"].startswith(f"UserParameters.{field} None")


def test_an_empty_pass_roles_refuses_any_role(deploy):
    kind, result = deploy.run(pass_roles=[])
    assert kind == "failure" and "the task role" in result["failureDetails"]["message"]


# --- what the function relies on -----------------------------------------------------------


def test_the_fields_copied_are_the_settable_ones(deploy):
    fields = deploy.module.task_definition_fields(deploy.real)
    assert {
        "family",
        "containerDefinitions",
        "taskRoleArn",
        "executionRoleArn",
        "networkMode",
        "volumes",
        "placementConstraints",
        "requiresCompatibilities",
        "cpu",
        "memory",
        "pidMode",
        "ipcMode",
        "proxyConfiguration",
        "inferenceAccelerators",
        "ephemeralStorage",
        "runtimePlatform",
        "enableFaultInjection",
    } <= fields
    read_only = {"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt"}
    assert not fields & (read_only | {"registeredBy", "deregisteredAt", "deleteRequestedAt", "tags"})


def test_time_budget(deploy):
    """The function has 60 s. Each deploy-ecs invocation makes at most three ECS calls (asserted
    in every run above), then its report attempts; each call gives up after its timeouts."""
    config = deploy.module.CLIENT_CONFIG
    per_call = config.retries["max_attempts"] * (config.connect_timeout + config.read_timeout)
    reports = 1 + len(deploy.module.REPORT_RETRY_DELAYS)
    assert (3 + reports) * per_call + sum(deploy.module.REPORT_RETRY_DELAYS) < 60


def test_a_failing_report_of_a_continuation_is_not_retried_when_refused(deploy):
    deploy.module.REPORT_RETRY_DELAYS = (0,)
    deploy.pipeline.fail = client_error("InvalidJobStateException", 400)
    data = {"actionConfiguration": {"configuration": {"UserParameters": json.dumps(PARAMETERS)}}}
    outcome = deploy.module.handler({"CodePipeline.job": {"id": "job-1", "data": data}}, None)
    assert outcome["status"] == "unreported" and len(deploy.pipeline.calls) == 1


@pytest.mark.parametrize(
    "value, ours",
    [
        (f"arn:aws:ecs:us-east-1:{ACCOUNT}:service-deployment/prod/orders-web/ejGvqq2ilnbKT9qj0vLJe", True),
        (f"arn:aws-us-gov:ecs:us-gov-west-1:{ACCOUNT}:service-deployment/prod/orders-web/x1", True),
        (OTHER_SERVICE, False),
        (f"arn:aws:ecs:us-east-1:{ACCOUNT}:service-deployment/staging/orders-web/x1", False),
        (f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/prod/orders-web", False),
        ("ecs-svc/123", False),
        (None, False),
        (5, False),
    ],
)
def test_only_deployments_of_this_service_are_followed(deploy, value, ours):
    assert deploy.module.deployment_arn(value, PARAMETERS) == (value if ours else None)
