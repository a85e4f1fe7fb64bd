"""shipline delivery function, Lambda part: the deploy-lambda action.

The template appends this to promotion.py and deploy_common.py (after a blank line, and
after ecs_deploy.py when a stage also deploys to ECS) when a stage has a
`[stages.deploy.lambda]` target; it uses their names (client, Done, PromotionError,
digest_field, image_field, read_token, retry_later, ...) and registers itself in ACTIONS. All
its own top-level names contain `lambda`, so none replaces one of ecs_deploy.py's in the one
module. UserParameters:
    {"action": "deploy-lambda", "image": "<registry>/<repository>", "digest": "sha256:...",
     "function": "<name or unqualified ARN>", "alias": "<name>" or null, "wait_seconds": 60-86400}
It points an existing container-image function at `<image>@<digest>` (never a tag), waits for
Lambda to finish the update, publishes a version and moves the alias to it (without an alias,
it only publishes). Output variables LAMBDA_VERSION and LAMBDA_IMAGE. An update Lambda reports
failed fails the job, so the stage rolls back (moving the tag back and deploying the previous
digest the same way).
"""

# --- deploy-lambda ----------------------------------------------------------------------------
#
# One deploy takes three kinds of invocation, each making at most three Lambda calls (so with
# its report attempts it ends within the function's 60 s, like a promotion; see CLIENT_CONFIG):
#   start       GetFunction, GetAlias (with an alias), UpdateFunctionCode (unless already live)
#   updating    GetFunctionConfiguration, PublishVersion, UpdateAlias
#   publishing  GetFunctionConfiguration (the version), UpdateAlias
# and between them a continuation token (promotion.py's write_token). Lambda API Reference and
# Developer Guide pages cited: GetFunction, GetFunctionConfiguration, UpdateFunctionCode,
# PublishVersion, GetAlias, UpdateAlias; "Lambda function states"; "Deploying Lambda functions
# as container images".

# CreateFunction FunctionName: 1-64 letters, digits, hyphens, underscores; or the unqualified ARN.
LAMBDA_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
LAMBDA_FUNCTION_ARN = re.compile(r"arn:aws[a-z-]*:lambda:([a-z0-9-]+):[0-9]{12}:function:([A-Za-z0-9_-]{1,64})")
# CreateAlias Name: 1-128 of the same characters, not only digits (that is a version number).
LAMBDA_ALIAS = re.compile(r"(?![0-9]+$)[A-Za-z0-9_-]{1,128}")
LAMBDA_VERSION_NUMBER = re.compile(r"[0-9]{1,10}")
# FunctionConfiguration.CodeSha256: hex for an image (its digest), base64 for a .zip archive.
LAMBDA_CODE_SHA256 = re.compile(r"[A-Za-z0-9+/=]{1,128}")
LAMBDA_TOKEN_VERSION = 1


def lambda_parameters(params):
    fields = {"digest": digest_field(params), "image": image_field(params)}
    function = params.get("function")
    if not isinstance(function, str) or not (
        LAMBDA_FUNCTION_NAME.fullmatch(function) or LAMBDA_FUNCTION_ARN.fullmatch(function)
    ):
        hint = (
            "; name the function without a version or alias (the alias goes in `alias`)"
            if isinstance(function, str) and LAMBDA_FUNCTION_ARN.fullmatch(function.rsplit(":", 1)[0])
            else ""
        )
        raise PromotionError(f"UserParameters.function {function!r} is not a Lambda function name or ARN{hint}"[:500])
    alias = params.get("alias")
    if alias is not None and (not isinstance(alias, str) or not LAMBDA_ALIAS.fullmatch(alias)):
        raise PromotionError(f"UserParameters.alias {alias!r} is not a Lambda alias name (or null)"[:500])
    return {**fields, "function": function, "alias": alias, "wait_seconds": wait_seconds_field(params)}


def lambda_console_link(params, version=None):
    """The function's page (or one version's) in the Lambda console, in the function's region
    (its ARN's, else the delivery function's own: Lambda sets AWS_REGION)."""
    match = LAMBDA_FUNCTION_ARN.fullmatch(params["function"])
    region = match.group(1) if match else os.environ.get("AWS_REGION") or client("lambda").meta.region_name
    name = match.group(2) if match else params["function"]
    page = f"#/functions/{name}" + (f"/versions/{version}" if version else "")
    return f"https://{region}.console.aws.amazon.com/lambda/home?region={region}{page}"


