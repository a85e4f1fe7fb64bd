"""The Pulumi YAML program (`shipline synth --target pulumi`) checked without the Pulumi CLI.

For the embedded default and every tests/configs/*.toml:

(a) the program, translated to TypeScript (pulumi_translate.py), passes `tsc --strict` against
    the pinned @pulumi/aws, @pulumi/random and @pulumi/pulumi (package-lock.json here), uses
    no deprecated SDK API, asks for those provider versions, and reads the same as YAML 1.1/1.2;
(b) it runs under `pulumi.runtime.setMocks`: every resource registers, every output resolves
    (and, run in another account and region, nothing names the usual mocks' ones);
(c) every resolved IAM policy document passes parliament exactly as tests/python/check_policies.py
    checks the CloudFormation template's (same suppressions, read from the template's Metadata);
(d) it is equivalent to the CloudFormation template through MAPPING below (names, IAM
    statements, log retention, ECR lifecycle text, pipeline structure, event patterns and
    targets, function and build settings, tags, retention on delete, outputs; a property read
    by neither side's FACTS is a difference too);
(e) its text does not depend on PULUMI_* environment variables (pulumi-yaml runs a compiler
    both with and without them).

The translator and the mock harness are proven on fixtures/sample.yaml, which does not need
shipline. Set SHIPLINE_BIN (./scripts/test does) or build target/debug/shipline.
"""

import functools
import json
import os
import pathlib
import re
import subprocess
import sys
import time

import pulumi_equivalence as eq
import pulumi_harness
import pulumi_translate
import pytest
import yaml

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONFIGS = ["default"] + sorted(p.stem for p in (REPO / "tests" / "configs").glob("*.toml"))
SAMPLE = HERE / "fixtures" / "sample.yaml"

sys.path.insert(0, str(REPO / "tests" / "python"))
import check_policies  # noqa: E402  (tests/python/check_policies.py: parliament and its suppressions)

# CloudFormation type → (the Pulumi resource named like the logical id, the companion resources
# pulumi-aws splits the rest of its configuration into). A companion belongs to its primary by
# value: LINKS[token] = (companion input, primary output) that must be equal.
MAPPING = {
    "AWS::S3::Bucket": (
        "aws:s3:Bucket",
        [
            "aws:s3:BucketVersioning",
            "aws:s3:BucketServerSideEncryptionConfiguration",
            "aws:s3:BucketPublicAccessBlock",
            "aws:s3:BucketOwnershipControls",
            "aws:s3:BucketLifecycleConfiguration",
        ],
    ),
    "AWS::S3::BucketPolicy": ("aws:s3:BucketPolicy", []),
    "AWS::ECR::Repository": ("aws:ecr:Repository", ["aws:ecr:LifecyclePolicy", "aws:ecr:RepositoryPolicy"]),
    "AWS::Logs::LogGroup": ("aws:cloudwatch:LogGroup", []),
    "AWS::IAM::Role": ("aws:iam:Role", []),
    "AWS::Lambda::Function": ("aws:lambda:Function", []),
    "AWS::Lambda::Url": ("aws:lambda:FunctionUrl", []),
    "AWS::Lambda::Permission": ("aws:lambda:Permission", []),
    "AWS::CodeBuild::Project": ("aws:codebuild:Project", []),
    "AWS::CodePipeline::Pipeline": ("aws:codepipeline:Pipeline", []),
    "AWS::CodeConnections::Connection": ("aws:codeconnections:Connection", []),
    "AWS::KMS::Key": ("aws:kms:Key", []),
    "AWS::KMS::Alias": ("aws:kms:Alias", []),
    "AWS::SNS::Topic": ("aws:sns:Topic", ["aws:sns:TopicSubscription"]),
    "AWS::SNS::TopicPolicy": ("aws:sns:TopicPolicy", []),
    "AWS::Events::EventBus": ("aws:cloudwatch:EventBus", []),
    "AWS::Events::Rule": ("aws:cloudwatch:EventRule", ["aws:cloudwatch:EventTarget"]),
    "AWS::SecretsManager::Secret": (
        "aws:secretsmanager:Secret",
        ["aws:secretsmanager:SecretVersion", "random:index:RandomPassword"],
    ),
}
LINKS = {
    "aws:s3:BucketVersioning": ("bucket", "bucket"),
    "aws:s3:BucketServerSideEncryptionConfiguration": ("bucket", "bucket"),
    "aws:s3:BucketPublicAccessBlock": ("bucket", "bucket"),
    "aws:s3:BucketOwnershipControls": ("bucket", "bucket"),
    "aws:s3:BucketLifecycleConfiguration": ("bucket", "bucket"),
    "aws:ecr:LifecyclePolicy": ("repository", "name"),
    "aws:ecr:RepositoryPolicy": ("repository", "name"),
    "aws:sns:TopicSubscription": ("topic", "arn"),
    "aws:cloudwatch:EventTarget": ("rule", "name"),
    "aws:secretsmanager:SecretVersion": ("secretId", "arn"),
    # the password is the value the secret's version stores (checked in companions()).
    "random:index:RandomPassword": None,
}

# The inputs that make the links (the secret's value links the password to the version).
LINK_INPUTS = {t: [link[0]] for t, link in LINKS.items() if link}
LINK_INPUTS["aws:secretsmanager:SecretVersion"].append("secretString")

# What `Ref` (key None) and `Fn::GetAtt` return per CloudFormation type, as the output of the
# Pulumi resource that carries it (AWS's documented return values). A callable derives it.
ATTRIBUTES = {
    "AWS::S3::Bucket": {None: "bucket", "Arn": "arn", "DomainName": "bucketDomainName"},
    "AWS::ECR::Repository": {None: "name", "Arn": "arn", "RepositoryUri": "repositoryUrl"},
    # CloudFormation's log group Arn ends in `:*`; the provider's `arn` does not.
    "AWS::Logs::LogGroup": {None: "name", "Arn": lambda s: s["arn"] + ":*"},
    "AWS::IAM::Role": {None: "name", "Arn": "arn", "RoleId": "uniqueId"},
    "AWS::Lambda::Function": {None: "name", "Arn": "arn"},
    "AWS::Lambda::Url": {"FunctionUrl": "functionUrl", "FunctionArn": "functionArn"},
    "AWS::CodeBuild::Project": {None: "name", "Arn": "arn"},
    "AWS::CodePipeline::Pipeline": {None: "name"},
    "AWS::CodeConnections::Connection": {None: "arn", "ConnectionArn": "arn"},
    "AWS::KMS::Key": {None: "keyId", "Arn": "arn", "KeyId": "keyId"},
    "AWS::KMS::Alias": {None: "name"},
    "AWS::SNS::Topic": {None: "arn", "TopicArn": "arn", "TopicName": "name"},
    "AWS::Events::EventBus": {None: "name", "Arn": "arn", "Name": "name"},
    "AWS::Events::Rule": {
        # `<bus>|<rule>` on a custom bus
        None: lambda s: (
            s["name"] if s.get("eventBusName", "default") == "default" else f"{s['eventBusName']}|{s['name']}"
        ),
        "Arn": "arn",
    },
    "AWS::SecretsManager::Secret": {None: "arn", "Id": "arn"},
}

# CloudFormation properties with no Pulumi counterpart, with why. Every other property of every
# resource must be read by NAMES, FACTS or POLICIES (or be Tags), so a new one cannot slip by.
UNCOMPARED = {
    ("AWS::CodePipeline::Pipeline", "RestartExecutionOnUpdate"): "CloudFormation-only: whether a stack update "
    "restarts the pipeline; Pulumi never starts executions",
}

# The default program also runs in another account and region (nothing may be hard-coded).
ELSEWHERE = ("default", "210987654321", "ap-southeast-2")

# Outputs only the Pulumi program has, with why.
EXTRA_OUTPUTS = {"WebhookSecret": "the generated webhook secret (a secret output; CloudFormation has no such output)"}

ENV_PULUMI = {
    "PULUMI_CONFIG": json.dumps({"aws:region": "eu-west-1", "shipline:app": "other"}),
    "PULUMI_CONFIG_SECRET_KEYS": "[]",
    "PULUMI_STACK": "prod",
    "PULUMI_PROJECT": "another-project",
    "PULUMI_ORGANIZATION": "acme",
    "PULUMI_DRY_RUN": "true",
    "PULUMI_PARALLEL": "8",
    "PULUMI_MONITOR": "127.0.0.1:1",
    "PULUMI_ENGINE": "127.0.0.1:1",
    "PULUMI_ROOT_DIRECTORY": "/nonexistent",
    "PULUMI_BACKEND_URL": "file:///nonexistent",
    "PULUMI_SKIP_UPDATE_CHECK": "true",
}


