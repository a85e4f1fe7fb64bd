"""The webhook receiver against moto's Secrets Manager and EventBridge."""

import base64
import hashlib
import hmac
import json
import logging

import boto3
import pytest
from conftest import AWS_ERRORS, client_error, load_lambda

SECRET = "s3cr3t-generated-by-the-stack"
BUS = "orders-github-events"


@pytest.fixture(autouse=True)
def never_logs_the_secret(caplog):
    """Every test: the log (at the function's INFO level) never holds the secret."""
    caplog.set_level(logging.INFO)
    yield
    assert SECRET not in caplog.text


@pytest.fixture
def receiver(mocked_aws, monkeypatch):
    arn = boto3.client("secretsmanager").create_secret(Name="webhook", SecretString=SECRET)["ARN"]
    events = boto3.client("events")
    events.create_event_bus(Name=BUS)
    # Capture everything published on the bus in a queue, to count and read the events.
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="captured")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName=BUS, EventPattern=json.dumps({"source": ["shipline.github"]}))
    events.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "q", "Arn": queue_arn}])
    monkeypatch.setenv("WEBHOOK_SECRET_ARN", arn)
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    module = load_lambda("webhook")

    def published():
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    module.published = published
    yield module


def push_payload(ref="refs/heads/main", deleted=False, repository="acme/orders"):
    return {
        "ref": ref,
        "before": "a" * 40,
        "after": "0" * 40 if deleted else "b" * 40,
        "deleted": deleted,
        "repository": {"full_name": repository},
        "pusher": {"name": "octocat"},
        "commits": [],
    }


def delivery(payload, event="push", secret=SECRET, signature=None, base64_body=False, body=None):
    raw = body if body is not None else json.dumps(payload).encode()
    sig = signature if signature is not None else "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": "d-123", "Content-Type": "application/json"}
    if sig:
        headers["X-Hub-Signature-256"] = sig
    return {
        "headers": headers,
        "isBase64Encoded": base64_body,
        "body": base64.b64encode(raw).decode() if base64_body else raw.decode("utf-8", "replace"),
    }


@pytest.mark.parametrize("base64_body", [False, True])
def test_valid_push_publishes_exactly_one_event(receiver, base64_body):
    response = receiver.handler(delivery(push_payload(), base64_body=base64_body), None)
    assert response["statusCode"] == 200
    events = receiver.published()
    assert len(events) == 1
    assert events[0]["source"] == "shipline.github"
    assert events[0]["detail-type"] == "GitHub Push"
    assert events[0]["detail"] == {
        "repository": "acme/orders",
        "ref": "refs/heads/main",
        "before": "a" * 40,
        "after": "b" * 40,
        "deleted": False,
        "pusher": "octocat",
        "delivery": "d-123",
    }


@pytest.mark.parametrize(
    "name, make, status",
    [
        ("wrong secret", lambda: delivery(push_payload(), secret="not-the-secret"), 401),
        ("missing header", lambda: delivery(push_payload(), signature=""), 401),
        ("wrong algorithm prefix", lambda: delivery(push_payload(), signature="sha1=" + "0" * 40), 401),
        (
            "truncated signature",
            lambda: {
                **delivery(push_payload()),
                "headers": {
                    **delivery(push_payload())["headers"],
                    "X-Hub-Signature-256": delivery(push_payload())["headers"]["X-Hub-Signature-256"][:-4],
                },
            },
            401,
        ),
        (
            "tampered body",
            lambda: {**delivery(push_payload()), "body": json.dumps(push_payload(ref="refs/heads/evil"))},
            401,
        ),
        ("non-json body", lambda: delivery(None, body=b"not json at all"), 400),
        ("oversized body", lambda: delivery(None, body=b"x" * (1024 * 1024 + 1)), 413),
        ("push without repository", lambda: delivery({"ref": "refs/heads/main"}), 400),
        ("unknown event type", lambda: delivery({"zen": "hi"}, event="issues"), 202),
        ("ping", lambda: delivery({"zen": "Keep it logically awesome."}, event="ping"), 200),
    ],
)
def test_rejected_or_ignored_deliveries_publish_nothing(receiver, name, make, status):
    response = receiver.handler(make(), None)
    assert response["statusCode"] == status, name
    assert receiver.published() == [], name


