"""The synthesized pipeline, executed the way AWS would run it (pipeline_sim.py says how and from
which AWS documentation), against a moto_server: the buildspec in bash with the real AWS CLI and
a docker stand-in, the inline Lambda code with CodePipeline job events, variables, triggers,
the scan gate and stage rollbacks. Everything is read from `shipline synth` output only.

Per configuration (default: webhook trigger + basic scan gate; connection trigger with file
filters; Inspector gate; every option): run 1 promotes the built digest to every stage tag,
run 2 moves them all, a stage that fails after moving its tag is rolled back to the previous
digest, and the gate blocks an image with findings at the configured severity. Stages with an
ECS target (ecs-deploy, all-options) deploy the promoted digest to services created in moto, and
a failed ECS deployment rolls the stage (tag and service) back to the previous digest. The
all-options staging stage deploys to a container-image Lambda function created in moto: its
alias moves to a version running the promoted digest, and a failed update rolls it back.
"""

import json
import os
import pathlib
import subprocess
import sys
import tomllib
import types

import pytest
import requests

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BIN = os.environ.get("SHIPLINE_BIN", str(ROOT / "target/debug/shipline"))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests/support"))
import moto_process  # noqa: E402
import pipeline_sim as sim  # noqa: E402

DOCKERFILE = 'FROM public.ecr.aws/docker/library/python:3.13-slim\nCOPY . /app\nCMD ["python", "/app/main.py"]\n'
APP = {
    "Dockerfile": DOCKERFILE,
    "main.py": "print('hello')\n",
    "src/app.py": "VERSION = 1\n",
    "docs/guide.md": "# Guide\n",
}


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory):
    with moto_process.moto_server(tmp_path_factory.mktemp("moto") / "server.log") as endpoint:
        yield endpoint


@pytest.fixture
def endpoint(moto_server):
    """A fresh (empty) simulated account for each test."""
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    return moto_server


_templates = {}


def synth(config=None):
    if config not in _templates:
        args = [BIN, "synth"] + (["--config", str(ROOT / "tests/configs" / f"{config}.toml")] if config else [])
        result = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=ROOT / "tests/configs")
        assert result.returncode == 0, result.stderr
        _templates[config] = json.loads(result.stdout)
    return json.loads(json.dumps(_templates[config]))


def deploy(template, endpoint, tmp_path, repository, files=APP):
    """The stack in the simulated account: ECR repository, the GitHub repository, the pipeline."""
    stack = sim.Stack(template)
    ecr = sim.Ecr(endpoint, stack)
    github = sim.GitHubRepo(repository, files)
    pipeline = sim.Pipeline(stack, endpoint, github, ecr, tmp_path)
    return stack, ecr, github, pipeline


def docker_commands(build):
    return [call["argv"][0] for call in build.docker]


def assert_built(execution, ecr, commit):
    """The build pushed <repo>:<commit> and exported exactly what ECR recorded for it."""
    assert execution.stages.get("Build") == "Succeeded", (
        execution.failure() + "\n" + execution.action("Build").build.summary()
    )
    build = execution.action("Build").build
    digest = ecr.digest(commit.id)
    assert digest and digest.startswith("sha256:"), f"{ecr.name}:{commit.id} is not in ECR"
    expected = {"IMAGE_TAG": commit.id, "IMAGE_DIGEST": digest, "IMAGE_URI": f"{ecr.uri}@{digest}"}
    assert build.exported == expected
    assert execution.namespaces["BuildVariables"] == expected
    assert json.loads(build.artifacts["imageDetail.json"]) == {
        "ImageURI": expected["IMAGE_URI"],
        "ImageDigest": digest,
        "ImageTag": commit.id,
    }
    return digest


def stage_tags(ecr, stages):
    return {stage: ecr.digest(stage) for stage in stages}


INITIAL_IMAGE = "public.ecr.aws/nginx/nginx:1.27"


