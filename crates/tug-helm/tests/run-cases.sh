#!/usr/bin/env bash
# Runs this crate's own Helm oracle cases (tests/cases, the shared corpus's layout) with the shared
# corpus runner, which only knows its own cases/ directory.
# Usage: crates/tug-helm/tests/run-cases.sh 'COMMAND' [FILTER]   e.g. 'target/release/tug helm template'
set -eu
here=$(cd "$(dirname "$0")" && pwd)
runner=${HELM_CORPUS_RUNNER:-}
if [ -z "$runner" ]; then
  for d in "$here/../../.." "$here/../../../.." "$here/../../../../.."; do
    if [ -x "$d/shared/conformance/helm/run.sh" ]; then runner=$d/shared/conformance/helm/run.sh; break; fi
  done
fi
[ -n "$runner" ] || { echo "run-cases.sh: shared/conformance/helm/run.sh not found; set HELM_CORPUS_RUNNER" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ln -s "$runner" "$tmp/run.sh"
ln -s "$here/cases" "$tmp/cases"
"$tmp/run.sh" "$@"
