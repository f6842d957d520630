//! Safe extraction of a gzip tarball into a directory.
//!
//! Refused (the whole extraction fails): absolute paths, `..` components, links whose target
//! would leave the destination, more entries or more bytes than the limits, and writing
//! through a symbolic link already in the destination. Links that stay inside are skipped,
//! as Flux's pull skips symlinks; so are devices and FIFOs. Files get mode 0644, or 0755 when
//! the archive marks them executable; directories 0755.

use super::error::{Error, Result};
use std::fs;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

/// Bounds of one extraction.
#[derive(Clone, Copy, Debug)]
pub struct ExtractLimits {
    /// Total bytes of the files written.
    pub max_bytes: u64,
    /// Entries in the archive (of any type).
    pub max_entries: u64,
}

impl Default for ExtractLimits {
    fn default() -> Self {
        ExtractLimits {
            max_bytes: 1 << 30,
            max_entries: 100_000,
        }
    }
}

/// Extracts `archive` (a gzip tarball) into `dest` (created if missing); `what` names the
/// archive in errors. Returns the bytes of the files written.
pub fn extract_tar_gz(
    archive: impl Read,
    dest: &Path,
    limits: ExtractLimits,
    what: &str,
) -> Result<u64> {
    fs::create_dir_all(dest).map_err(|e| Error::io(dest, e))?;
    let mut tar = tar::Archive::new(flate2::read::MultiGzDecoder::new(archive));
    let bad = |cause: String| Error::Archive {
        what: what.to_string(),
        cause,
    };
    let unsafe_entry = |entry: &str, reason: &str| Error::UnsafeEntry {
        what: what.to_string(),
        entry: entry.to_string(),
        reason: reason.to_string(),
    };
    let mut written = 0u64;
    let mut count = 0u64;
    for entry in tar.entries().map_err(|e| bad(e.to_string()))? {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        count += 1;
        if count > limits.max_entries {
            return Err(Error::TooLarge {
                what: format!("{what} (entries)"),
                size: count,
                limit: limits.max_entries,
            });
        }
        let raw = entry.path_bytes();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let relative = safe_relative(&name).map_err(|reason| unsafe_entry(&name, reason))?;
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            // A symlink's target is relative to its directory, a hard link's to the root.
            let base = if kind.is_symlink() {
                relative.parent().unwrap_or(Path::new(""))
            } else {
                Path::new("")
            };
            if !stays_inside(base, &target) {
                return Err(unsafe_entry(
                    &name,
                    &format!("link to {target:?} leaves the destination"),
                ));
            }
            continue;
        }
        if relative.as_os_str().is_empty() {
            continue; // the root itself ("." or "./")
        }
        let path = dest.join(&relative);
        check_no_symlink(dest, &relative).map_err(|reason| unsafe_entry(&name, &reason))?;
        if kind.is_dir() {
            fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            continue;
        }
        if !kind.is_file() && kind != tar::EntryType::Continuous {
            continue; // devices, FIFOs, PAX/GNU metadata already applied
        }
        let size = entry.header().size().map_err(|e| bad(e.to_string()))?;
        if written.saturating_add(size) > limits.max_bytes {
            return Err(Error::TooLarge {
                what: format!("{what} (extracted)"),
                size: written.saturating_add(size),
                limit: limits.max_bytes,
            });
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let executable = entry
            .header()
            .mode()
            .map(|m| m & 0o111 != 0)
            .unwrap_or(false);
        let _ = fs::remove_file(&path);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if executable { 0o755 } else { 0o644 })
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let copied = std::io::copy(&mut (&mut entry).take(size), &mut file)
            .map_err(|e| Error::io(&path, e))?;
        written += copied;
    }
    Ok(written)
}

/// The entry's path as a relative path without `.` components, or why it is refused.
fn safe_relative(name: &str) -> std::result::Result<PathBuf, &'static str> {
    let mut out = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(c) => out.push(c),
            Component::CurDir => {}
            Component::ParentDir => return Err("path contains '..'"),
            Component::RootDir | Component::Prefix(_) => return Err("absolute path"),
        }
    }
    Ok(out)
}