class EcsTargets:
    """The ECS services a configuration's `[stages.deploy.ecs]` tables name, created in moto
    (with their IAM roles) before the pipeline runs: each runs a task definition whose container
    runs INITIAL_IMAGE as the first pass role (task role) and the second (execution role)."""

    def __init__(self, endpoint, config):
        self.ecs = sim.aws_client(endpoint, "ecs")
        iam = sim.aws_client(endpoint, "iam")
        stages = tomllib.loads((ROOT / "tests/configs" / f"{config}.toml").read_text())["stages"]
        self.targets = {s["name"]: s["deploy"]["ecs"] for s in stages if "ecs" in s.get("deploy", {})}
        self.services = {}  # stage -> service ARN
        self.clusters = {}
        trust = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        )
        roles = {}
        for stage, target in self.targets.items():
            for role in target["pass_roles"]:
                path, name = (
                    ("/" + role.split(":role/", 1)[1]).rsplit("/", 1) if role.startswith("arn:") else ("", role)
                )
                if name not in roles:
                    roles[name] = iam.create_role(RoleName=name, Path=path + "/", AssumeRolePolicyDocument=trust)[
                        "Role"
                    ]["Arn"]
                assert roles[name] == f"arn:aws:iam::{sim.ACCOUNT}:role{path}/{name}"
            cluster = target["cluster"].rsplit("/", 1)[-1]
            service = target["service"].rsplit("/", 1)[-1]
            self.ecs.create_cluster(clusterName=cluster)
            definition = self.ecs.register_task_definition(
                family=f"{service}-{stage}",
                taskRoleArn=roles[target["pass_roles"][0].rsplit("/", 1)[-1]],
                executionRoleArn=roles[target["pass_roles"][1].rsplit("/", 1)[-1]],
                networkMode="awsvpc",
                requiresCompatibilities=["FARGATE"],
                cpu="256",
                memory="512",
                containerDefinitions=[
                    {"name": target["container"], "image": INITIAL_IMAGE, "essential": True, "portMappings": []},
                    {"name": "log-router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"},
                ],
            )["taskDefinition"]["taskDefinitionArn"]
            created = self.ecs.create_service(
                cluster=cluster, serviceName=service, taskDefinition=definition, desiredCount=2, launchType="FARGATE"
            )["service"]
            self.services[stage], self.clusters[stage] = created["serviceArn"], cluster

    def definition(self, stage):
        """The task definition the stage's service runs."""
        service = self.ecs.describe_services(cluster=self.clusters[stage], services=[self.services[stage]])
        arn = service["services"][0]["taskDefinition"]
        return self.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]

    def image(self, stage):
        container = self.targets[stage]["container"]
        return next(c["image"] for c in self.definition(stage)["containerDefinitions"] if c["name"] == container)

    def images(self):
        return {stage: self.image(stage) for stage in self.targets}


def settable(definition, container):
    """A task definition without what a new revision necessarily changes (ARN, revision,
    registration) and without `container`'s image: two revisions deployed by the action
    must be equal in this."""
    kept = {
        k: v
        for k, v in definition.items()
        if k not in ("taskDefinitionArn", "revision", "registeredAt", "registeredBy")
    }
    kept = json.loads(json.dumps(kept, default=str))
    for c in kept["containerDefinitions"]:
        if c["name"] == container:
            del c["image"]
    return kept


def assert_deployed(execution, targets, ecr, digest, before, record=None):
    """Every target stage of `execution` ran Promote then Deploy: its service now runs
    `<repository uri>@<digest>` in a new revision differing from `before[stage]` (the task
    definition it ran) only in that image; the job took a start, an update and a watch
    invocation and reported ECS_TASK_DEFINITION. `record`: the stage tag's digest seen when
    each revision was registered."""
    for stage, target in targets.targets.items():
        actions = [a.action for a in execution.actions if a.stage == stage]
        assert actions == ["Promote", "Deploy"], actions
        deploy = execution.action(stage, "Deploy")
        assert deploy.status == "Succeeded", deploy.message
        now = targets.definition(stage)
        assert targets.image(stage) == f"{ecr.uri}@{digest}"
        assert now["revision"] > before[stage]["revision"]
        assert settable(now, target["container"]) == settable(before[stage], target["container"])
        kinds = [(kind, bool(params.get("continuationToken"))) for kind, params in deploy.jobs]
        assert kinds == [("success", True), ("success", True), ("success", False)], kinds
        assert deploy.jobs[-1][1]["outputVariables"]["ECS_TASK_DEFINITION"] == now["taskDefinitionArn"]
        assert deploy.variables["ECS_TASK_DEFINITION"] == now["taskDefinitionArn"]
        if record is not None:
            assert record.get(now["taskDefinitionArn"]) == digest, "the tag moved before the revision was registered"


