"""crates/shipline-core/src/regions.json against its source, the installed cfn-lint.

regions.json says, for every CloudFormation resource type shipline can emit, which regions lack
it. It is derived from the per-region provider files cfn-lint ships
(`cfnlint/data/schemas/providers/<region>.json`, each a map from resource type to schema). The
tests recompute it and compare, so upgrading cfn-lint (requirements-test.lock) without
regenerating fails here; they also check that every type in every synthesized template is in it.

Regenerate (after a cfn-lint upgrade, or when shipline emits a new resource type):

    SHIPLINE_BIN=target/debug/shipline .venv/test/bin/python tests/python/test_regions.py --write

Without SHIPLINE_BIN the types already in regions.json are kept (a new type needs the binary).
"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile

import cfnlint
import cfnlint.helpers
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "crates/shipline-core/src/regions.json"
CONFIGS = ROOT / "tests/configs"
PROVIDERS = pathlib.Path(cfnlint.__file__).parent / "data/schemas/providers"
REGENERATE = (
    "regenerate it: SHIPLINE_BIN=target/debug/shipline .venv/test/bin/python tests/python/test_regions.py --write"
)


def cfn_lint_version():
    from cfnlint.version import __version__

    return __version__


def provider_types():
    """{region: set of resource types} from the provider files cfn-lint ships (the bundled
    ones, not a user cache that `cfn-lint --update-specs` may have written)."""
    return {
        path.stem: set(json.loads(path.read_text())) for path in sorted(PROVIDERS.glob("*.json")) if path.stem != "sam"
    }


def classify():
    """(regions with data of their own, regions without, and why).

    cfn-lint lists some regions for which it has no schema of its own: the isolated partitions
    get a copy of us-east-1's provider file (cfn-lint PR #4103), and a listed region without a
    file falls back to us-east-1's at run time. Treating either as "everything is available"
    would be a guess, so they are kept apart."""
    types = provider_types()
    reference = types["us-east-1"]
    listed = set(cfnlint.helpers.REGIONS)
    # A file for a region cfn-lint does not list would never be read: flag it rather than guess.
    stray = sorted(set(types) - listed)
    assert not stray, f"provider files for regions cfn-lint does not list: {stray}"
    checked, unchecked = {}, {}
    for region in sorted(listed):
        if region not in types:
            unchecked[region] = "no provider file (cfn-lint falls back to us-east-1's)"
        elif region != "us-east-1" and types[region] == reference:
            unchecked[region] = "provider file is a copy of us-east-1's"
        else:
            checked[region] = types[region]
    return checked, unchecked


def synth(binary, *args):
    """`shipline synth` as parsed JSON, run where no shipline.toml is (so the default is the
    embedded one)."""
    with tempfile.TemporaryDirectory() as empty:
        out = subprocess.run(
            [os.path.abspath(binary), "synth", *args], check=True, capture_output=True, text=True, cwd=empty
        ).stdout
    return json.loads(out)


def template_types(binary):
    """The resource types in the default template and every tests/configs/*.toml's."""
    runs = [[]] + [["--config", str(c)] for c in sorted(CONFIGS.glob("*.toml"))]
    types = {}
    for args in runs:
        name = pathlib.Path(args[-1]).name if args else "default"
        for resource in synth(binary, *args)["Resources"].values():
            types.setdefault(resource["Type"], []).append(name)
    return types


def compute(resource_types):
    """regions.json's content for `resource_types` from the installed cfn-lint."""
    checked, unchecked = classify()
    return {
        "source": f"cfn-lint {cfn_lint_version()} resource schemas (cfnlint/data/schemas/providers/<region>)",
        "regions": sorted(checked),
        "unchecked_regions": unchecked,
        "unavailable": {t: sorted(r for r, have in checked.items() if t not in have) for t in sorted(resource_types)},
    }


def stored():
    return json.loads(DATA.read_text())


def test_regions_json_matches_installed_cfn_lint():
    expected = compute(stored()["unavailable"])
    actual = stored()
    assert actual["source"] == expected["source"], f"regions.json comes from another cfn-lint; {REGENERATE}"
    for key in ("regions", "unchecked_regions", "unavailable"):
        assert actual[key] == expected[key], f"regions.json[{key!r}] differs from cfn-lint's schemas; {REGENERATE}"
    assert actual == expected, REGENERATE


def test_every_listed_type_exists_somewhere():
    # A misspelt type would otherwise read as "missing in every region".
    checked, _ = classify()
    for resource_type, lacking in stored()["unavailable"].items():
        assert set(lacking) != set(checked), f"{resource_type} exists in no region: misspelt?"


@pytest.mark.skipif(not os.environ.get("SHIPLINE_BIN"), reason="needs SHIPLINE_BIN to synthesize")
def test_every_synthesized_type_is_checked():
    listed = set(stored()["unavailable"])
    missing = {t: where for t, where in template_types(os.environ["SHIPLINE_BIN"]).items() if t not in listed}
    assert not missing, f"resource types not in regions.json (template: configs): {missing}; {REGENERATE}"


@pytest.mark.skipif(not os.environ.get("SHIPLINE_BIN"), reason="needs SHIPLINE_BIN to synthesize")
def test_cfn_lint_reports_the_same_gaps_for_the_default_template():
    # The same question asked the other way: cfn-lint's own E3006 ("resource type does not
    # exist in region") over every checked region, on the default template.
    import cfnlint.api

    template = synth(os.environ["SHIPLINE_BIN"])
    types = {r["Type"] for r in template["Resources"].values()}
    data = stored()
    matches = cfnlint.api.lint(json.dumps(template), config=cfnlint.api.ManualArgs(regions=data["regions"]))
    reported = sorted({m.message for m in matches if m.rule.id == "E3006"})
    expected = sorted(f"Resource type '{t}' does not exist in '{r}'" for t in types for r in data["unavailable"][t])
    assert reported == expected


def write():
    binary = os.environ.get("SHIPLINE_BIN")
    types = set(template_types(binary)) if binary else set()
    if DATA.exists():
        types |= set(stored()["unavailable"])
    if not types:
        sys.exit("no resource types: set SHIPLINE_BIN to a built shipline binary")
    DATA.write_text(json.dumps(compute(types), indent=2) + "\n")
    print(f"wrote {DATA.relative_to(ROOT)}: {len(types)} resource types, cfn-lint {cfn_lint_version()}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(__doc__)
    write()
