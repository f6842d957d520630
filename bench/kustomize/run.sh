#!/usr/bin/env bash
# Benchmark: `tug kustomize build` vs `kubectl kustomize` on a generated overlay.
#
#   bench/kustomize/run.sh [RESOURCES...]     (default: 2000; e.g. `500 2000 8000` for scaling)
#
# For each size it generates, under $WORK (default: a temp dir), a base of RESOURCES objects
# (Deployments, Services, ConfigMaps and CustomResourceDefinitions with long schemas, in equal
# parts) and an overlay with namePrefix, namespace, labels, 10 image rules, 50 strategic-merge
# and 20 JSON 6902 patches, a ConfigMap and a Secret generator and replacements. It checks that
# both tools print the same bytes, then times them side by side with hyperfine and reports
# peak RSS from /usr/bin/time.
#
# Env: TUG (the tug binary; default target-kustomize/release/tug, built if missing),
#      RUNS (hyperfine runs, default 5), WORK,
#      KUBECTL_MAX (default 2000): larger sizes time tug alone (kubectl takes minutes there).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(2000)
runs=${RUNS:-5}
work=${WORK:-$(mktemp -d /tmp/tug-kustomize-bench.XXXXXX)}
tug=${TUG:-$root/target-kustomize/release/tug}
kubectl_max=${KUBECTL_MAX:-2000}

if [ ! -x "$tug" ]; then
  (cd "$root" && CARGO_TARGET_DIR="$root/target-kustomize" cargo build --release -p tug)
fi
command -v hyperfine >/dev/null || { echo "hyperfine is required (apt-get install -y hyperfine)" >&2; exit 1; }
command -v kubectl >/dev/null || { echo "kubectl is required" >&2; exit 1; }

generate() {
  local n=$1 dir=$2
  python3 - "$n" "$dir" <<'PY'
import os, sys
n, out = int(sys.argv[1]), sys.argv[2]
base, overlay = os.path.join(out, "base"), os.path.join(out, "overlay")
os.makedirs(base, exist_ok=True); os.makedirs(overlay, exist_ok=True)
per = n // 4
docs, files = [], []
def emit(name, text):
    with open(os.path.join(base, name), "w") as f: f.write(text)
    files.append(name)
for i in range(per):
    img = f"registry.example.com/team/app{i % 10}:1.{i % 7}"
    emit(f"deploy-{i}.yaml", f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  labels: {{app: app-{i}, tier: backend}}
spec:
  replicas: {1 + i % 3}
  selector:
    matchLabels: {{app: app-{i}}}
  template:
    metadata:
      labels: {{app: app-{i}}}
    spec:
      containers:
      - name: app
        image: {img}
        ports:
        - containerPort: 8080
          name: http
        env:
        - name: CONFIG
          valueFrom:
            configMapKeyRef: {{name: settings, key: mode}}
        - name: INDEX
          value: "{i}"
        envFrom:
        - configMapRef: {{name: config-{i}}}
        resources:
          limits: {{cpu: 500m, memory: 256Mi}}
      - name: sidecar
        image: registry.example.com/proxy:2.{i % 4}
""")
    emit(f"svc-{i}.yaml", f"""apiVersion: v1
kind: Service
metadata:
  name: app-{i}
spec:
  selector: {{app: app-{i}}}
  ports:
  - port: 80
    targetPort: http
    protocol: TCP
""")
    emit(f"cm-{i}.yaml", f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: config-{i}
data:
  index: "{i}"
  flag: "true"
  text: |
    line one of config {i}
    line two
""")
    props = "\n".join(f"""                field{j}:
                  type: string
                  description: Field {j} of the widget; a long description that kustomize carries through unchanged, {i}.""" for j in range(40))
    emit(f"crd-{i}.yaml", f"""apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets{i}.example.com
spec:
  group: example.com
  names:
    kind: Widget{i}
    plural: widgets{i}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
{props}
""")
with open(os.path.join(base, "kustomization.yaml"), "w") as f:
    f.write("resources:\n" + "".join(f"- {x}\n" for x in files))
    f.write("configMapGenerator:\n- name: settings\n  literals:\n  - mode=base\n")
k = ["namePrefix: prod-", "namespace: production", "resources:", "- ../base",
     "labels:", "- pairs:", "    env: prod", "  includeSelectors: false",
     "images:"]
for j in range(10):
    k += [f"- name: registry.example.com/team/app{j}", f"  newTag: \"2.{j}\""]
k += ["configMapGenerator:", "- name: settings", "  behavior: merge", "  literals:", "  - mode=prod",
      "secretGenerator:", "- name: credentials", "  literals:", "  - token=s3cr3t", "patches:"]
for j in range(50):
    i = (j * 7) % per
    k += [f"- patch: |-", "    apiVersion: apps/v1", "    kind: Deployment", "    metadata:",
          f"      name: app-{i}", "    spec:", f"      replicas: {5 + j % 3}", "      template:",
          "        spec:", "          containers:", "          - name: app", "            env:",
          "            - name: PATCHED", f"              value: \"{j}\""]
for j in range(20):
    i = (j * 11 + 3) % per
    k += ["- target:", "    kind: Service", f"    name: app-{i}", "  patch: |-",
          "    - op: replace", "      path: /spec/ports/0/port", f"      value: {8000 + j}"]
k += ["replacements:", "- source:", "    kind: ConfigMap", "    name: settings", "    fieldPath: data.mode",
      "  targets:", "  - select:", "      kind: Deployment", "    fieldPaths:",
      "    - spec.template.metadata.annotations.mode", "    options:", "      create: true"]
with open(os.path.join(overlay, "kustomization.yaml"), "w") as f:
    f.write("\n".join(k) + "\n")
PY
}

