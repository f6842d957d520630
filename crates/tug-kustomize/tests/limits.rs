//! Inputs that must fail cleanly instead of exhausting the stack or the memory (regressions
//! from fuzzing; see docs/fuzzing.md).

use std::path::Path;
use tug_kustomize::fs::MemFs;
use tug_kustomize::yaml::parse::{MAX_DEPTH, MAX_EXPANDED_NODES};
use tug_kustomize::yaml::{parse_documents, to_yaml, ParseErrorKind};
use tug_kustomize::{build_dir, LoadRestrictor};

/// Runs `f` on a thread with the stack a tokio worker has (2 MiB) in release builds; debug
/// builds (unoptimised frames are several times larger) get 64 MiB.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let stack = if cfg!(debug_assertions) {
        64 << 20
    } else {
        2 << 20
    };
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no panic, no overflow")
}

fn flow_seq(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn nesting_past_the_limit_is_a_typed_error() {
    on_small_stack(|| {
        let ok = parse_documents(&flow_seq(MAX_DEPTH)).expect("at the limit");
        assert!(!to_yaml(&ok[0]).is_empty());
        let e = parse_documents(&flow_seq(MAX_DEPTH + 1)).expect_err("past the limit");
        assert_eq!(e.kind, ParseErrorKind::TooDeep, "{e}");
        let block = format!("{}x\n", "- ".repeat(MAX_DEPTH + 5));
        assert_eq!(
            parse_documents(&block).map_err(|e| e.kind).err(),
            Some(ParseErrorKind::TooDeep)
        );
        // go-yaml's own limit (10,000 levels) used to be ours: far past what fits a stack.
        let e = parse_documents(&flow_seq(20_000)).expect_err("way past the limit");
        assert_eq!(e.kind, ParseErrorKind::TooDeep);
    });
}

#[test]
fn aliases_count_towards_depth_and_size() {
    on_small_stack(|| {
        let half = MAX_DEPTH / 2 + 10;
        let text = format!(
            "a: &x {}{}\nb: {}*x{}\n",
            "[".repeat(half),
            "]".repeat(half),
            "[".repeat(half),
            "]".repeat(half)
        );
        let e = parse_documents(&text).expect_err("alias nests past the limit");
        assert_eq!(e.kind, ParseErrorKind::TooDeep, "{e}");
        // "Billion laughs": ten levels of ten aliases each.
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse_documents(&bomb).expect_err("expands past the limit");
        assert_eq!(e.kind, ParseErrorKind::TooManyAliases, "{e}");
        assert!(MAX_EXPANDED_NODES < 10usize.pow(10));
    });
}

fn deep_tree(depth: usize) -> MemFs {
    // `spec` is at level 2 of the document; its nested maps go on to `depth` levels in all.
    let nested = format!("{}x{}", "{a: ".repeat(depth - 2), "}".repeat(depth - 2));
    let mut fs = MemFs::new();
    fs.add(
        "/k/kustomization.yaml",
        "namePrefix: p-\nnamespace: ns\nlabels:\n- pairs: {env: prod}\n  includeSelectors: true\n\
         commonAnnotations: {note: deep}\nresources:\n- deep.yaml\n\
         patches:\n- patch: '{apiVersion: example.com/v1, kind: Deep, metadata: {name: deep}, spec: {b: 1}}'\n",
    );
    fs.add(
        "/k/deep.yaml",
        format!(
            "apiVersion: example.com/v1\nkind: Deep\nmetadata:\n  name: deep\nspec: {nested}\n"
        ),
    );
    fs
}

#[test]
fn a_build_at_the_depth_limit_fits_a_small_stack() {
    on_small_stack(|| {
        let rs = build_dir(
            &deep_tree(MAX_DEPTH),
            Path::new("/k"),
            LoadRestrictor::RootOnly,
        )
        .expect("builds at the limit");
        let out = tug_kustomize::to_yaml(&rs);
        assert!(out.contains("name: p-deep"), "{}", &out[..200]);
        let e = build_dir(
            &deep_tree(MAX_DEPTH + 1),
            Path::new("/k"),
            LoadRestrictor::RootOnly,
        )
        .expect_err("past the limit");
        assert!(e.to_string().contains("exceeded max depth"), "{e}");
    });
}

fn one_resource(text: &str) -> MemFs {
    let mut fs = MemFs::new();
    fs.add("/k/kustomization.yaml", "resources:\n- cm.yaml\n");
    fs.add("/k/cm.yaml", text);
    fs
}

/// go-yaml's "natural" key order is not a total order (x10y1 < x1y10 < x2y9 < x10y1), and
/// `sort_by` panicked on it ("comparison does not implement a total order"). Found by
/// `kustomization_build`; kubectl's own output for such keys varies from run to run (Go map
/// order), so any order is right as long as nothing panics and no key is lost.
#[test]
fn cyclic_key_order_prints_without_panicking() {
    let mut keys: Vec<String> = [
        "x10y1",
        "x1y10",
        "x2y9",
        "b",
        "B",
        "Z",
        "z",
        "\"10\"",
        "\"9\"",
        "\"09\"",
        "\"100\"",
        "v1.2.10",
        "v1.2.9",
        "é",
        "ä",
        "_private",
        "__double",
        "\"-leading\"",
        "\"~tilde\"",
        "\"!bang\"",
        "ab",
        "abc",
        "aB",
        "item10",
        "item9",
        "item1",
        "item01",
    ]
    .iter()
    .map(|k| k.to_string())
    .collect();
    // The fuzzer's input itself (its `nAme` renamed to `name`, see the next test).
    let fs = one_resource(include_str!("regressions/cyclic-keys.yaml"));
    let out = tug_kustomize::to_yaml(
        &build_dir(&fs, Path::new("/k"), LoadRestrictor::RootOnly).expect("builds"),
    );
    for key in ["x10y1", "x1y10", "x2y9", "item0  A1", "item01", "\"09\""] {
        assert!(
            out.contains(&format!("\n  {key}: x\n")) || out.contains(&format!("\n    {key}: x\n")),
            "{key}: {out}"
        );
    }
    for n in [3, 12, keys.len()] {
        let data: String = keys[..n].iter().map(|k| format!("  {k}: x\n")).collect();
        let fs = one_resource(&format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keys\ndata:\n{data}"
        ));
        let out = tug_kustomize::to_yaml(
            &build_dir(&fs, Path::new("/k"), LoadRestrictor::RootOnly).expect("builds"),
        );
        assert_eq!(out.matches(": x\n").count(), n, "{out}");
        keys.rotate_left(1);
    }
}