/// Whether `target`, relative to `base` (itself relative to the root), stays under the root.
fn stays_inside(base: &Path, target: &str) -> bool {
    if target.starts_with('/') {
        return false;
    }
    let mut depth = base.components().count() as i64;
    for component in Path::new(target).components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// Refuses to write through a symbolic link that already exists under `dest`.
fn check_no_symlink(dest: &Path, relative: &Path) -> std::result::Result<(), String> {
    let mut path = dest.to_path_buf();
    for component in relative.components() {
        path.push(component);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!("{} is a symbolic link", path.display()))
            }
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar.gz with raw entries, names written as is (the tar crate refuses `..` otherwise).
    fn tarball(entries: &[(&str, tar::EntryType, &[u8], &str)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (name, kind, data, link) in entries {
            let mut h = tar::Header::new_gnu();
            h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
            if !link.is_empty() {
                h.as_gnu_mut().unwrap().linkname[..link.len()].copy_from_slice(link.as_bytes());
            }
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    fn extract(bytes: &[u8], limits: ExtractLimits) -> (tempfile::TempDir, Result<u64>) {
        let dir = tempfile::tempdir().unwrap();
        let r = extract_tar_gz(bytes, &dir.path().join("out"), limits, "test.tgz");
        (dir, r)
    }

    #[test]
    fn extracts_files_and_directories() {
        let t = tarball(&[
            (".", tar::EntryType::Directory, b"", ""),
            ("a", tar::EntryType::Directory, b"", ""),
            ("a/b.yaml", tar::EntryType::Regular, b"x: 1\n", ""),
            ("./c.yaml", tar::EntryType::Regular, b"c", ""),
            ("a/link", tar::EntryType::Symlink, b"", "b.yaml"),
        ]);
        let (dir, r) = extract(&t, ExtractLimits::default());
        assert_eq!(r.unwrap(), 6);
        let out = dir.path().join("out");
        assert_eq!(fs::read(out.join("a/b.yaml")).unwrap(), b"x: 1\n");
        assert_eq!(fs::read(out.join("c.yaml")).unwrap(), b"c");
        assert!(!out.join("a/link").exists(), "links are skipped");
    }

    #[test]
    fn refuses_escaping_entries() {
        for (name, kind, link) in [
            ("../x", tar::EntryType::Regular, ""),
            ("a/../../x", tar::EntryType::Regular, ""),
            ("/etc/x", tar::EntryType::Regular, ""),
            ("l", tar::EntryType::Symlink, "../outside"),
            ("a/l", tar::EntryType::Symlink, "/etc/passwd"),
            ("h", tar::EntryType::Link, "../x"),
        ] {
            let (dir, r) = extract(
                &tarball(&[(name, kind, b"", link)]),
                ExtractLimits::default(),
            );
            let err = r.unwrap_err();
            assert!(matches!(err, Error::UnsafeEntry { .. }), "{name}: {err}");
            assert!(err.to_string().contains(name), "{err}");
            assert!(!dir.path().join("x").exists());
        }
    }

    #[test]
    fn bounds_bytes_and_entries() {
        let t = tarball(&[
            ("a", tar::EntryType::Regular, b"0123456789", ""),
            ("b", tar::EntryType::Regular, b"0123456789", ""),
        ]);
        let limits = ExtractLimits {
            max_bytes: 15,
            max_entries: 10,
        };
        let (_d, r) = extract(&t, limits);
        assert!(matches!(r, Err(Error::TooLarge { .. })), "{r:?}");
        let limits = ExtractLimits {
            max_bytes: 100,
            max_entries: 1,
        };
        let (_d, r) = extract(&t, limits);
        assert!(matches!(r, Err(Error::TooLarge { .. })), "{r:?}");
    }

    #[test]
    fn refuses_writing_through_an_existing_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir_all(&out).unwrap();
        fs::create_dir_all(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.join("a")).unwrap();
        let t = tarball(&[("a/x", tar::EntryType::Regular, b"x", "")]);
        let r = extract_tar_gz(&t[..], &out, ExtractLimits::default(), "t");
        assert!(matches!(r, Err(Error::UnsafeEntry { .. })), "{r:?}");
        assert!(!elsewhere.join("x").exists());
    }
}
