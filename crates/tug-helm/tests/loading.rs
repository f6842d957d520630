//! Loading charts from archives and directories: Helm's layout rules and the refusals that
//! keep a hostile chart from escaping its directory or exhausting memory.

use std::io::Write;
use std::path::{Path, PathBuf};

use tug_helm::chart::{load, load_archive, load_dir, ArchiveError, LoadError};

/// One archive entry: a raw name (not checked, so hostile names can be written), contents and
/// tar entry type.
struct Entry<'a> {
    name: &'a str,
    data: &'a [u8],
    kind: tar::EntryType,
}

fn file<'a>(name: &'a str, data: &'a [u8]) -> Entry<'a> {
    Entry {
        name,
        data,
        kind: tar::EntryType::Regular,
    }
}

fn tgz(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for e in entries {
        let mut header = tar::Header::new_gnu();
        let name = e.name.as_bytes();
        header.as_gnu_mut().expect("gnu header").name[..name.len()].copy_from_slice(name);
        header.set_size(e.data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(e.kind);
        if e.kind == tar::EntryType::Symlink {
            header.set_size(0);
            header.set_link_name("../../etc/passwd").expect("link name");
        }
        header.set_cksum();
        builder.append(&header, e.data).expect("append");
    }
    let tar = builder.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).expect("gzip");
    gz.finish().expect("gzip")
}

const CHART_YAML: &[u8] = b"apiVersion: v2\nname: demo\nversion: 0.1.0\n";

fn archive_error(entries: &[Entry]) -> ArchiveError {
    match load_archive(&tgz(entries)) {
        Err(LoadError::Archive(e)) => e,
        other => panic!("expected an archive error, got {other:?}"),
    }
}

#[test]
fn a_packaged_chart_loads_with_subcharts_named_by_their_chart_yaml() {
    let sub = tgz(&[
        file(
            "whatever/Chart.yaml",
            b"apiVersion: v2\nname: real-name\nversion: 1.0.0\n",
        ),
        file("whatever/templates/x.yaml", b"kind: X\n"),
    ]);
    let chart = load_archive(&tgz(&[
        file("demo/Chart.yaml", CHART_YAML),
        file("demo/values.yaml", b"\xEF\xBB\xBFa: 1\n"),
        file("demo/templates/cm.yaml", b"kind: ConfigMap\n"),
        file("demo\\templates\\win.yaml", b"kind: Win\n"),
        file("demo/README.md", b"readme"),
        file("demo/charts/sub-1.0.0.tgz", &sub),
    ]))
    .expect("loads");
    assert_eq!(chart.name(), "demo");
    assert_eq!(chart.values.format_v(), "map[a:1]", "the BOM is dropped");
    let names: Vec<&str> = chart.templates.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["templates/cm.yaml", "templates/win.yaml"]);
    assert_eq!(chart.files.len(), 1);
    assert_eq!(chart.dependencies.len(), 1);
    let sub = &chart.dependencies[0];
    assert_eq!(sub.name(), "real-name");
    assert_eq!(
        sub.template_path(Some(&chart.full_path(None)), &sub.templates[0]),
        "demo/charts/real-name/templates/x.yaml"
    );
}

#[test]
fn hostile_archives_are_refused() {
    assert_eq!(
        archive_error(&[file("demo/../../etc/passwd", b"x")]),
        ArchiveError::ParentReference
    );
    assert_eq!(
        archive_error(&[file("demo//etc/passwd", b"x")]),
        ArchiveError::AbsolutePath
    );
    assert_eq!(
        archive_error(&[file("demo/c:/x", b"x")]),
        ArchiveError::DriveLetter
    );
    assert_eq!(
        archive_error(&[file("Chart.yaml/x", b"x")]),
        ArchiveError::ChartYamlNotInBase
    );
    let link = Entry {
        name: "demo/templates/link.yaml",
        data: b"",
        kind: tar::EntryType::Symlink,
    };
    assert_eq!(
        archive_error(&[file("demo/Chart.yaml", CHART_YAML), link]),
        ArchiveError::Link("demo/templates/link.yaml".into())
    );
    let big = vec![b'a'; 5 * 1024 * 1024 + 1];
    assert_eq!(
        archive_error(&[file("demo/big.txt", &big)]),
        ArchiveError::FileTooLarge("demo/big.txt".into())
    );
    assert_eq!(archive_error(&[]), ArchiveError::Empty);
    assert!(matches!(
        load_archive(b"not gzip at all"),
        Err(LoadError::Archive(ArchiveError::NotGzip))
    ));
    let mut truncated = tgz(&[file("demo/Chart.yaml", CHART_YAML)]);
    truncated.truncate(truncated.len() / 2);
    assert!(matches!(
        load_archive(&truncated),
        Err(LoadError::Archive(ArchiveError::Corrupt(_)))
    ));
}

