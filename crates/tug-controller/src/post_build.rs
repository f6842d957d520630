//! A Kustomization's `spec.postBuild`: variables gathered from `substituteFrom` (ConfigMaps
//! and Secrets read from the cluster) and `substitute`, then substituted over the built
//! objects. The controller and the CLI (`tug build|diff|apply kustomization`, as `flux build
//! kustomization` does) share it, so a preview shows what the controller applies.

use crate::substitute::{self, SubstituteError};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use kube::Client;
use serde_json::Value;
use std::collections::BTreeMap;
use tug_api::kustomization::PostBuild;

/// Why the post-build step failed; the messages are the Kustomization's BuildFailed message.
#[derive(Debug, thiserror::Error)]
pub enum PostBuildError {
    #[error("substitute from '{kind}/{namespace}/{name}': {message}")]
    Read {
        kind: String,
        namespace: String,
        name: String,
        message: String,
    },
    #[error("substitute from kind '{0}' is not supported (ConfigMap or Secret)")]
    UnsupportedKind(String),
    #[error("substitute from '{kind}/{namespace}/{name}' failed: not found")]
    NotFound {
        kind: String,
        namespace: String,
        name: String,
    },
    #[error(transparent)]
    Substitute(#[from] SubstituteError),
}

/// The variables of `post` for a Kustomization in `namespace`: the data of each
/// `substituteFrom` in order (later ones win), then `substitute` over all of them.
pub async fn variables(
    client: &Client,
    namespace: &str,
    post: &PostBuild,
) -> Result<BTreeMap<String, String>, PostBuildError> {
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    for from in &post.substitute_from {
        let read_failed = |e: kube::Error| PostBuildError::Read {
            kind: from.kind.clone(),
            namespace: namespace.to_string(),
            name: from.name.clone(),
            message: tug_apply::describe(&e),
        };
        let data: Option<BTreeMap<String, String>> = match from.kind.as_str() {
            "ConfigMap" => Api::<ConfigMap>::namespaced(client.clone(), namespace)
                .get_opt(&from.name)
                .await
                .map_err(read_failed)?
                .map(|cm| cm.data.unwrap_or_default()),
            "Secret" => Api::<Secret>::namespaced(client.clone(), namespace)
                .get_opt(&from.name)
                .await
                .map_err(read_failed)?
                .map(|s| {
                    s.data
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                        .collect()
                }),
            other => return Err(PostBuildError::UnsupportedKind(other.to_string())),
        };
        match data {
            Some(d) => vars.extend(d),
            None if from.optional => {}
            None => {
                return Err(PostBuildError::NotFound {
                    kind: from.kind.clone(),
                    namespace: namespace.to_string(),
                    name: from.name.clone(),
                })
            }
        }
    }
    vars.extend(post.substitute.clone());
    // Flux drops the newlines of every value (a Secret made from a file ends with one).
    for value in vars.values_mut() {
        value.retain(|c| c != '\n');
    }
    Ok(vars)
}

/// `objects` after the post-build substitution of `post` (none when `post` is `None`); in
/// `strict` mode a variable without a value is an error.
pub async fn substitute(
    client: &Client,
    namespace: &str,
    post: Option<&PostBuild>,
    objects: Vec<Value>,
    strict: bool,
) -> Result<Vec<Value>, PostBuildError> {
    let Some(post) = post else {
        return Ok(objects);
    };
    let vars = variables(client, namespace, post).await?;
    let always = post.substitute_strategy.as_deref() == Some("Always");
    if vars.is_empty() && !always {
        return Ok(objects);
    }
    Ok(substitute::substitute_objects(objects, &vars, strict)?)
}
