"""shipline delivery function (CodePipeline Lambda invoke actions).

UserParameters (JSON, variables resolved by CodePipeline) choose what a job does:

- promote (the default): moves a stage's tag (e.g. `production`) onto the image digest that
  *this* pipeline execution built:
    {"repository": "<ecr repo>", "digest": "sha256:...", "tag": "production"}
- scan gate: waits for the ECR scan-on-push result of that digest and fails when too many
  findings reach the configured severity:
    {"action": "scan-gate", "repository": "<ecr repo>", "digest": "sha256:..."}
  with the policy in the environment: GATE_SEVERITY, GATE_MAX_FINDINGS, GATE_IGNORE
  (comma-separated ids), GATE_WAIT_SECONDS. While the scan runs it returns a continuation
  token and CodePipeline invokes it again: it never sleeps.
- deploy-ecs (only when a stage deploys to ECS: the template then appends the part of the
  source that does it, ecs_deploy.py, which registers the action in ACTIONS): runs the digest
  on an existing ECS service.
- deploy-lambda (likewise lambda_deploy.py, only when a stage deploys to a Lambda function):
  puts the digest on an existing container-image function, publishes a version and moves an
  alias to it.

Every invocation with a job id makes exactly one PutJobSuccessResult or PutJobFailureResult
call, whatever fails (AWS errors, malformed UserParameters or continuation token, bugs), so the
action never hangs until its timeout. The handler raises only when that call itself fails in a
way a retry can fix (see `report`). The job event carries artifact credentials: it is never
logged.
"""

import json
import logging
import os
import re
import time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as NoConnection

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
REPOSITORY_PATH = r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"
REPOSITORY = re.compile(f"^{REPOSITORY_PATH}$")
MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
]

_clients = {}

# The function has 60 s (template Timeout). botocore's defaults (60 s connect and read
# timeouts, retries) would let one hung call outlast it, ending the job with no result; with
# these, a call gives up after at most 2 x (2 + 3) s, and every path reports in time.
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"})

# Pauses before each further attempt to report a job result that could not get through
# (throttled, a 5xx, no answer); the job itself is never run again (see report()).
REPORT_RETRY_DELAYS = (2,)


def client(name):
    """One boto3 client per service, created on first use (reused across warm invocations)."""
    if name not in _clients:
        _clients[name] = boto3.client(name, config=CLIENT_CONFIG)
    return _clients[name]


class PromotionError(Exception):
    """A failure with a message meant for the person reading the pipeline console."""


def user_parameters(job):
    """(action, parameters) from the job's UserParameters: the checks every action shares (present,
    JSON, an object, a known action). Each action then checks its own fields (ACTIONS)."""
    # What every action's parameters hold; the action names the rest (see the module docstring).
    expected = "an action (default promote) and the digest with its repository"
    try:
        raw = job["data"]["actionConfiguration"]["configuration"]["UserParameters"]
    except (KeyError, TypeError):
        raise PromotionError(f"the action has no UserParameters; expected JSON with {expected}") from None
    try:
        params = json.loads(raw)
    except (TypeError, ValueError, RecursionError):
        raise PromotionError("UserParameters is not valid JSON") from None
    if not isinstance(params, dict):
        raise PromotionError(f"UserParameters must be a JSON object with {expected}")
    action = params.get("action", "promote")
    if not isinstance(action, str) or action not in ACTIONS:
        raise PromotionError(f"UserParameters.action {action!r} is not {' or '.join(ACTIONS)}")
    return action, params


def parse_parameters(job):
    """(action, the fields that action uses, checked) from the job's UserParameters."""
    action, params = user_parameters(job)
    return action, ACTIONS[action].check(params)


def repository_field(params):
    repository = params.get("repository")
    if not isinstance(repository, str) or len(repository) > 256 or not REPOSITORY.fullmatch(repository):
        raise PromotionError(f"UserParameters.repository {repository!r} is not an ECR repository name")
    return repository


def digest_field(params):
    digest = params.get("digest")
    if not isinstance(digest, str) or not DIGEST.fullmatch(digest):
        raise PromotionError(
            f"UserParameters.digest {digest!r} is not an image digest (sha256:<64 hex>); "
            "did the Build stage export IMAGE_DIGEST?"
        )
    return digest


