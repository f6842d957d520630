//! Flux's OCI artifacts: a manifest with one gzip tarball layer
//! ([`FLUX_CONTENT_MEDIA_TYPE`]), a config of type [`FLUX_CONFIG_MEDIA_TYPE`], and the source,
//! revision and creation time as manifest annotations (fluxcd/pkg `oci`).
//!
//! The tarball holds the directory's files with paths relative to it, in name order, with
//! uid/gid 0, no user names and mtime 0 (as fluxcd/pkg `tar` writes them), filtered by the
//! ignore patterns given (the flux CLI's `--ignore-paths`). Symbolic links are left out as Flux
//! leaves them out, and one pointing outside the directory is an error.

use super::client::Client;
use super::digest::HashingWriter;
use super::error::{Error, Result};
use super::untar::{extract_tar_gz, ExtractLimits};
use super::{Descriptor, ImageManifest, OciUrl};
use super::{
    CREATED_ANNOTATION, FLUX_CONFIG_MEDIA_TYPE, FLUX_CONTENT_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE,
    REVISION_ANNOTATION, SOURCE_ANNOTATION,
};
use crate::ignore::IgnoreRules;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A layer tarball built from a directory, in a temporary file.
pub struct BuiltLayer {
    pub file: tempfile::NamedTempFile,
    /// sha256 of the gzip bytes (the layer's digest).
    pub digest: String,
    pub size: u64,
    /// sha256 of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub diff_id: String,
}

/// Builds the layer of `path` (a directory, or a single file archived under its name).
pub fn build_layer(path: &Path, ignore: &[String]) -> Result<BuiltLayer> {
    let meta = fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let file = tempfile::Builder::new()
        .prefix("tug-oci-layer-")
        .tempfile()
        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let out = file.reopen().map_err(|e| Error::io(file.path(), e))?;
    let compressed = HashingWriter::new(std::io::BufWriter::new(out), u64::MAX);
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(compressed, flate2::Compression::default());
    let mut tar = tar::Builder::new(HashingWriter::new(gz, u64::MAX));
    let io = |e: std::io::Error| Error::io(path, e);
    if meta.is_dir() {
        let root = fs::canonicalize(path).map_err(io)?;
        let rules = IgnoreRules::only(ignore);
        add_dir(&mut tar, &root, &root, "", &rules)?;
    } else {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        add_file(&mut tar, path, &name, &meta)?;
    }
    let uncompressed = tar.into_inner().map_err(io)?;
    let (diff_id, gz) = uncompressed.finish();
    let compressed = gz.finish().map_err(io)?;
    let size = compressed.written();
    let (digest, buffered) = compressed.finish();
    buffered
        .into_inner()
        .map_err(|e| io(e.into_error()))?
        .flush()
        .map_err(io)?;
    Ok(BuiltLayer {
        file,
        digest,
        size,
        diff_id,
    })
}

type TarOut = tar::Builder<
    HashingWriter<flate2::write::GzEncoder<HashingWriter<std::io::BufWriter<fs::File>>>>,
>;

fn add_dir(
    tar: &mut TarOut,
    root: &Path,
    dir: &Path,
    rel: &str,
    rules: &IgnoreRules,
) -> Result<()> {
    let mut entries: Vec<(String, PathBuf)> = fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .map(|e| {
            let e = e.map_err(|e| Error::io(dir, e))?;
            Ok((e.file_name().to_string_lossy().into_owned(), e.path()))
        })
        .collect::<Result<_>>()?;
    entries.sort();
    for (name, path) in entries {
        let rel_path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let meta = fs::symlink_metadata(&path).map_err(|e| Error::io(&path, e))?;
        if meta.file_type().is_symlink() {
            // Left out, as Flux does; one leading outside the directory is refused.
            if let Ok(target) = fs::canonicalize(&path) {
                if !target.starts_with(root) {
                    return Err(Error::UnsafeEntry {
                        what: root.display().to_string(),
                        entry: rel_path,
                        reason: format!(
                            "symbolic link to {} leaves the directory",
                            target.display()
                        ),
                    });
                }
            }
            continue;
        }
        if rules.is_ignored(&rel_path, meta.is_dir()) {
            continue;
        }
        if meta.is_dir() {
            let mut h = header(tar::EntryType::Directory, meta_mode(&meta), 0);
            tar.append_data(&mut h, format!("{rel_path}/"), std::io::empty())
                .map_err(|e| Error::io(&path, e))?;
            add_dir(tar, root, &path, &rel_path, rules)?;
        } else if meta.is_file() {
            add_file(tar, &path, &rel_path, &meta)?;
        }
    }
    Ok(())
}

