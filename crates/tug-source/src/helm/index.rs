//! Reading a Helm repository index (`index.yaml`) as a stream of YAML events.
//!
//! An index of 10,000 chart versions is some 20 MB of YAML; decoding it whole (as Helm and
//! Flux do) costs hundreds of MB. Here the file is read through libyaml's event parser in
//! small chunks and only what a question needs is kept: a count for validation, one chart's
//! best candidate for a query.
//!
//! Version picking follows Flux's source-controller (which refines Helm's `IndexFile.Get`): a
//! version string equal to the requested one wins outright; otherwise the highest version
//! satisfying the range (Masterminds semver: `*` by default, pre-releases only when the range
//! names one), versions that are not semver skipped, ties between versions that differ only
//! in build metadata going to the most recently `created`.

use super::error::{HelmError, Result};
use crate::semver_range::{parse_version, Range};
use semver::Version;
use std::cmp::Ordering;
use std::path::Path;
use tug_kustomize::yaml::events::{Event, Parser};

/// One version of a chart, as the index describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChartVersionEntry {
    pub name: String,
    pub version: String,
    /// The chart's apiVersion (`v1` when the index omits it, as Helm defaults it).
    pub api_version: String,
    pub app_version: Option<String>,
    pub description: Option<String>,
    /// Where the archive can be downloaded: absolute, or relative to the repository URL.
    pub urls: Vec<String>,
    /// The archive's SHA-256 (hex, as `helm repo index` writes it).
    pub digest: Option<String>,
    /// RFC 3339 time the entry was created.
    pub created: Option<String>,
    pub deprecated: bool,
    /// `application` or `library`, when given.
    pub chart_type: Option<String>,
}

/// What validating an index found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexSummary {
    pub api_version: String,
    pub generated: Option<String>,
    /// Number of charts and of chart versions.
    pub charts: usize,
    pub versions: usize,
}

/// The events of one index file, with the file's name for errors.
struct Events {
    parser: Parser,
    name: String,
    line: usize,
}

impl Events {
    fn open(path: &Path) -> Result<Events> {
        let file = std::fs::File::open(path).map_err(|e| HelmError::storage(path, e))?;
        Ok(Events {
            parser: Parser::from_reader(std::io::BufReader::with_capacity(64 * 1024, file)),
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
            line: 1,
        })
    }

    fn next(&mut self) -> Result<Event> {
        match self.parser.next_event() {
            Ok((event, line)) => {
                self.line = line;
                Ok(event)
            }
            Err(e) => Err(HelmError::InvalidIndex {
                name: self.name.clone(),
                line: Some(e.line),
                message: match e.context {
                    Some(c) => format!("{c}: {}", e.problem),
                    None => e.problem,
                },
            }),
        }
    }

    fn invalid(&self, message: impl Into<String>) -> HelmError {
        HelmError::InvalidIndex {
            name: self.name.clone(),
            line: Some(self.line),
            message: message.into(),
        }
    }

    /// Consumes the rest of a value that started with `first`.
    fn skip(&mut self, first: Event) -> Result<()> {
        let mut depth: usize = match first {
            Event::MappingStart { .. } | Event::SequenceStart { .. } => 1,
            _ => 0,
        };
        while depth > 0 {
            match self.next()? {
                Event::MappingStart { .. } | Event::SequenceStart { .. } => depth += 1,
                Event::MappingEnd | Event::SequenceEnd => depth -= 1,
                Event::StreamEnd => return Err(self.invalid("unexpected end of the index")),
                _ => {}
            }
        }
        Ok(())
    }

    /// The next mapping key, or `None` at the mapping's end.
    fn key(&mut self) -> Result<Option<String>> {
        match self.next()? {
            Event::MappingEnd => Ok(None),
            Event::Scalar { value, .. } => Ok(Some(value)),
            _ => Err(self.invalid("a map key is not a string")),
        }
    }

    /// A scalar value (a string, number, boolean...); other values are skipped as `None`.
    fn scalar(&mut self) -> Result<Option<String>> {
        match self.next()? {
            Event::Scalar { value, .. } => Ok(Some(value)),
            other => self.skip(other).map(|()| None),
        }
    }