peak_rss_mb() {
  /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.0f", $1/1024}'
}

for n in "${sizes[@]}"; do
  dir="$work/n$n"
  rm -rf "$dir"; generate "$n" "$dir"
  "$tug" kustomize build "$dir/overlay" >"$dir/tug.yaml"
  if [ "$n" -gt "$kubectl_max" ]; then
    echo "== $n resources (tug only, $(wc -c <"$dir/tug.yaml") bytes)"
    hyperfine -N --warmup 1 --runs "$runs" --export-json "$dir/hyperfine.json" \
      -n "tug kustomize build" "$tug kustomize build $dir/overlay" >/dev/null
    python3 - "$dir/hyperfine.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"  {r['command']:<22} median {r['median']*1000:8.1f} ms   mean {r['mean']*1000:8.1f} ± {r['stddev']*1000:.1f} ms")
PY
    echo "  peak RSS: tug $(peak_rss_mb "$tug" kustomize build "$dir/overlay") MB"
    continue
  fi
  kubectl kustomize "$dir/overlay" >"$dir/kubectl.yaml" 2>/dev/null
  if ! cmp -s "$dir/tug.yaml" "$dir/kubectl.yaml"; then
    echo "outputs differ for $n resources:" >&2
    diff "$dir/kubectl.yaml" "$dir/tug.yaml" | head -20 >&2
    exit 1
  fi
  echo "== $n resources (identical output, $(wc -c <"$dir/tug.yaml") bytes)"
  hyperfine -N --warmup 1 --runs "$runs" --export-json "$dir/hyperfine.json" \
    -n "kubectl kustomize" "kubectl kustomize $dir/overlay" \
    -n "tug kustomize build" "$tug kustomize build $dir/overlay" >/dev/null
  python3 - "$dir/hyperfine.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"  {r['command']:<22} median {r['median']*1000:8.1f} ms   mean {r['mean']*1000:8.1f} ± {r['stddev']*1000:.1f} ms")
PY
  echo "  peak RSS: kubectl $(peak_rss_mb kubectl kustomize "$dir/overlay") MB, tug $(peak_rss_mb "$tug" kustomize build "$dir/overlay") MB"
done
