"""Runs a synthesized shipline pipeline locally the way AWS would, from the template text alone.

cfn-lint checks the template's shape; this executes what the template carries: the inline
buildspec in bash with the real AWS CLI, the inline Lambda code with CodePipeline job events,
CodePipeline's stage walk with its variables and rollbacks, and EventBridge's rule matching.
Everything AWS-side that moto implements (ECR, Secrets Manager, ECS, Lambda, IAM roles) is
moto_server; the rest is emulated here, rule by rule, from the AWS documentation named at each
rule:

CodeBuild (CodeBuild User Guide: "Build specification reference for CodeBuild", "Build phase
transitions", "Environment variables in build environments"):
  - The buildspec is parsed as YAML (version 0.2). Every command must be a string: a mapping (an
    unquoted `key: value`) fails the build with YAML_FILE_ERROR "found subkeys instead".
  - All commands of all phases run in ONE bash process (0.2: "all commands run in the same
    instance of the default shell"), in order install, pre_build, build, post_build, from
    CODEBUILD_SRC_DIR. A command failing (non-zero status) ends its phase. Then `on-failure:
    ABORT` ends the build, `CONTINUE` goes on; without it, a failed install/pre_build ends the
    build and a failed build still runs post_build (CODEBUILD_BUILD_SUCCEEDING=0).
  - Environment: CODEBUILD_* variables, the project's EnvironmentVariables overridden by the
    pipeline action's, AWS_REGION/AWS_DEFAULT_REGION; `env.exported-variables` take their values
    as of the end of the last phase ("after post_build ends, the value cannot change").
  - artifacts.files must match at least one file ("no matching artifact paths found").
  - `docker` is a stand-in (docker_standin.py); `aws` is the real AWS CLI pointed at moto.
  Not modelled (the simulation fails loudly if the buildspec uses them): finally blocks, run-as,
  parameter-store/secrets-manager variables, reports, batch, base-directory, a command that
  exits the shell when CodeBuild would still run a later phase.

CodePipeline (CodePipeline User Guide: "Variables reference", "Working with variables",
"Action structure reference" for CodeStarSourceConnection, CodeBuild, Lambda invoke,
InspectorScan and Manual approval, "Configure stage rollback", "Add trigger with code push or
pull request event types"; Lambda Developer Guide: "Using AWS Lambda with AWS CodePipeline",
"Asynchronous invocation"):
  - Deploy-time checks: input artifacts are produced upstream; namespaces are unique; every
    `#{Namespace.Variable}` names `codepipeline` or the namespace of an upstream action.
  - Stages run in order, actions by RunOrder. Every `#{Namespace.Variable}` in an action's
    configuration is replaced by the value the upstream action produced in this execution; a
    variable that does not exist fails the action ("variables could not be resolved").
  - Source (CodeStarSourceConnection) exposes CommitId, BranchName, FullRepositoryName,
    ConnectionArn, AuthorDate, CommitMessage. Build (CodeBuild) exposes the exported variables.
    Lambda actions expose the outputVariables of PutJobSuccessResult; InspectorScan exposes
    HighestScannedSeverity. Only actions with a Namespace can be referenced.
  - Lambda invoke: the function gets a CodePipeline job event and must report with
    PutJobSuccessResult/PutJobFailureResult (recorded here; moto has no job API). A success with
    a continuationToken makes CodePipeline invoke it again with that token (a new job); the
    function is invoked asynchronously, so an error is retried twice with the same event; no
    result at all means the job times out and the action fails. outputVariables are refused
    together with a continuation token, as the API does.
  - InspectorScan (ECRImageScan) is simulated: the image <ECRRepositoryName>:<ImageTag> must
    exist in ECR; the finding counts are scripted per tag; more findings of a severity than its
    threshold fail the action. Manual approvals are approved at once (their configuration is
    still resolved, so a bad variable fails them as it would in AWS).
  - A failed stage with `OnFailure: {Result: ROLLBACK}` starts a rollback execution of that stage
    with the variables (and artifacts) of the last execution in which that stage succeeded; with
    none, no rollback. The failed execution stops at the failed stage.
  - Starting: with Triggers (V2) only a push matching a trigger's filters starts the pipeline,
    with the pushed commit ("When a trigger configuration is specified, default change detection
    ... is disabled"); without, a Source with DetectChanges true (the default) starts on every
    push to BranchName. A start by StartPipelineExecution (the EventBridge rule) fetches the head
    of BranchName.

EventBridge (EventBridge User Guide: "Event patterns", "Comparison operators"): exact matching
only: every pattern field must be present in the event and equal (type-strict, arrays match any
element) one of the listed values; content filters are not modelled (fail loudly).

ECR (ECR User Guide: "Image scanning"): moto keeps tags, digests and mutability rules. Scan on
push is emulated: the scan of a pushed image completes (with scripted findings, registered
through moto's /moto-api/static/ecr/scan-finding-results) only when time passes, i.e. between a
continuation and CodePipeline's next invocation of the gate. Before that moto answers
ScanNotFoundException, as ECR can right after a push.

ECS (ECS API Reference: UpdateService, DescribeServices `Deployment`): moto keeps clusters,
services, task definitions and which revision a service runs (EcsShim says what is added).
Each deployment completes (or, scripted, fails) only when time passes, as scans do.

Lambda (Lambda Developer Guide: "Lambda function states"; API Reference: UpdateFunctionCode,
PublishVersion): moto keeps the container-image functions stages deploy to, their code,
versions and aliases (LambdaShim says what is added). An update of $LATEST is InProgress until
time passes, then Successful (or, scripted, Failed).

Every AWS API call the Lambda code makes to a service moto lacks (CodePipeline's job results,
EventBridge PutEvents) is answered here after botocore validated it against the API model, plus
the model's length/range/pattern constraints that only the service checks.

Not simulated at all: IAM (parliament checks the policies), the CodeConnections handshake (the
connection is taken as AVAILABLE), the S3 artifact store (artifacts are local directories), ECR
lifecycle policies, SNS/KMS notifications and the notification rules, Lambda's runtime version
(the code runs under this Python), and timing (no action is slow enough to time out).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime
import hashlib
import hmac
import json
import os
import pathlib
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import types
import uuid

import boto3
import requests
import yaml
from botocore.awsrequest import AWSResponse

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
HERE = pathlib.Path(__file__).resolve().parent
VENV_BIN = pathlib.Path(sys.executable).parent


class NotModelled(Exception):
    """The template uses something this simulation does not model: extend it, do not skip."""


class ActionFailed(Exception):
    """An action failed, with the message CodePipeline would show."""


# --------------------------------------------------------------------------------------------
# CloudFormation: physical names and intrinsic functions
# --------------------------------------------------------------------------------------------


class Stack:
    """The synthesized template as deployed in the simulated account: Ref/GetAtt values."""

    def __init__(self, template, overrides=None):
        self.template = template
        self.resources = template["Resources"]
        self.overrides = dict(overrides or {})

    def ref(self, logical):
        if logical in self.overrides:
            return self.overrides[logical]
        if logical.startswith("AWS::"):
            return {
                "AWS::Region": REGION,
                "AWS::AccountId": ACCOUNT,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::StackName": "sim-stack",
            }[logical]
        resource = self.resources[logical]
        props, kind = resource.get("Properties", {}), resource["Type"]
        # What Ref returns, per the CloudFormation resource reference of each type.
        if kind == "AWS::ECR::Repository":
            return props["RepositoryName"]
        if kind == "AWS::CodeBuild::Project":
            return props["Name"]
        if kind == "AWS::Lambda::Function":
            return props["FunctionName"]
        if kind == "AWS::Events::EventBus":
            return props["Name"]
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{REGION}:{ACCOUNT}:{props['TopicName']}"
        if kind == "AWS::CodeConnections::Connection":
            return f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/{uuid.uuid5(uuid.NAMESPACE_URL, logical)}"
        if kind == "AWS::CodePipeline::Pipeline":
            return props["Name"]
        if kind == "AWS::Logs::LogGroup":
            return props.get("LogGroupName", f"sim-{logical}")
        if kind == "AWS::S3::Bucket":
            return props.get("BucketName", f"sim-{logical.lower()}")
        raise NotModelled(f"Ref {logical} ({kind}) has no simulated physical id")

    def get_att(self, logical, attribute):
        kind = self.resources[logical]["Type"]
        if kind == "AWS::ECR::Repository" and attribute == "RepositoryUri":
            return f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{self.ref(logical)}"
        if kind == "AWS::ECR::Repository" and attribute == "Arn":
            return f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{self.ref(logical)}"
        if kind == "AWS::Lambda::Function" and attribute == "Arn":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.ref(logical)}"
        if kind == "AWS::IAM::Role" and attribute == "Arn":
            return f"arn:aws:iam::{ACCOUNT}:role/sim-{logical}"
        raise NotModelled(f"Fn::GetAtt {logical}.{attribute}")

    def resolve(self, value):
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical, attribute)
            if key == "Fn::Sub":
                text, names = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

                def sub(match):
                    name = match.group(1)
                    if name in names:
                        return str(names[name])
                    if "." in name:
                        return str(self.get_att(*name.split(".", 1)))
                    return str(self.ref(name))

                return re.sub(r"\$\{([^}!][^}]*)\}", sub, text).replace("${!", "${")
            if key == "Fn::Join":
                return arg[0].join(str(self.resolve(v)) for v in arg[1])
            if key.startswith("Fn::"):
                raise NotModelled(key)
        return {k: self.resolve(v) for k, v in value.items()}

    def by_type(self, kind):
        return {k: r for k, r in self.resources.items() if r["Type"] == kind}

    def find(self, kind, **properties):
        """The logical id of the one resource of `kind` whose resolved properties match."""
        found = [
            k
            for k, r in self.by_type(kind).items()
            if all(self.resolve(r["Properties"].get(p)) == v for p, v in properties.items())
        ]
        return found[0] if len(found) == 1 else None


# --------------------------------------------------------------------------------------------
# ECR as moto holds it, plus what ECR does by itself (scan on push)
# --------------------------------------------------------------------------------------------


def aws_client(endpoint, service):
    return boto3.client(
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


class Ecr:
    """The image repository, created in moto from the template's ImageRepository properties."""

    def __init__(self, endpoint, stack, logical="ImageRepository"):
        self.endpoint = endpoint
        self.client = aws_client(endpoint, "ecr")
        props = stack.resolve(stack.resources[logical]["Properties"])
        self.name = props["RepositoryName"]
        self.uri = stack.get_att(logical, "RepositoryUri")
        self.scan_on_push = props.get("ImageScanningConfiguration", {}).get("ScanOnPush", False)
        request = {
            "repositoryName": self.name,
            "imageTagMutability": props.get("ImageTagMutability", "MUTABLE"),
            "imageScanningConfiguration": {"scanOnPush": self.scan_on_push},
        }
        filters = props.get("ImageTagMutabilityExclusionFilters")
        if filters:
            request["imageTagMutabilityExclusionFilters"] = [
                {
                    "filterType": f["ImageTagMutabilityExclusionFilterType"],
                    "filter": f["ImageTagMutabilityExclusionFilterValue"],
                }
                for f in filters
            ]
        created = self.client.create_repository(**request)["repository"]
        if created["repositoryUri"] != self.uri:
            raise NotModelled(f"moto's repository URI {created['repositoryUri']} is not the simulated {self.uri}")
        self.findings = {}  # image tag -> [(id, severity)] the scan of that image will report
        self.default_findings = [("CVE-2025-0001", "HIGH"), ("CVE-2025-0002", "MEDIUM")]
        self.scanned = set()

    def digest(self, tag):
        """The digest `tag` points at in ECR, or None."""
        try:
            return self.client.describe_images(repositoryName=self.name, imageIds=[{"imageTag": tag}])["imageDetails"][
                0
            ]["imageDigest"]
        except self.client.exceptions.ImageNotFoundException:
            return None

    def images(self):
        pages = self.client.get_paginator("describe_images").paginate(repositoryName=self.name)
        return [d for page in pages for d in page["imageDetails"]]

    def time_passes(self):
        """Scan on push: every pushed image not scanned yet gets its (scripted) scan result."""
        if not self.scan_on_push:
            return
        for image in self.images():
            digest = image["imageDigest"]
            if digest in self.scanned:
                continue
            self.scanned.add(digest)
            tags = image.get("imageTags", [])
            found = next((self.findings[t] for t in tags if t in self.findings), self.default_findings)
            counts = {}
            for _, severity in found:
                counts[severity] = counts.get(severity, 0) + 1
            result = {
                "registryId": ACCOUNT,
                "repositoryName": self.name,
                "imageId": {"imageDigest": digest},
                "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
                "imageScanFindings": {
                    "findings": [
                        {"name": fid, "severity": sev, "uri": f"https://nvd.nist.gov/vuln/detail/{fid}"}
                        for fid, sev in found
                    ],
                    "findingSeverityCounts": counts,
                },
            }
            response = requests.post(
                f"{self.endpoint}/moto-api/static/ecr/scan-finding-results",
                json={"results": [result], "region": REGION},
                timeout=10,
            )
            response.raise_for_status()
            self.client.start_image_scan(repositoryName=self.name, imageId={"imageDigest": digest})


