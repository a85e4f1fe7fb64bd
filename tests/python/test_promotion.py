"""The promotion function against moto's ECR (real tag semantics), CodePipeline stubbed."""

import hashlib
import json
import logging

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError
from conftest import AWS_ERRORS, client_error, load_lambda

REPO = "orders"
SECRET = "AKIA-SECRET-DO-NOT-LOG"

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


class FakePipeline:
    """Records the job results the function reports; with `fail` set, each report is
    recorded and then refused with that exception."""

    def __init__(self):
        self.calls = []
        self.fail = None

    def put_job_success_result(self, **kwargs):
        self.calls.append(("success", kwargs))
        if self.fail:
            raise self.fail

    def put_job_failure_result(self, **kwargs):
        self.calls.append(("failure", kwargs))
        if self.fail:
            raise self.fail

    def only(self):
        assert len(self.calls) == 1, f"expected exactly one job result, got {self.calls}"
        return self.calls[0]


@pytest.fixture
def aws(mocked_aws):
    ecr = boto3.client("ecr")
    ecr.create_repository(
        repositoryName=REPO,
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[
            {"filterType": "WILDCARD", "filter": t} for t in ("dev", "staging", "production")
        ],
    )
    yield ecr


@pytest.fixture
def promotion(aws):
    module = load_lambda("promotion")
    pipeline = FakePipeline()
    module._clients.update({"ecr": aws, "codepipeline": pipeline})
    module.pipeline_stub = pipeline
    return module


def push(ecr, tag, media_type=DOCKER_V2, marker="a"):
    """Pushes a manifest of `media_type` under `tag`; returns its digest."""
    if media_type in (DOCKER_LIST, OCI_INDEX):
        body = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": "sha256:" + hashlib.sha256(marker.encode()).hexdigest(),
                    "size": 10,
                    "platform": {"architecture": "amd64", "os": "linux"},
                }
            ],
        }
    else:
        body = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": 7,
                "digest": "sha256:" + hashlib.sha256(marker.encode()).hexdigest(),
            },
            "layers": [],
        }
    manifest = json.dumps(body)
    # Like ECR, the digest is the sha256 of the manifest bytes (moto would invent one).
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    response = ecr.put_image(
        repositoryName=REPO, imageManifest=manifest, imageTag=tag, imageManifestMediaType=media_type, imageDigest=digest
    )
    return response["image"]["imageId"]["imageDigest"]


def job_event(digest, tag="production", repository=REPO, raw=None):
    parameters = raw if raw is not None else json.dumps({"repository": repository, "digest": digest, "tag": tag})
    return {
        "CodePipeline.job": {
            "id": "11111111-2222-3333-4444-555555555555",
            "accountId": "123456789012",
            "data": {
                "actionConfiguration": {
                    "configuration": {"FunctionName": "orders-promote", "UserParameters": parameters}
                },
                "inputArtifacts": [
                    {
                        "name": "ImageDetail",
                        "location": {
                            "type": "S3",
                            "s3Location": {"bucketName": "artifacts", "objectKey": "orders/ImageDetail/abc.zip"},
                        },
                    }
                ],
                "artifactCredentials": {"accessKeyId": SECRET, "secretAccessKey": SECRET, "sessionToken": SECRET},
            },
        }
    }


def tag_digest(ecr, tag):
    details = ecr.describe_images(repositoryName=REPO, imageIds=[{"imageTag": tag}])["imageDetails"]
    return details[0]["imageDigest"]


def test_success_tags_the_built_digest(promotion, aws):
    built = push(aws, "commit-1")
    push(aws, "commit-2", marker="newer")  # a newer image must not be promoted instead
    result = promotion.handler(job_event(built), None)
    kind, call = promotion.pipeline_stub.only()
    assert kind == "success"
    assert call["jobId"] == "11111111-2222-3333-4444-555555555555"
    assert call["outputVariables"] == {"PROMOTED_DIGEST": built, "PROMOTED_TAG": "production"}
    assert tag_digest(aws, "production") == built
    assert built in result["summary"]


def test_rerun_is_idempotent(promotion, aws):
    built = push(aws, "commit-1")
    promotion.handler(job_event(built), None)
    promotion.handler(job_event(built), None)
    assert [kind for kind, _ in promotion.pipeline_stub.calls] == ["success", "success"]
    assert "already points at" in promotion.pipeline_stub.calls[1][1]["executionDetails"]["summary"]
    assert tag_digest(aws, "production") == built


def test_moves_the_tag_and_says_from_where(promotion, aws):
    first = push(aws, "commit-1", marker="one")
    second = push(aws, "commit-2", marker="two")
    promotion.handler(job_event(first), None)
    result = promotion.handler(job_event(second), None)
    assert tag_digest(aws, "production") == second
    assert f"from {first} to {second}" in result["summary"]
    # The commit tags stay where they were.
    assert tag_digest(aws, "commit-1") == first