def tag_when_registered(pipeline, ecr, targets):
    """A pass-through fault recording, per registered revision, what the stage's tag held."""
    seen, pending = {}, []

    def register(params):
        execution, stage = pipeline.current
        pending.append(ecr.digest(stage))
        return None

    def answer_update(params):
        seen[params["taskDefinition"]] = pending[-1]
        return None

    pipeline.faults[("ecs", "RegisterTaskDefinition")] = register
    pipeline.faults[("ecs", "UpdateService")] = answer_update
    return seen


INITIAL_FUNCTION_IMAGE = f"{sim.ACCOUNT}.dkr.ecr.{sim.REGION}.amazonaws.com/bootstrap@sha256:{'0' * 64}"


class LambdaTargets:
    """The Lambda functions a configuration's `[stages.deploy.lambda]` tables name, created in
    moto before the pipeline runs: container-image functions (PackageType Image) running
    INITIAL_FUNCTION_IMAGE, published as a version, their alias on that version."""

    def __init__(self, endpoint, config):
        self.client = sim.aws_client(endpoint, "lambda")
        stages = tomllib.loads((ROOT / "tests/configs" / f"{config}.toml").read_text())["stages"]
        self.targets = {s["name"]: s["deploy"]["lambda"] for s in stages if "lambda" in s.get("deploy", {})}
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        role = sim.aws_client(endpoint, "iam").create_role(
            RoleName="sim-function-role", AssumeRolePolicyDocument=json.dumps(trust)
        )["Role"]["Arn"]
        for target in self.targets.values():
            name = target["function"].rsplit(":", 1)[-1]
            created = self.client.create_function(
                FunctionName=name, Role=role, PackageType="Image", Code={"ImageUri": INITIAL_FUNCTION_IMAGE}
            )
            assert created["PackageType"] == "Image"
            version = self.client.publish_version(FunctionName=name)["Version"]
            self.client.create_alias(FunctionName=name, Name=target["alias"], FunctionVersion=version)

    def version(self, stage):
        """The version the stage's alias points at."""
        target = self.targets[stage]
        return self.client.get_alias(FunctionName=target["function"], Name=target["alias"])["FunctionVersion"]

    def image(self, stage, qualifier=None):
        """The image a version of the stage's function runs (default: its alias's version)."""
        function = self.targets[stage]["function"]
        return self.client.get_function(FunctionName=function, Qualifier=qualifier or self.version(stage))["Code"][
            "ImageUri"
        ]

    def images(self):
        return {stage: self.image(stage) for stage in self.targets}


def assert_function_deployed(execution, targets, ecr, digest, before, record):
    """Every Lambda target stage of `execution` ran Promote then Deploy: its alias moved from
    version `before[stage]` to one running exactly `<repository uri>@<digest>`; the job took a
    start and a finish invocation and reported LAMBDA_VERSION and LAMBDA_IMAGE. `record`: the
    stage tag's digest seen when each UpdateFunctionCode was sent (see tag_when_updated)."""
    pinned = f"{ecr.uri}@{digest}"
    for stage in targets.targets:
        actions = [a.action for a in execution.actions if a.stage == stage]
        assert actions == ["Promote", "Deploy"], actions
        deploy = execution.action(stage, "Deploy")
        assert deploy.status == "Succeeded", deploy.message
        version = targets.version(stage)
        assert version != before[stage] and targets.image(stage) == pinned
        kinds = [(kind, bool(params.get("continuationToken"))) for kind, params in deploy.jobs]
        assert kinds == [("success", True), ("success", False)], kinds
        expected = {"LAMBDA_VERSION": version, "LAMBDA_IMAGE": pinned}
        assert deploy.jobs[-1][1]["outputVariables"] == expected
        assert deploy.variables == expected
        assert record.get((stage, pinned)) == digest, "the tag moved before the function was updated"


def tag_when_updated(pipeline, ecr):
    """A pass-through fault recording, per (stage, ImageUri) sent to UpdateFunctionCode, what
    the stage's tag held then."""
    seen = {}

    def update(params):
        execution, stage = pipeline.current
        seen[(stage, params["ImageUri"])] = ecr.digest(stage)
        return None

    pipeline.faults[("lambda", "UpdateFunctionCode")] = update
    return seen


def report_time(label, executions):
    seconds = sum(e.seconds for e in executions)
    print(f"\n[pipeline simulation] {label}: {len(executions)} executions, {seconds:.1f} s simulated run time")


