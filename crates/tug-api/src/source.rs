//! `GitRepository` (source.toolkit.fluxcd.io/v1), as Flux's source-controller defines it.

use crate::duration::DURATION_PATTERN;
use crate::meta::{Artifact, LocalObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const GROUP: &str = "source.toolkit.fluxcd.io";
pub const VERSION: &str = "v1";

/// The branch Flux checks out when `spec.ref` names none.
pub const DEFAULT_BRANCH: &str = "master";
/// Flux's default `spec.timeout` for Git operations.
pub const DEFAULT_TIMEOUT: &str = "60s";

/// GitRepository fetches a Git repository at a reference and produces an artifact of its tree.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "GitRepository",
    namespaced,
    status = "GitRepositoryStatus",
    shortname = "gitrepo",
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
    doc = "GitRepository is the Schema for the gitrepositories API."
)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositorySpec {
    /// URL of the Git repository: http, https, ssh, git or file.
    #[schemars(regex(pattern = r"^(http|https|ssh|git|file)://.*$"))]
    pub url: String,
    /// Secret with authentication credentials: `username`/`password`, `bearerToken`, or
    /// `identity`/`identity.pub`/`known_hosts` for SSH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// OIDC provider used for authentication (`generic` uses `secretRef`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["generic", "aws", "azure", "github"]))]
    pub provider: Option<String>,
    /// Service account for provider authentication (azure, aws).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// How often to check the repository for new revisions.
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub interval: String,
    /// Timeout for Git operations; defaults to 60s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$"), extend("default" = "60s"))]
    pub timeout: Option<String>,
    /// Git reference to check out; defaults to the `master` branch.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRepositoryRef>,
    /// Verification of the commit or tag signature.
    #[serde(rename = "verify", default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<GitRepositoryVerification>,
    /// Secret with proxy settings (`address`, `username`, `password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// Extra ignore rules in .gitignore syntax; replace the defaults when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Stops reconciliation while true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// Also fetches Git submodules.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recurse_submodules: bool,
    /// Artifacts of other GitRepositories to include in this one's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<GitRepositoryInclude>,
    /// Directories to check out, instead of the whole tree.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sparse_checkout: Vec<String>,
}

/// Which Git reference to check out. Precedence as Flux: commit, name, semver, tag, branch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// A semver range; the highest matching tag is checked out.
    #[serde(default, rename = "semver", skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
    /// Any reference, e.g. `refs/pull/1/head`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A commit SHA, alone or within `branch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// Signature verification settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryVerification {
    /// What to verify: `HEAD` (the commit), `Tag`, or `TagAndHEAD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["head", "HEAD", "Tag", "TagAndHEAD"], "default" = "HEAD"))]
    pub mode: Option<String>,
    /// Secret holding the trusted public keys.
    pub secret_ref: LocalObjectReference,
}

/// Another GitRepository's artifact to copy into this one's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryInclude {
    /// The GitRepository to include.
    pub repository: LocalObjectReference,
    /// Path to copy from; defaults to the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_path: Option<String>,
    /// Path to copy to; defaults to the included repository's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_path: Option<String>,
}

/// Observed state of a GitRepository.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The last successfully produced artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub included_artifacts: Vec<Artifact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub observed_recurse_submodules: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed_include: Vec<GitRepositoryInclude>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed_sparse_checkout: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_verification_mode: Option<String>,
    /// The value of `reconcile.fluxcd.io/requestedAt` last handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

impl GitRepositorySpec {
    /// The reference to check out, with Flux's default (`master`) when none is given.
    pub fn reference_or_default(&self) -> GitRepositoryRef {
        match &self.reference {
            Some(r) if *r != GitRepositoryRef::default() => r.clone(),
            _ => GitRepositoryRef {
                branch: Some(DEFAULT_BRANCH.to_string()),
                ..Default::default()
            },
        }
    }

    /// The Git operation timeout as written, with Flux's default.
    pub fn timeout_or_default(&self) -> &str {
        self.timeout.as_deref().unwrap_or(DEFAULT_TIMEOUT)
    }
}
