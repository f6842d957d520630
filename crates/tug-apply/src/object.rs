//! Object identity as Flux records it: group, kind, namespace and name (plus the version the
//! object was applied with). Its inventory form is `<namespace>_<name>_<group>_<kind>`.

use std::fmt;
use tug_api::kustomization::ResourceRef;

/// Identifies one Kubernetes object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    pub group: String,
    pub kind: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

/// An object id plus the API version it is served at.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionedId {
    pub id: ObjectId,
    pub version: String,
}

/// An inventory entry that is not of the form Flux writes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid inventory entry {0:?}: expected <namespace>_<name>_<group>_<kind>")]
pub struct InventoryIdError(pub String);

impl ObjectId {
    /// Flux's inventory id. Names, namespaces and kinds cannot contain `_`, so it splits back
    /// unambiguously.
    pub fn inventory_id(&self) -> String {
        format!(
            "{}_{}_{}_{}",
            self.namespace, self.name, self.group, self.kind
        )
    }

    pub fn parse_inventory_id(s: &str) -> Result<ObjectId, InventoryIdError> {
        let parts: Vec<&str> = s.split('_').collect();
        if parts.len() != 4 || parts[1].is_empty() || parts[3].is_empty() {
            return Err(InventoryIdError(s.to_string()));
        }
        Ok(ObjectId {
            namespace: parts[0].into(),
            name: parts[1].into(),
            group: parts[2].into(),
            kind: parts[3].into(),
        })
    }

    /// `apiVersion` for a given version of this object's group.
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }
}

impl fmt::Display for ObjectId {
    /// `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects, as Flux prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

impl VersionedId {
    pub fn to_inventory(&self) -> ResourceRef {
        ResourceRef {
            id: self.id.inventory_id(),
            v: self.version.clone(),
        }
    }

    pub fn from_inventory(entry: &ResourceRef) -> Result<VersionedId, InventoryIdError> {
        Ok(VersionedId {
            id: ObjectId::parse_inventory_id(&entry.id)?,
            version: entry.v.clone(),
        })
    }

    pub fn api_version(&self) -> String {
        self.id.api_version(&self.version)
    }
}

/// Splits `apiVersion` into group and version (`v1` → `("", "v1")`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_ids_round_trip_in_flux_format() {
        let id = ObjectId {
            group: "apps".into(),
            kind: "Deployment".into(),
            namespace: "podinfo".into(),
            name: "web".into(),
        };
        assert_eq!(id.inventory_id(), "podinfo_web_apps_Deployment");
        assert_eq!(
            ObjectId::parse_inventory_id("podinfo_web_apps_Deployment").unwrap(),
            id
        );
        let ns = ObjectId {
            group: "".into(),
            kind: "Namespace".into(),
            namespace: "".into(),
            name: "podinfo".into(),
        };
        assert_eq!(ns.inventory_id(), "_podinfo__Namespace");
        assert_eq!(
            ObjectId::parse_inventory_id("_podinfo__Namespace").unwrap(),
            ns
        );
        assert_eq!(ns.to_string(), "Namespace/podinfo");
        assert_eq!(id.to_string(), "Deployment/podinfo/web");
        assert!(ObjectId::parse_inventory_id("a_b_c").is_err());
        assert!(ObjectId::parse_inventory_id("ns__apps_Deployment").is_err());
    }
}
