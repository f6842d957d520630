#!/usr/bin/env bash
# Benchmark: a HelmRepository index of CHARTS x VERSIONS chart versions (default 200 x 50 =
# 10,000, about 20 MB): tug fetches it over HTTP, validates it, stores it as an artifact and
# resolves a semver range, in one process whose peak RSS is recorded; Helm's own client (the
# oracle, helm-python-sdk 0.2.2) loads the same index from the same server, side by side.
#
#   bench/sources/helm-index.sh [CHARTS VERSIONS]
#
# The index is written by tug's index writer (crates/tug-source/examples/helm_index_bench.rs,
# fields as real indexes carry them) and served by `python3 -m http.server` on loopback.
# Peak RSS from `/usr/bin/time -f %M`: tug's whole process; for Helm, a Python process that
# imports the SDK and calls `repo_index(url)` (the interpreter and the SDK's Go runtime
# included; the SDK also hands the parsed index to Python as JSON).
#
# Env: BENCH (default $CARGO_TARGET_DIR/release/examples/helm_index_bench, built if missing),
#      PY (default: the interpreter tug_testsupport::oracle uses), WORK (default a temp dir),
#      RANGE (default ">=1.0.0 <2.0.0"), CHART (default chart-100).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
charts=${1:-200}
versions=${2:-50}
target=${CARGO_TARGET_DIR:-$root/target}
bench=${BENCH:-$target/release/examples/helm_index_bench}
py=${PY:-${TUG_HELM_PYTHON:-${XDG_CACHE_HOME:-$HOME/.cache}/tug/venv-helm-python-sdk--0.2.2/bin/python}}
range=${RANGE:->=1.0.0 <2.0.0}
chart=${CHART:-chart-100}
if [ -n "${WORK:-}" ]; then work=$WORK; keep=1; else work=$(mktemp -d); keep=0; fi

if [ ! -x "$bench" ]; then
  (cd "$root" && cargo build --release -p tug-source --example helm_index_bench)
fi

"$bench" generate "$work/repo" "$charts" "$versions"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/repo" >"$work/http.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; [ "$keep" = 1 ] || rm -rf "$work"' EXIT
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$port))" 2>/dev/null && break
  sleep 0.1
done
url="http://127.0.0.1:$port"

echo "== tug: fetch + validate + store + resolve '$range' for $chart"
/usr/bin/time -f "tug wall %e s, peak RSS %M KiB" "$bench" fetch "$url" "$chart" "$range"

echo "== Helm (oracle): repo_index (fetch + load the index)"
/usr/bin/time -f "helm wall %e s, peak RSS %M KiB" "$py" -c '
import sys, time
import helm_python as helm
t = time.perf_counter()
index = helm.repo_index(sys.argv[1])
ms = (time.perf_counter() - t) * 1e3
entries = index["entries"]
n = sum(len(v) for v in entries.values())
print("helm repo_index: %d charts, %d versions in %.1f ms" % (len(entries), n, ms))
' "$url"
