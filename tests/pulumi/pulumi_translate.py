"""Translate a Pulumi YAML program (the `Main.yaml` shipline emits) into a TypeScript program for
the Pulumi Node SDK, so that `tsc --strict` checks every property name and type against the
installed provider SDKs and the program can run under `pulumi.runtime.setMocks`.

Usage: python pulumi_translate.py Main.yaml > program.ts

Every resource becomes `new aws.<module>.<Type>("<name>", {<properties>}, {<options>})` with the
argument object literals passed straight to the constructor, so the SDK's `...Args` interface
types them: an unknown property is an excess-property error, a wrong type an assignment error.
No `any`, no casts in the generated code. Expressions follow pulumi-yaml's semantics:

- `${name.prop[0]["k"]}` alone is the value itself (`res.prop`, then an `apply` for deeper
  accessors); mixed into text it is `pulumi.interpolate` with strings, numbers or booleans only;
  `$$` is a literal `$` (pulumi-yaml's `parseInterpolate` and `parsePropertyAccess`).
- `fn::toJSON` is Go's `json.Marshal` (sorted keys, HTML-escaped), `fn::join`/`split`/`select`
  lift over outputs, `fn::assetArchive`/`fn::stringAsset` are SDK assets, `fn::secret` is
  `pulumi.secret`, `fn::invoke` the SDK's `...Output` function (with `return`).
- Variables and resources are emitted in dependency order; a cycle is an error.

Anything the translator does not understand is an error (TranslateError), never skipped.
"""

import json
import re
import sys

import yaml

TOP_LEVEL = {"variables", "resources", "outputs", "config", "name", "runtime", "description"}
RESOURCE_KEYS = {"type", "properties", "options"}
# pulumi-yaml resource options (case-insensitive there) under their SDK names.
OPTIONS = {
    name.lower(): name
    for name in (
        "additionalSecretOutputs",
        "aliases",
        "customTimeouts",
        "deleteBeforeReplace",
        "deletedWith",
        "dependsOn",
        "hideDiffs",
        "ignoreChanges",
        "import",
        "parent",
        "protect",
        "provider",
        "providers",
        "pluginDownloadURL",
        "replaceOnChanges",
        "replaceWith",
        "retainOnDelete",
        "version",
    )
}
PACKAGES = {"aws": "aws", "random": "random"}
IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


class TranslateError(Exception):
    pass


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with plain scalars resolved as pulumi-yaml's parser (go-yaml v3)
    resolves them: YAML 1.2 booleans and nulls (`yes`, `on`, `no`, `off` stay strings),
    integers in decimal, 0x, 0o, 0b and legacy leading-zero octal, 1.2 floats, and no
    timestamps or sexagesimal numbers (those stay strings)."""


Yaml12Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|[-+]?0x[0-9a-fA-F]+|[-+]?0o[0-7]+|[-+]?0b[01]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
):
    Yaml12Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _construct_int(loader, node):
    text = loader.construct_scalar(node)
    sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
    for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], base)
    if len(digits) > 1 and digits.startswith("0") and all(c in "01234567" for c in digits):
        return sign * int(digits, 8)
    return sign * int(digits, 10)


Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load(text):
    """A Pulumi YAML document as pulumi-yaml reads it."""
    return yaml.load(text, Loader=Yaml12Loader)


def parse_interpolation(text):
    """pulumi-yaml's parseInterpolate: a list of (literal text, property access or None)."""
    parts, literal, i = [], [], 0
    while i < len(text):
        if text.startswith("$$", i):
            literal.append("$")
            i += 2
        elif text.startswith("${", i):
            i, access = parse_property_access(text, i + 2)
            parts.append(("".join(literal), access))
            literal = []
        else:
            literal.append(text[i])
            i += 1
    if literal:
        parts.append(("".join(literal), None))
    return parts


