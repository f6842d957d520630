//! kustomize's built-in transformer configuration: where names, labels, annotations,
//! namespaces and replicas live in the standard Kubernetes kinds. The lists are built from the
//! pod-template locations of each workload kind rather than spelled out one by one.

use crate::fieldspec::FieldSpec;
use crate::resource::Gvk;

/// Where each workload kind keeps its pod spec.
const POD_SPEC_PATHS: &[(&str, &str, &str)] = &[
    ("Pod", "v1", "spec"),
    ("PodTemplate", "", "template/spec"),
    ("Deployment", "", "spec/template/spec"),
    ("ReplicaSet", "", "spec/template/spec"),
    ("DaemonSet", "", "spec/template/spec"),
    ("StatefulSet", "", "spec/template/spec"),
    ("Job", "", "spec/template/spec"),
    ("CronJob", "", "spec/jobTemplate/spec/template/spec"),
];

fn fs(kind: &str, group: &str, version: &str, path: &str, create: bool) -> FieldSpec {
    FieldSpec::new(kind, group, version, path, create)
}

/// A name-reference rule: resources of `target` kind are referred to from `referrers`.
pub struct NameRef {
    pub target: Gvk,
    pub referrers: Vec<FieldSpec>,
}

fn gvk(kind: &str, group: &str, version: &str) -> Gvk {
    Gvk {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
    }
}

