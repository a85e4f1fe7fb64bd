"""Shared helpers for the Lambda tests."""

import copy
import functools
import json
import os
import pathlib
import subprocess
import types

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.validate import ParamValidator
from moto import mock_aws

LAMBDAS = pathlib.Path(__file__).resolve().parents[2] / "crates/shipline-core/src/lambdas"


# The function each embedded source is deployed as.
FUNCTIONS = {"promotion": "PromotionFunction", "webhook": "WebhookFunction"}


@functools.lru_cache(maxsize=None)
def deployed_sources():
    """The inline code of each function as `shipline synth` places it in the template (the
    source file as written). None when no binary is given (SHIPLINE_BIN), e.g. in an editor."""
    binary = os.environ.get("SHIPLINE_BIN")
    if not binary:
        return None
    template = json.loads(
        subprocess.run([binary, "synth", "--config", str(CONFIG)], check=True, capture_output=True, text=True).stdout
    )
    return {
        name: template["Resources"][logical]["Properties"]["Code"]["ZipFile"] for name, logical in FUNCTIONS.items()
    }


CONFIG = pathlib.Path(__file__).resolve().parents[1] / "configs/all-options.toml"
# The parts the template appends to promotion.py, in its order, when stages deploy to them.
DEPLOY_PARTS = ("deploy_common.py", "ecs_deploy.py", "lambda_deploy.py")


def load_lambda(name):
    """A fresh copy of an embedded Lambda module (fresh client and secret caches): the code
    exactly as deployed (all-options.toml, whose production stage deploys to ECS and to a Lambda
    function) when SHIPLINE_BIN is set (the test command sets it), else the files composed the
    same way."""
    sources = deployed_sources()
    module = types.ModuleType(name)
    if sources is None:
        # As the template composes it for a pipeline with ECS and Lambda targets (all-options.toml).
        text = (LAMBDAS / f"{name}.py").read_text()
        if name == "promotion":
            for part in DEPLOY_PARTS:
                text += "\n\n" + (LAMBDAS / part).read_text()
        exec(compile(text, str(LAMBDAS / f"{name}.py"), "exec"), module.__dict__)
        return module
    exec(compile(sources[name], f"<{FUNCTIONS[name]} ZipFile>", "exec"), module.__dict__)
    return module


@pytest.fixture
def mocked_aws(monkeypatch):
    """moto's in-process AWS in us-east-1 with dummy credentials."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def client_error(code, status=400, operation="Operation"):
    """A botocore ClientError as the SDK raises it for an AWS error answer."""
    return ClientError(
        {"Error": {"Code": code, "Message": f"{code} (scripted)"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


# AWS errors every AWS call of the functions must survive (status codes from the AWS common
# errors): throttled, refused, failed inside AWS, and no answer at all.
AWS_ERRORS = {
    "ThrottlingException": lambda: client_error("ThrottlingException", 400),
    "AccessDeniedException": lambda: client_error("AccessDeniedException", 400),
    "InternalFailure": lambda: client_error("InternalFailure", 500),
    "EndpointConnectionError": lambda: EndpointConnectionError(endpoint_url="https://example.invalid"),
}


class ModelCheckedClient:
    """A stand-in for a boto3 client around the real (moto) one: every request and every
    answer is validated against botocore's model of the service, `calls` records
    (operation, request), and `fail[operation]` makes a call raise that error instead."""

    def __init__(self, real):
        self.real = real
        self.meta = real.meta
        self.calls, self.fail = [], {}

    def _check(self, operation, request):
        self.calls.append((operation, copy.deepcopy(request)))
        model = self.meta.service_model.operation_model(operation)
        report = ParamValidator().validate(request, model.input_shape)
        assert not report.has_errors(), report.generate_report()
        if operation in self.fail:
            raise self.fail[operation]()

    def _answer(self, operation, answer):
        answer = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
        shape = self.meta.service_model.operation_model(operation).output_shape
        report = ParamValidator().validate(answer, shape)
        assert not report.has_errors(), report.generate_report()
        return answer


class DeployHarness:
    """The delivery function with a model-checked SDK stand-in (`sim`), a recorded pipeline
    and a clock, for the deploy actions; `run` invokes it once with `parameters` (overridden
    per call) and returns the one job result it reported."""

    def __init__(self, module, sim, pipeline, clock, parameters):
        self.module, self.sim, self.pipeline, self.clock = module, sim, pipeline, clock
        self.parameters = parameters
        self.calls = []

    @property
    def real(self):
        return self.sim.real

    def run(self, token=None, **overrides):
        parameters = {**self.parameters, **overrides}
        data = {"actionConfiguration": {"configuration": {"UserParameters": json.dumps(parameters)}}}
        if token is not None:
            data["continuationToken"] = token
        self.pipeline.calls.clear()
        self.sim.calls.clear()
        outcome = self.module.handler({"CodePipeline.job": {"id": "job-1", "data": data}}, None)
        self.calls = [operation for operation, _ in self.sim.calls]
        # Each invocation makes at most three calls to the target's service (the 60 s budget:
        # see the suites' test_time_budget).
        assert len(self.calls) <= 3, self.calls
        kind, result = self.pipeline.only()
        assert outcome["status"] == {"success": outcome["status"], "failure": "failed"}[kind]
        if kind == "success" and "continuationToken" in result:
            assert len(result["continuationToken"]) <= 2048
        return kind, result
