"""The delivery function's deploy-lambda action against moto's Lambda (image functions, their
code, versions and aliases for real), with what moto 5.2.5 lacks simulated on top (LambdaSim):
RevisionId (moto keeps none, and fails a request that sends one), LastUpdateStatus InProgress
and Failed (moto finishes every update at once), a version's State Pending, the
ResourceConflictException of a call made while an update runs, and PublishVersion's CodeSha256
and RevisionId preconditions (PreconditionFailedException). Every request and every answer is
checked against the Lambda API model; CodePipeline is recorded."""

import ast
import io
import json
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import AWS_ERRORS, LAMBDAS, DeployHarness, ModelCheckedClient, client_error, load_lambda
from test_promotion import FakePipeline

ACCOUNT = "123456789012"
IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/orders"
DIGEST = "sha256:" + "b" * 64
OLD_DIGEST = "sha256:" + "a" * 64
PINNED = f"{IMAGE}@{DIGEST}"
FUNCTION = "orders-api-prod"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{FUNCTION}"
CONSOLE = f"https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/functions/{FUNCTION}"
START_CALLS = ["GetFunction", "GetAlias", "UpdateFunctionCode"]
FINISH_CALLS = ["GetFunctionConfiguration", "PublishVersion", "UpdateAlias"]
PARAMETERS = {
    "action": "deploy-lambda",
    "image": IMAGE,
    "digest": DIGEST,
    "function": FUNCTION,
    "alias": "live",
    "wait_seconds": 1800,
}


class LambdaSim(ModelCheckedClient):
    """moto's Lambda client plus what moto does not have. Per function: a RevisionId that
    changes with every change; `status` (LastUpdateStatus) InProgress after UpdateFunctionCode
    until `settle()` (or `fail_update()`); `publish_state`, the State new versions start in,
    changed with `activate(version)`. Calls made while an update runs fail with
    ResourceConflictException; stale RevisionId or CodeSha256 with PreconditionFailedException.
    `fail[operation]` makes a call raise instead; `calls` records (operation, request)."""

    def __init__(self, real):
        super().__init__(real)
        self.serial = 0
        self.revision = {}
        self.status = {}
        self.publish_state = "Active"
        self.version_state = {}

    # --- bookkeeping -----------------------------------------------------------------------

    def _name(self, function):
        return function.rsplit(":", 1)[-1] if function.startswith("arn:") else function

    def _revision(self, name):
        return self.revision.setdefault(name, "rev-0")

    def _bump(self, name):
        self.serial += 1
        self.revision[name] = f"rev-{self.serial}"

    def _overlay(self, name, config, version=None):
        config["RevisionId"] = self._revision(name)
        if version in (None, "$LATEST"):
            status = self.status.get(name, {"LastUpdateStatus": "Successful"})
            config.pop("LastUpdateStatusReason", None)
            config.pop("LastUpdateStatusReasonCode", None)
            config.update(status)
        else:
            config.update(self.version_state.get((name, version), {"State": "Active"}))
        return config

    def _busy(self, name, operation):
        if self.status.get(name, {}).get("LastUpdateStatus") == "InProgress":
            raise client_error("ResourceConflictException", 409, operation)

    def _precondition(self, name, request, operation):
        if "RevisionId" in request and request["RevisionId"] != self._revision(name):
            raise client_error("PreconditionFailedException", 412, operation)

    # --- what the tests do to the function -----------------------------------------------

    def settle(self, name=FUNCTION):
        self.status[name] = {"LastUpdateStatus": "Successful"}
        self._bump(name)

    def fail_update(self, reason, code, name=FUNCTION):
        self.status[name] = {
            "LastUpdateStatus": "Failed",
            "LastUpdateStatusReason": reason,
            "LastUpdateStatusReasonCode": code,
        }
        self._bump(name)

    def begin_update(self, name=FUNCTION):
        """Someone else's update starts (as UpdateFunctionCode from another client)."""
        self.status[name] = {
            "LastUpdateStatus": "InProgress",
            "LastUpdateStatusReason": "The function is being created.",
        }
        self._bump(name)

    def activate(self, version, state="Active", name=FUNCTION, **reason):
        self.version_state[(name, version)] = {"State": state, **reason}

    # --- the API ---------------------------------------------------------------------------

    def get_function(self, **request):
        self._check("GetFunction", request)
        answer = self.real.get_function(**request)
        self._overlay(self._name(request["FunctionName"]), answer["Configuration"], request.get("Qualifier"))
        return self._answer("GetFunction", answer)

    def get_function_configuration(self, **request):
        self._check("GetFunctionConfiguration", request)
        answer = self.real.get_function_configuration(**request)
        self._overlay(self._name(request["FunctionName"]), answer, request.get("Qualifier"))
        return self._answer("GetFunctionConfiguration", answer)

    def update_function_code(self, **request):
        self._check("UpdateFunctionCode", request)
        name = self._name(request["FunctionName"])
        self._busy(name, "UpdateFunctionCode")
        self._precondition(name, request, "UpdateFunctionCode")
        answer = self.real.update_function_code(**{k: v for k, v in request.items() if k != "RevisionId"})
        self.status[name] = {
            "LastUpdateStatus": "InProgress",
            "LastUpdateStatusReason": "The function is being updated.",
        }
        self._bump(name)
        return self._answer("UpdateFunctionCode", self._overlay(name, answer))

    def publish_version(self, **request):
        self._check("PublishVersion", request)
        name = self._name(request["FunctionName"])
        self._busy(name, "PublishVersion")
        self._precondition(name, request, "PublishVersion")
        latest = self.real.get_function_configuration(FunctionName=name)
        if "CodeSha256" in request and request["CodeSha256"] != latest["CodeSha256"]:
            raise client_error("PreconditionFailedException", 412, "PublishVersion")
        versions = self.real.list_versions_by_function(FunctionName=name)["Versions"]
        before = {v["Version"] for v in versions}
        answer = self.real.publish_version(FunctionName=request["FunctionName"])
        if answer["Version"] not in before:  # a new one (Lambda returns the newest when unchanged)
            self.version_state[(name, answer["Version"])] = {"State": self.publish_state}
            if self.publish_state == "Pending":
                self.version_state[(name, answer["Version"])]["StateReasonCode"] = "Creating"
        return self._answer("PublishVersion", self._overlay(name, answer, answer["Version"]))

    def get_alias(self, **request):
        self._check("GetAlias", request)
        return self._answer("GetAlias", self.real.get_alias(**request))

    def update_alias(self, **request):
        self._check("UpdateAlias", request)
        return self._answer("UpdateAlias", self.real.update_alias(**request))


