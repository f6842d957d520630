//! Reconcilers that wire sources, rendering and apply together: the GitOps loop.
//!
//! [`gitrepository`] turns GitRepositories into artifacts; [`kustomization`] renders a path of
//! a source's artifact and applies it. `tug controller` runs both in one process.

pub mod artifact;
pub mod common;
pub mod endpoints;
pub mod gitrepository;
pub mod helmchart;
pub mod helmrepository;
pub mod kustomization;
pub mod leader;
pub mod metrics;
pub mod ocirepository;
pub mod post_build;
pub mod render;
pub mod source_finish;
pub mod status;
pub mod substitute;
pub mod watch;
