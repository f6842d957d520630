//! Flux-compatible API types for tug.
//!
//! tug serves Flux's APIs unchanged, so the types here use Flux's group names, versions, field
//! names, defaults and status layout. Everything is plain data: no I/O, so every other crate can
//! depend on it cheaply.

// kube's CustomResource derive takes repeated keys (category, printcolumn) by design.
#![allow(clippy::duplicated_attributes)]

pub mod conditions;
pub mod crds;
pub mod duration;
pub mod helm_source;
pub mod kustomization;
pub mod meta;
pub mod oci;
pub mod revision;
pub mod source;

pub use helm_source::{
    HelmChart, HelmChartSpec, HelmChartStatus, HelmRepository, HelmRepositorySpec,
    HelmRepositoryStatus,
};
pub use kustomization::{Kustomization, KustomizationSpec, KustomizationStatus};
pub use oci::{OCIRepository, OCIRepositorySpec, OCIRepositoryStatus};
pub use source::{GitRepository, GitRepositorySpec, GitRepositoryStatus};

/// The field manager tug uses for every write unless configured otherwise.
pub const DEFAULT_FIELD_MANAGER: &str = "tug";

/// The annotation Flux's CLI sets to ask for an immediate reconcile.
pub const RECONCILE_REQUEST_ANNOTATION: &str = "reconcile.fluxcd.io/requestedAt";
