//! `helm package`: a chart directory into the `.tgz` a chart repository serves.
//!
//! The archive holds the files the loader reads (`.helmignore` applied) under a top directory
//! named after the chart, `Chart.yaml` first, as Helm writes it. Unlike Helm, which re-encodes
//! Chart.yaml and values.yaml and stamps entries with the current time, files are copied as
//! they are with a fixed time and mode, so packaging the same directory twice gives the same
//! bytes (and the same digest in a repository index).

use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;

use super::chart_yaml::decode_metadata;
use super::load::dir_files;
use super::metadata::Metadata;
use super::LoadError;

/// A packaged chart.
#[derive(Debug, Clone)]
pub struct Package {
    /// Chart.yaml's `name` and `version`.
    pub name: String,
    pub version: String,
    /// The gzipped tar archive.
    pub bytes: Vec<u8>,
}

impl Package {
    /// The file name `helm package` gives it: `<name>-<version>.tgz`.
    pub fn file_name(&self) -> String {
        format!("{}-{}.tgz", self.name, self.version)
    }
}

/// Entry times in packages (2024-01-01T00:00:00Z): fixed, so packages are reproducible.
const MTIME: u64 = 1_704_067_200;

/// Packages the chart directory `dir`. Fails as loading the chart would (no Chart.yaml, a
/// link leaving the chart, invalid metadata).
pub fn package(dir: &Path) -> Result<Package, LoadError> {
    let (mut files, _) = dir_files(dir)?;
    let chart_yaml = files
        .iter()
        .position(|f| f.name == "Chart.yaml")
        .ok_or(LoadError::MissingChartYaml)?;
    let mut md = Metadata::default();
    decode_metadata("Chart.yaml", &files[chart_yaml].data, &mut md)?;
    md.validate()?;
    let first = files.remove(chart_yaml);
    files.insert(0, first);
    let io = |e: std::io::Error| LoadError::Io {
        path: dir.display().to_string(),
        source: e,
    };
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::default()));
    for f in &files {
        let mut header = tar::Header::new_gnu();
        header.set_size(f.data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(MTIME);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, format!("{}/{}", md.name, f.name), &f.data[..])
            .map_err(io)?;
    }
    let gz = tar.into_inner().map_err(io)?;
    let mut bytes = gz.finish().map_err(io)?;
    bytes.flush().map_err(io)?;
    Ok(Package {
        name: md.name,
        version: md.version,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_a_directory_that_loads_back() {
        let dir = std::env::temp_dir().join(format!("tug-package-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        std::fs::write(
            dir.join("Chart.yaml"),
            "apiVersion: v2\nname: demo\nversion: 1.2.3\n",
        )
        .unwrap();
        std::fs::write(dir.join("values.yaml"), "replicas: 2\n").unwrap();
        std::fs::write(dir.join("templates/cm.yaml"), "kind: ConfigMap\n").unwrap();
        std::fs::write(dir.join(".helmignore"), "*.bak\n").unwrap();
        std::fs::write(dir.join("notes.bak"), "ignored").unwrap();
        let p = package(&dir).unwrap();
        assert_eq!(p.file_name(), "demo-1.2.3.tgz");
        assert_eq!(package(&dir).unwrap().bytes, p.bytes, "reproducible");
        let mut names = Vec::new();
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&p.bytes[..]));
        for e in ar.entries().unwrap() {
            names.push(e.unwrap().path().unwrap().display().to_string());
        }
        assert_eq!(names[0], "demo/Chart.yaml");
        assert!(!names.iter().any(|n| n.ends_with(".bak")), "{names:?}");
        let chart = crate::chart::load_archive(&p.bytes).unwrap();
        assert_eq!(chart.metadata.version, "1.2.3");
        assert_eq!(chart.templates.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
