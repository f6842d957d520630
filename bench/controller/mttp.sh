#!/usr/bin/env bash
# Mean time to production (after Flux's MTTP benchmark): N Kustomizations, each applying a
# Deployment scaled to zero, a ServiceAccount, a Service and an Ingress, all from one
# GitRepository served by git daemon. Measures, for one `tug controller` process:
#   - the time from creating the N Kustomizations to all N Ready=True (health checked:
#     `wait: true`);
#   - the process's RSS over that time (sampled every second), peak and at the end;
#   - a no-op resync: the controller restarted, all N reconciled again, and the number of
#     write requests it made to the apiserver meanwhile (from the audit log: requests
#     without a user agent, as kube-rs sends them, or tug's; Lease renewals and Events
#     excluded), which should be zero;
#   - the CPU seconds each process (etcd, apiserver, controller-manager, tug) used from
#     the creation to all Ready, to show where the time goes;
#   - the deletion of the namespace, the Kustomizations' objects pruned by the controller.
#
#   bench/controller/mttp.sh [N ...]      (default: 100 1000)
# CONCURRENT (default 20) sets --concurrent; WAIT=false sets `wait: false` (Ready without
# waiting for kube-controller-manager to report the Deployments); KEEP_LOGS=DIR keeps the
# controller logs.
# Uses the local control plane (started if needed); builds tug in release.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
sizes=("${@:-100 1000}")
# shellcheck disable=SC2206
sizes=(${sizes[@]})
concurrent=${CONCURRENT:-20}
wait_health=${WAIT:-true}

scripts/local-cluster up >/dev/null
KUBECONFIG=$(scripts/local-cluster kubeconfig); export KUBECONFIG
cluster_dir=${TUG_CLUSTER_DIR:-$repo/.local/cluster}
audit="$cluster_dir/logs/audit.log"
cargo build --release --quiet -p tug
tug="${CARGO_TARGET_DIR:-$repo/target}/release/tug"
"$tug" install >/dev/null 2>&1