    /// Opens the document and its top-level map.
    fn start(&mut self) -> Result<()> {
        match self.next()? {
            Event::StreamStart => {}
            _ => return Err(self.invalid("not a YAML stream")),
        }
        match self.next()? {
            Event::DocumentStart => {}
            Event::StreamEnd => {
                return Err(HelmError::InvalidIndex {
                    name: self.name.clone(),
                    line: None,
                    message: "empty index.yaml file".into(),
                })
            }
            _ => return Err(self.invalid("not a YAML document")),
        }
        match self.next()? {
            Event::MappingStart { .. } => Ok(()),
            _ => Err(self.invalid("the index is not a map")),
        }
    }

    /// After the key `entries`: `true` when a map of charts follows, `false` when it is null.
    fn entries_start(&mut self) -> Result<bool> {
        match self.next()? {
            Event::MappingStart { .. } => Ok(true),
            Event::Scalar { value, .. } if is_null(&value) => Ok(false),
            _ => Err(self.invalid("'entries' is not a map of charts")),
        }
    }

    /// After a chart's name: `true` when a list of versions follows, `false` when it is null.
    fn versions_start(&mut self, chart: &str) -> Result<bool> {
        match self.next()? {
            Event::SequenceStart { .. } => Ok(true),
            Event::Scalar { value, .. } if is_null(&value) => Ok(false),
            _ => Err(self.invalid(format!("the versions of chart {chart:?} are not a list"))),
        }
    }

    /// The next version of a chart's list (`None` at its end), its fields read into an entry.
    /// Nested values other than `urls` (maintainers, annotations, dependencies) are skipped.
    fn version(&mut self, chart: &str) -> Result<Option<ChartVersionEntry>> {
        match self.next()? {
            Event::SequenceEnd => return Ok(None),
            Event::MappingStart { .. } => {}
            Event::Scalar { value, .. } if is_null(&value) => {
                // Helm skips empty entries.
                return Ok(Some(ChartVersionEntry::default()));
            }
            _ => return Err(self.invalid(format!("a version of chart {chart:?} is not a map"))),
        }
        let mut e = ChartVersionEntry::default();
        while let Some(key) = self.key()? {
            match key.as_str() {
                "name" => e.name = self.scalar()?.unwrap_or_default(),
                "version" => e.version = self.scalar()?.unwrap_or_default(),
                "apiVersion" => e.api_version = self.scalar()?.unwrap_or_default(),
                "appVersion" => e.app_version = self.scalar()?,
                "description" => e.description = self.scalar()?,
                "digest" => e.digest = self.scalar()?,
                "created" => e.created = self.scalar()?,
                "type" => e.chart_type = self.scalar()?,
                "deprecated" => e.deprecated = self.scalar()?.is_some_and(|v| v == "true"),
                "urls" => match self.next()? {
                    Event::SequenceStart { .. } => loop {
                        match self.next()? {
                            Event::SequenceEnd => break,
                            Event::Scalar { value, .. } => e.urls.push(value),
                            other => self.skip(other)?,
                        }
                    },
                    other => self.skip(other)?,
                },
                _ => {
                    let first = self.next()?;
                    self.skip(first)?;
                }
            }
        }
        if e.api_version.is_empty() {
            e.api_version = "v1".into();
        }
        Ok(Some(e))
    }
}

fn is_null(v: &str) -> bool {
    matches!(v, "" | "~" | "null" | "Null" | "NULL")
}

/// Checks that the file is a Helm repository index, reading it once as a stream: a YAML map
/// with a non-empty `apiVersion` and `entries` mapping chart names to lists of versions.
/// Malformed or truncated YAML is an error naming the line.
pub fn validate_index(path: &Path) -> Result<IndexSummary> {
    let mut ev = Events::open(path)?;
    ev.start()?;
    let mut summary = IndexSummary::default();
    while let Some(key) = ev.key()? {
        match key.as_str() {
            "apiVersion" => summary.api_version = ev.scalar()?.unwrap_or_default(),
            "generated" => summary.generated = ev.scalar()?,
            "entries" => {
                if !ev.entries_start()? {
                    continue;
                }
                while let Some(chart) = ev.key()? {
                    summary.charts += 1;
                    if !ev.versions_start(&chart)? {
                        continue;
                    }
                    while ev.version(&chart)?.is_some() {
                        summary.versions += 1;
                    }
                }
            }
            _ => {
                let first = ev.next()?;
                ev.skip(first)?;
            }
        }
    }
    // The rest of the stream must parse too (a truncated tail shows up here).
    loop {
        match ev.next()? {
            Event::StreamEnd => break,
            Event::DocumentStart => {
                return Err(ev.invalid("more than one YAML document in the index"))
            }
            _ => {}
        }
    }
    if summary.api_version.is_empty() || is_null(&summary.api_version) {
        return Err(HelmError::InvalidIndex {
            name: ev.name,
            line: None,
            message: "no API version specified".into(),
        });
    }
    Ok(summary)
}

