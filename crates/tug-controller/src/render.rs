//! Rendering a Kustomization's path into objects to apply: a kustomize build when the path
//! has a kustomization file, otherwise every manifest under it (Flux generates a
//! kustomization listing them; the result is the same set of objects).

use std::path::{Path, PathBuf};
use tug_kustomize::fs::RealFs;
use tug_kustomize::LoadRestrictor;

/// A render that failed, naming the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{path}: no such directory")]
    NoDirectory { path: PathBuf },
    #[error("kustomize build of {path} failed: {source}")]
    Kustomize {
        path: PathBuf,
        source: tug_kustomize::Error,
    },
    #[error("{file}: {message}")]
    Manifest { file: PathBuf, message: String },
    #[error("{file}: reading failed: {source}")]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
}

const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Renders `dir` into JSON objects, in kustomize's output order.
pub fn render_dir(dir: &Path) -> Result<Vec<serde_json::Value>, RenderError> {
    if !dir.is_dir() {
        return Err(RenderError::NoDirectory {
            path: dir.to_path_buf(),
        });
    }
    if KUSTOMIZATION_FILES.iter().any(|f| dir.join(f).is_file()) {
        let resources =
            tug_kustomize::build_dir(&RealFs, dir, LoadRestrictor::RootOnly).map_err(|source| {
                RenderError::Kustomize {
                    path: dir.to_path_buf(),
                    source,
                }
            })?;
        return resources
            .iter()
            .map(|r| {
                serde_json::from_str(&tug_kustomize::yaml::json::to_json(&r.obj)).map_err(|e| {
                    RenderError::Manifest {
                        file: dir.to_path_buf(),
                        message: e.to_string(),
                    }
                })
            })
            .collect();
    }
    let mut files = Vec::new();
    collect_manifests(dir, &mut files)?;
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| RenderError::Io {
            file: file.clone(),
            source,
        })?;
        let docs = tug_kustomize::yaml::parse::parse_documents(&text).map_err(|e| {
            RenderError::Manifest {
                file: file.clone(),
                message: e.to_string(),
            }
        })?;
        for doc in docs {
            let value: serde_json::Value =
                serde_json::from_str(&tug_kustomize::yaml::json::to_json(&doc)).map_err(|e| {
                    RenderError::Manifest {
                        file: file.clone(),
                        message: e.to_string(),
                    }
                })?;
            if value.is_null() {
                continue;
            }
            // Files that are not Kubernetes objects (values files, docs) are not manifests.
            if value.get("apiVersion").is_none() || value.get("kind").is_none() {
                continue;
            }
            if value.get("kind").and_then(|k| k.as_str()) == Some("List") {
                if let Some(items) = value.get("items").and_then(|i| i.as_array()) {
                    out.extend(items.iter().cloned());
                }
                continue;
            }
            out.push(value);
        }
    }
    Ok(out)
}

fn collect_manifests(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), RenderError> {
    let entries = std::fs::read_dir(dir).map_err(|source| RenderError::Io {
        file: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| RenderError::Io {
            file: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        // Symlinks are not followed: they could point outside the repository.
        let file_type = entry.file_type().map_err(|source| RenderError::Io {
            file: path.clone(),
            source,
        })?;
        if file_type.is_dir() {
            collect_manifests(&path, out)?;
        } else if file_type.is_file()
            && matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            )
        {
            out.push(path);
        }
    }
    Ok(())
}
