//! One module per subcommand.

pub mod artifact;
pub mod check;
pub mod controller;
pub mod create;
pub mod create_source;
pub mod helm;
pub mod install;
pub mod kustomization;
pub mod kustomize;
pub mod objects;
pub mod source;
pub mod version;
