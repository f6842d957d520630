//! Standalone `kbuild DIR`: the same as `tug kustomize build DIR`, built from this crate alone
//! (handy for conformance and benchmarks while the rest of the workspace is mid-change).

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let dir = match std::path::absolute(&dir) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let fs = tug_kustomize::fs::RealFs;
    match tug_kustomize::build_dir(&fs, &dir, tug_kustomize::LoadRestrictor::RootOnly) {
        Ok(rs) => {
            let out = tug_kustomize::to_yaml(&rs);
            let _ = std::io::stdout().lock().write_all(out.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}