# ------------------------------------------------------------------------------------------------
# The buildspec on its own
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", [None, "connection-trigger", "inspector-gate", "all-options"])
def test_buildspec_parses_as_codebuild_reads_it_and_is_shellcheck_clean(config):
    buildspec = synth(config)["Resources"]["BuildProject"]["Properties"]["Source"]["BuildSpec"]
    sim.parse_buildspec(buildspec)  # raises on a command YAML reads as a mapping (YAML_FILE_ERROR)
    findings = sim.shellcheck(buildspec)  # {phase: findings}, every phase with commands
    count = sum(len(f) for f in findings.values())
    print(f"\n[shellcheck] {config or 'default'}: {count} findings in phases {sorted(findings)}")
    assert findings and count == 0, findings


def test_the_emulator_rejects_what_codebuild_rejects(endpoint, tmp_path):
    """The two CodeBuild rules this test relies on, on a buildspec made to break them."""
    source = tmp_path / "src"
    source.mkdir()
    colon = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo No commit id: abc\n"
    result = sim.run_codebuild(colon, {}, source, endpoint, tmp_path)
    assert not result.succeeded and "found subkeys instead" in result.error
    stops = (
        "version: 0.2\nenv:\n  exported-variables: [A]\nphases:\n  pre_build:\n    on-failure: ABORT\n    commands:\n"
        "      - A=1\n      - 'false'\n      - A=2\n  build:\n    commands:\n      - A=3\n"
    )
    result = sim.run_codebuild(stops, {}, source, endpoint, tmp_path)
    assert not result.succeeded
    assert result.failed == ("pre_build", 2, 1) and result.phases == {"pre_build": "FAILED"}
    assert result.exported == {"A": "1"}  # one shell: A=1 persisted; A=2 and the build phase never ran


def test_build_without_a_commit_id_fails_before_docker(endpoint, tmp_path):
    """No COMMIT_ID and no resolved source version: the build stops in pre_build, pushes nothing."""
    template = synth()
    stack, ecr, github, pipeline = deploy(template, endpoint, tmp_path, "example-org/example-app")
    project = stack.resolve(template["Resources"]["BuildProject"]["Properties"])
    environment = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
    source = tmp_path / "checkout"
    github.checkout(github.push("main", "x")[0], source)
    result = sim.run_codebuild(
        project["Source"]["BuildSpec"],
        {**environment, "COMMIT_ID": "", "CODEBUILD_RESOLVED_SOURCE_VERSION": ""},
        source,
        endpoint,
        tmp_path,
    )
    assert not result.succeeded
    assert result.failed == ("pre_build", 2, 1), result.summary()
    assert "No commit id to tag the image with" in result.log
    assert "build" not in result.phases and result.docker == []
    assert ecr.images() == []


# ------------------------------------------------------------------------------------------------
# Default configuration: webhook trigger, basic scan gate, dev -> staging -> (approval) production
# ------------------------------------------------------------------------------------------------

STAGES = ["dev", "staging", "production"]


