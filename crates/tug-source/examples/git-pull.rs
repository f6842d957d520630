//! The fetch path of `tug source pull` (and of the GitRepository reconciler) as a small binary,
//! for benchmarks: `git-pull URL BRANCH OUTDIR [LAST_REVISION]`.
//!
//! With LAST_REVISION it does what a reconciler's poll does: list the ref and stop when the
//! revision has not moved. Built without the rest of tug, so benchmarks build quickly.

use std::process::ExitCode;
use tug_source::{fetch, Auth, FetchOutcome, FetchRequest, Reference, Storage};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, branch, out, rest @ ..] = args.as_slice() else {
        eprintln!("usage: git-pull URL BRANCH OUTDIR [LAST_REVISION]");
        return ExitCode::from(2);
    };
    let last = match rest.first().map(|r| r.parse()) {
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
        None => None,
    };
    let reference = Reference::Branch(branch.clone());
    let run = || -> tug_source::Result<String> {
        let request = FetchRequest {
            url,
            reference: &reference,
            auth: &Auth::None,
            last_revision: last.as_ref(),
        };
        match fetch(&request)? {
            FetchOutcome::Unchanged(r) => Ok(format!("unchanged {r}")),
            FetchOutcome::Fetched(c) => {
                let a = c.archive(&Storage::new(out, "localhost")?, "", None)?;
                Ok(format!("{} {}", a.revision, a.digest.unwrap_or_default()))
            }
        }
    };
    match run() {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
