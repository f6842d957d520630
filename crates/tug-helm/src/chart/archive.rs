//! Packaged charts (`.tgz`): reading their files with Helm's path checks, within fixed memory.

use std::io::Read;

use flate2::read::GzDecoder;

/// Helm's limit on one decompressed file (`archive.MaxDecompressedFileSize`).
pub const MAX_FILE_SIZE: u64 = 5 * 1024 * 1024;
/// Helm's limit on one decompressed archive (`archive.MaxDecompressedChartSize`).
pub const MAX_ARCHIVE_SIZE: u64 = 100 * 1024 * 1024;
/// Our limit on all bytes read for one chart, subcharts and nested archives included: Helm
/// checks each archive on its own, so archives nested in archives could multiply its limit.
pub const MAX_TOTAL_SIZE: u64 = 256 * 1024 * 1024;
/// Our limit on the number of files of one chart, subcharts included.
pub const MAX_FILES: usize = 20_000;

/// Why an archive was refused. Helm's wording where Helm refuses the same thing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArchiveError {
    #[error("gzip: invalid header")]
    NotGzip,
    #[error("{0}")]
    Corrupt(String),
    #[error("chart illegally contains absolute paths")]
    AbsolutePath,
    #[error("chart illegally contains content outside the base directory: {0:?}")]
    OutsideBase(String),
    #[error("chart illegally references parent directory")]
    ParentReference,
    #[error("chart contains illegally named files")]
    DriveLetter,
    #[error("chart yaml not in base directory")]
    ChartYamlNotInBase,
    /// Helm would store a link as an empty file; refusing it is safer and clearer.
    #[error("chart contains a link, which is not supported: {0:?}")]
    Link(String),
    #[error("decompressed chart is larger than the maximum size {MAX_ARCHIVE_SIZE}")]
    TooLarge,
    #[error("decompressed chart file {0:?} is larger than the maximum file size {MAX_FILE_SIZE}")]
    FileTooLarge(String),
    #[error("chart and its subcharts are larger than the maximum total size {MAX_TOTAL_SIZE}")]
    TotalTooLarge,
    #[error("chart and its subcharts have more than the maximum of {MAX_FILES} files")]
    TooManyFiles,
    #[error("no files in chart archive")]
    Empty,
}

/// What is left of the limits shared by everything one load reads.
#[derive(Debug, Clone)]
pub struct Budget {
    pub bytes: u64,
    pub files: usize,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            bytes: MAX_TOTAL_SIZE,
            files: MAX_FILES,
        }
    }
}

impl Budget {
    /// Accounts for one file of `size` bytes.
    pub fn take(&mut self, size: u64) -> Result<(), ArchiveError> {
        if self.files == 0 {
            return Err(ArchiveError::TooManyFiles);
        }
        if size > self.bytes {
            return Err(ArchiveError::TotalTooLarge);
        }
        self.files -= 1;
        self.bytes -= size;
        Ok(())
    }
}

/// Go's `path.Clean`.
pub fn clean_path(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

fn is_drive_path(n: &str) -> bool {
    let b = n.as_bytes();
    b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/'
}

/// The chart-relative name of an archive entry (its first path element dropped), checked as
/// Helm checks it.
fn entry_name(raw: &str) -> Result<String, ArchiveError> {
    let delimiter = if raw.contains('\\') { '\\' } else { '/' };
    let parts: Vec<&str> = raw.split(delimiter).collect();
    let joined = parts[1..]
        .join(&delimiter.to_string())
        .replace(delimiter, "/");
    if joined.starts_with('/') {
        return Err(ArchiveError::AbsolutePath);
    }
    let n = clean_path(&joined);
    if n == "." {
        return Err(ArchiveError::OutsideBase(raw.to_string()));
    }
    if n.starts_with("..") {
        return Err(ArchiveError::ParentReference);
    }
    if is_drive_path(&n) {
        return Err(ArchiveError::DriveLetter);
    }
    if parts[0] == "Chart.yaml" {
        return Err(ArchiveError::ChartYamlNotInBase);
    }
    Ok(n)
}

/// Reads the files of a gzipped tar archive, names relative to the chart's top directory.
pub fn read_archive(bytes: &[u8], budget: &mut Budget) -> Result<Vec<super::File>, ArchiveError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(ArchiveError::NotGzip);
    }
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let corrupt = |e: std::io::Error| ArchiveError::Corrupt(e.to_string());
    let mut files = Vec::new();
    let mut remaining = MAX_ARCHIVE_SIZE;
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(ArchiveError::Link(raw));
        }
        let name = entry_name(&raw)?;
        let size = entry.size();
        if size > remaining {
            return Err(ArchiveError::TooLarge);
        }
        if size > MAX_FILE_SIZE {
            return Err(ArchiveError::FileTooLarge(raw));
        }
        budget.take(size)?;
        let mut data = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(remaining)
            .read_to_end(&mut data)
            .map_err(corrupt)?;
        remaining -= data.len() as u64;
        if (data.len() as u64) < size || remaining == 0 {
            return Err(ArchiveError::TooLarge);
        }
        let data = match data.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
            Some(rest) => rest.to_vec(),
            None => data,
        };
        files.push(super::File { name, data });
    }
    if files.is_empty() {
        return Err(ArchiveError::Empty);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_clean() {
        assert_eq!(clean_path("a/./b//c/"), "a/b/c");
        assert_eq!(clean_path("a/../../b"), "../b");
        assert_eq!(clean_path(""), ".");
        assert_eq!(clean_path("/../a"), "/a");
    }

    #[test]
    fn entry_names_are_checked_like_helm() {
        assert_eq!(
            entry_name("chart/templates/a.yaml").unwrap(),
            "templates/a.yaml"
        );
        assert_eq!(entry_name("chart\\values.yaml").unwrap(), "values.yaml");
        assert_eq!(
            entry_name("chart/../../etc/passwd"),
            Err(ArchiveError::ParentReference)
        );
        assert_eq!(
            entry_name("chart//etc/passwd"),
            Err(ArchiveError::AbsolutePath)
        );
        assert_eq!(
            entry_name("chart"),
            Err(ArchiveError::OutsideBase("chart".into()))
        );
        assert_eq!(
            entry_name("Chart.yaml/x"),
            Err(ArchiveError::ChartYamlNotInBase)
        );
        assert_eq!(entry_name("chart/c:/x"), Err(ArchiveError::DriveLetter));
    }
}
