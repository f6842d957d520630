//! Template snippets against what real Helm v4.2.3 renders for them
//! (testdata/template/cases.json, recorded by testdata/template/record.py).

use std::collections::BTreeMap;

use super::Templates;
use crate::value::Value;

fn from_json(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        // Values reach Helm's templates through JSON: every number is a float64.
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::str(s),
        serde_json::Value::Array(a) => Value::list(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => Value::map(
            o.iter()
                .map(|(k, v)| (k.clone(), from_json(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

/// The top-level object Helm gives a template, as far as the snippets use it.
fn top_level(values: &serde_json::Value) -> Value {
    let mut release = BTreeMap::new();
    release.insert("Name".to_string(), Value::str("rel"));
    release.insert("Namespace".to_string(), Value::str("ns"));
    let mut template = BTreeMap::new();
    template.insert("Name".to_string(), Value::str("c/templates/cm.yaml"));
    template.insert("BasePath".to_string(), Value::str("c/templates"));
    let mut top = BTreeMap::new();
    top.insert("Values".to_string(), from_json(values));
    top.insert("Release".to_string(), Value::map(release));
    top.insert("Template".to_string(), Value::map(template));
    Value::map(top)
}

struct Case {
    name: String,
    tpl: String,
    defs: String,
    values: serde_json::Value,
    out: Option<String>,
    err: Option<String>,
}

fn cases() -> Vec<Case> {
    let raw: serde_json::Value =
        serde_json::from_str(include_str!("../../testdata/template/cases.json"))
            .expect("cases.json parses");
    let text = |c: &serde_json::Value, k: &str| c.get(k).and_then(|v| v.as_str()).map(String::from);
    raw.as_array()
        .expect("a list of cases")
        .iter()
        .map(|c| Case {
            name: text(c, "name").unwrap_or_default(),
            tpl: text(c, "tpl").unwrap_or_default(),
            defs: text(c, "defs").unwrap_or_default(),
            values: c.get("values").cloned().unwrap_or(serde_json::Value::Null),
            out: text(c, "out"),
            err: text(c, "err"),
        })
        .collect()
}

/// Renders a case as the recorder did: through `include "snip"` for output, as the file itself
/// for errors (with Helm's rewording of the error).
fn render(case: &Case) -> Result<String, String> {
    const FILE: &str = "c/templates/cm.yaml";
    let data = top_level(&case.values);
    let mut set = Templates::new(Vec::new());
    let snip = format!(
        "{}{{{{- define \"snip\" -}}}}{}{{{{- end -}}}}",
        case.defs, case.tpl
    );
    if set.parse("c/templates/_snip.tpl", &snip).is_ok() {
        if let Ok(out) = set.execute("snip", &data) {
            return Ok(out);
        }
    }
    let mut set = Templates::new(Vec::new());
    let file = format!("{}{}", case.tpl, case.defs);
    set.parse(FILE, &file).map_err(|e| e.helm_message(FILE))?;
    set.execute(FILE, &data).map_err(|e| e.helm_message(FILE))
}

#[test]
fn snippets_render_as_helm_renders_them() {
    // Helm's include bound lets 1001 includes nest: that needs more than a test thread's stack.
    std::thread::Builder::new()
        .stack_size(STACK_FOR_DEEP_TEMPLATES)
        .spawn(check_all_cases)
        .expect("spawns")
        .join()
        .expect("no case panics");
}

const STACK_FOR_DEEP_TEMPLATES: usize = 512 << 20;

fn check_all_cases() {
    let mut failures = Vec::new();
    let all = cases();
    for case in &all {
        let got = render(case);
        let ok = match (&got, &case.out, &case.err) {
            (Ok(out), Some(want), _) => out == want,
            (Err(e), _, Some(want)) => e == want,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{}: {:?}\n   got  {:?}\n   want {:?}",
                case.name,
                case.tpl,
                got,
                case.out.as_ref().or(case.err.as_ref())
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Helm:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn a_parsed_set_is_shared_between_threads() {
    let mut set = Templates::new(Vec::new());
    set.parse("t", "{{ .a }}-{{ len .b }}").expect("parses");
    let set = std::sync::Arc::new(set);
    let handles: Vec<_> = (0..2)
        .map(|i| {
            let set = set.clone();
            std::thread::spawn(move || {
                let mut m = BTreeMap::new();
                m.insert("a".to_string(), Value::Float(i as f64));
                m.insert("b".to_string(), Value::str("xyz"));
                set.execute("t", &Value::map(m)).expect("executes")
            })
        })
        .collect();
    let outs: Vec<String> = handles
        .into_iter()
        .map(|h| h.join().expect("joins"))
        .collect();
    assert_eq!(outs, vec!["0-3", "1-3"]);
}

fn run_on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(STACK_FOR_DEEP_TEMPLATES)
        .spawn(f)
        .expect("spawns")
        .join()
        .expect("does not panic")
}

fn execute_text(text: &str) -> Result<String, super::TemplateError> {
    let mut set = Templates::new(Vec::new());
    set.parse("t", text)?;
    set.execute("t", &Value::empty_map())
}

#[test]
fn endless_template_recursion_stops_at_the_depth_bound() {
    let err = run_on_big_stack(|| {
        execute_text(r#"{{ define "r" }}x{{ template "r" . }}{{ end }}{{ template "r" . }}"#)
            .expect_err("recursion is bounded")
            .to_string()
    });
    assert_eq!(
        err,
        format!(
            "template: t:1:29: executing \"r\" at <{{{{template \"r\" .}}}}>: exceeded maximum template depth ({})",
            super::MAX_TEMPLATE_DEPTH
        )
    );
}

#[test]
fn endless_tpl_recursion_is_bounded_too() {
    let err = run_on_big_stack(|| {
        let mut set = Templates::new(Vec::new());
        set.parse("t", "{{ tpl .t . }}").expect("parses");
        let mut m = BTreeMap::new();
        m.insert("t".to_string(), Value::str("{{ tpl .t . }}"));
        set.execute("t", &Value::map(m))
            .expect_err("recursion is bounded")
    });
    assert_eq!(err.kind(), super::ErrorKind::Limit);
    assert!(err.to_string().contains("exceeded maximum template depth"));
}

#[test]
fn runaway_output_fails_instead_of_filling_memory() {
    let mut set = Templates::new(Vec::new());
    set.set_limits(super::Limits {
        max_output_bytes: 1 << 20,
        ..super::Limits::default()
    });
    // 10^9 iterations of a 10-byte text: far beyond the bound, stopped after 1 MiB.
    let text =
        "{{ range 1000 }}{{ range 1000 }}{{ range 1000 }}0123456789{{ end }}{{ end }}{{ end }}";
    set.parse("t", text).expect("parses");
    let err = set
        .execute("t", &Value::empty_map())
        .expect_err("output is bounded");
    assert_eq!(err.kind(), super::ErrorKind::Limit);
    assert_eq!(err.to_string(), "template output exceeded 1048576 bytes");
}

#[test]
fn runaway_loops_without_output_hit_the_step_bound() {
    let mut set = Templates::new(Vec::new());
    set.set_limits(super::Limits {
        max_steps: 100_000,
        ..super::Limits::default()
    });
    set.parse(
        "t",
        "{{ range 100000 }}{{ range 100000 }}{{ end }}{{ end }}",
    )
    .expect("parses");
    let err = set
        .execute("t", &Value::empty_map())
        .expect_err("steps are bounded");
    assert_eq!(err.to_string(), "template execution exceeded 100000 steps");
}

#[test]
fn deep_nesting_is_a_parse_error_not_a_crash() {
    let (parens, ifs) = run_on_big_stack(|| {
        let n = super::MAX_PARSE_DEPTH + 1;
        let parens = format!("{{{{ {}1{} }}}}", "(".repeat(n), ")".repeat(n));
        let ifs = format!("{}{}", "{{ if 1 }}".repeat(n), "{{ end }}".repeat(n));
        (
            execute_text(&parens).expect_err("too deep").to_string(),
            execute_text(&ifs).expect_err("too deep").to_string(),
        )
    });
    assert_eq!(parens, "template: t:1: max expression depth exceeded");
    assert_eq!(ifs, "template: t:1: max expression depth exceeded");
}

/// Random token soups through the parser and executor: errors are fine, panics are not.
#[test]
fn arbitrary_text_never_panics() {
    const PIECES: &[&str] = &[
        "{{",
        "}}",
        "{{-",
        "-}}",
        " ",
        "\n",
        "(",
        ")",
        "|",
        ".",
        ".a",
        ".b",
        "$",
        "$x",
        ":=",
        "=",
        ",",
        "if",
        "else",
        "end",
        "range",
        "with",
        "define",
        "template",
        "block",
        "break",
        "continue",
        "nil",
        "true",
        "1",
        "-1",
        "1.5",
        "0x",
        "'a'",
        "'",
        "\"s\"",
        "\"",
        "`r`",
        "`",
        "/*",
        "*/",
        "len",
        "index",
        "slice",
        "printf",
        "\"%d %v %!\"",
        "print",
        "eq",
        "lt",
        "and",
        "or",
        "not",
        "call",
        "html",
        "js",
        "include",
        "tpl",
        "lookup",
        "\"t\"",
        "é",
        "\\",
        "%",
        "{{/*",
        "*/}}",
        "1e400",
        "0b2",
        "9223372036854775808",
    ];
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    run_on_big_stack(move || {
        let mut data = BTreeMap::new();
        data.insert(
            "a".to_string(),
            Value::list(vec![Value::Float(1.0), Value::Nil]),
        );
        data.insert("b".to_string(), Value::str("x"));
        let data = Value::map(data);
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let text: String = (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            let mut set = Templates::new(Vec::new());
            if set.parse("t", &text).is_ok() {
                let _ = set.execute("t", &data);
                let _ = set.execute("missing", &data);
            }
        }
    });
}

#[test]
fn with_render_stack_runs_helms_deepest_include_nesting() {
    // 1001 nested includes of one name: the most Helm allows.
    let text = r#"{{ define "d" }}{{ if lt (len .) 1000 }}{{ include "d" (print . "x") }}{{ end }}{{ end }}{{ include "d" "" }}"#;
    let out = super::with_render_stack(|| {
        let mut set = Templates::new(Vec::new());
        set.parse("t", text).expect("parses");
        set.execute("t", &Value::Nil).map_err(|e| e.to_string())
    })
    .expect("a thread starts");
    assert_eq!(out, Ok(String::new()));
}

/// A Go slice type with a method, like Helm's `chartutil.VersionSet`.
#[derive(Debug)]
struct VersionSet(Vec<&'static str>);

impl crate::value::Object for VersionSet {
    fn type_name(&self) -> String {
        "common.VersionSet".into()
    }
    fn member(
        &self,
        name: &str,
        args: Vec<Value>,
    ) -> Option<Result<Value, crate::func::FuncError>> {
        match (name, args.as_slice()) {
            ("Has", [Value::String(v)]) => Some(Ok(Value::Bool(self.0.contains(&&**v)))),
            ("Has", _) => Some(Err(crate::func::FuncError::msg("Has takes one string"))),
            _ => None,
        }
    }
    fn format_v(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn elements(&self) -> Option<Value> {
        Some(Value::string_list(
            self.0.iter().map(|s| s.to_string()).collect(),
        ))
    }
    fn method_sig(&self, name: &str) -> Option<crate::func::Sig> {
        (name == "Has").then_some(crate::func::Sig::fixed(&[crate::func::Ty::String]))
    }
}

#[test]
fn objects_answer_fields_methods_range_len_and_index() {
    let mut caps = BTreeMap::new();
    caps.insert(
        "APIVersions".to_string(),
        Value::Object(std::rc::Rc::new(VersionSet(vec!["v1", "apps/v1"]))),
    );
    let mut top = BTreeMap::new();
    top.insert("Capabilities".to_string(), Value::map(caps));
    let data = Value::map(top);
    let run = |text: &str| {
        let mut set = Templates::new(Vec::new());
        set.parse("t", text).expect("parses");
        set.execute("t", &data).map_err(|e| e.to_string())
    };
    let v = ".Capabilities.APIVersions";
    assert_eq!(
        run(&format!(
            "{{{{ {v}.Has \"apps/v1\" }}}} {{{{ {v}.Has \"x\" }}}} {{{{ len {v} }}}} {{{{ index {v} 1 }}}} {{{{ range {v} }}}}<{{{{ . }}}}>{{{{ end }}}} {{{{ {v} }}}} {{{{ printf \"%T\" {v} }}}} {{{{ if {v} }}}}T{{{{ end }}}}"
        )),
        Ok("true false 2 apps/v1 <v1><apps/v1> [v1 apps/v1] common.VersionSet T".to_string())
    );
    assert_eq!(
        run(&format!("{{{{ {v}.Nope }}}}")),
        Err("template: t:1:16: executing \"t\" at <.Capabilities.APIVersions.Nope>: can't evaluate field Nope in type interface {}".to_string())
    );
    assert_eq!(
        run(&format!("{{{{ {v}.Has 1 2 }}}}")),
        Err("template: t:1:16: executing \"t\" at <.Capabilities.APIVersions.Has>: wrong number of args for Has: want 1 got 2".to_string())
    );
    assert_eq!(
        run(&format!("{{{{ {v}.Has 1 }}}}")),
        Err("template: t:1:33: executing \"t\" at <1>: expected string; found 1".to_string())
    );
    assert_eq!(
        run(&format!("{{{{ \"v1\" | {v}.Has }}}}")),
        Ok("true".to_string())
    );
}

/// A cluster with one Secret, refusing to list Pods.
struct OneSecret;

impl super::Lookup for OneSecret {
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<BTreeMap<String, Value>, String> {
        match (api_version, kind, namespace, name) {
            ("v1", "Secret", "ns", "s") => {
                let mut m = BTreeMap::new();
                m.insert("kind".to_string(), Value::str("Secret"));
                Ok(m)
            }
            ("v1", "Pod", _, _) => Err("pods are forbidden".into()),
            _ => Ok(BTreeMap::new()),
        }
    }
}

#[test]
fn lookup_answers_through_the_configured_source() {
    let mut set = Templates::new(Vec::new());
    set.set_lookup(std::sync::Arc::new(OneSecret));
    set.parse(
        "t",
        r#"{{ (lookup "v1" "Secret" "ns" "s").kind }}|{{ lookup "v1" "Secret" "ns" "x" }}|{{ tpl "{{ (lookup \"v1\" \"Secret\" \"ns\" \"s\").kind }}" . }}"#,
    )
    .expect("parses");
    assert_eq!(
        set.execute("t", &Value::Nil).map_err(|e| e.to_string()),
        Ok("Secret|map[]|Secret".to_string())
    );
    set.parse("p", r#"{{ lookup "v1" "Pod" "ns" "" }}"#)
        .expect("parses");
    assert_eq!(
        set.execute("p", &Value::Nil).map_err(|e| e.to_string()),
        Err(r#"template: p:1:3: executing "p" at <lookup "v1" "Pod" "ns" "">: error calling lookup: pods are forbidden"#.to_string())
    );
    assert!(!Templates::new(Vec::new()).has("t"));
    assert!(set.has("t") && set.has("p"));
}
