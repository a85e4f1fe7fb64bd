"""A stand-in for the `docker` CLI inside the simulated CodeBuild container (no Docker engine here).

It implements only what a buildspec does with docker, with the checks the real CLI and daemon
make, and fails the way they fail:

- `docker login --username U --password-stdin REGISTRY`: reads the password from stdin; an empty
  password fails (docker would prompt: "Cannot perform an interactive login from a non TTY
  device", e.g. when `aws ecr get-login-password` failed on the left of the pipe); for an ECR
  registry the password must be the one ECR's GetAuthorizationToken hands out (what
  `aws ecr get-login-password` prints), else the registry answers 400 as ECR does.
- `docker build [-f FILE] [-t TAG]... CONTEXT`: CONTEXT must be a directory, FILE (relative to the
  working directory, default CONTEXT/Dockerfile) must exist, every tag must be a valid reference.
  Records an image whose manifest differs per build (a fresh config blob), so digests differ.
- `docker push NAME:TAG`: the image must have been built (tagged) here and the registry logged in
  to ("no basic auth credentials" otherwise); stores a real Docker v2 manifest in ECR with
  PutImage (digest = sha256 of the manifest bytes, as a registry computes it), so DescribeImages
  returns that digest. ECR errors become the messages docker prints for them.

Every invocation is appended to $DOCKER_STANDIN_LOG as one JSON line {argv, cwd, exit}. State
(logins, local images) lives in $DOCKER_STANDIN_STATE. Unknown subcommands and flags fail with
exit 125 ("unknown flag"), like docker, so a buildspec using something not modelled here fails
loudly instead of passing silently.
"""

import base64
import hashlib
import json
import os
import re
import sys
import time
import uuid

STATE = os.environ["DOCKER_STANDIN_STATE"]
LOG = os.environ["DOCKER_STANDIN_LOG"]

ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$")
# Docker's reference grammar, simplified: lowercase path components, optional tag.
NAME = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"


class Fail(Exception):
    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


def load(name, default):
    path = os.path.join(STATE, name)
    if not os.path.exists(path):
        return default
    with open(path) as handle:
        return json.load(handle)


def save(name, value):
    os.makedirs(STATE, exist_ok=True)
    with open(os.path.join(STATE, name), "w") as handle:
        json.dump(value, handle)


def parse(args, with_value, flags):
    """(options, positionals) for docker-style flags: `--x v`, `--x=v`, `-x v`."""
    options, positionals = {}, []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-") and arg != "-":
            name, eq, value = arg.partition("=")
            if name in with_value:
                if not eq:
                    i += 1
                    if i >= len(args):
                        raise Fail(f"flag needs an argument: {name}", 125)
                    value = args[i]
                options.setdefault(with_value[name], []).append(value)
            elif name in flags and not eq:
                options[flags[name]] = True
            else:
                raise Fail(f"unknown flag: {name}\nSee 'docker --help'.", 125)
        else:
            positionals.append(arg)
        i += 1
    return options, positionals


def split_reference(reference):
    """(registry, repository, tag) of REGISTRY/REPO[:TAG]; tag defaults to latest."""
    first, slash, rest = reference.partition("/")
    if not slash or not ("." in first or ":" in first or first == "localhost"):
        raise Fail(f"the stand-in only handles references with a registry host, got {reference!r}", 125)
    name, colon, tag = rest.rpartition(":") if ":" in rest else (rest, "", "latest")
    if not NAME.match(name) or not TAG.match(tag):
        raise Fail(f"invalid reference format: {reference!r}", 125)
    return first, name, tag


def ecr_client(region):
    import boto3  # the simulator points AWS_ENDPOINT_URL at moto

    return boto3.client("ecr", region_name=region)


def login(args):
    options, positionals = parse(
        args,
        {"-u": "username", "--username": "username", "-p": "password", "--password": "password"},
        {"--password-stdin": "stdin"},
    )
    if len(positionals) != 1:
        raise Fail("the stand-in needs exactly one SERVER argument for login", 125)
    server = re.sub(r"^https?://", "", positionals[0]).rstrip("/")
    username = (options.get("username") or [""])[-1]
    if options.get("stdin"):
        if not username:
            raise Fail("Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\n").rstrip("\r")
    else:
        password = (options.get("password") or [""])[-1]
    if not password:  # docker would prompt, which it cannot do without a terminal
        raise Fail("Error: Cannot perform an interactive login from a non TTY device")
    host = ECR_HOST.match(server)
    if host:
        token = ecr_client(host.group(2)).get_authorization_token()["authorizationData"][0]["authorizationToken"]
        user, _, expected = base64.b64decode(token).decode().partition(":")
        if (username, password) != (user, expected):
            raise Fail(
                f"Error response from daemon: login attempt to https://{server}/v2/ failed with status: 400 Bad Request"
            )
    logins = load("logins.json", [])
    logins.append(server)
    save("logins.json", logins)
    print("Login Succeeded")


