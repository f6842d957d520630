#!/usr/bin/env bash
# Git sources benchmark: tug's fetch (the code of `tug source pull` and of the GitRepository
# reconciler) against `git clone --depth 1` and `git ls-remote`, on the same local
# git-http-backend behind lighttpd, for a repository of 5,000 files.
#
#   bench/git/run.sh            # prints hyperfine tables and a markdown summary of medians
#
# Needs: git, lighttpd, hyperfine (apt-get install -y git lighttpd hyperfine), cargo.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
files="${FILES:-5000}"
runs="${RUNS:-15}"
target="${CARGO_TARGET_DIR:-$repo_root/target}"

for tool in git lighttpd hyperfine; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y git lighttpd hyperfine" >&2; exit 1; }
done

echo "== building tug's fetch (release)" >&2
(cd "$repo_root" && cargo build -q --release -p tug-source --example git-pull)
tug_pull="$target/release/examples/git-pull"

work="$(mktemp -d /tmp/tug-bench-git.XXXXXX)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

echo "== making a repository of $files files" >&2
git="git -c init.defaultBranch=main -c user.name=bench -c user.email=bench@tug.invalid"
mkdir -p "$work/src" "$work/repos"
(
  cd "$work/src"
  $git init -q
  for ((i = 0; i < files; i++)); do
    d="dir$((i % 50))/sub$((i % 7))"
    mkdir -p "$d"
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\ndata:\n  index: "%d"\n  payload: "%s"\n' \
      "$i" "$i" "$(printf '%0512d' "$i")" > "$d/cm-$i.yaml"
  done
  $git add -A && $git commit -q -m "5000 files"
)
$git clone -q --bare "$work/src" "$work/repos/bench.git"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
backend="$(git --exec-path)/git-http-backend"
mkdir -p "$work/htdocs"
cat > "$work/lighttpd.conf" <<CONF
server.document-root = "$work/htdocs"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$work/error.log"
server.modules = ( "mod_alias", "mod_cgi", "mod_setenv" )
alias.url = ( "/git/" => "$backend/" )
\$HTTP["url"] =~ "^/git/" {
    cgi.assign = ( "" => "" )
    setenv.add-environment = ( "GIT_PROJECT_ROOT" => "$work/repos", "GIT_HTTP_EXPORT_ALL" => "1" )
}
CONF
lighttpd -D -f "$work/lighttpd.conf" & pid=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done
url="http://127.0.0.1:$port/git/bench.git"
head="$(git -C "$work/repos/bench.git" rev-parse main)"

echo "== first fetch" >&2
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/first.json" \
  --prepare "rm -rf $work/out-git $work/out-tug" \
  -n "git clone --depth 1" "git clone -q --depth 1 --branch main $url $work/out-git" \
  -n "tug fetch + artifact" "$tug_pull $url main $work/out-tug"

echo "== no-op poll" >&2
hyperfine -N --warmup 3 --runs "$((runs * 2))" --export-json "$work/poll.json" \
  -n "git ls-remote" "git ls-remote $url refs/heads/main" \
  -n "tug no-op poll" "$tug_pull $url main $work/out-tug main@sha1:$head"

python3 - "$work/first.json" "$work/poll.json" <<'PY'
import json, sys
print("\n| scenario | command | median (ms) |\n|---|---|---|")
for path, scenario in zip(sys.argv[1:], ["first fetch (5,000 files)", "no-op poll"]):
    for r in json.load(open(path))["results"]:
        print(f"| {scenario} | {r['command']} | {r['median'] * 1000:.1f} |")
PY
