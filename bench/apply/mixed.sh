#!/usr/bin/env bash
# Mixed-set apply benchmark: 2,000 objects of eight kinds in two namespaces, applied first,
# then applied again with 500 of them removed and prune on, side by side on the same control
# plane:
#   apply: tug apply kustomization NAME --path DIR   vs  kubectl apply --server-side -f DIR
#   prune: tug apply kustomization NAME --path DIR --prune
#          vs  kubectl apply --server-side -f DIR && kubectl delete --wait=false -f REMOVED
# (kubectl 1.32 refuses `--server-side --prune`: "--prune is in alpha and doesn't currently
# work on objects created by server-side apply", so kubectl's prune step is the re-apply of
# what is left plus a delete of the 500 removed files, timed together.)
# Prints the median wall time and peak RSS (GNU time's "Maximum resident set size"; for
# kubectl's two commands, the larger) of each step over N runs (default 3).
#
#   bench/apply/mixed.sh [N]
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
namespaces=()
cleanup() {
  rm -rf "$work"
  for ns in "${namespaces[@]}"; do kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# The set: per namespace 1 Namespace, 300 ConfigMaps, 200 Secrets, 150 ServiceAccounts,
# 100 Services (headless: the local service CIDR is a /24), 100 Deployments, 75 Roles,
# 74 RoleBindings = 1,000; two namespaces = 2,000.
# Every object carries the label bench-set=SET (to count what is left). One file each,
# named so that the Namespace sorts first (kubectl applies files in name order).
gen() { # dir set namespace
  local dir=$1 set=$2 ns=$3 i
  mkdir -p "$dir"
  meta() { printf 'metadata:\n  name: %s\n  namespace: %s\n  labels: {bench-set: %s, app: %s}\n' "$1" "$ns" "$set" "$1"; }
  printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels: {bench-set: %s}\n' "$ns" "$set" >"$dir/000-$ns.yaml"
  for i in $(seq -w 1 300); do
    { printf 'apiVersion: v1\nkind: ConfigMap\n'; meta "cm-$i"; printf 'data:\n  key: value-%s\n  other: "%s"\n' "$i" "$i"; } >"$dir/$ns-cm-$i.yaml"
  done
  for i in $(seq -w 1 200); do
    { printf 'apiVersion: v1\nkind: Secret\n'; meta "secret-$i"; printf 'type: Opaque\ndata:\n  password: %s\n' "$(printf 'pw-%s' "$i" | base64)"; } >"$dir/$ns-secret-$i.yaml"
  done
  for i in $(seq -w 1 150); do
    { printf 'apiVersion: v1\nkind: ServiceAccount\n'; meta "sa-$i"; } >"$dir/$ns-sa-$i.yaml"
  done
  for i in $(seq -w 1 100); do
    { printf 'apiVersion: v1\nkind: Service\n'; meta "svc-$i"; printf 'spec:\n  clusterIP: None\n  selector: {app: deploy-%s}\n  ports:\n  - {name: http, port: 80, targetPort: 8080, protocol: TCP}\n' "$i"; } >"$dir/$ns-svc-$i.yaml"
    { printf 'apiVersion: apps/v1\nkind: Deployment\n'; meta "deploy-$i"
      printf 'spec:\n  replicas: 1\n  selector:\n    matchLabels: {app: deploy-%s}\n  template:\n    metadata:\n      labels: {app: deploy-%s}\n    spec:\n      containers:\n      - name: app\n        image: registry.example/app:%s\n        ports:\n        - {containerPort: 8080, protocol: TCP}\n        resources:\n          requests: {cpu: 10m, memory: 16Mi}\n' "$i" "$i" "$i"
    } >"$dir/$ns-deploy-$i.yaml"
  done
  for i in $(seq -w 1 75); do
    { printf 'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n'; meta "role-$i"; printf 'rules:\n- apiGroups: [""]\n  resources: [configmaps]\n  verbs: [get, list]\n'; } >"$dir/$ns-role-$i.yaml"
  done
  for i in $(seq -w 1 74); do
    { printf 'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n'; meta "rb-$i"
      printf 'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: role-%s}\nsubjects:\n- {kind: ServiceAccount, name: sa-%s, namespace: %s}\n' "$i" "$i" "$ns"
    } >"$dir/$ns-rb-$i.yaml"
  done
}
# Moves 500 of the 1,998 namespaced objects out of DIR into DIR.removed: every fourth file in
# name order, the first 500.
remove_500() {
  mkdir -p "$1.removed"
  find "$1" -name '*.yaml' ! -name '000-*' | sort | awk 'NR % 4 == 1' | head -n 500 | xargs mv -t "$1.removed"
}
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# Runs a command, appending its wall time (s) and peak RSS (MiB) to times[$1], rss[$1].
declare -A times rss
measure() {
  local key=$1; shift
  local t0 t1 out=$work/time.out
  t0=$(now)
  /usr/bin/time -v -o "$out" "$@" >"$work/cmd.log" 2>&1 || { cat "$work/cmd.log" >&2; exit 1; }
  t1=$(now)
  times[$key]+="$(echo "$t1 - $t0" | bc) "
  rss[$key]+="$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$out") "
}

kubectl create namespace bench-mixed >/dev/null 2>&1 || true
for run in $(seq 1 "$runs"); do
  # Alternate which tool goes first, so neither always meets a busier apiserver.
  order="kubectl tug"; [ $((run % 2)) = 0 ] && order="tug kubectl"
  for tool in $order; do
    set="mx-$tool-$run-$$"
    dir="$work/$set"
    namespaces+=("$set-a" "$set-b")
    gen "$dir" "$set" "$set-a"
    gen "$dir" "$set" "$set-b"
    if [ $tool = kubectl ]; then
      measure kubectl-apply kubectl apply --server-side -f "$dir"
      remove_500 "$dir"
      measure kubectl-prune sh -c 'kubectl apply --server-side -f "$1" && kubectl delete --wait=false -f "$1.removed"' sh "$dir"
    else
      kubectl apply -f - >/dev/null <<EOT
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: $set, namespace: bench-mixed}
spec: {interval: 10m, prune: true, suspend: true, sourceRef: {kind: GitRepository, name: none}}
EOT
      measure tug-apply "$tug" apply kustomization "$set" -n bench-mixed --path "$dir"
      remove_500 "$dir"
      measure tug-prune "$tug" apply kustomization "$set" -n bench-mixed --path "$dir" --prune
      kubectl delete kustomization -n bench-mixed "$set" >/dev/null
    fi
    # Both tools must have left the same thing: 1,498 namespaced objects of the set.
    left=$(kubectl get configmaps,secrets,serviceaccounts,services,deployments,roles,rolebindings \
      -n "$set-a" -l "bench-set=$set" -o name | wc -l)
    left=$((left + $(kubectl get configmaps,secrets,serviceaccounts,services,deployments,roles,rolebindings \
      -n "$set-b" -l "bench-set=$set" -o name | wc -l)))
    [ "$left" = 1498 ] || { echo "$tool left $left objects of the set, expected 1498" >&2; exit 1; }
  done
done
for key in kubectl-apply tug-apply kubectl-prune tug-prune; do
  t=$(tr ' ' '\n' <<<"${times[$key]}" | grep . | median)
  r=$(tr ' ' '\n' <<<"${rss[$key]}" | grep . | median)
  printf '%-14s median %.3f s  peak RSS %.1f MiB  (times: %s; RSS MiB: %s)\n' "$key" "$t" "$r" "${times[$key]}" "${rss[$key]}"
done
