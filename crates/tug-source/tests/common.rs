//! Helpers shared by the integration tests: fetch + archive in one call, reading an
//! artifact back as a user would (untar it), and the GitRepository objects reconciled.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use tug_api::meta::Artifact;
use tug_api::revision::Revision;
use tug_source::{fetch, Auth, FetchOutcome, FetchRequest, Reference, Storage};

pub fn branch(b: &str) -> Reference {
    Reference::Branch(b.to_string())
}

/// Fetches `reference` from `url` and archives it into a fresh storage.
pub fn pull(
    url: &str,
    reference: &Reference,
    auth: &Auth,
) -> tug_source::Result<(Artifact, tempfile::TempDir)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::new(dir.path(), "127.0.0.1:9090")?;
    let a = pull_into(&storage, url, reference, auth, None)?
        .expect("no previous revision, so always fetched");
    Ok((a, dir))
}

/// Fetches into `storage`; `None` when the remote still points at `last`.
pub fn pull_into(
    storage: &Storage,
    url: &str,
    reference: &Reference,
    auth: &Auth,
    last: Option<&Revision>,
) -> tug_source::Result<Option<Artifact>> {
    match fetch(&FetchRequest {
        url,
        reference,
        auth,
        last_revision: last,
    })? {
        FetchOutcome::Unchanged(_) => Ok(None),
        FetchOutcome::Fetched(c) => c
            .archive(
                storage,
                &Storage::artifact_dir("GitRepository", "default", "test"),
                None,
            )
            .map(Some),
    }
}

/// The files of an artifact: path → contents (directories as empty strings with a trailing /).
pub fn files(storage_root: &std::path::Path, artifact: &Artifact) -> BTreeMap<String, String> {
    let f = std::fs::File::open(storage_root.join(&artifact.path)).expect("artifact file");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut out = BTreeMap::new();
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("entry");
        let path = entry.path().expect("path").to_string_lossy().into_owned();
        if entry.header().entry_type().is_dir() {
            out.insert(format!("{}/", path.trim_end_matches('/')), String::new());
        } else {
            let mut s = String::new();
            entry.read_to_string(&mut s).expect("utf8");
            out.insert(path, s);
        }
    }
    out
}

/// The sha256 of the artifact's file, as a consumer downloading it would compute.
pub fn sha256_of(storage_root: &std::path::Path, artifact: &Artifact) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(storage_root.join(&artifact.path)).expect("artifact file");
    format!(
        "sha256:{}",
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// A GitRepository `name` in `flux-system` following `main` of `url` every minute, as it is
/// first seen by the reconciler (generation 1, no status).
pub fn git_repository(name: &str, url: &str) -> tug_api::GitRepository {
    use tug_api::source::{GitRepositoryRef, GitRepositorySpec};
    let mut obj = tug_api::GitRepository::new(
        name,
        GitRepositorySpec {
            url: url.to_string(),
            interval: "1m".into(),
            reference: Some(GitRepositoryRef {
                branch: Some("main".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    obj.metadata.namespace = Some("flux-system".into());
    obj.metadata.generation = Some(1);
    obj
}