# ---------------------------------------------------------------------------------------------
# Running shipline and building the programs (once per session)


def shipline_binary():
    binary = os.environ.get("SHIPLINE_BIN") or str(REPO / "target" / "debug" / "shipline")
    return binary if os.access(binary, os.X_OK) else None


def synth(binary, config, *args, env=None, cwd=None):
    command = [binary, "synth", "--quiet", *args]
    if config != "default":
        command += ["--config", str(REPO / "tests" / "configs" / f"{config}.toml")]
    return subprocess.run(command, capture_output=True, cwd=cwd, env=env, timeout=60)


def pulumi_target_missing(binary, cwd):
    """Why `shipline synth --target pulumi` cannot be tested (the Rust side lags), or None."""
    result = synth(binary, "default", "--target", "pulumi", cwd=cwd)
    if result.returncode == 0 and result.stdout.strip():
        return None
    text = result.stderr.decode(errors="replace")
    if re.search(r"unexpected argument '--target'|invalid value 'pulumi'|unrecognized", text):
        return f"`shipline synth --target pulumi` is not implemented yet: {text.strip().splitlines()[0]}"
    # Any other failure is a real failure of the command, not a missing feature.
    return None


class Suite:
    def __init__(self, tmp):
        self.tmp = tmp
        self.build = pulumi_harness.Build()
        self.binary = shipline_binary()
        self.skip_reason = None
        self.cfn, self.yaml, self.synth_errors = {}, {}, {}
        self.timings = {}

    def prepare(self):
        start = time.monotonic()
        self.build.add("sample", SAMPLE.read_text(encoding="utf-8"))
        self.build.add("sample_bad", bad_sample())
        self.build.add("sample_failing", FAILING)
        names = ["sample", "sample_failing"]
        if self.binary is None:
            self.skip_reason = "no shipline binary: set SHIPLINE_BIN or run `cargo build -p shipline`"
        else:
            self.skip_reason = pulumi_target_missing(self.binary, self.tmp)
        if self.skip_reason is None:
            for config in CONFIGS:
                cfn = synth(self.binary, config, cwd=self.tmp)
                program = synth(self.binary, config, "--target", "pulumi", cwd=self.tmp)
                if cfn.returncode != 0 or program.returncode != 0:
                    self.synth_errors[config] = (cfn.stderr + program.stderr).decode(errors="replace")
                    continue
                self.cfn[config] = json.loads(cfn.stdout)
                self.yaml[config] = program.stdout.decode()
                if self.build.add(config, self.yaml[config]):
                    names.append(config)
        self.timings["synth+translate"] = time.monotonic() - start
        self.build.typecheck()
        self.timings["tsc"] = self.build.tsc_seconds
        start = time.monotonic()
        runs = [(name, None, None) for name in names]
        if "default" in names:
            runs.append(ELSEWHERE)
        results = self.build.run_all(runs)
        self.runs = {name: results[(name, None, None)] for name in names}
        self.elsewhere = results.get(ELSEWHERE)
        self.timings["mock runs"] = time.monotonic() - start

    def config(self, config):
        """(template, dump) for one config, failing/skipping with the precise reason."""
        if self.skip_reason:
            pytest.skip(self.skip_reason)
        if config in self.synth_errors:
            pytest.fail(f"shipline synth failed for {config}:\n{self.synth_errors[config]}")
        if config in self.build.translate_errors:
            pytest.fail(f"{config}: the program cannot be translated: {self.build.translate_errors[config]}")
        dump, problems = self.runs[config]
        if dump is None:
            pytest.fail(f"{config}: the mock run produced nothing:\n{problems}")
        return self.cfn[config], dump, problems


@pytest.fixture(scope="session")
def suite(tmp_path_factory):
    reason = pulumi_harness.missing_node_modules()
    if reason:
        pytest.fail(reason)
    suite = Suite(tmp_path_factory.mktemp("pulumi-cwd"))
    suite.prepare()
    yield suite
    print(f"\ntests/pulumi timings: {', '.join(f'{k} {v:.1f}s' for k, v in suite.timings.items())}")
    suite.build.cleanup()


# ---------------------------------------------------------------------------------------------
# The translator and the harness on the hand-written sample


def bad_sample():
    """The sample with mistakes the type check must catch: a misspelt property, a wrong type, an
    unknown nested property, a bad invoke return, a deprecated property."""
    text = SAMPLE.read_text(encoding="utf-8")
    for old, new in (
        ("      retentionInDays: 7\n", "      retentionDays: 7\n"),
        ("      timeout: 10\n", "      timeout: '10'\n"),
        ("        status: Enabled\n", "        status: Enabled\n        mfaDeletee: Disabled\n"),
        ("      return: partition\n", "      return: partitionName\n"),
        (
            "  Bucket:\n    type: aws:s3:Bucket\n",
            "  Bucket:\n    type: aws:s3:Bucket\n    properties:\n      acl: private\n",
        ),
    ):
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_sample_typechecks_runs_and_resolves_like_pulumi_yaml(suite):
    assert suite.build.diagnostics["sample"] == [], "\n".join(suite.build.diagnostics["sample"])
    assert suite.build.diagnostics["shipline_runtime"] == []
    dump, problems = suite.runs["sample"]
    assert dump is not None and not problems, problems
    resources = {r["name"]: r for r in dump["resources"]}
    outputs = {k: v["value"] for k, v in dump["outputs"].items()}
    assert set(resources) == set(pulumi_translate.load(SAMPLE.read_text())["resources"])
    # `$$` is a literal `$`; `$d` stays as written.
    assert outputs["Dollar"] == "a $ b ${c} $d"
    assert resources["Function"]["inputs"]["environment"]["variables"]["PRICE"] == "costs $5 and ${NOT_INTERPOLATED}"
    code = resources["Function"]["inputs"]["code"]
    assert code["$kind"] == "archive" and list(code["assets"]) == ["index.py"]
    assert code["assets"]["index.py"]["text"].startswith('import os\ndef handler(event, context):\n    return f"${os')
    # join / split / select over outputs, including the FindInMap-style lookup.
    assert resources["Connection"]["inputs"]["name"] == "sample-use1"
    assert outputs["ConnectionId"] == "0a1b2c3d-1111-2222-3333-444455556666"
    policy = json.loads(resources["Role"]["inputs"]["inlinePolicies"][0]["policy"])
    assert policy["Statement"][1]["Resource"] == [
        "arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-1111-2222-3333-444455556666"
    ]
    log_group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/sample-fn"
    assert policy["Statement"][0]["Resource"] == [f"{log_group}:*"]
    # fn::toJSON is Go's json.Marshal: sorted keys, compact, HTML characters escaped.
    assert resources["Rule"]["inputs"]["eventPattern"] == (
        '{"detail":{"count":[1,2.5],"deleted":[false],'
        '"note":["\\u003cb\\u003e\\u0026\\u003c/b\\u003e \u00e9 us-east-1"],"state":["FAILED"]},'
        '"detail-type":["CodePipeline Pipeline Execution State Change"],"source":["aws.codepipeline"]}'
    )
    # YAML 1.2 scalars as pulumi-yaml reads them.
    assert outputs["Words"] == ["on", "yes", 16] and outputs["SecondWord"] == "yes"
    assert dump["outputs"]["Password"]["secret"] is True and len(outputs["Password"]) == 32
    assert (
        outputs["ConsoleUrl"]
        == "https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/functions/sample-fn"
    )
    # Options reach the SDK; every AWS resource uses the tagged provider.
    assert resources["Function"]["options"]["dependsOn"] == ["Logs"]
    assert resources["Secret"]["options"]["protect"] is True
    assert resources["Bucket"]["options"]["retainOnDelete"] is True
    assert resources["Bucket"]["provider"] == "awsProvider"
    assert resources["SecretVersion"]["inputs"]["secretString"] == outputs["Password"]
    assert {i["token"] for i in dump["invokes"]} == {
        "aws:index/getCallerIdentity:getCallerIdentity",
        "aws:index/getRegion:getRegion",
        "aws:index/getPartition:getPartition",
    }


