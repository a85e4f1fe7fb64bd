"""The Mermaid flowchart of `shipline docs` parses with Mermaid's own parser, and says what the
pipeline does.

For the embedded default, every tests/configs/*.toml and a config of hostile values (a branch full
of Mermaid and Markdown syntax, stage names that are Mermaid keywords), the ```mermaid block of
`$SHIPLINE_BIN docs` is parsed by `mermaid.parse` (parse_mermaid.mjs: mermaid and jsdom pinned in
package-lock.json here, run headless under node) and its graph is checked against the config:
GitHub, the trigger path of the configured mode, the stages in pipeline order (an approval stage
before each stage that has one), a tag per promotion stage, the notification topic. A block broken
on purpose must fail to parse, so a parser that accepts anything cannot pass. `-o DIR` writes the
same bytes as stdout, every time.

Set SHIPLINE_BIN (./scripts/test does) or build target/debug/shipline; install the parser with
`npm ci --prefix tests/docs`.
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import tomllib

import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONFIGS = ["default"] + sorted(p.stem for p in (REPO / "tests" / "configs").glob("*.toml"))
MERMAID_BLOCK = re.compile(r"^```mermaid\n(.*?)^```$", re.S | re.M)

# Values a careless generator would emit as Mermaid or Markdown syntax: quotes are not allowed in a
# branch, but every other character below is, and `end`/`subgraph`/`graph` are valid stage names.
HOSTILE = """
[app]
name = "orders"

[source]
repository = "acme/orders"
branch = "feat/<b>#1&x|y;50%(a)"
trigger = "connection"

[source.file_paths]
include = ["src/|`x`|/**"]

