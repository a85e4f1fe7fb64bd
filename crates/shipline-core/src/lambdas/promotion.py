"""shipline promotion function (CodePipeline Lambda invoke action).

Moves a promotion tag (e.g. `production`) onto the image digest that *this* pipeline
execution built. UserParameters (JSON, variables resolved by CodePipeline):
  {"repository": "<ecr repo>", "digest": "sha256:...", "tag": "production"}

Every path ends in PutJobSuccessResult or PutJobFailureResult, so the action never hangs until
its timeout. The job event carries artifact credentials: it is never logged.
"""
import json
import logging
import re

import boto3
from botocore.exceptions import BotoCoreError, ClientError

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
REPOSITORY = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
]

_clients = {}


def client(name):
    """One boto3 client per service, created on first use (reused across warm invocations)."""
    if name not in _clients:
        _clients[name] = boto3.client(name)
    return _clients[name]


class PromotionError(Exception):
    """A failure with a message meant for the person reading the pipeline console."""


def parse_parameters(job):
    try:
        raw = job["data"]["actionConfiguration"]["configuration"]["UserParameters"]
    except (KeyError, TypeError):
        raise PromotionError("the action has no UserParameters; expected JSON with repository, digest and tag")
    try:
        params = json.loads(raw)
    except (TypeError, ValueError):
        raise PromotionError("UserParameters is not valid JSON")
    if not isinstance(params, dict):
        raise PromotionError("UserParameters must be a JSON object with repository, digest and tag")
    repository, digest, tag = params.get("repository"), params.get("digest"), params.get("tag")
    if not isinstance(repository, str) or not REPOSITORY.match(repository):
        raise PromotionError(f"UserParameters.repository {repository!r} is not an ECR repository name")
    if not isinstance(digest, str) or not DIGEST.match(digest):
        raise PromotionError(
            f"UserParameters.digest {digest!r} is not an image digest (sha256:<64 hex>); "
            "did the Build stage export IMAGE_DIGEST?"
        )
    if not isinstance(tag, str) or not TAG.match(tag):
        raise PromotionError(f"UserParameters.tag {tag!r} is not a valid image tag")
    return repository, digest, tag


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
    put = {"repositoryName": repository, "imageManifest": image["imageManifest"], "imageTag": tag, "imageDigest": digest}
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


def handler(event, context):
    job = event.get("CodePipeline.job") if isinstance(event, dict) else None
    job_id = job.get("id") if isinstance(job, dict) else None
    if not isinstance(job_id, str) or not job_id:
        # Not a CodePipeline invocation: there is no job to report to.
        LOG.error("invoked without a CodePipeline job id; event keys: %s", sorted(event) if isinstance(event, dict) else type(event).__name__)
        return {"status": "ignored", "reason": "no CodePipeline job in the event"}
    pipeline = client("codepipeline")
    try:
        repository, digest, tag = parse_parameters(job)
        summary = promote(client("ecr"), repository, digest, tag)
    except PromotionError as err:
        return report_failure(pipeline, job_id, str(err))
    except (ClientError, BotoCoreError) as err:
        return report_failure(pipeline, job_id, f"AWS call failed: {err}")
    except Exception as err:  # noqa: BLE001 - any failure must reach CodePipeline
        LOG.exception("unexpected error in job %s", job_id)
        return report_failure(pipeline, job_id, f"unexpected error: {type(err).__name__}: {err}")
    LOG.info("job %s: %s", job_id, summary)
    pipeline.put_job_success_result(
        jobId=job_id,
        executionDetails={"summary": summary[:2048], "percentComplete": 100},
        outputVariables={"PROMOTED_DIGEST": digest, "PROMOTED_TAG": tag},
    )
    return {"status": "succeeded", "summary": summary}


def report_failure(pipeline, job_id, message):
    LOG.error("job %s failed: %s", job_id, message)
    pipeline.put_job_failure_result(
        jobId=job_id,
        failureDetails={"type": "JobFailed", "message": message[:5000]},
    )
    return {"status": "failed", "message": message}