# --------------------------------------------------------------------------------------------
# CodeBuild
# --------------------------------------------------------------------------------------------

PHASES = ("install", "pre_build", "build", "post_build")


class BuildspecError(Exception):
    """CodeBuild refuses the buildspec (YAML_FILE_ERROR): the build fails before any phase."""


def parse_buildspec(text):
    """The buildspec as CodeBuild reads it, or BuildspecError with CodeBuild's complaint."""
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise BuildspecError(f"YAML_FILE_ERROR: {err}") from None
    if not isinstance(spec, dict) or str(spec.get("version")) != "0.2":
        raise BuildspecError("YAML_FILE_ERROR: the buildspec must be a mapping with version 0.2")
    unknown = set(spec) - {"version", "env", "phases", "artifacts"}
    if unknown:
        raise NotModelled(f"buildspec sections {sorted(unknown)}")
    env = spec.get("env") or {}
    if set(env) - {"shell", "variables", "exported-variables"}:
        raise NotModelled(f"buildspec env keys {sorted(set(env) - {'shell', 'variables', 'exported-variables'})}")
    if env.get("shell", "bash") != "bash":
        raise NotModelled(f"env.shell {env.get('shell')!r} (only bash)")
    for name in env.get("exported-variables") or []:
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise BuildspecError(f"YAML_FILE_ERROR: invalid exported variable {name!r}")
    for name, value in (env.get("variables") or {}).items():
        if not isinstance(value, str):
            raise BuildspecError(f"YAML_FILE_ERROR: Expected Variables[{name}] to be of string type")
    phases = spec.get("phases") or {}
    if set(phases) - set(PHASES):
        raise BuildspecError(f"YAML_FILE_ERROR: unknown phases {sorted(set(phases) - set(PHASES))}")
    for phase_name, phase in phases.items():
        if not isinstance(phase, dict):
            raise BuildspecError(f"YAML_FILE_ERROR: phase {phase_name} must be a mapping")
        if set(phase) - {"commands", "on-failure"}:
            raise NotModelled(f"phase {phase_name} keys {sorted(set(phase) - {'commands', 'on-failure'})}")
        if phase.get("on-failure", "ABORT") not in ("ABORT", "CONTINUE"):
            raise NotModelled(f"on-failure {phase['on-failure']!r}")
        for index, command in enumerate(phase.get("commands") or []):
            if isinstance(command, dict):
                raise BuildspecError(
                    f"YAML_FILE_ERROR: Expected Commands[{index}] to be of string type: found subkeys "
                    f"instead (phase {phase_name}: {command!r})"
                )
            if not isinstance(command, str):
                raise BuildspecError(
                    f"YAML_FILE_ERROR: Expected Commands[{index}] to be of string type (phase {phase_name})"
                )
    artifacts = spec.get("artifacts") or {}
    if set(artifacts) - {"files", "name"}:
        raise NotModelled(f"artifacts keys {sorted(set(artifacts) - {'files', 'name'})}")
    return spec


