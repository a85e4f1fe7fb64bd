"""Compare a CloudFormation template with the mock-run dump of the Pulumi program shipline emits
for the same config (see test_pulumi.py for the mapping table).

CloudFormation intrinsics are resolved with the values the mock gave the *corresponding* Pulumi
resources (the mock follows AWS's formats: names, ARNs, URLs), and pseudo parameters with account
123456789012, us-east-1, partition aws. So a reference to the wrong resource or attribute in
either engine shows as a difference in the resolved value.
"""

import json

ACCOUNT, REGION, PARTITION = "123456789012", "us-east-1", "aws"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": PARTITION,
    "AWS::URLSuffix": "amazonaws.com",
}


class Unresolvable(Exception):
    pass


class Model:
    """The dump of one mock run, indexed."""

    def __init__(self, dump):
        self.resources = {r["name"]: r for r in dump["resources"]}
        self.outputs = dump["outputs"]
        providers = {r["name"]: r for r in dump["resources"] if r["token"].startswith("pulumi:providers:")}
        self.provider_tags = {}
        for name, provider in providers.items():
            tags = parse_json(provider["inputs"].get("defaultTags")) or {}
            self.provider_tags[name] = (tags or {}).get("tags") or {}

    def by_token(self, token):
        return [r for r in self.resources.values() if r["token"] == token]

    def effective_tags(self, resource):
        provider = resource.get("provider") or resource["options"].get("provider")
        tags = dict(self.provider_tags.get(provider, {}))
        tags.update(resource["inputs"].get("tags") or {})
        return tags, provider


def parse_json(value):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class Resolver:
    """Resolves CloudFormation intrinsics; `attribute(logical_id, attr)` gives the value of
    `Ref` (attr None) or `Fn::GetAtt` from the Pulumi side."""

    def __init__(self, template, attribute):
        self.template = template
        self.attribute = attribute

    def ref(self, name):
        if name in PSEUDO:
            return PSEUDO[name]
        if name == "AWS::NoValue":
            return None
        if name not in self.template["Resources"]:
            raise Unresolvable(f"Ref to unknown {name}")
        return self.attribute(name, None)

    def __call__(self, value):
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.attribute(logical_id, attr)
            if key == "Fn::Sub":
                return self.sub(arg)
            if key == "Fn::Join":
                separator, parts = arg
                return separator.join(str(p) for p in self(parts))
            if key == "Fn::Select":
                index, items = arg
                return self(items)[int(self(index))]
            if key == "Fn::Split":
                separator, text = arg
                return self(text).split(separator)
            if key == "Fn::FindInMap":
                table, row, column = (self(a) for a in arg)
                return self.template["Mappings"][table][row][column]
            if key.startswith("Fn::") or key == "Condition":
                raise Unresolvable(f"unsupported intrinsic {key}")
        return {k: self(v) for k, v in value.items()}

    def sub(self, arg):
        text, variables = (arg[0], {k: self(v) for k, v in arg[1].items()}) if isinstance(arg, list) else (arg, {})
        out, i = [], 0
        while i < len(text):
            if text.startswith("${!", i):
                out.append("${")
                i += 3
            elif text.startswith("${", i):
                end = text.index("}", i)
                token = text[i + 2 : end]
                if token in variables:
                    out.append(str(variables[token]))
                elif "." in token:
                    logical_id, attr = token.split(".", 1)
                    out.append(str(self.attribute(logical_id, attr)))
                else:
                    out.append(str(self.ref(token)))
                i = end + 1
            else:
                out.append(text[i])
                i += 1
        return "".join(out)


class Tracked(dict):
    """A dict that remembers which of its keys were read (top level)."""

    def __init__(self, value=(), read=()):
        super().__init__(value)
        self.read = set(read)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)


def as_list(value):
    if value is None:
        return []
    return sorted(value, key=json.dumps) if isinstance(value, list) else [value]


def normalize_policy(document):
    """A policy document with every statement's scalar-or-list fields as sorted lists, so
    equivalent spellings compare equal."""
    document = parse_json(document)
    if not isinstance(document, dict):
        return document
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    out = []
    for statement in statements:
        s = dict(statement)
        for key in ("Action", "NotAction", "Resource", "NotResource"):
            if key in s:
                s[key] = as_list(s[key])
        for key in ("Principal", "NotPrincipal"):
            if isinstance(s.get(key), dict):
                s[key] = {k: as_list(v) for k, v in s[key].items()}
        if isinstance(s.get("Condition"), dict):
            s["Condition"] = {op: {k: as_list(v) for k, v in c.items()} for op, c in s["Condition"].items()}
        out.append(s)
    return {"Version": document.get("Version"), "Statement": out}


def diff_policy(label, expected, got):
    """Differences between two policy documents, statement by statement (by Sid or position)."""
    expected, got = normalize_policy(expected), normalize_policy(got)
    if expected == got:
        return []
    if not isinstance(got, dict) or not isinstance(expected, dict):
        return [f"{label}: expected {json.dumps(expected)}, got {json.dumps(got)}"]
    diffs = []
    if expected["Version"] != got["Version"]:
        diffs.append(f"{label}: Version expected {expected['Version']!r}, got {got['Version']!r}")
    e_statements, g_statements = expected["Statement"], got["Statement"]
    for index in range(max(len(e_statements), len(g_statements))):
        e = e_statements[index] if index < len(e_statements) else None
        g = g_statements[index] if index < len(g_statements) else None
        sid = (e or g).get("Sid", f"#{index}")
        if e is None or g is None:
            diffs.append(f"{label} statement {sid}: expected {json.dumps(e)}, got {json.dumps(g)}")
            continue
        for key in sorted(set(e) | set(g)):
            if e.get(key) != g.get(key):
                diffs.append(
                    f"{label} statement {sid}: {key} expected {json.dumps(e.get(key))}, got {json.dumps(g.get(key))}"
                )
    return diffs


def compare(label, expected, got):
    """[] when equal, else one line naming what differs (deepest differing paths)."""
    if expected == got:
        return []
    if isinstance(expected, dict) and isinstance(got, dict):
        out = []
        for key in sorted(set(expected) | set(got), key=str):
            if key not in got:
                out.append(f"{label}.{key}: expected {json.dumps(expected[key])}, missing in Pulumi")
            elif key not in expected:
                out.append(f"{label}.{key}: not in CloudFormation, Pulumi has {json.dumps(got[key])}")
            else:
                out.extend(compare(f"{label}.{key}", expected[key], got[key]))
        return out
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        out = []
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            out.extend(compare(f"{label}[{i}]", e, g))
        return out
    e, g = json.dumps(expected), json.dumps(got)
    if len(e) > 300 or len(g) > 300:
        if isinstance(expected, str) and isinstance(got, str):
            e, g = expected, got
        prefix = 0
        while prefix < min(len(e), len(g)) and e[prefix] == g[prefix]:
            prefix += 1
        start = max(0, prefix - 60)
        window = slice(start, prefix + 80)
        return [f"{label}: differs from character {prefix}: expected …{e[window]!r}…, got …{g[window]!r}…"]
    return [f"{label}: expected {e}, got {g}"]


def dig(value, *path, default=None):
    for key in path:
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value):
            value = value[key]
        else:
            return default
    return value


def prune(value):
    """Drops None values and empty containers (absent in one engine ≙ unset in the other)."""
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value
