"""Reduce a synthesized template to what moto's CloudFormation can create.

moto models no CodeBuild, CodePipeline or CodeConnections resources and fails on any
Ref/GetAtt/Sub that reaches one, so those resources, every resource that references them
(transitively) and the outputs that do are removed; KMS keys lose their tags (moto reads them
in the wrong shape). Everything else — bucket, repository,
log groups, roles, functions, secret, bus, rule — is deployed as synthesized.

Usage: python moto_template.py < template.json > reduced.json
"""

import json
import re
import sys

UNSUPPORTED = {"AWS::CodeBuild::Project", "AWS::CodePipeline::Pipeline", "AWS::CodeConnections::Connection"}


def references(value):
    """Logical ids a JSON value refers to through Ref, Fn::GetAtt, Fn::Sub or DependsOn."""
    found = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0])
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                found.update(m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text))
            found.update(references(inner))
    elif isinstance(value, list):
        for inner in value:
            found.update(references(inner))
    return found


def reduce(template):
    resources = template["Resources"]
    removed = {lid for lid, r in resources.items() if r["Type"] in UNSUPPORTED}
    changed = True
    while changed:
        changed = False
        for lid, resource in resources.items():
            if lid in removed:
                continue
            refs = references(resource.get("Properties", {})) | set(resource.get("DependsOn", []))
            if refs & removed:
                removed.add(lid)
                changed = True
    template["Resources"] = {lid: r for lid, r in resources.items() if lid not in removed}
    template["Outputs"] = {
        k: o for k, o in template.get("Outputs", {}).items() if not (references(o["Value"]) & removed)
    }
    # moto's KMS reads CloudFormation tags in the KMS API's shape (TagKey/TagValue) and fails on
    # the {Key, Value} shape CloudFormation documents for AWS::KMS::Key; drop them for moto.
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::KMS::Key":
            resource.get("Properties", {}).pop("Tags", None)
    return template


if __name__ == "__main__":
    json.dump(reduce(json.load(sys.stdin)), sys.stdout)
