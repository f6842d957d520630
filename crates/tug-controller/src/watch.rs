//! What the controllers watch and what makes them reconcile.
//!
//! A reconcile is triggered by a change of what the user asked for — the spec (generation),
//! the `reconcile.fluxcd.io/requestedAt` annotation, finalizers or deletion — not by the
//! status writes the reconcile itself makes: without this filter every status write would
//! come back as a watch event and cost a second, useless reconcile (a Git ref listing, a
//! render and a drift check) right after each real one. Intervals are timers of the
//! controller, not watch events, so they still fire.

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, Store};
use kube::runtime::PredicateConfig;
use kube::runtime::{watcher, WatchStreamExt};
use kube::Resource;
use serde::de::DeserializeOwned;
use std::collections::hash_map::DefaultHasher;
use std::fmt::Debug;
use std::hash::{Hash, Hasher};

/// Watch settings shared by every controller of the process.
#[derive(Debug, Clone, Default)]
pub struct WatchOptions {
    /// Only objects matching this label selector are reconciled (Flux's sharding:
    /// `--watch-label-selector=sharding.fluxcd.io/key=shard1`).
    pub label_selector: Option<String>,
}

impl WatchOptions {
    /// Watches end server-side before a client read timeout could cut them (the CLI's
    /// clients use 30 s), so a quiet watch is renewed instead of failing.
    pub fn watcher_config(&self) -> watcher::Config {
        let config = watcher::Config::default().timeout(25);
        match self.label_selector.as_deref().filter(|s| !s.is_empty()) {
            Some(selector) => config.labels(selector),
            None => config,
        }
    }
}

/// A hash of what the user asked of `obj`; equal hashes mean "nothing to reconcile".
pub fn requested_state<K: Resource>(obj: &K) -> Option<u64> {
    let meta = obj.meta();
    let mut hasher = DefaultHasher::new();
    meta.generation.hash(&mut hasher);
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(tug_api::RECONCILE_REQUEST_ANNOTATION))
        .hash(&mut hasher);
    meta.finalizers.hash(&mut hasher);
    meta.deletion_timestamp
        .as_ref()
        .map(|t| t.0.to_string())
        .hash(&mut hasher);
    Some(hasher.finish())
}

/// A controller over `api` that reconciles on changes of [`requested_state`] (and on its
/// own requeues), with `concurrency` reconciles at once.
pub fn controller<K>(api: Api<K>, options: &WatchOptions, concurrency: u16) -> Controller<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Unpin,
{
    let (reader, writer): (Store<K>, _) = reflector::store();
    let trigger = reflector::reflector(writer, watcher(api, options.watcher_config()))
        .applied_objects()
        .predicate_filter(requested_state::<K>, PredicateConfig::default())
        .boxed();
    Controller::for_stream(trigger, reader)
        .with_config(ControllerConfig::default().concurrency(concurrency))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tug_api::Kustomization;

    fn ks() -> Kustomization {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "a", "namespace": "n", "generation": 1},
            "spec": {"interval": "1m", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "a"}}
        }))
        .unwrap()
    }

    #[test]
    fn status_writes_do_not_change_the_requested_state_but_user_requests_do() {
        let base = requested_state(&ks());
        let mut with_status = ks();
        with_status.status = Some(Default::default());
        with_status.metadata.resource_version = Some("42".into());
        assert_eq!(requested_state(&with_status), base);

        let mut edited = ks();
        edited.metadata.generation = Some(2);
        assert_ne!(requested_state(&edited), base);

        let mut requested = ks();
        requested.metadata.annotations = Some(
            [(
                tug_api::RECONCILE_REQUEST_ANNOTATION.to_string(),
                "now".to_string(),
            )]
            .into(),
        );
        assert_ne!(requested_state(&requested), base);

        let mut finalized = ks();
        finalized.metadata.finalizers = Some(vec!["finalizers.fluxcd.io".into()]);
        assert_ne!(requested_state(&finalized), base);
    }

    #[test]
    fn a_label_selector_shards_the_watch() {
        let options = WatchOptions {
            label_selector: Some("sharding.fluxcd.io/key=shard1".into()),
        };
        assert_eq!(
            options.watcher_config().label_selector.as_deref(),
            Some("sharding.fluxcd.io/key=shard1")
        );
        assert_eq!(
            WatchOptions::default().watcher_config().label_selector,
            None
        );
    }
}
