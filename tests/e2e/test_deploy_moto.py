"""End to end: the real `shipline` binary against a local moto_server.

moto's CloudFormation cannot create CodeBuild, CodePipeline or CodeConnections resources (and
fails on references to them), so each template is synthesized by the binary and reduced by
moto_template.py before `deploy --template`; everything else is deployed as synthesized. The
lifecycle: deploy (create) -> status -> deploy again (no-op, API calls counted) -> config change
-> plan (nothing applied) -> deploy (update) -> destroy refused without --yes -> destroy
(repository and bucket survive) -> status of a missing stack; and a second stack destroyed
with --delete-data (refused without --yes off a terminal; then repository and every object
version gone).
"""

import json
import os
import pathlib
import subprocess
import sys

import boto3
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("SHIPLINE_BIN", str(ROOT / "target/debug/shipline"))
sys.path.insert(0, str(pathlib.Path(__file__).parent))
sys.path.insert(0, str(ROOT / "tests/support"))
import moto_process  # noqa: E402
import moto_template  # noqa: E402

CONFIG = """
[app]
name = "{app}"
[source]
repository = "acme/orders"
connection_arn = "arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-1111-2222-3333-444455556666"
[logs]
retention_days = {retention}
"""


free_port = moto_process.free_port


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    log = tmp_path_factory.mktemp("moto") / "requests.log"
    with moto_process.moto_server(log) as endpoint:
        yield {"endpoint": endpoint, "log": log}


@pytest.fixture(scope="module")
def env(moto):
    values = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto["endpoint"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SHIPLINE_POLL_MS": "100",
    }
    values.pop("AWS_PROFILE", None)
    return values


