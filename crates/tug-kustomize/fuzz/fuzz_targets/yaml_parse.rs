//! Bytes → the YAML reader (both the YAML 1.2 and the YAML 1.1 flavour) → the printers.
//! Any panic, hang or stack overflow is a bug: malformed input must come back as an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tug_kustomize::yaml::{json::to_json, parse_documents, parse_documents_yaml11, to_yaml};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(docs) = parse_documents(text) {
        for d in &docs {
            let printed = to_yaml(d);
            let _ = to_json(d);
            // What we print must read back (kustomize's output is itself valid YAML).
            if let Err(e) = parse_documents(&printed) {
                panic!("printed YAML does not parse: {e}\n--- printed ---\n{printed}");
            }
        }
    }
    let _ = parse_documents_yaml11(text);
});