def lambda_token(**fields):
    return write_token("deploy-lambda", LAMBDA_TOKEN_VERSION, **fields)


def read_lambda_token(raw, params, now):
    """The state an earlier invocation of this action left in its continuation token, checked;
    None on the first invocation. A token this action did not write fails the job."""
    if raw is None:
        return None

    def foreign(why):
        return PromotionError(
            f"the continuation token is not one deploy-lambda wrote ({why}); not updating the function again: "
            f"check it ({lambda_console_link(params)}) and re-run the stage"
        )

    token = read_token(raw, "deploy-lambda", LAMBDA_TOKEN_VERSION, now, foreign)
    phase = token.get("phase")
    if phase not in ("start", "updating", "publishing"):
        raise foreign("unknown phase")
    previous = token.get("previous")
    if not (
        previous is None
        or (isinstance(previous, str) and (previous == "$LATEST" or LAMBDA_VERSION_NUMBER.fullmatch(previous)))
    ):
        raise foreign("bad alias version")
    if phase == "start":
        return token
    if not isinstance(token.get("code"), str) or not LAMBDA_CODE_SHA256.fullmatch(token["code"]):
        raise foreign("bad code hash")
    if phase == "publishing" and not (
        isinstance(token.get("version"), str) and LAMBDA_VERSION_NUMBER.fullmatch(token["version"])
    ):
        raise foreign("bad version")
    return token


def deploy_lambda(lam, job, params, now):
    raw = job["data"].get("continuationToken")
    token = read_lambda_token(raw, params, now)
    if token is None or token["phase"] == "start":
        # Any error before the update was sent fails the job: nothing changed yet.
        return start_lambda_update(lam, params, now, token)
    try:
        if token["phase"] == "updating":
            return follow_lambda_update(lam, params, token, now)
        return follow_lambda_version(lam, params, token, now)
    except (ClientError, BotoCoreError) as err:
        # Both phases are safe to repeat (each reads before it acts; PublishVersion publishes
        # nothing new for code already published), so an error a later call may not meet does
        # not end a deploy that may be going well: the same token comes back to try again.
        # TooManyRequestsException is Lambda's throttling error (HTTP 429; Lambda API Reference).
        expired = now - token["started"] >= params["wait_seconds"]
        done = retry_later(err, raw, "Lambda", expired, codes=("TooManyRequestsException",))
        if done is None:
            raise
        return done


def lambda_error_code(err):
    return err.response.get("Error", {}).get("Code") if isinstance(err, ClientError) else None


def lambda_changed(params, what):
    return PromotionError(
        f"Lambda function {params['function']} {what} while this action ran (another deployment?); "
        f"not overriding it with {params['image']}@{params['digest']}: check {lambda_console_link(params)} "
        "and re-run the stage"
    )


def lambda_waiting(params, token, now, state):
    """A continuation while Lambda works, or the failure once `wait_seconds` have passed."""
    waited = int(now - token["started"])
    name = params["function"]
    if waited >= params["wait_seconds"]:
        raise PromotionError(
            f"the update of Lambda function {name} is still in progress after {waited // 60} minutes ({state}); "
            f"it continues in Lambda; check {lambda_console_link(params)} "
            "(or raise stages.deploy.lambda.wait_minutes)"
        )
    fields = {k: v for k, v in token.items() if k != "deploy-lambda"}
    return Done(f"Lambda function {name}: {state} ({waited} s so far)", continuation=lambda_token(**fields))


