//! Live progress on stderr. On a terminal: a line (elapsed/total, and per
//! scenario its active users, iterations/s, dropped iterations and stage)
//! with a per-step table under it (requests, requests/s over the last
//! second, errors, p95 so far), redrawn once a second. Not on a terminal
//! (CI logs): the same figures as plain lines every `PLAIN_EVERY`, from
//! that far into the run, so short runs print nothing.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use scenario::Scenario;
use stats::Stats;
use std::fmt::Write;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often plain (non-terminal) progress lines are printed.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

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
enum Output {
    Hidden,
    Bar(ProgressBar),
    Plain,
}

#[derive(Clone)]
pub struct Progress {
    output: Output,
    total: Option<Duration>,
    /// (index in the workflow, label) of each step of the load.
    steps: Arc<Vec<(usize, String)>>,
    table: Arc<Mutex<Table>>,
}

/// What the per-step rates are measured against.
#[derive(Default)]
struct Table {
    /// The second last drawn, and each step's (and the total's) count then.
    second: u64,
    counts: Vec<u64>,
    rates: Vec<f64>,
}

impl Progress {
    /// Hidden with `quiet`; plain lines when stderr is not a terminal.
    pub fn new(scenario: &Scenario, total: Option<Duration>, quiet: bool) -> Self {
        let steps = scenario
            .load_steps()
            .map(|i| {
                let s = &scenario.workflow[i];
                let owner = &scenario.workloads[s.workload].name;
                let label = if scenario.workloads.len() == 1 {
                    s.id.clone()
                } else {
                    format!("{owner}/{}", s.id)
                };
                (i, label)
            })
            .collect();
        let output = if quiet {
            Output::Hidden
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
            bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
            Output::Bar(bar)
        } else {
            Output::Plain
        };
        Progress {
            output,
            total,
            steps: Arc::new(steps),
            table: Arc::default(),
        }
    }

    /// Called a few times a second; draws at most once a second.
    pub fn update(&self, elapsed: Duration, workloads: &[WorkloadLine], stats: &Stats) {
        let second = elapsed.as_secs();
        let plain_due = second > 0 && second.is_multiple_of(PLAIN_EVERY.as_secs());
        match &self.output {
            Output::Hidden => return,
            Output::Plain if !plain_due => return,
            _ => {}
        }
        let Ok(mut table) = self.table.lock() else {
            return;
        };
        if second == table.second && !table.counts.is_empty() {
            return;
        }
        // Rates over the time since the last drawing.
        let counts: Vec<u64> = std::iter::once(stats.total().count())
            .chain(
                self.steps
                    .iter()
                    .map(|(i, _)| stats.steps().get(*i).map_or(0, |b| b.count())),
            )
            .collect();
        let dt = (second - table.second).max(1) as f64;
        table.rates = counts
            .iter()
            .enumerate()
            .map(|(i, now)| (now - table.counts.get(i).copied().unwrap_or(0)) as f64 / dt)
            .collect();
        table.counts = counts;
        table.second = second;
        let text = self.render(elapsed, workloads, stats, &table.rates);
        match &self.output {
            Output::Bar(bar) => {
                bar.set_message(text);
                bar.tick();
            }
            Output::Plain => eprintln!("{text}"),
            Output::Hidden => {}
        }
    }

    fn render(
        &self,
        elapsed: Duration,
        workloads: &[WorkloadLine],
        stats: &Stats,
        rates: &[f64],
    ) -> String {
        let total = self
            .total
            .map(|t| format!("/{:.0}s", t.as_secs_f64()))
            .unwrap_or_default();
        let mut out = format!("{:.0}s{total}", elapsed.as_secs_f64());
        for w in workloads {
            let _ = write!(
                out,
                " | {}: {} VUs {:.1} it/s{} ({})",
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
        let width = self
            .steps
            .iter()
            .map(|(_, l)| l.len())
            .max()
            .unwrap_or(0)
            .max(5);
        let _ = write!(
            out,
            "\n  {:<width$} {:>10} {:>9} {:>8} {:>11}",
            "step", "requests", "rps", "errors", "p95 (ms)"
        );
        let rows = std::iter::once(("total", stats.total())).chain(
            self.steps
                .iter()
                .filter_map(|(i, l)| Some((l.as_str(), stats.steps().get(*i)?))),
        );
        for (k, (label, b)) in rows.enumerate() {
            let _ = write!(
                out,
                "\n  {label:<width$} {:>10} {:>9.0} {:>8} {:>11.2}",
                b.count(),
                rates.get(k).copied().unwrap_or(0.0),
                b.failed(),
                b.quantile_ms(0.95)
            );
        }
        out
    }

    /// During the init phase, before the clock starts.
    pub fn initializing(&self, ready: usize, total: usize) {
        if let Output::Bar(bar) = &self.output {
            bar.set_message(format!(
                "initializing users: {ready}/{total} instances ready"
            ));
            bar.tick();
        }
    }

    /// Every user is ready; the load starts at `at` (`--start-at`).
    pub fn waiting(&self, at: std::time::SystemTime) {
        let line = format!(
            "every user is ready; the load starts at {}",
            humantime::format_rfc3339_millis(at)
        );
        match &self.output {
            Output::Bar(bar) => {
                bar.set_message(line);
                bar.tick();
            }
            Output::Plain => eprintln!("{line}"),
            Output::Hidden => {}
        }
    }

    pub fn aborted(&self, threshold: &str) {
        self.say(&format!("stopping: threshold {threshold} failed (abort_on_fail); finishing in-flight steps, then writing the report"));
    }

    pub fn interrupted(&self) {
        self.say("stopping: finishing in-flight steps (up to 2s), then writing the report; press Ctrl-C again to stop at once");
    }

    fn say(&self, line: &str) {
        match &self.output {
            Output::Bar(bar) => bar.println(line),
            Output::Plain => eprintln!("{line}"),
            Output::Hidden => {}
        }
    }

    pub fn finish(&self) {
        if let Output::Bar(bar) = &self.output {
            bar.finish_and_clear();
        }
    }
}