#[test]
fn a_broken_subchart_archive_names_itself_and_its_parent() {
    let err = load_archive(&tgz(&[
        file("demo/Chart.yaml", CHART_YAML),
        file("demo/charts/bad.tgz", b"garbage"),
    ]))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "error unpacking subchart bad.tgz in demo: gzip: invalid header"
    );
}

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("tug-helm-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn write(&self, rel: &str, data: &[u8]) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("dirs");
        std::fs::write(&p, data).expect("write");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn directory_links_are_followed_inside_the_chart_only() {
    let outside = TempDir::new("outside");
    let secret = outside.write("secret.txt", b"secret");
    let dir = TempDir::new("links");
    dir.write("Chart.yaml", CHART_YAML);
    let real = dir.write("shared/data.txt", b"shared");
    std::os::unix::fs::symlink(&real, dir.0.join("alias.txt")).expect("symlink");
    let chart = load_dir(&dir.0).expect("a link inside the chart is followed");
    let alias = chart
        .files
        .iter()
        .find(|f| f.name == "alias.txt")
        .expect("alias.txt");
    assert_eq!(alias.data, b"shared");

    std::os::unix::fs::symlink(&secret, dir.0.join("leak.txt")).expect("symlink");
    match load_dir(&dir.0) {
        Err(LoadError::LinkOutsideChart(name)) => assert_eq!(name, "leak.txt"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn load_tells_directories_from_archives_and_other_files() {
    let dir = TempDir::new("kinds");
    dir.write("c/Chart.yaml", CHART_YAML);
    assert_eq!(load(&dir.0.join("c")).expect("a directory").name(), "demo");
    let archive = dir.write("c.tgz", &tgz(&[file("c/Chart.yaml", CHART_YAML)]));
    assert_eq!(load(&archive).expect("an archive").name(), "demo");
    let values = dir.write("values.yaml", b"a: 1\n");
    assert_eq!(
        load(&values).unwrap_err().to_string(),
        format!(
            "file '{}' seems to be a YAML file, but expected a gzipped archive",
            values.display()
        )
    );
    assert!(matches!(
        load(Path::new("/nonexistent/chart")),
        Err(LoadError::Io { .. })
    ));
}

#[test]
fn only_v1_and_v2_charts_load() {
    let dir = TempDir::new("versions");
    dir.write(
        "v3/Chart.yaml",
        b"apiVersion: v3\nname: x\nversion: 0.1.0\n",
    );
    assert_eq!(
        load(&dir.0.join("v3")).unwrap_err().to_string(),
        "unsupported chart version \"v3\""
    );
    dir.write("empty/values.yaml", b"");
    assert!(matches!(
        load(&dir.0.join("empty")),
        Err(LoadError::NoChartYaml(_))
    ));
    dir.write("old/Chart.yaml", b"name: old\nversion: 1.0.0\n");
    assert_eq!(
        load(&dir.0.join("old"))
            .expect("no apiVersion is v1")
            .metadata
            .api_version,
        "v1"
    );
}

#[test]
fn subcharts_nest_only_so_deep() {
    let dir = TempDir::new("deep");
    let mut path = String::new();
    for i in 0..=tug_helm::chart::MAX_SUBCHART_DEPTH + 1 {
        dir.write(
            &format!("{path}Chart.yaml"),
            format!("apiVersion: v2\nname: c{i}\nversion: 0.1.0\n").as_bytes(),
        );
        path.push_str(&format!("charts/c{}/", i + 1));
    }
    let err = load_dir(&dir.0).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("subcharts nest deeper than the maximum of 32 levels"),
        "{err}"
    );
}
