//! One module per subcommand.

pub mod check;
pub mod install;
pub mod kustomization;
pub mod kustomize;
pub mod source;
pub mod version;
