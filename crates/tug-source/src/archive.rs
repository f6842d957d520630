//! Deterministic tar.gz of a Git tree, read straight from the object database.
//!
//! No checkout touches the disk: the tree is walked in name order and every header is
//! normalised (uid/gid 0, no user names, mtime 0, mode 0600/0700/0750 as Flux sets them), so the
//! same tree and ignore rules always give the same bytes and so the same digest. Like Flux, only
//! regular files and directories are archived: symlinks and submodule entries are skipped.

use crate::error::{Error, Result};
use crate::ignore::{IgnoreRules, IGNORE_FILE};
use crate::include::Included;
use flate2::{Compression, GzBuilder};
use gix::ObjectId;
use std::collections::HashSet;
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

/// Writes the tree `tree` as a gzip-compressed tar to `out`, skipping what `rules` exclude,
/// followed by the files of `includes`, each replacing whatever the tree has at its place.
pub(crate) fn write_tar_gz(
    repo: &gix::Repository,
    tree: ObjectId,
    rules: &IgnoreRules,
    includes: &[Included],
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
    let mut walk = Walk {
        repo,
        rules,
        url,
        replaced: includes.iter().map(|i| i.to.as_str()).collect(),
        dirs: HashSet::new(),
    };
    walk.append_tree(tree, "", &mut tar)?;
    for include in includes {
        walk.append_included(include, &mut tar)?;
    }
    let gz = tar.into_inner().map_err(io_err)?;
    gz.finish().map_err(io_err)?.flush().map_err(io_err)?;
    Ok(())
}

/// The state of one archive walk: what to skip and which directories are written.
struct Walk<'a> {
    repo: &'a gix::Repository,
    rules: &'a IgnoreRules,
    url: &'a str,
    /// Where includes go: the tree's own entries there are left out.
    replaced: Vec<&'a str>,
    dirs: HashSet<String>,
}

impl Walk<'_> {
    fn is_replaced(&self, path: &str) -> bool {
        self.replaced.iter().any(|to| {
            path == *to || (path.starts_with(to) && path.as_bytes().get(to.len()) == Some(&b'/'))
        })
    }

    fn append_dir<W: Write>(&mut self, path: &str, tar: &mut tar::Builder<W>) -> Result<()> {
        if self.dirs.insert(path.to_string()) {
            let mut h = header(tar::EntryType::Directory, DIR_MODE, 0);
            tar.append_data(&mut h, path, std::io::empty())
                .map_err(|e| Error::storage("artifact archive", e))?;
        }
        Ok(())
    }

    fn append_file<W: Write>(
        &mut self,
        path: &str,
        executable: bool,
        data: &[u8],
        tar: &mut tar::Builder<W>,
    ) -> Result<()> {
        let mode = if executable { EXE_MODE } else { FILE_MODE };
        let mut h = header(tar::EntryType::Regular, mode, data.len() as u64);
        tar.append_data(&mut h, path, data)
            .map_err(|e| Error::storage("artifact archive", e))
    }

    fn append_tree<W: Write>(
        &mut self,
        tree: ObjectId,
        dir: &str,
        tar: &mut tar::Builder<W>,
    ) -> Result<()> {
        for e in read_tree(self.repo, tree, self.url)? {
            let path = join(dir, &e.name);
            if self.is_replaced(&path) {
                continue;
            }
            match e.kind {
                Kind::Other => continue,
                Kind::Dir => {
                    if self.rules.is_ignored(&path, true) {
                        continue;
                    }
                    self.append_dir(&path, tar)?;
                    self.append_tree(e.id, &path, tar)?;
                }
                Kind::File | Kind::Exe => {
                    if self.rules.is_ignored(&path, false) {
                        continue;
                    }
                    let data = blob(self.repo, e.id, self.url)?;
                    self.append_file(&path, e.kind == Kind::Exe, &data, tar)?;
                }
            }
        }
        Ok(())
    }

    /// The include's files, after the directories leading to them.
    fn append_included<W: Write>(
        &mut self,
        include: &Included,
        tar: &mut tar::Builder<W>,
    ) -> Result<()> {
        let mut parent = String::new();
        let parts: Vec<&str> = include.to.split('/').collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            parent = join(&parent, part);
            self.append_dir(&parent, tar)?;
        }
        for entry in &include.entries {
            if self.rules.is_ignored(&entry.path, entry.dir) {
                continue;
            }
            if entry.dir {
                self.append_dir(&entry.path, tar)?;
            } else {
                if let Some((dir, _)) = entry.path.rsplit_once('/') {
                    // A file whose directory had no entry of its own in the included archive.
                    let mut parent = String::new();
                    for part in dir.split('/') {
                        parent = join(&parent, part);
                        self.append_dir(&parent, tar)?;
                    }
                }
                self.append_file(&entry.path, entry.executable, &entry.data, tar)?;
            }
        }
        Ok(())
    }
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
