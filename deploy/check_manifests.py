#!/usr/bin/python3
"""Checks Weft's Kubernetes manifests without a cluster.

  check_manifests.py [--bin-dir DIR] DIR_OR_FILE...

Every document of every YAML file is checked against the Kubernetes API's own models (Debian's
python3-kubernetes: the API's OpenAPI types, as its Python client carries them): each field
must exist in its object's type (a misspelt `readinesProbe` is an error, where kubectl would
drop it), each value must have the field's type, and required fields must be there. Then what
a schema cannot see:
  - a workload's selector matches its pod template's labels; each Service selects some pod;
  - each Secret, ConfigMap and PersistentVolumeClaim a pod names is made by these files
    (a Kustomization's secretGenerator counts);
  - each $(VAR) in a container's args is one of its env variables;
  - with --bin-dir, each flag given to weft-raylet or weft in args or probes is one that
    program's --help (or its subcommand's) lists.
Exits 0 when all hold, 1 with one line per problem, 77 when python3-kubernetes or python3-yaml
is missing (scripts/install-deps.sh installs them).
"""

import argparse
import os
import re
import shlex
import subprocess
import sys

try:
    import yaml
    from kubernetes import client as k8s
except ImportError as error:
    print(f"SKIP: {error.name} is missing: apt-get install python3-kubernetes python3-yaml "
          "(scripts/install-deps.sh)")
    sys.exit(77)

PRIMITIVES = {"str": str, "int": int, "float": (int, float), "bool": bool}
problems = []


def problem(where, message):
    problems.append(f"{where}: {message}")


def check_value(value, type_name, where):
    """Checks `value` against the client's type name: str, list[V1Container], V1Probe, ..."""
    if value is None:
        return
    if type_name in ("object", "datetime", "date"):  # int-or-string, quantities, timestamps
        return
    if type_name in PRIMITIVES:
        ok = isinstance(value, PRIMITIVES[type_name]) and not (
            type_name != "bool" and isinstance(value, bool))
        if not ok:
            problem(where, f"{value!r} is not a {type_name}")
        return
    if type_name.startswith("list["):
        if not isinstance(value, list):
            problem(where, "must be a list")
            return
        for i, item in enumerate(value):
            check_value(item, type_name[5:-1], f"{where}[{i}]")
        return
    if type_name.startswith("dict("):
        if not isinstance(value, dict):
            problem(where, "must be a map")
            return
        inner = type_name[5:-1].split(", ", 1)[1]
        for key, item in value.items():
            check_value(item, inner, f"{where}.{key}")
        return
    check_model(value, type_name, where)


def check_model(value, model_name, where):
    model = getattr(k8s, model_name, None)
    if model is None:
        problem(where, f"unknown type {model_name}")
        return
    if not isinstance(value, dict):
        problem(where, f"must be a map ({model_name})")
        return
    by_key = {key: attr for attr, key in model.attribute_map.items()}
    for key, item in value.items():
        if key not in by_key:
            problem(where, f"unknown field {key!r} in {model_name}")
            continue
        check_value(item, model.openapi_types[by_key[key]], f"{where}.{key}")
    # The model's constructor refuses a missing required field and values outside an enum.
    try:
        model(**{by_key[k]: v for k, v in value.items() if k in by_key})
    except (ValueError, TypeError) as error:
        problem(where, str(error).splitlines()[0])


def model_for(doc):
    api_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
    version = api_version.split("/")[-1]
    return f"{version[0].upper()}{version[1:]}{kind}" if version else ""


def pod_spec(doc):
    spec = doc.get("spec") or {}
    if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
        return (spec.get("template") or {}).get("spec") or {}
    if doc["kind"] == "Pod":
        return spec
    return None


def flags_of(program, bin_dir, subcommand, cache={}):
    """The --flags that `program [subcommand] --help` lists."""
    key = (program, tuple(subcommand))
    if key not in cache:
        command = [os.path.join(bin_dir, program), *subcommand, "--help"]
        out = subprocess.run(command, capture_output=True, text=True).stdout
        cache[key] = set(re.findall(r"(--[a-z][a-z0-9-]*)", out))
    return cache[key]