@pytest.mark.parametrize(
    "payload",
    [
        push_payload(deleted=True),  # branch deletion
        push_payload(ref="refs/tags/v1.0.0"),  # tag push
    ],
)
def test_non_matching_pushes_are_published_for_the_rule_to_ignore(receiver, payload):
    """Filtering is the rule's job (tested in Rust against the synthesized pattern): the
    receiver publishes every authentic push with `ref` and `deleted` intact."""
    assert receiver.handler(delivery(payload), None)["statusCode"] == 200
    [event] = receiver.published()
    assert event["detail"]["ref"] == payload["ref"]
    assert event["detail"]["deleted"] is payload["deleted"]


def test_secret_is_read_once_per_cold_start(receiver):
    calls = []
    real = receiver.client("secretsmanager")

    class Counting:
        def get_secret_value(self, **kwargs):
            calls.append(kwargs)
            return real.get_secret_value(**kwargs)

    receiver._clients["secretsmanager"] = Counting()
    for _ in range(3):
        assert receiver.handler(delivery(push_payload()), None)["statusCode"] == 200
    assert len(calls) == 1


def test_signature_uses_constant_time_comparison(receiver, monkeypatch):
    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(receiver.hmac, "compare_digest", lambda a, b: compared.append(1) or real(a, b))
    receiver.handler(delivery(push_payload()), None)
    assert compared == [1]


def test_eventbridge_failure_is_a_502(receiver):
    class Refusing:
        def put_events(self, **kwargs):
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]}

    receiver._clients["events"] = Refusing()
    assert receiver.handler(delivery(push_payload()), None)["statusCode"] == 502


def sign(raw):
    return "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()


def signed(raw, event="push", base64_body=False):
    """A delivery of the raw bytes `raw`, correctly signed."""
    return delivery(None, event=event, body=raw, signature=sign(raw), base64_body=base64_body)


def answered(response, status):
    """A defined answer: the status and a short JSON body with a message."""
    assert response["statusCode"] == status, response
    assert len(response["body"]) < 300 and json.loads(response["body"])["message"]
    return json.loads(response["body"])["message"]


