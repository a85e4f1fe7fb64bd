"""`shipline synth --format yaml` read the way CloudFormation reads it (YAML 1.1, which PyYAML's
SafeLoader implements) is exactly the JSON template, for the default and every config in
tests/configs/ (yaml-1.1-words.toml holds the words 1.1 would misread: yes, off, 1_000, 1:20,
0755, =, <<, ...)."""

import json
import os
import pathlib
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("SHIPLINE_BIN")
CONFIGS = sorted((ROOT / "tests/configs").glob("*.toml"))


def synth(*args, cwd):
    return subprocess.run([BIN, "synth", *args], check=True, capture_output=True, text=True, cwd=cwd).stdout


@pytest.mark.skipif(not BIN, reason="needs SHIPLINE_BIN")
@pytest.mark.parametrize("config", [None, *CONFIGS], ids=lambda c: c.stem if c else "default")
def test_yaml_reads_as_the_json_template_under_yaml_1_1(config, tmp_path):
    args = ["--config", str(config)] if config else []
    as_json = json.loads(synth(*args, cwd=tmp_path))
    as_yaml = yaml.load(synth(*args, "--format", "yaml", cwd=tmp_path), Loader=yaml.SafeLoader)
    assert as_yaml == as_json
