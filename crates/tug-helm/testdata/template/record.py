#!/usr/bin/env python3
"""Records what real Helm (v4.2.3, through helm-python-sdk) renders for each template snippet.

Usage: ORACLE_PYTHON=/path/to/venv/bin/python record.py   (rewrites cases.json in place)

cases.json holds a list of {"name", "tpl", "values", "defs"} (values and defs optional). For each,
the snippet is rendered twice, as in Helm's engine:
  - as `DEFS{{- define "snip" -}}TPL{{- end -}}` in templates/_snip.tpl, included from
    templates/cm.yaml through b64enc, which gives Go's raw output bytes ("out"), <no value>
    included;
  - if that fails, as templates/cm.yaml itself (`TPL` then `DEFS`, so lines of TPL stay where
    they are), which gives Helm's error message ("err").
"""
import base64
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHART_YAML = "apiVersion: v2\nname: c\nversion: 0.1.0\n"


def render(chart_dir, values):
    import helm_python as helm
    with helm.Config(namespace="ns") as cfg:
        rel = cfg.install(chart_dir, "rel", values, dry_run="client", namespace="ns")
    return rel["manifest"]


def chart(files):
    d = tempfile.mkdtemp()
    os.makedirs(d + "/templates")
    with open(d + "/Chart.yaml", "w") as f:
        f.write(CHART_YAML)
    for name, text in files.items():
        with open(d + "/templates/" + name, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    return d


def record(case):
    tpl, values, defs = case["tpl"], case.get("values", {}), case.get("defs", "")
    d = chart({
        "_snip.tpl": defs + '{{- define "snip" -}}' + tpl + '{{- end -}}',
        "cm.yaml": 'x: {{ include "snip" . | b64enc }}\n',
    })
    try:
        manifest = render(d, values)
        encoded = manifest.split("x: ", 1)[1].strip()
        return {"out": base64.b64decode(encoded).decode("utf-8")}
    except Exception:
        pass
    d = chart({"cm.yaml": tpl + defs})
    try:
        render(d, values)
        return {"err": "(renders alone but not through include)"}
    except Exception as e:
        return {"err": str(e)}


def main():
    if os.environ.get("ORACLE_CHILD") != "1":
        py = os.environ.get("ORACLE_PYTHON", sys.executable)
        env = dict(os.environ, ORACLE_CHILD="1")
        sys.exit(subprocess.call([py, os.path.abspath(__file__)], env=env))
    path = os.path.join(HERE, "cases.json")
    with open(path, encoding="utf-8") as f:
        cases = json.load(f)
    for case in cases:
        case.pop("out", None)
        case.pop("err", None)
        case.update(record(case))
    with open(path, "w", encoding="utf-8") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
