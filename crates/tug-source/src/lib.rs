//! tug-source: fetches Git repositories with gitoxide and turns a commit into a Flux artifact.
//!
//! The flow of one reconcile, as Flux's source-controller does it:
//! 1. [`Reference::from_spec`] reads `spec.ref` (default: branch `master`).
//! 2. [`fetch`] lists the remote ref; when it still points at the last artifact's revision it
//!    returns [`FetchOutcome::Unchanged`] without downloading anything, otherwise a shallow
//!    [`Checkout`] of the new commit.
//! 3. [`Checkout::archive`] packs the commit's tree, filtered by `.sourceignore` and
//!    `spec.ignore`, into a deterministic tar.gz stored content-addressed in [`Storage`], and
//!    returns the `status.artifact`.
//! 4. [`Storage::garbage_collect`] keeps the last few artifacts.
//!
//! Everything here is blocking I/O; async callers run it on a blocking thread.

pub mod archive;
pub mod auth;
pub mod error;
pub mod fetch;
pub mod helm;
pub mod helm_chart;
pub mod helm_repository;
pub mod ignore;
pub mod include;
pub mod oci;
pub mod oci_repository;
pub mod outcome;
pub mod reconcile;
pub mod reference;
pub mod semver_range;
pub mod server;
pub mod storage;
pub mod verify;

pub use auth::{Auth, SshAuth};
pub use error::{Error, Result};
pub use fetch::{fetch, fetch_with, Checkout, FetchOptions, FetchOutcome, FetchRequest};
pub use reference::Reference;
pub use storage::{Storage, DEFAULT_RETENTION_RECORDS};