def start_lambda_update(lam, params, now, token):
    """First invocation (again while someone else's update runs): put the digest on $LATEST,
    or find it already there."""
    name, alias = params["function"], params["alias"]
    pinned = f"{params['image']}@{params['digest']}"
    started = token["started"] if token else now
    try:
        found = lam.get_function(FunctionName=name)
    except ClientError as err:
        if lambda_error_code(err) == "ResourceNotFoundException":
            raise PromotionError(
                f"Lambda function {name} does not exist in this account and region; "
                "check stages.deploy.lambda.function in shipline.toml"
            ) from None
        raise
    config = found.get("Configuration") or {}
    # A function's package type cannot change ("Deploying Lambda functions as container images").
    if config.get("PackageType") != "Image":
        raise PromotionError(
            f"Lambda function {name} is a .zip file archive function (PackageType "
            f"{config.get('PackageType') or 'Zip'}); shipline deploys container images and Lambda cannot "
            "change a function's package type: point stages.deploy.lambda.function at a function created "
            "from a container image"
        )
    # "Lambda function states": State Pending while Lambda creates the function, Failed when
    # that failed (delete and recreate it); LastUpdateStatus InProgress while an update runs,
    # during which UpdateFunctionCode fails with ResourceConflictException.
    state, status = config.get("State"), config.get("LastUpdateStatus")
    if state == "Failed":
        reason = config.get("StateReason") or config.get("StateReasonCode") or "no reason given"
        raise PromotionError(
            f"Lambda function {name} is in state Failed ({reason}); Lambda cannot update it: "
            f"delete and recreate it; see {lambda_console_link(params)}"
        )
    # The pipeline builds on CodeBuild's x86_64 image; an arm64 function would accept the image
    # and publish a version that fails at its first invocation, after the alias moved.
    architectures = config.get("Architectures") or ["x86_64"]
    if architectures != ["x86_64"]:
        raise PromotionError(
            f"Lambda function {name} runs on {', '.join(architectures)}, but the pipeline builds x86_64 "
            "images: set the function's architecture to x86_64 (Lambda console, or Architectures in its "
            "template); nothing was changed"
        )
    waiting = {"phase": "start", "started": started, "previous": None}
    if state == "Pending" or status == "InProgress":
        return lambda_waiting(params, waiting, now, f"waiting for another update to finish (State {state}, {status})")
    previous = None
    if alias:
        # Checked before anything changes: a missing alias must not leave $LATEST updated.
        previous = lambda_alias_version(lam, params)
    # After a Failed update Lambda may still report the image it tried; only a successful one
    # means $LATEST runs it, so a failed one is sent again.
    if (found.get("Code") or {}).get("ImageUri") == pinned and status != "Failed":
        # A re-run, or a stage rollback deploying the digest $LATEST already runs: nothing to
        # update; the next invocation publishes it (or finds it published) and moves the alias.
        code, what = config.get("CodeSha256"), f"{name} already runs {pinned}"
    else:
        request = {"FunctionName": name, "ImageUri": pinned}
        if config.get("RevisionId"):
            # Only if the function is still as read (else PreconditionFailedException).
            request["RevisionId"] = config["RevisionId"]
        try:
            updated = lam.update_function_code(**request)
        except ClientError as err:
            if lambda_error_code(err) == "ResourceConflictException":  # an update began since
                return lambda_waiting(params, waiting, now, "waiting for another update to finish")
            if lambda_error_code(err) == "PreconditionFailedException":
                raise lambda_changed(params, "changed") from None
            message = err.response.get("Error", {}).get("Message", "")
            if lambda_error_code(err) == "InvalidParameterValueException" and "media type" in message:
                # Lambda runs single-platform images only: an image index (a manifest list, e.g.
                # with BuildKit's provenance attestations) is refused (aws/aws-lambda-roadmap#82).
                raise PromotionError(
                    f"Lambda refused {pinned}: {message} Lambda needs a single-platform image; build "
                    "without attestations (docker build --provenance=false --sbom=false) so the digest "
                    "names an image manifest, not an index"
                ) from None
            raise
        code, what = updated.get("CodeSha256"), f"updating {name} to {pinned}"
        LOG.info("updating %s from %s to %s", name, (found.get("Code") or {}).get("ImageUri"), pinned)
    if not isinstance(code, str) or not LAMBDA_CODE_SHA256.fullmatch(code):
        raise PromotionError(f"Lambda reported no code hash for {name} (CodeSha256 {code!r})")
    return Done(
        f"{what}; publishing a version next",
        continuation=lambda_token(phase="updating", started=started, previous=previous, code=code),
    )


def lambda_alias_version(lam, params):
    """The version the alias points at now (GetAlias); fails when there is no such alias."""
    try:
        return lam.get_alias(FunctionName=params["function"], Name=params["alias"]).get("FunctionVersion")
    except ClientError as err:
        if lambda_error_code(err) == "ResourceNotFoundException":
            raise lambda_no_alias(params) from None
        raise


def lambda_no_alias(params):
    name, alias = params["function"], params["alias"]
    return PromotionError(
        f"Lambda function {name} has no alias {alias}; shipline moves an alias but does not create one: "
        f"create it (aws lambda create-alias --function-name {name} --name {alias} --function-version <version>) "
        "or set stages.deploy.lambda.alias to an existing alias, then re-run the stage"
    )