pub fn name_references() -> Vec<NameRef> {
    let mut out = Vec::new();
    for k in [
        "Deployment",
        "ReplicationController",
        "ReplicaSet",
        "StatefulSet",
    ] {
        out.push(NameRef {
            target: gvk(k, "", ""),
            referrers: vec![fs(
                "HorizontalPodAutoscaler",
                "",
                "",
                "spec/scaleTargetRef/name",
                false,
            )],
        });
    }
    // ConfigMap
    let mut cm = Vec::new();
    let cm_suffixes = [
        "volumes/configMap/name",
        "containers/env/valueFrom/configMapKeyRef/name",
        "initContainers/env/valueFrom/configMapKeyRef/name",
        "containers/envFrom/configMapRef/name",
        "initContainers/envFrom/configMapRef/name",
        "volumes/projected/sources/configMap/name",
    ];
    for (kind, ver, base) in POD_SPEC_PATHS {
        for s in cm_suffixes {
            cm.push(fs(kind, "", ver, &format!("{base}/{s}"), false));
        }
    }
    cm.push(fs("Node", "", "", "spec/configSource/configMap", false));
    cm.push(fs("Role", "", "", "rules/resourceNames", false));
    cm.push(fs("ClusterRole", "", "", "rules/resourceNames", false));
    cm.push(fs(
        "Ingress",
        "",
        "",
        "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap",
        false,
    ));
    out.push(NameRef {
        target: gvk("ConfigMap", "", "v1"),
        referrers: cm,
    });
    // Secret
    let mut sec = Vec::new();
    let sec_suffixes = [
        "volumes/secret/secretName",
        "containers/env/valueFrom/secretKeyRef/name",
        "initContainers/env/valueFrom/secretKeyRef/name",
        "containers/envFrom/secretRef/name",
        "initContainers/envFrom/secretRef/name",
        "imagePullSecrets/name",
        "volumes/projected/sources/secret/name",
    ];
    for (kind, ver, base) in POD_SPEC_PATHS {
        for s in sec_suffixes {
            sec.push(fs(kind, "", ver, &format!("{base}/{s}"), false));
        }
    }
    for p in [
        "spec/tls/secretName",
        "metadata/annotations/ingress.kubernetes.io\\/auth-secret",
        "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret",
        "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret",
    ] {
        sec.push(fs("Ingress", "", "", p, false));
    }
    sec.push(fs("ServiceAccount", "", "", "imagePullSecrets/name", false));
    for p in [
        "parameters/secretName",
        "parameters/adminSecretName",
        "parameters/userSecretName",
        "parameters/secretRef",
    ] {
        sec.push(fs("StorageClass", "", "", p, false));
    }
    sec.push(fs("Role", "", "", "rules/resourceNames", false));
    sec.push(fs("ClusterRole", "", "", "rules/resourceNames", false));
    sec.push(fs(
        "Service",
        "serving.knative.dev",
        "v1",
        "spec/template/spec/containers/env/valueFrom/secretKeyRef/name",
        false,
    ));
    sec.push(fs(
        "PersistentVolume",
        "",
        "",
        "spec/azureFile/secretName",
        false,
    ));
    out.push(NameRef {
        target: gvk("Secret", "", "v1"),
        referrers: sec,
    });
    out.push(NameRef {
        target: gvk("Service", "", "v1"),
        referrers: vec![
            fs("StatefulSet", "apps", "", "spec/serviceName", false),
            fs(
                "Ingress",
                "",
                "",
                "spec/rules/http/paths/backend/serviceName",
                false,
            ),
            fs("Ingress", "", "", "spec/backend/serviceName", false),
            fs(
                "Ingress",
                "",
                "",
                "spec/rules/http/paths/backend/service/name",
                false,
            ),
            fs("Ingress", "", "", "spec/defaultBackend/service/name", false),
            fs(
                "APIService",
                "apiregistration.k8s.io",
                "",
                "spec/service/name",
                false,
            ),
            fs(
                "ValidatingWebhookConfiguration",
                "admissionregistration.k8s.io",
                "",
                "webhooks/clientConfig/service",
                false,
            ),
            fs(
                "MutatingWebhookConfiguration",
                "admissionregistration.k8s.io",
                "",
                "webhooks/clientConfig/service",
                false,
            ),
        ],
    });
    let rbac = "rbac.authorization.k8s.io";
    out.push(NameRef {
        target: gvk("Role", rbac, ""),
        referrers: vec![fs("RoleBinding", rbac, "", "roleRef/name", false)],
    });
    out.push(NameRef {
        target: gvk("ClusterRole", rbac, ""),
        referrers: vec![
            fs("RoleBinding", rbac, "", "roleRef/name", false),
            fs("ClusterRoleBinding", rbac, "", "roleRef/name", false),
        ],
    });
    let workloads_sa = [
        ("StatefulSet", "spec/template/spec"),
        ("Deployment", "spec/template/spec"),
        ("ReplicationController", "spec/template/spec"),
        ("CronJob", "spec/jobTemplate/spec/template/spec"),
        ("Job", "spec/template/spec"),
        ("DaemonSet", "spec/template/spec"),
    ];
    let mut sa = vec![
        fs("RoleBinding", rbac, "", "subjects", false),
        fs("ClusterRoleBinding", rbac, "", "subjects", false),
        fs("Pod", "", "", "spec/serviceAccountName", false),
    ];
    for (k, base) in workloads_sa {
        sa.push(fs(k, "", "", &format!("{base}/serviceAccountName"), false));
    }
    out.push(NameRef {
        target: gvk("ServiceAccount", "", "v1"),
        referrers: sa,
    });
    let mut pvc = vec![fs(
        "Pod",
        "",
        "",
        "spec/volumes/persistentVolumeClaim/claimName",
        false,
    )];
    for (k, base) in workloads_sa {
        pvc.push(fs(
            k,
            "",
            "",
            &format!("{base}/volumes/persistentVolumeClaim/claimName"),
            false,
        ));
    }
    out.push(NameRef {
        target: gvk("PersistentVolumeClaim", "", "v1"),
        referrers: pvc,
    });
    out.push(NameRef {
        target: gvk("PersistentVolume", "", "v1"),
        referrers: vec![
            fs("PersistentVolumeClaim", "", "", "spec/volumeName", false),
            fs("ClusterRole", "", "", "rules/resourceNames", false),
        ],
    });
    out.push(NameRef {
        target: gvk("StorageClass", "storage.k8s.io", "v1"),
        referrers: vec![
            fs("PersistentVolume", "", "", "spec/storageClassName", false),
            fs(
                "PersistentVolumeClaim",
                "",
                "",
                "spec/storageClassName",
                false,
            ),
            fs(
                "StatefulSet",
                "",
                "",
                "spec/volumeClaimTemplates/spec/storageClassName",
                false,
            ),
        ],
    });
    let mut pc = vec![fs("Pod", "", "", "spec/priorityClassName", false)];
    for (k, base) in workloads_sa {
        pc.push(fs(k, "", "", &format!("{base}/priorityClassName"), false));
    }
    out.push(NameRef {
        target: gvk("PriorityClass", "scheduling.k8s.io", "v1"),
        referrers: pc,
    });
    out.push(NameRef {
        target: gvk("IngressClass", "networking.k8s.io/v1", "v1"),
        referrers: vec![fs("Ingress", "", "", "spec/ingressClassName", false)],
    });
    out.push(NameRef {
        target: gvk(
            "ValidatingAdmissionPolicy",
            "admissionregistration.k8s.io",
            "",
        ),
        referrers: vec![fs(
            "ValidatingAdmissionPolicyBinding",
            "admissionregistration.k8s.io",
            "",
            "spec/policyName",
            false,
        )],
    });
    out
}

