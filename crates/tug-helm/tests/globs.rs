//! `.Files.Glob` against real Helm's gobwas/glob matching (recorded in glob_cases.json, see
//! record_globs.md).

use tug_helm::chart::Files;

#[test]
fn globs_match_the_files_helm_matches() {
    let recorded: serde_json::Value =
        serde_json::from_str(include_str!("glob_cases.json")).expect("glob_cases.json");
    let files = Files::new(
        recorded["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| {
                let name = f.as_str().expect("a name").to_string();
                let data = format!("content of {name}\n").into_bytes();
                (name, data)
            }),
    );
    let mut failures = Vec::new();
    for case in recorded["cases"].as_array().expect("cases") {
        let pattern = case["pattern"].as_str().expect("pattern");
        let want: Vec<&str> = case["matches"]
            .as_array()
            .expect("matches")
            .iter()
            .filter_map(|m| m.as_str())
            .collect();
        let matched = files.glob(pattern);
        let got: Vec<&str> = matched.entries().map(|(name, _)| name).collect();
        if got != want {
            failures.push(format!("{pattern:?}: Helm {want:?}, tug-helm {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn file_methods_answer_as_in_helm() {
    let recorded: serde_json::Value =
        serde_json::from_str(include_str!("files_methods.json")).expect("files_methods.json");
    let files = Files::new(recorded["files"].as_object().expect("files").iter().map(
        |(name, data)| {
            (
                name.clone(),
                data.as_str().expect("text").as_bytes().to_vec(),
            )
        },
    ));
    let out = |k: &str| {
        recorded["outputs"][k]
            .as_str()
            .expect("an output")
            .to_string()
    };
    let json_lines = |lines: Vec<String>| serde_json::to_string(&lines).expect("json");
    assert_eq!(files.glob("dir/**").as_config(), out("asconfig-dir"));
    assert_eq!(files.glob("nothing").as_config(), out("asconfig-none"));
    assert_eq!(files.glob("dir/**").as_secrets(), out("assecrets-dir"));
    assert_eq!(json_lines(files.lines("crlf.txt")), out("lines-crlf"));
    assert_eq!(json_lines(files.lines("a.txt")), out("lines-a"));
    assert_eq!(json_lines(files.lines("missing")), out("lines-missing"));
    assert_eq!(files.get("missing"), out("get-missing"));
    let bytes = files.get_bytes("a.txt");
    assert_eq!(
        format!("\"{}\"", tug_helm::chart::files::base64(&bytes)),
        out("getbytes-a")
    );
}
