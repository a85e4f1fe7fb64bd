"""moto_server with one correction for the deploy tests.

moto evaluates S3 bucket policies without their conditions, so a TLS-only statement (Deny
s3:* when aws:SecureTransport is false; shipline's artifact and staging buckets carry one)
denies every request. On AWS every request shipline and CloudFormation make is over TLS, so
that statement never applies; moto serves plain HTTP, so it is dropped before moto evaluates
the policy. Every other statement is evaluated as moto does.

Usage: python moto_server_tls.py -H 127.0.0.1 -p PORT (the arguments of moto_server)
"""

import json

from moto.s3 import models
from moto.server import main

TLS_ONLY = {"Bool": {"aws:SecureTransport": "false"}}
_get_permission = models.FakeBucket.get_permission


def get_permission(self, action, resource):
    if self.policy is None:
        return _get_permission(self, action, resource)
    policy = json.loads(self.policy)
    statements = [s for s in policy.get("Statement", []) if s.get("Condition") != TLS_ONLY]
    original, self.policy = self.policy, json.dumps({**policy, "Statement": statements}).encode()
    try:
        return _get_permission(self, action, resource)
    finally:
        self.policy = original


models.FakeBucket.get_permission = get_permission

if __name__ == "__main__":
    main()