fn add_file(tar: &mut TarOut, path: &Path, name: &str, meta: &fs::Metadata) -> Result<()> {
    let file = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = header(tar::EntryType::Regular, meta_mode(meta), meta.len());
    tar.append_data(&mut h, name, file)
        .map_err(|e| Error::io(path, e))
}

fn meta_mode(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o777
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

/// What goes into a pushed artifact's annotations.
#[derive(Clone, Debug, Default)]
pub struct PushMeta {
    /// `org.opencontainers.image.source`, e.g. the Git URL.
    pub source: String,
    /// `org.opencontainers.image.revision`, e.g. `main@sha1:<commit>`.
    pub revision: String,
    /// More annotations; they win over the three above, as in Flux.
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339 creation time; now when unset.
    pub created: Option<String>,
}

/// Builds the artifact of `path` and pushes it to `url` (its tag, `latest` without one).
/// Returns the manifest's digest.
pub fn push_artifact(
    client: &Client,
    url: &OciUrl,
    path: &Path,
    ignore: &[String],
    meta: &PushMeta,
) -> Result<String> {
    let layer = build_layer(path, ignore)?;
    let created = meta.created.clone().unwrap_or_else(|| {
        jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    });
    let layer_desc = client.push_blob_file(url, layer.file.path(), FLUX_CONTENT_MEDIA_TYPE)?;
    // The config go-containerregistry writes for Flux: creation time and the layer's diff id.
    let config = serde_json::json!({
        "architecture": "",
        "created": created,
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
        "config": {},
    });
    let config_bytes = serde_json::to_vec(&config).map_err(|e| Error::InvalidManifest {
        what: "config".into(),
        cause: e.to_string(),
    })?;
    let config_desc = client.push_blob_bytes(url, config_bytes, FLUX_CONFIG_MEDIA_TYPE)?;
    let mut annotations = BTreeMap::from([
        (CREATED_ANNOTATION.to_string(), created),
        (SOURCE_ANNOTATION.to_string(), meta.source.clone()),
        (REVISION_ANNOTATION.to_string(), meta.revision.clone()),
    ]);
    annotations.extend(meta.annotations.clone());
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST_MEDIA_TYPE.to_string()),
        artifact_type: None,
        config: config_desc,
        layers: vec![layer_desc],
        annotations,
    };
    let bytes = serde_json::to_vec(&manifest).map_err(|e| Error::InvalidManifest {
        what: url.to_string(),
        cause: e.to_string(),
    })?;
    let tag = url.tag.as_deref().unwrap_or("latest");
    client.push_manifest(url, tag, &bytes, OCI_MANIFEST_MEDIA_TYPE)
}

/// What to do with the selected layer (OCIRepository's `spec.layerSelector.operation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Untar it into the destination directory.
    Extract,
    /// Store the layer's file as is at the destination path.
    Copy,
}

/// Which layer to take: the first one of this media type.
#[derive(Clone, Debug)]
pub struct LayerSelector {
    pub media_type: String,
    pub operation: Operation,
}

#[derive(Clone, Copy, Debug)]
pub struct PullLimits {
    /// Largest layer downloaded (its compressed size).
    pub max_layer_bytes: u64,
    pub extract: ExtractLimits,
}

impl Default for PullLimits {
    fn default() -> Self {
        PullLimits {
            max_layer_bytes: 512 << 20,
            extract: ExtractLimits::default(),
        }
    }
}

