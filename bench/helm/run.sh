#!/usr/bin/env bash
# Benchmark: `tug helm template` vs Helm v4's own render call (helm-python-sdk) on a generated
# umbrella chart (20 subcharts, helpers, include + nindent, toYaml of large values, tpl, range
# over maps; see gen_chart.py).
#
#   bench/helm/run.sh [DOCS...]     (default: 2000; e.g. `500 2000 8000` for scaling)
#
# For each size it generates the chart under $WORK, checks that tug prints the oracle's bytes
# (a benchmark of different output would mean nothing), then times both side by side in one
# run (bench.py: medians of RUNS runs, alternating), and reports peak RSS from /usr/bin/time:
# tug's whole process, and a Python process that loads the chart and renders it once (the
# interpreter and the SDK's Go runtime included: there is no other way to run Helm's engine here).
#
# Env: TUG (default $CARGO_TARGET_DIR/release/tug, built if missing), RUNS (default 5), WORK,
#      PY (default /work/venv-helm/bin/python, with helm-python-sdk==0.2.2).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(2000)
runs=${RUNS:-5}
work=${WORK:-$(mktemp -d /tmp/tug-helm-bench.XXXXXX)}
target=${CARGO_TARGET_DIR:-$root/target}
tug=${TUG:-$target/release/tug}
py=${PY:-/work/venv-helm/bin/python}

if [ ! -x "$tug" ]; then
  (cd "$root" && cargo build --release -p tug)
fi
"$py" -c 'import helm_python' || { echo "$py needs helm-python-sdk==0.2.2" >&2; exit 1; }

printf '%-6s %-6s %-10s %-10s %-8s %-12s %-12s %s\n' docs rendered tug_ms helm_ms ratio tug_rss_MB helm_rss_MB helm_load_ms
for n in "${sizes[@]}"; do
  chart="$work/umbrella-$n"
  rm -rf "$chart"
  python3 "$here/gen_chart.py" "$n" "$chart"
  "$py" "$here/oracle_render.py" "$chart" rel ns >"$work/$n.helm"
  "$tug" helm template rel "$chart" --namespace ns >"$work/$n.tug"
  if ! cmp -s "$work/$n.helm" "$work/$n.tug"; then
    echo "size $n: tug's output differs from Helm's (diff $work/$n.helm $work/$n.tug); not timing" >&2
    diff "$work/$n.helm" "$work/$n.tug" | head -20 >&2
    exit 1
  fi
  docs=$(grep -c '^# Source:' "$work/$n.helm")
  result=$("$py" "$here/bench.py" "$tug" "$chart" "$runs")
  tug_rss=$( { /usr/bin/time -f %M "$tug" helm template rel "$chart" --namespace ns >/dev/null; } 2>&1 | tail -1)
  helm_rss=$( { /usr/bin/time -f %M "$py" "$here/oracle_render.py" "$chart" rel ns >/dev/null; } 2>&1 | tail -1)
  python3 - "$n" "$docs" "$result" "$tug_rss" "$helm_rss" <<'PY'
import json, sys
n, docs, r, tug_rss, helm_rss = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"{n:<6} {docs:<6} {r['tug_ms']:<10} {r['helm_ms']:<10} {r['helm_ms'] / r['tug_ms']:<8.1f} "
      f"{tug_rss / 1024:<12.1f} {helm_rss / 1024:<12.1f} {r['helm_load_ms']}")
print("   all runs (ms): tug", r["tug_all"], "helm", r["helm_all"], file=sys.stderr)
PY
done
