//! Bytes → a template and its values → Go's text/template parser and executor with every
//! Sprig and Helm function. Any panic, hang, stack overflow or runaway allocation is a bug:
//! a bad template must come back as a `TemplateError`.
//!
//! Input format (what `seed.sh` writes): the template text, then optionally a NUL byte and a
//! values YAML document, given to the template as `.Values` (with a `.Release`).
//! The key-generating functions (`genCA`, `genPrivateKey`, ...) are left out: a 4096-bit RSA
//! key takes seconds under AddressSanitizer, which the fuzzer would report as a timeout.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use tug_helm::template::{with_render_stack, Limits, Templates};
use tug_helm::values::yaml::parse_values_document;
use tug_helm::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (template, values) = text.split_once('\0').unwrap_or((text, ""));
    let _ = with_render_stack(|| {
        let values = parse_values_document(values).unwrap_or_else(|_| Value::empty_map());
        let mut release = BTreeMap::new();
        release.insert("Name".to_string(), Value::str("rel"));
        release.insert("Namespace".to_string(), Value::str("ns"));
        let mut top = BTreeMap::new();
        top.insert("Values".to_string(), values);
        top.insert("Release".to_string(), Value::map(release));
        let top = Value::map(top);

        let funcs = tug_helm::funcs::all()
            .into_iter()
            .filter(|f| !f.name.starts_with("gen"))
            .collect();
        let mut set = Templates::new(funcs);
        // The engine's limits, smaller so that one input stays well inside the 10 s timeout.
        set.set_limits(Limits {
            max_output_bytes: 1 << 20,
            max_steps: 200_000,
            ..Limits::default()
        });
        if set.parse("chart/templates/t.yaml", template).is_ok() {
            let _ = set.execute("chart/templates/t.yaml", &top);
        }
    });
});