# A program that type-checks but fails while it runs (pulumi-yaml fails it the same way).
FAILING = """\
variables:
  region:
    fn::invoke: {function: aws:getRegion, arguments: {}, return: region}
resources:
  Logs:
    type: aws:cloudwatch:LogGroup
    properties:
      name:
        fn::select: [3, {fn::split: ['-', '${region}']}]
  Other:
    type: aws:cloudwatch:LogGroup
    properties:
      name: other
outputs:
  name: ${Logs.name}
"""


def test_a_failing_expression_is_reported_not_waited_for(suite):
    assert suite.build.diagnostics["sample_failing"] == []
    dump, problems = suite.runs["sample_failing"]
    assert "fn::select: index 3 outside a list of 3" in problems
    assert "still pending: Logs, output name" in problems
    assert "resource Logs (aws:cloudwatch:LogGroup) was constructed but never registered" in problems
    assert [r["name"] for r in dump["resources"]] == ["Other"]


def test_type_errors_are_caught(suite):
    found = "\n".join(suite.build.diagnostics["sample_bad"])
    for expected in (
        "'retentionDays' does not exist in type 'LogGroupArgs'",
        "Type 'string' is not assignable to type 'Input<number | undefined>'",
        "'mfaDeletee' does not exist",
        "Property 'partitionName' does not exist",
    ):
        assert expected in found, f"{expected!r} not in:\n{found}"
    deprecated = "\n".join(suite.build.deprecations["sample_bad"])
    assert "'acl' is deprecated" in deprecated, deprecated
    assert suite.build.deprecations["sample"] == []


@pytest.mark.parametrize(
    "program, message",
    [
        (
            "resources:\n  a:\n    type: aws:s3:Bucket\n    properties:\n      bucket: ${b.id}\n"
            "  b:\n    type: aws:s3:Bucket\n    properties:\n      bucket: ${a.id}\n",
            "dependency cycle: a -> b -> a",
        ),
        ("resources:\n  a:\n    type: aws:s3:Bucket\n    properties:\n      bucket: ${nope.id}\n", "undefined 'nope'"),
        (
            "resources:\n  a:\n    type: aws:s3:Bucket\n    properties:\n      bucket:\n        fn::readFile: x\n",
            "unsupported function fn::readFile",
        ),
        ("resources:\n  a:\n    type: aws:s3:Bucket\n    options:\n      retain: true\n", "unknown option 'retain'"),
        ("resources:\n  a:\n    type: gcp:storage:Bucket\n", "package 'gcp' is not installed"),
        ("outputs:\n  x: ${a.b\n", "unterminated interpolation"),
    ],
)
def test_translator_rejects(program, message):
    with pytest.raises(pulumi_translate.TranslateError, match=re.escape(message)):
        pulumi_translate.translate(program)


def test_interpolation_follows_pulumi_yaml():
    parse = pulumi_translate.parse_interpolation
    assert parse("a$$b") == [("a$b", None)]
    assert parse("$${x}") == [("${x}", None)]
    assert parse("$x ${r.p}") == [("$x ", [("name", "r"), ("name", "p")])]
    assert parse('${r.list[0]["k.y"].z}') == [
        ("", [("name", "r"), ("name", "list"), ("index", 0), ("key", "k.y"), ("name", "z")])
    ]
    assert pulumi_translate.translate("outputs:\n  x: ${pulumi.stack}\n").rstrip().endswith("x: pulumi.getStack(),\n};")


# ---------------------------------------------------------------------------------------------
# (a) type check, (b) mock run


@pytest.mark.parametrize("config", CONFIGS)
def test_program_typechecks(suite, config):
    suite.config(config)
    errors = suite.build.diagnostics.get(config, [])
    assert not errors, f"tsc --strict: {len(errors)} errors in the {config} program:\n" + "\n".join(errors)


@pytest.mark.parametrize("config", CONFIGS)
def test_program_uses_no_deprecated_sdk_api(suite, config):
    suite.config(config)
    uses = suite.build.deprecations.get(config, [])
    assert not uses, f"deprecated pulumi-aws/random APIs in the {config} program:\n" + "\n".join(uses)


