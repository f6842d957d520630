//! The Helm oracle: Helm v4.2.3's own engine and client (helm-python-sdk on PyPI), for tests
//! that check tug against what Helm itself reads and writes. Never used at run time.
//!
//! `scripts/test` makes the virtualenv and exports `TUG_HELM_PYTHON`; without it, the
//! virtualenv `scripts/test` would have made is used if present.

use std::path::PathBuf;
use std::process::Command;

/// The pinned SDK; `scripts/test` installs the same.
pub const HELM_SDK: &str = "helm-python-sdk==0.2.2";

/// The Python interpreter that imports `helm_python`, or why there is none.
pub fn python() -> Result<PathBuf, String> {
    let candidate = match std::env::var_os("TUG_HELM_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .unwrap_or_else(|| PathBuf::from("/tmp"));
            cache
                .join("tug")
                .join(format!("venv-{}", HELM_SDK.replace('=', "-")))
                .join("bin/python")
        }
    };
    let ok = Command::new(&candidate)
        .args(["-c", "import helm_python"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        Ok(candidate)
    } else {
        Err(format!(
            "the Helm oracle is not installed: {} cannot import helm_python \
             (scripts/test installs {HELM_SDK} into a virtualenv and sets TUG_HELM_PYTHON)",
            candidate.display()
        ))
    }
}

/// Runs `script` (Python source) with the oracle's interpreter and `args`; returns stdout, or
/// the script's stderr as the error.
pub fn run(script: &str, args: &[&str]) -> Result<String, String> {
    let py = python()?;
    let out = Command::new(&py)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", py.display()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "the Helm oracle failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
