//! Server-side apply of one object, writing only when the result would differ from the live
//! object: a no-op apply sends no write request.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::Value;

/// What applying an object did, in Flux's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Created,
    Configured,
    Unchanged,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Unchanged => "unchanged",
        })
    }
}

/// How to apply.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// The field manager recorded in `managedFields`.
    pub field_manager: String,
    /// Take over fields owned by other managers instead of failing on conflicts.
    pub force_conflicts: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            field_manager: tug_api::DEFAULT_FIELD_MANAGER.to_string(),
            force_conflicts: true,
        }
    }
}

/// An apply that failed, naming the object.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{object}: object has no name")]
    NoName { object: String },
    #[error("{object}: reading the live object failed: {source}")]
    Get { object: String, source: kube::Error },
    #[error("{object}: dry-run apply failed: {source}")]
    DryRun { object: String, source: kube::Error },
    #[error("{object}: apply failed: {source}")]
    Apply { object: String, source: kube::Error },
}

/// Applies `obj` server-side unless a dry-run shows the live object would not change.
pub async fn apply_one(
    api: &Api<DynamicObject>,
    obj: &DynamicObject,
    opts: &ApplyOptions,
) -> Result<Action, ApplyError> {
    let kind = obj
        .types
        .as_ref()
        .map(|t| t.kind.as_str())
        .unwrap_or("object");
    let object = format!("{kind}/{}", obj.metadata.name.as_deref().unwrap_or(""));
    let name = obj
        .metadata
        .name
        .as_deref()
        .ok_or_else(|| ApplyError::NoName {
            object: object.clone(),
        })?;
    let mut params = PatchParams::apply(&opts.field_manager);
    params.force = opts.force_conflicts;
    let live = api.get_opt(name).await.map_err(|source| ApplyError::Get {
        object: object.clone(),
        source,
    })?;
    let Some(live) = live else {
        api.patch(name, &params, &Patch::Apply(obj))
            .await
            .map_err(|source| ApplyError::Apply { object, source })?;
        return Ok(Action::Created);
    };
    let dry = api
        .patch(name, &params.clone().dry_run(), &Patch::Apply(obj))
        .await
        .map_err(|source| ApplyError::DryRun {
            object: object.clone(),
            source,
        })?;
    if comparable(&live) == comparable(&dry) {
        return Ok(Action::Unchanged);
    }
    api.patch(name, &params, &Patch::Apply(obj))
        .await
        .map_err(|source| ApplyError::Apply { object, source })?;
    Ok(Action::Configured)
}

/// The object without the fields the apiserver changes on every write attempt.
fn comparable(obj: &DynamicObject) -> Value {
    let mut v = serde_json::to_value(obj).unwrap_or(Value::Null);
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
        meta.remove("generation");
        if let Some(Value::Array(fields)) = meta.get_mut("managedFields") {
            for entry in fields.iter_mut().filter_map(Value::as_object_mut) {
                entry.remove("time");
            }
        }
    }
    v
}
