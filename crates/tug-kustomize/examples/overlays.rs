//! Benchmark: 30 overlays over one 200-resource base, built in one process as a controller
//! builds them, with the shared parse cache ([`tug_kustomize::Cache`]), next to 30 runs of
//! `kubectl kustomize` on the same tree.
//!
//! ```sh
//! cargo run --release -p tug-kustomize --example overlays -- [RESOURCES [OVERLAYS [ROUNDS]]]
//! ```
//!
//! It writes the tree (`tests/common/overlays.rs`) to a temporary directory, then per round:
//! a fresh cache, every overlay built and printed in turn (build 1 parses the base, builds
//! 2..N find it in the cache); the same overlays built without a cache; and (first round only,
//! when kubectl is on PATH) `kubectl kustomize` per overlay. Every output is compared byte for
//! byte: cached with uncached, and tug with kubectl. Prints medians over the rounds.
//! `NO_KUBECTL=1` skips kubectl (for profiling).

#[path = "../tests/common/overlays.rs"]
mod overlays;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};
use tug_kustomize::{build_dir, fs::RealFs, to_yaml, Cache, LoadRestrictor};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() -> ExitCode {
    let (resources, count, rounds) = (arg(1, 200), arg(2, 30).max(1), arg(3, 5).max(1));
    let root = std::env::temp_dir().join(format!("tug-overlays-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for (p, text) in overlays::tree(resources, count) {
        let path = root.join(p);
        if let Err(e) = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text))
        {
            eprintln!("writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let dirs: Vec<PathBuf> = (0..count)
        .map(|o| root.join(format!("overlays/{o:02}")))
        .collect();
    let result = run(&dirs, rounds, resources);
    let _ = std::fs::remove_dir_all(&root);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn build_print(cache: Option<&Cache>, dir: &Path) -> Result<String, String> {
    let r = match cache {
        Some(c) => c.build_dir(&RealFs, dir, LoadRestrictor::RootOnly),
        None => build_dir(&RealFs, dir, LoadRestrictor::RootOnly),
    };
    r.map(|rs| to_yaml(&rs))
        .map_err(|e| format!("{}: {e}", dir.display()))
}

fn run(dirs: &[PathBuf], rounds: usize, resources: usize) -> Result<(), String> {
    let n = dirs.len();
    let (mut first, mut last, mut total, mut plain_total) = (vec![], vec![], vec![], vec![]);
    let mut outputs = Vec::new();
    for round in 0..rounds {
        let cache = Cache::new();
        let mut times = Vec::new();
        let started = Instant::now();
        for (i, d) in dirs.iter().enumerate() {
            let t = Instant::now();
            let out = build_print(Some(&cache), d)?;
            times.push(t.elapsed());
            if round == 0 {
                outputs.push(out);
            } else if outputs.get(i) != Some(&out) {
                return Err(format!("{}: output changed between rounds", d.display()));
            }
        }
        total.push(started.elapsed());
        first.push(times[0]);
        last.push(times[n - 1]);
        let started = Instant::now();
        for (i, d) in dirs.iter().enumerate() {
            if outputs.get(i) != Some(&build_print(None, d)?) {
                return Err(format!("{}: cached and plain outputs differ", d.display()));
            }
        }
        plain_total.push(started.elapsed());
        if round == 0 {
            let s = cache.stats();
            println!(
                "{n} overlays over a {resources}-resource base, {rounds} rounds; cache after round 1: {} entries, {} hits, {} misses",
                s.entries, s.hits, s.misses
            );
        }
    }
    println!("tug, one process, shared cache (median of {rounds} rounds):");
    println!("  build 1 (parses the base)   {}", ms(median(first)));
    println!("  build {n} (base from cache)  {}", ms(median(last)));
    println!("  all {n} builds               {}", ms(median(total)));
    println!(
        "tug, one process, no cache: all {n} builds {}",
        ms(median(plain_total))
    );
    let kubectl = Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output();
    if !kubectl.is_ok_and(|o| o.status.success()) {
        println!("kubectl not found: skipped");
        return Ok(());
    }
    let mut times = Vec::new();
    let started = Instant::now();
    for (i, d) in dirs.iter().enumerate() {
        let t = Instant::now();
        let o = Command::new("kubectl")
            .arg("kustomize")
            .arg(d)
            .output()
            .map_err(|e| format!("kubectl: {e}"))?;
        times.push(t.elapsed());
        if !o.status.success() {
            return Err(format!(
                "kubectl kustomize {}: {}",
                d.display(),
                String::from_utf8_lossy(&o.stderr)
            ));
        }
        if outputs.get(i).map(String::as_bytes) != Some(&o.stdout[..]) {
            return Err(format!("{}: tug and kubectl outputs differ", d.display()));
        }
    }
    let all = started.elapsed();
    println!("kubectl kustomize, {n} processes (one run; outputs identical with tug's):");
    println!("  build 1 {}", ms(times[0]));
    println!("  build {n} {}", ms(times[n - 1]));
    println!("  median  {}", ms(median(times)));
    println!("  all {n}  {}", ms(all));
    Ok(())
}
