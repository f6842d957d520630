#!/usr/bin/env bash
# Seeds the fuzz corpora from the kustomize conformance corpus (../shared/conformance/kustomize
# beside the repository, or $CONFORMANCE) and this crate's own cases (tests/cases):
#   corpus/yaml_parse/           every YAML/JSON file of every case, as it is
#   corpus/kustomization_build/  every case's tree packed in the target's input format
#                                (build dir, then NUL-separated name/content pairs)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
conf=${CONFORMANCE:-$repo/../shared/conformance/kustomize}
[ -d "$conf/cases" ] || conf=/work/shared/conformance/kustomize
mkdir -p "$here/corpus/yaml_parse" "$here/corpus/kustomization_build"
n=0
for case in "$conf"/cases/*/ "$here"/../tests/cases/*/; do
  [ -d "$case/input" ] || continue
  name=$(basename "$case")
  input=$(cd "$case/input" && pwd)
  root=""; [ -f "$case/root" ] && root=$(head -n 1 "$case/root")
  files=()
  while IFS= read -r f; do files+=("$f"); done < <(cd "$input" && find . -type f -size -64k | sed 's|^\./||' | sort)
  for f in "${files[@]}"; do
    case "$f" in *.yaml|*.yml|*.json|Kustomization) cp "$input/$f" "$here/corpus/yaml_parse/$name--${f//\//_}" ;; esac
  done
  [ ${#files[@]} -le 16 ] || continue
  {
    printf '%s\0' "$root"
    for f in "${files[@]}"; do printf '%s\0' "$f"; cat "$input/$f"; printf '\0'; done
  } >"$here/corpus/kustomization_build/$name"
  n=$((n + 1))
done
echo "seeded: $(ls "$here/corpus/yaml_parse" | wc -l) YAML files, $n packed trees"
