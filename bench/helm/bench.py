#!/usr/bin/env python3
"""Time `tug helm template` against Helm v4's render call on one chart, side by side.

    bench.py TUG CHART_DIR RUNS

Run with the oracle's interpreter (helm-python-sdk 0.2.2). Prints one JSON line:
- tug_ms: median wall time of the whole `TUG helm template rel CHART --namespace ns` process;
- helm_ms: median wall time of Config.install(chart, ..., dry_run='client') on a Chart loaded
  once beforehand with Chart.load (so chart loading is outside the timing, as the issue asks;
  what is timed is Helm's install action in client dry-run mode: values coalescing, schema
  checks, rendering, sorting, building the release manifest, plus the SDK's JSON round trip of
  the release through its C ABI);
- helm_load_ms: Chart.load of the directory, once;
- runs alternate tug and Helm, so both see the same machine load.
"""
import json
import statistics
import subprocess
import sys
import time

import helm_python as helm


def main():
    tug, chart_dir, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cmd = [tug, "helm", "template", "rel", chart_dir, "--namespace", "ns"]
    t0 = time.perf_counter()
    chart = helm.Chart.load(chart_dir)
    load_ms = (time.perf_counter() - t0) * 1000
    tug_ms, helm_ms = [], []
    with helm.Config(namespace="ns") as cfg:
        # One warm-up of each: page cache for tug, first-call setup in the Go runtime.
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        cfg.install(chart, "rel", {}, dry_run="client", namespace="ns")
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            tug_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            cfg.install(chart, "rel", {}, dry_run="client", namespace="ns")
            helm_ms.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({
        "tug_ms": round(statistics.median(tug_ms), 1),
        "helm_ms": round(statistics.median(helm_ms), 1),
        "helm_load_ms": round(load_ms, 1),
        "tug_all": [round(x, 1) for x in tug_ms],
        "helm_all": [round(x, 1) for x in helm_ms],
    }))


if __name__ == "__main__":
    main()
