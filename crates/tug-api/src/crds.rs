//! The CustomResourceDefinitions tug serves, generated from the types in this crate.
//!
//! The schemas must stay structural and free of CEL so that a Kubernetes 1.20 apiserver
//! accepts them; `crates/tug/tests/install.rs` installs them into a real one.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use crate::{GitRepository, HelmChart, HelmRepository, Kustomization, OCIRepository};

/// Every CRD tug installs, in the order they are applied.
pub fn all() -> Vec<CustomResourceDefinition> {
    vec![
        with_flux_status_default(GitRepository::crd()),
        with_flux_status_default(OCIRepository::crd()),
        with_flux_status_default(HelmRepository::crd()),
        with_flux_status_default(HelmChart::crd()),
        with_flux_status_default(Kustomization::crd()),
    ]
}

/// Flux's CRDs default `status` to `{"observedGeneration": -1}`, so that a freshly created
/// object reads as "never reconciled" to tools like `kstatus`.
fn with_flux_status_default(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        let status = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
            .and_then(|root| root.properties.as_mut())
            .and_then(|props| props.get_mut("status"));
        if let Some(status) = status {
            status.default = Some(
                k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSON(
                    serde_json::json!({ "observedGeneration": -1 }),
                ),
            );
            status.nullable = None;
        }
    }
    crd
}

/// Names of every CRD tug installs (`<plural>.<group>`).
pub fn names() -> Vec<String> {
    all().into_iter().filter_map(|c| c.metadata.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;

    fn walk(schema: &JSONSchemaProps, f: &mut impl FnMut(&JSONSchemaProps)) {
        f(schema);
        for p in schema.properties.iter().flat_map(|m| m.values()) {
            walk(p, f);
        }
    }

    #[test]
    fn crds_carry_flux_names_and_columns() {
        let crds = all();
        let names: Vec<_> = crds
            .iter()
            .map(|c| c.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "gitrepositories.source.toolkit.fluxcd.io",
                "ocirepositories.source.toolkit.fluxcd.io",
                "helmrepositories.source.toolkit.fluxcd.io",
                "helmcharts.source.toolkit.fluxcd.io",
                "kustomizations.kustomize.toolkit.fluxcd.io"
            ]
        );
        let short = |i: usize| crds[i].spec.names.short_names.clone().unwrap_or_default();
        assert_eq!(short(1), ["ocirepo"]);
        assert_eq!(short(2), ["helmrepo"]);
        assert_eq!(short(3), ["hc"]);
        let columns = |i: usize| -> Vec<String> {
            crds[i].spec.versions[0]
                .additional_printer_columns
                .iter()
                .flatten()
                .map(|c| c.name.clone())
                .collect()
        };
        assert_eq!(columns(1), ["URL", "Ready", "Status", "Age"]);
        assert_eq!(columns(2), ["URL", "Age", "Ready", "Status"]);
        assert_eq!(
            columns(3),
            [
                "Chart",
                "Version",
                "Source Kind",
                "Source Name",
                "Age",
                "Ready",
                "Status"
            ]
        );
        let ks = &crds[4];
        assert_eq!(
            ks.spec.names.short_names.as_deref(),
            Some(&["ks".to_string()][..])
        );
        let cols: Vec<_> = ks.spec.versions[0]
            .additional_printer_columns
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(cols, ["Age", "Ready", "Status"]);
        let gr = &crds[0];
        assert_eq!(
            gr.spec.names.short_names.as_deref(),
            Some(&["gitrepo".to_string()][..])
        );
    }

    #[test]
    fn schemas_use_no_keywords_a_1_20_apiserver_rejects() {
        for crd in all() {
            let v = &crd.spec.versions[0];
            let root = v
                .schema
                .as_ref()
                .unwrap()
                .open_api_v3_schema
                .as_ref()
                .unwrap();
            walk(root, &mut |s| {
                assert!(
                    s.x_kubernetes_validations.is_none(),
                    "CEL rules are not served by 1.20"
                );
                assert!(
                    s.one_of.is_none() && s.any_of.is_none(),
                    "unions are not structural"
                );
            });
        }
    }
}
