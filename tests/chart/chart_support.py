"""Helpers for the chart tests: render charts/skidder and validate values against its schema.

Rendering uses `helm template` when helm is on PATH, else the stand-in built by
<repo>/../shared/tools/helm-template/build.sh (which prints the binary's path). Python 3 stdlib
plus PyYAML (Debian's python3-yaml) only.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "skidder"
RELEASE = "skidder"
NAMESPACE = "logging"


class RenderError(Exception):
    """The renderer refused the chart or the values; the message is its stderr."""


class Renderer:
    """Runs helm (or the stand-in) once per call; the stand-in is built on first use."""

    def __init__(self):
        self.helm = shutil.which("helm")
        self.standin = None
        if not self.helm:
            self.standin = self._build_standin()

    @property
    def name(self):
        return "helm" if self.helm else "helm-template stand-in"

    @property
    def validates_schema(self):
        return bool(self.helm)

    @staticmethod
    def _build_standin():
        build = REPO.parent / "shared" / "tools" / "helm-template" / "build.sh"
        if not build.exists():
            raise unittest.SkipTest(f"neither helm on PATH nor {build}")
        proc = subprocess.run(["sh", str(build)], capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise unittest.SkipTest(f"cannot build the helm-template stand-in: {proc.stderr}")
        return proc.stdout.strip().splitlines()[-1]

    def render_text(self, values=None, sets=(), chart=CHART):
        with tempfile.TemporaryDirectory() as tmp:
            args = []
            if values is not None:
                vf = Path(tmp) / "values.yaml"
                vf.write_text(yaml.safe_dump(values))
                args += ["-f", str(vf)]
            for s in sets:
                args += ["--set", s]
            if self.helm:
                cmd = [self.helm, "template", RELEASE, str(chart), "--namespace", NAMESPACE] + args
            else:
                cmd = [self.standin, "-name", RELEASE, "-namespace", NAMESPACE] + args + [str(chart)]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RenderError(proc.stderr.strip() or proc.stdout.strip())
        return proc.stdout

    def render(self, values=None, sets=(), chart=CHART):
        """The rendered objects, as a list of dicts."""
        text = self.render_text(values, sets, chart)
        return [d for d in yaml.safe_load_all(text) if d]


def find(docs, kind, name=None):
    return [d for d in docs if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs, kind):
    found = find(docs, kind)
    if len(found) != 1:
        raise AssertionError(f"expected one {kind}, found {len(found)}")
    return found[0]


def render_notes(renderer, values=None, sets=()):
    """NOTES.txt as rendered (the stand-in does not print it: it goes into a throwaway
    ConfigMap of a copy of the chart)."""
    with tempfile.TemporaryDirectory() as tmp:
        chart = Path(tmp) / "skidder"
        shutil.copytree(CHART, chart)
        (chart / "templates" / "zz-notes.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: |\n"
            '    {{- include "skidder/templates/NOTES.txt" . | nindent 4 }}\n')
        docs = renderer.render(values, sets=sets, chart=chart)
    return find(docs, "ConfigMap", "notes")[0]["data"]["notes"]


def agent_controller(docs):
    """The DaemonSet, or the Deployment of controller.type=deployment."""
    found = find(docs, "DaemonSet") + find(docs, "Deployment")
    if len(found) != 1:
        raise AssertionError(f"expected one DaemonSet or Deployment, found {len(found)}")
    return found[0]


def agent_container(docs):
    pod = agent_controller(docs)["spec"]["template"]["spec"]
    return pod, next(c for c in pod["containers"] if c["name"] == "skidder")


def rendered_config(docs, key="skidder.yaml"):
    """The config text (skidder.yaml, or config.alloy) from the ConfigMap or Secret."""
    for d in docs:
        if d["kind"] == "ConfigMap" and key in d.get("data", {}):
            return d["data"][key]
        if d["kind"] == "Secret" and key in d.get("stringData", {}):
            return d["stringData"][key]
    raise AssertionError(f"no ConfigMap or Secret with {key}")


def merged_values(overrides=None):
    """values.yaml with overrides applied the way Helm coalesces (maps merge, the rest replaces)."""

    def merge(dst, src):
        for k, v in src.items():
            if isinstance(v, dict) and isinstance(dst.get(k), dict):
                merge(dst[k], v)
            elif v is None:
                dst.pop(k, None)
            else:
                dst[k] = v
        return dst

    base = yaml.safe_load((CHART / "values.yaml").read_text())
    return merge(base, overrides or {})


# --- A small JSON Schema (draft-07) validator for the keywords values.schema.json uses --------

SUPPORTED_KEYWORDS = {
    "$schema", "title", "description", "type", "properties", "additionalProperties", "required",
    "items", "enum", "minimum", "maximum", "minLength", "minItems", "pattern",
}

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


def schema_keywords(schema):
    """Every keyword used anywhere in the schema (to make sure this validator knows them all)."""
    found = set()
    if isinstance(schema, dict):
        for k, v in schema.items():
            found.add(k)
            if k == "properties":
                for sub in v.values():
                    found |= schema_keywords(sub)
            elif k in ("items", "additionalProperties") and isinstance(v, dict):
                found |= schema_keywords(v)
    return found


def validate(value, schema, path="values"):
    """Returns a list of error strings; empty when value matches schema."""
    errors = []
    types = schema.get("type")
    if types is not None:
        types = types if isinstance(types, list) else [types]
        if not any(_TYPES[t](value) for t in types):
            return [f"{path}: expected {' or '.join(types)}, got {type(value).__name__} {value!r}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: shorter than {schema['minLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: {value} > {schema['maximum']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{path}: fewer than {schema['minItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                errors += validate(item, schema["items"], f"{path}[{i}]")
    if isinstance(value, dict):
        for req in schema.get("required", []):
            if req not in value:
                errors.append(f"{path}: {req} is required")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                errors += validate(v, props[k], f"{path}.{k}")
            elif extra is False:
                errors.append(f"{path}: unknown key {k}")
            elif isinstance(extra, dict):
                errors += validate(v, extra, f"{path}.{k}")
    return errors


def load_schema():
    return json.loads((CHART / "values.schema.json").read_text())


def skidder_check_syntax(config_text):
    """Runs $SKIDDER_BINARY -check-syntax on config_text. None when SKIDDER_BINARY is unset."""
    binary = os.environ.get("SKIDDER_BINARY")
    if not binary:
        return None
    if not os.access(binary, os.X_OK):
        raise AssertionError(f"SKIDDER_BINARY={binary} is not an executable (build the skidder target)")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(config_text)
        name = f.name
    try:
        return subprocess.run([binary, "-check-syntax", f"-config.file={name}",
                               "-config.expand-env=true"],
                              capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(name)


def skidder_check_rendered(docs):
    """Runs $SKIDDER_BINARY -check-syntax with the DaemonSet's own arguments on the rendered
    config (written under the name -config.file gives). None when SKIDDER_BINARY is unset."""
    binary = os.environ.get("SKIDDER_BINARY")
    if not binary:
        return None
    _, c = agent_container(docs)
    with tempfile.TemporaryDirectory() as tmp:
        args = []
        for a in c["args"]:
            if a.startswith("-config.file=/etc/skidder/"):
                name = a.rsplit("/", 1)[1]
                (Path(tmp) / name).write_text(rendered_config(docs, name))
                a = f"-config.file={tmp}/{name}"
            args.append(a)
        return subprocess.run([binary, "-check-syntax"] + args, capture_output=True, text=True,
                              timeout=60)
