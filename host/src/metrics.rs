//! Live metrics in the Prometheus text format (0.0.4, which Prometheus,
//! Grafana Agent and VictoriaMetrics scrape), rendered once a second from
//! the run's own `Stats`, so a scrape and the final report never disagree:
//! requests by step and status, errors by step and kind, latency as a
//! histogram (buckets read from the HDR histogram) and as a summary (its
//! quantiles), active users, iterations and dropped iterations.

use hdrhistogram::Histogram;
use scenario::Scenario;
use stats::{Bucket, Stats};
use std::fmt::Write;
use std::sync::Mutex;

/// Histogram bucket bounds in seconds: 0.5 ms to 10 s.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

const QUANTILES: [f64; 4] = [0.5, 0.9, 0.95, 0.99];

/// The latest rendering, which the listener serves.
#[derive(Default)]
pub struct Exposition {
    text: Mutex<String>,
}

impl Exposition {
    pub fn publish(&self, text: String) {
        if let Ok(mut t) = self.text.lock() {
            *t = text;
        }
    }

    pub fn text(&self) -> String {
        self.text.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

/// `active[w]`: users of workload `w` running now.
/// Read from `stats` as they stand (no report is rendered for it).
pub fn render(scenario: &Scenario, stats: &Stats, active: &[i32]) -> String {
    let mut out = String::new();
    let empty = Bucket::default();
    // Each of the load's steps, in the report's order: its labels and bucket.
    let steps: Vec<(String, &Bucket)> = scenario
        .load_steps()
        .map(|i| {
            let step = &scenario.workflow[i];
            let owner = &scenario.workloads[step.workload].name;
            let labels = format!("scenario=\"{}\",step=\"{}\"", esc(owner), esc(&step.id));
            (labels, stats.steps().get(i).unwrap_or(&empty))
        })
        .collect();
    let latencies = || steps.iter().map(|(l, b)| (l, b.latency_histogram()));
    // Seconds in all, as Prometheus' _sum wants them.
    let total = |h: &Histogram<u64>| h.mean() * h.len() as f64 / 1e6;
    header(
        &mut out,
        "scheduler_requests_total",
        "counter",
        "Requests sent (each redirect counts), by step and status code (none: no response).",
    );
    for (labels, b) in &steps {
        let mut answered = 0;
        for (code, n) in b.status_codes() {
            answered += n;
            let _ = writeln!(
                out,
                "scheduler_requests_total{{{labels},status=\"{code}\"}} {n}"
            );
        }
        let none = b.count().saturating_sub(answered);
        if none > 0 || b.count() == 0 {
            let _ = writeln!(
                out,
                "scheduler_requests_total{{{labels},status=\"none\"}} {none}"
            );
        }
    }
    header(
        &mut out,
        "scheduler_errors_total",
        "counter",
        "Failed requests, by step and error kind.",
    );
    for (labels, b) in &steps {
        for (kind, e) in b.errors() {
            let _ = writeln!(
                out,
                "scheduler_errors_total{{{labels},kind=\"{}\"}} {}",
                kind.name(),
                e.count
            );
        }
    }
    header(
        &mut out,
        "scheduler_request_duration_seconds",
        "histogram",
        "Request latency (from when it was due, under arrival-rate executors), by step.",
    );
    for (labels, h) in latencies() {
        for le in BUCKETS {
            let n = if h.is_empty() {
                0
            } else {
                h.count_between(0, (le * 1e6) as u64)
            };
            let _ = writeln!(
                out,
                "scheduler_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "scheduler_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\nscheduler_request_duration_seconds_sum{{{labels}}} {}\nscheduler_request_duration_seconds_count{{{labels}}} {}",
            h.len(),
            total(h),
            h.len()
        );
    }
    header(
        &mut out,
        "scheduler_request_latency_seconds",
        "summary",
        "Request latency quantiles over the whole run so far, by step (exact to 3 significant digits).",
    );
    for (labels, h) in latencies() {
        for q in QUANTILES {
            let v = if h.is_empty() {
                0.0
            } else {
                h.value_at_quantile(q) as f64 / 1e6
            };
            let _ = writeln!(
                out,
                "scheduler_request_latency_seconds{{{labels},quantile=\"{q}\"}} {v}"
            );
        }
        let _ = writeln!(
            out,
            "scheduler_request_latency_seconds_sum{{{labels}}} {}\nscheduler_request_latency_seconds_count{{{labels}}} {}",
            total(h),
            h.len()
        );
    }
    header(
        &mut out,
        "scheduler_active_users",
        "gauge",
        "Users running an iteration or waiting for their next one, by scenario.",
    );
    for (i, w) in scenario.workloads.iter().enumerate() {
        let n = active.get(i).copied().unwrap_or(0).max(0);
        let _ = writeln!(
            out,
            "scheduler_active_users{{scenario=\"{}\"}} {n}",
            esc(&w.name)
        );
    }
    header(
        &mut out,
        "scheduler_iterations_total",
        "counter",
        "Workflow iterations completed, by scenario.",
    );
    for (i, w) in scenario.workloads.iter().enumerate() {
        let _ = writeln!(
            out,
            "scheduler_iterations_total{{scenario=\"{}\"}} {}",
            esc(&w.name),
            stats.workload_counts(i).0
        );
    }
    header(
        &mut out,
        "scheduler_dropped_iterations_total",
        "counter",
        "Iterations an arrival-rate executor could not start (no free user), by scenario.",
    );
    for (i, w) in scenario.workloads.iter().enumerate() {
        let _ = writeln!(
            out,
            "scheduler_dropped_iterations_total{{scenario=\"{}\"}} {}",
            esc(&w.name),
            stats.workload_counts(i).1
        );
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value: backslash, quote and newline escaped.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