/// Queries on a stored index file.
pub struct IndexQuery;

impl IndexQuery {
    /// The version of `chart` that `constraint` picks (empty means `*`), reading the index
    /// as a stream and keeping only the best candidate so far.
    pub fn find(index_path: &Path, chart: &str, constraint: &str) -> Result<ChartVersionEntry> {
        let mut ev = Events::open(index_path)?;
        ev.start()?;
        let mut picker = Picker::new(constraint);
        let mut found_chart = false;
        'top: while let Some(key) = ev.key()? {
            if key != "entries" {
                let first = ev.next()?;
                ev.skip(first)?;
                continue;
            }
            if !ev.entries_start()? {
                continue;
            }
            while let Some(name) = ev.key()? {
                if name != chart {
                    let first = ev.next()?;
                    ev.skip(first)?;
                    continue;
                }
                found_chart = true;
                if ev.versions_start(&name)? {
                    while let Some(entry) = ev.version(&name)? {
                        picker.offer(entry);
                    }
                }
                // Names are unique: nothing further in the file matters.
                break 'top;
            }
        }
        if !found_chart {
            return Err(HelmError::NoChartName {
                chart: chart.to_string(),
            });
        }
        picker.finish(chart)
    }
}

/// Keeps the best candidate of a stream of versions.
pub(crate) struct Picker {
    requested: String,
    range: std::result::Result<Range, String>,
    exact: Option<ChartVersionEntry>,
    best: Option<(Version, ChartVersionEntry)>,
}

impl Picker {
    pub(crate) fn new(constraint: &str) -> Picker {
        let requested = constraint.trim().to_string();
        let text = if requested.is_empty() {
            "*"
        } else {
            requested.as_str()
        };
        Picker {
            range: text.parse::<Range>().map_err(|_| text.to_string()),
            requested,
            exact: None,
            best: None,
        }
    }

    pub(crate) fn offer(&mut self, e: ChartVersionEntry) {
        if self.exact.is_some() || e.version.is_empty() {
            return;
        }
        if !self.requested.is_empty() && e.version == self.requested {
            self.exact = Some(e);
            return;
        }
        let Ok(range) = &self.range else { return };
        let Some(v) = parse_version(&e.version) else {
            return;
        };
        if !range.matches(&v) {
            return;
        }
        let better = match &self.best {
            None => true,
            Some((bv, be)) => match v.cmp_precedence(bv) {
                Ordering::Greater => true,
                Ordering::Less => false,
                Ordering::Equal => newer(e.created.as_deref(), be.created.as_deref()),
            },
        };
        if better {
            self.best = Some((v, e));
        }
    }

    pub(crate) fn finish(self, chart: &str) -> Result<ChartVersionEntry> {
        if let Some(e) = self.exact {
            return Ok(e);
        }
        if let Err(text) = self.range {
            return Err(HelmError::InvalidConstraint(text));
        }
        self.best
            .map(|(_, e)| e)
            .ok_or_else(|| HelmError::NoChartVersion {
                chart: chart.to_string(),
                constraint: if self.requested.is_empty() {
                    "*".into()
                } else {
                    self.requested
                },
            })
    }
}