def aws(moto, service):
    return boto3.client(
        service,
        endpoint_url=moto["endpoint"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def shipline(workdir, env, *args):
    # The reduced templates moto can hold drop what shipline's built-in rules require (the KMS
    # key's tags, which moto reads in the wrong shape), so they are deployed without the rules.
    if args and args[0] in ("deploy", "plan") and "--template" in args:
        args = (*args, "--no-validate")
    return subprocess.run(
        [BIN, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )


def reduced_template(workdir, env, retention, app="orders"):
    (workdir / "shipline.toml").write_text(CONFIG.format(retention=retention, app=app))
    synth = shipline(workdir, env, "synth")
    assert synth.returncode == 0, synth.stderr
    path = workdir / f"template-{retention}.json"
    path.write_text(json.dumps(moto_template.reduce(json.loads(synth.stdout))))
    return path


def retention_of(moto, name):
    groups = aws(moto, "logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return groups[0].get("retentionInDays") if groups else None


def requests_served(moto):
    return sum(1 for line in moto["log"].read_text().splitlines() if '"POST ' in line or '"GET ' in line)


def test_deploy_lifecycle(tmp_path, moto, env):
    v1 = reduced_template(tmp_path, env, 7)

    created = shipline(tmp_path, env, "deploy", "--yes", "--template", str(v1))
    assert created.returncode == 0, created.stderr
    assert "stack orders-pipeline: CREATE_COMPLETE" in created.stdout
    # Where it goes (moto's account), said before the change set is shown, also with --yes.
    target = "deploying stack orders-pipeline to account 123456789012 in us-east-1"
    assert target in created.stderr, created.stderr
    assert created.stderr.index(target) < created.stderr.index("+ ImageRepository")
    assert "+ ImageRepository" in created.stderr and "+ ArtifactBucket" in created.stderr
    assert "register the webhook in GitHub" in created.stderr
    assert [r["repositoryName"] for r in aws(moto, "ecr").describe_repositories()["repositories"]] == ["orders"]
    assert retention_of(moto, "/aws/codebuild/orders-build") == 7

    status = shipline(tmp_path, env, "status", "--json")
    assert status.returncode == 0, status.stderr
    status = json.loads(status.stdout)
    assert status["status"] == "CREATE_COMPLETE"
    # Outputs are an object keyed by name (`jq .outputs.RepositoryUri`); moto's CloudFormation
    # reports no output values, so only the shape is checked here.
    assert isinstance(status["outputs"], dict)

    before = requests_served(moto)
    again = shipline(tmp_path, env, "deploy", "--yes", "--template", str(v1))
    calls = requests_served(moto) - before
    assert again.returncode == 0, again.stderr
    assert "stack orders-pipeline: no changes" in again.stdout
    # GetCallerIdentity (the account line), DescribeStacks, CreateChangeSet, DescribeChangeSet,
    # DeleteChangeSet, DescribeStacks (outputs).
    assert calls <= 6, f"a no-op deploy made {calls} API calls"
    unchanged = shipline(tmp_path, env, "plan", "--template", str(v1), "--detailed-exitcode")
    assert unchanged.returncode == 0, unchanged.stderr
    assert unchanged.stdout == "stack orders-pipeline: no changes\n"
    assert "planning stack orders-pipeline against account 123456789012 in us-east-1" in unchanged.stderr

    v2 = reduced_template(tmp_path, env, 14)
    plan = shipline(tmp_path, env, "plan", "--template", str(v2), "--json")
    assert plan.returncode == 0, plan.stderr
    planned = json.loads(plan.stdout)
    assert planned["status"] == "PLANNED"
    assert {"action": "Modify", "logical_id": "BuildLogGroup"}.items() <= next(
        c for c in planned["changes"] if c["logical_id"] == "BuildLogGroup"
    ).items()
    assert retention_of(moto, "/aws/codebuild/orders-build") == 7, "plan must not change anything"
    # The change list is plan's result: on stdout even with -q, one line per resource (moto
    # returns no property Details, so the line is sign, logical id and type), and exit 2 with
    # --detailed-exitcode.
    listed = shipline(tmp_path, env, "plan", "--template", str(v2), "-q", "--detailed-exitcode")
    assert listed.returncode == 2, listed.stderr
    lines = listed.stdout.splitlines()
    resources = [line for line in lines if line[:2] in ("+ ", "~ ", "- ")]
    assert len(resources) == len(planned["changes"]), listed.stdout
    assert any(line.split()[:3] == ["~", "BuildLogGroup", "AWS::Logs::LogGroup"] for line in resources), listed.stdout
    assert lines[-1] == f"stack orders-pipeline: {len(resources)} change(s) planned (nothing was changed)"
    assert "BuildLogGroup" not in listed.stderr

    updated = shipline(tmp_path, env, "deploy", "--yes", "--template", str(v2))
    assert updated.returncode == 0, updated.stderr
    assert "UPDATE_COMPLETE" in updated.stdout
    # moto applies updates to few resource types (not log groups), so check what CloudFormation
    # now holds: the stack's template is the updated one.
    body = aws(moto, "cloudformation").get_template(StackName="orders-pipeline")["TemplateBody"]
    body = body if isinstance(body, dict) else json.loads(body)
    assert body["Resources"]["BuildLogGroup"]["Properties"]["RetentionInDays"] == 14

    refused = shipline(tmp_path, env, "destroy")
    assert refused.returncode == 1
    assert "rerun with --yes" in refused.stderr
    assert "deleting stack orders-pipeline from account 123456789012 in us-east-1" in refused.stderr
    assert shipline(tmp_path, env, "status").returncode == 0, "a refused destroy deletes nothing"

    bucket = next(b["Name"] for b in aws(moto, "s3").list_buckets()["Buckets"] if "artifactbucket" in b["Name"])
    aws(moto, "s3").put_object(Bucket=bucket, Key="orders/SourceOutput/abc.zip", Body=b"artifact")
    destroyed = shipline(tmp_path, env, "destroy", "--yes")
    assert destroyed.returncode == 0, destroyed.stderr
    assert "stack orders-pipeline: deleted" in destroyed.stdout
    assert "kept ECR repository orders" in destroyed.stdout
    assert f"kept S3 bucket {bucket}" in destroyed.stdout
    # Retained with their contents.
    assert [r["repositoryName"] for r in aws(moto, "ecr").describe_repositories()["repositories"]] == ["orders"]
    assert aws(moto, "s3").get_object(Bucket=bucket, Key="orders/SourceOutput/abc.zip")["Body"].read() == b"artifact"

    gone = shipline(tmp_path, env, "status")
    assert gone.returncode == 1
    assert "stack orders-pipeline does not exist" in gone.stderr


def test_aws_errors_are_one_clear_line(tmp_path, env):
    (tmp_path / "shipline.toml").write_text(CONFIG.format(retention=7, app="orders"))
    unreachable = {**env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    result = shipline(tmp_path, unreachable, "status")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: could not reach AWS at 127.0.0.1:"), lines[0]
    assert "connection refused" in lines[0] and "{" not in lines[0], lines[0]


def test_destroy_delete_data_removes_images_and_every_object_version(tmp_path, moto, env):
    template = reduced_template(tmp_path, env, 7, app="billing")
    created = shipline(tmp_path, env, "deploy", "--yes", "--template", str(template))
    assert created.returncode == 0, created.stderr
    ecr, s3 = aws(moto, "ecr"), aws(moto, "s3")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": 2,
                "digest": "sha256:" + "4" * 64,
            },
            "layers": [],
        }
    )
    ecr.put_image(
        repositoryName="billing",
        imageManifest=manifest,
        imageTag="abc1234",
        imageManifestMediaType="application/vnd.oci.image.manifest.v1+json",
    )
    bucket = next(
        b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("billing-pipeline-artifactbucket")
    )
    # moto's CloudFormation ignores VersioningConfiguration; turn it on as AWS would have.
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"v1", b"v2"):  # two versions of one key, then a delete marker
        s3.put_object(Bucket=bucket, Key="billing/BuildOutput/x.zip", Body=body)
    s3.delete_object(Bucket=bucket, Key="billing/BuildOutput/x.zip")

    refused = shipline(tmp_path, env, "destroy", "--delete-data")
    assert refused.returncode == 1
    assert "rerun with --yes" in refused.stderr
    assert "PERMANENTLY deletes ECR repository billing with its 1 image(s)" in refused.stderr
    assert "billing" in [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]

    destroyed = shipline(tmp_path, env, "destroy", "--delete-data", "--yes", "--json")
    assert destroyed.returncode == 0, destroyed.stderr
    result = json.loads(destroyed.stdout)
    assert result["kept"] == []
    assert {"kind": "ecr_repository", "id": "billing", "items": 1} in result["deleted"]
    assert {"kind": "s3_bucket", "id": bucket, "items": 3} in result["deleted"]
    assert "billing" not in [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


BIG_CONFIG = CONFIG + "[tags]\n" + "".join(f'Tag{i:02} = "{"v" * 120}-{i:02}"\n' for i in range(40))


def staging_buckets(moto):
    return [b["Name"] for b in aws(moto, "s3").list_buckets()["Buckets"] if b["Name"].startswith("shipline-staging-")]


def test_templates_over_the_inline_limit_go_through_a_staging_bucket(tmp_path, moto, env):
    small = reduced_template(tmp_path, env, 7, app="small")
    inline = shipline(tmp_path, env, "deploy", "--yes", "--template", str(small))
    assert inline.returncode == 0, inline.stderr
    assert staging_buckets(moto) == [], "a template under 51,200 bytes needs no bucket"

    (tmp_path / "shipline.toml").write_text(BIG_CONFIG.format(retention=7, app="large"))
    synth = shipline(tmp_path, env, "synth")
    assert synth.returncode == 0, synth.stderr
    big = tmp_path / "big.json"
    big.write_text(json.dumps(moto_template.reduce(json.loads(synth.stdout)), indent=2))
    assert len(json.dumps(json.loads(big.read_text()), separators=(",", ":"))) > 51_200

    created = shipline(tmp_path, env, "deploy", "--yes", "--template", str(big))
    assert created.returncode == 0, created.stderr
    assert "CREATE_COMPLETE" in created.stdout
    assert staging_buckets(moto) == ["shipline-staging-123456789012-us-east-1"]
    bucket = staging_buckets(moto)[0]
    assert f"uploaded to s3://{bucket}/large-pipeline/template-" in created.stderr
    assert "a staging bucket created now" in created.stderr
    s3 = aws(moto, "s3")
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]["Expiration"]["Days"] == 1
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}
    ]
    # The stack holds the large template, tags and all.
    body = aws(moto, "cloudformation").get_template(StackName="large-pipeline")["TemplateBody"]
    body = body if isinstance(body, dict) else json.loads(body)
    assert len(body["Resources"]["ImageRepository"]["Properties"]["Tags"]) == 42

    # Reused, not created again; plan takes the same route.
    planned = shipline(tmp_path, env, "plan", "--template", str(big))
    assert planned.returncode == 0, planned.stderr
    assert f"uploaded to s3://{bucket}/" in planned.stderr
    assert "created now" not in planned.stderr
    assert staging_buckets(moto) == [bucket]
    assert len(s3.list_objects_v2(Bucket=bucket)["Contents"]) == 2

    # A bucket named in shipline.toml is used as is (and --staging-bucket wins over it).
    s3.create_bucket(Bucket="team-cfn-templates")
    (tmp_path / "shipline.toml").write_text(
        BIG_CONFIG.format(retention=7, app="large") + '[deploy]\nstaging_bucket = "team-cfn-templates"\n'
    )
    configured = shipline(tmp_path, env, "plan", "--template", str(big))
    assert configured.returncode == 0, configured.stderr
    assert "uploaded to s3://team-cfn-templates/large-pipeline/template-" in configured.stderr
    assert len(s3.list_objects_v2(Bucket="team-cfn-templates")["Contents"]) == 1
    flagged = shipline(tmp_path, env, "plan", "--template", str(big), "--staging-bucket", bucket)
    assert flagged.returncode == 0, flagged.stderr
    assert f"uploaded to s3://{bucket}/" in flagged.stderr


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_plan_accepts_each_synth_output_for_every_config(tmp_path, moto, env, fmt):
    """`synth` output (pretty JSON or YAML) is accepted by `--template` as is; what is sent is
    compact JSON. moto cannot hold the full templates, so the refusal must come from moto's
    CloudFormation (exit 1), never from reading the file (exit 2)."""
    configs = sorted((ROOT / "tests/configs").glob("*.toml"))
    for config in configs:
        out = tmp_path / f"{config.stem}.{fmt}"
        synth = shipline(tmp_path, env, "--config", str(config), "synth", "--format", fmt)
        assert synth.returncode == 0, synth.stderr
        out.write_text(synth.stdout)
        result = shipline(
            tmp_path,
            env,
            "--config",
            str(config),
            "plan",
            "--template",
            str(out),
            "--stack-name",
            f"accept-{config.stem.replace('.', '-')}-{fmt}",
        )
        assert result.returncode != 2, f"{config.name} ({fmt}): {result.stderr}"
        assert "cannot read the template" not in result.stderr