def check_weft_command(words, bin_dir, where):
    if not words or os.path.basename(words[0]) not in ("weft-raylet", "weft"):
        return
    program = os.path.basename(words[0])
    subcommand = []
    if program == "weft":
        for word in words[1:]:
            if word.startswith("-"):
                break
            subcommand.append(word)
    known = flags_of(program, bin_dir, subcommand)
    name = " ".join([program, *subcommand])
    if not known:
        problem(where, f"`{name} --help` lists no flags")
        return
    for word in words:
        flag = word.split("=", 1)[0]
        if flag.startswith("--") and flag not in known:
            problem(where, f"{name} has no flag {flag}")


def shell_commands(script):
    """The simple commands of a shell snippet, split into words (pipes and && separate them)."""
    for part in re.split(r"\|\||&&|[|;{}]", script):
        try:
            yield shlex.split(part)
        except ValueError:
            continue


def check_pod(doc, where, made, bin_dir):
    spec = pod_spec(doc)
    if spec is None:
        return
    for volume in spec.get("volumes") or []:
        for source, field, kind in (("secret", "secretName", "Secret"),
                                    ("configMap", "name", "ConfigMap"),
                                    ("persistentVolumeClaim", "claimName",
                                     "PersistentVolumeClaim")):
            name = (volume.get(source) or {}).get(field)
            optional = (volume.get(source) or {}).get("optional")
            if name and not optional and (kind, name) not in made:
                problem(where, f"volume {volume['name']} needs {kind} {name}, which no file makes")
    containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
    for c in containers:
        here = f"{where} container {c.get('name')}"
        env = {e.get("name") for e in c.get("env") or []}
        for e in c.get("env") or []:
            ref = ((e.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name")
            if ref and ("Secret", ref) not in made:
                problem(here, f"env {e['name']} needs Secret {ref}, which no file makes")
        words = (c.get("command") or []) + (c.get("args") or [])
        for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", " ".join(words)):
            if var not in env:
                problem(here, f"$({var}) is not one of its env variables")
        if not bin_dir:
            continue
        commands = [words]
        if words[:2] == ["sh", "-c"] and len(words) > 2:
            commands = list(shell_commands(words[2]))
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            command = ((c.get(probe) or {}).get("exec") or {}).get("command") or []
            if command[:2] == ["sh", "-c"] and len(command) > 2:
                commands += list(shell_commands(command[2]))
            else:
                commands.append(command)
        for command in commands:
            check_weft_command(command, bin_dir, here)


def labels_match(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--bin-dir", help="folder of weft-raylet and weft, to check flags")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    files = []
    for path in args.paths:
        if os.path.isdir(path):
            files += sorted(os.path.join(path, f) for f in os.listdir(path)
                            if f.endswith((".yaml", ".yml")))
        else:
            files.append(path)
    docs = []
    for file in files:
        try:
            with open(file) as f:
                for i, doc in enumerate(yaml.safe_load_all(f)):
                    if doc is not None:
                        docs.append((f"{os.path.basename(file)}#{i}", doc, file))
        except yaml.YAMLError as error:
            problem(file, f"not YAML: {error}")
    made = set()
    for where, doc, file in docs:
        if doc.get("kind") == "Kustomization":
            for generator in doc.get("secretGenerator") or []:
                made.add(("Secret", generator.get("name")))
            for resource in doc.get("resources") or []:
                if not os.path.exists(os.path.join(os.path.dirname(file), resource)):
                    problem(where, f"resource {resource} does not exist")
        else:
            made.add((doc.get("kind"), (doc.get("metadata") or {}).get("name")))
    pod_labels = []
    for where, doc, _ in docs:
        if doc.get("kind") == "Kustomization":
            continue
        model = model_for(doc)
        if not model or not hasattr(k8s, model):
            problem(where, f"unknown apiVersion/kind {doc.get('apiVersion')}/{doc.get('kind')}")
            continue
        check_model(doc, model, where)
        spec = doc.get("spec") or {}
        if isinstance(spec.get("template"), dict):
            labels = (spec["template"].get("metadata") or {}).get("labels") or {}
            pod_labels.append(labels)
            selector = (spec.get("selector") or {}).get("matchLabels")
            if selector is not None and not labels_match(selector, labels):
                problem(where, "spec.selector does not match the pod template's labels")
        check_pod(doc, where, made, args.bin_dir)
    for where, doc, _ in docs:
        if doc.get("kind") == "Service":
            selector = (doc.get("spec") or {}).get("selector")
            if selector and not any(labels_match(selector, l) for l in pod_labels):
                problem(where, f"Service {doc['metadata']['name']} selects no pod of these files")
    for line in problems:
        print(line)
    print(f"{len(docs)} documents in {len(files)} files: "
          f"{'ok' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
