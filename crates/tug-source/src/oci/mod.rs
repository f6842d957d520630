//! OCI registries, natively: the distribution spec's v2 protocol over blocking reqwest
//! (anonymous, basic and bearer-token auth), and Flux's artifacts on top of it.
//!
//! - [`OciUrl`] parses `oci://host/repo[:tag][@sha256:...]`.
//! - [`Client`] resolves references to digests (a HEAD, so an unchanged artifact costs one
//!   request), fetches manifests and blobs with size limits and digest checks, lists tags,
//!   pushes blobs and manifests, tags.
//! - [`artifact`] builds, pushes and pulls Flux's artifacts (a gzip tarball layer of media type
//!   [`FLUX_CONTENT_MEDIA_TYPE`] with the source and revision as manifest annotations) and
//!   reads Helm's OCI charts ([`HELM_CHART_MEDIA_TYPE`]).

pub mod artifact;
pub mod auth;
pub mod client;
pub mod digest;
pub mod error;
mod tls;
pub mod untar;
pub mod url;

pub use artifact::{
    build_layer, flux_revision, pull_artifact, pull_if_changed, push_artifact, BuiltLayer,
    LayerSelector, Operation, PullLimits, PulledArtifact, PushMeta,
};
pub use auth::{parse_challenge, Challenge, Credentials, DockerConfig};
pub use client::{Client, ClientOptions, FetchedManifest};
pub use error::{Error, Result};
pub use url::OciUrl;

use std::collections::BTreeMap;

/// OCI image manifest.
pub const OCI_MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// Docker's v2 schema 2 manifest.
pub const DOCKER_MANIFEST_MEDIA_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker's manifest list.
pub const DOCKER_MANIFEST_LIST_MEDIA_TYPE: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// The config of Flux's artifacts.
pub const FLUX_CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.flux.config.v1+json";
/// The layer of Flux's artifacts: a gzip tarball of a directory.
pub const FLUX_CONTENT_MEDIA_TYPE: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";
/// A Helm chart archive pushed with `helm push`.
pub const HELM_CHART_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// The config of a Helm chart (its Chart.yaml as JSON).
pub const HELM_CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";

/// Flux's annotation for the artifact's source (a Git URL, say).
pub const SOURCE_ANNOTATION: &str = "org.opencontainers.image.source";
/// Flux's annotation for the source's revision (`main@sha1:...`).
pub const REVISION_ANNOTATION: &str = "org.opencontainers.image.revision";
/// When the artifact was made (RFC 3339).
pub const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";

/// Layer media types tug knows how to read.
pub const KNOWN_LAYER_MEDIA_TYPES: &[&str] = &[FLUX_CONTENT_MEDIA_TYPE, HELM_CHART_MEDIA_TYPE];

/// What a manifest's entry points at: a config, a layer, or (from a resolve) the manifest.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub size: u64,
    pub digest: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI (or Docker v2) image manifest.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageManifest {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(
        rename = "artifactType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}
