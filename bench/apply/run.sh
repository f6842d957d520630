#!/usr/bin/env bash
# Apply benchmark: tug apply kustomization vs kubectl apply --server-side, side by side on
# the same control plane, 1,000 ConfigMaps: first apply and no-op re-apply. Prints medians
# of N runs (default 3); each first apply goes into a fresh namespace. tug-validate and
# tug-write split tug's first apply into its two passes (dry-run of every object, then the
# writes), from tug_apply's debug log.
#
#   bench/apply/run.sh [N]
# Uses $KUBECONFIG, or starts the local control plane. Needs a release build of tug.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runs=${1:-3}
cd "$repo"
if [ -z "${KUBECONFIG:-}" ]; then
  scripts/local-cluster up >/dev/null
  KUBECONFIG=$(scripts/local-cluster kubeconfig); export KUBECONFIG
fi
# $TUG names another tug binary to measure; by default the release build of this checkout.
if [ -z "${TUG:-}" ]; then
  cargo build --release --quiet -p tug
  TUG="${CARGO_TARGET_DIR:-$repo/target}/release/tug"
fi
tug=$TUG
"$tug" install >/dev/null 2>&1
work=$(mktemp -d)
# Namespaces are deleted at the end, not between runs: the namespace controller deleting a
# thousand objects in the background would compete with the next measurement.
namespaces=()
cleanup() {
  rm -rf "$work"
  for ns in "${namespaces[@]}"; do kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

gen() { # dir namespace
  mkdir -p "$1"
  for i in $(seq -w 1 1000); do
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%s\n  namespace: %s\ndata:\n  key: value-%s\n' "$i" "$2" "$i" >"$1/cm-$i.yaml"
  done
}
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A times
for run in $(seq 1 "$runs"); do
  for tool in kubectl tug; do
    ns="bench-$tool-$run-$$"
    kubectl create namespace "$ns" >/dev/null
    namespaces+=("$ns")
    gen "$work/$ns" "$ns"
    if [ $tool = kubectl ]; then
      t0=$(now); kubectl apply --server-side -f "$work/$ns" >/dev/null; t1=$(now)
      kubectl apply --server-side -f "$work/$ns" >/dev/null; t2=$(now)
    else
      kubectl apply -f - >/dev/null <<EOT
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: bench, namespace: $ns}
spec: {interval: 10m, prune: true, suspend: true, sourceRef: {kind: GitRepository, name: none}}
EOT
      t0=$(now)
      RUST_LOG=tug_apply=debug "$tug" apply kustomization bench -n "$ns" --path "$work/$ns" >/dev/null 2>"$work/tug.log"
      t1=$(now)
      # Where the first apply's time went: tug_apply logs the elapsed time of each pass.
      phase() { sed 's/\x1b\[[0-9;]*m//g' "$work/tug.log" | grep " $1 " | grep -o 'elapsed=[0-9.]*[mµ]*s' | head -1 |
        awk -F= '{v=$2; if (v ~ /ms$/) print v/1000; else if (v ~ /µs$/) print v/1e6; else print v+0}'; }
      fetched=$(phase "live objects fetched"); planned=$(phase planned); written=$(phase written)
      times[tug-validate]+="$(echo "$planned - $fetched" | bc) "
      times[tug-write]+="$(echo "$written - $planned" | bc) "
      "$tug" apply kustomization bench -n "$ns" --path "$work/$ns" >/dev/null 2>&1; t2=$(now)
    fi
    times[$tool-first]+="$(echo "$t1 - $t0" | bc) "
    times[$tool-noop]+="$(echo "$t2 - $t1" | bc) "
  done
done
for key in kubectl-first tug-first tug-validate tug-write kubectl-noop tug-noop; do
  m=$(tr ' ' '\n' <<<"${times[$key]}" | grep . | median)
  printf '%-14s median %.3f s  (runs: %s)\n' "$key" "$m" "${times[$key]}"
done
