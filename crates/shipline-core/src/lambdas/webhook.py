"""shipline GitHub webhook receiver (Lambda function URL).

Verifies each delivery's X-Hub-Signature-256 (HMAC-SHA256 of the raw body with the shared
secret from Secrets Manager, compared in constant time) before reading anything else, then
publishes accepted `push` deliveries to the EventBridge bus as:

  source "shipline.github", detail-type "GitHub Push",
  detail {repository, ref, before, after, deleted, pusher, delivery}

Every authentic push is published (tag pushes and branch deletions included, with `ref` and
`deleted` telling them apart); the EventBridge rule decides which pushes start the pipeline.
Every request gets one of these answers (a status and a short JSON message), never an
unhandled exception: 200 ping / published, 202 authentic but ignored event type, 400
malformed, 401 unsigned or forged, 413 oversized, 500 unexpected error, 502 Secrets Manager
or EventBridge failed (the secret could not be read, or the event was not published). The
request and the secret are never logged.
"""

import base64
import hashlib
import hmac
import json
import logging
import os

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

MAX_BODY_BYTES = 1024 * 1024
SOURCE = "shipline.github"
DETAIL_TYPE = "GitHub Push"

_clients = {}
_secret = []


# The function times out after 10 s and a delivery makes at most two calls (GetSecretValue on
# a cold start, then PutEvents). botocore's defaults (60 s connect and read timeouts, retries)
# would let a hung call outlast the function and end the delivery without a defined answer;
# one attempt of at most 1 + 3 s per call keeps both within it (GitHub shows a failed delivery,
# which can be redelivered from its Recent Deliveries).
CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=3, retries={"max_attempts": 1, "mode": "standard"})


def client(name):
    if name not in _clients:
        _clients[name] = boto3.client(name, config=CLIENT_CONFIG)
    return _clients[name]


class Reject(Exception):
    """Ends a request with `status` and a short message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def secret():
    """The shared secret, read once per cold start (and again after a failed read)."""
    if not _secret:
        try:
            value = client("secretsmanager").get_secret_value(SecretId=os.environ["WEBHOOK_SECRET_ARN"])
        except (ClientError, BotoCoreError) as err:
            LOG.error("could not read the webhook secret: %s", err)
            raise Reject(502, "could not read the webhook secret") from None
        _secret.append(value["SecretString"].encode("utf-8"))
    return _secret[0]


def respond(status, message):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"message": message}),
    }


def raw_body(event):
    """The delivery's bytes as GitHub signed them (Reject: unreadable or oversized)."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise Reject(400, "body is not text")
    if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
        raise Reject(413, "payload too large")
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode("utf-8")
    except ValueError:
        raise Reject(400, "body is not valid base64 or UTF-8") from None
    if len(raw) > MAX_BODY_BYTES:
        raise Reject(413, "payload too large")
    return raw


def signature_valid(headers, body):
    given = headers.get("x-hub-signature-256", "")
    if not given.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def push_detail(payload, delivery):
    """The compact event detail, or None when the payload lacks what a push must carry."""
    repository = payload.get("repository") if isinstance(payload, dict) else None
    full_name = repository.get("full_name") if isinstance(repository, dict) else None
    fields = {k: payload.get(k) for k in ("ref", "before", "after")} if isinstance(payload, dict) else {}
    if not isinstance(full_name, str) or not all(isinstance(v, str) and v for v in fields.values()) or len(fields) != 3:
        return None
    pusher = payload.get("pusher") if isinstance(payload.get("pusher"), dict) else {}
    return {
        "repository": full_name,
        **fields,
        "deleted": payload.get("deleted") is True,
        "pusher": pusher.get("name"),
        "delivery": delivery,
    }


def publish(detail):
    """Puts the push event on the bus."""
    try:
        result = client("events").put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": DETAIL_TYPE,
                    "Detail": json.dumps(detail),
                    "EventBusName": os.environ["EVENT_BUS_NAME"],
                }
            ]
        )
    except (ClientError, BotoCoreError) as err:
        LOG.error("EventBridge PutEvents failed for delivery %s: %s", detail["delivery"], err)
        raise Reject(502, "could not publish the push event") from None
    if result.get("FailedEntryCount"):
        LOG.error("EventBridge refused delivery %s: %s", detail["delivery"], result.get("Entries"))
        raise Reject(502, "could not publish the push event")


def receive(event):
    """The answer to one function URL request."""
    if not isinstance(event, dict):
        raise Reject(400, "not a function URL request")
    headers = event.get("headers")
    headers = {str(k).lower(): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {}
    body = raw_body(event)
    delivery = headers.get("x-github-delivery", "")
    if not signature_valid(headers, body):
        LOG.warning("rejected delivery %r: missing or invalid signature", delivery[:100])
        return respond(401, "missing or invalid X-Hub-Signature-256")
    kind = headers.get("x-github-event", "")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return respond(400, "body is not JSON")
    if kind == "ping":
        return respond(200, "pong")
    if kind != "push":
        LOG.info("ignored %r delivery %s", kind, delivery)
        return respond(202, f"ignored event type {kind!r}")
    detail = push_detail(payload, delivery)
    if detail is None:
        return respond(400, "push payload lacks repository.full_name, ref, before or after")
    publish(detail)
    LOG.info("published push %s %s -> %s (delivery %s)", detail["repository"], detail["ref"], detail["after"], delivery)
    return respond(200, "published")


def handler(event, context):
    """One guard around the whole request: every path ends in a defined answer."""
    try:
        return receive(event)
    except Reject as err:
        return respond(err.status, str(err))
    except Exception:  # noqa: BLE001 - an exception would reach GitHub as a bare 502
        LOG.exception("unexpected error")
        return respond(500, "internal error")