/// Found while checking the crash above against kubectl: a resource without
/// `metadata.name` was built; kustomize refuses it (even with `generateName`).
#[test]
fn a_resource_without_a_name_is_an_error() {
    for md in [
        "metadata:\n  generateName: x-\n",
        "metadata: {labels: {a: b}}\n",
        "",
    ] {
        let fs = one_resource(&format!("apiVersion: v1\nkind: ConfigMap\n{md}"));
        let e = build_dir(&fs, Path::new("/k"), LoadRestrictor::RootOnly).expect_err(md);
        assert!(e.to_string().contains("missing metadata.name"), "{e}");
    }
}

/// kustomize's resource order compares Namespaces of different groups in reverse when one
/// group is empty, which is not a total order either; like the key order above it must not
/// panic, whatever the number of objects.
#[test]
fn namespaces_of_many_groups_sort_without_panicking() {
    for n in [5, 12, 13, 40] {
        let docs: Vec<String> = (0..n)
            .map(|i| {
                let api = if i % 3 == 0 {
                    "v1".to_string()
                } else {
                    format!("g{}.example.com/v1", (i * 7) % n)
                };
                format!("apiVersion: {api}\nkind: Namespace\nmetadata:\n  name: ns{i}\n")
            })
            .collect();
        let fs = one_resource(&docs.join("---\n"));
        let rs = build_dir(&fs, Path::new("/k"), LoadRestrictor::RootOnly).expect("builds");
        assert_eq!(rs.len(), n);
    }
}
