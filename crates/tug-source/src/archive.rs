//! Deterministic tar.gz of a Git tree, read straight from the object database.
//!
//! No checkout touches the disk: the tree is walked in name order and every header is
//! normalised (uid/gid 0, no user names, mtime 0, mode 0600/0700/0750 as Flux sets them), so the
//! same tree and ignore rules always give the same bytes and so the same digest. Like Flux, only
//! regular files and directories are archived: symlinks and submodule entries are skipped.

use crate::error::{Error, Result};
use crate::ignore::{IgnoreRules, IGNORE_FILE};
use flate2::{Compression, GzBuilder};
use gix::ObjectId;
use std::io::Write;

/// Flux's modes for archived entries.
const FILE_MODE: u32 = 0o600;
const EXE_MODE: u32 = 0o700;
const DIR_MODE: u32 = 0o750;

/// One entry of a tree, decoded and owned, sorted by name as Go's `filepath.Walk` visits them.
struct Entry {
    name: String,
    id: ObjectId,
    kind: Kind,
}

#[derive(PartialEq, Eq)]
enum Kind {
    Dir,
    File,
    Exe,
    Other,
}

fn read_tree(repo: &gix::Repository, id: ObjectId, url: &str) -> Result<Vec<Entry>> {
    let git_err = |e: &dyn std::fmt::Display| Error::Git {
        url: url.to_string(),
        cause: format!("reading tree {id}: {e}"),
    };
    let tree = repo.find_tree(id).map_err(|e| git_err(&e))?;
    let mut entries = Vec::new();
    for entry in tree.iter() {
        let entry = entry.map_err(|e| git_err(&e))?;
        let mode = entry.mode();
        let kind = if mode.is_tree() {
            Kind::Dir
        } else if mode.is_executable() {
            Kind::Exe
        } else if mode.is_blob() {
            Kind::File
        } else {
            Kind::Other
        };
        entries.push(Entry {
            name: entry.filename().to_string(),
            id: entry.oid().to_owned(),
            kind,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// All `.sourceignore` files of the tree, `(directory, contents)`, depth first, as Flux loads
/// them (before filtering, so an ignored directory's ignore file still counts).
pub(crate) fn collect_ignore_files(
    repo: &gix::Repository,
    tree: ObjectId,
    url: &str,
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    collect(repo, tree, "", url, &mut out)?;
    Ok(out)
}

fn collect(
    repo: &gix::Repository,
    tree: ObjectId,
    dir: &str,
    url: &str,
    out: &mut Vec<(String, Vec<u8>)>,
) -> Result<()> {
    let entries = read_tree(repo, tree, url)?;
    if let Some(file) = entries
        .iter()
        .find(|e| e.name == IGNORE_FILE && e.kind == Kind::File)
    {
        out.push((dir.to_string(), blob(repo, file.id, url)?));
    }
    for e in entries
        .iter()
        .filter(|e| e.kind == Kind::Dir && e.name != ".git")
    {
        collect(repo, e.id, &join(dir, &e.name), url, out)?;
    }
    Ok(())
}

fn blob(repo: &gix::Repository, id: ObjectId, url: &str) -> Result<Vec<u8>> {
    repo.find_blob(id)
        .map(|mut b| b.take_data())
        .map_err(|e| Error::Git {
            url: url.to_string(),
            cause: format!("reading blob {id}: {e}"),
        })
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Writes the tree `tree` as a gzip-compressed tar to `out`, skipping what `rules` exclude.
pub(crate) fn write_tar_gz(
    repo: &gix::Repository,
    tree: ObjectId,
    rules: &IgnoreRules,
    url: &str,
    out: &mut dyn Write,
) -> Result<()> {
    let io_err = |e: std::io::Error| Error::storage("artifact archive", e);
    // A fixed header (no name, mtime 0, unknown OS) so the gzip bytes depend on content only.
    let gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(out, Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    append_tree(repo, tree, "", rules, url, &mut tar)?;
    let gz = tar.into_inner().map_err(io_err)?;
    gz.finish().map_err(io_err)?.flush().map_err(io_err)?;
    Ok(())
}

fn append_tree<W: Write>(
    repo: &gix::Repository,
    tree: ObjectId,
    dir: &str,
    rules: &IgnoreRules,
    url: &str,
    tar: &mut tar::Builder<W>,
) -> Result<()> {
    let io_err = |e: std::io::Error| Error::storage("artifact archive", e);
    for e in read_tree(repo, tree, url)? {
        let path = join(dir, &e.name);
        match e.kind {
            Kind::Other => continue,
            Kind::Dir => {
                if rules.is_ignored(&path, true) {
                    continue;
                }
                let mut h = header(tar::EntryType::Directory, DIR_MODE, 0);
                tar.append_data(&mut h, &path, std::io::empty())
                    .map_err(io_err)?;
                append_tree(repo, e.id, &path, rules, url, tar)?;
            }
            Kind::File | Kind::Exe => {
                if rules.is_ignored(&path, false) {
                    continue;
                }
                let data = blob(repo, e.id, url)?;
                let mode = if e.kind == Kind::Exe {
                    EXE_MODE
                } else {
                    FILE_MODE
                };
                let mut h = header(tar::EntryType::Regular, mode, data.len() as u64);
                tar.append_data(&mut h, &path, data.as_slice())
                    .map_err(io_err)?;
            }
        }
    }
    Ok(())
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