/// Label locations in pod templates (metadata labels of the object and of its templates).
pub fn template_labels() -> Vec<FieldSpec> {
    vec![
        fs("", "", "", "metadata/labels", true),
        fs(
            "ReplicationController",
            "",
            "v1",
            "spec/template/metadata/labels",
            true,
        ),
        fs("Deployment", "", "", "spec/template/metadata/labels", true),
        fs("ReplicaSet", "", "", "spec/template/metadata/labels", true),
        fs("DaemonSet", "", "", "spec/template/metadata/labels", true),
        fs(
            "StatefulSet",
            "apps",
            "",
            "spec/template/metadata/labels",
            true,
        ),
        fs(
            "StatefulSet",
            "apps",
            "",
            "spec/volumeClaimTemplates[]/metadata/labels",
            true,
        ),
        fs("Job", "batch", "", "spec/template/metadata/labels", true),
        fs(
            "CronJob",
            "batch",
            "",
            "spec/jobTemplate/metadata/labels",
            true,
        ),
        fs(
            "CronJob",
            "batch",
            "",
            "spec/jobTemplate/spec/template/metadata/labels",
            true,
        ),
    ]
}

/// Selector locations plus template labels: what `commonLabels` touches.
pub fn common_labels() -> Vec<FieldSpec> {
    let mut v = vec![
        fs("Service", "", "v1", "spec/selector", true),
        fs("ReplicationController", "", "v1", "spec/selector", true),
        fs("Deployment", "", "", "spec/selector/matchLabels", true),
    ];
    let affinity = [
        "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
    ];
    for p in affinity {
        v.push(fs("Deployment", "apps", "", p, false));
    }
    v.push(fs("ReplicaSet", "", "", "spec/selector/matchLabels", true));
    v.push(fs("DaemonSet", "", "", "spec/selector/matchLabels", true));
    v.push(fs(
        "StatefulSet",
        "apps",
        "",
        "spec/selector/matchLabels",
        true,
    ));
    for p in affinity {
        v.push(fs("StatefulSet", "apps", "", p, false));
    }
    v.push(fs("Job", "batch", "", "spec/selector/matchLabels", false));
    v.push(fs(
        "CronJob",
        "batch",
        "",
        "spec/jobTemplate/spec/selector/matchLabels",
        false,
    ));
    v.push(fs(
        "PodDisruptionBudget",
        "policy",
        "",
        "spec/selector/matchLabels",
        false,
    ));
    v.push(fs(
        "NetworkPolicy",
        "networking.k8s.io",
        "",
        "spec/podSelector/matchLabels",
        false,
    ));
    v.push(fs(
        "NetworkPolicy",
        "networking.k8s.io",
        "",
        "spec/ingress/from/podSelector/matchLabels",
        false,
    ));
    v.push(fs(
        "NetworkPolicy",
        "networking.k8s.io",
        "",
        "spec/egress/to/podSelector/matchLabels",
        false,
    ));
    v.extend(template_labels());
    v
}

pub fn common_annotations() -> Vec<FieldSpec> {
    vec![
        fs("", "", "", "metadata/annotations", true),
        fs(
            "ReplicationController",
            "",
            "v1",
            "spec/template/metadata/annotations",
            true,
        ),
        fs(
            "Deployment",
            "",
            "",
            "spec/template/metadata/annotations",
            true,
        ),
        fs(
            "ReplicaSet",
            "",
            "",
            "spec/template/metadata/annotations",
            true,
        ),
        fs(
            "DaemonSet",
            "",
            "",
            "spec/template/metadata/annotations",
            true,
        ),
        fs(
            "StatefulSet",
            "",
            "",
            "spec/template/metadata/annotations",
            true,
        ),
        fs(
            "Job",
            "batch",
            "",
            "spec/template/metadata/annotations",
            true,
        ),
        fs(
            "CronJob",
            "batch",
            "",
            "spec/jobTemplate/metadata/annotations",
            true,
        ),
        fs(
            "CronJob",
            "batch",
            "",
            "spec/jobTemplate/spec/template/metadata/annotations",
            true,
        ),
    ]
}

pub fn replicas() -> Vec<FieldSpec> {
    [
        "Deployment",
        "ReplicationController",
        "ReplicaSet",
        "StatefulSet",
    ]
    .iter()
    .map(|k| fs(k, "", "", "spec/replicas", true))
    .collect()
}

/// Extra namespace locations besides `metadata/namespace`.
pub fn namespace_extra() -> Vec<FieldSpec> {
    vec![
        fs(
            "APIService",
            "apiregistration.k8s.io",
            "",
            "spec/service/namespace",
            true,
        ),
        fs(
            "CustomResourceDefinition",
            "apiextensions.k8s.io",
            "",
            "spec/conversion/webhook/clientConfig/service/namespace",
            false,
        ),
    ]
}

