#!/usr/bin/env python3
"""Derives value-dump cases from charts: the chart's templates are replaced, in the root chart
and in every subchart directory (not inside .tgz archives), by one template that prints
`.Values`, `.Chart` and `.Files` as JSON. Recording such a case with the oracle
(/work/shared/conformance/helm/oracle.py) gives Helm's computed values, chart objects and files
for every rendered chart, which tests/chart_cases.rs compares with tug-helm's.

Usage: make_dump_cases.py SRC_CASE_DIR... (each becomes tests/cases/chart-<name>)
"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DUMP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: dump
data:
  values: {{ toJson .Values | quote }}
  chart: {{ toJson .Chart | quote }}
  files: {{ toJson .Files | quote }}
"""


def add_dumps(chart_dir):
    tdir = os.path.join(chart_dir, "templates")
    if os.path.isdir(tdir):
        shutil.rmtree(tdir)
    os.makedirs(tdir)
    with open(os.path.join(tdir, "zz-dump.yaml"), "w") as f:
        f.write(DUMP)
    charts = os.path.join(chart_dir, "charts")
    if os.path.isdir(charts):
        for name in sorted(os.listdir(charts)):
            sub = os.path.join(charts, name)
            if os.path.isdir(sub) and os.path.exists(os.path.join(sub, "Chart.yaml")):
                add_dumps(sub)


def main(argv):
    for src in argv:
        name = os.path.basename(os.path.abspath(src))
        dst = os.path.join(HERE, "cases", "chart-" + name)
        if os.path.exists(dst):
            shutil.rmtree(dst)
        os.makedirs(dst)
        shutil.copytree(os.path.join(src, "chart"), os.path.join(dst, "chart"), symlinks=True)
        for f in ("args", "values.yaml", "expected.error"):
            if os.path.exists(os.path.join(src, f)):
                shutil.copy(os.path.join(src, f), os.path.join(dst, f))
        add_dumps(os.path.join(dst, "chart"))


if __name__ == "__main__":
    main(sys.argv[1:])
