#!/usr/bin/env python3
"""Generate the benchmark's umbrella chart: 20 subcharts, about DOCS rendered documents.

    gen_chart.py DOCS OUT_DIR

Each subchart `svc-NN` renders, for every entry of its `apps` map (ranged in key order), a
Deployment, a Service, a ConfigMap and a ServiceAccount, through the code real charts use:
helpers in _helpers.tpl called with `include` and indented with `nindent`, labels built from
`.Chart`/`.Release`, `toYaml` of large values (resources, probes, a ~60-line config block),
`tpl` on annotation templates and on a config string taken from values, `range` over maps
(env, extra labels), `default`, `quote`, `trunc`/`trimSuffix`, `printf`, `sha256sum`, and
global values set by the umbrella chart. The umbrella chart adds a ConfigMap per subchart.
About DOCS documents: 4 per app, apps spread evenly over the 20 subcharts.
"""
import os
import sys

SUBCHARTS = 20

HELPERS = r'''{{/* Chart name, truncated as Kubernetes names must be. */}}
{{- define "svc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "svc.fullname" -}}
{{- $ctx := .ctx -}}
{{- $name := default $ctx.Chart.Name $ctx.Values.nameOverride -}}
{{- printf "%s-%s-%s" $ctx.Release.Name $name .app | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "svc.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "svc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "svc.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .app }}
{{- end -}}

{{- define "svc.labels" -}}
helm.sh/chart: {{ include "svc.chart" .ctx }}
{{ include "svc.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- range $k, $v := .ctx.Values.global.commonLabels }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- range $k, $v := .spec.labels }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{- define "svc.image" -}}
{{- $registry := default .ctx.Values.global.imageRegistry .spec.image.registry -}}
{{- printf "%s/%s:%s" $registry .spec.image.repository (default .ctx.Chart.AppVersion .spec.image.tag | toString) -}}
{{- end -}}

{{- define "svc.annotations" -}}
{{- range $k, $v := .ctx.Values.podAnnotations }}
{{ $k }}: {{ tpl $v $.ctx | quote }}
{{- end }}
{{- end -}}
'''

DEPLOYMENT = r'''{{- range $app, $spec := .Values.apps }}
{{- $args := dict "ctx" $ "app" $app "spec" $spec }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "svc.fullname" $args }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "svc.labels" $args | nindent 4 }}
spec:
  replicas: {{ $spec.replicas | default 1 }}
  selector:
    matchLabels:
      {{- include "svc.selectorLabels" $args | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "svc.selectorLabels" $args | nindent 8 }}
      annotations:
        checksum/config: {{ toYaml $.Values.config | sha256sum }}
        {{- include "svc.annotations" $args | nindent 8 }}
    spec:
      serviceAccountName: {{ include "svc.fullname" $args }}
      {{- with $.Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $app }}
          image: {{ include "svc.image" $args | quote }}
          imagePullPolicy: {{ $spec.image.pullPolicy | default "IfNotPresent" }}
          ports:
            - name: http
              containerPort: {{ $spec.port | default 8080 }}
              protocol: TCP
          env:
            {{- range $k, $v := $spec.env }}
            - name: {{ $k | upper | replace "-" "_" }}
              value: {{ $v | quote }}
            {{- end }}
            - name: RELEASE
              value: {{ $.Release.Name | quote }}
          livenessProbe:
            {{- toYaml $.Values.probes.liveness | nindent 12 }}
          readinessProbe:
            {{- toYaml $.Values.probes.readiness | nindent 12 }}
          resources:
            {{- toYaml (default $.Values.resources $spec.resources) | nindent 12 }}
          volumeMounts:
            - name: config
              mountPath: /etc/{{ $app }}
      volumes:
        - name: config
          configMap:
            name: {{ include "svc.fullname" $args }}-config
{{- end }}
'''

SERVICE = r'''{{- range $app, $spec := .Values.apps }}
{{- $args := dict "ctx" $ "app" $app "spec" $spec }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "svc.fullname" $args }}
  labels:
    {{- include "svc.labels" $args | nindent 4 }}
spec:
  type: {{ $spec.serviceType | default "ClusterIP" }}
  ports:
    - port: {{ $spec.servicePort | default 80 }}
      targetPort: http
      protocol: TCP
      name: http
  selector:
    {{- include "svc.selectorLabels" $args | nindent 4 }}
{{- end }}
'''

CONFIGMAP = r'''{{- range $app, $spec := .Values.apps }}
{{- $args := dict "ctx" $ "app" $app "spec" $spec }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "svc.fullname" $args }}-config
  labels:
    {{- include "svc.labels" $args | nindent 4 }}
data:
  app.yaml: |
    {{- toYaml $.Values.config | nindent 4 }}
  banner.txt: {{ tpl $.Values.banner (dict "Values" $.Values "Release" $.Release "Chart" $.Chart "Template" $.Template "app" $app) | quote }}
  {{- range $k, $v := $spec.env }}
  {{ $k }}: {{ $v | quote }}
  {{- end }}
{{- end }}
'''

SERVICEACCOUNT = r'''{{- range $app, $spec := .Values.apps }}
{{- $args := dict "ctx" $ "app" $app "spec" $spec }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "svc.fullname" $args }}
  labels:
    {{- include "svc.labels" $args | nindent 4 }}
automountServiceAccountToken: {{ $spec.automount | default false }}
{{- end }}
'''

