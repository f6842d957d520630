#!/usr/bin/env bash
# Seeds the fuzz corpora from the Helm conformance corpus (../shared/conformance/helm beside the
# repository, or $CONFORMANCE) and this crate's own chart cases (tests/cases):
#   corpus/template_exec/  every template of every chart, with the case's values after a NUL
#   corpus/chart_archive/  every chart packed as a .tgz (its top directory named after it)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
conf=${CONFORMANCE:-$repo/../shared/conformance/helm}
[ -d "$conf/cases" ] || conf=/work/shared/conformance/helm
mkdir -p "$here/corpus/template_exec" "$here/corpus/chart_archive"
for case in "$conf"/cases/*/ "$here"/../tests/cases/*/; do
  [ -d "$case/chart" ] || continue
  name=$(basename "$case")
  values=/dev/null; [ -f "$case/values.yaml" ] && values="$case/values.yaml"
  while IFS= read -r f; do
    { cat "$f"; printf '\0'; cat "$values"; } >"$here/corpus/template_exec/$name--$(echo "${f#"$case"}" | tr / _)"
  done < <(find "$case/chart" -path '*/templates/*' -type f -size -64k)
  chart=$( (grep -m1 '^name:' "$case/chart/Chart.yaml" 2>/dev/null || true) | awk '{print $2}' | tr -d "\"'")
  [ -n "$chart" ] || chart=chart
  tmp=$(mktemp -d)
  cp -r "$case/chart" "$tmp/$chart"
  tar -C "$tmp" -czf "$here/corpus/chart_archive/$name.tgz" "$chart"
  rm -rf "$tmp"
done
echo "template_exec: $(ls "$here/corpus/template_exec" | wc -l) inputs, chart_archive: $(ls "$here/corpus/chart_archive" | wc -l) charts"
