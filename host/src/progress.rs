//! The live progress line (stderr, on a terminal): elapsed/total, active
//! users, iterations/s, dropped iterations and stage per scenario, then
//! requests, rps, errors, p95 so far.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use scheduler::Stats;
use std::io::IsTerminal;
use std::time::Duration;

/// One named scenario on the progress line.
pub struct WorkloadLine {
    pub name: String,
    pub active: u32,
    pub iterations_per_s: f64,
    pub dropped: u64,
    /// Executor and stage, like "ramping-vus stage 2/3".
    pub stage: String,
}

#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
    total: Option<Duration>,
}

impl Progress {
    /// Hidden with `quiet` or when stderr is not a terminal.
    pub fn new(total: Option<Duration>, quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress { bar: None, total };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
        bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
        Progress {
            bar: Some(bar),
            total,
        }
    }

    pub fn update(&self, elapsed: Duration, workloads: &[WorkloadLine], stats: &Stats) {
        let Some(bar) = &self.bar else { return };
        let total = self
            .total
            .map(|t| format!("/{:.0}s", t.as_secs_f64()))
            .unwrap_or_default();
        let secs = elapsed.as_secs_f64().max(0.001);
        let mut parts = String::new();
        for w in workloads {
            parts += &format!(
                "{}: {} VUs {:.1} it/s{} ({}) | ",
                w.name,
                w.active,
                w.iterations_per_s,
                if w.dropped > 0 {
                    format!(" {} dropped", w.dropped)
                } else {
                    String::new()
                },
                w.stage
            );
        }
        bar.set_message(format!(
            "{:.1}s{total} | {parts}requests {} | {:.0} rps | errors {} | p95 {:.2} ms",
            secs,
            stats.total().count(),
            stats.total().count() as f64 / secs,
            stats.total().failed(),
            stats.total().quantile_ms(0.95),
        ));
        bar.tick();
    }

    /// During the init phase, before the clock starts.
    pub fn initializing(&self, ready: usize, total: usize) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "initializing users: {ready}/{total} instances ready"
            ));
            bar.tick();
        }
    }

    pub fn aborted(&self, threshold: &str) {
        if let Some(bar) = &self.bar {
            bar.println(format!("stopping: threshold {threshold} failed (abort_on_fail); finishing in-flight steps, then writing the report"));
        }
    }

    pub fn interrupted(&self) {
        if let Some(bar) = &self.bar {
            bar.println("stopping: finishing in-flight steps (up to 2s), then writing the report; press Ctrl-C again to stop at once");
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