def promote_parameters(params):
    fields = {"repository": repository_field(params), "digest": digest_field(params)}
    tag = params.get("tag")
    if not isinstance(tag, str) or not TAG.fullmatch(tag):
        raise PromotionError(f"UserParameters.tag {tag!r} is not a valid image tag")
    return {**fields, "tag": tag}


def gate_parameters(params):
    return {"repository": repository_field(params), "digest": digest_field(params)}


def current_digest(ecr, repository, tag):
    """The digest `tag` points at now, or None when the tag is not in the repository yet."""
    try:
        found = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    except ClientError as err:
        if err.response["Error"]["Code"] == "ImageNotFoundException":
            return None
        raise
    details = found.get("imageDetails") or [{}]
    return details[0].get("imageDigest")


def promote(ecr, repository, digest, tag):
    """Point `tag` at `digest` by re-putting the digest's manifest. Returns a summary line."""
    previous = current_digest(ecr, repository, tag)
    if previous == digest:
        return f"{tag} already points at {digest} in {repository}; nothing to do"
    found = ecr.batch_get_image(
        repositoryName=repository,
        imageIds=[{"imageDigest": digest}],
        acceptedMediaTypes=MANIFEST_TYPES,
    )
    images = found.get("images") or []
    if not images:
        reasons = "; ".join(f.get("failureReason", f.get("failureCode", "")) for f in found.get("failures", []))
        raise PromotionError(f"image {digest} is not in repository {repository}" + (f" ({reasons})" if reasons else ""))
    image = images[0]
    put = {
        "repositoryName": repository,
        "imageManifest": image["imageManifest"],
        "imageTag": tag,
        "imageDigest": digest,
    }
    if image.get("imageManifestMediaType"):
        put["imageManifestMediaType"] = image["imageManifestMediaType"]
    try:
        ecr.put_image(**put)
    except ClientError as err:
        if err.response["Error"]["Code"] != "ImageAlreadyExistsException":
            raise
        # The tag already points at this manifest (a concurrent or repeated run): success.
    moved = f"from {previous} " if previous else ""
    return f"moved {tag} in {repository} {moved}to {digest}"


class Done:
    """A job's successful outcome: the summary shown in the console, and either output
    variables (finished) or a continuation token (CodePipeline invokes the action again)."""

    def __init__(self, summary, variables=None, continuation=None):
        self.summary, self.variables, self.continuation = summary, variables, continuation


def run_job(event, work):
    """Runs `work(job)` for a CodePipeline job event and reports its outcome: one report per
    invocation, on every path."""
    job = event.get("CodePipeline.job") if isinstance(event, dict) else None
    job_id = job.get("id") if isinstance(job, dict) else None
    if not isinstance(job_id, str) or not job_id:
        # Not a CodePipeline invocation: there is no job to report to.
        LOG.error(
            "invoked without a CodePipeline job id; event keys: %s",
            sorted(event) if isinstance(event, dict) else type(event).__name__,
        )
        return {"status": "ignored", "reason": "no CodePipeline job in the event"}
    try:
        done = work(job)
    except PromotionError as err:
        return report_failure(job_id, str(err))
    except (ClientError, BotoCoreError) as err:
        return report_failure(job_id, f"AWS call failed: {err}{access_hint(err)}")
    except Exception as err:  # noqa: BLE001 - any failure must reach CodePipeline
        LOG.exception("unexpected error in job %s", job_id)
        return report_failure(job_id, f"unexpected error: {type(err).__name__}: {err}")
    LOG.info("job %s: %s", job_id, done.summary)
    result = {"jobId": job_id, "executionDetails": {"summary": done.summary[:2048]}}
    if done.continuation is not None:
        result["continuationToken"] = done.continuation
        return report(job_id, "put_job_success_result", result, {"status": "in_progress", "summary": done.summary})
    result["executionDetails"]["percentComplete"] = 100
    if done.variables:
        result["outputVariables"] = done.variables
    return report(job_id, "put_job_success_result", result, {"status": "succeeded", "summary": done.summary})


def access_hint(err):
    """What to do about an AWS refusal of this function's own permissions: its role's grants
    follow shipline.toml, so a deploy target added or changed without `shipline deploy`, or an
    ECS task role missing from pass_roles, shows up here."""
    code = err.response.get("Error", {}).get("Code", "") if isinstance(err, ClientError) else ""
    if code not in ("AccessDenied", "AccessDeniedException"):
        return ""
    return (
        "; the delivery function's role lacks this permission: its grants follow shipline.toml, so run "
        "`shipline deploy` after changing [stages.deploy], and list every role the ECS task definition "
        "names in stages.deploy.ecs.pass_roles"
    )


