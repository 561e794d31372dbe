//! A whole run: every cell's instance created first (the init phase), then
//! each cell driven (`cells`), samples aggregated with the
//! scheduler's `Stats` and judged live by its thresholds, the stop
//! condition as data (a stop time users watch, moved to "now" by
//! SIGINT/SIGTERM or an aborting threshold), and the epoch ticker.

use crate::cells;
use crate::init;
use crate::observe::Sinks;
use crate::plan::Plan;
use crate::progress::Progress;
use crate::series_files::Files;
use crate::timeline::Row;
use crate::vu::{self, Event, Shared};
use scenario::Scenario;
use scenario::model::Hook;
use stats::{Stats, Verdict};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// What a run measured.
pub struct Outcome {
    pub stats: Stats,
    pub verdicts: Vec<Verdict>,
    /// The threshold (`key: expression`) whose `abort_on_fail` stopped the run.
    pub aborted_by: Option<String>,
    /// Per second, the total and each step that ran.
    pub timeline: Vec<Row>,
    /// One line per timeline file that could not be written in full.
    pub file_problems: Vec<String>,
    /// When the load started (the clock's zero).
    pub started: SystemTime,
    pub elapsed: Duration,
    /// Stopped early by a signal, and in which phase.
    pub interrupted: Option<Phase>,
    /// How long the init phase took to create and initialise every user's
    /// instance (before the clock started); none if some never were ready.
    pub all_ready: Option<Duration>,
    /// Why setup failed (then no user ran, and no teardown).
    pub setup_failed: Option<String>,
}

/// Where a run was when a signal stopped it (part of the report).
pub use stats::Phase;

/// How long an in-flight step may continue once the run stops.
pub const GRACE: Duration = Duration::from_secs(2);

/// A whole run: setup, every user's instance, the load, teardown.
pub async fn execute(
    plan: &Plan,
    shared: Arc<Shared>,
    progress: &Progress,
    files: Files,
    metrics: Option<&crate::metrics::Exposition>,
) -> Outcome {
    let scenario = &plan.scenario;
    let ticker = crate::epoch::Ticker::start(shared.engine.clone());
    let mut signals = Signals::listen();
    // Setup runs once, before any user exists; users see what it extracted.
    let mut stats = Stats::new(scenario);
    if let Some(why) = setup(&shared, scenario, &mut stats).await {
        return Outcome::setup_failed(stats, files, why);
    }
    let plans = cells::plan(scenario, plan.per_instance);
    let mut users = init::cells(&shared, plans, progress, &signals.interrupt).await;
    // Shards given one start time start together, so their seconds line up.
    if let Some(at) = plan.start_at.filter(|_| !users.interrupted) {
        users.interrupted = wait_until(at, progress, &mut signals.interrupt).await;
    }

    // The clock starts now: durations, start times and rps count from here.
    let start = Instant::now();
    let started = SystemTime::now();
    let all_ready = (users.failed.is_empty() && !users.interrupted).then_some(users.took);
    let mut sinks = Sinks::new(scenario, stats, started, files);
    sinks.not_made(std::mem::take(&mut users.failed));
    let stop_at = match users.interrupted {
        true => start,
        false => start + scenario.end() + GRACE,
    };
    let (stop_tx, stop_rx) = watch::channel(stop_at);
    let stops = vu::Stops {
        at: stop_rx,
        abort: signals.abort.clone(),
    };
    let (tasks, rx) = spawn_cells(&shared, std::mem::take(&mut users.ready), start, stops);
    let publish = |stats: &Stats, active: &[i32]| {
        if let Some(m) = metrics {
            m.publish(crate::metrics::render(scenario, stats, active));
        }
    };
    let live = Live::new(scenario, start, progress, &publish);
    let aborted_by = live.watch(&mut sinks, rx, &stop_tx, &mut signals).await;
    drop(ticker);
    signals.stop();
    // Instances are torn down off the workers while the report is written.
    tokio::task::spawn_blocking(move || drop(tasks));
    let interrupted = match users.interrupted {
        true => Some(Phase::Init),
        false => signals.interrupted().then_some(Phase::Load),
    };
    let mut elapsed = sinks.ended;
    if interrupted.is_none() && aborted_by.is_none() {
        // A run that ended by time lasts its scheduled length.
        elapsed = elapsed.max(scenario.scheduled_end().min(start.elapsed()));
    }
    // The last exposition is the report's figures (before teardown, which
    // the report keeps apart).
    publish(&sinks.stats, &sinks.active.0);
    let (mut stats, verdicts, timeline, file_problems) = sinks.finish(elapsed);
    // Teardown runs once after the load (not after an interrupted init).
    if interrupted != Some(Phase::Init) {
        teardown(&shared, scenario, &mut stats).await;
    }
    Outcome {
        stats,
        verdicts,
        timeline,
        file_problems,
        started,
        elapsed,
        interrupted,
        aborted_by,
        all_ready,
        setup_failed: None,
    }
}

