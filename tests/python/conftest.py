"""Shared helpers for the Lambda tests."""
import importlib.util
import pathlib

import pytest
from moto import mock_aws

LAMBDAS = pathlib.Path(__file__).resolve().parents[2] / "crates/shipline-core/src/lambdas"


def load_lambda(name):
    """A fresh copy of an embedded Lambda module (fresh client and secret caches)."""
    spec = importlib.util.spec_from_file_location(name, LAMBDAS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def mocked_aws(monkeypatch):
    """moto's in-process AWS in us-east-1 with dummy credentials."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield
