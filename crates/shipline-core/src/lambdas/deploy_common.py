"""shipline delivery function, deploy part: what the deploy actions share.

The template appends this to promotion.py (after a blank line), before ecs_deploy.py and/or
lambda_deploy.py, when a stage has a `[stages.deploy]` target, so pipelines without one carry
none of it; it uses promotion.py's names (PromotionError, Done, retryable, REPOSITORY_PATH, ...).
"""

import math

# --- shared by the deploy actions (ecs_deploy.py, lambda_deploy.py) ---------------------------
#
# A deploy takes several invocations; between them a continuation token (PutJobSuccessResult
# `continuationToken`, at most 2,048 characters; CodePipeline API Reference) carries what the
# next one needs, marked with the action's name and token version.

# A registry host (optionally with a port) and a repository path: no tag, no digest.
IMAGE = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?(?::[0-9]{1,5})?/" + REPOSITORY_PATH)
MAX_WAIT_SECONDS = 86400  # CodePipeline fails a Lambda invoke action after 24 hours


def image_field(params):
    image = params.get("image")
    if not isinstance(image, str) or len(image) > 512 or not IMAGE.fullmatch(image):
        hint = (
            "; give the repository URI without a tag or digest (the action pins <image>@<digest>)"
            if isinstance(image, str) and ("@" in image or ":" in image.rsplit("/", 1)[-1])
            else ""
        )
        raise PromotionError(f"UserParameters.image {image!r} is not an image repository URI{hint}")
    return image


def wait_seconds_field(params):
    wait = params.get("wait_seconds")
    if type(wait) is not int or not 60 <= wait <= MAX_WAIT_SECONDS:
        raise PromotionError(
            f"UserParameters.wait_seconds {wait!r} is not a whole number of seconds from 60 to {MAX_WAIT_SECONDS}"
        )
    return wait


def write_token(action, version, /, **fields):
    """A continuation token for `action`: its fields (any names: the first two are positional-only),
    marked `{action: version}`."""
    token = json.dumps({action: version, **fields}, separators=(",", ":"))
    # The fields are bounded (ARNs, names up to 255), so a token stays under this; never send a longer one.
    if len(token) > 2048:
        raise PromotionError("the deployment's continuation token would exceed 2048 characters")
    return token


def read_token(raw, action, version, now, foreign):
    """The fields of a token `action` wrote (marker and start time checked; the action checks the
    rest). A token it did not write raises `foreign(why)`: guessing could start a second deployment."""
    try:
        token = json.loads(raw)
    except (TypeError, ValueError, RecursionError):
        raise foreign("not JSON") from None
    if not isinstance(token, dict) or token.get(action) != version:
        raise foreign(f"no {action} marker")
    started = token.get("started")
    # A little leeway for clocks: invocations may run on different hosts.
    if type(started) not in (int, float) or not math.isfinite(started) or not 0 < started <= now + 300:
        raise foreign("bad start time")
    return token


def retry_later(err, raw, service, expired, codes=()):
    """Done handing back the same token `raw` when `err` is one a later call may not meet
    (throttling, a 5xx, no answer, or one of `codes`) and the wait is not over (`expired`);
    None when the job should fail with `err`. For the phases after a deploy's change was sent,
    which check before they act and so are safe to repeat."""
    code = err.response.get("Error", {}).get("Code") if isinstance(err, ClientError) else type(err).__name__
    if expired or not (retryable(err) or code in codes):
        return None
    LOG.warning("%s call failed (%s: %s); trying again at the next invocation", service, type(err).__name__, err)
    return Done(f"could not reach {service} ({code}); checking again shortly", continuation=raw)