work=$(mktemp -d)
ctrl_pid=""; daemon_pid=""
cleanup() {
  [ -n "$ctrl_pid" ] && kill "$ctrl_pid" 2>/dev/null || true
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
  if [ -n "${KEEP_LOGS:-}" ]; then mkdir -p "$KEEP_LOGS"; cp "$work"/*.log "$work"/rss-*.txt "$KEEP_LOGS"/ 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The application, once, in a repository served by git daemon.
git init -q -b main "$work/src"
mkdir -p "$work/src/app"
cat >"$work/src/app/app.yaml" <<'EOF'
apiVersion: v1
kind: ServiceAccount
metadata:
  name: podinfo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
spec:
  replicas: 0
  selector:
    matchLabels:
      app: podinfo
  template:
    metadata:
      labels:
        app: podinfo
    spec:
      serviceAccountName: podinfo
      containers:
      - name: podinfo
        image: ghcr.io/stefanprodan/podinfo:6.5.0
        ports:
        - containerPort: 9898
          name: http
---
apiVersion: v1
kind: Service
metadata:
  name: podinfo
spec:
  selector:
    app: podinfo
  ports:
  - name: http
    port: 9898
    targetPort: http
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: podinfo
spec:
  rules:
  - host: podinfo.local
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: podinfo
            port:
              name: http
EOF
git -C "$work/src" add -A
git -C "$work/src" -c user.name=bench -c user.email=bench@localhost commit -qm app
git clone -q --bare "$work/src" "$work/repos/app.git"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
git daemon --reuseaddr --export-all --base-path="$work/repos" --listen=127.0.0.1 --port="$port" "$work/repos" &
daemon_pid=$!

now() { date +%s.%N; }
# CPU seconds (user + system) used so far by each process of the run, "name=seconds ...".
cpu_seconds() {
  local name pid
  for name in etcd apiserver controller-manager; do
    pid=$(cat "$cluster_dir/$name.pid" 2>/dev/null) || continue
    printf '%s=%s ' "$name" "$(awk '{print ($14 + $15) / 100}' "/proc/$pid/stat" 2>/dev/null || echo 0)"
  done
  printf 'tug=%s\n' "$(awk '{print ($14 + $15) / 100}' "/proc/$ctrl_pid/stat" 2>/dev/null || echo 0)"
}
cpu_diff() { # before after
  python3 -c 'import sys
a = dict(x.split("=") for x in sys.argv[1].split())
b = dict(x.split("=") for x in sys.argv[2].split())
print(" ".join("%s %.1f" % (k, float(b[k]) - float(a.get(k, 0))) for k in b))' "$1" "$2"
}
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

start_controller() { # log
  "$tug" controller -n "$ns" --watch-all-namespaces=false --concurrent "$concurrent" \
    --storage-path "$work/storage-$ns" --storage-addr "127.0.0.1:$(free_port)" \
    --metrics-addr 0 --health-addr 0 --enable-leader-election=false 2>"$1" &
  ctrl_pid=$!
}

# Counts Kustomizations of $ns whose Ready condition is True.
ready_count() {
  kubectl get kustomizations.kustomize.toolkit.fluxcd.io -n "$ns" -o json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(1 for i in d["items"] if any(c.get("type")=="Ready" and c.get("status")=="True" for c in i.get("status",{}).get("conditions",[]))))'
}

# How many distinct Kustomizations the controller log $1 says were reconciled successfully.
reconciled_keys() {
  { grep ' reconciled ' "$1" 2>/dev/null || true; } | grep -o 'key=[^ ]*' | sort -u | wc -l
}

# Writes by the controller (not Leases, not Events) in the audit log since line $1.
writes_since() {
  tail -n +"$1" "$audit" | python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("stage") != "ResponseComplete" or e.get("verb") not in ("create", "update", "patch", "delete"):
        continue
    uri = e.get("requestURI", "")
    if "/leases/" in uri or "/events" in uri or not (e.get("userAgent", "") == "" or e.get("userAgent", "").startswith("tug")):
        continue
    if "'"$ns"'" not in uri:
        continue
    n += 1
print(n)'
}

for n in "${sizes[@]}"; do
  ns="mttp-$n-$$"
  kubectl create namespace "$ns" >/dev/null
  "$tug" create source git app -n "$ns" --url "git://127.0.0.1:$port/app.git" --branch main --interval 10m >/dev/null
  start_controller "$work/controller-$n.log"
  # The source first, so the measure is the Kustomizations' time, as Flux's benchmark.
  until kubectl get gitrepositories.source.toolkit.fluxcd.io app -n "$ns" -o jsonpath='{.status.artifact.revision}' | grep -q sha1; do sleep 0.2; done
  # Four files created by four kubectl processes at once: one kubectl is held to 50
  # requests/s by its own client-side limit, which would make the creation the benchmark.
  for i in $(seq 1 "$n"); do
    cat <<EOF >>"$work/ks-$n-$((i % 4)).yaml"
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app-$i, namespace: $ns}
spec:
  interval: 60m
  prune: true
  wait: $wait_health
  timeout: 5m
  path: ./app
  namePrefix: app-$i-
  targetNamespace: $ns
  sourceRef: {kind: GitRepository, name: app}
EOF
  done
  rss_log="$work/rss-$n.txt"; : >"$rss_log"
  cpu0=$(cpu_seconds)
  t0=$(now)
  # RSS sampled every second by its own loop, independent of the (slower) Ready polling.
  ( while kill -0 "$ctrl_pid" 2>/dev/null; do
      echo "$(echo "$(now) - $t0" | bc) $(rss_kib "$ctrl_pid")" >>"$rss_log"; sleep 1
    done ) &
  sampler=$!
  creators=()
  for part in 0 1 2 3; do
    if [ -s "$work/ks-$n-$part.yaml" ]; then
      kubectl create -f "$work/ks-$n-$part.yaml" >/dev/null &
      creators+=($!)
    fi
  done
  wait "${creators[@]}"
  created=$(echo "$(now) - $t0" | bc)
  # The controller logs "reconciled" right after it wrote Ready=True: counting those lines
  # costs the apiserver nothing, where listing 1,000 Kustomizations twice a second would
  # take a share of its CPU from the run. One list at the end confirms.
  until [ "$(reconciled_keys "$work/controller-$n.log")" -ge "$n" ]; do sleep 0.2; done
  t1=$(now)
  until [ "$(ready_count)" -ge "$n" ]; do
    echo "  (not all Ready by the list yet)"; sleep 1; t1=$(now)
  done
  kill "$sampler" 2>/dev/null || true
  end_rss=$(rss_kib "$ctrl_pid")
  peak=$(awk '$2 > m {m = $2} END {print m + 0}' "$rss_log")
  printf 'N=%-5s all Ready in %6.1f s (created in %.1f s)   RSS peak %5.1f MiB, at end %5.1f MiB (concurrent=%s, wait=%s)\n' \
    "$n" "$(echo "$t1 - $t0" | bc)" "$created" "$(echo "$peak / 1024" | bc -l)" "$(echo "$end_rss / 1024" | bc -l)" "$concurrent" "$wait_health"
  echo "  CPU seconds meanwhile: $(cpu_diff "$cpu0" "$(cpu_seconds)")"
  echo "  RSS over time (every 5 s): $(awk 'NR%5==1 {printf "%ss:%.0fMiB ", int($1), $2/1024}' "$rss_log")"

  # No-op resync: a fresh controller reconciles all N again; count its writes.
  kill "$ctrl_pid"; wait "$ctrl_pid" 2>/dev/null || true
  mark=$(($(wc -l <"$audit") + 1))
  log="$work/controller-$n-resync.log"
  t2=$(now)
  start_controller "$log"
  until [ "$(reconciled_keys "$log")" -ge "$n" ]; do sleep 0.2; done
  t3=$(now)
  sleep 2
  printf '  no-op resync of %s: %.1f s, %s write requests, RSS %.1f MiB\n' \
    "$n" "$(echo "$t3 - $t2" | bc)" "$(writes_since "$mark")" "$(echo "$(rss_kib "$ctrl_pid") / 1024" | bc -l)"
  # Deletion: the namespace goes, and the controller, still running, lets each
  # Kustomization go once it pruned its objects (finalizers); the next size starts on a
  # quiet cluster.
  t4=$(now)
  kubectl delete namespace "$ns" --wait=false >/dev/null
  while kubectl get namespace "$ns" >/dev/null 2>&1; do sleep 1; done
  printf '  namespace with %s Kustomizations deleted (objects pruned) in %.1f s\n' "$n" "$(echo "$(now) - $t4" | bc)"
  kill "$ctrl_pid"; wait "$ctrl_pid" 2>/dev/null || true; ctrl_pid=""
done