def report_failure(job_id, message):
    """Reports the job as failed with `message` (what the pipeline console shows)."""
    message = message[:5000]
    LOG.error("job %s failed: %s", job_id, message)
    request = {"jobId": job_id, "failureDetails": {"type": "JobFailed", "message": message}}
    return report(job_id, "put_job_failure_result", request, {"status": "failed", "message": message})


def report(job_id, call, request, outcome):
    """Makes this invocation's PutJob*Result call, retrying the call (never the job) while its
    error is retryable; returns `outcome`, or an "unreported" status when it cannot get through.

    It never raises. CodePipeline invokes this function asynchronously (Lambda Developer Guide,
    "Using AWS Lambda with AWS CodePipeline"), and Lambda runs an asynchronous invocation that
    raised again, up to twice, 1 and 2 minutes later ("How Lambda handles errors and retries
    with asynchronous invocation"). Re-running the job after a report whose answer was lost but
    which CodePipeline did receive could put a stage tag back on this execution's digest after a
    newer execution had promoted its own. So only the report is retried, here; if it still
    cannot get through (or is refused: access denied, invalid request, a job that was already
    reported or timed out), the action fails at its timeout and the stage rolls back.
    """
    for delay in (*REPORT_RETRY_DELAYS, None):
        try:
            getattr(client("codepipeline"), call)(**request)
            return outcome
        except Exception as err:  # noqa: BLE001 - every failure ends in a logged, defined answer
            LOG.error("could not report job %s to CodePipeline (%s): %s: %s", job_id, call, type(err).__name__, err)
            if delay is None or not retryable(err):
                return {"status": "unreported", "reason": f"{type(err).__name__}: {err}"[:500]}
            time.sleep(delay)


def retryable(err):
    """Whether an AWS call may succeed if made again later (CodePipeline API Reference, "Common
    Errors": ThrottlingException is a 400, InternalFailure and ServiceUnavailable are 5xx)."""
    if isinstance(err, ClientError):
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return err.response.get("Error", {}).get("Code") == "ThrottlingException" or status >= 500
    return isinstance(err, (NoConnection, HTTPClientError))


def handler(event, context):
    def work(job):
        action, params = parse_parameters(job)
        return ACTIONS[action].run(job, params)

    return run_job(event, work)


class Action:
    """One kind of job: `check` turns UserParameters into the fields it uses (or raises
    PromotionError), `run` does the job and returns its Done."""

    def __init__(self, check, run):
        self.check, self.run = check, run


def run_promote(job, params):
    digest, tag = params["digest"], params["tag"]
    summary = promote(client("ecr"), params["repository"], digest, tag)
    return Done(summary, variables={"PROMOTED_DIGEST": digest, "PROMOTED_TAG": tag})


def run_gate(job, params):
    return gate(client("ecr"), job, params["repository"], params["digest"], time.time())