def test_default_pipeline_webhook_trigger_basic_gate(endpoint, tmp_path):
    template = synth()
    stack, ecr, github, pipeline = deploy(template, endpoint, tmp_path, "example-org/example-app")
    webhook = sim.Webhook(stack, endpoint, pipeline)

    def push(branch, message, **kwargs):
        """A push to GitHub: CodePipeline's own detection, then the webhook delivery."""
        commit, before = github.push(branch, message, **kwargs)
        assert pipeline.push(commit) == [], "the Source action must not start executions itself (DetectChanges)"
        response, started = webhook.deliver(
            sim.github_push_delivery(github, commit, before, webhook.secret, deleted=kwargs.get("deleted", False))
        )
        assert response["statusCode"] == 200, response
        return commit, started

    # Run 1: the push starts exactly one execution, which promotes the built digest everywhere.
    c1, started = push("main", "first release")
    assert len(started) == 1
    run1 = started[0]
    assert run1.status == "Succeeded", run1.failure()
    assert run1.namespaces["SourceVariables"]["CommitId"] == c1.id
    d1 = assert_built(run1, ecr, c1)
    build = run1.action("Build").build
    assert docker_commands(build) == ["login", "build", "push"] and all(c["exit"] == 0 for c in build.docker)
    assert build.docker[1]["argv"] == ["build", "--file", "Dockerfile", "--tag", f"{ecr.uri}:{c1.id}", "."]
    assert build.docker[2]["argv"] == ["push", f"{ecr.uri}:{c1.id}"]
    assert stage_tags(ecr, STAGES) == dict.fromkeys(STAGES, d1)
    # The gate waited for scan on push (continuation), then passed on the HIGH/MEDIUM findings.
    gate = run1.action("Scan")
    assert [bool(params.get("continuationToken")) for _, params in gate.jobs] == [True, False]
    assert run1.namespaces["ScanVariables"]["BLOCKING_FINDINGS"] == "0"
    approval = run1.action("Approve-production").configuration
    assert f"example-app@{d1}" in approval["CustomData"] and c1.id in approval["CustomData"]
    assert approval["ExternalEntityLink"].endswith(f"/example-app/_/image/{d1}/details?region={sim.REGION}")

    # Released again (same commit): the build reuses the image, nothing is rebuilt or pushed.
    again = pipeline.start_pipeline_execution()
    assert again.status == "Succeeded", again.failure()
    assert assert_built(again, ecr, c1) == d1
    assert docker_commands(again.action("Build").build) == ["login"]
    assert "reusing that image" in again.action("Build").build.log

    # Other branches and branch deletions start nothing (the push rule filters them).
    assert push("feature/login", "wip")[1] == []
    assert push("main", "delete main", deleted=True)[1] == []

    # Run 2: a new commit moves every stage tag to its new digest.
    c2, (run2,) = push("main", "second release")
    assert run2.status == "Succeeded", run2.failure()
    d2 = assert_built(run2, ecr, c2)
    assert d2 != d1
    assert stage_tags(ecr, STAGES) == dict.fromkeys(STAGES, d2)

    # Run 3: staging moves its tag, then its success report never reaches CodePipeline (denied on
    # every attempt): the action times out, the stage fails and rolls back to run 2's digest.
    moved_before_failing = []

    def deny_staging_report(params):
        execution, stage = pipeline.current
        if stage == "staging" and execution.kind == "Standard":
            moved_before_failing.append(ecr.digest("staging"))
            raise sim.AwsError("AccessDeniedException", "not authorized to perform codepipeline:PutJobSuccessResult")
        return None

    pipeline.faults[("codepipeline", "PutJobSuccessResult")] = deny_staging_report
    c3, (run3,) = push("main", "third release")
    pipeline.faults.clear()
    d3 = assert_built(run3, ecr, c3)
    assert run3.status == "Failed"
    assert run3.stages == {
        "Source": "Succeeded",
        "Build": "Succeeded",
        "Scan": "Succeeded",
        "dev": "Succeeded",
        "staging": "Failed",
    }
    assert "timed out" in run3.action("staging").message
    assert moved_before_failing and set(moved_before_failing) == {d3}, "the failure came after the tag moved"
    (rollback,) = run3.rollbacks
    assert rollback.status == "Succeeded", rollback.failure()
    assert d2 in rollback.action("staging").configuration["UserParameters"]
    assert stage_tags(ecr, STAGES) == {"dev": d3, "staging": d2, "production": d2}

    # Run 4: production's PutImage is denied: the function reports the failure, the stage rolls
    # back (to run 2's digest, which it still has), dev and staging keep the new image.
    def deny_production_put(params):
        execution, stage = pipeline.current
        if params.get("imageTag") == "production" and execution.kind == "Standard":
            raise sim.AwsError("AccessDeniedException", "not authorized to perform ecr:PutImage")
        return None

    pipeline.faults[("ecr", "PutImage")] = deny_production_put
    c4, (run4,) = push("main", "fourth release")
    pipeline.faults.clear()
    d4 = assert_built(run4, ecr, c4)
    assert run4.status == "Failed" and run4.stages["production"] == "Failed"
    assert "AccessDeniedException" in run4.action("production").message
    assert [r.status for r in run4.rollbacks] == ["Succeeded"]
    assert stage_tags(ecr, STAGES) == {"dev": d4, "staging": d4, "production": d2}

    # Run 5: the scan finds a CRITICAL vulnerability: the gate blocks, no stage tag moves.
    c5, _ = github.push("main", "vulnerable release")
    ecr.findings[c5.id] = [("CVE-2026-9999", "CRITICAL"), ("CVE-2025-0001", "HIGH")]
    response, (run5,) = webhook.deliver(sim.github_push_delivery(github, c5, c4.id, webhook.secret))
    assert_built(run5, ecr, c5)
    assert run5.status == "Failed" and run5.stages["Scan"] == "Failed" and run5.rollbacks == []
    assert "CVE-2026-9999" in run5.action("Scan").message and "blocked" in run5.action("Scan").message
    assert stage_tags(ecr, STAGES) == {"dev": d4, "staging": d4, "production": d2}

    report_time("default (webhook, basic gate)", pipeline.executions)


