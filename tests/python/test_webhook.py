"""The webhook receiver against moto's Secrets Manager and EventBridge."""
import base64
import hashlib
import hmac
import json

import boto3
import pytest
from conftest import load_lambda

SECRET = "s3cr3t-generated-by-the-stack"
BUS = "orders-github-events"


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
    return {"ref": ref, "before": "a" * 40, "after": "0" * 40 if deleted else "b" * 40, "deleted": deleted,
            "repository": {"full_name": repository}, "pusher": {"name": "octocat"}, "commits": []}


def delivery(payload, event="push", secret=SECRET, signature=None, base64_body=False, body=None):
    raw = body if body is not None else json.dumps(payload).encode()
    sig = signature if signature is not None else "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": "d-123", "Content-Type": "application/json"}
    if sig:
        headers["X-Hub-Signature-256"] = sig
    return {"headers": headers, "isBase64Encoded": base64_body,
            "body": base64.b64encode(raw).decode() if base64_body else raw.decode("utf-8", "replace")}


@pytest.mark.parametrize("base64_body", [False, True])
def test_valid_push_publishes_exactly_one_event(receiver, base64_body):
    response = receiver.handler(delivery(push_payload(), base64_body=base64_body), None)
    assert response["statusCode"] == 200
    events = receiver.published()
    assert len(events) == 1
    assert events[0]["source"] == "shipline.github"
    assert events[0]["detail-type"] == "GitHub Push"
    assert events[0]["detail"] == {"repository": "acme/orders", "ref": "refs/heads/main", "before": "a" * 40,
                                   "after": "b" * 40, "deleted": False, "pusher": "octocat", "delivery": "d-123"}


@pytest.mark.parametrize("name, make, status", [
    ("wrong secret", lambda: delivery(push_payload(), secret="not-the-secret"), 401),
    ("missing header", lambda: delivery(push_payload(), signature=""), 401),
    ("wrong algorithm prefix", lambda: delivery(push_payload(), signature="sha1=" + "0" * 40), 401),
    ("truncated signature", lambda: {**delivery(push_payload()), "headers": {
        **delivery(push_payload())["headers"],
        "X-Hub-Signature-256": delivery(push_payload())["headers"]["X-Hub-Signature-256"][:-4]}}, 401),
    ("tampered body", lambda: {**delivery(push_payload()), "body": json.dumps(push_payload(ref="refs/heads/evil"))}, 401),
    ("non-json body", lambda: delivery(None, body=b"not json at all"), 400),
    ("oversized body", lambda: delivery(None, body=b"x" * (1024 * 1024 + 1)), 413),
    ("push without repository", lambda: delivery({"ref": "refs/heads/main"}), 400),
    ("unknown event type", lambda: delivery({"zen": "hi"}, event="issues"), 202),
    ("ping", lambda: delivery({"zen": "Keep it logically awesome."}, event="ping"), 200),
])
def test_rejected_or_ignored_deliveries_publish_nothing(receiver, name, make, status):
    response = receiver.handler(make(), None)
    assert response["statusCode"] == status, name
    assert receiver.published() == [], name


@pytest.mark.parametrize("payload", [
    push_payload(deleted=True),            # branch deletion
    push_payload(ref="refs/tags/v1.0.0"),  # tag push
])
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
