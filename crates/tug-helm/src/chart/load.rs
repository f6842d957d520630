//! Helm's chart loader: the files of a chart become its metadata, values, schema, templates,
//! `.Files` and subcharts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::archive::{read_archive, Budget, MAX_FILE_SIZE};

/// Our limit on how deeply subcharts nest (Helm has none; real charts stay below five).
pub const MAX_SUBCHART_DEPTH: usize = 32;
use super::chart_yaml::decode_metadata;
use super::ignore::Rules;
use super::metadata::Metadata;
use super::{Chart, File, LoadError};
use crate::value::Value;
use crate::values::yaml::load_values;

/// Loads a chart from a directory or a `.tgz` file.
pub fn load(path: &Path) -> Result<Chart, LoadError> {
    let io = |e| LoadError::Io {
        path: path.display().to_string(),
        source: e,
    };
    if std::fs::metadata(path).map_err(io)?.is_dir() {
        return load_dir(path);
    }
    let bytes = std::fs::read(path).map_err(io)?;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        let name = path.display().to_string();
        return Err(if name.ends_with(".yml") || name.ends_with(".yaml") {
            LoadError::YamlNotArchive(name)
        } else {
            LoadError::NotArchive(name)
        });
    }
    load_archive(&bytes)
}

/// Loads a packaged chart from the bytes of a `.tgz`.
pub fn load_archive(bytes: &[u8]) -> Result<Chart, LoadError> {
    let mut budget = Budget::default();
    let files = read_archive(bytes, &mut budget)?;
    if let Some(f) = files.iter().find(|f| f.name == "Chart.yaml") {
        check_api_version(&f.data)?;
    }
    load_files_within(files, &mut budget)
}

/// Helm picks the loader by the root chart's apiVersion: v1, v2 or none load as v2 charts.
fn check_api_version(chart_yaml: &[u8]) -> Result<(), LoadError> {
    let mut md = Metadata::default();
    decode_metadata("Chart.yaml", chart_yaml, &mut md)?;
    match md.api_version.as_str() {
        "" | "v1" | "v2" => Ok(()),
        other => Err(LoadError::UnsupportedApiVersion(other.to_string())),
    }
}

/// Loads a chart directory, leaving out what its `.helmignore` names.
pub fn load_dir(dir: &Path) -> Result<Chart, LoadError> {
    let (files, mut budget) = dir_files(dir)?;
    load_files_within(files, &mut budget)
}

/// The files of a chart directory that Helm loads (and packages): `.helmignore` applied, in
/// Go's walk order, links followed while they stay inside the chart.
pub(crate) fn dir_files(dir: &Path) -> Result<(Vec<File>, Budget), LoadError> {
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |e| LoadError::Io { path: p, source: e }
    };
    let top = std::fs::canonicalize(dir).map_err(io(dir))?;
    let chart_yaml = top.join("Chart.yaml");
    match std::fs::read(&chart_yaml) {
        Ok(data) => check_api_version(&data)?,
        Err(_) => return Err(LoadError::NoChartYaml(chart_yaml.display().to_string())),
    }
    let ignore_file = top.join(".helmignore");
    let rules = if ignore_file.exists() {
        let raw = std::fs::read(&ignore_file).map_err(io(&ignore_file))?;
        Rules::parse(&String::from_utf8_lossy(&raw))?
    } else {
        Rules::defaults()
    };
    let mut walk = Walk {
        top: top.clone(),
        rules,
        budget: Budget::default(),
        files: Vec::new(),
    };
    walk.dir(&top, "")?;
    let Walk { files, budget, .. } = walk;
    Ok((files, budget))
}

struct Walk {
    top: PathBuf,
    rules: Rules,
    budget: Budget,
    files: Vec<File>,
}

impl Walk {
    /// Walks `dir` in byte order of names, as Go's `filepath.Walk` does; links are followed
    /// (Helm's `sympath.Walk`) as long as they stay inside the chart.
    fn dir(&mut self, dir: &Path, rel: &str) -> Result<(), LoadError> {
        let io = |p: &Path| {
            let p = p.display().to_string();
            move |e| LoadError::Io { path: p, source: e }
        };
        let mut names: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .map(|e| {
                let e = e.map_err(io(dir))?;
                Ok((e.file_name().to_string_lossy().into_owned(), e.path()))
            })
            .collect::<Result<_, LoadError>>()?;
        names.sort();
        for (name, path) in names {
            let n = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let link = std::fs::symlink_metadata(&path).map_err(io(&path))?;
            let target = if link.file_type().is_symlink() {
                let resolved = std::fs::canonicalize(&path).map_err(io(&path))?;
                if !resolved.starts_with(&self.top) {
                    return Err(LoadError::LinkOutsideChart(n));
                }
                resolved
            } else {
                path.clone()
            };
            let meta = std::fs::metadata(&target).map_err(io(&path))?;
            if meta.is_dir() {
                if self.rules.ignores(&n, true) {
                    continue;
                }
                self.dir(&target, &n)?;
                continue;
            }
            if self.rules.ignores(&n, false) {
                continue;
            }
            if !meta.is_file() {
                return Err(LoadError::IrregularFile(path.display().to_string()));
            }
            if meta.len() > MAX_FILE_SIZE {
                return Err(LoadError::FileTooLarge(name));
            }
            self.budget.take(meta.len())?;
            let data = std::fs::read(&target).map_err(io(&path))?;
            let data = match data.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
                Some(rest) => rest.to_vec(),
                None => data,
            };
            self.files.push(File { name: n, data });
        }
        Ok(())
    }
}