impl Outcome {
    /// A run whose setup failed: no user ran.
    fn setup_failed(stats: Stats, files: Files, why: String) -> Outcome {
        Outcome {
            stats,
            verdicts: Vec::new(),
            aborted_by: None,
            timeline: Vec::new(),
            file_problems: files.problems(),
            started: SystemTime::now(),
            elapsed: Duration::ZERO,
            interrupted: None,
            all_ready: None,
            setup_failed: Some(why),
        }
    }
}

/// Drives every ready cell on its own task; their events arrive on the
/// receiver, which ends when the last cell has.
fn spawn_cells(
    shared: &Arc<Shared>,
    ready: Vec<(cells::Plan, cells::Cell)>,
    start: Instant,
    stops: vu::Stops,
) -> (
    Vec<JoinHandle<Option<cells::Cell>>>,
    mpsc::UnboundedReceiver<Event>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let tasks = ready
        .into_iter()
        .map(|(plan, cell)| {
            let (shared, stops, tx) = (Arc::clone(shared), stops.clone(), tx.clone());
            tokio::spawn(cells::drive(shared, plan, cell, start, stops, tx))
        })
        .collect();
    (tasks, rx)
}

/// Runs `setup:` (if any) into `stats`; its extracted values go to every
/// user. Returns why it failed.
async fn setup(shared: &Arc<Shared>, scenario: &Scenario, stats: &mut Stats) -> Option<String> {
    let steps = scenario.setup.as_ref()?;
    let run = vu::hook(shared, crate::bindings::Role::Setup, steps.start as u32).await;
    for samples in &run.steps {
        stats.push_step(samples, None, None);
    }
    let _ = shared.setup.set(run.variables);
    stats.hook_failure(scenario, Hook::Setup)
}

/// Runs `teardown:` (if any) into `stats`.
async fn teardown(shared: &Arc<Shared>, scenario: &Scenario, stats: &mut Stats) {
    let Some(steps) = &scenario.teardown else {
        return;
    };
    let ticker = crate::epoch::Ticker::start(shared.engine.clone());
    let run = vu::hook(shared, crate::bindings::Role::Teardown, steps.start as u32).await;
    drop(ticker);
    for samples in &run.steps {
        stats.push_step(samples, None, None);
    }
}

/// Waits for `--start-at`; true when a signal came first.
async fn wait_until(
    at: SystemTime,
    progress: &Progress,
    interrupt: &mut watch::Receiver<bool>,
) -> bool {
    match at.duration_since(SystemTime::now()) {
        Ok(wait) => {
            progress.waiting(at);
            tokio::select! {
                _ = tokio::time::sleep(wait) => false,
                _ = interrupt.changed() => true,
            }
        }
        Err(late) => {
            eprintln!(
                "warning: --start-at was {:.1}s ago when every user was ready; starting now",
                late.duration().as_secs_f64()
            );
            false
        }
    }
}

/// The load as it runs: events to the sinks, and once a second the
/// progress, the metrics and the thresholds' verdict on aborting.
struct Live<'a, P: Fn(&Stats, &[i32])> {
    scenario: &'a Scenario,
    start: Instant,
    progress: &'a Progress,
    publish: &'a P,
}

