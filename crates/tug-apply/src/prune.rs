//! Prune: deletes objects that left the set, newest stage first (namespaces and CRDs last, so
//! their contents go before them), and only objects that carry the owner's labels and do not
//! opt out with `kustomize.toolkit.fluxcd.io/prune: disabled`.

use crate::apply::{keys, Action, Change, ChangeSet, Owner};
use crate::discovery::Discovery;
use crate::object::VersionedId;
use futures::{stream, StreamExt};
use kube::api::{Api, DeleteParams, DynamicObject};
use kube::Client;

/// A prune that failed; `partial` holds what was deleted before.
#[derive(Debug, thiserror::Error)]
#[error("prune failed: {}", .failures.join("; "))]
pub struct PruneError {
    pub failures: Vec<String>,
    pub partial: ChangeSet,
}

/// Objects deleted at once within a stage.
const CONCURRENCY: usize = 16;

/// Deletes `stale` objects owned by `owner`.
pub async fn prune(
    client: &Client,
    discovery: &Discovery,
    owner: &Owner,
    stale: &[VersionedId],
) -> Result<ChangeSet, PruneError> {
    // Reverse stage order: ordinary objects, then classes, then namespaces and CRDs. Each
    // stage is deleted concurrently, and finished before the next starts.
    let mut stages: [Vec<&VersionedId>; 3] = Default::default();
    for v in stale {
        let stage = match v.id.kind.as_str() {
            "CustomResourceDefinition" | "Namespace" => 2,
            k if k.ends_with("Class") => 1,
            _ => 0,
        };
        stages[stage].push(v);
    }
    let mut changes = ChangeSet::default();
    let mut failures = Vec::new();
    for stage in stages {
        let deleting: Vec<_> = stage
            .into_iter()
            .map(|v| async move { (v, prune_one(client, discovery, owner, v).await) })
            .collect();
        let results: Vec<_> = stream::iter(deleting).buffered(CONCURRENCY).collect().await;
        for (v, result) in results {
            match result {
                Ok(Some(action)) => changes.changes.push(Change {
                    id: v.clone(),
                    action,
                    health: None,
                }),
                Ok(None) => {}
                Err(e) => failures.push(e),
            }
        }
    }
    if failures.is_empty() {
        Ok(changes)
    } else {
        Err(PruneError {
            failures,
            partial: changes,
        })
    }
}

async fn prune_one(
    client: &Client,
    discovery: &Discovery,
    owner: &Owner,
    v: &VersionedId,
) -> Result<Option<Action>, String> {
    let resolved = match discovery.resolve(&v.api_version(), &v.id.kind).await {
        Ok(r) => r,
        // The kind is gone (its CRD was deleted): so are its objects.
        Err(crate::discovery::DiscoveryError::UnknownKind { .. }) => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", v.id)),
    };
    let api: Api<DynamicObject> = if resolved.namespaced {
        Api::namespaced_with(client.clone(), &v.id.namespace, &resolved.resource)
    } else {
        Api::all_with(client.clone(), &resolved.resource)
    };
    let live = match api.get_opt(&v.id.name).await {
        Ok(Some(o)) => o,
        Ok(None) => return Ok(None),
        Err(e) => return Err(format!("{}: {}", v.id, crate::describe(&e))),
    };
    let labels = live.metadata.labels.clone().unwrap_or_default();
    let owned = labels.get(keys::OWNER_NAME) == Some(&owner.name)
        && labels.get(keys::OWNER_NAMESPACE) == Some(&owner.namespace);
    let annotations = live.metadata.annotations.clone().unwrap_or_default();
    if !owned || annotations.get(keys::PRUNE).map(String::as_str) == Some(keys::DISABLED) {
        return Ok(Some(Action::Skipped));
    }
    if live.metadata.deletion_timestamp.is_some() {
        return Ok(Some(Action::Deleted));
    }
    match api.delete(&v.id.name, &DeleteParams::background()).await {
        Ok(_) => Ok(Some(Action::Deleted)),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(format!("{}: delete failed: {}", v.id, crate::describe(&e))),
    }
}
