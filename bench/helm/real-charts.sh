#!/usr/bin/env bash
# Real public charts: `tug helm template` against Helm v4's engine (the oracle), byte for byte.
#
#   bench/helm/real-charts.sh prepare MIRRORS SCRATCH   lay out the charts from bare git mirrors
#   bench/helm/real-charts.sh compare SCRATCH           render each chart both ways and compare
#
# MIRRORS holds bare mirrors named owner+repo/repo (as the project's fetch tool leaves them:
# bitnami+charts, prometheus-community+helm-charts, grafana-community+helm-charts, argoproj+argo-helm,
# DandyDeveloper+charts). `prepare` extracts each chart with `git archive` into SCRATCH/<chart>
# and vendors its dependencies, recursively, as directories under charts/ (the same charts
# from the same mirrors; Helm only checks that a dependency is present by name). Nothing here
# is committed: SCRATCH lives outside the repository.
#
# `compare` renders each chart twice per values set (the chart's defaults, and
# bench/helm/real-values/<chart>.yaml) with the oracle and with tug, writes both outputs and a
# diff under SCRATCH/out/, and prints one line per case: identical, or the first differing line.
#
# Env: TUG (default $CARGO_TARGET_DIR/release/tug or target/release/tug),
#      PY (default /work/venv-helm/bin/python, with helm-python-sdk 0.2.2).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# chart name -> "mirror:path" of the chart directory in that mirror.
declare -A source=(
  [wordpress]=bitnami+charts:bitnami/wordpress
  [mariadb]=bitnami+charts:bitnami/mariadb
  [memcached]=bitnami+charts:bitnami/memcached
  [postgresql]=bitnami+charts:bitnami/postgresql
  [common]=bitnami+charts:bitnami/common
  [kube-prometheus-stack]=prometheus-community+helm-charts:charts/kube-prometheus-stack
  [prometheus]=prometheus-community+helm-charts:charts/prometheus
  [alertmanager]=prometheus-community+helm-charts:charts/alertmanager
  [kube-state-metrics]=prometheus-community+helm-charts:charts/kube-state-metrics
  [prometheus-node-exporter]=prometheus-community+helm-charts:charts/prometheus-node-exporter
  [prometheus-pushgateway]=prometheus-community+helm-charts:charts/prometheus-pushgateway
  [prometheus-windows-exporter]=prometheus-community+helm-charts:charts/prometheus-windows-exporter
  [grafana]=grafana-community+helm-charts:charts/grafana
  [argo-cd]=argoproj+argo-helm:charts/argo-cd
  [redis-ha]=DandyDeveloper+charts:charts/redis-ha
)
# The charts compared (each has dependencies, vendored by `prepare`).
# CHARTS="a b" compares only those.
charts=(${CHARTS:-wordpress postgresql kube-prometheus-stack prometheus argo-cd})

# extract NAME DEST: the chart NAME from its mirror into DEST, then its dependencies.
extract() {
  local name=$1 dest=$2 mirror path
  mirror=${source[$name]%%:*}
  path=${source[$name]#*:}
  mkdir -p "$dest"
  git -C "$MIRRORS/$mirror/repo" archive HEAD "$path" | tar -x -C "$dest" --strip-components=$(($(tr -cd / <<<"$path" | wc -c) + 1))
  # Dependencies not already present as directories (kube-prometheus-stack ships `crds`).
  local dep
  for dep in $(python3 - "$dest/Chart.yaml" <<'PY'
import sys, re
text = open(sys.argv[1]).read()
block = re.search(r'^dependencies:\n((?:[ -].*\n?)*)', text, re.M)
if block:
    for m in re.finditer(r'^\s*-?\s*name:\s*(\S+)', block.group(1), re.M):
        print(m.group(1))
PY
  ); do
    [ -d "$dest/charts/$dep" ] && continue
    if [ -z "${source[$dep]:-}" ]; then echo "no source for dependency $dep of $name" >&2; exit 1; fi
    extract "$dep" "$dest/charts/$dep"
  done
}

prepare() {
  MIRRORS=$1
  local scratch=$2 name
  mkdir -p "$scratch"
  for name in "${charts[@]}"; do
    rm -rf "${scratch:?}/$name"
    extract "$name" "$scratch/$name"
    local mirror=${source[$name]%%:*}
    echo "$name $(grep -E '^version:' "$scratch/$name/Chart.yaml" | awk '{print $2}') $mirror@$(git -C "$MIRRORS/$mirror/repo" rev-parse HEAD)"
  done | tee "$scratch/VERSIONS"
}

compare() {
  local scratch=$1 name values label
  local tug=${TUG:-${CARGO_TARGET_DIR:-$root/target}/release/tug}
  local py=${PY:-/work/venv-helm/bin/python}
  mkdir -p "$scratch/out"
  for name in "${charts[@]}"; do
    for values in "" "$here/real-values/$name.yaml"; do
      if [ -z "$values" ]; then label=default; else label=values; [ -f "$values" ] || continue; fi
      local base="$scratch/out/$name.$label"
      # Twice: lines that differ between two oracle runs are random (passwords and their checksums).
      "$py" "$here/oracle_render.py" "$scratch/$name" rel ns ${values:+"$values"} >"$base.helm" 2>"$base.helm.err" || true
      "$py" "$here/oracle_render.py" "$scratch/$name" rel ns ${values:+"$values"} >"$base.helm2" 2>/dev/null || true
      "$tug" helm template rel "$scratch/$name" --namespace ns ${values:+--values "$values"} >"$base.tug" 2>"$base.tug.err" || true
      if [ ! -s "$base.helm" ]; then
        echo "$name/$label: oracle failed: $(head -c 300 "$base.helm.err")"
      elif cmp -s "$base.helm" "$base.tug"; then
        echo "$name/$label: identical ($(grep -c '^# Source:' "$base.helm") documents, $(wc -c <"$base.helm") bytes)"
      else
        diff "$base.helm" "$base.tug" >"$base.diff" || true
        python3 - "$base" "$name/$label" <<'PY'
import sys
base, label = sys.argv[1], sys.argv[2]
helm, helm2, tug = (open(base + ext, encoding="utf-8", errors="replace").read().split("\n") for ext in (".helm", ".helm2", ".tug"))
if len(helm) == len(helm2) == len(tug):
    random = {i for i, (a, b) in enumerate(zip(helm, helm2)) if a != b}
    differ = [i for i, (a, b) in enumerate(zip(helm, tug)) if a != b]
    if differ and all(i in random for i in differ):
        print(f"{label}: identical except {len(differ)} random lines (which differ between two oracle runs too; {sum(l.startswith('# Source:') for l in helm)} documents)")
        sys.exit(0)
lines = [l for l in open(base + ".diff").read().split("\n") if l[:1] in "<>" and l]
err = open(base + ".tug.err").read()[:300]
print(f"{label}: DIFFERENT ({len(lines)} lines differ; first: {lines[0][:200] if lines else ''}) {('tug: ' + err) if err else ''}")
PY
      fi
    done
  done
}

case "${1:-}" in
  prepare) prepare "$2" "$3" ;;
  compare) compare "$2" ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