def parse_property_access(text, i):
    """pulumi-yaml's parsePropertyAccess from `text[i:]` (after `${`): (index after `}`,
    accessors), each accessor a str (name or string subscript, tagged) or an int."""
    accessors = []
    while i < len(text):
        c = text[i]
        if c == "}":
            if not accessors:
                raise TranslateError(f"empty interpolation in {text!r}")
            return i + 1, accessors
        if c == ".":
            i += 1
        elif c == "[":
            if i + 1 < len(text) and text[i + 1] == '"':
                j, key = i + 2, []
                while True:
                    if j >= len(text):
                        raise TranslateError(f"missing closing quote in property name in {text!r}")
                    if text[j] == '"':
                        j += 1
                        break
                    if text[j] == "\\" and j + 1 < len(text) and text[j + 1] == '"':
                        key.append('"')
                        j += 2
                    else:
                        key.append(text[j])
                        j += 1
                if j >= len(text) or text[j] != "]":
                    raise TranslateError(f"missing closing bracket in property access in {text!r}")
                accessors.append(("key", "".join(key)))
                i = j + 1
            else:
                end = text.find("]", i)
                if end == -1:
                    raise TranslateError(f"missing closing bracket in list index in {text!r}")
                try:
                    index = int(text[i + 1 : end])
                except ValueError:
                    raise TranslateError(f"invalid list index in {text!r}") from None
                if not accessors:
                    raise TranslateError(f"the root property must be a string subscript or a name in {text!r}")
                accessors.append(("index", index))
                i = end + 1
        else:
            j = i
            while j < len(text) and text[j] not in ".[}":
                j += 1
            accessors.append(("name", text[i:j]))
            i = j
    raise TranslateError(f"unterminated interpolation in {text!r}")


def references(node, out):
    """Root names of every `${...}` in node (and in fn::invoke's provider options)."""
    if isinstance(node, str):
        for _, access in parse_interpolation(node):
            if access is not None:
                out.add(access[0][1])
    elif isinstance(node, list):
        for item in node:
            references(item, out)
    elif isinstance(node, dict):
        for value in node.values():
            references(value, out)
    return out


def ts_string(text):
    return json.dumps(text, ensure_ascii=True)


def ts_key(key):
    """An object literal key: bare when it is an identifier (so TypeScript also reports uses of
    deprecated properties), else quoted."""
    if not isinstance(key, str):
        raise TranslateError(f"object key {key!r} is not a string")
    return key if IDENTIFIER.match(key) else ts_string(key)


def template_literal(text):
    """`text` escaped for a TypeScript template literal (raw CR/LF would be normalized)."""
    out = []
    for c in text:
        if c in "\\`$":
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif ord(c) < 0x20 or ord(c) in (0x7F, 0x2028, 0x2029) or 0xD800 <= ord(c) <= 0xDFFF:
            out.append(f"\\u{{{ord(c):x}}}")
        else:
            out.append(c)
    return "".join(out)


def type_path(token, what):
    """`aws:s3:Bucket`, `aws:s3/bucket:Bucket`, `random:RandomPassword` → (package, module, member)."""
    parts = token.split(":")
    if len(parts) == 2:
        package, module, member = parts[0], "index", parts[1]
    elif len(parts) == 3:
        package, module, member = parts
    else:
        raise TranslateError(f"malformed {what} token {token!r}")
    module = module.split("/")[0]
    if package not in PACKAGES:
        raise TranslateError(f"{what} token {token!r}: package {package!r} is not installed (have {sorted(PACKAGES)})")
    namespace = PACKAGES[package] if module == "index" else f"{PACKAGES[package]}.{module}"
    if not IDENTIFIER.match(member) or not all(IDENTIFIER.match(m) for m in namespace.split(".")):
        raise TranslateError(f"malformed {what} token {token!r}")
    return namespace, member


def resource_class(token):
    if token.startswith("pulumi:providers:"):
        package = token.split(":", 2)[2]
        if package not in PACKAGES:
            raise TranslateError(f"provider {token!r}: package {package!r} is not installed")
        return f"{PACKAGES[package]}.Provider"
    namespace, member = type_path(token, "resource")
    return f"{namespace}.{member}"