UMBRELLA_CONFIGMAP = r'''{{- range $name, $sub := .Values }}
{{- if and (kindIs "map" $sub) (hasKey $sub "apps") }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ printf "%s-%s-summary" $.Release.Name $name | trunc 63 }}
data:
  apps: {{ keys $sub.apps | sortAlpha | join "," | quote }}
  count: {{ len $sub.apps | quote }}
{{- end }}
{{- end }}
'''


def big_config(i):
    """A ~60-line nested config block, the kind of values `toYaml` prints in real charts."""
    return {
        "server": {"port": 8080 + i, "host": "0.0.0.0", "timeouts": {"read": "30s", "write": "30s", "idle": "120s"},
                   "tls": {"enabled": i % 2 == 0, "minVersion": "1.2", "ciphers": ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"]}},
        "database": {"host": f"db-{i}.example.internal", "port": 5432, "name": f"service{i}", "pool": {"min": 2, "max": 20, "idle": 5},
                     "options": {"sslmode": "require", "application_name": f"svc-{i}"}},
        "cache": {"enabled": True, "ttl": "5m", "size": 1024, "backends": [f"redis-{j}:6379" for j in range(3)]},
        "logging": {"level": "info", "format": "json", "fields": {"service": f"svc-{i}", "team": "platform"}},
        "features": {f"feature{j}": j % 3 == 0 for j in range(12)},
        "limits": [{"path": f"/api/v{j}", "rate": 100 * (j + 1), "burst": 20 + j} for j in range(6)],
    }


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def yaml_dump(value, indent=0):
    """Block YAML without a YAML library: maps and lists of scalars/maps, keys as given."""
    pad = " " * indent
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{k}:")
                out.append(yaml_dump(v, indent + 2))
            else:
                out.append(f"{pad}{k}: {scalar(v)}")
    else:
        for v in value:
            if isinstance(v, dict):
                lines = yaml_dump(v, indent + 2).split("\n")
                out.append(f"{pad}- {lines[0].lstrip()}")
                out.extend(lines[1:])
            else:
                out.append(f"{pad}- {scalar(v)}")
    return "\n".join(out)


def scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if v == {}:
        return "{}"
    if v == []:
        return "[]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    docs, out = int(sys.argv[1]), sys.argv[2]
    apps_total = max(SUBCHARTS, docs // 4)
    os.makedirs(out, exist_ok=True)
    deps = []
    umbrella_values = {"global": {"imageRegistry": "registry.example.com",
                                  "commonLabels": {"team": "platform", "cost-center": "cc-42"}}}
    for s in range(SUBCHARTS):
        name = f"svc-{s:02d}"
        deps.append(f"  - name: {name}\n    version: 0.1.0\n")
        sub = os.path.join(out, "charts", name)
        write(os.path.join(sub, "Chart.yaml"),
              f"apiVersion: v2\nname: {name}\nversion: 0.1.{s}\nappVersion: \"1.{s}.0\"\ndescription: Service {s}\n")
        napps = apps_total // SUBCHARTS + (1 if s < apps_total % SUBCHARTS else 0)
        apps = {}
        for a in range(napps):
            apps[f"app-{a:04d}"] = {
                "replicas": 1 + a % 3,
                "port": 8000 + a,
                "image": {"repository": f"team/{name}-app{a}", "tag": f"2.{a % 9}.{s}"},
                "env": {"log-level": "debug" if a % 2 else "info", "region": "eu-west-1", "shard": str(a % 4)},
                "labels": {"tier": "backend" if a % 2 else "frontend"},
            }
        values = {
            "nameOverride": "",
            "apps": apps,
            "podAnnotations": {"example.com/release": "{{ .Release.Name }}-{{ .Chart.Name }}",
                               "example.com/owner": "{{ .Values.global.commonLabels.team }}"},
            "banner": "{{ .Release.Name }}/{{ .app }} on {{ .Values.global.imageRegistry }} ({{ .Chart.Version }})",
            "probes": {"liveness": {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 10, "periodSeconds": 10},
                       "readiness": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5, "failureThreshold": 3}},
            "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "config": big_config(s),
            "global": {"imageRegistry": "docker.io", "commonLabels": {}},
        }
        write(os.path.join(sub, "values.yaml"), yaml_dump(values) + "\n")
        write(os.path.join(sub, "templates", "_helpers.tpl"), HELPERS)
        write(os.path.join(sub, "templates", "deployment.yaml"), DEPLOYMENT)
        write(os.path.join(sub, "templates", "service.yaml"), SERVICE)
        write(os.path.join(sub, "templates", "configmap.yaml"), CONFIGMAP)
        write(os.path.join(sub, "templates", "serviceaccount.yaml"), SERVICEACCOUNT)
        # The umbrella overrides a little of every subchart, as umbrella charts do.
        umbrella_values[name] = {"resources": {"limits": {"cpu": "1", "memory": "512Mi"},
                                               "requests": {"cpu": "200m", "memory": "256Mi"}}}
    write(os.path.join(out, "Chart.yaml"),
          "apiVersion: v2\nname: umbrella\nversion: 1.0.0\nappVersion: \"1.0.0\"\ndependencies:\n" + "".join(deps))
    write(os.path.join(out, "values.yaml"), yaml_dump(umbrella_values) + "\n")
    write(os.path.join(out, "templates", "summary.yaml"), UMBRELLA_CONFIGMAP)


if __name__ == "__main__":
    main()