class Deploy(DeployHarness):
    """The function with moto's Lambda (simulated where moto falls short), a recorded pipeline
    and a clock; `run` invokes it once and returns the one job result it reported."""

    def __init__(self, module, sim, pipeline, clock):
        super().__init__(module, sim, pipeline, clock, PARAMETERS)

    def request(self, operation):
        return next(request for op, request in self.sim.calls if op == operation)

    def image(self, qualifier=None):
        """The image a version (or $LATEST) runs, read without recording a call."""
        request = {"FunctionName": FUNCTION, **({"Qualifier": qualifier} if qualifier else {})}
        return self.real.get_function(**request)["Code"]["ImageUri"]

    def alias(self, name="live"):
        return self.real.get_alias(FunctionName=FUNCTION, Name=name)["FunctionVersion"]

    def versions(self):
        return [v["Version"] for v in self.real.list_versions_by_function(FunctionName=FUNCTION)["Versions"]]

    def to_updating(self, **overrides):
        """The first invocation (UpdateFunctionCode sent); returns its token."""
        kind, first = self.run(**overrides)
        assert kind == "success" and json.loads(first["continuationToken"])["phase"] == "updating", first
        return first["continuationToken"]


def zip_file():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


@pytest.fixture
def deploy(mocked_aws, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    module = load_lambda("promotion")
    role = boto3.client("iam").create_role(RoleName="orders-api", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    real = boto3.client("lambda")
    real.create_function(
        FunctionName=FUNCTION, Role=role, PackageType="Image", Code={"ImageUri": f"{IMAGE}@{OLD_DIGEST}"}
    )
    assert real.publish_version(FunctionName=FUNCTION)["Version"] == "1"
    real.create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion="1")
    real.create_function(
        FunctionName="orders-zip", Role=role, Runtime="python3.12", Handler="app.handler", Code={"ZipFile": zip_file()}
    )
    real.create_function(
        FunctionName="orders-arm",
        Role=role,
        PackageType="Image",
        Code={"ImageUri": f"{IMAGE}@{OLD_DIGEST}"},
        Architectures=["arm64"],
    )
    sim, pipeline = LambdaSim(real), FakePipeline()
    module._clients.update({"lambda": sim, "codepipeline": pipeline})
    clock = [1000.0]
    monkeypatch.setattr(module.time, "time", lambda: clock[0])
    return Deploy(module, sim, pipeline, clock)


# --- the deploy ---------------------------------------------------------------------------------


def test_a_deploy_pins_the_digest_publishes_it_and_moves_the_alias(deploy):
    kind, first = deploy.run()
    assert kind == "success" and deploy.calls == START_CALLS
    assert deploy.request("UpdateFunctionCode") == {"FunctionName": FUNCTION, "ImageUri": PINNED, "RevisionId": "rev-0"}
    token = json.loads(first["continuationToken"])
    code = token.pop("code")
    assert token == {"deploy-lambda": 1, "phase": "updating", "started": 1000.0, "previous": "1"}
    assert code == deploy.real.get_function_configuration(FunctionName=FUNCTION)["CodeSha256"]
    assert f"updating {FUNCTION} to {PINNED}" in first["executionDetails"]["summary"]
    assert deploy.image() == PINNED and deploy.alias() == "1", "$LATEST changes, the alias not yet"

    deploy.clock[0] = 1060.0
    kind, waiting = deploy.run(first["continuationToken"])
    assert kind == "success" and deploy.calls == ["GetFunctionConfiguration"]
    assert json.loads(waiting["continuationToken"]) == json.loads(first["continuationToken"])
    assert (
        "Lambda is updating the function (The function is being updated.) (60 s so far)"
        in (waiting["executionDetails"]["summary"])
    )
    assert deploy.versions() == ["$LATEST", "1"], "nothing published while the update runs"

    deploy.sim.settle()
    kind, done = deploy.run(waiting["continuationToken"])
    assert kind == "success" and deploy.calls == FINISH_CALLS
    assert deploy.request("PublishVersion") == {"FunctionName": FUNCTION, "CodeSha256": code, "RevisionId": "rev-2"}
    assert deploy.request("UpdateAlias") == {
        "FunctionName": FUNCTION,
        "Name": "live",
        "FunctionVersion": "2",
        "RoutingConfig": {"AdditionalVersionWeights": {}},
    }
    assert "continuationToken" not in done
    assert done["outputVariables"] == {"LAMBDA_VERSION": "2", "LAMBDA_IMAGE": PINNED}
    assert done["executionDetails"]["summary"] == (
        f"version 2 of {FUNCTION} runs {PINNED}; alias live moved from version 1 to it; {CONSOLE}/versions/2"
    )
    assert deploy.image("2") == PINNED and deploy.alias() == "2"


def test_without_an_alias_only_a_version_is_published(deploy):
    token = deploy.to_updating(alias=None)
    assert deploy.calls == ["GetFunction", "UpdateFunctionCode"]
    deploy.sim.settle()
    kind, done = deploy.run(token, alias=None)
    assert kind == "success" and deploy.calls == ["GetFunctionConfiguration", "PublishVersion"]
    assert done["outputVariables"] == {"LAMBDA_VERSION": "2", "LAMBDA_IMAGE": PINNED}
    assert "alias" not in done["executionDetails"]["summary"]
    assert deploy.alias() == "1"


def test_a_function_given_by_its_arn_is_deployed(deploy):
    token = deploy.to_updating(function=FUNCTION_ARN)
    assert deploy.request("GetFunction") == {"FunctionName": FUNCTION_ARN}
    deploy.sim.settle()
    kind, done = deploy.run(token, function=FUNCTION_ARN)
    assert kind == "success" and f"{CONSOLE}/versions/2" in done["executionDetails"]["summary"]
    assert deploy.image("2") == PINNED and deploy.alias() == "2"


def test_the_version_waits_until_active_before_the_alias_moves(deploy):
    deploy.sim.publish_state = "Pending"
    token = deploy.to_updating()
    deploy.sim.settle()
    kind, pending = deploy.run(token)
    assert kind == "success" and deploy.calls == ["GetFunctionConfiguration", "PublishVersion"]
    state = json.loads(pending["continuationToken"])
    assert state["phase"] == "publishing" and state["version"] == "2" and state["started"] == 1000.0
    assert "version 2 is Pending" in pending["executionDetails"]["summary"]
    assert deploy.alias() == "1"

    kind, still = deploy.run(pending["continuationToken"])
    assert kind == "success" and deploy.calls == ["GetFunctionConfiguration"]
    assert deploy.request("GetFunctionConfiguration") == {"FunctionName": FUNCTION, "Qualifier": "2"}
    assert json.loads(still["continuationToken"]) == state

    deploy.sim.activate("2")
    kind, done = deploy.run(still["continuationToken"])
    assert kind == "success" and deploy.calls == ["GetFunctionConfiguration", "UpdateAlias"]
    assert done["outputVariables"]["LAMBDA_VERSION"] == "2" and deploy.alias() == "2"


def test_a_version_that_fails_fails_the_job(deploy):
    deploy.sim.publish_state = "Pending"
    token = deploy.to_updating()
    deploy.sim.settle()
    kind, pending = deploy.run(token)
    deploy.sim.activate("2", "Failed", StateReason="image optimization failed", StateReasonCode="ImageAccessDenied")
    kind, result = deploy.run(pending["continuationToken"])
    message = result["failureDetails"]["message"]
    assert kind == "failure" and "Lambda version 2 of orders-api-prod failed: image optimization failed" in message
    assert "(ImageAccessDenied)" in message and f"{CONSOLE}/versions/2" in message
    assert deploy.alias() == "1"


def test_a_failed_update_fails_with_lambdas_reason(deploy):
    token = deploy.to_updating()
    deploy.sim.fail_update("Lambda does not have permission to access the ECR image.", "ImageAccessDenied")
    kind, result = deploy.run(token)
    assert kind == "failure" and deploy.calls == ["GetFunctionConfiguration"]
    assert result["failureDetails"]["message"] == (
        f"Lambda could not update function {FUNCTION} to {PINNED}: Lambda does not have permission to access the "
        "ECR image. (ImageAccessDenied); the function keeps its previous code; the stage rolls back to the "
        f"previous digest; see {CONSOLE}"
    )
    assert deploy.versions() == ["$LATEST", "1"] and deploy.alias() == "1"


# --- re-runs and rollbacks ----------------------------------------------------------------------


def test_a_digest_already_live_is_not_updated_again_and_ends_on_the_version_running_it(deploy):
    token = deploy.to_updating()
    deploy.sim.settle()
    deploy.run(token)
    assert deploy.versions() == ["$LATEST", "1", "2"]
    deploy.real.update_alias(FunctionName=FUNCTION, Name="live", FunctionVersion="1")  # moved back by hand

    kind, first = deploy.run()
    assert kind == "success" and deploy.calls == ["GetFunction", "GetAlias"], "no UpdateFunctionCode"
    assert f"{FUNCTION} already runs {PINNED}" in first["executionDetails"]["summary"]
    kind, done = deploy.run(first["continuationToken"])
    assert kind == "success" and deploy.calls == FINISH_CALLS
    # PublishVersion publishes nothing new for unchanged code: it answers with version 2.
    assert deploy.versions() == ["$LATEST", "1", "2"]
    assert done["outputVariables"] == {"LAMBDA_VERSION": "2", "LAMBDA_IMAGE": PINNED} and deploy.alias() == "2"


def test_a_stage_rollback_deploys_the_previous_digest_as_a_new_version(deploy):
    token = deploy.to_updating()
    deploy.sim.settle()
    deploy.run(token)
    token = deploy.to_updating(digest=OLD_DIGEST)
    assert deploy.request("UpdateFunctionCode")["ImageUri"] == f"{IMAGE}@{OLD_DIGEST}"
    deploy.sim.settle()
    kind, done = deploy.run(token, digest=OLD_DIGEST)
    assert kind == "success" and done["outputVariables"]["LAMBDA_IMAGE"] == f"{IMAGE}@{OLD_DIGEST}"
    version = done["outputVariables"]["LAMBDA_VERSION"]
    assert deploy.image(version) == f"{IMAGE}@{OLD_DIGEST}" and deploy.alias() == version
    assert "alias live moved from version 2 to it" in done["executionDetails"]["summary"]


def test_a_function_referenced_by_tag_is_repinned_by_digest(deploy):
    deploy.real.update_function_code(FunctionName=FUNCTION, ImageUri=f"{IMAGE}:production")
    deploy.to_updating()
    assert deploy.request("UpdateFunctionCode")["ImageUri"] == PINNED and deploy.image() == PINNED


# --- what stops a deploy before it changes anything ---------------------------------------------


def test_an_arm64_function_is_refused_before_anything_changes(deploy):
    kind, result = deploy.run(function="orders-arm", alias=None)
    assert kind == "failure" and deploy.calls == ["GetFunction"]
    message = result["failureDetails"]["message"]
    assert "runs on arm64, but the pipeline builds x86_64 images" in message and "nothing was changed" in message


def test_a_failed_update_of_the_same_digest_is_sent_again(deploy):
    token = deploy.to_updating()
    deploy.sim.fail_update("image pull failed", "ImageAccessDenied")
    kind, _ = deploy.run(token)
    assert kind == "failure"
    # The cause fixed, the stage re-runs with the same digest: the update is sent again even if
    # Lambda still reports the image it tried.
    deploy.to_updating()
    assert "UpdateFunctionCode" in deploy.calls and deploy.request("UpdateFunctionCode")["ImageUri"] == PINNED


def test_an_image_index_is_refused_with_how_to_build_a_single_platform_image(deploy):
    message = "The image manifest, config or layer media type for the source image is not supported."
    deploy.sim.fail["UpdateFunctionCode"] = lambda: ClientError(
        {
            "Error": {"Code": "InvalidParameterValueException", "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "UpdateFunctionCode",
    )
    kind, result = deploy.run()
    message = result["failureDetails"]["message"]
    assert kind == "failure" and "--provenance=false" in message, message


def test_a_zip_function_is_refused(deploy):
    kind, result = deploy.run(function="orders-zip")
    assert kind == "failure" and deploy.calls == ["GetFunction"]
    assert result["failureDetails"]["message"] == (
        "Lambda function orders-zip is a .zip file archive function (PackageType Zip); shipline deploys container "
        "images and Lambda cannot change a function's package type: point stages.deploy.lambda.function at a "
        "function created from a container image"
    )


def test_a_missing_function_fails(deploy):
    kind, result = deploy.run(function="orders-api-staging")
    assert kind == "failure" and result["failureDetails"]["message"] == (
        "Lambda function orders-api-staging does not exist in this account and region; "
        "check stages.deploy.lambda.function in shipline.toml"
    )


def test_a_missing_alias_fails_before_the_function_changes(deploy):
    kind, result = deploy.run(alias="canary")
    assert kind == "failure" and deploy.calls == ["GetFunction", "GetAlias"]
    assert result["failureDetails"]["message"] == (
        f"Lambda function {FUNCTION} has no alias canary; shipline moves an alias but does not create one: create it "
        f"(aws lambda create-alias --function-name {FUNCTION} --name canary --function-version <version>) or set "
        "stages.deploy.lambda.alias to an existing alias, then re-run the stage"
    )
    assert deploy.image() == f"{IMAGE}@{OLD_DIGEST}"


def test_an_alias_deleted_while_the_deploy_runs_fails_naming_it(deploy):
    token = deploy.to_updating()
    deploy.real.delete_alias(FunctionName=FUNCTION, Name="live")
    deploy.sim.settle()
    kind, result = deploy.run(token)
    assert kind == "failure" and deploy.calls == FINISH_CALLS
    assert result["failureDetails"]["message"].startswith(f"Lambda function {FUNCTION} has no alias live;")


def test_someone_elses_update_is_waited_for_before_updating(deploy):
    deploy.sim.begin_update()
    kind, first = deploy.run()
    assert kind == "success" and deploy.calls == ["GetFunction"]
    assert json.loads(first["continuationToken"]) == {
        "deploy-lambda": 1,
        "phase": "start",
        "started": 1000.0,
        "previous": None,
    }
    assert "waiting for another update to finish (State Active, InProgress)" in first["executionDetails"]["summary"]
    deploy.clock[0] = 1300.0
    deploy.sim.settle()
    kind, second = deploy.run(first["continuationToken"])
    assert kind == "success" and deploy.calls == START_CALLS
    token = json.loads(second["continuationToken"])
    assert token["phase"] == "updating" and token["started"] == 1000.0, "the wait counts from the first invocation"


def test_an_update_that_began_after_the_read_is_waited_for(deploy):
    deploy.sim.fail["UpdateFunctionCode"] = lambda: client_error("ResourceConflictException", 409)
    kind, first = deploy.run()
    assert kind == "success" and deploy.calls == START_CALLS
    assert json.loads(first["continuationToken"])["phase"] == "start"
    del deploy.sim.fail["UpdateFunctionCode"]
    kind, second = deploy.run(first["continuationToken"])
    assert kind == "success" and json.loads(second["continuationToken"])["phase"] == "updating"


def test_a_function_changed_after_the_read_is_left_alone(deploy):
    deploy.sim.fail["UpdateFunctionCode"] = lambda: client_error("PreconditionFailedException", 412)
    kind, result = deploy.run()
    message = result["failureDetails"]["message"]
    assert kind == "failure" and message.startswith(f"Lambda function {FUNCTION} changed while this action ran")
    assert f"not overriding it with {PINNED}" in message


def test_code_changed_by_someone_else_during_the_update_is_not_published(deploy):
    token = deploy.to_updating()
    deploy.real.update_function_code(FunctionName=FUNCTION, ImageUri=f"{IMAGE}@sha256:{'c' * 64}")
    deploy.sim.settle()
    kind, result = deploy.run(token)
    assert kind == "failure" and deploy.calls == ["GetFunctionConfiguration"]
    assert "got other code (CodeSha256" in result["failureDetails"]["message"]
    assert deploy.versions() == ["$LATEST", "1"]


def test_a_publish_refused_because_the_function_changed_fails(deploy):
    token = deploy.to_updating()
    deploy.sim.settle()
    deploy.sim.fail["PublishVersion"] = lambda: client_error("PreconditionFailedException", 412)
    kind, result = deploy.run(token)
    assert kind == "failure" and "changed while this action ran" in result["failureDetails"]["message"]


def test_an_update_begun_before_publishing_is_waited_for(deploy):
    token = deploy.to_updating()
    deploy.sim.settle()
    deploy.sim.fail["PublishVersion"] = lambda: client_error("ResourceConflictException", 409)
    kind, result = deploy.run(token)
    assert kind == "success" and json.loads(result["continuationToken"]) == json.loads(token)


@pytest.mark.parametrize("state", ["Pending", "Failed"])
def test_a_function_not_yet_created_waits_and_one_that_failed_to_be_fails(deploy, state):
    original = deploy.sim._overlay

    def overlay(name, config, version=None):
        config = original(name, config, version)
        config.update(State=state, StateReason="creating" if state == "Pending" else "subnet gone")
        return config

    deploy.sim._overlay = overlay
    kind, result = deploy.run()
    if state == "Pending":
        assert kind == "success" and json.loads(result["continuationToken"])["phase"] == "start"
    else:
        assert kind == "failure" and "is in state Failed (subnet gone)" in result["failureDetails"]["message"]
        assert "delete and recreate it" in result["failureDetails"]["message"]


# --- the wait ---------------------------------------------------------------------------------


def test_the_wait_ends_in_a_clear_failure(deploy):
    token = deploy.to_updating()
    deploy.clock[0] = 1000.0 + 1799
    assert deploy.run(token)[0] == "success"
    deploy.clock[0] = 1000.0 + 1800
    kind, result = deploy.run(token)
    assert kind == "failure"
    assert result["failureDetails"]["message"] == (
        f"the update of Lambda function {FUNCTION} is still in progress after 30 minutes (Lambda is updating the "
        f"function (The function is being updated.)); it continues in Lambda; check {CONSOLE} "
        "(or raise stages.deploy.lambda.wait_minutes)"
    )


def test_waiting_for_someone_elses_update_ends_at_the_wait_too(deploy):
    deploy.sim.begin_update()
    kind, first = deploy.run()
    deploy.clock[0] = 1000.0 + 1800
    kind, result = deploy.run(first["continuationToken"])
    assert kind == "failure" and "is still in progress after 30 minutes" in result["failureDetails"]["message"]
    assert deploy.calls == ["GetFunction"]


def test_a_pending_version_ends_at_the_wait_too(deploy):
    deploy.sim.publish_state = "Pending"
    token = deploy.to_updating()
    deploy.sim.settle()
    kind, pending = deploy.run(token)
    deploy.clock[0] = 1000.0 + 1800
    kind, result = deploy.run(pending["continuationToken"])
    assert kind == "failure" and "(version 2 is Pending)" in result["failureDetails"]["message"]


# --- AWS errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("error", sorted(AWS_ERRORS))
@pytest.mark.parametrize("call", START_CALLS)
def test_an_aws_error_before_the_update_fails_the_job_and_changes_nothing(deploy, call, error):
    deploy.sim.fail[call] = AWS_ERRORS[error]
    kind, result = deploy.run()
    assert kind == "failure" and result["failureDetails"]["message"].startswith("AWS call failed")
    assert deploy.calls == START_CALLS[: START_CALLS.index(call) + 1]
    assert deploy.image() == f"{IMAGE}@{OLD_DIGEST}"


# Throttling (Lambda's own TooManyRequestsException too), a 5xx, no answer: the same token comes
# back and the next invocation tries again. Access denied would be refused again: the job fails.
RETRIED = {"ThrottlingException", "InternalFailure", "EndpointConnectionError", "TooManyRequestsException"}
ERRORS = {**AWS_ERRORS, "TooManyRequestsException": lambda: client_error("TooManyRequestsException", 429)}


@pytest.mark.parametrize("error", sorted(ERRORS))
@pytest.mark.parametrize("call", FINISH_CALLS)
def test_an_aws_error_after_the_update_is_retried_only_when_it_can_get_through(deploy, call, error):
    token = deploy.to_updating()
    deploy.sim.settle()
    deploy.sim.fail[call] = ERRORS[error]
    kind, result = deploy.run(token)
    if error in RETRIED:
        assert kind == "success" and result["continuationToken"] == token
        assert "could not reach Lambda" in result["executionDetails"]["summary"]
        del deploy.sim.fail[call]
        kind, result = deploy.run(result["continuationToken"])
        assert kind == "success" and result["outputVariables"]["LAMBDA_VERSION"] == "2"
        assert deploy.versions() == ["$LATEST", "1", "2"], "a repeated publish adds no version"
    else:
        assert kind == "failure" and result["failureDetails"]["message"].startswith("AWS call failed")
        assert error in result["failureDetails"]["message"]


@pytest.mark.parametrize("error", sorted(ERRORS))
def test_an_aws_error_while_the_version_is_pending_is_retried_only_when_it_can_get_through(deploy, error):
    deploy.sim.publish_state = "Pending"
    token = deploy.to_updating()
    deploy.sim.settle()
    pending = deploy.run(token)[1]["continuationToken"]
    deploy.sim.fail["GetFunctionConfiguration"] = ERRORS[error]
    kind, result = deploy.run(pending)
    if error in RETRIED:
        assert kind == "success" and result["continuationToken"] == pending
    else:
        assert kind == "failure" and error in result["failureDetails"]["message"]


def test_a_retried_error_past_the_wait_fails(deploy):
    token = deploy.to_updating()
    deploy.sim.fail["GetFunctionConfiguration"] = AWS_ERRORS["ThrottlingException"]
    deploy.clock[0] = 1000.0 + 1800
    kind, result = deploy.run(token)
    assert kind == "failure" and "ThrottlingException" in result["failureDetails"]["message"]


def test_an_unexpected_bug_is_one_failure_result(deploy):
    def boom(**_):
        raise RuntimeError("boom")

    deploy.sim.get_function = boom
    kind, result = deploy.run()
    assert kind == "failure" and result["failureDetails"]["message"] == "unexpected error: RuntimeError: boom"


# --- continuation tokens and UserParameters ----------------------------------------------------

UPDATING = {"deploy-lambda": 1, "phase": "updating", "started": 1000.0, "previous": "1", "code": "ab" * 32}
BAD_TOKENS = [
    "",
    "not json",
    "[]",
    "null",
    '{"started": 900.0}',  # the scan gate's
    json.dumps({"deploy-ecs": 1, "phase": "watch", "started": 1000.0}),  # deploy-ecs's
    "[" * 100_000,
    json.dumps({**UPDATING, "deploy-lambda": 2}),
    json.dumps({**UPDATING, "phase": "watch"}),
    json.dumps({**UPDATING, "started": float("nan")}),
    json.dumps({**UPDATING, "started": 99999999999}),
    json.dumps({**UPDATING, "started": "1000"}),
    json.dumps({**UPDATING, "code": None}),
    json.dumps({**UPDATING, "code": "not a hash!"}),
    json.dumps({**UPDATING, "previous": 1}),
    json.dumps({**UPDATING, "previous": "live"}),
    json.dumps({**UPDATING, "phase": "publishing"}),  # no version
    json.dumps({**UPDATING, "phase": "publishing", "version": "$LATEST"}),
    json.dumps({**UPDATING, "phase": "publishing", "version": 2}),
    42,
]


@pytest.mark.parametrize("token", BAD_TOKENS, ids=lambda token: repr(token)[:50])
def test_a_token_this_action_did_not_write_fails_without_touching_lambda(deploy, token):
    kind, result = deploy.run(token)
    message = result["failureDetails"]["message"]
    assert kind == "failure" and message.startswith("the continuation token is not one deploy-lambda wrote (")
    assert "not updating the function again" in message and CONSOLE in message
    assert deploy.calls == []


def test_the_tokens_written_are_read_back(deploy):
    deploy.sim.publish_state = "Pending"
    token = deploy.to_updating()
    deploy.sim.settle()
    pending = deploy.run(token)[1]["continuationToken"]
    for raw in (token, pending):
        assert deploy.module.read_lambda_token(raw, PARAMETERS, 1000.0) == json.loads(raw)


MALFORMED = [
    ({"image": f"{IMAGE}:latest"}, "UserParameters.image", "without a tag or digest"),
    ({"image": PINNED}, "UserParameters.image", "without a tag or digest"),
    ({"image": None}, "UserParameters.image", ""),
    ({"digest": "latest"}, "UserParameters.digest", "IMAGE_DIGEST"),
    ({"function": f"{FUNCTION_ARN}:live"}, "UserParameters.function", "without a version or alias"),
    ({"function": f"{FUNCTION_ARN}:7"}, "UserParameters.function", "without a version or alias"),
    ({"function": "orders api"}, "UserParameters.function", ""),
    ({"function": "x" * 65}, "UserParameters.function", ""),
    ({"function": f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/prod/orders"}, "UserParameters.function", ""),
    ({"function": ["orders"]}, "UserParameters.function", ""),
    ({"alias": "42"}, "UserParameters.alias", "not a Lambda alias name"),
    ({"alias": "$LATEST"}, "UserParameters.alias", ""),
    ({"alias": ""}, "UserParameters.alias", ""),
    ({"alias": "x" * 129}, "UserParameters.alias", ""),
    ({"alias": 5}, "UserParameters.alias", ""),
    ({"wait_seconds": 59}, "UserParameters.wait_seconds", "from 60 to 86400"),
    ({"wait_seconds": 86401}, "UserParameters.wait_seconds", ""),
    ({"wait_seconds": 600.0}, "UserParameters.wait_seconds", ""),
    ({"wait_seconds": True}, "UserParameters.wait_seconds", ""),
]


@pytest.mark.parametrize("change, field, hint", MALFORMED, ids=lambda v: repr(v)[:40])
def test_malformed_parameters_fail_naming_the_field(deploy, change, field, hint):
    kind, result = deploy.run(**change)
    message = result["failureDetails"]["message"]
    assert kind == "failure" and message.startswith(field) and hint in message
    assert deploy.calls == []


@pytest.mark.parametrize("field", ["image", "digest", "function", "wait_seconds"])
def test_each_field_but_the_alias_is_required(deploy, field):
    parameters = {k: v for k, v in PARAMETERS.items() if k != field}
    data = {"actionConfiguration": {"configuration": {"UserParameters": json.dumps(parameters)}}}
    deploy.pipeline.calls.clear()
    deploy.module.handler({"CodePipeline.job": {"id": "j", "data": data}}, None)
    kind, result = deploy.pipeline.only()
    assert kind == "failure" and result["failureDetails"]["message"].startswith(f"UserParameters.{field} None")


def test_a_missing_alias_field_means_no_alias(deploy):
    parameters = {k: v for k, v in PARAMETERS.items() if k != "alias"}
    assert deploy.module.lambda_parameters(parameters)["alias"] is None


# --- what the function relies on -----------------------------------------------------------


def test_time_budget(deploy):
    """The function has 60 s. Each deploy-lambda invocation makes at most three Lambda calls
    (asserted in every run above), then its report attempts; each call gives up after its timeouts."""
    config = deploy.module.CLIENT_CONFIG
    per_call = config.retries["max_attempts"] * (config.connect_timeout + config.read_timeout)
    reports = 1 + len(deploy.module.REPORT_RETRY_DELAYS)
    assert (3 + reports) * per_call + sum(deploy.module.REPORT_RETRY_DELAYS) < 60


def test_the_longest_token_fits(deploy):
    token = deploy.module.lambda_token(
        phase="publishing", started=1e12, previous="9" * 10, code="A" * 128, version="9" * 10
    )
    assert len(token) <= 2048 and deploy.module.read_lambda_token(token, PARAMETERS, 2e12)["code"] == "A" * 128


def top_level_names(path):
    """The names a source part defines at top level (imports of the same module are harmless)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def test_no_part_of_the_delivery_code_replaces_a_name_of_another():
    """The parts run in one module: a name defined twice would silently replace the other's."""
    parts = ["promotion.py", "deploy_common.py", "ecs_deploy.py", "lambda_deploy.py"]
    names = {part: top_level_names(LAMBDAS / part) for part in parts}
    for i, a in enumerate(parts):
        for b in parts[i + 1 :]:
            assert not names[a] & names[b], (a, b, sorted(names[a] & names[b]))
    mine = names["lambda_deploy.py"]
    assert all("lambda" in name.lower() for name in mine), sorted(n for n in mine if "lambda" not in n.lower())


def test_the_deployed_code_registers_every_action(deploy):
    assert set(deploy.module.ACTIONS) == {"promote", "scan-gate", "deploy-ecs", "deploy-lambda"}