def follow_lambda_update(lam, params, token, now):
    """Until Lambda finishes updating $LATEST, then publish it as a version."""
    name = params["function"]
    config = lam.get_function_configuration(FunctionName=name)
    status = config.get("LastUpdateStatus") or "Successful"
    if status == "InProgress":
        return lambda_waiting(
            params,
            token,
            now,
            f"Lambda is updating the function ({config.get('LastUpdateStatusReason') or 'InProgress'})",
        )
    if status == "Failed":
        reason = config.get("LastUpdateStatusReason") or "no reason given"
        raise PromotionError(
            f"Lambda could not update function {name} to {params['image']}@{params['digest']}: {reason} "
            f"({config.get('LastUpdateStatusReasonCode') or 'Failed'}); the function keeps its previous code; "
            f"the stage rolls back to the previous digest; see {lambda_console_link(params)}"
        )
    if config.get("CodeSha256") != token["code"]:
        raise lambda_changed(params, f"got other code (CodeSha256 {config.get('CodeSha256')})")
    request = {"FunctionName": name, "CodeSha256": token["code"]}
    if config.get("RevisionId"):
        request["RevisionId"] = config["RevisionId"]
    try:
        # PublishVersion: only if $LATEST still has this code and revision. Lambda publishes
        # no version when code and configuration are unchanged since the newest version and
        # returns that one instead (Lambda API Reference, PublishVersion): a re-run deploying
        # the digest already published ends on the version that runs it, checked below.
        published = lam.publish_version(**request)
    except ClientError as err:
        if lambda_error_code(err) == "ResourceConflictException":  # someone else's update began
            return lambda_waiting(params, token, now, "waiting for another update to finish before publishing")
        if lambda_error_code(err) == "PreconditionFailedException":
            raise lambda_changed(params, "changed") from None
        raise
    return lambda_version_state(lam, params, {**token, "version": published.get("Version")}, published, now)


def follow_lambda_version(lam, params, token, now):
    """Until the published version is Active (GetFunctionConfiguration with Qualifier)."""
    config = lam.get_function_configuration(FunctionName=params["function"], Qualifier=token["version"])
    return lambda_version_state(lam, params, token, config, now)


def lambda_version_state(lam, params, token, config, now):
    """The version judged from its configuration: wait while Pending, fail if Failed, else move
    the alias ("Lambda function states": a version is Pending while Lambda prepares it)."""
    version, name = token["version"], params["function"]
    if not isinstance(version, str) or not LAMBDA_VERSION_NUMBER.fullmatch(version):
        raise PromotionError(f"Lambda published no numbered version of {name} (Version {version!r})")
    if config.get("CodeSha256") != token["code"]:
        raise lambda_changed(
            params, f"published version {version} with other code (CodeSha256 {config.get('CodeSha256')})"
        )
    state = config.get("State") or "Active"
    if state == "Pending":
        token = {**token, "phase": "publishing"}
        return lambda_waiting(params, token, now, f"version {version} is Pending")
    if state == "Failed":
        reason = config.get("StateReason") or "no reason given"
        raise PromotionError(
            f"Lambda version {version} of {name} failed: {reason} ({config.get('StateReasonCode') or 'Failed'}); "
            f"the stage rolls back to the previous digest; see {lambda_console_link(params, version)}"
        )
    # Active (or Inactive: reclaimed when idle, made Active again by its next invocation).
    pinned = f"{params['image']}@{params['digest']}"
    what = f"version {version} of {name} runs {pinned}"
    if params["alias"]:
        try:
            # An empty AdditionalVersionWeights ends any weighted routing to another version
            # (UpdateAlias RoutingConfig; AliasRoutingConfiguration): all traffic to this one.
            lam.update_alias(
                FunctionName=name,
                Name=params["alias"],
                FunctionVersion=version,
                RoutingConfig={"AdditionalVersionWeights": {}},
            )
        except ClientError as err:
            if lambda_error_code(err) == "ResourceNotFoundException":
                raise lambda_no_alias(params) from None
            raise
        previous = token.get("previous")
        moved = f" from version {previous}" if previous and previous != version else ""
        what += f"; alias {params['alias']} moved{moved} to it"
    return Done(
        f"{what}; {lambda_console_link(params, version)}",
        variables={"LAMBDA_VERSION": version, "LAMBDA_IMAGE": pinned},
    )


def run_deploy_lambda(job, params):
    return deploy_lambda(client("lambda"), job, params, time.time())


ACTIONS["deploy-lambda"] = Action(lambda_parameters, run_deploy_lambda)
