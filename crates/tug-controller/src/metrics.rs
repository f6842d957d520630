//! Prometheus metrics with Flux's names, so Flux's dashboards and alerts work unchanged:
//! `gotk_reconcile_duration_seconds{kind,name,namespace}` and controller-runtime's
//! `controller_runtime_reconcile_total` / `_errors_total`, plus the process's own figures
//! and whether it leads, and tug's own `tug_objects_total{action}`: what the Kustomization
//! controller did to the objects it manages (created, configured, unchanged, deleted,
//! skipped), so the share of reconciles that wrote nothing shows on a dashboard.
//!
//! A few dozen series do not need a metrics library: a mutex-guarded map rendered in the
//! text exposition format is all a scrape needs.

use futures::future::BoxFuture;
use futures::FutureExt;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Flux's buckets for reconcile durations: 10 ms to 100 s, ×10 each.
const BUCKETS: [f64; 5] = [0.01, 0.1, 1.0, 10.0, 100.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Series {
    /// (kind, namespace, name) → durations.
    durations: BTreeMap<(String, String, String), Histogram>,
    /// (controller, result) → count.
    reconciles: BTreeMap<(String, &'static str), u64>,
    /// controller → errors.
    errors: BTreeMap<String, u64>,
    /// action on a managed object → count.
    objects: BTreeMap<String, u64>,
}

/// The process's metrics; cheap to share (`Arc`).
pub struct Metrics {
    series: Mutex<Series>,
    leader: AtomicBool,
    started: SystemTime,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            series: Mutex::default(),
            leader: AtomicBool::new(false),
            started: SystemTime::now(),
        }
    }
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Records one finished reconcile of `kind` `namespace/name` by `controller`.
    pub fn observe(
        &self,
        controller: &str,
        kind: &str,
        namespace: &str,
        name: &str,
        seconds: f64,
        outcome: Result<&Action, ()>,
    ) {
        let mut s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let h = s
            .durations
            .entry((kind.to_string(), namespace.to_string(), name.to_string()))
            .or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
        let result = match outcome {
            Ok(_) => "success",
            Err(()) => "error",
        };
        *s.reconciles
            .entry((controller.to_string(), result))
            .or_default() += 1;
        if outcome.is_err() {
            *s.errors.entry(controller.to_string()).or_default() += 1;
        }
    }

    /// Drops the series of a deleted object, so a scrape does not grow forever.
    pub fn forget(&self, kind: &str, namespace: &str, name: &str) {
        let mut s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        s.durations
            .remove(&(kind.to_string(), namespace.to_string(), name.to_string()));
    }

    /// Counts `n` objects that an apply or prune left with `action`.
    pub fn count_objects(&self, action: &str, n: u64) {
        let mut s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        *s.objects.entry(action.to_string()).or_default() += n;
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str("# HELP gotk_reconcile_duration_seconds The duration in seconds of a GitOps Toolkit resource reconciliation.\n");
        out.push_str("# TYPE gotk_reconcile_duration_seconds histogram\n");
        for ((kind, namespace, name), h) in &s.durations {
            let labels = format!(
                "kind=\"{}\",name=\"{}\",namespace=\"{}\"",
                escape(kind),
                escape(name),
                escape(namespace)
            );
            for (bound, count) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "gotk_reconcile_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "gotk_reconcile_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "gotk_reconcile_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "gotk_reconcile_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        out.push_str("# HELP controller_runtime_reconcile_total Total number of reconciliations per controller.\n");
        out.push_str("# TYPE controller_runtime_reconcile_total counter\n");
        for ((controller, result), n) in &s.reconciles {
            let _ = writeln!(
                out,
                "controller_runtime_reconcile_total{{controller=\"{}\",result=\"{result}\"}} {n}",
                escape(controller)
            );
        }
        out.push_str("# HELP controller_runtime_reconcile_errors_total Total number of reconciliation errors per controller.\n");
        out.push_str("# TYPE controller_runtime_reconcile_errors_total counter\n");
        for (controller, n) in &s.errors {
            let _ = writeln!(
                out,
                "controller_runtime_reconcile_errors_total{{controller=\"{}\"}} {n}",
                escape(controller)
            );
        }
        out.push_str("# HELP tug_objects_total Objects applied or pruned by the Kustomization controller, by what was done to them.\n");
        out.push_str("# TYPE tug_objects_total counter\n");
        for (action, n) in &s.objects {
            let _ = writeln!(
                out,
                "tug_objects_total{{action=\"{}\"}} {n}",
                escape(action)
            );
        }
        drop(s);
        out.push_str("# HELP leader_election_master_status Whether this process holds the leader lease (1) or not (0).\n");
        out.push_str("# TYPE leader_election_master_status gauge\n");
        let _ = writeln!(
            out,
            "leader_election_master_status{{name=\"{}\"}} {}",
            crate::leader::LEASE_NAME,
            u8::from(self.leader.load(Ordering::Relaxed))
        );
        let process = process_figures();
        out.push_str("# HELP process_resident_memory_bytes Resident memory size in bytes.\n");
        out.push_str("# TYPE process_resident_memory_bytes gauge\n");
        let _ = writeln!(out, "process_resident_memory_bytes {}", process.rss_bytes);
        out.push_str(
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n",
        );
        out.push_str("# TYPE process_cpu_seconds_total counter\n");
        let _ = writeln!(out, "process_cpu_seconds_total {}", process.cpu_seconds);
        out.push_str("# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n");
        out.push_str("# TYPE process_start_time_seconds gauge\n");
        let start = self
            .started
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        let _ = writeln!(out, "process_start_time_seconds {start}");
        out
    }
}

/// Label values escaped as the exposition format requires.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct ProcessFigures {
    rss_bytes: u64,
    cpu_seconds: f64,
}

