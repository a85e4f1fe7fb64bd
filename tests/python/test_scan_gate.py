"""The scan gate (the delivery function with action "scan-gate"): ECR scan results scripted
with botocore's Stubber (request and response shapes checked against the ECR API model),
CodePipeline recorded."""

import json

import boto3
import pytest
from botocore.stub import Stubber
from conftest import AWS_ERRORS, client_error, load_lambda
from test_promotion import FakePipeline

REPO = "orders"
DIGEST = "sha256:" + "a" * 64
REQUEST = {"repositoryName": REPO, "imageId": {"imageDigest": DIGEST}, "maxResults": 1000}


def job(continuation=None):
    data = {
        "actionConfiguration": {
            "configuration": {
                "UserParameters": json.dumps({"action": "scan-gate", "repository": REPO, "digest": DIGEST})
            }
        }
    }
    if continuation is not None:
        data["continuationToken"] = continuation
    return {"CodePipeline.job": {"id": "job-1", "data": data}}


def scan(status, findings=(), description=None):
    counts = {}
    for _, severity in findings:
        counts[severity] = counts.get(severity, 0) + 1
    scan_status = {"status": status}
    if description:
        scan_status["description"] = description
    return {
        "repositoryName": REPO,
        "imageId": {"imageDigest": DIGEST},
        "imageScanStatus": scan_status,
        "imageScanFindings": {
            "findings": [{"name": name, "severity": severity} for name, severity in findings],
            "findingSeverityCounts": counts,
        },
    }


