"""Run parliament on every IAM policy document in synthesized CloudFormation templates.

Usage: python check_policies.py TEMPLATE.json [...]

Policies reference other resources through intrinsics (Fn::GetAtt, Fn::Sub, Ref). parliament
needs concrete ARNs to check that each action fits its resource type, so intrinsics are
resolved to realistic sample ARNs built from each referenced resource's type and name.
Exit status 1 if any policy has a finding, 2 on usage errors.
"""

import json
import re
import sys

from parliament import analyze_policy_string

PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "sample-stack",
    "AWS::URLSuffix": "amazonaws.com",
}
ACCOUNT = "arn:aws:{service}:us-east-1:123456789012:"


def sample_name(logical_id, resource):
    props = resource.get("Properties", {})
    for key in (
        "RepositoryName",
        "Name",
        "FunctionName",
        "LogGroupName",
        "ConnectionName",
        "TopicName",
        "EventBusName",
    ):
        if isinstance(props.get(key), str):
            return props[key]
    return logical_id.lower()


def sample_arn(logical_id, resource):
    name = sample_name(logical_id, resource)
    kind = resource["Type"]
    arns = {
        "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
        "AWS::ECR::Repository": ACCOUNT.format(service="ecr") + f"repository/{name}",
        "AWS::Logs::LogGroup": ACCOUNT.format(service="logs") + f"log-group:{name}:*",
        "AWS::CodeBuild::Project": ACCOUNT.format(service="codebuild") + f"project/{name}",
        "AWS::Lambda::Function": ACCOUNT.format(service="lambda") + f"function:{name}",
        "AWS::IAM::Role": f"arn:aws:iam::123456789012:role/{name}",
        "AWS::CodeConnections::Connection": ACCOUNT.format(service="codeconnections")
        + "connection/0a1b2c3d-1111-2222-3333-444455556666",
        "AWS::CodePipeline::Pipeline": ACCOUNT.format(service="codepipeline") + name,
        "AWS::SNS::Topic": ACCOUNT.format(service="sns") + name,
        "AWS::Events::EventBus": ACCOUNT.format(service="events") + f"event-bus/{name}",
        "AWS::SecretsManager::Secret": ACCOUNT.format(service="secretsmanager") + f"secret:{name}-AbCdEf",
        "AWS::KMS::Key": ACCOUNT.format(service="kms") + "key/0a1b2c3d-1111-2222-3333-444455556666",
    }
    if kind not in arns:
        raise SystemExit(f"check_policies: no sample ARN for {kind} ({logical_id})")
    return arns[kind]


def ref_value(resources, name):
    if name in PSEUDO:
        return PSEUDO[name]
    resource = resources[name]
    if resource["Type"] in ("AWS::CodeConnections::Connection", "AWS::SNS::Topic", "AWS::SecretsManager::Secret"):
        return sample_arn(name, resource)
    return sample_name(name, resource)


