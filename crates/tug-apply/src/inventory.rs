//! The inventory: which objects an owner applied, in Flux's `status.inventory` format, and
//! what left it between two reconciles.

use crate::apply::ChangeSet;
use crate::object::{InventoryIdError, VersionedId};
use std::collections::HashSet;
use tug_api::kustomization::ResourceInventory;

/// The inventory of a change set: every object applied or skipped (a skipped object is still
/// owned, so it must not be pruned), sorted by id as Flux sorts it.
pub fn from_change_set(changes: &ChangeSet) -> ResourceInventory {
    let mut entries: Vec<_> = changes
        .changes
        .iter()
        .map(|c| c.id.to_inventory())
        .collect();
    entries.sort();
    entries.dedup();
    ResourceInventory { entries }
}

/// Parses an inventory into ids; an entry Flux would not have written is an error.
pub fn ids(inventory: &ResourceInventory) -> Result<Vec<VersionedId>, InventoryIdError> {
    inventory
        .entries
        .iter()
        .map(VersionedId::from_inventory)
        .collect()
}

/// Objects in `old` that are not in `new` (compared without version: an object moved to a
/// newer API version is the same object).
pub fn stale(
    old: &ResourceInventory,
    new: &ResourceInventory,
) -> Result<Vec<VersionedId>, InventoryIdError> {
    let keep: HashSet<_> = ids(new)?.into_iter().map(|v| v.id).collect();
    Ok(ids(old)?
        .into_iter()
        .filter(|v| !keep.contains(&v.id))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tug_api::kustomization::ResourceRef;

    fn inv(ids: &[(&str, &str)]) -> ResourceInventory {
        ResourceInventory {
            entries: ids
                .iter()
                .map(|(id, v)| ResourceRef {
                    id: id.to_string(),
                    v: v.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn stale_ignores_version_changes() {
        let old = inv(&[
            ("ns_a__ConfigMap", "v1"),
            ("ns_b_apps_Deployment", "v1beta1"),
            ("_ns__Namespace", "v1"),
        ]);
        let new = inv(&[("ns_b_apps_Deployment", "v1"), ("_ns__Namespace", "v1")]);
        let stale = stale(&old, &new).unwrap();
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].id.to_string(), "ConfigMap/ns/a");
    }

    #[test]
    fn malformed_entries_are_errors() {
        assert!(stale(&inv(&[("garbage", "v1")]), &inv(&[])).is_err());
    }
}
