"""Build, type-check and mock-run translated Pulumi programs (see pulumi_translate.py).

A Build is a fresh directory under tests/pulumi/build/ (so `@pulumi/*` resolve from
tests/pulumi/node_modules) holding one `<name>.ts` per program and the helper module. `tsc
--strict --noEmit` checks all programs in one run (the SDK's declarations are loaded once);
harness/compile.js then emits CommonJS and lists uses of deprecated SDK APIs; harness/run.js
runs each program under `pulumi.runtime.setMocks`.
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import pulumi_translate

HERE = pathlib.Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
TSC = NODE_MODULES / "typescript" / "bin" / "tsc"
RUNNER = HERE / "harness" / "run.js"
COMPILER = HERE / "harness" / "compile.js"
RUNTIME = HERE / "harness" / "shipline_runtime.ts"
BUILD_ROOT = HERE / "build"

TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        "target": "ES2020",
        "module": "commonjs",
        "moduleResolution": "node",
        # Only the SDK's own declaration files are skipped; every use of them in the programs
        # is checked.
        "skipLibCheck": True,
        "types": ["node"],
        "noEmit": True,
        "newLine": "lf",
    },
}
DIAGNOSTIC = re.compile(r"^(?P<file>[^()\s][^()]*)\((?P<line>\d+),(?P<col>\d+)\): (?:error|warning) TS\d+: ")


def missing_node_modules():
    """Why the SDK cannot be used, or None."""
    if not TSC.is_file() or not (NODE_MODULES / "@pulumi" / "aws").is_dir():
        return f"{NODE_MODULES} is not installed: run `npm ci --prefix {HERE.relative_to(HERE.parents[1])}`"
    return None


class Build:
    def __init__(self):
        BUILD_ROOT.mkdir(exist_ok=True)
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="run-", dir=BUILD_ROOT))
        shutil.copy(RUNTIME, self.dir / RUNTIME.name)
        self.programs = {}  # name -> TypeScript source
        self.translate_errors = {}  # name -> message
        self.diagnostics = None  # name -> [diagnostic text]
        self.deprecations = None  # name -> [use of a deprecated SDK API]
        self.tsc_seconds = None

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def add(self, name, yaml_text):
        """Translate one Pulumi YAML program; False (with the reason kept) if it cannot be."""
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"bad program name {name!r}")
        (self.dir / f"{name}.yaml").write_text(yaml_text, encoding="utf-8")
        try:
            source = pulumi_translate.translate(yaml_text)
        except pulumi_translate.TranslateError as error:
            self.translate_errors[name] = str(error)
            return False
        (self.dir / f"{name}.ts").write_text(source, encoding="utf-8")
        self.programs[name] = source
        return True

    def typecheck(self):
        """One `tsc --strict --noEmit` run over every program: {name: [diagnostics]} (all of
        them); then the programs are compiled to js/ and deprecated API uses collected."""
        config = dict(TSCONFIG, files=[RUNTIME.name] + [f"{n}.ts" for n in self.programs])
        (self.dir / "tsconfig.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        start = time.monotonic()
        result = subprocess.run(
            ["node", str(TSC), "-p", "tsconfig.json", "--pretty", "false"],
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=300,
        )
        self.diagnostics = {name: [] for name in self.programs}
        self.diagnostics[RUNTIME.stem] = []
        current = None
        for line in result.stdout.splitlines():
            match = DIAGNOSTIC.match(line)
            if match:
                name = pathlib.Path(match["file"]).stem
                current = self.diagnostics.setdefault(name, [])
                current.append(self.explain(name, int(match["line"]), line))
            elif current is not None and line.strip():
                current[-1] += "\n    " + line.strip()
            elif line.strip():
                self.diagnostics.setdefault("<tsc>", []).append(line)
        if result.returncode not in (0, 1, 2) or (result.returncode and not any(self.diagnostics.values())):
            self.diagnostics.setdefault("<tsc>", []).append(f"tsc exited {result.returncode}: {result.stderr}")
        compiled = subprocess.run(
            ["node", str(COMPILER), str(self.dir)], capture_output=True, text=True, timeout=300, cwd=self.dir
        )
        if compiled.returncode != 0:
            self.diagnostics.setdefault("<compile>", []).append(compiled.stderr)
            self.deprecations = {}
        else:
            self.deprecations = json.loads(compiled.stdout)
        self.tsc_seconds = time.monotonic() - start
        return self.diagnostics

    def explain(self, name, line, diagnostic):
        """The diagnostic with the resource it is in and the offending source line."""
        source = self.programs.get(name)
        if source is None:
            return diagnostic
        lines = source.splitlines()
        resource = None
        for text in reversed(lines[:line]):
            match = re.match(r'^const \w+ = rt\.reg\("([^"]+)", "([^"]+)"', text)
            if match:
                resource = f"resource {match[1]} ({match[2]})"
                break
            match = re.match(r"^const v_\w+ = ", text)
            if match or text.startswith("export const outputs"):
                resource = "variables" if match else "outputs"
                break
        snippet = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        if len(snippet) > 160:
            snippet = snippet[:160] + "…"
        return f"{diagnostic}\n    in {resource}: {snippet}"

    def run(self, name, account=None, region=None):
        """Run one compiled program under mocks (account 123456789012 and us-east-1 unless
        given): (dump or None, stderr)."""
        dump = self.dir / f"{name}.{account or 'account'}.{region or 'region'}.dump.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "SHIPLINE_MOCK_"))}
        env.update({"SHIPLINE_MOCK_ACCOUNT": account} if account else {})
        env.update({"SHIPLINE_MOCK_REGION": region} if region else {})
        result = subprocess.run(
            ["node", str(RUNNER), str(self.dir / "js" / f"{name}.js"), str(dump)],
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        data = json.loads(dump.read_text(encoding="utf-8")) if dump.exists() else None
        problems = result.stderr.strip()
        if result.returncode != 0 and not problems:
            problems = f"node exited {result.returncode}"
        return data, problems

    def run_all(self, runs):
        """Runs (name, account, region) in parallel: {run: (dump, stderr)}."""
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
            return dict(zip(runs, pool.map(lambda run: self.run(*run), runs), strict=True))