/// Builds a chart from its files (names relative to the chart directory), as Helm's
/// `LoadFiles` does.
pub fn load_files(files: Vec<File>) -> Result<Chart, LoadError> {
    load_files_within(files, &mut Budget::default())
}

fn load_files_within(files: Vec<File>, budget: &mut Budget) -> Result<Chart, LoadError> {
    load_nested(files, budget, 0)
}

/// A chart's files sorted by their role.
#[derive(Default)]
struct Sorted {
    metadata: Option<Metadata>,
    templates: Vec<File>,
    files: Vec<File>,
    values: Option<Value>,
    schema: Option<Vec<u8>>,
    /// The files under `charts/` by their first path element, names relative to `charts/`.
    subcharts: BTreeMap<String, Vec<File>>,
}

/// Reads Chart.yaml first (Helm does not rely on the order of files), then sorts the other
/// files: special files are read, `templates/` and `charts/` set apart, the rest kept for
/// `.Files`.
fn sort_files(files: Vec<File>) -> Result<Sorted, LoadError> {
    let mut sorted = Sorted::default();
    for f in files.iter().filter(|f| f.name == "Chart.yaml") {
        let md = sorted.metadata.get_or_insert_with(Metadata::default);
        decode_metadata("Chart.yaml", &f.data, md)?;
        if md.api_version.is_empty() {
            md.api_version = "v1".into();
        }
    }
    for f in files {
        match f.name.as_str() {
            "Chart.yaml" => {}
            "Chart.lock" => check_yaml("Chart.lock", &f.data)?,
            "values.yaml" => sorted.values = Some(load_values(&f.data)?),
            "values.schema.json" => sorted.schema = Some(f.data),
            // Dependencies declared the Helm 2 way; the files stay visible in v1 charts only.
            "requirements.yaml" | "requirements.lock" => {
                let md = sorted.metadata.get_or_insert_with(Metadata::default);
                if f.name == "requirements.yaml" {
                    decode_metadata("requirements.yaml", &f.data, md)?;
                } else {
                    check_yaml("requirements.lock", &f.data)?;
                }
                if md.api_version == "v1" {
                    sorted.files.push(f);
                }
            }
            name if name.starts_with("templates/") => sorted.templates.push(f),
            name if name.starts_with("charts/") && !name.ends_with(".prov") => {
                let inner = name["charts/".len()..].to_string();
                let top = inner.split('/').next().unwrap_or_default().to_string();
                sorted.subcharts.entry(top).or_default().push(File {
                    name: inner,
                    data: f.data,
                });
            }
            _ => sorted.files.push(f),
        }
    }
    Ok(sorted)
}

fn load_nested(files: Vec<File>, budget: &mut Budget, depth: usize) -> Result<Chart, LoadError> {
    let sorted = sort_files(files)?;
    let mut metadata = sorted.metadata.ok_or(LoadError::MissingChartYaml)?;
    metadata.validate()?;
    let mut chart = Chart {
        metadata,
        templates: sorted.templates,
        files: sorted.files,
        values: sorted.values.unwrap_or_else(Value::empty_map),
        schema: sorted.schema,
        dependencies: Vec::new(),
    };
    for (name, files) in sorted.subcharts {
        // Every entry of charts/ is a chart, except names starting with `_` or `.`.
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        if depth + 1 > MAX_SUBCHART_DEPTH {
            return Err(LoadError::TooDeep(MAX_SUBCHART_DEPTH));
        }
        let sub = load_subchart(&chart, &name, files, budget, depth + 1)?;
        chart.dependencies.push(sub);
    }
    Ok(chart)
}

/// Loads the subchart `charts/<name>`: an archive or a directory's files.
fn load_subchart(
    parent: &Chart,
    name: &str,
    files: Vec<File>,
    budget: &mut Budget,
    depth: usize,
) -> Result<Chart, LoadError> {
    let wrap = |e: LoadError| LoadError::Subchart {
        name: name.to_string(),
        parent: parent.name().to_string(),
        source: Box::new(e),
    };
    if name.ends_with(".tgz") {
        let file = &files[0];
        if file.name != name {
            return Err(LoadError::SubchartTar {
                parent: parent.name().to_string(),
                expected: name.to_string(),
                got: file.name.clone(),
            });
        }
        return read_archive(&file.data, budget)
            .map_err(LoadError::from)
            .and_then(|inner| load_nested(inner, budget, depth))
            .map_err(wrap);
    }
    // A loose file directly in charts/ leaves no files, so it fails as a chart without
    // Chart.yaml, as in Helm.
    let inner = files
        .into_iter()
        .filter_map(|f| {
            let (_, rest) = f.name.split_once('/')?;
            Some(File {
                name: rest.to_string(),
                data: f.data,
            })
        })
        .collect();
    load_nested(inner, budget, depth).map_err(wrap)
}

/// Lock files are only checked to be YAML, as Helm reads them without using them here.
fn check_yaml(name: &str, data: &[u8]) -> Result<(), LoadError> {
    tug_kustomize::yaml::parse_documents_yaml11(&String::from_utf8_lossy(data))
        .map(|_| ())
        .map_err(|e| LoadError::Parse {
            file: name.to_string(),
            message: format!("error converting YAML to JSON: {e}"),
        })
}