@pytest.fixture
def gate(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("GATE_SEVERITY", "CRITICAL")
    monkeypatch.setenv("GATE_MAX_FINDINGS", "0")
    monkeypatch.setenv("GATE_IGNORE", "")
    monkeypatch.setenv("GATE_WAIT_SECONDS", "600")
    module = load_lambda("promotion")
    ecr = boto3.client("ecr", aws_access_key_id="testing", aws_secret_access_key="testing")
    stubber = Stubber(ecr)
    stubber.activate()
    pipeline = FakePipeline()
    module._clients.update({"ecr": ecr, "codepipeline": pipeline})
    module.stubber, module.pipeline_stub = stubber, pipeline
    yield module
    stubber.assert_no_pending_responses()


def answer(gate, response):
    gate.stubber.add_response("describe_image_scan_findings", response, REQUEST)


def test_complete_without_blocking_findings_passes_with_the_counts(gate):
    answer(gate, scan("COMPLETE", [("CVE-2024-1", "HIGH"), ("CVE-2024-2", "MEDIUM"), ("CVE-2024-3", "MEDIUM")]))
    assert gate.handler(job(), None)["status"] == "succeeded"
    kind, result = gate.pipeline_stub.only()
    assert kind == "success" and "continuationToken" not in result
    summary = result["executionDetails"]["summary"]
    assert "scan gate passed orders@" + DIGEST in summary
    assert "0 finding(s) at CRITICAL or above (allowed 0)" in summary
    assert "HIGH 1, MEDIUM 2" in summary
    assert result["outputVariables"]["BLOCKING_FINDINGS"] == "0"


def test_a_critical_finding_blocks_and_is_named(gate):
    answer(gate, scan("COMPLETE", [("CVE-2024-9", "CRITICAL"), ("CVE-2024-1", "HIGH")]))
    assert gate.handler(job(), None)["status"] == "failed"
    kind, result = gate.pipeline_stub.only()
    message = result["failureDetails"]["message"]
    assert kind == "failure"
    assert "1 finding(s) at CRITICAL or above (allowed 0): CVE-2024-9" in message
    assert "CRITICAL 1, HIGH 1" in message


def test_the_threshold_severity_and_count_come_from_config(gate, monkeypatch):
    monkeypatch.setenv("GATE_SEVERITY", "HIGH")
    monkeypatch.setenv("GATE_MAX_FINDINGS", "1")
    answer(gate, scan("COMPLETE", [("CVE-1", "HIGH"), ("CVE-2", "CRITICAL")]))
    gate.handler(job(), None)
    kind, result = gate.pipeline_stub.only()
    assert kind == "failure"
    assert "2 finding(s) at HIGH or above (allowed 1): CVE-1, CVE-2" in result["failureDetails"]["message"]


def test_ignored_ids_do_not_count_and_are_reported(gate, monkeypatch):
    monkeypatch.setenv("GATE_IGNORE", "CVE-2024-9,CVE-2000-1")
    answer(gate, scan("COMPLETE", [("CVE-2024-9", "CRITICAL")]))
    gate.handler(job(), None)
    kind, result = gate.pipeline_stub.only()
    assert kind == "success"
    assert "0 finding(s) at CRITICAL or above (allowed 0), 1 ignored by config" in result["executionDetails"]["summary"]


@pytest.mark.parametrize("status", ["IN_PROGRESS", "PENDING"])
def test_a_running_scan_returns_a_continuation_token_instead_of_sleeping(gate, status, monkeypatch):
    monkeypatch.setattr(gate.time, "time", lambda: 1000.0)
    answer(gate, scan(status))
    assert gate.handler(job(), None)["status"] == "in_progress"
    kind, result = gate.pipeline_stub.only()
    assert kind == "success"
    assert json.loads(result["continuationToken"]) == {"started": 1000.0}
    assert "waiting for the scan" in result["executionDetails"]["summary"]


def test_a_scan_not_started_yet_is_waited_for(gate, monkeypatch):
    monkeypatch.setattr(gate.time, "time", lambda: 1000.0)
    gate.stubber.add_client_error(
        "describe_image_scan_findings", "ScanNotFoundException", "no scan", 400, expected_params=REQUEST
    )
    gate.handler(job(), None)
    kind, result = gate.pipeline_stub.only()
    assert kind == "success" and "continuationToken" in result


def test_the_continuation_keeps_the_first_start_time_and_then_passes(gate, monkeypatch):
    monkeypatch.setattr(gate.time, "time", lambda: 1300.0)
    answer(gate, scan("IN_PROGRESS"))
    gate.handler(job(json.dumps({"started": 1000.0})), None)
    _, waiting = gate.pipeline_stub.only()
    assert json.loads(waiting["continuationToken"]) == {"started": 1000.0}
    assert "300 s so far" in waiting["executionDetails"]["summary"]
    gate.pipeline_stub.calls.clear()
    answer(gate, scan("COMPLETE"))
    gate.handler(job(waiting["continuationToken"]), None)
    kind, result = gate.pipeline_stub.only()
    assert kind == "success" and "continuationToken" not in result
    assert "no findings" in result["executionDetails"]["summary"]


def test_the_wait_limit_ends_in_a_clear_failure(gate, monkeypatch):
    monkeypatch.setattr(gate.time, "time", lambda: 1000.0 + 600)
    answer(gate, scan("IN_PROGRESS"))
    gate.handler(job(json.dumps({"started": 1000.0})), None)
    kind, result = gate.pipeline_stub.only()
    assert kind == "failure"
    assert "did not finish within 10 minute(s) (still IN_PROGRESS)" in result["failureDetails"]["message"]


def test_a_failed_scan_fails_with_its_reason(gate):
    answer(gate, scan("FAILED", description="internal scanner error"))
    gate.handler(job(), None)
    kind, result = gate.pipeline_stub.only()
    assert kind == "failure"
    assert result["failureDetails"]["message"].endswith("ended in FAILED: internal scanner error")


def test_an_unsupported_image_fails_readably(gate):
    answer(gate, scan("UNSUPPORTED_IMAGE", description="UnsupportedImageError: The operating system is not supported"))
    gate.handler(job(), None)
    kind, result = gate.pipeline_stub.only()
    assert kind == "failure"
    assert (
        "ECR cannot scan orders@" + DIGEST + " (UNSUPPORTED_IMAGE: UnsupportedImageError"
        in result["failureDetails"]["message"]
    )


def test_findings_on_several_pages_are_all_counted(gate):
    first = scan("COMPLETE", [("CVE-1", "CRITICAL")])
    first["nextToken"] = "page-2"
    answer(gate, first)
    gate.stubber.add_response(
        "describe_image_scan_findings", scan("COMPLETE", [("CVE-2", "CRITICAL")]), {**REQUEST, "nextToken": "page-2"}
    )
    gate.handler(job(), None)
    kind, result = gate.pipeline_stub.only()
    assert kind == "failure"
    assert "2 finding(s) at CRITICAL or above (allowed 0): CVE-1, CVE-2" in result["failureDetails"]["message"]


def test_an_unknown_action_is_refused(gate):
    bad = job()
    bad["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] = json.dumps(
        {"action": "deploy", "repository": REPO, "digest": DIGEST}
    )
    gate.handler(bad, None)
    kind, result = gate.pipeline_stub.only()
    assert kind == "failure" and "is not promote or scan-gate" in result["failureDetails"]["message"]


@pytest.mark.parametrize("error", sorted(AWS_ERRORS))
@pytest.mark.parametrize("page", [1, 2])
def test_a_failing_scan_lookup_ends_in_one_failure_result(gate, error, page):
    if page == 2:
        first = scan("COMPLETE", [("CVE-1", "LOW")])
        first["nextToken"] = "page-2"
        answer(gate, first)
    failure = AWS_ERRORS[error]()
    real = gate._clients["ecr"].describe_image_scan_findings
    calls = []

    def describe(**kwargs):
        calls.append(kwargs)
        if len(calls) == page:
            raise failure
        return real(**kwargs)

    gate._clients["ecr"].describe_image_scan_findings = describe
    assert gate.handler(job(), None)["status"] == "failed"
    kind, result = gate.pipeline_stub.only()
    assert kind == "failure" and result["failureDetails"]["message"].startswith("AWS call failed")


# Continuation tokens the gate did not write (CodePipeline hands back what we returned, so
# these mean corruption): the wait starts again now instead of failing or crashing.
CORRUPT_TOKENS = [
    "",
    " ",
    "not json",
    "[]",
    "123",
    "null",
    '"started"',
    "{}",
    '{"started": "abc"}',
    '{"started": null}',
    '{"started": true}',
    '{"started": [1000]}',
    '{"started": {"at": 1}}',
    '{"started": 1e999}',
    '{"started": -1e999}',
    '{"started": NaN}',
    '{"started": Infinity}',
    '{"started": 99999999999}',
    '{"started": -5}',
    "[" * 100_000,
    '{"started":' * 100_000,
    {"started": 900.0},
    42,
    ["started"],
]


@pytest.mark.parametrize("token", CORRUPT_TOKENS, ids=lambda token: repr(token)[:40])
def test_a_corrupt_continuation_token_restarts_the_wait(gate, monkeypatch, token):
    monkeypatch.setattr(gate.time, "time", lambda: 1000.0)
    answer(gate, scan("IN_PROGRESS"))
    assert gate.handler(job(token), None)["status"] == "in_progress"
    kind, result = gate.pipeline_stub.only()
    assert kind == "success"
    assert json.loads(result["continuationToken"]) == {"started": 1000.0}


@pytest.mark.parametrize("token", ["not json", "[" * 100_000, '{"started": NaN}'])
def test_a_corrupt_continuation_token_does_not_stop_a_finished_scan_being_judged(gate, token):
    answer(gate, scan("COMPLETE", [("CVE-2024-9", "CRITICAL")]))
    gate.handler(job(token), None)
    kind, result = gate.pipeline_stub.only()
    assert kind == "failure" and "scan gate blocked" in result["failureDetails"]["message"]


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("GATE_SEVERITY", "SEVERE", "GATE_SEVERITY 'SEVERE' is not one of"),
        ("GATE_MAX_FINDINGS", "many", "must be whole numbers"),
        ("GATE_WAIT_SECONDS", "1.5", "must be whole numbers"),
    ],
)
def test_a_malformed_gate_setting_fails_readably(gate, monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    gate.handler(job(), None)
    kind, result = gate.pipeline_stub.only()
    assert kind == "failure" and expected in result["failureDetails"]["message"]


@pytest.mark.parametrize(
    "code, status, retried",
    [
        ("ThrottlingException", 400, True),
        ("InternalFailure", 500, True),
        ("InvalidJobStateException", 400, False),
        ("AccessDeniedException", 400, False),
    ],
)
def test_a_failing_in_progress_report_is_retried_only_when_it_can_get_through(gate, monkeypatch, code, status, retried):
    monkeypatch.setattr(gate.time, "time", lambda: 1000.0)
    monkeypatch.setattr(gate, "REPORT_RETRY_DELAYS", (0,))
    answer(gate, scan("IN_PROGRESS"))
    gate.pipeline_stub.fail = client_error(code, status)
    assert gate.handler(job(), None)["status"] == "unreported"  # never raises
    calls = gate.pipeline_stub.calls
    assert len(calls) == (2 if retried else 1), calls
    kind, result = calls[0]
    assert kind == "success" and "continuationToken" in result