/// A pulled artifact.
#[derive(Clone, Debug)]
pub struct PulledArtifact {
    /// The manifest's digest.
    pub digest: String,
    /// Flux's revision of an OCIRepository: `<tag>@<digest>`, or the digest alone.
    pub revision: String,
    /// The manifest's annotations (source, revision, created, custom ones).
    pub annotations: BTreeMap<String, String>,
    /// The layer taken.
    pub layer: Descriptor,
}

impl PulledArtifact {
    pub fn source(&self) -> Option<&str> {
        self.annotations.get(SOURCE_ANNOTATION).map(String::as_str)
    }
    pub fn source_revision(&self) -> Option<&str> {
        self.annotations
            .get(REVISION_ANNOTATION)
            .map(String::as_str)
    }
}

/// Pulls the artifact at `url` (resolving it, unless `resolved` is its descriptor already),
/// takes the layer the selector names (the first layer without a selector, as Flux) and
/// extracts it into `dest` or copies it to `dest`.
pub fn pull_artifact(
    client: &Client,
    url: &OciUrl,
    resolved: Option<&Descriptor>,
    selector: Option<&LayerSelector>,
    dest: &Path,
    limits: PullLimits,
) -> Result<PulledArtifact> {
    let descriptor = match resolved {
        Some(d) => d.clone(),
        None => client.resolve(url, url.reference())?,
    };
    let manifest = client.manifest(url, &descriptor.digest)?.image()?;
    let layer = match selector {
        Some(s) => manifest
            .layers
            .iter()
            .find(|l| l.media_type == s.media_type)
            .ok_or_else(|| Error::NoLayer {
                url: url.to_string(),
                media_type: s.media_type.clone(),
            })?,
        None => manifest.layers.first().ok_or_else(|| Error::NoLayer {
            url: url.to_string(),
            media_type: "(any)".into(),
        })?,
    }
    .clone();
    let operation = selector.map_or(Operation::Extract, |s| s.operation);
    let parent = match operation {
        Operation::Extract => dest.to_path_buf(),
        Operation::Copy => dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf(),
    };
    fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    // Downloaded next to the destination (same file system for the final rename).
    let scratch = tempfile::Builder::new()
        .prefix(".tug-layer-")
        .tempfile_in(match operation {
            Operation::Extract => std::env::temp_dir(),
            Operation::Copy => parent.clone(),
        })
        .map_err(|e| Error::io(&parent, e))?;
    client.blob_to_file(url, &layer, scratch.path(), limits.max_layer_bytes)?;
    match operation {
        Operation::Extract => {
            let file = fs::File::open(scratch.path()).map_err(|e| Error::io(scratch.path(), e))?;
            let what = format!("layer {}@{}", url.repository_name(), layer.digest);
            extract_tar_gz(std::io::BufReader::new(file), dest, limits.extract, &what)?;
        }
        Operation::Copy => {
            scratch
                .persist(dest)
                .map_err(|e| Error::io(dest, e.error))?;
        }
    }
    Ok(PulledArtifact {
        revision: flux_revision(url, &descriptor.digest),
        digest: descriptor.digest,
        annotations: manifest.annotations,
        layer,
    })
}

/// Pulls only when the artifact's digest differs from `last_digest`: an unchanged artifact
/// costs one manifest HEAD and no download (`Ok(None)`).
pub fn pull_if_changed(
    client: &Client,
    url: &OciUrl,
    last_digest: Option<&str>,
    selector: Option<&LayerSelector>,
    dest: &Path,
    limits: PullLimits,
) -> Result<Option<PulledArtifact>> {
    let descriptor = client.resolve(url, url.reference())?;
    if last_digest == Some(descriptor.digest.as_str()) {
        return Ok(None);
    }
    pull_artifact(client, url, Some(&descriptor), selector, dest, limits).map(Some)
}

/// `<tag>@<digest>` as Flux's OCIRepository reports it; the digest alone when the URL pins one.
pub fn flux_revision(url: &OciUrl, digest: &str) -> String {
    match (&url.digest, &url.tag) {
        (Some(_), _) => digest.to_string(),
        (None, Some(tag)) => format!("{tag}@{digest}"),
        (None, None) => format!("latest@{digest}"),
    }
}
