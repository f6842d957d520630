//! tug-kustomize: a pure, in-process kustomize engine whose output is byte-identical with
//! `kubectl kustomize` (Kustomize v5.5.0). No cluster, no network: it reads only through a
//! [`fs::FileSystem`].
//!
//! ```no_run
//! use tug_kustomize::{build_dir, fs::RealFs, LoadRestrictor};
//! let yaml = build_dir(&RealFs, std::path::Path::new("overlays/prod"), LoadRestrictor::RootOnly)
//!     .map(|rs| tug_kustomize::to_yaml(&rs));
//! ```
//!
//! A process that builds many kustomizations sharing files (overlays of one base) keeps one
//! [`Cache`] and calls [`Cache::build_dir`]: each distinct file text is parsed once, and the
//! output is the same as [`build_dir`]'s.

pub mod build;
mod cache;
mod defaults;
pub mod error;
pub mod fieldspec;
pub mod fs;
mod generator;
mod images;
pub mod kustomization;
mod nameref;
mod openapi;
mod origin;
mod patch;
mod replacements;
pub mod resource;
mod transform;
mod vars;
pub mod yaml;

pub use build::LoadRestrictor;
pub use cache::{Cache, CacheStats};
pub use error::{Error, Result};
pub use resource::Resource;

/// Builds the kustomization in `dir` into its final list of resources.
pub fn build_dir(
    fs: &dyn fs::FileSystem,
    dir: &std::path::Path,
    restrictor: LoadRestrictor,
) -> Result<Vec<Resource>> {
    build::Builder::new(fs, restrictor).build(dir)
}

/// Serialises resources exactly as `kubectl kustomize` prints them.
pub fn to_yaml(resources: &[Resource]) -> String {
    let mut out = String::new();
    for (i, r) in resources.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&yaml::to_yaml(&r.obj));
    }
    out
}