def test_provider_versions_are_the_pinned_sdks(suite):
    """The versions the program asks for are the ones it was type-checked against."""
    suite.config("default")
    lock = json.loads((HERE / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    pinned = {p: lock[f"node_modules/@pulumi/{p}"]["version"] for p in ("aws", "random")}
    for config, text in suite.yaml.items():
        for name, resource in pulumi_translate.load(text)["resources"].items():
            package = resource["type"].split(":")[2] if resource["type"].startswith("pulumi:providers:") else None
            package = package or resource["type"].split(":")[0]
            version = (resource.get("options") or {}).get("version")
            if version is not None:
                assert str(version) == pinned[package], f"{config} {name}: version {version}, SDK pinned {pinned}"


@pytest.mark.parametrize("config", CONFIGS)
def test_program_reads_the_same_as_yaml_1_1_and_1_2(suite, config):
    """No plain scalar whose type depends on the YAML version (pulumi-yaml reads 1.2 through
    go-yaml v3; editors and linters often 1.1)."""
    suite.config(config)
    assert yaml.safe_load(suite.yaml[config]) == pulumi_translate.load(suite.yaml[config])


@pytest.mark.parametrize("config", CONFIGS)
def test_every_resource_registers_and_every_output_resolves(suite, config):
    template, dump, problems = suite.config(config)
    assert not problems, problems
    declared = set(pulumi_translate.load(suite.yaml[config])["resources"])
    assert {r["name"] for r in dump["resources"]} == declared
    unresolved = [name for name, o in dump["outputs"].items() if o["value"] is None]
    assert not unresolved, f"outputs resolved to nothing: {unresolved}"
    assert set(pulumi_translate.load(suite.yaml[config]).get("outputs") or {}) == set(dump["outputs"])


def test_nothing_is_bound_to_the_mocked_account_or_region(suite):
    """Run in another account and region, the program names nothing after the usual mocks',
    and the connection name takes the region's code from the template's RegionCodes mapping."""
    template, _, _ = suite.config("default")
    dump, problems = suite.elsewhere
    assert not problems, problems
    text = json.dumps([dump["resources"], dump["outputs"]])
    for value in ("123456789012", "us-east-1"):
        assert value not in text, f"{value} in the program run in {ELSEWHERE[1:]}"
    account, region = ELSEWHERE[1:]
    assert f"arn:aws:iam::{account}:root" in text and f"{region}.console.aws.amazon.com" in text
    connection = {r["name"]: r for r in dump["resources"]}["GitHubConnection"]["inputs"]["name"]
    assert connection == "example-app-" + template["Mappings"]["RegionCodes"][region]["Code"]


# ---------------------------------------------------------------------------------------------
# (c) parliament on every resolved policy document


def pulumi_policy_documents(dump):
    """(label, resource name, document as the program passes it, community auditors) in
    check_policies.policy_documents' labels and treatment."""
    for r in sorted(dump["resources"], key=lambda r: r["name"]):
        name, inputs, state = r["name"], r["inputs"], r["state"]
        if r["token"] == "aws:iam:Role":
            trust = inputs.get("assumeRolePolicy")
            yield f"{name} trust policy", name, trust, False, {"Resource": state["arn"]}
            for policy in inputs.get("inlinePolicies") or []:
                yield f"{name} policy {policy.get('name')}", name, policy.get("policy"), True, None
        elif r["token"] == "aws:kms:Key":
            yield f"{name} KeyPolicy", name, inputs.get("policy"), True, {"*": state["arn"]}
        elif r["token"] in ("aws:s3:BucketPolicy", "aws:sns:TopicPolicy"):
            yield f"{name} PolicyDocument", name, inputs.get("policy"), True, None


@pytest.mark.parametrize("config", CONFIGS)
def test_policies_pass_parliament(suite, config):
    template, dump, _ = suite.config(config)
    problems, checked = [], 0
    for label, name, text, community, fill in pulumi_policy_documents(dump):
        if not isinstance(text, str):
            problems.append(f"{label}: the policy is not a JSON string (use fn::toJSON): {json.dumps(text)[:200]}")
            continue
        document = json.loads(text)
        for statement in document.get("Statement", []):
            if fill and "Resource" in fill:
                statement.setdefault("Resource", fill["Resource"])
            if fill and "*" in fill and statement.get("Resource") == "*":
                statement["Resource"] = fill["*"]
        ignores = template["Resources"].get(name, {}).get("Metadata", {}).get("parliament", {}).get("ignore", [])
        analyzed = check_policies.analyze_policy_string(json.dumps(document), include_community_auditors=community)
        checked += 1
        for finding in analyzed.findings:
            if check_policies.key_policy_noise(label, finding) or check_policies.suppressed(finding, ignores):
                continue
            problems.append(f"{label}: {finding.issue}: {finding.detail} at {finding.location}")
    assert checked > 0
    assert not problems, f"parliament on the {config} program ({checked} documents):\n" + "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# (d) equivalence with the CloudFormation template


def fn_name(value):
    """A function reference as its name (Lambda accepts the name or the ARN)."""
    if isinstance(value, str) and value.startswith("arn:") and ":function:" in value:
        return value.split(":function:", 1)[1]
    return value


def config_string(value):
    """CodePipeline action configuration values are strings (booleans as `true`/`false`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def cfn_stages(stages):
    return [
        {
            "name": s.get("Name"),
            "onFailure": s.get("OnFailure", {}).get("Result"),
            "actions": [
                {
                    "name": a.get("Name"),
                    "category": eq.dig(a, "ActionTypeId", "Category"),
                    "owner": eq.dig(a, "ActionTypeId", "Owner"),
                    "provider": eq.dig(a, "ActionTypeId", "Provider"),
                    "version": eq.dig(a, "ActionTypeId", "Version"),
                    "configuration": {k: config_string(v) for k, v in (a.get("Configuration") or {}).items()},
                    "inputArtifacts": [x["Name"] for x in a.get("InputArtifacts", [])],
                    "outputArtifacts": [x["Name"] for x in a.get("OutputArtifacts", [])],
                    "namespace": a.get("Namespace"),
                    "runOrder": a.get("RunOrder"),
                    "roleArn": a.get("RoleArn"),
                    "region": a.get("Region"),
                    "timeoutInMinutes": a.get("TimeoutInMinutes"),
                }
                for a in s.get("Actions", [])
            ],
        }
        for s in stages or []
    ]


def pulumi_stages(stages):
    return [
        {
            "name": s.get("name"),
            "onFailure": eq.dig(s, "onFailure", "result"),
            "actions": [
                {
                    "name": a.get("name"),
                    "category": a.get("category"),
                    "owner": a.get("owner"),
                    "provider": a.get("provider"),
                    "version": a.get("version"),
                    "configuration": a.get("configuration") or {},
                    "inputArtifacts": a.get("inputArtifacts") or [],
                    "outputArtifacts": a.get("outputArtifacts") or [],
                    "namespace": a.get("namespace"),
                    "runOrder": a.get("runOrder"),
                    "roleArn": a.get("roleArn"),
                    "region": a.get("region"),
                    "timeoutInMinutes": a.get("timeoutInMinutes"),
                }
                for a in s.get("actions", [])
            ],
        }
        for s in stages or []
    ]


def cfn_triggers(triggers):
    def filters(f):
        return {"includes": (f or {}).get("Includes"), "excludes": (f or {}).get("Excludes")}

    return [
        {
            "providerType": t.get("ProviderType"),
            "sourceActionName": eq.dig(t, "GitConfiguration", "SourceActionName"),
            "push": [
                {
                    "branches": filters(p.get("Branches")),
                    "filePaths": filters(p.get("FilePaths")),
                    "tags": filters(p.get("Tags")),
                }
                for p in eq.dig(t, "GitConfiguration", "Push", default=[])
            ],
            "pullRequest": eq.dig(t, "GitConfiguration", "PullRequest"),
        }
        for t in triggers or []
    ]


def pulumi_triggers(triggers):
    def filters(f):
        return {"includes": (f or {}).get("includes"), "excludes": (f or {}).get("excludes")}

    return [
        {
            "providerType": t.get("providerType"),
            "sourceActionName": eq.dig(t, "gitConfiguration", "sourceActionName"),
            "push": [
                {
                    "branches": filters(p.get("branches")),
                    "filePaths": filters(p.get("filePaths")),
                    "tags": filters(p.get("tags")),
                }
                for p in eq.dig(t, "gitConfiguration", "pushes", default=[])
            ],
            "pullRequest": eq.dig(t, "gitConfiguration", "pullRequests"),
        }
        for t in triggers or []
    ]


def lifecycle_rules_cfn(rules):
    return [
        {
            "id": r.get("Id"),
            "status": r.get("Status"),
            "prefix": r.get("Prefix"),
            "expirationDays": r.get("ExpirationInDays"),
            "expiredObjectDeleteMarker": r.get("ExpiredObjectDeleteMarker"),
            "noncurrentDays": eq.dig(r, "NoncurrentVersionExpiration", "NoncurrentDays"),
            "abortDays": eq.dig(r, "AbortIncompleteMultipartUpload", "DaysAfterInitiation"),
        }
        for r in rules or []
    ]


def lifecycle_rules_pulumi(rules):
    return [
        {
            "id": r.get("id"),
            "status": r.get("status"),
            "prefix": eq.dig(r, "filter", "prefix") or r.get("prefix"),
            "expirationDays": eq.dig(r, "expiration", "days"),
            "expiredObjectDeleteMarker": eq.dig(r, "expiration", "expiredObjectDeleteMarker"),
            "noncurrentDays": eq.dig(r, "noncurrentVersionExpiration", "noncurrentDays"),
            "abortDays": eq.dig(r, "abortIncompleteMultipartUpload", "daysAfterInitiation"),
        }
        for r in rules or []
    ]


def one(companions, token):
    items = companions.get(token, [])
    return items[0]["inputs"] if len(items) == 1 else ({"<count>": len(items)} if items else {})


def targets_cfn(targets):
    return sorted(
        (
            {
                "id": t.get("Id"),
                "arn": t.get("Arn"),
                "roleArn": t.get("RoleArn"),
                "input": t.get("Input"),
                "inputPath": t.get("InputPath"),
                "inputPaths": eq.dig(t, "InputTransformer", "InputPathsMap"),
                "inputTemplate": eq.dig(t, "InputTransformer", "InputTemplate"),
            }
            for t in targets or []
        ),
        key=lambda t: str(t["id"]),
    )


def targets_pulumi(targets, bus):
    return sorted(
        (
            {
                "id": t["inputs"].get("targetId"),
                "arn": t["inputs"].get("arn"),
                "roleArn": t["inputs"].get("roleArn"),
                "input": t["inputs"].get("input"),
                "inputPath": t["inputs"].get("inputPath"),
                "inputPaths": eq.dig(t["inputs"], "inputTransformer", "inputPaths"),
                "inputTemplate": eq.dig(t["inputs"], "inputTransformer", "inputTemplate"),
                **(
                    {"eventBusName": t["inputs"].get("eventBusName") or "default"}
                    if (t["inputs"].get("eventBusName") or "default") != bus
                    else {}
                ),
            }
            for t in targets
        ),
        key=lambda t: str(t["id"]),
    )


def secret_generation_cfn(g):
    g = g or {}
    return {
        "length": g.get("PasswordLength", 32),
        "punctuation": not g.get("ExcludePunctuation", False),
        "numbers": not g.get("ExcludeNumbers", False),
        "upper": not g.get("ExcludeUppercase", False),
        "lower": not g.get("ExcludeLowercase", False),
        "space": g.get("IncludeSpace", False),
        "excludeCharacters": g.get("ExcludeCharacters"),
    }


def secret_generation_pulumi(p):
    return {
        "length": p.get("length"),
        "punctuation": p.get("special", True),
        "numbers": p.get("numeric", True),
        "upper": p.get("upper", True),
        "lower": p.get("lower", True),
        "space": False,
        "excludeCharacters": None,
    }


# CloudFormation type → (facts from the resolved CloudFormation properties, facts from the
# Pulumi primary's inputs and its companions {token: [resources]}). Compared after dropping
# unset values; physical names only where CloudFormation names the resource (NAMES).
FACTS = {
    "AWS::S3::Bucket": (
        lambda p: {
            "versioning": eq.dig(p, "VersioningConfiguration", "Status"),
            "encryption": [
                {
                    "sseAlgorithm": eq.dig(r, "ServerSideEncryptionByDefault", "SSEAlgorithm"),
                    "kmsMasterKeyId": eq.dig(r, "ServerSideEncryptionByDefault", "KMSMasterKeyID"),
                    "bucketKeyEnabled": r.get("BucketKeyEnabled"),
                }
                for r in eq.dig(p, "BucketEncryption", "ServerSideEncryptionConfiguration", default=[])
            ],
            "publicAccessBlock": {
                k[0].lower() + k[1:]: v for k, v in (p.get("PublicAccessBlockConfiguration") or {}).items()
            },
            "ownership": [r.get("ObjectOwnership") for r in eq.dig(p, "OwnershipControls", "Rules", default=[])],
            "lifecycle": lifecycle_rules_cfn(eq.dig(p, "LifecycleConfiguration", "Rules")),
        },
        lambda i, c: {
            "versioning": eq.dig(one(c, "aws:s3:BucketVersioning"), "versioningConfiguration", "status"),
            "encryption": [
                {
                    "sseAlgorithm": eq.dig(r, "applyServerSideEncryptionByDefault", "sseAlgorithm"),
                    "kmsMasterKeyId": eq.dig(r, "applyServerSideEncryptionByDefault", "kmsMasterKeyId"),
                    "bucketKeyEnabled": r.get("bucketKeyEnabled"),
                }
                for r in one(c, "aws:s3:BucketServerSideEncryptionConfiguration").get("rules", [])
            ],
            "publicAccessBlock": {
                k: one(c, "aws:s3:BucketPublicAccessBlock").get(k)
                for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
            },
            "ownership": [
                eq.dig(r, "objectOwnership")
                for r in [eq.dig(one(c, "aws:s3:BucketOwnershipControls"), "rule")]
                if r is not None
            ],
            "lifecycle": lifecycle_rules_pulumi(one(c, "aws:s3:BucketLifecycleConfiguration").get("rules")),
        },
    ),
    "AWS::S3::BucketPolicy": (lambda p: {"bucket": p.get("Bucket")}, lambda i, c: {"bucket": i.get("bucket")}),
    "AWS::ECR::Repository": (
        lambda p: {
            "scanOnPush": eq.dig(p, "ImageScanningConfiguration", "ScanOnPush"),
            "imageTagMutability": p.get("ImageTagMutability"),
            "exclusionFilters": [
                {
                    "type": f.get("ImageTagMutabilityExclusionFilterType"),
                    "value": f.get("ImageTagMutabilityExclusionFilterValue"),
                }
                for f in p.get("ImageTagMutabilityExclusionFilters", [])
            ],
            "encryption": {
                "type": eq.dig(p, "EncryptionConfiguration", "EncryptionType"),
                "kmsKey": eq.dig(p, "EncryptionConfiguration", "KmsKey"),
            },
            "forceDelete": p.get("EmptyOnDelete"),
            "lifecyclePolicyText": eq.dig(p, "LifecyclePolicy", "LifecyclePolicyText"),
        },
        lambda i, c: {
            "scanOnPush": eq.dig(i, "imageScanningConfiguration", "scanOnPush"),
            "imageTagMutability": i.get("imageTagMutability"),
            "exclusionFilters": [
                {"type": f.get("filterType"), "value": f.get("filter")}
                for f in i.get("imageTagMutabilityExclusionFilters", [])
            ],
            "encryption": {
                "type": eq.dig(i, "encryptionConfigurations", 0, "encryptionType"),
                "kmsKey": eq.dig(i, "encryptionConfigurations", 0, "kmsKey"),
            },
            "forceDelete": i.get("forceDelete"),
            "lifecyclePolicyText": one(c, "aws:ecr:LifecyclePolicy").get("policy"),
        },
    ),
    "AWS::Logs::LogGroup": (
        lambda p: {"retentionInDays": p.get("RetentionInDays"), "kmsKeyId": p.get("KmsKeyId")},
        lambda i, c: {"retentionInDays": i.get("retentionInDays"), "kmsKeyId": i.get("kmsKeyId")},
    ),
    "AWS::IAM::Role": (
        lambda p: {
            "description": p.get("Description"),
            "path": p.get("Path"),
            "maxSessionDuration": p.get("MaxSessionDuration"),
            "managedPolicyArns": p.get("ManagedPolicyArns"),
            "permissionsBoundary": p.get("PermissionsBoundary"),
            "inlinePolicyNames": sorted(x["PolicyName"] for x in p.get("Policies", [])),
        },
        lambda i, c: {
            "description": i.get("description"),
            "path": i.get("path"),
            "maxSessionDuration": i.get("maxSessionDuration"),
            "managedPolicyArns": i.get("managedPolicyArns"),
            "permissionsBoundary": i.get("permissionsBoundary"),
            "inlinePolicyNames": sorted(str(x.get("name")) for x in i.get("inlinePolicies") or []),
        },
    ),
    "AWS::Lambda::Function": (
        lambda p: {
            "description": p.get("Description"),
            "runtime": p.get("Runtime"),
            "handler": p.get("Handler"),
            "architectures": p.get("Architectures"),
            "memorySize": p.get("MemorySize"),
            "timeout": p.get("Timeout"),
            "role": p.get("Role"),
            "environment": eq.dig(p, "Environment", "Variables"),
            "code": {"index.py": eq.dig(p, "Code", "ZipFile")},
            "logFormat": eq.dig(p, "LoggingConfig", "LogFormat"),
            "logGroup": eq.dig(p, "LoggingConfig", "LogGroup"),
            "reservedConcurrentExecutions": p.get("ReservedConcurrentExecutions"),
            "tracing": eq.dig(p, "TracingConfig", "Mode"),
        },
        lambda i, c: {
            "description": i.get("description"),
            "runtime": i.get("runtime"),
            "handler": i.get("handler"),
            "architectures": i.get("architectures"),
            "memorySize": i.get("memorySize"),
            "timeout": i.get("timeout"),
            "role": i.get("role"),
            "environment": eq.dig(i, "environment", "variables"),
            "code": {
                path: asset.get("text", asset)
                for path, asset in (eq.dig(i, "code", "assets") or {"<not an asset archive>": i.get("code")}).items()
            },
            "logFormat": eq.dig(i, "loggingConfig", "logFormat"),
            "logGroup": eq.dig(i, "loggingConfig", "logGroup"),
            "reservedConcurrentExecutions": i.get("reservedConcurrentExecutions"),
            "tracing": eq.dig(i, "tracingConfig", "mode"),
        },
    ),
    "AWS::Lambda::Url": (
        lambda p: {
            "authType": p.get("AuthType"),
            "function": fn_name(p.get("TargetFunctionArn")),
            "qualifier": p.get("Qualifier"),
            "invokeMode": p.get("InvokeMode"),
            "cors": p.get("Cors"),
        },
        lambda i, c: {
            "authType": i.get("authorizationType"),
            "function": fn_name(i.get("functionName")),
            "qualifier": i.get("qualifier"),
            "invokeMode": i.get("invokeMode"),
            "cors": i.get("cors"),
        },
    ),
    "AWS::Lambda::Permission": (
        lambda p: {
            "action": p.get("Action"),
            "function": fn_name(p.get("FunctionName")),
            "principal": p.get("Principal"),
            "functionUrlAuthType": p.get("FunctionUrlAuthType"),
            "invokedViaFunctionUrl": p.get("InvokedViaFunctionUrl"),
            "sourceArn": p.get("SourceArn"),
            "sourceAccount": p.get("SourceAccount"),
        },
        lambda i, c: {
            "action": i.get("action"),
            "function": fn_name(i.get("function")),
            "principal": i.get("principal"),
            "functionUrlAuthType": i.get("functionUrlAuthType"),
            "invokedViaFunctionUrl": i.get("invokedViaFunctionUrl"),
            "sourceArn": i.get("sourceArn"),
            "sourceAccount": i.get("sourceAccount"),
        },
    ),
    "AWS::CodeBuild::Project": (
        lambda p: {
            "description": p.get("Description"),
            "serviceRole": p.get("ServiceRole"),
            "source": {"type": eq.dig(p, "Source", "Type"), "buildspec": eq.dig(p, "Source", "BuildSpec")},
            "artifacts": eq.dig(p, "Artifacts", "Type"),
            "environment": {
                "type": eq.dig(p, "Environment", "Type"),
                "computeType": eq.dig(p, "Environment", "ComputeType"),
                "image": eq.dig(p, "Environment", "Image"),
                "imagePullCredentialsType": eq.dig(p, "Environment", "ImagePullCredentialsType"),
                "privilegedMode": eq.dig(p, "Environment", "PrivilegedMode"),
                "variables": [
                    [v.get("Name"), v.get("Type", "PLAINTEXT"), v.get("Value")]
                    for v in eq.dig(p, "Environment", "EnvironmentVariables", default=[])
                ],
            },
            "cache": {"type": eq.dig(p, "Cache", "Type"), "modes": eq.dig(p, "Cache", "Modes")},
            "logs": {
                "cloudwatch": eq.dig(p, "LogsConfig", "CloudWatchLogs", "Status"),
                "groupName": eq.dig(p, "LogsConfig", "CloudWatchLogs", "GroupName"),
                "streamName": eq.dig(p, "LogsConfig", "CloudWatchLogs", "StreamName"),
                "s3": eq.dig(p, "LogsConfig", "S3Logs", "Status"),
            },
            "timeout": p.get("TimeoutInMinutes"),
            "queuedTimeout": p.get("QueuedTimeoutInMinutes"),
            "encryptionKey": p.get("EncryptionKey"),
            "concurrentBuildLimit": p.get("ConcurrentBuildLimit"),
        },
        lambda i, c: {
            "description": i.get("description"),
            "serviceRole": i.get("serviceRole"),
            "source": {"type": eq.dig(i, "source", "type"), "buildspec": eq.dig(i, "source", "buildspec")},
            "artifacts": eq.dig(i, "artifacts", "type"),
            "environment": {
                "type": eq.dig(i, "environment", "type"),
                "computeType": eq.dig(i, "environment", "computeType"),
                "image": eq.dig(i, "environment", "image"),
                "imagePullCredentialsType": eq.dig(i, "environment", "imagePullCredentialsType"),
                "privilegedMode": eq.dig(i, "environment", "privilegedMode"),
                "variables": [
                    [v.get("name"), v.get("type", "PLAINTEXT"), v.get("value")]
                    for v in eq.dig(i, "environment", "environmentVariables", default=[])
                ],
            },
            "cache": {"type": eq.dig(i, "cache", "type"), "modes": eq.dig(i, "cache", "modes")},
            "logs": {
                "cloudwatch": eq.dig(i, "logsConfig", "cloudwatchLogs", "status"),
                "groupName": eq.dig(i, "logsConfig", "cloudwatchLogs", "groupName"),
                "streamName": eq.dig(i, "logsConfig", "cloudwatchLogs", "streamName"),
                "s3": eq.dig(i, "logsConfig", "s3Logs", "status"),
            },
            "timeout": i.get("buildTimeout"),
            "queuedTimeout": i.get("queuedTimeout"),
            "encryptionKey": i.get("encryptionKey"),
            "concurrentBuildLimit": i.get("concurrentBuildLimit"),
        },
    ),
    "AWS::CodePipeline::Pipeline": (
        lambda p: {
            "pipelineType": p.get("PipelineType"),
            "executionMode": p.get("ExecutionMode"),
            "roleArn": p.get("RoleArn"),
            "artifactStores": [
                {
                    "type": eq.dig(p, "ArtifactStore", "Type"),
                    "location": eq.dig(p, "ArtifactStore", "Location"),
                    "encryptionKey": eq.dig(p, "ArtifactStore", "EncryptionKey"),
                }
            ],
            "stages": cfn_stages(p.get("Stages")),
            "triggers": cfn_triggers(p.get("Triggers")),
            "variables": [
                {"name": v.get("Name"), "defaultValue": v.get("DefaultValue"), "description": v.get("Description")}
                for v in p.get("Variables", [])
            ],
        },
        lambda i, c: {
            "pipelineType": i.get("pipelineType"),
            "executionMode": i.get("executionMode"),
            "roleArn": i.get("roleArn"),
            "artifactStores": [
                {"type": s.get("type"), "location": s.get("location"), "encryptionKey": s.get("encryptionKey")}
                for s in i.get("artifactStores", [])
            ],
            "stages": pulumi_stages(i.get("stages")),
            "triggers": pulumi_triggers(i.get("triggers")),
            "variables": [
                {"name": v.get("name"), "defaultValue": v.get("defaultValue"), "description": v.get("description")}
                for v in i.get("variables") or []
            ],
        },
    ),
    "AWS::CodeConnections::Connection": (
        lambda p: {"providerType": p.get("ProviderType"), "hostArn": p.get("HostArn")},
        lambda i, c: {"providerType": i.get("providerType"), "hostArn": i.get("hostArn")},
    ),
    "AWS::KMS::Key": (
        lambda p: {
            "description": p.get("Description"),
            "enableKeyRotation": p.get("EnableKeyRotation"),
            "keySpec": p.get("KeySpec"),
            "keyUsage": p.get("KeyUsage"),
            "deletionWindowInDays": p.get("PendingWindowInDays"),
            "rotationPeriodInDays": p.get("RotationPeriodInDays"),
            "multiRegion": p.get("MultiRegion"),
            "enabled": p.get("Enabled"),
        },
        lambda i, c: {
            "description": i.get("description"),
            "enableKeyRotation": i.get("enableKeyRotation"),
            "keySpec": i.get("customerMasterKeySpec"),
            "keyUsage": i.get("keyUsage"),
            "deletionWindowInDays": i.get("deletionWindowInDays"),
            "rotationPeriodInDays": i.get("rotationPeriodInDays"),
            "multiRegion": i.get("multiRegion"),
            "enabled": i.get("isEnabled"),
        },
    ),
    "AWS::KMS::Alias": (
        lambda p: {"targetKeyId": p.get("TargetKeyId")},
        lambda i, c: {"targetKeyId": i.get("targetKeyId")},
    ),
    "AWS::SNS::Topic": (
        lambda p: {
            "displayName": p.get("DisplayName"),
            "kmsMasterKeyId": p.get("KmsMasterKeyId"),
            "fifo": p.get("FifoTopic"),
            "subscriptions": sorted([s.get("Protocol"), s.get("Endpoint")] for s in p.get("Subscription", [])),
        },
        lambda i, c: {
            "displayName": i.get("displayName"),
            "kmsMasterKeyId": i.get("kmsMasterKeyId"),
            "fifo": i.get("fifoTopic"),
            "subscriptions": sorted(
                [s["inputs"].get("protocol"), s["inputs"].get("endpoint")]
                for s in c.get("aws:sns:TopicSubscription", [])
            ),
        },
    ),
    "AWS::SNS::TopicPolicy": (lambda p: {"topics": p.get("Topics")}, lambda i, c: {"topics": [i.get("arn")]}),
    "AWS::Events::EventBus": (
        lambda p: {"description": p.get("Description"), "kmsKeyIdentifier": p.get("KmsKeyIdentifier")},
        lambda i, c: {"description": i.get("description"), "kmsKeyIdentifier": i.get("kmsKeyIdentifier")},
    ),
    "AWS::Events::Rule": (
        lambda p: {
            "description": p.get("Description"),
            "state": p.get("State", "ENABLED"),
            "eventBusName": p.get("EventBusName") or "default",
            "scheduleExpression": p.get("ScheduleExpression"),
            "eventPattern": p.get("EventPattern"),
            "roleArn": p.get("RoleArn"),
            "targets": targets_cfn(p.get("Targets")),
        },
        lambda i, c: {
            "description": i.get("description"),
            "state": i.get("state", "ENABLED"),
            "eventBusName": i.get("eventBusName") or "default",
            "scheduleExpression": i.get("scheduleExpression"),
            "eventPattern": eq.parse_json(i.get("eventPattern")),
            "roleArn": i.get("roleArn"),
            "targets": targets_pulumi(c.get("aws:cloudwatch:EventTarget", []), i.get("eventBusName") or "default"),
        },
    ),
    "AWS::SecretsManager::Secret": (
        lambda p: {
            "description": p.get("Description"),
            "kmsKeyId": p.get("KmsKeyId"),
            "generated": secret_generation_cfn(p.get("GenerateSecretString")),
        },
        lambda i, c: {
            "description": i.get("description"),
            "kmsKeyId": i.get("kmsKeyId"),
            "generated": secret_generation_pulumi(one(c, "random:index:RandomPassword")),
        },
    ),
}

# Physical names: CloudFormation property → Pulumi input, where CloudFormation sets one.
NAMES = {
    "AWS::S3::Bucket": ("BucketName", "bucket"),
    "AWS::ECR::Repository": ("RepositoryName", "name"),
    "AWS::Logs::LogGroup": ("LogGroupName", "name"),
    "AWS::IAM::Role": ("RoleName", "name"),
    "AWS::Lambda::Function": ("FunctionName", "name"),
    "AWS::CodeBuild::Project": ("Name", "name"),
    "AWS::CodePipeline::Pipeline": ("Name", "name"),
    "AWS::CodeConnections::Connection": ("ConnectionName", "name"),
    "AWS::KMS::Alias": ("AliasName", "name"),
    "AWS::SNS::Topic": ("TopicName", "name"),
    "AWS::Events::EventBus": ("Name", "name"),
    "AWS::Events::Rule": ("Name", "name"),
    "AWS::SecretsManager::Secret": ("Name", "name"),
}

# Policy documents: CloudFormation property → Pulumi input (JSON text).
POLICIES = {
    "AWS::IAM::Role": (
        lambda p: (
            {"trust policy": p.get("AssumeRolePolicyDocument")}
            | {f"policy {x['PolicyName']}": x["PolicyDocument"] for x in p.get("Policies", [])}
        ),
        lambda i, c: (
            {"trust policy": i.get("assumeRolePolicy")}
            | {f"policy {x.get('name')}": x.get("policy") for x in i.get("inlinePolicies") or []}
        ),
    ),
    "AWS::KMS::Key": (lambda p: {"key policy": p.get("KeyPolicy")}, lambda i, c: {"key policy": i.get("policy")}),
    "AWS::S3::BucketPolicy": (
        lambda p: {"bucket policy": p.get("PolicyDocument")},
        lambda i, c: {"bucket policy": i.get("policy")},
    ),
    # Only when stages deploy to Lambda functions (Lambda pulls their images).
    "AWS::ECR::Repository": (
        lambda p: {"repository policy": p["RepositoryPolicyText"]} if "RepositoryPolicyText" in p else {},
        lambda i, c: (
            {"repository policy": one(c, "aws:ecr:RepositoryPolicy").get("policy")}
            if c.get("aws:ecr:RepositoryPolicy")
            else {}
        ),
    ),
    "AWS::SNS::TopicPolicy": (
        lambda p: {"topic policy": p.get("PolicyDocument")},
        lambda i, c: {"topic policy": i.get("policy")},
    ),
}


@functools.cache
def taggable(token):
    """Whether the SDK's `<Type>Args` has `tags` (the provider's defaultTags then apply)."""
    package, module, member = token.split(":")
    base = pulumi_harness.NODE_MODULES / "@pulumi" / package
    if module != "index":
        base = base / module
    text = (base / (member[0].lower() + member[1:] + ".d.ts")).read_text(encoding="utf-8")
    match = re.search(r"export interface " + member + r"Args \{(.*?)\n\}", text, re.S)
    return bool(match and re.search(r"^\s+tags\?:", match[1], re.M))


def equivalence(template, dump):
    """Every difference between the template and the program's resolved resources."""
    model = eq.Model(dump)
    cfn = template["Resources"]
    diffs = []

    def attribute(logical_id, attr):
        kind = cfn[logical_id]["Type"]
        primary = model.resources.get(logical_id)
        if primary is None:
            raise eq.Unresolvable(f"{logical_id} ({kind}) has no Pulumi resource of that name")
        spec = ATTRIBUTES.get(kind, {}).get(attr)
        if spec is None:
            raise eq.Unresolvable(f"no attribute mapping for {kind} {attr or 'Ref'}")
        return spec(primary["state"]) if callable(spec) else primary["state"][spec]

    resolve = eq.Resolver(template, attribute)
    accounted = {n for n, r in model.resources.items() if r["token"].startswith("pulumi:providers:")}

    for logical_id, resource in sorted(cfn.items()):
        kind = resource["Type"]
        if kind not in MAPPING:
            diffs.append(f"{logical_id}: no mapping for {kind} in test_pulumi.MAPPING")
            continue
        token, companion_tokens = MAPPING[kind]
        primary = model.resources.get(logical_id)
        if primary is None:
            diffs.append(f"{logical_id} ({kind}): no Pulumi resource named {logical_id} (expected type {token})")
            continue
        accounted.add(logical_id)
        if primary["token"] != token:
            diffs.append(f"{logical_id}: Pulumi type {primary['token']}, expected {token} for {kind}")
            continue
        try:
            props = eq.Tracked(resolve(resource.get("Properties", {})))
        except eq.Unresolvable as error:
            diffs.append(f"{logical_id}: cannot resolve the CloudFormation properties: {error}")
            continue
        companions = find_companions(model, primary, companion_tokens)
        for items in companions.values():
            accounted.update(c["name"] for c in items)
        # Inputs nothing reads are differences too (below); the link to the primary is read.
        inputs = eq.Tracked(primary["inputs"])
        companions = {
            t: [dict(c, inputs=eq.Tracked(c["inputs"], read=LINK_INPUTS.get(t, []))) for c in items]
            for t, items in companions.items()
        }
        label = f"{logical_id} ({kind} → {token})"

        if kind in NAMES:
            cfn_key, pulumi_key = NAMES[kind]
            if cfn_key in props:
                diffs += eq.compare(f"{label} name", props[cfn_key], inputs.get(pulumi_key))
            elif inputs.get(pulumi_key) is not None:
                diffs.append(f"{label}: CloudFormation leaves it unnamed, Pulumi names it {inputs[pulumi_key]!r}")
        cfn_facts, pulumi_facts = FACTS[kind]
        diffs += eq.compare(label, eq.prune(cfn_facts(props)), eq.prune(pulumi_facts(inputs, companions)))
        if kind in POLICIES:
            expected, got = POLICIES[kind][0](props), POLICIES[kind][1](inputs, companions)
            for name in sorted(set(expected) | set(got)):
                if name not in got:
                    diffs.append(f"{label} {name}: missing in Pulumi")
                elif name not in expected:
                    diffs.append(f"{label} {name}: not in CloudFormation")
                elif not isinstance(got[name], str):
                    diffs.append(f"{label} {name}: not a JSON string in Pulumi: {json.dumps(got[name])[:200]}")
                else:
                    diffs += eq.diff_policy(f"{label} {name}", expected[name], got[name])
        for key in sorted(set(props) - props.read - {"Tags"}):
            if (kind, key) not in UNCOMPARED:
                diffs.append(f"{logical_id}: CloudFormation property {key} is not compared (extend FACTS)")
        for r in [dict(primary, inputs=inputs)] + [c for items in companions.values() for c in items]:
            for key in sorted(set(r["inputs"]) - r["inputs"].read - {"tags"}):
                diffs.append(f"{r['name']} ({r['token']}): Pulumi input {key} is not compared (extend FACTS)")
        # Retention on delete: the primary and everything it was split into.
        retained = resource.get("DeletionPolicy") == "Retain"
        for r in [primary] + [c for items in companions.values() for c in items]:
            if bool(r["options"].get("retainOnDelete")) != retained:
                diffs.append(
                    f"{r['name']} ({r['token']}): retainOnDelete {bool(r['options'].get('retainOnDelete'))}, "
                    f"but {logical_id} has DeletionPolicy {resource.get('DeletionPolicy', 'Delete')}"
                )
        depends = resource.get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else depends
        for r in [primary] + companions.get("aws:cloudwatch:EventTarget", []):
            missing = sorted(set(depends) - set(r["options"].get("dependsOn", [])))
            if missing:
                diffs.append(f"{r['name']}: dependsOn lacks {missing} (CloudFormation {logical_id} DependsOn)")

    for name in sorted(set(model.resources) - accounted):
        diffs.append(f"{name} ({model.resources[name]['token']}): Pulumi resource with no CloudFormation counterpart")

    diffs += tag_differences(template, model)
    diffs += output_differences(template, dump, resolve)
    return diffs


def find_companions(model, primary, tokens):
    found = {}
    for token in tokens:
        link = LINKS[token]
        if link is None:
            continue
        key, attr = link
        found[token] = [
            r for r in model.by_token(token) if r["inputs"].get(key) in (primary["state"].get(attr), primary["id"])
        ]
    if "random:index:RandomPassword" in tokens:
        stored = {v["inputs"].get("secretString") for v in found.get("aws:secretsmanager:SecretVersion", [])}
        found["random:index:RandomPassword"] = [
            r for r in model.by_token("random:index:RandomPassword") if r["state"].get("result") in stored
        ]
    return found


def tag_differences(template, model):
    tag_sets = {
        json.dumps({t["Key"]: t["Value"] for t in r["Properties"]["Tags"]}, sort_keys=True)
        for r in template["Resources"].values()
        if isinstance(r.get("Properties", {}).get("Tags"), list)
    }
    if len(tag_sets) != 1:
        return [f"the template's resources do not all carry the same tags: {sorted(tag_sets)}"]
    expected = json.loads(tag_sets.pop())
    diffs = []
    for logical_id, r in sorted(template["Resources"].items()):
        primary = model.resources.get(logical_id)
        if "Tags" in r.get("Properties", {}) and primary and not taggable(primary["token"]):
            diffs.append(f"{logical_id} is tagged in CloudFormation but {primary['token']} takes no tags")
    for name, r in sorted(model.resources.items()):
        if r["token"].startswith("pulumi:providers:") or not r["token"].startswith("aws:"):
            continue
        if not taggable(r["token"]):
            continue
        tags, provider = model.effective_tags(r)
        if tags != expected:
            diffs.append(
                f"{name} ({r['token']}): tags {json.dumps(tags, sort_keys=True)} (provider {provider}), "
                f"expected {json.dumps(expected, sort_keys=True)}"
            )
    return diffs


def output_differences(template, dump, resolve):
    diffs = []
    outputs = {k: v["value"] for k, v in dump["outputs"].items()}
    for name, output in sorted(template.get("Outputs", {}).items()):
        if name not in outputs:
            diffs.append(f"output {name}: missing in Pulumi")
            continue
        try:
            expected = resolve(output["Value"])
        except eq.Unresolvable as error:
            diffs.append(f"output {name}: cannot resolve the CloudFormation value: {error}")
            continue
        diffs += eq.compare(f"output {name}", expected, outputs[name])
    for name in sorted(set(outputs) - set(template.get("Outputs", {}))):
        if name not in EXTRA_OUTPUTS:
            diffs.append(f"output {name}: only in Pulumi (add it to EXTRA_OUTPUTS with a reason if intended)")
        elif name == "WebhookSecret" and not dump["outputs"][name]["secret"]:
            diffs.append("output WebhookSecret: not a secret")
    return diffs


def resource(dump, name):
    return next(r for r in dump["resources"] if r["name"] == name)


def mutate(dump, name, change):
    copy = json.loads(json.dumps(dump))
    resources = {r["name"]: r for r in copy["resources"]}
    change(resources[name] if name else copy)
    return copy


def test_equivalence_reports_each_kind_of_difference(suite):
    """The comparison is not vacuous: one change to the default program's resolved resources
    per checked aspect, each reported precisely."""
    template, dump, _ = suite.config("default")

    def policy_without_action(role):
        document = json.loads(role["inputs"]["inlinePolicies"][0]["policy"])
        document["Statement"][0]["Action"].remove("ecr:PutImage")
        role["inputs"]["inlinePolicies"][0]["policy"] = json.dumps(document)

    def other_pattern(rule):
        pattern = json.loads(rule["inputs"]["eventPattern"])
        pattern["detail"]["ref"] = ["refs/heads/other"]
        rule["inputs"]["eventPattern"] = json.dumps(pattern)

    cases = [
        ("BuildLogGroup", lambda r: r["inputs"].update(retentionInDays=14), "retentionInDays: expected 7, got 14"),
        ("PromotionFunction", lambda r: r["inputs"].update(name="x"), 'name: expected "example-app-promote", got "x"'),
        ("BuildRole", policy_without_action, "statement PushImages: Action expected"),
        ("PushRule", other_pattern, '.eventPattern.detail.ref[0]: expected "refs/heads/main", got "refs/heads/other"'),
        ("Pipeline", lambda r: r["inputs"]["stages"][3].update(name="qa"), '.stages[3].name: expected "dev", got "qa"'),
        (
            "ImageRepositoryLifecyclePolicy",
            lambda r: r["inputs"].update(policy=json.dumps(json.loads(r["inputs"]["policy"]), indent=1)),
            ".lifecyclePolicyText: differs from character 1",
        ),
        ("ImageRepository", lambda r: r["options"].pop("retainOnDelete"), "retainOnDelete False, but ImageRepository"),
        (
            "awsProvider",
            lambda r: r["inputs"].update(defaultTags=json.dumps({"tags": {"Team": "devops"}})),
            'BuildRole (aws:iam:Role): tags {"Team": "devops"}',
        ),
        ("PushRule", lambda r: r["options"].pop("dependsOn"), "PushRule: dependsOn lacks ['Pipeline']"),
        (
            "BuildLogGroup",
            lambda r: r["inputs"].update(skipDestroy=True),
            "BuildLogGroup (aws:cloudwatch:LogGroup): Pulumi input skipDestroy is not compared",
        ),
        (
            None,
            lambda d: d["resources"].append(dict(resource(d, "BuildLogGroup"), name="Stray")),
            "Stray (aws:cloudwatch:LogGroup): Pulumi resource with no",
        ),
        (None, lambda d: d["outputs"]["PipelineName"].update(value="x"), "output PipelineName: expected"),
        (
            None,
            lambda d: d["resources"].remove(resource(d, "ArtifactBucketVersioning")),
            '.versioning: expected "Enabled", missing in Pulumi',
        ),
    ]
    baseline = set(equivalence(template, dump))
    for name, change, expected in cases:
        found = [d for d in equivalence(template, mutate(dump, name, change)) if d not in baseline]
        assert any(expected in d for d in found), f"{name}: {expected!r} not reported; got {found}"
    # A CloudFormation property nothing compares is itself a difference.
    extended = json.loads(json.dumps(template))
    extended["Resources"]["BuildLogGroup"]["Properties"]["LogGroupClass"] = "STANDARD"
    found = [d for d in equivalence(extended, dump) if d not in baseline]
    assert found == ["BuildLogGroup: CloudFormation property LogGroupClass is not compared (extend FACTS)"], found


@pytest.mark.parametrize("config", CONFIGS)
def test_equivalent_to_the_cloudformation_template(suite, config):
    template, dump, _ = suite.config(config)
    diffs = equivalence(template, dump)
    assert not diffs, f"{len(diffs)} differences between the {config} template and program:\n" + "\n".join(diffs)


# ---------------------------------------------------------------------------------------------
# (e) compiler mode, and the --out project


@pytest.mark.parametrize("config", CONFIGS)
def test_program_text_does_not_depend_on_pulumi_environment(suite, config):
    suite.config(config)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    without = synth(suite.binary, config, "--target", "pulumi", env=clean, cwd=suite.tmp)
    with_env = synth(suite.binary, config, "--target", "pulumi", env=clean | ENV_PULUMI, cwd=suite.tmp)
    assert without.returncode == 0, without.stderr.decode()
    assert with_env.returncode == 0, with_env.stderr.decode()
    assert with_env.stdout == without.stdout
    assert without.stdout.decode() == suite.yaml[config]


def test_out_writes_the_project_and_the_same_program(suite, tmp_path):
    suite.config("default")
    result = synth(suite.binary, "default", "--target", "pulumi", "--out", str(tmp_path / "project"), cwd=suite.tmp)
    assert result.returncode == 0, result.stderr.decode()
    files = sorted(p.name for p in (tmp_path / "project").iterdir())
    assert files == ["Main.yaml", "Pulumi.yaml"]
    assert (tmp_path / "project" / "Main.yaml").read_text(encoding="utf-8") == suite.yaml["default"]
    project = pulumi_translate.load((tmp_path / "project" / "Pulumi.yaml").read_text(encoding="utf-8"))
    runtime = project.get("runtime")
    assert isinstance(project.get("name"), str) and project["name"]
    assert runtime == "yaml" or (isinstance(runtime, dict) and runtime.get("name") == "yaml"), runtime
    main = pulumi_translate.load(suite.yaml["default"])
    assert not {"name", "runtime"} & set(main), "Main.yaml holds only the program"
