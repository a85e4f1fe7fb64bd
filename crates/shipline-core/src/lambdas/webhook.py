"""shipline GitHub webhook receiver (Lambda function URL).

Verifies each delivery's X-Hub-Signature-256 (HMAC-SHA256 of the raw body with the shared
secret from Secrets Manager, compared in constant time) before reading anything else, then
publishes accepted `push` deliveries to the EventBridge bus as:

  source "shipline.github", detail-type "GitHub Push",
  detail {repository, ref, before, after, deleted, pusher, delivery}

Every authentic push is published (tag pushes and branch deletions included, with `ref` and
`deleted` telling them apart); the EventBridge rule decides which pushes start the pipeline.
Responses: 200 ping / published, 202 authentic but ignored event type, 400 malformed,
401 unsigned or forged, 413 oversized, 502 EventBridge refused the event.
"""
import base64
import hashlib
import hmac
import json
import logging
import os

import boto3

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

MAX_BODY_BYTES = 1024 * 1024
SOURCE = "shipline.github"
DETAIL_TYPE = "GitHub Push"

_clients = {}
_secret = []


def client(name):
    if name not in _clients:
        _clients[name] = boto3.client(name)
    return _clients[name]


def secret():
    """The shared secret, read once per cold start."""
    if not _secret:
        value = client("secretsmanager").get_secret_value(SecretId=os.environ["WEBHOOK_SECRET_ARN"])
        _secret.append(value["SecretString"].encode("utf-8"))
    return _secret[0]


def respond(status, message):
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps({"message": message})}


def raw_body(event):
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            return None
    return body.encode("utf-8")


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
    return {"repository": full_name, **fields, "deleted": payload.get("deleted") is True,
            "pusher": pusher.get("name"), "delivery": delivery}


def handler(event, context):
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    if len((event.get("body") or "").encode("utf-8")) > MAX_BODY_BYTES * 4 // 3 + 4:
        return respond(413, "payload too large")
    body = raw_body(event)
    if body is None:
        return respond(400, "body is not valid base64")
    if len(body) > MAX_BODY_BYTES:
        return respond(413, "payload too large")
    if not signature_valid(headers, body):
        LOG.warning("rejected delivery %s: missing or invalid signature", headers.get("x-github-delivery", "?"))
        return respond(401, "missing or invalid X-Hub-Signature-256")
    kind = headers.get("x-github-event", "")
    delivery = headers.get("x-github-delivery", "")
    try:
        payload = json.loads(body)
    except ValueError:
        return respond(400, "body is not JSON")
    if kind == "ping":
        return respond(200, "pong")
    if kind != "push":
        LOG.info("ignored %r delivery %s", kind, delivery)
        return respond(202, f"ignored event type {kind!r}")
    detail = push_detail(payload, delivery)
    if detail is None:
        return respond(400, "push payload lacks repository.full_name, ref, before or after")
    result = client("events").put_events(Entries=[{
        "Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(detail),
        "EventBusName": os.environ["EVENT_BUS_NAME"],
    }])
    if result.get("FailedEntryCount"):
        LOG.error("EventBridge refused delivery %s: %s", delivery, result.get("Entries"))
        return respond(502, "could not publish the push event")
    LOG.info("published push %s %s -> %s (delivery %s)", detail["repository"], detail["ref"], detail["after"], delivery)
    return respond(200, "published")