# ------------------------------------------------------------------------------------------------
# Native trigger with file-path filters (tests/configs/connection-trigger.toml)
# ------------------------------------------------------------------------------------------------


def test_connection_trigger_starts_on_filtered_pushes(endpoint, tmp_path):
    template = synth("connection-trigger")
    assert "PushRule" not in template["Resources"] and "WebhookFunction" not in template["Resources"]
    stack, ecr, github, pipeline = deploy(template, endpoint, tmp_path, "acme/orders")

    assert pipeline.push(github.push("trunk", "docs only", changes={"docs/guide.md": "# new\n"})[0]) == []
    assert pipeline.push(github.push("main", "other branch", changes={"src/app.py": "VERSION = 9\n"})[0]) == []

    c1, _ = github.push("trunk", "feature", changes={"src/app.py": "VERSION = 2\n"})
    (run1,) = pipeline.push(c1)
    assert run1.status == "Succeeded", run1.failure()
    assert run1.namespaces["SourceVariables"]["CommitId"] == c1.id  # the pushed commit
    d1 = assert_built(run1, ecr, c1)
    assert stage_tags(ecr, STAGES) == dict.fromkeys(STAGES, d1)

    c2, _ = github.push("trunk", "new base image", changes={"Dockerfile": DOCKERFILE.replace("3.13", "3.14")})
    (run2,) = pipeline.push(c2)
    assert run2.status == "Succeeded", run2.failure()
    d2 = assert_built(run2, ecr, c2)
    assert d2 != d1 and stage_tags(ecr, STAGES) == dict.fromkeys(STAGES, d2)

    # A commit that removes the Dockerfile: docker build fails, nothing is pushed or promoted.
    c3, _ = github.push("trunk", "oops", changes={"Dockerfile": None, "src/app.py": "VERSION = 3\n"})
    (run3,) = pipeline.push(c3)
    assert run3.status == "Failed" and run3.stages["Build"] == "Failed"
    build = run3.action("Build").build
    assert build.failed[0] == "build" and docker_commands(build) == ["login", "build"]
    assert "failed to read dockerfile" in build.log
    assert ecr.digest(c3.id) is None and stage_tags(ecr, STAGES) == dict.fromkeys(STAGES, d2)

    report_time("connection trigger", pipeline.executions)


# ------------------------------------------------------------------------------------------------
# Amazon Inspector gate (tests/configs/inspector-gate.toml)
# ------------------------------------------------------------------------------------------------


def test_inspector_gate_scans_the_built_tag(endpoint, tmp_path):
    template = synth("inspector-gate")
    stack, ecr, github, pipeline = deploy(template, endpoint, tmp_path, "acme/inventory")

    c1, _ = github.push("main", "first")
    pipeline.inspector_findings[c1.id] = {"CRITICAL": 5, "MEDIUM": 2}  # at the thresholds: passes
    (run1,) = pipeline.push(c1)
    assert run1.status == "Succeeded", run1.failure()
    d1 = assert_built(run1, ecr, c1)
    scan = run1.action("Scan")
    assert scan.provider == "InspectorScan"
    assert scan.configuration["ImageTag"] == c1.id and scan.configuration["ECRRepositoryName"] == ecr.name
    assert run1.namespaces["ScanVariables"] == {"HighestScannedSeverity": "critical"}
    assert stage_tags(ecr, STAGES) == dict.fromkeys(STAGES, d1)

    c2, _ = github.push("main", "second")
    pipeline.inspector_findings[c2.id] = {"HIGH": 6}
    (run2,) = pipeline.push(c2)
    assert_built(run2, ecr, c2)
    assert run2.status == "Failed" and run2.stages["Scan"] == "Failed"
    assert "6 high (threshold 5)" in run2.action("Scan").message
    assert stage_tags(ecr, STAGES) == dict.fromkeys(STAGES, d1)

    report_time("inspector gate", pipeline.executions)


# ------------------------------------------------------------------------------------------------
# Every option (tests/configs/all-options.toml)
# ------------------------------------------------------------------------------------------------


