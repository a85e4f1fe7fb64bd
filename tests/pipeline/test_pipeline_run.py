"""The synthesized pipeline, executed the way AWS would run it (pipeline_sim.py says how and from
which AWS documentation), against a moto_server: the buildspec in bash with the real AWS CLI and
a docker stand-in, the inline Lambda code with CodePipeline job events, variables, triggers,
the scan gate and stage rollbacks. Everything is read from `shipline synth` output only.

Per configuration (default: webhook trigger + basic scan gate; connection trigger with file
filters; Inspector gate; every option): run 1 promotes the built digest to every stage tag,
run 2 moves them all, a stage that fails after moving its tag is rolled back to the previous
digest, and the gate blocks an image with findings at the configured severity.
"""

import json
import os
import pathlib
import subprocess
import sys

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

    c2, _ = github.push("release/2026", "second")
    ecr.findings[c2.id] = [(f"CVE-2026-01{i}", "HIGH") for i in range(4)]
    _, (run2,) = webhook.deliver(sim.github_push_delivery(github, c2, c1.id, webhook.secret))
    assert_built(run2, ecr, c2)
    assert run2.status == "Failed" and run2.stages["Scan"] == "Failed"
    assert all(f"CVE-2026-01{i}" in run2.action("Scan").message for i in range(4))
    assert stage_tags(ecr, stages) == dict.fromkeys(stages, d1)

    report_time("all options", pipeline.executions)