[[stages]]
name = "end"
[[stages]]
name = "subgraph"
approval = true
[[stages]]
name = "graph"
"""


def shipline_bin():
    binary = pathlib.Path(os.environ.get("SHIPLINE_BIN", REPO / "target" / "debug" / "shipline"))
    if not binary.is_file():
        pytest.fail(f"no shipline binary at {binary}: set SHIPLINE_BIN or run `cargo build -p shipline`")
    return binary


def docs(args, cwd):
    """`shipline docs ARGS` in `cwd` (so no ./shipline.toml is picked up): its stdout."""
    run = subprocess.run(
        [shipline_bin(), "docs", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def mermaid_block(markdown):
    blocks = MERMAID_BLOCK.findall(markdown)
    assert len(blocks) == 1, f"expected exactly one ```mermaid block, found {len(blocks)}"
    return blocks[0]


def parse(texts):
    """Mermaid's verdict on each diagram text (see parse_mermaid.mjs)."""
    if not (HERE / "node_modules" / "mermaid").is_dir() or not (HERE / "node_modules" / "jsdom").is_dir():
        pytest.fail(f"{HERE / 'node_modules'} is not installed: run `npm ci --prefix tests/docs`")
    node = shutil.which("node")
    assert node, "node is not on PATH"
    run = subprocess.run(
        [node, HERE / "parse_mermaid.mjs"],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    assert len(results) == len(texts)
    return results


def load_config(name, tmp_path):
    """(docs arguments, the config as the test reads it) for a config name."""
    if name == "default":
        return [], {}
    if name == "hostile":
        path = tmp_path / "hostile.toml"
        path.write_text(HOSTILE, encoding="utf-8")
    else:
        path = REPO / "tests" / "configs" / f"{name}.toml"
    return ["--config", str(path)], tomllib.loads(path.read_text(encoding="utf-8"))


def expected_stages(config):
    """The pipeline's stage names in order, with shipline's defaults applied."""
    stages = config.get("stages") or [{"name": n} for n in ("dev", "staging", "production")]
    names = ["Source", "Build", "Scan"]
    for i, stage in enumerate(stages):
        if stage.get("approval", i == len(stages) - 1):
            names.append(f"Approve-{stage['name']}")
        names.append(stage["name"])
    return names, [s["name"] for s in stages]


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    """{config name: (config, markdown, Mermaid's result)}: one node run for all of them."""
    tmp = tmp_path_factory.mktemp("docs")
    documents = {}
    for name in [*CONFIGS, "hostile"]:
        args, config = load_config(name, tmp)
        documents[name] = (config, docs(args, tmp))
    results = parse([mermaid_block(markdown) for _, markdown in documents.values()])
    return {name: (*documents[name], result) for name, result in zip(documents, results, strict=True)}


@pytest.mark.parametrize("name", [*CONFIGS, "hostile"])
def test_the_flowchart_parses_and_follows_the_pipeline(parsed, name):
    config, _, result = parsed[name]
    assert result["ok"], f"Mermaid cannot parse the {name} flowchart: {result.get('error')}"
    assert result["type"] == "flowchart-v2"
    nodes = {node["id"]: node for node in result["nodes"]}
    edges = {(edge["from"], edge["to"]) for edge in result["edges"]}
    first_line = {node_id: node["label"].split("\n")[0] for node_id, node in nodes.items()}

    source = config.get("source", {})
    github = nodes["github"]["label"].split("\n")
    repository, branch = source.get("repository", "example-org/example-app"), source.get("branch", "main")
    assert github == ["GitHub", repository, f"branch {branch}"]

    if source.get("trigger", "webhook") == "webhook":
        assert {("github", "receiver"), ("receiver", "bus"), ("bus", "rule"), ("rule", "source")} <= edges
        assert "trigger" not in nodes
    else:
        assert {("github", "trigger"), ("trigger", "source")} <= edges
        assert not {"receiver", "bus", "rule"} & nodes.keys()

    subgraphs = {graph["id"]: graph for graph in result["subgraphs"]}
    pipeline = subgraphs["pipeline"]["nodes"]
    names, promotions = expected_stages(config)
    assert [first_line[node_id] for node_id in pipeline] == names
    assert all((a, b) in edges for a, b in zip(pipeline, pipeline[1:], strict=False)), "stages are not chained in order"

    image_repository = config.get("app", {}).get("name", "example-app")
    tags = [first_line[node_id] for node_id in subgraphs["images"]["nodes"] if node_id != "commit"]
    assert tags == [f"{image_repository}:{stage}" for stage in promotions]
    assert ("build", "commit") in edges
    for node_id in pipeline:
        if first_line[node_id] in promotions:
            assert any(a == node_id and b in subgraphs["images"]["nodes"] for a, b in edges), node_id
        if first_line[node_id].startswith("Approve-"):
            assert (node_id, "topic") in edges, f"{node_id} sends no approval request"
    assert ("pipeline", "topic") in edges


def test_user_values_are_escaped_for_mermaid_and_markdown(parsed):
    config, markdown, result = parsed["hostile"]
    assert result["ok"], result.get("error")
    # The rendered label shows the branch exactly as written.
    assert result["nodes"][0]["label"].split("\n")[2] == f"branch {config['source']['branch']}"
    # In the Markdown, the glob's pipes are escaped in its table cell and its backticks fenced.
    row = next(line for line in markdown.splitlines() if line.startswith("| File paths, include |"))
    assert row == "| File paths, include | `` src/\\|`x`\\|/** `` |"


def test_a_broken_block_fails_to_parse(parsed):
    """The check can fail: Mermaid rejects each of these breakages of the default flowchart."""
    block = mermaid_block(parsed["default"][1])
    assert block.count('"]') > 1 and "\n  end\n" in block
    broken = [
        block.replace('"]', "]", 1),  # an unterminated label
        block.replace("\n  end\n", "\n", 1),  # a subgraph that never ends
        block + "  source -->|dangling\n",  # an unterminated edge label
        block.replace("flowchart LR", "flowchart sideways", 1),  # no such direction
    ]
    results = parse(broken)
    for text, result in zip(broken, results, strict=True):
        assert not result["ok"], f"Mermaid accepted a broken block:\n{text}"
        assert "Parse error" in result["error"] or "Lexical error" in result["error"], result["error"]


def test_docs_are_deterministic_and_o_writes_stdout_bytes(tmp_path):
    config = str(REPO / "tests" / "configs" / "all-options.toml")
    first = docs(["--config", config], tmp_path)
    assert docs(["--config", config], tmp_path) == first
    out = tmp_path / "out" / "nested"
    docs(["--config", config, "-o", str(out)], tmp_path)
    assert [p.name for p in out.iterdir()] == ["PIPELINE.md"]
    assert (out / "PIPELINE.md").read_text(encoding="utf-8") == first