def test_all_options_pipeline(endpoint, tmp_path):
    template = synth("all-options")
    files = {"docker/api.Dockerfile": DOCKERFILE, "services/api/main.py": "print('api')\n", "README.md": "# api\n"}
    stack, ecr, github, pipeline = deploy(template, endpoint, tmp_path, "acme-corp/orders.api_v2", files)
    webhook = sim.Webhook(stack, endpoint, pipeline)
    stages = ["dev", "qa", "staging", "production"]
    targets = EcsTargets(endpoint, "all-options")
    assert list(targets.targets) == ["production"]
    initial = {stage: targets.definition(stage) for stage in targets.targets}
    registered = tag_when_registered(pipeline, ecr, targets)
    functions = LambdaTargets(endpoint, "all-options")
    assert list(functions.targets) == ["staging"]
    assert functions.images() == {"staging": INITIAL_FUNCTION_IMAGE}
    versions = {stage: functions.version(stage) for stage in functions.targets}
    updated = tag_when_updated(pipeline, ecr)

    other, before = github.push("main", "not the configured branch")
    assert webhook.deliver(sim.github_push_delivery(github, other, before, webhook.secret))[1] == []

    c1, _ = github.push("release/2026", "first")
    # HIGH and above count; CVE-2024-12345 is ignored by config; 3 are allowed.
    ecr.findings[c1.id] = [
        ("CVE-2026-0001", "HIGH"),
        ("CVE-2026-0002", "HIGH"),
        ("CVE-2026-0003", "CRITICAL"),
        ("CVE-2024-12345", "CRITICAL"),
        ("CVE-2026-0004", "MEDIUM"),
    ]
    _, (run1,) = webhook.deliver(sim.github_push_delivery(github, c1, "0" * 40, webhook.secret))
    assert run1.status == "Succeeded", run1.failure()
    d1 = assert_built(run1, ecr, c1)
    build = run1.action("Build").build
    assert build.docker[1]["argv"] == [
        "build",
        "--file",
        "docker/api.Dockerfile",
        "--tag",
        f"{ecr.uri}:{c1.id}",
        "services/api",
    ]
    assert run1.namespaces["ScanVariables"]["BLOCKING_FINDINGS"] == "3"
    assert [a.stage for a in run1.actions if a.provider == "Manual"] == ["Approve-qa", "Approve-production"]
    assert stage_tags(ecr, stages) == dict.fromkeys(stages, d1)
    assert_deployed(run1, targets, ecr, d1, initial, registered)
    assert_function_deployed(run1, functions, ecr, d1, versions, updated)

    c2, _ = github.push("release/2026", "second")
    ecr.findings[c2.id] = [(f"CVE-2026-01{i}", "HIGH") for i in range(4)]
    _, (run2,) = webhook.deliver(sim.github_push_delivery(github, c2, c1.id, webhook.secret))
    assert_built(run2, ecr, c2)
    assert run2.status == "Failed" and run2.stages["Scan"] == "Failed"
    assert all(f"CVE-2026-01{i}" in run2.action("Scan").message for i in range(4))
    assert stage_tags(ecr, stages) == dict.fromkeys(stages, d1)
    assert targets.images() == {"production": f"{ecr.uri}@{d1}"}  # the gate blocked: nothing deployed
    assert functions.images() == {"staging": f"{ecr.uri}@{d1}"}

    # Run 3: Lambda fails staging's update of the function: the stage fails (the alias still on
    # run 1's version) and rolls back with run 1's variables: tag back to d1, and the function
    # updated to d1 again, published, its alias moved to that version. Production never ran.
    versions = {stage: functions.version(stage) for stage in functions.targets}
    pipeline.lambdas.fail["orders-api-staging"] = "The image manifest is not supported."
    aliased_at_failure = []  # the alias's version when the failure was reported
    pipeline.faults[("codepipeline", "PutJobFailureResult")] = lambda params: aliased_at_failure.append(
        functions.version("staging")
    )
    c3, _ = github.push("release/2026", "third")
    _, (run3,) = webhook.deliver(sim.github_push_delivery(github, c3, c2.id, webhook.secret))
    del pipeline.faults[("codepipeline", "PutJobFailureResult")]
    assert aliased_at_failure == [versions["staging"]]
    d3 = assert_built(run3, ecr, c3)
    assert pipeline.lambdas.fail == {}, "the staging update never ran"
    assert run3.status == "Failed" and run3.stages["staging"] == "Failed" and "production" not in run3.stages
    failed = run3.action("staging", "Deploy")
    assert [kind for kind, _ in failed.jobs] == ["success", "failure"], failed.jobs
    assert "The image manifest is not supported" in failed.message and "InvalidImage" in failed.message
    assert "rolls back to the previous digest" in failed.message, failed.message
    assert updated[("staging", f"{ecr.uri}@{d3}")] == d3  # it had moved the tag first
    (rollback,) = run3.rollbacks
    assert rollback.status == "Succeeded", rollback.failure()
    assert d1 in rollback.action("staging", "Deploy").configuration["UserParameters"]
    assert stage_tags(ecr, stages) == {"dev": d3, "qa": d3, "staging": d1, "production": d1}
    assert_function_deployed(rollback, functions, ecr, d1, versions, updated)
    assert targets.images() == {"production": f"{ecr.uri}@{d1}"}

    report_time("all options", pipeline.executions)