def test_each_stage_moves_only_its_own_tag_to_the_built_digest(promotion, aws):
    released = push(aws, "commit-1", marker="one")
    for stage in ("dev", "staging", "production"):
        promotion.handler(job_event(released, tag=stage), None)
    built = push(aws, "commit-2", marker="two")
    promotion.handler(job_event(built, tag="dev"), None)
    promotion.handler(job_event(built, tag="dev"), None)  # a re-run changes nothing
    assert [kind for kind, _ in promotion.pipeline_stub.calls] == ["success"] * 5
    assert tag_digest(aws, "dev") == built
    assert tag_digest(aws, "staging") == released and tag_digest(aws, "production") == released
    assert promotion.pipeline_stub.calls[-1][1]["outputVariables"] == {"PROMOTED_DIGEST": built, "PROMOTED_TAG": "dev"}


@pytest.mark.parametrize("media_type", [DOCKER_V2, OCI_MANIFEST, OCI_INDEX, DOCKER_LIST])
def test_passes_the_manifest_media_type_through(promotion, aws, media_type):
    built = push(aws, "commit-1", media_type=media_type)
    seen = []
    real_put = aws.put_image

    def spy(**kwargs):
        seen.append(kwargs)
        return real_put(**kwargs)

    aws.put_image = spy
    promotion.handler(job_event(built), None)
    assert promotion.pipeline_stub.only()[0] == "success"
    assert seen[0]["imageManifestMediaType"] == media_type
    assert seen[0]["imageDigest"] == built
    assert tag_digest(aws, "production") == built


def test_missing_digest_fails_clearly(promotion, aws):
    push(aws, "commit-1")
    absent = "sha256:" + "0" * 64
    promotion.handler(job_event(absent), None)
    kind, call = promotion.pipeline_stub.only()
    assert kind == "failure"
    assert f"image {absent} is not in repository {REPO}" in call["failureDetails"]["message"]
    assert call["failureDetails"]["type"] == "JobFailed"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (json.dumps({"repository": REPO, "tag": "production"}), "is not an image digest"),
        (
            json.dumps({"repository": REPO, "digest": "#{BuildVariables.IMAGE_DIGEST}", "tag": "production"}),
            "did the Build stage export IMAGE_DIGEST",
        ),
        (
            json.dumps({"repository": "Bad Repo", "digest": "sha256:" + "a" * 64, "tag": "production"}),
            "is not an ECR repository name",
        ),
        (
            json.dumps({"repository": REPO, "digest": "sha256:" + "a" * 64, "tag": "no spaces allowed"}),
            "is not a valid image tag",
        ),
    ],
)
def test_malformed_job_data_fails_with_a_readable_message(promotion, raw, expected):
    promotion.handler(job_event(None, raw=raw), None)
    kind, call = promotion.pipeline_stub.only()
    assert kind == "failure"
    assert expected in call["failureDetails"]["message"]


def test_missing_user_parameters_fails(promotion):
    event = job_event("sha256:" + "a" * 64)
    del event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"]
    promotion.handler(event, None)
    kind, call = promotion.pipeline_stub.only()
    assert kind == "failure"
    assert "no UserParameters" in call["failureDetails"]["message"]


def test_unexpected_exception_becomes_a_failure_result(promotion):
    class Exploding:
        def describe_images(self, **kwargs):
            raise RuntimeError("boom")

    promotion._clients["ecr"] = Exploding()
    promotion.handler(job_event("sha256:" + "a" * 64), None)
    kind, call = promotion.pipeline_stub.only()
    assert kind == "failure"
    assert call["failureDetails"]["message"] == "unexpected error: RuntimeError: boom"


def test_aws_error_becomes_a_failure_result(promotion, aws):
    aws.delete_repository(repositoryName=REPO, force=True)
    promotion.handler(job_event("sha256:" + "a" * 64), None)
    kind, call = promotion.pipeline_stub.only()
    assert kind == "failure"
    assert call["failureDetails"]["message"].startswith("AWS call failed")


def test_image_already_exists_race_is_success(promotion, aws):
    """Another run put the tag between our lookup and our PutImage."""
    built = push(aws, "commit-1")
    real_describe = aws.describe_images

    def stale_describe(**kwargs):
        if kwargs.get("imageIds") == [{"imageTag": "production"}]:
            # First lookup: tag not there yet; meanwhile a concurrent run puts it.
            aws.describe_images = real_describe
            manifest = aws.batch_get_image(repositoryName=REPO, imageIds=[{"imageDigest": built}])["images"][0]
            aws.put_image(
                repositoryName=REPO,
                imageManifest=manifest["imageManifest"],
                imageTag="production",
                imageManifestMediaType=DOCKER_V2,
            )
            raise ClientError({"Error": {"Code": "ImageNotFoundException", "Message": "not found"}}, "DescribeImages")
        return real_describe(**kwargs)

    aws.describe_images = stale_describe
    promotion.handler(job_event(built), None)
    assert promotion.pipeline_stub.only()[0] == "success"
    assert tag_digest(aws, "production") == built