SEVERITIES = ["UNDEFINED", "INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
WAITING = {"IN_PROGRESS", "PENDING"}


def gate_settings():
    severity = os.environ.get("GATE_SEVERITY", "CRITICAL")
    if severity not in SEVERITIES:
        raise PromotionError(f"GATE_SEVERITY {severity!r} is not one of {', '.join(SEVERITIES[1:])}")
    try:
        max_findings = int(os.environ.get("GATE_MAX_FINDINGS", "0"))
        wait_seconds = int(os.environ.get("GATE_WAIT_SECONDS", "1800"))
    except ValueError:
        raise PromotionError("GATE_MAX_FINDINGS and GATE_WAIT_SECONDS must be whole numbers") from None
    ignore = {i.strip() for i in os.environ.get("GATE_IGNORE", "").split(",") if i.strip()}
    return severity, max_findings, ignore, wait_seconds


def scan_findings(ecr, repository, digest):
    """(status, description, [(id, severity)]) of the digest's scan; status PENDING when
    ECR has not started it yet."""
    findings, token = [], None
    while True:
        request = {"repositoryName": repository, "imageId": {"imageDigest": digest}, "maxResults": 1000}
        if token:
            request["nextToken"] = token
        try:
            page = ecr.describe_image_scan_findings(**request)
        except ClientError as err:
            if err.response["Error"]["Code"] == "ScanNotFoundException":
                return "PENDING", "the scan has not started yet", []
            if err.response["Error"]["Code"] == "ImageNotFoundException":
                raise PromotionError(f"image {digest} is not in repository {repository}") from None
            raise
        status = page.get("imageScanStatus", {})
        body = page.get("imageScanFindings", {})
        findings += [(f.get("name", "?"), f.get("severity", "UNDEFINED")) for f in body.get("findings", [])]
        # Enhanced scanning (Amazon Inspector) reports its findings in another list.
        findings += [
            (
                f.get("packageVulnerabilityDetails", {}).get("vulnerabilityId") or f.get("title", "?"),
                f.get("severity", "UNDEFINED"),
            )
            for f in body.get("enhancedFindings", [])
        ]
        token = page.get("nextToken")
        if not token:
            return status.get("status", "PENDING"), status.get("description", ""), findings


def judge(repository, digest, findings, severity, max_findings, ignore):
    """Done (passes) or PromotionError (blocks) for a complete scan."""
    floor = SEVERITIES.index(severity)
    counts = {}
    for _, level in findings:
        counts[level] = counts.get(level, 0) + 1
    at_or_above = [(fid, level) for fid, level in findings if level in SEVERITIES and SEVERITIES.index(level) >= floor]
    ignored = sorted({fid for fid, _ in at_or_above if fid in ignore})
    blocking = sorted({fid for fid, _ in at_or_above if fid not in ignore})
    shown = ", ".join(f"{level} {counts[level]}" for level in reversed(SEVERITIES) if level in counts) or "no findings"
    verdict = f"{len(blocking)} finding(s) at {severity} or above (allowed {max_findings})" + (
        f", {len(ignored)} ignored by config" if ignored else ""
    )
    if len(blocking) > max_findings:
        listed = ", ".join(blocking[:20]) + (" ..." if len(blocking) > 20 else "")
        raise PromotionError(f"scan gate blocked {repository}@{digest}: {verdict}: {listed}; all findings: {shown}")
    return Done(
        f"scan gate passed {repository}@{digest}: {verdict}; all findings: {shown}",
        variables={"BLOCKING_FINDINGS": str(len(blocking)), "FINDINGS": shown[:1000]},
    )


def wait_started(job, now):
    """When the wait for the scan began: from the continuation token this function returned
    earlier, else (first invocation, or a token that is not ours) now."""
    token = job["data"].get("continuationToken")
    if token is None:
        return now
    try:
        started = json.loads(token)["started"]
    except (KeyError, TypeError, ValueError, RecursionError):
        started = None
    if type(started) in (int, float) and 0 < started <= now:
        return started
    LOG.warning("continuation token is not ours; the wait for the scan starts again")
    return now


def gate(ecr, job, repository, digest, now):
    severity, max_findings, ignore, wait_seconds = gate_settings()
    started = wait_started(job, now)
    status, description, findings = scan_findings(ecr, repository, digest)
    waited = int(now - started)
    if status in WAITING:
        if waited >= wait_seconds:
            raise PromotionError(
                f"the scan of {repository}@{digest} did not finish within {wait_seconds // 60} minute(s) "
                f"(still {status}); rerun the stage, or raise [scan] wait_minutes"
            )
        return Done(
            f"waiting for the scan of {repository}@{digest} ({status}, {waited} s so far)",
            continuation=json.dumps({"started": started}),
        )
    if status in ("COMPLETE", "ACTIVE"):
        return judge(repository, digest, findings, severity, max_findings, ignore)
    if status == "UNSUPPORTED_IMAGE":
        raise PromotionError(
            f"ECR cannot scan {repository}@{digest} "
            f"(UNSUPPORTED_IMAGE: {description or 'unsupported base OS or media type'}); "
            "basic scanning needs an image from a supported OS: see the ECR user guide, 'Image scanning'"
        )
    raise PromotionError(
        f"the scan of {repository}@{digest} ended in {status}" + (f": {description}" if description else "")
    )


# The actions this source runs; the ECS part (ecs_deploy.py), when appended, adds deploy-ecs.
ACTIONS = {"promote": Action(promote_parameters, run_promote), "scan-gate": Action(gate_parameters, run_gate)}