def phase_commands(spec):
    """[(phase, [commands])] in execution order, phases without commands left out."""
    return [(p, spec["phases"][p]["commands"]) for p in PHASES if (spec.get("phases") or {}).get(p, {}).get("commands")]


def continues_after_failure(spec, phase):
    """Whether CodeBuild goes on to the next phase after `phase` failed ("Build phase transitions")."""
    policy = spec["phases"][phase].get("on-failure")
    if policy:
        return policy == "CONTINUE"
    return phase == "build"  # post_build still runs after a failed build phase


def build_script(spec):
    """One bash script running every phase's commands in order, each followed by a status check."""
    out = [
        "__cb_phase=none; __cb_command=0",
        '__cb_note() { printf \'%s %s %s %s\\n\' "$1" "$2" "$3" "$4" >> "$__CB_STATUS"; }',
        'trap \'__cb_note EXIT "$__cb_phase" "$__cb_command" "$?"\' EXIT',
        'cd "$CODEBUILD_SRC_DIR" || exit 1',
    ]
    exported = (spec.get("env") or {}).get("exported-variables") or []
    finish = ["__cb_finish() {"]
    finish += [
        f'  if [ -n "${{{n}+set}}" ]; then printf \'%s=%s\\0\' {n} "${{{n}}}" >> "$__CB_EXPORTS"; fi' for n in exported
    ]
    finish += ["  trap - EXIT", "  exit 0", "}"]
    out += finish
    for phase, commands in phase_commands(spec):
        out.append(f"__cb_run_{phase}() {{")
        for number, command in enumerate(commands, 1):
            quoted = shlex.quote(command)
            out.append(f"__cb_phase={phase}; __cb_command={number}")
            out.append(f"printf '[Container] Running command %s\\n' {quoted} >&2")
            out.append(command.rstrip("\n"))
            out.append(
                f'__cb_s=$?; if [ "$__cb_s" -ne 0 ]; then printf \'[Container] Command did not exit successfully %s '
                f'exit status %s\\n\' {quoted} "$__cb_s" >&2; return "$__cb_s"; fi'
            )
        out.append("return 0")
        out.append("}")
    for phase, _ in phase_commands(spec):
        out.append(f'__cb_run_{phase}; __cb_s=$?; __cb_note PHASE {phase} "$__cb_command" "$__cb_s"')
        on_failure = "CODEBUILD_BUILD_SUCCEEDING=0" + ("" if continues_after_failure(spec, phase) else "; __cb_finish")
        out.append(f'if [ "$__cb_s" -ne 0 ]; then {on_failure}; fi')
    out.append("__cb_finish")
    return "\n".join(out) + "\n"


@dataclasses.dataclass
class BuildResult:
    succeeded: bool
    phases: dict  # phase -> "SUCCEEDED" | "FAILED"
    failed: tuple | None  # (phase, command number, exit status) of the command that failed
    exported: dict
    artifacts: dict  # relative path -> bytes
    log: str
    docker: list  # the docker stand-in's invocations [{argv, cwd, exit}]
    error: str = ""

    def summary(self):
        return f"{self.error or ''} failed={self.failed} phases={self.phases}\n{self.log}"