class Translator:
    def __init__(self, program):
        if not isinstance(program, dict):
            raise TranslateError("the program is not a YAML mapping")
        unknown = set(program) - TOP_LEVEL
        if unknown:
            raise TranslateError(f"unknown top-level keys {sorted(unknown)}")
        if program.get("config"):
            raise TranslateError("`config` is not supported by the translator (the program should need none)")
        self.variables = program.get("variables") or {}
        self.resources = program.get("resources") or {}
        self.outputs = program.get("outputs") or {}
        for section, value in (("variables", self.variables), ("resources", self.resources), ("outputs", self.outputs)):
            if not isinstance(value, dict):
                raise TranslateError(f"`{section}` is not a mapping")
        clash = set(self.variables) & set(self.resources)
        if clash:
            raise TranslateError(f"names used for both a variable and a resource: {sorted(clash)}")
        if "pulumi" in self.variables or "pulumi" in self.resources:
            raise TranslateError("`pulumi` is a reserved name")
        self.idents = {}
        used = set()
        for prefix, names in (("v_", self.variables), ("r_", self.resources)):
            for name in names:
                ident = prefix + re.sub(r"[^A-Za-z0-9_]", "_", str(name))
                while ident in used:
                    ident += "_"
                used.add(ident)
                self.idents[name] = ident
        for name, resource in self.resources.items():
            if not isinstance(resource, dict) or "type" not in resource:
                raise TranslateError(f"resource {name}: no `type`")
            extra = set(resource) - RESOURCE_KEYS
            if extra:
                raise TranslateError(f"resource {name}: unsupported keys {sorted(extra)}")

    # ---- ordering -------------------------------------------------------------------------

    def order(self):
        """Variables and resources in dependency order (stable: program order among equals)."""
        nodes = list(self.variables) + list(self.resources)
        deps = {}
        for name in nodes:
            body = self.variables[name] if name in self.variables else self.resources[name]
            refs = references(body, set())
            for ref in sorted(refs):
                if ref != "pulumi" and ref not in self.variables and ref not in self.resources:
                    raise TranslateError(f"{name} refers to undefined {ref!r}")
            deps[name] = {r for r in refs if r in deps or r in self.variables or r in self.resources} - {"pulumi"}
        done, ordered = set(), []
        remaining = list(nodes)
        while remaining:
            ready = [n for n in remaining if deps[n] <= done]
            if not ready:
                raise TranslateError(f"dependency cycle: {' -> '.join(find_cycle(remaining, deps))}")
            for n in ready:
                done.add(n)
                ordered.append(n)
            remaining = [n for n in remaining if n not in done]
        for name in self.outputs:
            for ref in sorted(references(self.outputs[name], set())):
                if ref != "pulumi" and ref not in self.variables and ref not in self.resources:
                    raise TranslateError(f"output {name} refers to undefined {ref!r}")
        return ordered

    # ---- expressions ----------------------------------------------------------------------

    def access(self, accessors, where):
        kind, root = accessors[0]
        if kind != "name" and kind != "key":
            raise TranslateError(f"{where}: bad root {root!r}")
        rest = accessors[1:]
        if root == "pulumi":
            if len(rest) != 1 or rest[0][0] not in ("name", "key"):
                raise TranslateError(f"{where}: unsupported ${{pulumi...}} access")
            builtins = {
                "stack": "pulumi.getStack()",
                "project": "pulumi.getProject()",
                "organization": "pulumi.getOrganization()",
                "cwd": "process.cwd()",
            }
            if rest[0][1] not in builtins:
                raise TranslateError(f"{where}: unknown ${{pulumi.{rest[0][1]}}}")
            return builtins[rest[0][1]]
        if root in self.resources:
            base = self.idents[root]
            if not rest:
                return base
            if rest[0][0] != "name":
                raise TranslateError(f"{where}: a resource property must be named, not subscripted")
            base = f"{base}.{rest[0][1]}"
            rest = rest[1:]
            if not rest:
                return base
            return f"{base}.apply((v) => v{self.path(rest)})"
        if root in self.variables:
            base = self.idents[root]
            if not rest:
                return base
            return f"pulumi.output({base}).apply((v) => v{self.path(rest)})"
        raise TranslateError(f"{where}: undefined {root!r}")

    @staticmethod
    def path(accessors):
        """Deeper accessors inside an apply; each step is asserted present (`!`), as pulumi-yaml
        fails at run time on a missing one (the mock run reports it)."""
        out = []
        for kind, value in accessors:
            if kind == "index":
                out.append(f"![{value}]")
            elif kind == "name" and IDENTIFIER.match(value):
                out.append(f"!.{value}")
            else:
                out.append(f"![{ts_string(value)}]")
        return "".join(out)

    def string(self, text, where):
        parts = parse_interpolation(text)
        if not any(access for _, access in parts):
            return ts_string("".join(literal for literal, _ in parts))
        if len(parts) == 1 and parts[0][0] == "":
            return self.access(parts[0][1], where)
        body = []
        for literal, access in parts:
            body.append(template_literal(literal))
            if access is not None:
                body.append("${rt.str(" + self.access(access, where) + ")}")
        return "pulumi.interpolate`" + "".join(body) + "`"

    def expr(self, node, where, indent=0):
        pad = "    " * (indent + 1)
        end = "    " * indent
        if node is None:
            return "undefined"
        if isinstance(node, bool):
            return "true" if node else "false"
        if isinstance(node, (int, float)):
            return repr(node)
        if isinstance(node, str):
            return self.string(node, where)
        if isinstance(node, list):
            if not node:
                return "[]"
            items = [self.expr(v, f"{where}[{i}]", indent + 1) for i, v in enumerate(node)]
            return "[\n" + "".join(f"{pad}{item},\n" for item in items) + f"{end}]"
        if isinstance(node, dict):
            if len(node) == 1:
                ((key, arg),) = node.items()
                if isinstance(key, str) and key.startswith("fn::"):
                    return self.function(key, arg, where, indent)
            if not node:
                return "{}"
            items = [f"{ts_key(k)}: {self.expr(v, f'{where}.{k}', indent + 1)}" for k, v in node.items()]
            return "{\n" + "".join(f"{pad}{item},\n" for item in items) + f"{end}}}"
        raise TranslateError(f"{where}: unsupported YAML value {node!r}")

    def pair(self, key, arg, where):
        if not isinstance(arg, list) or len(arg) != 2:
            raise TranslateError(f"{where}: {key} takes a list of two arguments")
        return arg

    def function(self, key, arg, where, indent):
        here = f"{where}.{key}"
        if key == "fn::toJSON":
            return f"rt.toJSON({self.expr(arg, here, indent)})"
        if key == "fn::join":
            sep, items = self.pair(key, arg, here)
            return f"rt.join({self.expr(sep, here, indent)}, {self.expr(items, here, indent)})"
        if key == "fn::split":
            sep, source = self.pair(key, arg, here)
            return f"rt.split({self.expr(sep, here, indent)}, {self.expr(source, here, indent)})"
        if key == "fn::select":
            index, items = self.pair(key, arg, here)
            return f"rt.select({self.expr(index, here, indent)}, {self.expr(items, here, indent)})"
        if key == "fn::secret":
            return f"pulumi.secret({self.expr(arg, here, indent)})"
        if key == "fn::toBase64":
            return f"rt.toBase64({self.expr(arg, here, indent)})"
        if key == "fn::fromBase64":
            return f"rt.fromBase64({self.expr(arg, here, indent)})"
        if key in ("fn::stringAsset", "fn::fileAsset", "fn::remoteAsset", "fn::fileArchive", "fn::remoteArchive"):
            kind = {
                "fn::stringAsset": "StringAsset",
                "fn::fileAsset": "FileAsset",
                "fn::remoteAsset": "RemoteAsset",
                "fn::fileArchive": "FileArchive",
                "fn::remoteArchive": "RemoteArchive",
            }[key]
            return f"new pulumi.asset.{kind}({self.expr(arg, here, indent)})"
        if key == "fn::assetArchive":
            if not isinstance(arg, dict):
                raise TranslateError(f"{here}: takes a mapping of path to asset or archive")
            return f"new pulumi.asset.AssetArchive({self.expr(arg, here, indent)})"
        if key == "fn::invoke":
            return self.invoke(arg, here, indent)
        raise TranslateError(f"{here}: unsupported function {key}")

    def invoke(self, arg, where, indent):
        if not isinstance(arg, dict) or "function" not in arg:
            raise TranslateError(f"{where}: needs `function`")
        extra = set(arg) - {"function", "arguments", "options", "return"}
        if extra:
            raise TranslateError(f"{where}: unsupported keys {sorted(extra)}")
        namespace, member = type_path(arg["function"], "function")
        args = self.expr(arg.get("arguments") or {}, f"{where}.arguments", indent)
        call = f"{namespace}.{member}Output({args}"
        if arg.get("options"):
            call += ", " + self.expr(arg["options"], f"{where}.options", indent)
        call += ")"
        if "return" in arg:
            returned = arg["return"]
            if not isinstance(returned, str) or not IDENTIFIER.match(returned):
                raise TranslateError(f"{where}: bad `return` {returned!r}")
            call += f".{returned}"
        return call

    # ---- program --------------------------------------------------------------------------

    def options(self, name, options):
        if options is None:
            return None
        if not isinstance(options, dict):
            raise TranslateError(f"resource {name}: `options` is not a mapping")
        items = {}
        for key, value in options.items():
            sdk = OPTIONS.get(str(key).lower())
            if sdk is None:
                raise TranslateError(f"resource {name}: unknown option {key!r}")
            if sdk == "dependsOn" and not isinstance(value, list):
                raise TranslateError(f"resource {name}: dependsOn must be a list of resources")
            items[sdk] = self.expr(value, f"{name}.options.{key}", 1)
        return "{ " + ", ".join(f"{k}: {v}" for k, v in items.items()) + " }"

    def typescript(self):
        lines = [
            "// Generated by tests/pulumi/pulumi_translate.py from a Pulumi YAML program. Do not edit.",
            'import * as pulumi from "@pulumi/pulumi";',
            'import * as aws from "@pulumi/aws";',
            'import * as random from "@pulumi/random";',
            'import * as rt from "./shipline_runtime";',
            "",
            "void aws;",
            "void random;",
            "",
        ]
        for name in self.order():
            ident = self.idents[name]
            if name in self.variables:
                lines.append(f"const {ident} = {self.expr(self.variables[name], f'variables.{name}')};")
                continue
            resource = self.resources[name]
            token = resource["type"]
            cls = resource_class(token)
            props = resource.get("properties")
            if props is not None and not isinstance(props, dict):
                raise TranslateError(f"resource {name}: `properties` is not a mapping")
            args = self.expr(props or {}, f"{name}.properties")
            options = self.options(name, resource.get("options"))
            call = f"new {cls}({ts_string(name)}, {args}"
            if options is not None:
                call += f", rt.opts({ts_string(name)}, {options})"
            call += ")"
            lines.append(f"const {ident} = rt.reg({ts_string(name)}, {ts_string(token)}, {call});")
        lines.append("")
        lines.append("export const outputs = {")
        for name, value in self.outputs.items():
            lines.append(f"    {ts_key(name)}: {self.expr(value, f'outputs.{name}', 1)},")
        lines.append("};")
        return "\n".join(lines) + "\n"


def find_cycle(nodes, deps):
    pending = set(nodes)
    start = nodes[0]
    seen, path = {}, []
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = sorted(d for d in deps[node] if d in pending)[0]
    return path[seen[node] :] + [node]


def translate(text):
    """The TypeScript program for the Pulumi YAML program `text`."""
    return Translator(load(text)).typescript()


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as handle:
        text = handle.read()
    try:
        sys.stdout.write(translate(text))
    except TranslateError as error:
        print(f"pulumi_translate: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