/// From /proc/self (Linux); zeros elsewhere.
fn process_figures() -> ProcessFigures {
    let page = 4096u64;
    let ticks = 100.0;
    let rss_bytes = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages * page)
        .unwrap_or_default();
    let cpu_seconds = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces) start after ')'.
            let rest = &s[s.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / ticks)
        })
        .unwrap_or_default();
    ProcessFigures {
        rss_bytes,
        cpu_seconds,
    }
}

/// Wraps a reconcile function so each call is timed and counted under `controller` and
/// `kind`.
pub fn instrument<K, C, E, F>(
    metrics: Arc<Metrics>,
    controller: &'static str,
    kind: &'static str,
    reconcile: F,
) -> impl FnMut(Arc<K>, Arc<C>) -> BoxFuture<'static, Result<Action, E>>
where
    K: Resource + Send + Sync + 'static,
    C: Send + Sync + 'static,
    E: Send + 'static,
    F: Fn(Arc<K>, Arc<C>) -> BoxFuture<'static, Result<Action, E>>,
{
    move |obj, ctx| {
        let metrics = metrics.clone();
        let namespace = obj.namespace().unwrap_or_default();
        let name = obj.name_any();
        let deleting = obj.meta().deletion_timestamp.is_some();
        let started = Instant::now();
        reconcile(obj, ctx)
            .map(move |result| {
                metrics.observe(
                    controller,
                    kind,
                    &namespace,
                    &name,
                    started.elapsed().as_secs_f64(),
                    result.as_ref().map_err(|_| ()),
                );
                if deleting && result.is_ok() {
                    metrics.forget(kind, &namespace, &name);
                }
                result
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn renders_flux_names_with_cumulative_buckets() {
        let m = Metrics::default();
        let ok = Action::requeue(Duration::from_secs(1));
        m.observe(
            "kustomize-controller",
            "Kustomization",
            "ns",
            "app",
            0.05,
            Ok(&ok),
        );
        m.observe(
            "kustomize-controller",
            "Kustomization",
            "ns",
            "app",
            2.0,
            Err(()),
        );
        m.set_leader(true);
        let text = m.render();
        let labels = "kind=\"Kustomization\",name=\"app\",namespace=\"ns\"";
        for line in [
            format!("gotk_reconcile_duration_seconds_bucket{{{labels},le=\"0.01\"}} 0"),
            format!("gotk_reconcile_duration_seconds_bucket{{{labels},le=\"0.1\"}} 1"),
            format!("gotk_reconcile_duration_seconds_bucket{{{labels},le=\"10\"}} 2"),
            format!("gotk_reconcile_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 2"),
            format!("gotk_reconcile_duration_seconds_count{{{labels}}} 2"),
            "controller_runtime_reconcile_total{controller=\"kustomize-controller\",result=\"success\"} 1".into(),
            "controller_runtime_reconcile_total{controller=\"kustomize-controller\",result=\"error\"} 1".into(),
            "controller_runtime_reconcile_errors_total{controller=\"kustomize-controller\"} 1".into(),
            "leader_election_master_status{name=\"tug-controller-leader-election\"} 1".into(),
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        assert!(text.contains("\nprocess_resident_memory_bytes "));
        m.forget("Kustomization", "ns", "app");
        assert!(!m.render().contains("gotk_reconcile_duration_seconds_count"));
    }
}