def run_codebuild(buildspec_text, environment, source_dir, endpoint, workdir):
    """Runs one build of `buildspec_text` on a copy of `source_dir`, like a fresh CodeBuild container."""
    try:
        spec = parse_buildspec(buildspec_text)
    except BuildspecError as err:
        return BuildResult(False, {}, None, {}, {}, "", [], error=str(err))
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="codebuild-", dir=workdir))
    src = workdir / "src"
    shutil.copytree(source_dir, src)
    status, exports, docker_log = workdir / "status", workdir / "exports", workdir / "docker.log"
    home = workdir / "home"
    home.mkdir()
    env = {
        "PATH": f"{HERE / 'standin'}:{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "CODEBUILD_SRC_DIR": str(src),
        "CODEBUILD_BUILD_SUCCEEDING": "1",
        "DOCKER_STANDIN_PYTHON": sys.executable,
        "DOCKER_STANDIN_STATE": str(workdir / "docker"),
        "DOCKER_STANDIN_LOG": str(docker_log),
        "__CB_STATUS": str(status),
        "__CB_EXPORTS": str(exports),
    }
    env.update((spec.get("env") or {}).get("variables") or {})  # lowest precedence
    env.update(environment)
    process = subprocess.run(
        ["bash", "-c", build_script(spec)],
        env=env,
        cwd=src,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    log = process.stdout + process.stderr
    phases, failed, ended_early = {}, None, None
    for line in status.read_text().splitlines() if status.exists() else []:
        kind, phase, number, code = line.split(" ")
        if kind == "PHASE":
            phases[phase] = "SUCCEEDED" if code == "0" else "FAILED"
            if code != "0" and failed is None:
                failed = (phase, int(number), int(code))
        else:  # EXIT: a command ended the shell itself
            ended_early = (phase, int(number), int(code))
    if ended_early:
        phase, number, code = ended_early
        ran = [p for p, _ in phase_commands(spec)]
        later = ran[ran.index(phase) + 1 :] if phase in ran else []
        if code == 0 or (later and continues_after_failure(spec, phase)):
            raise NotModelled(f"command {number} of {phase} exited the shell (status {code}); CodeBuild would go on")
        phases[phase] = "FAILED"
        failed = failed or ended_early
    exported = {}
    if exports.exists():
        for item in exports.read_bytes().split(b"\0"):
            if item:
                name, _, value = item.decode().partition("=")
                exported[name] = value
    artifacts, error = {}, ""
    for pattern in (spec.get("artifacts") or {}).get("files") or []:
        matches = [p for p in src.glob(pattern) if p.is_file()]
        if not matches:
            error = f"CLIENT_ERROR: no matching artifact paths found ({pattern})"
        for path in matches:
            artifacts[str(path.relative_to(src))] = path.read_bytes()
    docker = [json.loads(line) for line in docker_log.read_text().splitlines()] if docker_log.exists() else []
    succeeded = (
        not failed
        and not error
        and all(s == "SUCCEEDED" for s in phases.values())
        and len(phases) == len(phase_commands(spec))
    )
    return BuildResult(succeeded, phases, failed, exported, artifacts, log, docker, error)


def shellcheck(buildspec_text):
    """shellcheck findings ("file:line:col: level: message [SCxxxx]") per phase, as bash scripts."""
    spec = parse_buildspec(buildspec_text)
    findings = {}
    for phase, commands in phase_commands(spec):
        script = "#!/bin/bash\n" + "\n".join(c.rstrip("\n") for c in commands) + "\n"
        result = subprocess.run(
            [str(VENV_BIN / "shellcheck"), "--shell=bash", "--format=gcc", "-"],
            input=script,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode not in (0, 1):
            raise RuntimeError(f"shellcheck failed: {result.stderr}")
        findings[phase] = [line for line in result.stdout.splitlines() if line.strip()]
    return findings


# --------------------------------------------------------------------------------------------
# Lambda: the inline code, invoked in this process with its environment and AWS at moto
# --------------------------------------------------------------------------------------------


class AwsError(Exception):
    def __init__(self, code, message, status=400):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


def check_constraints(shape, value, path):
    """The length, range and pattern constraints of the API model, which the service enforces
    (ValidationException) but botocore does not check on the client side."""
    meta = shape.metadata
    if shape.type_name == "string" and isinstance(value, str):
        if len(value) < meta.get("min", 0) or len(value) > meta.get("max", len(value)):
            raise AwsError(
                "ValidationException", f"{path}: length {len(value)} outside [{meta.get('min', 0)}, {meta.get('max')}]"
            )
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            raise AwsError("ValidationException", f"{path}: {value!r} does not match {meta['pattern']}")
    elif shape.type_name == "integer" and isinstance(value, int):
        if value < meta.get("min", value) or value > meta.get("max", value):
            raise AwsError("ValidationException", f"{path}: {value} out of range")
    elif shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                check_constraints(member, value[name], f"{path}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for item in value:
            check_constraints(shape.member, item, f"{path}[]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for k, v in value.items():
            check_constraints(shape.key, k, f"{path} key")
            check_constraints(shape.value, v, f"{path}.{k}")


class Function:
    """One deployed function (a warm container): its module, environment and AWS session.

    Calls to services moto lacks are answered by `services`, injected failures by `faults` (a
    dict the owner may change between invocations), both {(service, Operation): callable(params)
    -> response dict, or None to pass the call on}; a callable raising AwsError makes the SDK
    raise that ClientError. Faults are asked first; a call nobody answers goes to moto. botocore
    checks the parameters against the API model before they arrive here."""

    def __init__(self, stack, logical, endpoint, services, faults=None):
        raw = stack.resources[logical]["Properties"]
        props = stack.resolve(
            {k: raw[k] for k in ("FunctionName", "Handler", "Runtime", "Timeout", "Environment", "Code") if k in raw}
        )
        if not props.get("Runtime", "").startswith("python3"):
            raise NotModelled(f"{logical} runtime {props.get('Runtime')}")
        module_name, _, handler = props["Handler"].rpartition(".")
        if module_name != "index" or "ZipFile" not in props["Code"]:
            raise NotModelled(f"{logical}: only inline code (index.<handler>) is simulated")
        self.name = props["FunctionName"]
        self.timeout = props.get("Timeout", 3)
        self.environment = {k: str(v) for k, v in (props.get("Environment") or {}).get("Variables", {}).items()}
        self.endpoint = endpoint
        self.services, self.faults = services, faults if faults is not None else {}
        self.calls = []  # (service, operation, params) of every answered call
        with self.environment_of_the_function():
            self.session = boto3.session.Session()
            self.session.events.register("before-parameter-build", self._remember_params)
            self.session.events.register("before-call", self._answer)
            self.module = types.ModuleType("index")
            exec(compile(props["Code"]["ZipFile"], f"<{logical} ZipFile>", "exec"), self.module.__dict__)
        self.handler = getattr(self.module, handler)

    @staticmethod
    def _remember_params(params, context, **_):
        context["sim_params"] = copy.deepcopy(params)

    def _answer(self, model, context, **_):
        key = (model.service_model.service_name, model.name)
        params = context.get("sim_params", {})
        for answer in (self.faults.get(key), self.services.get(key)):
            if answer is None:
                continue
            try:
                check_constraints(model.input_shape, params, model.name)
                parsed = answer(params)
            except AwsError as err:
                self.calls.append((*key, params, err.code))
                parsed = {
                    "Error": {"Code": err.code, "Message": err.message},
                    "ResponseMetadata": {"HTTPStatusCode": err.status},
                }
                return AWSResponse("https://sim", err.status, {}, None), parsed
            if parsed is not None:
                self.calls.append((*key, params, "ok"))
                return AWSResponse("https://sim", 200, {}, None), {
                    **parsed,
                    "ResponseMetadata": {"HTTPStatusCode": 200},
                }
        return None

    @contextlib.contextmanager
    def environment_of_the_function(self):
        saved_env, saved_session = dict(os.environ), boto3.DEFAULT_SESSION
        for key in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[key]
        os.environ.update(self.environment)
        os.environ.update(
            {
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_LAMBDA_FUNCTION_NAME": self.name,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            }
        )
        if hasattr(self, "session"):
            boto3.DEFAULT_SESSION = self.session
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            boto3.DEFAULT_SESSION = saved_session

    def invoke(self, event):
        """(return value, exception) of one invocation."""
        context = types.SimpleNamespace(
            function_name=self.name,
            aws_request_id=str(uuid.uuid4()),
            get_remaining_time_in_millis=lambda: self.timeout * 1000,
        )
        started = time.monotonic()
        with self.environment_of_the_function():
            try:
                result, error = self.handler(event, context), None
            except Exception as err:  # noqa: BLE001 - a function error, as Lambda reports it
                result, error = None, err
        if error is None and time.monotonic() - started > self.timeout:
            error = TimeoutError(f"Task timed out after {self.timeout} seconds")
        return result, error


# --------------------------------------------------------------------------------------------
# ECS: moto, plus the deployments moto does not start
# --------------------------------------------------------------------------------------------


class EcsShim:
    """The delivery function's ECS: its calls go to moto_server, except two answered here to fill
    moto 5.2.5's one gap the deploy-ecs action depends on: UpdateService with a new task
    definition starts no deployment. Here it does, as DescribeServices reports deployments (ECS
    API Reference, `Deployment`): a PRIMARY one of the new revision, rolloutState IN_PROGRESS and
    no task running, the previous ones ACTIVE. When time passes (between a continuation and the
    next invocation) it ends COMPLETED, the only deployment, its desired count running; or, for
    a service in `fail` (one deployment each), FAILED as a circuit breaker without rollback
    ends it: the service stays on the failed revision.

    moto has no service deployments (no currentServiceDeployment, no Describe/List
    ServiceDeployments), and none is added: the function follows the deployment through
    DescribeServices alone, the path it takes while ECS has not named the service deployment
    yet. A call to DescribeServiceDeployments would reach moto and fail the test loudly."""

    def __init__(self, endpoint):
        self.client = aws_client(endpoint, "ecs")
        self.deployments = {}  # service ARN -> [Deployment], newest (PRIMARY) first
        self.fail = set()  # service ARNs whose next deployment fails
        self.serial = 0

    def intercepts(self):
        return {("ecs", "UpdateService"): self.update_service, ("ecs", "DescribeServices"): self.describe_services}

    def _overlay(self, service):
        if service["serviceArn"] in self.deployments:
            service["deployments"] = copy.deepcopy(self.deployments[service["serviceArn"]])
        return service

    def describe_services(self, params):
        answer = self.client.describe_services(**params)
        answer.pop("ResponseMetadata", None)
        for service in answer.get("services", []):
            self._overlay(service)
        return answer

    def update_service(self, params):
        answer = self.client.update_service(**params)
        answer.pop("ResponseMetadata", None)
        service = answer["service"]
        if params.get("taskDefinition"):
            previous = self.deployments.get(service["serviceArn"]) or copy.deepcopy(service.get("deployments", []))
            for deployment in previous:
                deployment["status"] = "ACTIVE"
            self.serial += 1
            now = datetime.datetime.now(datetime.timezone.utc)
            primary = {
                "id": f"ecs-svc/sim{self.serial:012d}",
                "status": "PRIMARY",
                "taskDefinition": service["taskDefinition"],
                "desiredCount": service["desiredCount"],
                "pendingCount": service["desiredCount"],
                "runningCount": 0,
                "failedTasks": 0,
                "createdAt": now,
                "updatedAt": now,
                "rolloutState": "IN_PROGRESS",
                "rolloutStateReason": "ECS deployment in progress.",
            }
            self.deployments[service["serviceArn"]] = [primary, *previous]
        self._overlay(service)
        return answer

    def time_passes(self):
        for arn, deployments in self.deployments.items():
            primary = deployments[0]
            if primary.get("rolloutState") != "IN_PROGRESS":
                continue
            if arn in self.fail:
                self.fail.discard(arn)
                primary.update(
                    rolloutState="FAILED",
                    rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.",
                    failedTasks=primary["desiredCount"],
                    pendingCount=0,
                )
            else:
                primary.update(
                    rolloutState="COMPLETED",
                    rolloutStateReason=f"ECS deployment {primary['id']} completed.",
                    runningCount=primary["desiredCount"],
                    pendingCount=0,
                )
                del deployments[1:]


# --------------------------------------------------------------------------------------------
# Lambda (the functions stages deploy to): moto, plus the update status moto does not keep
# --------------------------------------------------------------------------------------------


class LambdaShim:
    """The delivery function's Lambda: its calls go to moto_server (image functions, their code,
    versions and aliases), except four answered here to fill moto 5.2.5's gap the deploy-lambda
    action depends on: moto finishes every UpdateFunctionCode at once (LastUpdateStatus always
    Successful). Here, as "Lambda function states" describes, $LATEST reports LastUpdateStatus
    InProgress after UpdateFunctionCode (PublishVersion meanwhile fails with
    ResourceConflictException) until time passes (between a continuation and the next
    invocation); then Successful, or, for a function in `fail` (one update each), Failed with
    the reason given. After a failed update moto's $LATEST keeps the new image.

    Left as moto has them, all of which the action copes with: no RevisionId (so the action
    sends none; moto fails a request carrying one), CodeSha256 a hash of the ImageUri string,
    a malformed Code.ResolvedImageUri, every version Active at once."""

    def __init__(self, endpoint):
        self.client = aws_client(endpoint, "lambda")
        self.status = {}  # function name -> LastUpdateStatus fields of $LATEST while not Successful
        self.fail = {}  # function name -> reason its next update fails with

    def intercepts(self):
        return {
            ("lambda", "UpdateFunctionCode"): self.update_function_code,
            ("lambda", "GetFunction"): self.get_function,
            ("lambda", "GetFunctionConfiguration"): self.get_function_configuration,
            ("lambda", "PublishVersion"): self.publish_version,
        }

    @staticmethod
    def _name(function):
        return function.rsplit(":", 1)[-1] if function.startswith("arn:") else function

    def _overlay(self, params, config):
        if params.get("Qualifier") in (None, "$LATEST"):
            config.update(self.status.get(self._name(params["FunctionName"]), {}))
        return config

    def _busy(self, params, operation):
        if self.status.get(self._name(params["FunctionName"]), {}).get("LastUpdateStatus") == "InProgress":
            raise AwsError("ResourceConflictException", f"{operation}: an update is in progress", 409)

    def update_function_code(self, params):
        self._busy(params, "UpdateFunctionCode")
        answer = self.client.update_function_code(**params)
        answer.pop("ResponseMetadata", None)
        status = {"LastUpdateStatus": "InProgress", "LastUpdateStatusReason": "The function is being updated."}
        self.status[self._name(params["FunctionName"])] = status
        return {**answer, **status}

    def get_function(self, params):
        answer = self.client.get_function(**params)
        answer.pop("ResponseMetadata", None)
        self._overlay(params, answer["Configuration"])
        return answer

    def get_function_configuration(self, params):
        answer = self.client.get_function_configuration(**params)
        answer.pop("ResponseMetadata", None)
        return self._overlay(params, answer)

    def publish_version(self, params):
        self._busy(params, "PublishVersion")
        return None  # moto publishes

    def time_passes(self):
        for name, status in list(self.status.items()):
            if status.get("LastUpdateStatus") != "InProgress":
                continue
            if name in self.fail:
                self.status[name] = {
                    "LastUpdateStatus": "Failed",
                    "LastUpdateStatusReason": self.fail.pop(name),
                    "LastUpdateStatusReasonCode": "InvalidImage",
                }
            else:
                del self.status[name]


# --------------------------------------------------------------------------------------------
# GitHub (the repository the Source action reads) and the webhook delivery
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Commit:
    id: str
    branch: str
    message: str
    files: dict  # the whole tree: path -> text
    changed: list
    author_date: str


class GitHubRepo:
    def __init__(self, full_name, files):
        self.full_name = full_name
        self.initial = dict(files)
        self.branches = {}

    def push(self, branch, message, changes=None, deleted=False):
        """(commit, previous head) of a push to `branch` changing `changes` ({path: text or None};
        default: a file in src/); `deleted`: the push deletes the branch (its head stays)."""
        parent = self.branches.get(branch)
        tree = dict(parent.files if parent else self.initial)
        changes = changes if changes is not None else {"src/version.txt": message}
        for path, text in changes.items():  # text None: the commit deletes the file
            if text is None:
                tree.pop(path, None)
            else:
                tree[path] = text
        commit = Commit(
            hashlib.sha1(f"{branch}:{message}:{uuid.uuid4()}".encode()).hexdigest(),
            branch,
            message,
            tree,
            sorted(changes),
            datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        )
        before = parent.id if parent else "0" * 40
        if not deleted:
            self.branches[branch] = commit
        return commit, before

    def checkout(self, commit, into):
        for path, text in commit.files.items():
            target = into / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)


def github_push_delivery(repo, commit, before, secret, deleted=False):
    """The Function URL event of GitHub's push delivery, signed with `secret` (X-Hub-Signature-256)."""
    payload = {
        "ref": f"refs/heads/{commit.branch}",
        "before": before,
        "after": "0" * 40 if deleted else commit.id,
        "deleted": deleted,
        "repository": {"full_name": repo.full_name},
        "pusher": {"name": "octocat"},
        "head_commit": None if deleted else {"id": commit.id, "message": commit.message, "modified": commit.changed},
    }
    body = json.dumps(payload)
    signature = "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return {
        "version": "2.0",
        "rawPath": "/",
        "isBase64Encoded": False,
        "body": body,
        "headers": {
            "content-type": "application/json",
            "x-github-event": "push",
            "x-github-delivery": str(uuid.uuid4()),
            "x-hub-signature-256": signature,
        },
        "requestContext": {"http": {"method": "POST", "path": "/"}},
    }


# --------------------------------------------------------------------------------------------
# EventBridge
# --------------------------------------------------------------------------------------------


def event_matches(pattern, event):
    """EventBridge exact matching of `event` against `pattern` (no content filters)."""
    for key, expected in pattern.items():
        if key not in event:
            return False
        actual = event[key]
        if isinstance(expected, dict):
            if not isinstance(actual, dict) or not event_matches(expected, actual):
                return False
        elif isinstance(expected, list):
            if any(isinstance(e, (dict, list)) for e in expected):
                raise NotModelled(f"content filter in event pattern field {key!r}: {expected}")
            values = actual if isinstance(actual, list) else [actual]
            if not any(type(v) is type(e) and v == e for v in values for e in expected):
                return False
        else:
            raise ActionFailed(f"InvalidEventPatternException: {key!r} must be an array or an object")
    return True


def bus_event(entry):
    """The event EventBridge delivers for a PutEvents entry."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": ACCOUNT,
        "time": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": entry.get("Resources", []),
        "detail": json.loads(entry["Detail"]),
    }


# --------------------------------------------------------------------------------------------
# CodePipeline
# --------------------------------------------------------------------------------------------

VARIABLE = re.compile(r"#\{([^}]*)\}")


def references(text):
    return [m.group(1) for m in VARIABLE.finditer(text)]


def resolve_variables(value, namespaces):
    """`value` with every #{Namespace.Variable} replaced, or ActionFailed naming what is missing."""
    missing = []

    def sub(match):
        namespace, dot, key = match.group(1).partition(".")
        if dot and key in namespaces.get(namespace, {}):
            return namespaces[namespace][key]
        missing.append(match.group(0))
        return match.group(0)

    resolved = VARIABLE.sub(sub, value)
    if missing:
        raise ActionFailed(f"one or more variables could not be resolved: {', '.join(missing)}")
    return resolved


def glob_match(pattern, text):
    """CodePipeline trigger globs: ** spans directories, * and ? stay within one."""
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            regex += ".*"
            i += 2
        elif pattern[i] == "*":
            regex += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            regex += "[^/]"
            i += 1
        else:
            regex += re.escape(pattern[i])
            i += 1
    return re.fullmatch(regex, text) is not None


def filter_allows(criteria, values):
    """A trigger's Includes/Excludes against the values (branch names or changed paths)."""
    if not criteria:
        return True
    includes, excludes = criteria.get("Includes"), criteria.get("Excludes", [])
    return any(
        (includes is None or any(glob_match(p, v) for p in includes)) and not any(glob_match(p, v) for p in excludes)
        for v in values
    )


@dataclasses.dataclass
class ActionRun:
    stage: str
    action: str
    provider: str
    status: str = "InProgress"
    configuration: dict = dataclasses.field(default_factory=dict)
    variables: dict = dataclasses.field(default_factory=dict)
    message: str = ""
    build: BuildResult | None = None
    jobs: list = dataclasses.field(default_factory=list)  # Lambda: [(kind, params)] job results


@dataclasses.dataclass
class Execution:
    id: str
    kind: str  # "Standard" or "Rollback"
    trigger: str
    status: str = "InProgress"
    stages: dict = dataclasses.field(default_factory=dict)  # stage -> Succeeded | Failed
    actions: list = dataclasses.field(default_factory=list)
    namespaces: dict = dataclasses.field(default_factory=dict)
    artifacts: dict = dataclasses.field(default_factory=dict)
    rollbacks: list = dataclasses.field(default_factory=list)
    commit: Commit | None = None
    seconds: float = 0.0

    def action(self, stage, name=None):
        found = [a for a in self.actions if a.stage == stage and (name is None or a.action == name)]
        assert len(found) == 1, f"expected one run of {stage}/{name}, got {found}"
        return found[0]

    def failure(self):
        return "; ".join(f"{a.stage}/{a.action}: {a.message}" for a in self.actions if a.status == "Failed")


class Pipeline:
    """The template's pipeline in the simulated account.

    `faults` injects failures: {(service, Operation): callable(params) -> response | None} added
    to the Lambda functions' intercepts while set (see Function)."""

    def __init__(self, stack, endpoint, github, ecr, workdir, inspector_findings=None):
        self.stack, self.endpoint, self.github, self.ecr = stack, endpoint, github, ecr
        self.workdir = pathlib.Path(workdir)
        self.logical = next(iter(stack.by_type("AWS::CodePipeline::Pipeline")))
        self.props = stack.resolve(stack.resources[self.logical]["Properties"])
        self.name = self.props["Name"]
        self.arn = f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:{self.name}"
        self.stages = self.props["Stages"]
        self.job_results = {}  # job id -> (kind, params)
        self.open_jobs = set()
        self.faults = {}  # injected into every function: see Function
        self.current = None  # (execution, stage name) while a stage runs, for faults to look at
        self.inspector_findings = inspector_findings if inspector_findings is not None else {}
        self.functions = {}
        self.ecs = EcsShim(endpoint)
        self.lambdas = LambdaShim(endpoint)
        self.last_success = {}  # stage -> (namespaces, artifacts) of its last successful run
        self.executions = []
        self.validate()

    # -- deploy-time checks CodePipeline makes on CreatePipeline/UpdatePipeline -----------------

    def validate(self):
        seen_artifacts, namespaces, problems = set(), {"codepipeline"}, []
        stage_names = [s["Name"] for s in self.stages]
        if len(set(stage_names)) != len(stage_names):
            problems.append(f"duplicate stage names {stage_names}")
        for stage in self.stages:
            if stage.get("BeforeEntry") or stage.get("OnSuccess") or (stage.get("OnFailure") or {}).get("Conditions"):
                raise NotModelled(f"stage conditions in {stage['Name']}")
            result = (stage.get("OnFailure") or {}).get("Result")
            if result not in (None, "ROLLBACK", "FAIL"):
                raise NotModelled(f"OnFailure {result}")
            if result == "ROLLBACK" and (self.props.get("PipelineType") != "V2" or stage is self.stages[0]):
                problems.append(
                    f"stage {stage['Name']}: rollback needs a V2 pipeline and is not allowed on the first stage"
                )
            names = [a["Name"] for a in stage["Actions"]]
            if len(set(names)) != len(names):
                problems.append(f"duplicate action names in {stage['Name']}")
            for order in sorted({a.get("RunOrder", 1) for a in stage["Actions"]}):
                batch = [a for a in stage["Actions"] if a.get("RunOrder", 1) == order]
                for action in batch:
                    for artifact in action.get("InputArtifacts", []):
                        if artifact["Name"] not in seen_artifacts:
                            problems.append(
                                f"{stage['Name']}/{action['Name']}: input artifact {artifact['Name']} "
                                "is not produced upstream"
                            )
                    for value in action.get("Configuration", {}).values():
                        for ref in references(str(value)):
                            if ref.partition(".")[0] not in namespaces:
                                problems.append(
                                    f"{stage['Name']}/{action['Name']}: #{{{ref}}} names no upstream namespace"
                                )
                for action in batch:
                    seen_artifacts |= {a["Name"] for a in action.get("OutputArtifacts", [])}
                    if action.get("Namespace"):
                        if action["Namespace"] in namespaces:
                            problems.append(f"namespace {action['Namespace']} declared twice")
                        namespaces.add(action["Namespace"])
        if problems:
            raise ActionFailed("CodePipeline rejects the pipeline: " + "; ".join(problems))

    # -- starting ------------------------------------------------------------------------------

    def source_action(self):
        actions = [a for a in self.stages[0]["Actions"] if a["ActionTypeId"]["Category"] == "Source"]
        if len(actions) != 1 or actions[0]["ActionTypeId"]["Provider"] != "CodeStarSourceConnection":
            raise NotModelled("exactly one CodeStarSourceConnection source action")
        return actions[0]

    def starts_for_push(self, commit):
        """How many executions CodePipeline itself starts for a push (triggers or change detection)."""
        source = self.source_action()
        triggers = [
            t for t in self.props.get("Triggers", []) if t["GitConfiguration"]["SourceActionName"] == source["Name"]
        ]
        if triggers:
            starts = 0
            for trigger in triggers:
                for push in trigger["GitConfiguration"].get("Push", []):
                    if push.get("Tags"):
                        continue  # a tag filter: branch pushes do not match it
                    if filter_allows(push.get("Branches"), [commit.branch]) and filter_allows(
                        push.get("FilePaths"), commit.changed
                    ):
                        starts += 1
            return min(starts, 1)
        config = source["Configuration"]
        detect = str(config.get("DetectChanges", True)).lower() == "true"
        same_repo = config["FullRepositoryId"] == self.github.full_name
        return int(detect and same_repo and commit.branch == config["BranchName"])

    def push(self, commit):
        """A push reached GitHub: the executions CodePipeline starts by itself (0 or 1)."""
        return [self.run(trigger=f"push {commit.id[:8]}", commit=commit) for _ in range(self.starts_for_push(commit))]

    def start_pipeline_execution(self, trigger="StartPipelineExecution"):
        """StartPipelineExecution: the Source action fetches the head of its branch."""
        return self.run(trigger=trigger)

    # -- running ---------------------------------------------------------------------------------

    def run(self, trigger, commit=None):
        started = time.monotonic()
        execution = Execution(str(uuid.uuid4()), "Standard", trigger)
        execution.namespaces["codepipeline"] = {"PipelineExecutionId": execution.id}
        execution.commit = commit
        self.executions.append(execution)
        for stage in self.stages:
            namespaces_before, artifacts_before = copy.deepcopy(execution.namespaces), dict(execution.artifacts)
            ok = self.run_stage(stage, execution)
            execution.stages[stage["Name"]] = "Succeeded" if ok else "Failed"
            if ok:
                # What a rollback of this stage re-runs with: the inputs this stage ran with.
                self.last_success[stage["Name"]] = (namespaces_before, artifacts_before)
                continue
            execution.status = "Failed"
            if (stage.get("OnFailure") or {}).get("Result") == "ROLLBACK" and stage["Name"] in self.last_success:
                execution.rollbacks.append(self.rollback(stage))
            break
        else:
            execution.status = "Succeeded"
        execution.seconds = time.monotonic() - started
        return execution

    def rollback(self, stage):
        namespaces, artifacts = self.last_success[stage["Name"]]
        rollback = Execution(str(uuid.uuid4()), "Rollback", f"automated rollback of {stage['Name']}")
        rollback.namespaces = copy.deepcopy(namespaces)
        rollback.namespaces["codepipeline"] = {"PipelineExecutionId": rollback.id}
        rollback.artifacts = dict(artifacts)
        ok = self.run_stage(stage, rollback)
        rollback.stages[stage["Name"]] = rollback.status = "Succeeded" if ok else "Failed"
        self.executions.append(rollback)
        return rollback

    def run_stage(self, stage, execution):
        self.current = (execution, stage["Name"])
        for order in sorted({a.get("RunOrder", 1) for a in stage["Actions"]}):
            batch = [a for a in stage["Actions"] if a.get("RunOrder", 1) == order]
            results = [self.run_action(stage, action, execution) for action in batch]
            if not all(results):
                return False
        return True

    def run_action(self, stage, action, execution):
        provider = action["ActionTypeId"]["Provider"]
        run = ActionRun(stage["Name"], action["Name"], provider)
        execution.actions.append(run)
        try:
            run.configuration = {
                k: resolve_variables(self.config_string(v), execution.namespaces)
                for k, v in action.get("Configuration", {}).items()
            }
            handler = {
                "CodeStarSourceConnection": self.source,
                "CodeBuild": self.codebuild,
                "Lambda": self.lambda_invoke,
                "Manual": self.approval,
                "InspectorScan": self.inspector_scan,
            }.get(provider)
            if handler is None:
                raise NotModelled(f"action provider {provider}")
            variables, outputs = handler(action, run, execution)
        except ActionFailed as failure:
            run.status, run.message = "Failed", str(failure)
            return False
        run.status, run.variables = "Succeeded", variables
        if action.get("Namespace"):
            execution.namespaces[action["Namespace"]] = variables
        for artifact, path in zip(action.get("OutputArtifacts", []), outputs, strict=False):
            execution.artifacts[artifact["Name"]] = path
        return True

    @staticmethod
    def config_string(value):
        """CloudFormation hands CodePipeline configuration values as strings (true -> "true")."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            raise NotModelled(f"non-scalar action configuration {value!r}")
        return str(value)

    # -- providers -------------------------------------------------------------------------------

    def source(self, action, run, execution):
        config = run.configuration
        if config["FullRepositoryId"] != self.github.full_name:
            raise ActionFailed(f"repository {config['FullRepositoryId']} is not reachable through the connection")
        commit = execution.commit or self.github.branches.get(config["BranchName"])
        if commit is None:
            raise ActionFailed(f"branch {config['BranchName']} does not exist")
        execution.commit = commit
        out = pathlib.Path(tempfile.mkdtemp(prefix="source-", dir=self.workdir))
        self.github.checkout(commit, out)
        variables = {
            "CommitId": commit.id,
            "BranchName": commit.branch,
            "FullRepositoryName": self.github.full_name,
            "ConnectionArn": config["ConnectionArn"],
            "AuthorDate": commit.author_date,
            "CommitMessage": commit.message,
        }
        return variables, [out]

    def codebuild(self, action, run, execution):
        config = run.configuration
        logical = self.stack.find("AWS::CodeBuild::Project", Name=config["ProjectName"])
        if logical is None:
            raise ActionFailed(f"CodeBuild project {config['ProjectName']} does not exist")
        project = self.stack.resolve(self.stack.resources[logical]["Properties"])
        if project["Source"]["Type"] != "CODEPIPELINE" or project["Artifacts"]["Type"] != "CODEPIPELINE":
            raise ActionFailed("a project run by CodePipeline needs Source and Artifacts of type CODEPIPELINE")
        inputs = [execution.artifacts[a["Name"]] for a in action.get("InputArtifacts", [])]
        if not inputs:
            raise ActionFailed("the build action has no input artifact")
        environment = {}
        for variable in project["Environment"].get("EnvironmentVariables", []):
            if variable.get("Type", "PLAINTEXT") != "PLAINTEXT":
                raise NotModelled(f"environment variable type {variable['Type']}")
            environment[variable["Name"]] = str(variable["Value"])
        for variable in json.loads(config.get("EnvironmentVariables", "[]")):
            if variable.get("type", "PLAINTEXT") != "PLAINTEXT":
                raise NotModelled(f"environment variable type {variable['type']}")
            environment[variable["name"]] = variable["value"]  # the action's override the project's
        environment.update(
            {
                "CODEBUILD_BUILD_ID": f"{project['Name']}:{uuid.uuid4()}",
                "CODEBUILD_INITIATOR": f"codepipeline/{self.name}",
                "CODEBUILD_RESOLVED_SOURCE_VERSION": execution.commit.id,
                "CODEBUILD_BUILD_IMAGE": project["Environment"]["Image"],
            }
        )
        result = run_codebuild(project["Source"]["BuildSpec"], environment, inputs[0], self.endpoint, self.workdir)
        run.build = result
        if not result.succeeded:
            if result.failed:
                phase, number, code = result.failed
                tail = " | ".join(result.log.strip().splitlines()[-6:])
                raise ActionFailed(f"build failed: {phase} command {number} exited with status {code}: {tail}")
            raise ActionFailed(f"build failed: {result.error}")
        out = pathlib.Path(tempfile.mkdtemp(prefix="build-output-", dir=self.workdir))
        for path, data in result.artifacts.items():
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            (out / path).write_bytes(data)
        return dict(result.exported), [out]

    def function(self, name):
        logical = self.stack.find("AWS::Lambda::Function", FunctionName=name)
        if logical is None:
            raise ActionFailed(f"function {name} does not exist")
        if logical not in self.functions:
            services = {
                ("codepipeline", "PutJobSuccessResult"): self._job_success,
                ("codepipeline", "PutJobFailureResult"): self._job_failure,
                **self.ecs.intercepts(),
                **self.lambdas.intercepts(),
            }
            self.functions[logical] = Function(self.stack, logical, self.endpoint, services, self.faults)
        return self.functions[logical]

    def _record_job_result(self, kind, params):
        job = params["jobId"]
        if job in self.job_results:
            raise AwsError("InvalidJobStateException", f"job {job} already has a result")
        if job not in self.open_jobs:
            raise AwsError("JobNotFoundException", f"no job {job}")
        self.job_results[job] = (kind, params)
        return {}

    def _job_success(self, params):
        if params.get("continuationToken") and params.get("outputVariables"):
            raise AwsError(
                "ValidationException", "outputVariables can be included only when there is no continuation token"
            )
        return self._record_job_result("success", params)

    def _job_failure(self, params):
        return self._record_job_result("failure", params)

    def lambda_invoke(self, action, run, execution):
        function = self.function(run.configuration["FunctionName"])
        continuation = None
        for _ in range(20):
            job_id = str(uuid.uuid4())
            self.open_jobs.add(job_id)
            data = {
                "actionConfiguration": {"configuration": dict(run.configuration)},
                "inputArtifacts": [
                    {
                        "name": a["Name"],
                        "revision": None,
                        "location": {
                            "type": "S3",
                            "s3Location": {
                                "bucketName": "sim-artifacts",
                                "objectKey": f"{self.name}/{a['Name']}/{execution.id}.zip",
                            },
                        },
                    }
                    for a in action.get("InputArtifacts", [])
                ],
                "outputArtifacts": [
                    {
                        "name": a["Name"],
                        "location": {
                            "type": "S3",
                            "s3Location": {
                                "bucketName": "sim-artifacts",
                                "objectKey": f"{self.name}/{a['Name']}/{execution.id}.zip",
                            },
                        },
                    }
                    for a in action.get("OutputArtifacts", [])
                ],
                "artifactCredentials": {
                    "accessKeyId": "ASIASIM",
                    "secretAccessKey": "sim-secret",
                    "sessionToken": "sim-token",
                },
            }
            if continuation is not None:
                data["continuationToken"] = continuation
            event = {"CodePipeline.job": {"id": job_id, "accountId": ACCOUNT, "data": data}}
            errors = []
            for _attempt in range(3):  # asynchronous invocation: a function error is retried twice
                _, error = function.invoke(event)
                if job_id in self.job_results or error is None:
                    break
                errors.append(f"{type(error).__name__}: {error}")
            self.open_jobs.discard(job_id)
            if job_id not in self.job_results:
                raise ActionFailed(
                    "the function reported no job result; the job timed out"
                    + (f" (function errors: {'; '.join(errors)})" if errors else "")
                )
            kind, params = self.job_results[job_id]
            run.jobs.append((kind, params))
            if kind == "failure":
                raise ActionFailed(params["failureDetails"]["message"])
            if params.get("continuationToken"):
                continuation = params["continuationToken"]
                self.ecr.time_passes()  # CodePipeline invokes again later; meanwhile ECR works
                self.ecs.time_passes()  # ... and ECS
                self.lambdas.time_passes()  # ... and Lambda
                continue
            run.message = (params.get("executionDetails") or {}).get("summary", "")
            return dict(params.get("outputVariables") or {}), []
        raise ActionFailed("still in progress after 20 continuations")

    def approval(self, action, run, execution):
        run.message = "approved"
        return {}, []

    def inspector_scan(self, action, run, execution):
        config = run.configuration
        if config.get("InspectorRunMode") != "ECRImageScan":
            raise NotModelled(f"InspectorRunMode {config.get('InspectorRunMode')}")
        repository, tag = config["ECRRepositoryName"], config["ImageTag"]
        if repository != self.ecr.name or self.ecr.digest(tag) is None:
            raise ActionFailed(f"image {repository}:{tag} not found in ECR")
        counts = self.inspector_findings.get(tag, {})
        over = [
            f"{counts.get(s, 0)} {s.lower()} (threshold {config[f'{s.title()}Threshold']})"
            for s in ("CRITICAL", "HIGH", "MEDIUM", "LOW")
            if f"{s.title()}Threshold" in config and counts.get(s, 0) > int(config[f"{s.title()}Threshold"])
        ]
        if over:
            raise ActionFailed("vulnerabilities above the thresholds: " + ", ".join(over))
        highest = next((s.lower() for s in ("CRITICAL", "HIGH", "MEDIUM") if counts.get(s)), "none")
        out = pathlib.Path(tempfile.mkdtemp(prefix="sbom-", dir=self.workdir))
        (out / "sbom.json").write_text(json.dumps({"image": f"{repository}:{tag}"}))
        return {"HighestScannedSeverity": highest}, [out]


# --------------------------------------------------------------------------------------------
# The webhook path: GitHub -> receiver function -> event bus -> push rule -> pipeline
# --------------------------------------------------------------------------------------------


class Webhook:
    """The receiver function and the push rule of webhook mode, in the simulated account."""

    def __init__(self, stack, endpoint, pipeline):
        self.stack, self.pipeline = stack, pipeline
        self.secret = secrets.token_hex(32)
        arn = aws_client(endpoint, "secretsmanager").create_secret(
            Name=f"sim-webhook-{uuid.uuid4().hex[:8]}", SecretString=self.secret
        )["ARN"]
        stack.overrides["WebhookSecret"] = arn
        self.published = []
        self.function = Function(stack, "WebhookFunction", endpoint, {("events", "PutEvents"): self._put_events})
        self.rule = stack.resolve(stack.resources["PushRule"]["Properties"])

    def _put_events(self, params):
        entries = params["Entries"]
        for entry in entries:
            detail = json.loads(entry["Detail"])
            if not isinstance(detail, dict):
                raise AwsError("ValidationException", "Detail must be a JSON object")
            self.published.append(entry)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(uuid.uuid4())} for _ in entries]}

    def deliver(self, event):
        """GitHub's delivery to the function URL: (HTTP response, executions started)."""
        before = len(self.published)
        response, error = self.function.invoke(event)
        if error is not None:
            raise error
        started = []
        for entry in self.published[before:]:
            if entry.get("EventBusName") != self.rule["EventBusName"] or self.rule.get("State") != "ENABLED":
                continue
            if event_matches(self.rule["EventPattern"], bus_event(entry)):
                for target in self.rule["Targets"]:
                    if target["Arn"] == self.pipeline.arn:
                        started.append(self.pipeline.start_pipeline_execution(trigger="EventBridge push rule"))
        return response, started
