#!/usr/bin/env bash
# Resident memory of `tug controller` while it polls 100 GitRepositories every 10 s.
#
#   bench/git/controller-rss.sh        # env: REPOS (100), SECONDS_TO_RUN (120), INTERVAL (10s)
#
# Starts the local control plane (scripts/local-cluster up; its own state directory, so it does
# not disturb another cluster), installs tug's CRDs, serves REPOS small repositories with
# `git daemon` on loopback, creates one GitRepository per repository, runs the release
# `tug controller` for SECONDS_TO_RUN seconds and samples VmRSS from /proc every second.
# Prints the peak and median RSS over the samples taken once every GitRepository was Ready,
# and the peak over the whole run. Goal: ≤ 32 MiB for the whole process.
#
# Needs: git, kubectl, cargo, and what scripts/local-cluster needs.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
repos="${REPOS:-100}"
run_for="${SECONDS_TO_RUN:-120}"
interval="${INTERVAL:-10s}"
target="${CARGO_TARGET_DIR:-$repo_root/target}"
tug="$target/release/tug"

say() { printf 'controller-rss: %s\n' "$*" >&2; }

if [ -z "${SKIP_BUILD:-}" ]; then
  say "building tug (release)"
  (cd "$repo_root" && cargo build -q --release -p tug)
fi

work="$(mktemp -d /tmp/tug-bench-rss.XXXXXX)"
daemon_pid=""
controller_pid=""
export TUG_CLUSTER_DIR="${TUG_CLUSTER_DIR:-$work/cluster}"
cleanup() {
  [ -n "$controller_pid" ] && kill "$controller_pid" 2>/dev/null || true
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
  if [ -z "${KEEP_CLUSTER:-}" ]; then
    "$repo_root/scripts/local-cluster" down >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

say "starting the local control plane"
"$repo_root/scripts/local-cluster" up --watch-pid $$ >&2
export KUBECONFIG
KUBECONFIG="$("$repo_root/scripts/local-cluster" kubeconfig)"
"$tug" install >/dev/null

say "making $repos repositories"
git="git -c init.defaultBranch=main -c user.name=bench -c user.email=bench@tug.invalid"
mkdir -p "$work/src" "$work/repos"
for ((i = 0; i < repos; i++)); do
  src="$work/src/r$i"
  mkdir -p "$src/apps"
  for f in 1 2 3; do
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d-%d\ndata:\n  a: "%d"\n' "$i" "$f" "$f" >"$src/apps/cm-$f.yaml"
  done
  (cd "$src" && $git init -q && $git add -A && $git commit -q -m "repo $i")
  $git clone -q --bare "$src" "$work/repos/r$i.git"
done

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
git daemon --reuseaddr --export-all --listen=127.0.0.1 --port="$port" \
  --base-path="$work/repos" "$work/repos" >"$work/daemon.log" 2>&1 &
daemon_pid=$!

say "creating $repos GitRepositories (interval $interval)"
{
  for ((i = 0; i < repos; i++)); do
    cat <<YAML
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: r$i
  namespace: flux-system
spec:
  interval: $interval
  url: git://127.0.0.1:$port/r$i.git
  ref:
    branch: main
YAML
  done
} >"$work/sources.yaml"
kubectl apply -f "$work/sources.yaml" >/dev/null

storage_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
say "running tug controller for ${run_for}s"
"$tug" controller --storage-path "$work/storage" --storage-addr "127.0.0.1:$storage_port" \
  --log-level warn >"$work/controller.log" 2>&1 &
controller_pid=$!

samples="$work/rss.txt"
all_ready_at=""
start=$(date +%s)
for ((t = 0; t < run_for; t++)); do
  kill -0 "$controller_pid" 2>/dev/null || { say "controller exited"; tail -20 "$work/controller.log" >&2; exit 1; }
  rss_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$controller_pid/status")
  ready=""
  if [ -z "$all_ready_at" ] && ((t % 5 == 0)); then
    ready=$(kubectl get gitrepositories -n flux-system \
      -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
      grep -c '^True$' || true)
    if [ "$ready" = "$repos" ]; then
      all_ready_at=$t
      say "all $repos Ready after ${t}s"
    fi
  fi
  echo "$t $rss_kib ${all_ready_at:+ready}" >>"$samples"
  sleep $((start + t + 1 - $(date +%s) > 0 ? start + t + 1 - $(date +%s) : 0))
done

[ -n "$all_ready_at" ] || { say "not all GitRepositories became Ready"; exit 1; }
[ -n "${SAVE_SAMPLES:-}" ] && cp "$samples" "$SAVE_SAMPLES"
peak_all=$(awk '$2 > m { m = $2 } END { print m }' "$samples")
awk '$3 == "ready" { print $2 }' "$samples" | sort -n >"$work/ready.txt"
n=$(wc -l <"$work/ready.txt")
peak=$(tail -1 "$work/ready.txt")
median=$(awk -v n="$n" '{ v[NR] = $1 } END { print (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }' "$work/ready.txt")
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo "GitRepositories: $repos, interval $interval, all Ready after ${all_ready_at} s, samples after that: $n"
echo "RSS once all Ready: peak $(mib "$peak") MiB, median $(mib "$median") MiB"
echo "RSS peak over the whole run: $(mib "$peak_all") MiB"