/// Where legacy `vars` may be referenced (`$(NAME)`): kustomize's built-in `varReference`
/// field specs, as (kind, path).
const VAR_REFERENCES: &[(&str, &str)] = &[
    (
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/args",
    ),
    (
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/command",
    ),
    (
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/env/value",
    ),
    (
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/volumeMounts/mountPath",
    ),
    (
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/args",
    ),
    (
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/command",
    ),
    (
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/env/value",
    ),
    (
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    (
        "CronJob",
        "spec/jobTemplate/spec/template/volumes/nfs/server",
    ),
    ("DaemonSet", "spec/template/spec/containers/args"),
    ("DaemonSet", "spec/template/spec/containers/command"),
    ("DaemonSet", "spec/template/spec/containers/env/value"),
    (
        "DaemonSet",
        "spec/template/spec/containers/volumeMounts/mountPath",
    ),
    ("DaemonSet", "spec/template/spec/initContainers/args"),
    ("DaemonSet", "spec/template/spec/initContainers/command"),
    ("DaemonSet", "spec/template/spec/initContainers/env/value"),
    (
        "DaemonSet",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    ("DaemonSet", "spec/template/spec/volumes/nfs/server"),
    ("Deployment", "spec/template/spec/containers/args"),
    ("Deployment", "spec/template/spec/containers/command"),
    ("Deployment", "spec/template/spec/containers/env/value"),
    (
        "Deployment",
        "spec/template/spec/containers/volumeMounts/mountPath",
    ),
    ("Deployment", "spec/template/spec/initContainers/args"),
    ("Deployment", "spec/template/spec/initContainers/command"),
    ("Deployment", "spec/template/spec/initContainers/env/value"),
    (
        "Deployment",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    ("Deployment", "spec/template/spec/volumes/nfs/server"),
    ("Deployment", "spec/template/metadata/annotations"),
    ("Ingress", "spec/rules/host"),
    ("Ingress", "spec/tls/hosts"),
    ("Ingress", "spec/tls/secretName"),
    ("Job", "spec/template/spec/containers/args"),
    ("Job", "spec/template/spec/containers/command"),
    ("Job", "spec/template/spec/containers/env/value"),
    (
        "Job",
        "spec/template/spec/containers/volumeMounts/mountPath",
    ),
    ("Job", "spec/template/spec/initContainers/args"),
    ("Job", "spec/template/spec/initContainers/command"),
    ("Job", "spec/template/spec/initContainers/env/value"),
    (
        "Job",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    ("Job", "spec/template/spec/volumes/nfs/server"),
    ("Pod", "spec/containers/args"),
    ("Pod", "spec/containers/command"),
    ("Pod", "spec/containers/env/value"),
    ("Pod", "spec/containers/volumeMounts/mountPath"),
    ("Pod", "spec/initContainers/args"),
    ("Pod", "spec/initContainers/command"),
    ("Pod", "spec/initContainers/env/value"),
    ("Pod", "spec/initContainers/volumeMounts/mountPath"),
    ("Pod", "spec/volumes/nfs/server"),
    ("ReplicaSet", "spec/template/spec/containers/args"),
    ("ReplicaSet", "spec/template/spec/containers/command"),
    ("ReplicaSet", "spec/template/spec/containers/env/value"),
    (
        "ReplicaSet",
        "spec/template/spec/containers/volumeMounts/mountPath",
    ),
    ("ReplicaSet", "spec/template/spec/initContainers/args"),
    ("ReplicaSet", "spec/template/spec/initContainers/command"),
    ("ReplicaSet", "spec/template/spec/initContainers/env/value"),
    (
        "ReplicaSet",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    ("ReplicaSet", "spec/template/spec/volumes/nfs/server"),
    ("Service", "spec/ports/port"),
    ("Service", "spec/ports/targetPort"),
    ("StatefulSet", "spec/template/spec/containers/args"),
    ("StatefulSet", "spec/template/spec/containers/command"),
    ("StatefulSet", "spec/template/spec/containers/env/value"),
    (
        "StatefulSet",
        "spec/template/spec/containers/volumeMounts/mountPath",
    ),
    ("StatefulSet", "spec/template/spec/initContainers/args"),
    ("StatefulSet", "spec/template/spec/initContainers/command"),
    ("StatefulSet", "spec/template/spec/initContainers/env/value"),
    (
        "StatefulSet",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    ("StatefulSet", "spec/volumeClaimTemplates/spec/nfs/server"),
    ("PersistentVolume", "spec/nfs/server"),
    ("", "metadata/labels"),
    ("", "metadata/annotations"),
];

pub fn var_references() -> Vec<FieldSpec> {
    VAR_REFERENCES
        .iter()
        .map(|(kind, path)| fs(kind, "", "", path, false))
        .collect()
}