def test_event_without_a_job_reports_nothing(promotion):
    result = promotion.handler({"hello": "world"}, None)
    assert result["status"] == "ignored"
    assert promotion.pipeline_stub.calls == []


@pytest.mark.parametrize("make_digest", [lambda ecr: push(ecr, "commit-1"), lambda ecr: "sha256:" + "0" * 64])
def test_never_logs_artifact_credentials(promotion, aws, caplog, make_digest):
    caplog.set_level(logging.DEBUG)
    promotion.handler(job_event(make_digest(aws)), None)
    assert SECRET not in caplog.text
    assert caplog.records, "the function should log what it did"


@pytest.mark.parametrize("call", ["describe_images", "batch_get_image", "put_image"])
@pytest.mark.parametrize("error", sorted(AWS_ERRORS))
def test_each_ecr_call_failing_ends_in_one_failure_result(promotion, aws, caplog, call, error):
    built = push(aws, "commit-1")

    def failing(**kwargs):
        raise AWS_ERRORS[error]()

    setattr(aws, call, failing)
    result = promotion.handler(job_event(built), None)
    kind, report = promotion.pipeline_stub.only()
    assert kind == "failure" and result["status"] == "failed"
    message = report["failureDetails"]["message"]
    assert message.startswith("AWS call failed")
    # A refusal of the function's own permissions says how the grants are fixed; others do not.
    assert ("run `shipline deploy`" in message) == (error == "AccessDeniedException"), message
    assert SECRET not in caplog.text


LONG = "x" * 1_000_000
MALFORMED_JOBS = {
    "job is a list": {"CodePipeline.job": [1]},
    "job id is a number": {"CodePipeline.job": {"id": 7, "data": {}}},
    "job id is empty": {"CodePipeline.job": {"id": "", "data": {}}},
    "event is a list": [1, 2],
    "event is null": None,
}
MALFORMED_DATA = {
    "no data": {},
    "data is a list": {"data": []},
    "data is a string": {"data": "x"},
    "actionConfiguration is null": {"data": {"actionConfiguration": None}},
    "configuration is a string": {"data": {"actionConfiguration": {"configuration": "x"}}},
}
# UserParameters as CodePipeline could hand them over, none of them a valid request.
MALFORMED_PARAMETERS = [
    None,
    5,
    1.5,
    True,
    [],
    {},
    {"repository": REPO},
    "",
    " ",
    "null",
    "5",
    '"text"',
    "[]",
    "[" * 100_000,
    '{"a":' * 100_000,
    "{" * 10,
    "\ud800",
    '{"repository": "\ud800"}',
    json.dumps({"action": ["promote"], "repository": REPO, "digest": "sha256:" + "a" * 64, "tag": "dev"}),
    json.dumps({"action": {}, "repository": REPO}),
    json.dumps({"action": None, "repository": REPO, "digest": "sha256:" + "a" * 64, "tag": "dev"}),
    json.dumps({"repository": 5, "digest": "sha256:" + "a" * 64, "tag": "dev"}),
    json.dumps({"repository": REPO, "digest": ["sha256:" + "a" * 64], "tag": "dev"}),
    json.dumps({"repository": REPO, "digest": "sha256:" + "a" * 64, "tag": {"name": "dev"}}),
    json.dumps({"repository": REPO, "digest": "sha256:" + "a" * 64, "tag": None}),
    json.dumps({"repository": LONG, "digest": "sha256:" + "a" * 64, "tag": "dev"}),
    json.dumps({"repository": REPO, "digest": "sha256:" + "a" * 64 + "\n", "tag": "dev"}),
    json.dumps({"repository": REPO, "digest": "sha256:" + "a" * 64, "tag": "dev\n"}),
]


@pytest.mark.parametrize("name", sorted(MALFORMED_JOBS))
def test_an_event_without_a_usable_job_id_reports_nothing_and_does_not_raise(promotion, name):
    assert promotion.handler(MALFORMED_JOBS[name], None)["status"] == "ignored"
    assert promotion.pipeline_stub.calls == []


@pytest.mark.parametrize("name", sorted(MALFORMED_DATA))
def test_a_job_without_its_configuration_fails_readably(promotion, name):
    event = {"CodePipeline.job": {"id": "11111111-2222-3333-4444-555555555555", **MALFORMED_DATA[name]}}
    promotion.handler(event, None)
    kind, report = promotion.pipeline_stub.only()
    assert kind == "failure"
    assert "no UserParameters" in report["failureDetails"]["message"]


