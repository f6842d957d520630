//! Which resource serves a kind, and whether it is namespaced: asked of the apiserver once per
//! group-version and cached, and asked again when a kind is unknown (a CRD applied moments
//! ago, for instance).

use kube::api::ApiResource;
use kube::Client;
use std::collections::HashMap;
use tokio::sync::RwLock;

/// A kind the apiserver does not serve.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("no matches for kind {kind:?} in version {api_version:?}: is its CustomResourceDefinition installed?")]
    UnknownKind { api_version: String, kind: String },
    #[error("discovery of {api_version} failed: {source}")]
    Api {
        api_version: String,
        source: kube::Error,
    },
}

/// The resource serving a kind, and its scope.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub resource: ApiResource,
    pub namespaced: bool,
}

/// Discovery, cached per group-version.
pub struct Discovery {
    client: Client,
    cache: RwLock<HashMap<String, HashMap<String, Resolved>>>,
}

impl Discovery {
    pub fn new(client: Client) -> Self {
        Discovery {
            client,
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// Resolves `kind` in `api_version`, refreshing that group-version once when it is unknown.
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<Resolved, DiscoveryError> {
        if let Some(found) = self
            .cache
            .read()
            .await
            .get(api_version)
            .and_then(|kinds| kinds.get(kind))
        {
            return Ok(found.clone());
        }
        let kinds = self.fetch(api_version).await?;
        let found = kinds.get(kind).cloned();
        self.cache
            .write()
            .await
            .insert(api_version.to_string(), kinds);
        found.ok_or_else(|| DiscoveryError::UnknownKind {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        })
    }

    /// Forgets everything, e.g. after CRDs changed.
    pub async fn invalidate(&self) {
        self.cache.write().await.clear();
    }

    async fn fetch(&self, api_version: &str) -> Result<HashMap<String, Resolved>, DiscoveryError> {
        let list = if api_version.contains('/') {
            self.client.list_api_group_resources(api_version).await
        } else {
            self.client.list_core_api_resources(api_version).await
        };
        let list = match list {
            Ok(list) => list,
            // The group-version is not served at all: every kind in it is unknown.
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(HashMap::new()),
            Err(source) => {
                return Err(DiscoveryError::Api {
                    api_version: api_version.to_string(),
                    source,
                })
            }
        };
        let (group, version) = crate::object::split_api_version(api_version);
        let mut kinds = HashMap::new();
        for r in list.resources {
            if r.name.contains('/') {
                continue; // subresources
            }
            let resource = ApiResource {
                group: group.to_string(),
                version: version.to_string(),
                api_version: api_version.to_string(),
                kind: r.kind.clone(),
                plural: r.name.clone(),
            };
            kinds.insert(
                r.kind,
                Resolved {
                    resource,
                    namespaced: r.namespaced,
                },
            );
        }
        Ok(kinds)
    }
}