PUSH = json.dumps(push_payload()).encode()
# Deliveries no GitHub would send, each with the answer it gets; nothing is published.
MALFORMED = {
    "event is a list": (lambda: [], 400),
    "event is null": (lambda: None, 400),
    "event is a string": (lambda: "GET /", 400),
    "no headers at all": (lambda: {"body": PUSH.decode()}, 401),
    "headers are a list": (lambda: {**signed(PUSH), "headers": [["X-Hub-Signature-256", sign(PUSH)]]}, 401),
    "headers are a string": (lambda: {**signed(PUSH), "headers": "X-Hub-Signature-256: x"}, 401),
    "header values are not strings": (
        lambda: {**signed(PUSH), "headers": {"X-Hub-Signature-256": None, "X-GitHub-Event": ["push"], 7: 8}},
        401,
    ),
    "non-ASCII signature": (lambda: delivery(push_payload(), signature="sha256=\u00e9" * 10), 401),
    "body is a number": (lambda: {**signed(PUSH), "body": 5}, 400),
    "body is an object": (lambda: {**signed(PUSH), "body": {"ref": "refs/heads/main"}}, 400),
    "body is a list": (lambda: {**signed(PUSH), "body": [1]}, 400),
    "body is a lone surrogate": (lambda: {**signed(PUSH), "body": "\ud800"}, 400),
    "bad base64": (lambda: {**signed(PUSH), "isBase64Encoded": True, "body": "not base64!"}, 400),
    "non-ASCII base64": (lambda: {**signed(PUSH), "isBase64Encoded": True, "body": "\u00e9\u00e9\u00e9\u00e9"}, 400),
    "huge body": (lambda: delivery(None, body=b"x" * (6 * 1024 * 1024)), 413),
    "huge base64 body": (lambda: delivery(None, body=b"x" * (2 * 1024 * 1024), base64_body=True), 413),
    "signed but not UTF-8": (lambda: signed(b"\xff\xfe{}", base64_body=True), 400),
    "signed deeply nested array": (lambda: signed(b"[" * 100_000), 400),
    "signed deeply nested object": (lambda: signed(b'{"a":' * 100_000), 400),
    "signed deeply nested ping": (lambda: signed(b"[" * 100_000, event="ping"), 400),
    "signed JSON array": (lambda: signed(b"[1, 2]"), 400),
    "signed JSON null": (lambda: signed(b"null"), 400),
    "signed JSON string": (lambda: signed(b'"push"'), 400),
    "signed JSON number": (lambda: signed(b"5"), 400),
    "repository is a string": (
        lambda: signed(json.dumps({**push_payload(), "repository": "acme/orders"}).encode()),
        400,
    ),
    "full_name is a number": (
        lambda: signed(json.dumps({**push_payload(), "repository": {"full_name": 5}}).encode()),
        400,
    ),
    "ref is a number": (lambda: signed(json.dumps({**push_payload(), "ref": 5}).encode()), 400),
    "before is null": (lambda: signed(json.dumps({**push_payload(), "before": None}).encode()), 400),
    "after is empty": (lambda: signed(json.dumps({**push_payload(), "after": ""}).encode()), 400),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_delivery_gets_a_defined_answer(receiver, name):
    make, status = MALFORMED[name]
    answered(receiver.handler(make(), None), status)
    assert receiver.published() == []


@pytest.mark.parametrize("pusher", [None, [], "octocat", {"name": {"first": "octo"}}, {"name": 5}])
def test_odd_optional_fields_are_still_published(receiver, pusher):
    payload = {**push_payload(), "pusher": pusher, "deleted": "yes"}
    answered(receiver.handler(signed(json.dumps(payload).encode()), None), 200)
    [event] = receiver.published()
    assert event["detail"]["deleted"] is False


@pytest.mark.parametrize("error", sorted(AWS_ERRORS) + ["ResourceNotFoundException"])
def test_an_unreadable_secret_is_a_502_and_is_read_again_next_time(receiver, error):
    make = AWS_ERRORS.get(error, lambda: client_error(error, 400))
    real = receiver.client("secretsmanager")

    class Failing:
        def get_secret_value(self, **kwargs):
            raise make()

    receiver._clients["secretsmanager"] = Failing()
    assert "secret" in answered(receiver.handler(delivery(push_payload()), None), 502)
    assert receiver.published() == []
    receiver._clients["secretsmanager"] = real
    answered(receiver.handler(delivery(push_payload()), None), 200)


@pytest.mark.parametrize("error", sorted(AWS_ERRORS) + ["ValidationException"])
def test_a_failing_put_events_call_is_a_502(receiver, error):
    make = AWS_ERRORS.get(error, lambda: client_error(error, 400))

    class Failing:
        def put_events(self, **kwargs):
            raise make()

    receiver._clients["events"] = Failing()
    assert "publish" in answered(receiver.handler(delivery(push_payload()), None), 502)


@pytest.mark.parametrize(
    "entries",
    [
        [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
        [{"ErrorCode": "ValidationException", "ErrorMessage": "Event too large"}],
    ],
)
def test_a_refused_entry_is_a_502(receiver, entries):
    class Refusing:
        def put_events(self, **kwargs):
            return {"FailedEntryCount": 1, "Entries": entries}

    receiver._clients["events"] = Refusing()
    assert "publish" in answered(receiver.handler(delivery(push_payload()), None), 502)


def test_a_push_too_large_for_one_event_gets_a_defined_answer(receiver):
    """A ref near GitHub's body limit: EventBridge (not moto) refuses such an entry; the
    receiver answers either way."""
    payload = push_payload(ref="refs/heads/" + "b" * 900_000)
    response = receiver.handler(delivery(payload), None)
    assert response["statusCode"] in (200, 502)
    answered(response, response["statusCode"])


def test_an_unexpected_error_is_a_500_not_a_crash(receiver):
    class Broken:
        def put_events(self, **kwargs):
            raise RuntimeError("a bug")

    receiver._clients["events"] = Broken()
    answered(receiver.handler(delivery(push_payload()), None), 500)


def test_aws_calls_end_within_the_functions_timeout():
    """The function has 10 s (template Timeout) and makes at most two calls (GetSecretValue on
    a cold start, PutEvents); each gives up after its attempts' timeouts, with time to spare."""
    module = load_lambda("webhook")
    config = module.CLIENT_CONFIG
    per_call = config.retries["max_attempts"] * (config.connect_timeout + config.read_timeout)
    assert 2 * per_call < 10
