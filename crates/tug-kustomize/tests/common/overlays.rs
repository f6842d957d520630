//! A generated tree for the shared-parse benchmark and its tests: one base of `resources`
//! objects (Deployments, Services, ConfigMaps and CustomResourceDefinitions with 40-field
//! schemas, in equal parts, plus a ConfigMap generator) and `overlays` overlays over it, each
//! with its own namePrefix, namespace, labels, image rules, strategic-merge and JSON 6902
//! patches and a merged ConfigMap generator: what a controller builds for 30 environments.

/// `(path relative to the tree's root, content)`; overlays are `overlays/NN`.
pub fn tree(resources: usize, overlays: usize) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let per = (resources / 4).max(1);
    let mut names = Vec::new();
    for i in 0..per {
        let mut add = |name: String, text: String| {
            names.push(name.clone());
            files.push((format!("base/{name}"), text));
        };
        add(
            format!("deploy-{i}.yaml"),
            format!(
                "apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  labels: {{app: app-{i}, tier: backend}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: app-{i}}}
  template:
    metadata:
      labels: {{app: app-{i}}}
    spec:
      containers:
      - name: app
        image: registry.example.com/team/app{img}:1.{tag}
        ports:
        - containerPort: 8080
          name: http
        env:
        - name: CONFIG
          valueFrom:
            configMapKeyRef: {{name: settings, key: mode}}
        - name: INDEX
          value: \"{i}\"
        envFrom:
        - configMapRef: {{name: config-{i}}}
        resources:
          limits: {{cpu: 500m, memory: 256Mi}}
      - name: sidecar
        image: registry.example.com/proxy:2.{side}
",
                replicas = 1 + i % 3,
                img = i % 10,
                tag = i % 7,
                side = i % 4
            ),
        );
        add(
            format!("svc-{i}.yaml"),
            format!(
                "apiVersion: v1
kind: Service
metadata:
  name: app-{i}
spec:
  selector: {{app: app-{i}}}
  ports:
  - port: 80
    targetPort: http
    protocol: TCP
"
            ),
        );
        add(
            format!("cm-{i}.yaml"),
            format!(
                "apiVersion: v1
kind: ConfigMap
metadata:
  name: config-{i}
data:
  index: \"{i}\"
  flag: \"true\"
  text: |
    line one of config {i}
    line two
"
            ),
        );
        let props: String = (0..40)
            .map(|j| {
                format!(
                    "                field{j}:
                  type: string
                  description: Field {j} of the widget; a long description that kustomize carries through unchanged, {i}.
"
                )
            })
            .collect();
        add(
            format!("crd-{i}.yaml"),
            format!(
                "apiVersion: apiextensions.k8s.io/v1
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
{props}"
            ),
        );
    }
    let mut k = String::from("resources:\n");
    for n in &names {
        k.push_str(&format!("- {n}\n"));
    }
    k.push_str("configMapGenerator:\n- name: settings\n  literals:\n  - mode=base\n");
    files.push(("base/kustomization.yaml".into(), k));
    for o in 0..overlays {
        let d = (o * 7) % per;
        let s = (o * 11 + 3) % per;
        files.push((
            format!("overlays/{o:02}/kustomization.yaml"),
            format!(
                "namePrefix: o{o}-
namespace: team-{o}
resources:
- ../../base
labels:
- pairs:
    env: env-{o}
  includeSelectors: false
images:
- name: registry.example.com/team/app{img}
  newTag: \"3.{o}\"
- name: registry.example.com/proxy
  newName: mirror.example.com/proxy
configMapGenerator:
- name: settings
  behavior: merge
  literals:
  - mode=env-{o}
patches:
- path: replicas.yaml
- target:
    kind: Service
    name: app-{s}
  patch: |-
    - op: replace
      path: /spec/ports/0/port
      value: {port}
",
                img = o % 10,
                port = 8000 + o
            ),
        ));
        files.push((
            format!("overlays/{o:02}/replicas.yaml"),
            format!(
                "apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{d}
spec:
  replicas: {r}
  template:
    spec:
      containers:
      - name: app
        env:
        - name: OVERLAY
          value: \"{o}\"
",
                r = 2 + o % 5
            ),
        ));
    }
    files
}