def build(args):
    options, positionals = parse(
        args,
        {
            "-f": "file",
            "--file": "file",
            "-t": "tag",
            "--tag": "tag",
            "--build-arg": "build_arg",
            "--platform": "platform",
            "--target": "target",
            "--label": "label",
            "--progress": "progress",
            "--cache-from": "cache_from",
        },
        {"--pull": "pull", "--no-cache": "no_cache", "-q": "quiet", "--quiet": "quiet"},
    )
    if len(positionals) != 1:
        raise Fail('"docker build" requires exactly 1 argument.\nUsage:  docker build [OPTIONS] PATH | URL | -', 1)
    context = positionals[0]
    if not os.path.isdir(context):
        raise Fail(f'ERROR: unable to prepare context: path "{context}" not found')
    dockerfile = (options.get("file") or [os.path.join(context, "Dockerfile")])[-1]
    if not os.path.isfile(dockerfile):
        raise Fail(f"ERROR: failed to solve: failed to read dockerfile: open {dockerfile}: no such file or directory")
    tags = options.get("tag", [])
    for tag in tags:
        split_reference(tag)
    with open(dockerfile, "rb") as handle:
        recipe = handle.read()
    # The config blob changes with every build (docker records the creation time), so every
    # build yields a distinct manifest and digest.
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": time.time_ns(),
            "build": uuid.uuid4().hex,
            "config": {"Labels": {"dockerfile.sha256": hashlib.sha256(recipe).hexdigest()}},
            "rootfs": {"type": "layers", "diff_ids": []},
        }
    ).encode()
    layer = hashlib.sha256(recipe + os.path.abspath(context).encode()).hexdigest()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_V2,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(config),
                "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 1024,
                    "digest": "sha256:" + layer,
                }
            ],
        },
        indent=3,
    )
    images = load("images.json", {})
    for tag in tags:
        images[tag] = manifest
    save("images.json", images)
    image_id = hashlib.sha256(config).hexdigest()[:12]
    print(f"Successfully built {image_id}")
    for tag in tags:
        print(f"Successfully tagged {tag}")


def push(args):
    _, positionals = parse(args, {}, {"-q": "quiet", "--quiet": "quiet"})
    if len(positionals) != 1:
        raise Fail('"docker push" requires exactly 1 argument.', 1)
    reference = positionals[0]
    registry, repository, tag = split_reference(reference)
    reference = f"{registry}/{repository}:{tag}"
    manifest = load("images.json", {}).get(reference)
    if manifest is None:
        raise Fail(f"An image does not exist locally with the tag: {registry}/{repository}")
    print(f"The push refers to repository [{registry}/{repository}]")
    if registry not in load("logins.json", []):
        raise Fail("no basic auth credentials")
    host = ECR_HOST.match(registry)
    if not host:
        raise Fail(f"the stand-in only pushes to ECR registries, got {registry!r}", 125)
    from botocore.exceptions import ClientError

    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    try:
        ecr_client(host.group(2)).put_image(
            registryId=host.group(1),
            repositoryName=repository,
            imageManifest=manifest,
            imageManifestMediaType=DOCKER_V2,
            imageTag=tag,
            imageDigest=digest,
        )
    except ClientError as err:
        code = err.response["Error"]["Code"]
        if code == "ImageAlreadyExistsException":
            pass  # the same manifest under the same tag: docker reports the layers exist and succeeds
        elif code == "ImageTagAlreadyExistsException":
            raise Fail(
                f"tag invalid: The image tag '{tag}' already exists in the '{repository}' repository "
                "and cannot be overwritten because the tag is immutable."
            ) from None
        elif code == "RepositoryNotFoundException":
            raise Fail(
                f"name unknown: The repository with name '{repository}' does not exist in the registry "
                f"with id '{host.group(1)}'"
            ) from None
        else:
            raise Fail(f"{code}: {err.response['Error'].get('Message', '')}") from None
    print(f"{tag}: digest: {digest} size: {len(manifest)}")


COMMANDS = {"login": login, "build": build, "push": push}


def main(argv):
    code = 0
    try:
        if not argv or argv[0] not in COMMANDS:
            raise Fail(f"docker: '{argv[0] if argv else ''}' is not a docker command handled by the stand-in.", 125)
        COMMANDS[argv[0]](argv[1:])
    except Fail as err:
        print(err, file=sys.stderr)
        code = err.code
    with open(LOG, "a") as handle:
        handle.write(json.dumps({"argv": argv, "cwd": os.getcwd(), "exit": code}) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