def resolve(value, resources):
    if isinstance(value, list):
        return [resolve(v, resources) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return ref_value(resources, value["Ref"])
    if set(value) == {"Fn::GetAtt"}:
        logical_id, attribute = value["Fn::GetAtt"]
        if attribute != "Arn":
            return f"sample-{logical_id}-{attribute}"
        return sample_arn(logical_id, resources[logical_id])
    if set(value) == {"Fn::Split"}:
        separator, text = value["Fn::Split"]
        return resolve(text, resources).split(separator)
    if set(value) == {"Fn::Select"}:
        index, items = value["Fn::Select"]
        return resolve(items, resources)[int(index)]
    if set(value) == {"Fn::Sub"}:
        text, variables = value["Fn::Sub"], {}
        if isinstance(text, list):
            text, variables = text[0], {k: resolve(v, resources) for k, v in text[1].items()}

        def substitute(match):
            token = match.group(1)
            if token in variables:
                return variables[token]
            if "." in token:
                logical_id, attribute = token.split(".", 1)
                return resolve({"Fn::GetAtt": [logical_id, attribute]}, resources)
            return ref_value(resources, token)

        return re.sub(r"\$\{([^}!]+)\}", substitute, text)
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(resolve(parts, resources))
    return {k: resolve(v, resources) for k, v in value.items()}


def policy_documents(template):
    resources = template["Resources"]
    for logical_id, resource in sorted(resources.items()):
        props = resource.get("Properties", {})
        ignores = resource.get("Metadata", {}).get("parliament", {}).get("ignore", [])
        if resource["Type"] == "AWS::IAM::Role":
            # parliament checks identity-policy grammar, which requires Resource; a trust
            # policy guards the role itself, so it is checked as sts:AssumeRole on the role,
            # with parliament's core auditors only (the community CREDENTIALS_EXPOSURE auditor
            # would flag sts:AssumeRole, which is what every trust policy is about).
            trust = json.loads(json.dumps(props["AssumeRolePolicyDocument"]))
            for statement in trust["Statement"]:
                statement.setdefault("Resource", {"Fn::GetAtt": [logical_id, "Arn"]})
            yield f"{logical_id} trust policy", trust, ignores, False
            for policy in props.get("Policies", []):
                yield f"{logical_id} policy {policy['PolicyName']}", policy["PolicyDocument"], ignores, True
        if "KeyPolicy" in props:
            # In a key policy `"Resource": "*"` can only mean the key itself (AWS KMS developer
            # guide, "Key policies"), so it is checked as the key's ARN.
            policy = json.loads(json.dumps(props["KeyPolicy"]))
            for statement in policy["Statement"]:
                if statement.get("Resource") == "*":
                    statement["Resource"] = {"Fn::GetAtt": [logical_id, "Arn"]}
            yield f"{logical_id} KeyPolicy", policy, ignores, True
        if "PolicyDocument" in props and resource["Type"] != "AWS::IAM::Role":
            yield f"{logical_id} PolicyDocument", props["PolicyDocument"], ignores, True


def suppressed(finding, ignores):
    """A finding is suppressed by a Metadata.parliament.ignore entry naming its issue and
    every action it concerns, with a reason."""
    actions = {a.lower() for a in (finding.location or {}).get("actions", [])}
    for entry in ignores:
        if not entry.get("reason"):
            raise SystemExit(f"check_policies: suppression without a reason: {entry}")
        if entry.get("issue") == finding.issue and actions and actions <= {a.lower() for a in entry.get("actions", [])}:
            return True
    return False


def key_policy_noise(label, finding):
    """True for a key policy's RESOURCE_MISMATCH on actions that do not act on a key (account
    actions like kms:CreateKey, alias actions): in a key policy they have no effect, so the
    mismatch only reflects `kms:*` in the account statement (KMS's default key policy)."""
    if not label.endswith(" KeyPolicy") or finding.issue != "RESOURCE_MISMATCH":
        return False
    mismatches = finding.detail if isinstance(finding.detail, list) else []
    return bool(mismatches) and all(
        m.get("action", "").startswith("kms:") and ":key/" not in m.get("required_format", ":key/") for m in mismatches
    )


def main(paths):
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    findings = 0
    checked = 0
    suppressions = 0
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            template = json.load(handle)
        for label, document, ignores, community in policy_documents(template):
            concrete = resolve(document, template["Resources"])
            policy = analyze_policy_string(json.dumps(concrete), include_community_auditors=community)
            checked += 1
            for finding in policy.findings:
                if key_policy_noise(label, finding):
                    continue
                if suppressed(finding, ignores):
                    suppressions += 1
                    continue
                findings += 1
                print(f"{path}: {label}: {finding.issue}: {finding.detail} at {finding.location}")
    print(f"parliament: {checked} policy documents, {findings} findings, {suppressions} suppressed with a reason")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