@pytest.mark.parametrize("raw", MALFORMED_PARAMETERS, ids=lambda raw: repr(raw)[:40])
def test_malformed_user_parameters_end_in_one_readable_failure(promotion, caplog, raw):
    event = job_event(None)
    event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] = raw
    result = promotion.handler(event, None)
    kind, report = promotion.pipeline_stub.only()
    message = report["failureDetails"]["message"]
    assert kind == "failure" and result["status"] == "failed"
    assert "UserParameters" in message and not message.startswith("unexpected error"), message
    assert len(message) <= 5000
    assert SECRET not in caplog.text


# Reporting the result itself fails. Retryable (the call may get through later): throttling,
# a 5xx, no answer: the report is tried again, in the invocation. Not retryable (the same
# report would be refused again, or the job no longer waits for one): one attempt. Either way
# the handler logs and returns; it never raises, so Lambda never re-runs the job.
REPORT_ERRORS = {
    "ThrottlingException": (lambda: client_error("ThrottlingException", 400), True),
    "InternalFailure": (lambda: client_error("InternalFailure", 500), True),
    "ServiceUnavailable": (lambda: client_error("ServiceUnavailable", 503), True),
    "EndpointConnectionError": (AWS_ERRORS["EndpointConnectionError"], True),
    "ReadTimeoutError": (lambda: ReadTimeoutError(endpoint_url="https://codepipeline.invalid"), True),
    "ConnectionClosedError": (lambda: ConnectionClosedError(endpoint_url="https://codepipeline.invalid"), True),
    "AccessDeniedException": (lambda: client_error("AccessDeniedException", 400), False),
    "InvalidJobStateException": (lambda: client_error("InvalidJobStateException", 400), False),
    "JobNotFoundException": (lambda: client_error("JobNotFoundException", 400), False),
    "ValidationException": (lambda: client_error("ValidationException", 400), False),
    "OutputVariablesSizeExceededException": (lambda: client_error("OutputVariablesSizeExceededException", 400), False),
    "RuntimeError": (lambda: RuntimeError("a bug"), False),
}


def report_fails(module, error, event, caplog):
    """Runs the handler with CodePipeline refusing every report; returns the report's kind."""
    make, retryable = REPORT_ERRORS[error]
    module.pipeline_stub.fail = make()
    module.REPORT_RETRY_DELAYS = (0, 0)
    result = module.handler(event, None)  # never raises
    assert result["status"] == "unreported"
    kinds = {kind for kind, _ in module.pipeline_stub.calls}
    assert len(kinds) == 1, "one kind of result, never both"
    assert len(module.pipeline_stub.calls) == (3 if retryable else 1), module.pipeline_stub.calls
    assert "could not report" in caplog.text
    assert SECRET not in caplog.text
    return kinds.pop()


@pytest.mark.parametrize("error", sorted(REPORT_ERRORS))
def test_a_failing_success_report_is_retried_only_when_it_can_get_through(promotion, aws, caplog, error):
    assert report_fails(promotion, error, job_event(push(aws, "commit-1")), caplog) == "success"


@pytest.mark.parametrize("error", sorted(REPORT_ERRORS))
def test_a_failing_failure_report_is_retried_only_when_it_can_get_through(promotion, aws, caplog, error):
    assert report_fails(promotion, error, job_event("sha256:" + "0" * 64), caplog) == "failure"


def test_a_throttled_report_is_retried_without_running_the_job_again(promotion, aws):
    """Regression: the handler re-raised, so Lambda re-ran the whole job minutes later; after a
    report that CodePipeline had in fact received, that could move a tag back over a newer
    execution's promotion. Now only the report is retried."""
    built = push(aws, "commit-1")
    promotion.REPORT_RETRY_DELAYS = (0, 0)
    throttled = client_error("ThrottlingException", 400)
    original = promotion.pipeline_stub.put_job_success_result

    def first_throttled(**kwargs):
        original(**kwargs)
        if len(promotion.pipeline_stub.calls) == 1:
            raise throttled

    promotion.pipeline_stub.put_job_success_result = first_throttled
    result = promotion.handler(job_event(built), None)
    assert result["status"] == "succeeded"
    assert [kind for kind, _ in promotion.pipeline_stub.calls] == ["success", "success"]
    assert tag_digest(aws, "production") == built


def test_aws_calls_end_within_the_functions_timeout(promotion):
    """The function has 60 s; a promotion makes at most three ECR calls (DescribeImages,
    BatchGetImage, PutImage) and its report attempts, each giving up after its timeouts."""
    config = promotion.CLIENT_CONFIG
    per_call = config.retries["max_attempts"] * (config.connect_timeout + config.read_timeout)
    reports = 1 + len(promotion.REPORT_RETRY_DELAYS)
    assert (3 + reports) * per_call + sum(promotion.REPORT_RETRY_DELAYS) < 60
