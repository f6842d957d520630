//! `HelmRepository` and `HelmChart` (source.toolkit.fluxcd.io/v1), as Flux's
//! source-controller defines them: a Helm repository's index, and a chart packaged from a
//! repository or from another source's files.

use crate::duration::DURATION_PATTERN;
use crate::meta::{Artifact, LocalObjectReference};
use crate::oci::OCIRepositoryVerification;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `spec.type` of a HelmRepository served over HTTP(S) with an `index.yaml`.
pub const HELM_REPOSITORY_TYPE_DEFAULT: &str = "default";
/// `spec.type` of a HelmRepository that is an OCI registry.
pub const HELM_REPOSITORY_TYPE_OCI: &str = "oci";
/// Flux's default interval and timeout for HelmRepositories (one minute each).
pub const HELM_REPOSITORY_DEFAULT_INTERVAL: &str = "1m";
pub const HELM_REPOSITORY_DEFAULT_TIMEOUT: &str = "60s";
/// `spec.reconcileStrategy` values of a HelmChart.
pub const RECONCILE_STRATEGY_CHART_VERSION: &str = "ChartVersion";
pub const RECONCILE_STRATEGY_REVISION: &str = "Revision";

/// HelmRepository produces an artifact of a Helm repository's index (`type: default`), or
/// names an OCI registry that HelmCharts pull from (`type: oci`, no artifact).
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "HelmRepository",
    namespaced,
    status = "HelmRepositoryStatus",
    shortname = "helmrepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    printcolumn(name = "URL", type_ = "string", json_path = ".spec.url"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message"
    ),
    doc = "HelmRepository is the Schema for the helmrepositories API."
)]
#[serde(rename_all = "camelCase")]
pub struct HelmRepositorySpec {
    /// The repository: `http(s)://` for an index, `oci://` for a registry.
    #[schemars(regex(pattern = r"^(http|https|oci)://.*$"))]
    pub url: String,
    /// A Secret with `username` and `password` (basic auth), or a dockerconfigjson for OCI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// A Secret with `tls.crt`/`tls.key` (client certificate) and/or `ca.crt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Send the credentials to hosts other than the repository's too (chart URLs elsewhere).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pass_credentials: bool,
    /// How often to fetch the index; one minute when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub interval: Option<String>,
    /// Plain HTTP to an OCI registry (`type: oci` only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Timeout of the index fetch, or of the chart pull for OCI; defaults to 60s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$"))]
    pub timeout: Option<String>,
    /// Stops reconciliation while true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// Namespaces allowed to refer to this object (provisional in Flux, not enforced there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
    /// `default` (an HTTP index) or `oci`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["default", "oci"]))]
    pub repository_type: Option<String>,
    /// Authentication provider for OCI; only `generic` is implemented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["generic", "aws", "azure", "gcp"], "default" = "generic"))]
    pub provider: Option<String>,
}

impl HelmRepositorySpec {
    /// Whether this repository is an OCI registry.
    pub fn is_oci(&self) -> bool {
        self.repository_type.as_deref() == Some(HELM_REPOSITORY_TYPE_OCI)
    }

    /// The interval as written, with Flux's default.
    pub fn interval_or_default(&self) -> &str {
        self.interval
            .as_deref()
            .unwrap_or(HELM_REPOSITORY_DEFAULT_INTERVAL)
    }

    /// The timeout as written, with Flux's default.
    pub fn timeout_or_default(&self) -> &str {
        self.timeout
            .as_deref()
            .unwrap_or(HELM_REPOSITORY_DEFAULT_TIMEOUT)
    }
}

/// Flux's `acl.AccessFrom`: namespaces, by label selector, allowed to refer to an object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessFrom {
    pub namespace_selectors: Vec<NamespaceSelector>,
}

/// Namespaces whose labels match all of `matchLabels`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelector {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
}

/// Observed state of a HelmRepository.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmRepositoryStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Download link of the latest index artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The last index artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The value of `reconcile.fluxcd.io/requestedAt` last handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// HelmChart packages a chart, from a HelmRepository (by name and version range) or from the
/// files of a GitRepository or Bucket (by path), into an artifact HelmReleases install.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "HelmChart",
    namespaced,
    status = "HelmChartStatus",
    shortname = "hc",
    printcolumn(name = "Chart", type_ = "string", json_path = ".spec.chart"),
    printcolumn(name = "Version", type_ = "string", json_path = ".spec.version"),
    printcolumn(
        name = "Source Kind",
        type_ = "string",
        json_path = ".spec.sourceRef.kind"
    ),
    printcolumn(
        name = "Source Name",
        type_ = "string",
        json_path = ".spec.sourceRef.name"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message"
    ),
    doc = "HelmChart is the Schema for the helmcharts API."
)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartSpec {
    /// The chart's name in a HelmRepository, or its path in a GitRepository or Bucket.
    pub chart: String,
    /// A semver range; ignored for charts from GitRepository and Bucket sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "*"))]
    pub version: Option<String>,
    /// Where the chart is.
    pub source_ref: LocalHelmChartSourceReference,
    /// How often to check the source for a new chart.
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub interval: String,
    /// `ChartVersion` (default): a new artifact when the chart's version changes;
    /// `Revision`: also when the source's revision changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["ChartVersion", "Revision"], "default" = "ChartVersion"))]
    pub reconcile_strategy: Option<String>,
    /// Values files in the source, merged in order, that become the chart's `values.yaml`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_files: Vec<String>,
    /// Deprecated: a single values file, merged before `valuesFiles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_file: Option<String>,
    /// Skip missing values files instead of failing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_missing_values_files: bool,
    /// Stops reconciliation while true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// Namespaces allowed to refer to this object (provisional in Flux, not enforced there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
    /// Signature verification of OCI charts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<OCIRepositoryVerification>,
}

impl HelmChartSpec {
    /// The version range, with Flux's default `*`.
    pub fn version_or_default(&self) -> &str {
        match self.version.as_deref() {
            None | Some("") => "*",
            Some(v) => v,
        }
    }

    /// The values files in merge order: the deprecated `valuesFile` first, as Flux does.
    pub fn all_values_files(&self) -> Vec<String> {
        self.values_file
            .iter()
            .filter(|f| !f.is_empty())
            .chain(self.values_files.iter())
            .cloned()
            .collect()
    }
}

/// The source a HelmChart is taken from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalHelmChartSourceReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `HelmRepository`, `GitRepository` or `Bucket`.
    #[schemars(extend("enum" = ["HelmRepository", "GitRepository", "Bucket"]))]
    pub kind: String,
    pub name: String,
}

/// Observed state of a HelmChart.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The source's artifact revision the last artifact was built from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_source_artifact_revision: Option<String>,
    /// The chart name of the last artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_chart_name: Option<String>,
    /// The values files of the last artifact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed_values_files: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Download link of the latest chart artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The last packaged chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The value of `reconcile.fluxcd.io/requestedAt` last handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}