impl<'a, P: Fn(&Stats, &[i32])> Live<'a, P> {
    fn new(scenario: &'a Scenario, start: Instant, progress: &'a Progress, publish: &'a P) -> Self {
        Live {
            scenario,
            start,
            progress,
            publish,
        }
    }

    /// Until every driver is done; returns the threshold that aborted the
    /// run (`key: expression`), if one did.
    async fn watch(
        &self,
        sinks: &mut Sinks,
        mut rx: mpsc::UnboundedReceiver<Event>,
        stop: &watch::Sender<Instant>,
        signals: &mut Signals,
    ) -> Option<String> {
        let mut gauges = Gauges::new(self.scenario.workloads.len());
        (self.publish)(&sinks.stats, &sinks.active.0);
        let mut aborted_by = None;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut judged = 0;
        loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Some(ev) => sinks.observe(ev),
                    None => break, // every driver is done
                },
                _ = tick.tick() => {
                    let now = self.start.elapsed();
                    // Seconds close by the samples' own times; with none
                    // queued, the clock says no more are coming for them.
                    if rx.is_empty() {
                        sinks.timeline.advance(now);
                    }
                    let lines = gauges.view(self.scenario, &sinks.stats, &sinks.active.0, now);
                    self.progress.update(now, &lines, &sinks.stats);
                    if now.as_secs() > judged {
                        judged = now.as_secs();
                        (self.publish)(&sinks.stats, &sinks.active.0);
                        if let Some(t) = sinks.judge.tick(now, &sinks.stats) {
                            aborted_by = Some(format!("{}: {}", t.key, t.expr));
                            self.progress.aborted(&format!("{} {}", t.key, t.expr));
                            let _ = stop.send(Instant::now());
                        }
                    }
                }
                _ = signals.interrupt.changed() => {
                    self.progress.interrupted();
                    let _ = stop.send(Instant::now());
                }
            }
        }
        aborted_by
    }
}

/// The first SIGINT/SIGTERM stops the run (in-flight steps get the grace
/// period); a second one aborts in-flight steps at once.
struct Signals {
    interrupt: watch::Receiver<bool>,
    abort: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Signals {
    fn listen() -> Self {
        let (interrupt_tx, interrupt) = watch::channel(false);
        let (abort_tx, abort) = watch::channel(false);
        let task = tokio::spawn(async move {
            wait_for_signal().await;
            let _ = interrupt_tx.send(true);
            wait_for_signal().await;
            let _ = abort_tx.send(true);
            // Keep the senders alive: a closed channel would read as a change.
            std::future::pending::<()>().await;
        });
        Signals {
            interrupt,
            abort,
            task,
        }
    }

    fn interrupted(&self) -> bool {
        *self.interrupt.borrow()
    }

    fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Iteration counts a second ago, per workload (for the progress line's
/// iterations/s).
struct Gauges {
    last: Vec<(Duration, u64)>,
}

impl Gauges {
    fn new(n: usize) -> Self {
        Gauges {
            last: vec![(Duration::ZERO, 0); n],
        }
    }

    fn view(
        &mut self,
        scenario: &Scenario,
        stats: &Stats,
        active: &[i32],
        now: Duration,
    ) -> Vec<crate::progress::WorkloadLine> {
        scenario
            .workloads
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let (iterations, dropped) = stats.workload_counts(i);
                let (then, before) = self.last[i];
                let dt = (now - then).as_secs_f64();
                let rate = if dt > 0.0 {
                    (iterations - before) as f64 / dt
                } else {
                    0.0
                };
                if dt >= 1.0 {
                    self.last[i] = (now, iterations);
                }
                crate::progress::WorkloadLine {
                    name: w.name.clone(),
                    active: active[i].max(0) as u32,
                    iterations_per_s: rate,
                    dropped,
                    stage: format!("{} {}", w.kind.name(), w.stage_label(now)),
                }
            })
            .collect()
    }
}

async fn wait_for_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