def test_the_aws_cli_route_deploys_a_large_template_with_s3_bucket(tmp_path, moto, env):
    """The README's AWS CLI route: `aws cloudformation deploy --s3-bucket` for templates over
    51,200 bytes (the CLI refuses them inline)."""
    (tmp_path / "shipline.toml").write_text(BIG_CONFIG.format(retention=7, app="clirte"))
    synth = shipline(tmp_path, env, "synth", "--format", "yaml")
    assert synth.returncode == 0, synth.stderr
    full = yaml_load(synth.stdout)
    template = tmp_path / "pipeline.yaml"
    template.write_text(yaml_dump(moto_template.reduce(full)))
    aws(moto, "s3").create_bucket(Bucket="my-cfn-templates")
    cli = pathlib.Path(sys.executable).parent / "aws"
    base = [
        str(cli),
        "cloudformation",
        "deploy",
        "--template-file",
        str(template),
        "--stack-name",
        "clirte-pipeline",
        "--capabilities",
        "CAPABILITY_IAM",
    ]
    # The CLI points TemplateURL at the S3 endpoint, path style; moto reads such URLs back only
    # when their host is `localhost`.
    env = {**env, "AWS_ENDPOINT_URL": moto["endpoint"].replace("127.0.0.1", "localhost")}
    refused = subprocess.run(base, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "51,200 bytes" in refused.stderr, refused.stderr
    deployed = subprocess.run(
        [*base, "--s3-bucket", "my-cfn-templates"], env=env, capture_output=True, text=True, timeout=120
    )
    assert deployed.returncode == 0, deployed.stderr
    status = aws(moto, "cloudformation").describe_stacks(StackName="clirte-pipeline")["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE"


def yaml_load(text):
    import yaml

    return yaml.load(text, Loader=yaml.SafeLoader)


def yaml_dump(value):
    import yaml

    return yaml.safe_dump(value, width=1_000_000)


TARGETS = """
[[stages]]
name = "staging"
deploy.lambda = {{ function = "{app}-api", alias = "live" }}

[[stages]]
name = "production"
deploy.ecs = {{ cluster = "{app}-prod", service = "{app}-web", container = "web" }}
"""


def test_status_shows_what_each_deploy_target_runs(tmp_path, moto, env):
    """`status` reads the stages' ECS service and Lambda function from the real binary's SDK
    calls against moto: the digest each runs, the function's alias version, the deployment."""
    app = "shop"
    (tmp_path / "shipline.toml").write_text(CONFIG.format(retention=7, app=app) + TARGETS.format(app=app))
    synth = shipline(tmp_path, env, "synth")
    assert synth.returncode == 0, synth.stderr
    template = tmp_path / "template.json"
    template.write_text(json.dumps(moto_template.reduce(json.loads(synth.stdout))))
    created = shipline(tmp_path, env, "deploy", "--yes", "--template", str(template))
    assert created.returncode == 0, created.stderr

    uri = aws(moto, "ecr").describe_repositories(repositoryNames=[app])["repositories"][0]["repositoryUri"]
    live, served = "sha256:" + "5" * 64, "sha256:" + "6" * 64
    ecs = aws(moto, "ecs")
    ecs.create_cluster(clusterName=f"{app}-prod")
    task = ecs.register_task_definition(
        family=f"{app}-web",
        containerDefinitions=[
            {"name": "sidecar", "image": "public.ecr.aws/nginx/nginx:1.27", "memory": 64},
            {"name": "web", "image": f"{uri}@{served}", "memory": 256},
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=f"{app}-prod", serviceName=f"{app}-web", taskDefinition=task, desiredCount=1)
    role = aws(moto, "iam").create_role(RoleName=f"{app}-api", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = aws(moto, "lambda")
    lam.create_function(FunctionName=f"{app}-api", Role=role, PackageType="Image", Code={"ImageUri": f"{uri}@{live}"})
    version = lam.publish_version(FunctionName=f"{app}-api")["Version"]
    lam.create_alias(FunctionName=f"{app}-api", Name="live", FunctionVersion=version)

    status = shipline(tmp_path, env, "status", "--json")
    assert status.returncode == 0, status.stderr
    result = json.loads(status.stdout)
    (service,) = result["services"]
    assert (service["stage"], service["cluster"], service["service"]) == ("production", f"{app}-prod", f"{app}-web")
    assert service["digest"] == served and service["task_definition"] == task and service["error"] is None
    (function,) = result["functions"]
    assert (function["stage"], function["function"], function["alias"]) == ("staging", f"{app}-api", "live")
    assert function["version"] == version and function["digest"] == live and function["error"] is None

    text = shipline(tmp_path, env, "status")
    assert text.returncode == 0, text.stderr
    assert f"production   {app}-prod/{app}-web  runs {served}" in text.stdout, text.stdout
    assert f"staging      {app}-api:live -> version {version}  runs {live}" in text.stdout, text.stdout

    # A target that does not exist is shown as such, and the rest of status still works.
    ecs.delete_service(cluster=f"{app}-prod", service=f"{app}-web", force=True)
    gone = json.loads(shipline(tmp_path, env, "status", "--json").stdout)
    (gone_service,) = gone["services"]
    assert gone_service["digest"] is None and "deleted" in gone_service["error"], gone_service
    assert gone["functions"][0]["digest"] == live