# ------------------------------------------------------------------------------------------------
# Stages that deploy to ECS (tests/configs/ecs-deploy.toml)
# ------------------------------------------------------------------------------------------------


def test_ecs_deploy_stages_run_the_promoted_digest(endpoint, tmp_path):
    template = synth("ecs-deploy")
    stack, ecr, github, pipeline = deploy(template, endpoint, tmp_path, "acme/orders")
    targets = EcsTargets(endpoint, "ecs-deploy")
    assert sorted(targets.targets) == ["production", "staging"]
    registered = tag_when_registered(pipeline, ecr, targets)
    stages = ["dev", "staging", "production"]

    # Run 1: each target service moves from the initial image to the built digest, after its tag.
    before = {stage: targets.definition(stage) for stage in targets.targets}
    assert targets.images() == dict.fromkeys(targets.targets, INITIAL_IMAGE)
    c1, _ = github.push("main", "first release")
    run1 = pipeline.start_pipeline_execution()
    assert run1.status == "Succeeded", run1.failure()
    d1 = assert_built(run1, ecr, c1)
    assert stage_tags(ecr, stages) == dict.fromkeys(stages, d1)
    assert_deployed(run1, targets, ecr, d1, before, registered)
    assert [a.action for a in run1.actions if a.stage == "dev"] == ["Promote"]  # no target: no Deploy

    # Run 2: a new commit, a new revision of each service, again differing only in the image.
    before = {stage: targets.definition(stage) for stage in targets.targets}
    c2, _ = github.push("main", "second release")
    run2 = pipeline.start_pipeline_execution()
    assert run2.status == "Succeeded", run2.failure()
    d2 = assert_built(run2, ecr, c2)
    assert d2 != d1 and stage_tags(ecr, stages) == dict.fromkeys(stages, d2)
    assert_deployed(run2, targets, ecr, d2, before, registered)

    # Run 3: production's ECS deployment fails (circuit breaker, no ECS rollback: the service
    # stays on the failed revision). The stage fails and rolls back with run 2's variables: the
    # tag moves back to d2 and a revision running d2 is deployed; staging keeps d3.
    before = {stage: targets.definition(stage) for stage in targets.targets}
    pipeline.ecs.fail.add(targets.services["production"])
    c3, _ = github.push("main", "third release")
    run3 = pipeline.start_pipeline_execution()
    d3 = assert_built(run3, ecr, c3)
    assert pipeline.ecs.fail == set(), "the production deployment never ran"
    assert run3.status == "Failed" and run3.stages["production"] == "Failed"
    assert run3.stages["staging"] == "Succeeded"
    failed = run3.action("production", "Deploy")
    assert "failed" in failed.message and "circuit breaker" in failed.message, failed.message
    assert "rolls back to the previous digest" in failed.message
    assert [kind for kind, _ in failed.jobs] == ["success", "success", "failure"]
    failed_revision = failed.jobs[1][1]["continuationToken"]
    assert registered[json.loads(failed_revision)["taskDefinition"]] == d3  # it had moved the tag first
    (rollback,) = run3.rollbacks
    assert rollback.status == "Succeeded", rollback.failure()
    assert d2 in rollback.action("production", "Deploy").configuration["UserParameters"]
    assert stage_tags(ecr, stages) == {"dev": d3, "staging": d3, "production": d2}
    assert targets.images() == {"staging": f"{ecr.uri}@{d3}", "production": f"{ecr.uri}@{d2}"}
    rollback_targets = types.SimpleNamespace(targets={"production": targets.targets["production"]})
    rollback_targets.definition, rollback_targets.image = targets.definition, targets.image
    assert_deployed(rollback, rollback_targets, ecr, d2, before, registered)

    report_time("ECS deploy targets", pipeline.executions)
