//! Typed errors. Each names the file or field at fault; several carry the same keywords
//! kustomize prints so that users (and scripts) can recognise the situation.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("evalsymlink failure on '{path}' : lstat {path}: no such file or directory")]
    NotFound { path: PathBuf },
    #[error("reading '{path}': {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("security; file '{path}' is not in or below '{root}'")]
    Security { path: PathBuf, root: PathBuf },
    #[error("MalformedYAMLError: {message} in File: {file}")]
    Yaml { file: String, message: String },
    #[error("unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{0}'")]
    NoKustomization(PathBuf),
    #[error("Found multiple kustomization files under: {0}")]
    MultipleKustomizations(PathBuf),
    #[error("invalid Kustomization: json: unknown field \"{field}\" in {file}")]
    UnknownField { file: String, field: String },
    #[error("invalid Kustomization: json: cannot unmarshal {found} into Go struct field Kustomization.{field} of type {expected} (in {file})")]
    FieldType {
        file: String,
        field: String,
        found: String,
        expected: String,
    },
    #[error("cycle detected: '{0}' is already being accumulated")]
    Cycle(PathBuf),
    #[error("expected kind != 'Component' for path '{0}'")]
    ComponentAsResource(PathBuf),
    #[error("expected kind 'Component' for path '{0}'")]
    NotAComponent(PathBuf),
    #[error("may not add resource with an already registered id: {0}")]
    DuplicateId(String),
    #[error("remote resource '{0}' is not supported yet (remote bases need network access)")]
    Remote(String),
    #[error("helmCharts are not supported yet (in {0})")]
    Helm(String),
    #[error("{0}")]
    Msg(String),
}

pub type Result<T> = std::result::Result<T, Error>;

pub fn msg(s: impl Into<String>) -> Error {
    Error::Msg(s.into())
}