/// Whether creation time `a` is after `b` (times that do not parse count as oldest).
fn newer(a: Option<&str>, b: Option<&str>) -> bool {
    let t = |s: Option<&str>| s.and_then(|s| s.parse::<jiff::Timestamp>().ok());
    match (t(a), t(b)) {
        (Some(a), Some(b)) => a > b,
        (Some(_), None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: &str, created: &str) -> ChartVersionEntry {
        ChartVersionEntry {
            name: "c".into(),
            version: version.into(),
            created: Some(created.into()),
            ..Default::default()
        }
    }

    fn pick(constraint: &str, versions: &[&str]) -> Result<String> {
        let mut p = Picker::new(constraint);
        for v in versions {
            p.offer(entry(v, "2024-01-01T00:00:00Z"));
        }
        p.finish("c").map(|e| e.version)
    }

    #[test]
    fn picks_like_flux() {
        let vs = [
            "1.0.0",
            "1.2.3",
            "1.2.4",
            "1.3.0-rc.1",
            "2.0.0",
            "v2.1.0",
            "not-semver",
            "3.0.0-beta.1",
        ];
        assert_eq!(pick("", &vs).unwrap(), "v2.1.0");
        assert_eq!(pick("*", &vs).unwrap(), "v2.1.0");
        assert_eq!(pick(">=1.0.0 <2.0.0", &vs).unwrap(), "1.2.4");
        assert_eq!(pick("~1.2", &vs).unwrap(), "1.2.4");
        assert_eq!(pick("1.2.3", &vs).unwrap(), "1.2.3");
        assert_eq!(pick("not-semver", &vs).unwrap(), "not-semver");
        assert_eq!(pick(">=3.0.0-0", &vs).unwrap(), "3.0.0-beta.1");
        assert_eq!(pick("~1.3.0-0", &vs).unwrap(), "1.3.0-rc.1");
        let e = pick(">=4", &vs).unwrap_err();
        assert_eq!(e.to_string(), "no chart version found for c->=4");
        assert!(matches!(
            pick("nope!", &vs),
            Err(HelmError::InvalidConstraint(_))
        ));
    }

    #[test]
    fn build_metadata_ties_go_to_the_newest() {
        let mut p = Picker::new("*");
        p.offer(entry("1.0.0+b", "2024-01-02T00:00:00Z"));
        p.offer(entry("1.0.0+a", "2024-01-03T00:00:00Z"));
        p.offer(entry("1.0.0+c", "2024-01-01T00:00:00Z"));
        assert_eq!(p.finish("c").unwrap().version, "1.0.0+a");
    }

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    const INDEX: &str = r#"apiVersion: v1
entries:
  alpha:
  - name: alpha
    version: 0.1.0
    urls: [alpha-0.1.0.tgz]
  podinfo:
  - apiVersion: v2
    appVersion: 6.0.0
    created: "2024-01-01T00:00:00Z"
    description: Podinfo Helm chart for Kubernetes
    digest: abc
    maintainers:
    - name: someone
    annotations: {a: b}
    name: podinfo
    urls:
    - https://example.com/podinfo-1.2.3.tgz
    version: 1.2.3
  - name: podinfo
    version: 2.0.0
    urls: [podinfo-2.0.0.tgz]
  empty:
generated: "2024-01-01T00:00:00Z"
"#;

    #[test]
    fn validates_and_queries_a_file() {
        let f = write(INDEX);
        let s = validate_index(f.path()).unwrap();
        assert_eq!((s.charts, s.versions), (3, 3));
        let e = IndexQuery::find(f.path(), "podinfo", "~1.2").unwrap();
        assert_eq!(e.version, "1.2.3");
        assert_eq!(e.api_version, "v2");
        assert_eq!(e.urls, ["https://example.com/podinfo-1.2.3.tgz"]);
        assert_eq!(e.digest.as_deref(), Some("abc"));
        assert_eq!(e.app_version.as_deref(), Some("6.0.0"));
        let e = IndexQuery::find(f.path(), "alpha", "").unwrap();
        assert_eq!(e.api_version, "v1");
        assert!(matches!(
            IndexQuery::find(f.path(), "missing", "*"),
            Err(HelmError::NoChartName { .. })
        ));
        assert!(matches!(
            IndexQuery::find(f.path(), "empty", "*"),
            Err(HelmError::NoChartVersion { .. })
        ));
    }

    #[test]
    fn refuses_what_is_not_an_index() {
        let msg = |t: &str| validate_index(write(t).path()).unwrap_err().to_string();
        assert!(msg("").contains("empty index.yaml file"), "{}", msg(""));
        assert!(msg("entries: {}\n").contains("no API version specified"));
        assert!(msg("- a\n- b\n").contains("not a map"));
        assert!(msg("apiVersion: v1\nentries: [1]\n").contains("'entries' is not a map"));
        let m = msg("apiVersion: v1\nentries:\n  a:\n  - name: \"unterminated\n");
        assert!(m.contains("(line "), "{m}");
    }
}
