//! Figures for the template engine: parse and execute throughput, and how much native stack
//! the deepest nesting Helm allows (1001 nested `include`s) needs.
//!
//!     cargo run --release -p tug-helm --example template_bench

use std::collections::BTreeMap;
use std::time::Instant;

use tug_helm::template::Templates;
use tug_helm::Value;

/// A chart-like template: a deployment-ish document with helpers, ranges and printf.
fn chart_text(copies: usize) -> String {
    let mut t = String::from(
        r#"{{- define "name" -}}{{ .Release.Name }}-{{ .Values.name }}{{- end -}}
{{- define "labels" -}}
app: {{ include "name" . }}
release: {{ .Release.Name }}
{{- end -}}
"#,
    );
    for i in 0..copies {
        t.push_str(&format!(
            r#"---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{{{ include "name" . }}}}-{i}
  labels:
{{{{ include "labels" . | printf "%s" }}}}
data:
{{{{- range $k, $v := .Values.data }}}}
  {{{{ $k }}}}: {{{{ printf "%q" (print $v) }}}}
{{{{- end }}}}
{{{{- if and .Values.enabled (gt (len .Values.items) 2) }}}}
  items: {{{{ range $i, $e := .Values.items }}}}{{{{ if $i }}}},{{{{ end }}}}{{{{ $e }}}}{{{{ end }}}}
{{{{- else }}}}
  items: none
{{{{- end }}}}
"#
        ));
    }
    t
}

fn data() -> Value {
    let mut values = BTreeMap::new();
    values.insert("name".to_string(), Value::str("app"));
    values.insert("enabled".to_string(), Value::Bool(true));
    let mut d = BTreeMap::new();
    for i in 0..20 {
        d.insert(format!("key{i}"), Value::Float(i as f64 * 1.5));
    }
    values.insert("data".to_string(), Value::map(d));
    values.insert(
        "items".to_string(),
        Value::list((0..10).map(|i| Value::from(format!("item{i}"))).collect()),
    );
    let mut release = BTreeMap::new();
    release.insert("Name".to_string(), Value::str("rel"));
    let mut top = BTreeMap::new();
    top.insert("Values".to_string(), Value::map(values));
    top.insert("Release".to_string(), Value::map(release));
    Value::map(top)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 3 && args[1] == "probe" {
        let size = args[2].parse().expect("a stack size");
        std::process::exit(if probe(size) { 0 } else { 1 });
    }
    let text = chart_text(100);
    let start = Instant::now();
    let rounds = 50;
    let mut set = Templates::new(Vec::new());
    for _ in 0..rounds {
        set = Templates::new(Vec::new());
        set.parse("chart/templates/cm.yaml", &text).expect("parses");
    }
    let parse = start.elapsed() / rounds;
    let data = data();
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..rounds {
        bytes = set
            .execute("chart/templates/cm.yaml", &data)
            .expect("executes")
            .len();
    }
    let exec = start.elapsed() / rounds;
    println!(
        "template of {} bytes: parse {:?}, execute {:?} ({} bytes out)",
        text.len(),
        parse,
        exec,
        bytes
    );

    // The least stack that runs 1001 nested includes (Helm's bound for one name); a stack
    // overflow aborts the process, so each size is tried in a child process.
    let me = std::env::current_exe().expect("knows its path");
    let mut size = 256usize << 10;
    while size <= 1 << 30 {
        let ok = std::process::Command::new(&me)
            .args(["probe", &size.to_string()])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            println!("1001 nested includes run in a {} KiB stack", size >> 10);
            return;
        }
        size *= 2;
    }
}

fn probe(size: usize) -> bool {
    std::thread::Builder::new()
        .stack_size(size)
        .spawn(|| {
            let mut set = Templates::new(Vec::new());
            set.parse(
                "t",
                r#"{{ define "d" }}{{ if lt (len .) 1000 }}{{ include "d" (print . "x") }}{{ end }}{{ end }}{{ include "d" "" }}"#,
            )
            .expect("parses");
            set.execute("t", &Value::Nil).is_ok()
        })
        .expect("spawns")
        .join()
        .unwrap_or(false)
}
