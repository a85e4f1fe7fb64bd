"""Shared helpers for the Lambda tests."""
import importlib.util
import pathlib

LAMBDAS = pathlib.Path(__file__).resolve().parents[2] / "crates/shipline-core/src/lambdas"


def load_lambda(name):
    """A fresh copy of an embedded Lambda module (fresh client and secret caches)."""
    spec = importlib.util.spec_from_file_location(name, LAMBDAS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
