"""The parliament wrapper itself: it must find problems, and honour only reasoned suppressions."""

import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import check_policies  # noqa: E402


def template(statement, metadata=None):
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            },
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}}],
        },
    }
    if metadata:
        role["Metadata"] = metadata
    return {
        "Resources": {"Repo": {"Type": "AWS::ECR::Repository", "Properties": {"RepositoryName": "r"}}, "Role": role}
    }


def run(tmp_path, doc):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    return check_policies.main([str(path)])


def test_resource_mismatch_is_a_finding(tmp_path, capsys):
    bad = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [{"Fn::GetAtt": ["Repo", "Arn"]}]}
    assert run(tmp_path, template(bad)) == 1
    assert "RESOURCE_MISMATCH" in capsys.readouterr().out


def test_clean_policy_passes(tmp_path):
    good = {"Effect": "Allow", "Action": ["ecr:PutImage"], "Resource": [{"Fn::GetAtt": ["Repo", "Arn"]}]}
    assert run(tmp_path, template(good)) == 0


def test_suppression_needs_the_issue_the_actions_and_a_reason(tmp_path):
    token = {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": ["*"]}
    reasoned = {
        "parliament": {
            "ignore": [
                {"issue": "CREDENTIALS_EXPOSURE", "actions": ["ecr:GetAuthorizationToken"], "reason": "docker login"}
            ]
        }
    }
    assert run(tmp_path, template(token, reasoned)) == 0
    other_action = {
        "parliament": {"ignore": [{"issue": "CREDENTIALS_EXPOSURE", "actions": ["ecr:PutImage"], "reason": "x"}]}
    }
    assert run(tmp_path, template(token, other_action)) == 1
    unreasoned = {
        "parliament": {"ignore": [{"issue": "CREDENTIALS_EXPOSURE", "actions": ["ecr:GetAuthorizationToken"]}]}
    }
    with pytest.raises(SystemExit):
        run(tmp_path, template(token, unreasoned))


def key_template(statement):
    return {
        "Resources": {
            "Key": {
                "Type": "AWS::KMS::Key",
                "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": [statement]}},
            }
        }
    }


def test_key_policy_star_means_the_key_and_account_actions_are_not_findings(tmp_path):
    admin = {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": ["kms:Decrypt", "kms:CreateKey", "kms:CreateAlias"],
        "Resource": "*",
    }
    assert run(tmp_path, key_template(admin)) == 0


def test_key_policy_key_actions_are_still_checked(tmp_path, capsys):
    # A key action in a key policy is checked against the key's ARN: an s3 action mismatches.
    wrong = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": ["s3:GetObject"],
        "Resource": "*",
    }
    assert run(tmp_path, key_template(wrong)) == 1
    assert "RESOURCE_MISMATCH" in capsys.readouterr().out
