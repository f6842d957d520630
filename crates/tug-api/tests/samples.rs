//! Flux's documented examples load into tug's types and serialise back to the same document.

use std::path::Path;
use tug_api::{GitRepository, Kustomization};

fn load(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(name: &str) -> T {
    let value = load(name);
    let typed: T = serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        back, value,
        "{name} did not survive a round trip through tug's types"
    );
    typed
}

#[test]
fn git_repository_samples_round_trip() {
    let repo: GitRepository = round_trip("gitrepository.yaml");
    assert_eq!(
        repo.spec.reference_or_default().branch.as_deref(),
        Some("master")
    );
    assert_eq!(repo.spec.timeout_or_default(), "60s");
    let pinned: GitRepository = round_trip("gitrepository-full.yaml");
    assert_eq!(
        pinned.spec.reference.unwrap().commit.as_deref(),
        Some("1f2e3d4c5b6a79881726354453627180a9b8c7d6")
    );
    assert_eq!(pinned.spec.include[0].to_path.as_deref(), Some("shared"));
}

#[test]
fn kustomization_samples_round_trip() {
    let ks: Kustomization = round_trip("kustomization.yaml");
    assert!(ks.spec.prune);
    assert_eq!(ks.spec.source_ref.kind, "GitRepository");
    let full: Kustomization = round_trip("kustomization-full.yaml");
    assert_eq!(full.spec.depends_on.len(), 2);
    assert!(full.spec.post_build.unwrap().substitute_from[1].optional);
}

#[test]
fn default_branch_is_master_as_in_flux() {
    let mut value = load("gitrepository.yaml");
    value["spec"].as_object_mut().unwrap().remove("ref");
    let repo: GitRepository = serde_json::from_value(value).unwrap();
    assert_eq!(
        repo.spec.reference_or_default().branch.as_deref(),
        Some("master")
    );
}
