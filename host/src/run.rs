//! A whole run: every user's instance created first (the init phase), then
//! each workload's drivers started (`drive`), samples aggregated with the
//! scheduler's `Stats` and judged live by its thresholds, the stop
//! condition as data (a stop time users watch, moved to "now" by
//! SIGINT/SIGTERM or an aborting threshold), and the epoch ticker.

use crate::drive;
use crate::init;
use crate::plan::Plan;
use crate::progress::Progress;
use crate::series_files::Files;
use crate::timeline::{Row, Timeline};
use crate::vu::{self, Event, Live as Instance, Shared, Spec};
use stats::Stats;
use stats::{Judge, Verdict};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, watch};

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

pub async fn execute(
    plan: &Plan,
    shared: Arc<Shared>,
    progress: &Progress,
    files: Files,
    metrics: Option<&crate::metrics::Exposition>,
) -> Outcome {
    let scenario = &plan.scenario;
    let ticker = crate::epoch::Ticker::start(shared.engine.clone());
    // The first SIGINT/SIGTERM stops the run (in-flight steps get the
    // grace period); a second one aborts in-flight steps at once.
    let (interrupt_tx, mut interrupt_rx) = watch::channel(false);
    let (abort_tx, abort_rx) = watch::channel(false);
    let signals = tokio::spawn(async move {
        wait_for_signal().await;
        let _ = interrupt_tx.send(true);
        wait_for_signal().await;
        let _ = abort_tx.send(true);
        // Keep the senders alive: a closed channel would read as a change.
        std::future::pending::<()>().await;
    });

    // Setup runs once, before any user exists; users see what it extracted.
    let mut stats = Stats::new(scenario);
    let setup = if let Some(steps) = &scenario.setup {
        let run = vu::hook(&shared, crate::bindings::Role::Setup, steps.start as u32).await;
        for samples in &run.steps {
            stats.push_step(samples, None, None);
        }
        let _ = shared.setup.set(run.variables);
        stats.hook_failure(scenario, scenario::model::Hook::Setup)
    } else {
        None
    };
    if let Some(why) = setup {
        drop(ticker);
        signals.abort();
        return Outcome {
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
        };
    }

    // Every closed workload's users, and each open one's pre-allocated pool.
    let specs = scenario
        .workloads
        .iter()
        .enumerate()
        .flat_map(|(wi, w)| {
            // This shard's users, under their run-wide numbers.
            scenario
                .shard
                .users(w.first_vu, 0..w.initial_vus())
                .map(move |index| Spec {
                    index,
                    source: scenario.pool.for_vu(index),
                    workload: wi,
                })
        })
        .collect();
    let mut users = init::users(&shared, specs, progress, &interrupt_rx).await;
    // Shards given one start time start together, so their seconds line up.
    if let Some(at) = plan.start_at.filter(|_| !users.interrupted) {
        match at.duration_since(SystemTime::now()) {
            Ok(wait) => {
                progress.waiting(at);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = interrupt_rx.changed() => users.interrupted = true,
                }
            }
            Err(late) => eprintln!(
                "warning: --start-at was {:.1}s ago when every user was ready; starting now",
                late.duration().as_secs_f64()
            ),
        }
    }

    // The clock starts now: durations, start times and rps count from here.
    let start = Instant::now();
    let started = SystemTime::now();
    let mut timeline = Timeline::new(scenario, started, files);
    let mut judge = Judge::new(scenario);
    let all_ready = (users.failed.is_empty() && !users.interrupted).then_some(users.took);
    for (source, why) in users.failed {
        let sample = vu::trap_sample(contract::UNATTRIBUTED, Duration::ZERO, why);
        stats.push(&sample, source);
        timeline.push_step(Duration::ZERO, std::slice::from_ref(&sample), None);
    }
    let stop_at = if users.interrupted {
        start
    } else {
        start + scenario.end() + GRACE
    };
    let (stop_tx, stop_rx) = watch::channel(stop_at);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let run = drive::Run {
        shared: Arc::clone(&shared),
        shard: scenario.shard,
        start,
        stops: vu::Stops {
            at: stop_rx,
            abort: abort_rx,
        },
        events: tx,
    };
    let mut by_workload: Vec<Vec<(Spec, Instance)>> =
        (0..scenario.workloads.len()).map(|_| Vec::new()).collect();
    for (spec, live) in users.ready {
        by_workload[spec.workload].push((spec, live));
    }
    let mut tasks = Vec::new();
    for (i, (w, users)) in scenario.workloads.iter().zip(by_workload).enumerate() {
        tasks.extend(drive::spawn(&run, i, Arc::new(w.clone()), users));
    }
    drop(run);

    let mut live = Gauges::new(scenario.workloads.len());
    let publish = |stats: &Stats, active: &[i32], at: Duration| {
        if let Some(m) = metrics {
            m.publish(crate::metrics::render(scenario, stats, active, at));
        }
    };
    publish(&stats, &live.active, Duration::ZERO);
    let mut elapsed = Duration::ZERO;
    let mut aborted_by = None;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut judged = 0;
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(Event::Sample { at, workload, source, samples, delay, iteration_done }) => {
                    stats.push_step(&samples, source, delay);
                    judge.push_step(at, &samples, delay);
                    timeline.push_step(at, &samples, delay);
                    if iteration_done {
                        stats.add_iteration(workload);
                        judge.add_iteration(at, workload);
                    }
                }
                Some(Event::Active { workload, delta }) => {
                    live.active[workload] += delta;
                    timeline.active(workload, delta);
                }
                Some(Event::Dropped { at, workload }) => {
                    stats.add_dropped(workload);
                    judge.add_dropped(at, workload);
                }
                Some(Event::OutOfData { workload }) => stats.add_out_of_data(workload),
                Some(Event::Stopped { at }) => elapsed = elapsed.max(at),
                None => break, // every driver is done
            },
            _ = tick.tick() => {
                let now = start.elapsed();
                // Seconds close by the samples' own times; with none
                // queued, the clock says no more are coming for them.
                if rx.is_empty() {
                    timeline.advance(now);
                }
                progress.update(now, &live.view(scenario, &stats, now), &stats);
                if now.as_secs() > judged {
                    judged = now.as_secs();
                    publish(&stats, &live.active, now);
                    if let Some(t) = judge.tick(now, &stats) {
                        aborted_by = Some(format!("{}: {}", t.key, t.expr));
                        progress.aborted(&format!("{} {}", t.key, t.expr));
                        let _ = stop_tx.send(Instant::now());
                    }
                }
            }
            _ = interrupt_rx.changed() => {
                progress.interrupted();
                let _ = stop_tx.send(Instant::now());
            }
        }
    }
    drop(ticker);
    signals.abort();
    // Instances are torn down off the workers while the report is written.
    tokio::task::spawn_blocking(move || drop(tasks));
    let interrupted = if users.interrupted {
        Some(Phase::Init)
    } else {
        interrupt_rx.borrow().then_some(Phase::Load)
    };
    // A run that ended by time lasts its scheduled length.
    let scheduled = scenario
        .workloads
        .iter()
        .filter_map(|w| w.scheduled_end())
        .max()
        .unwrap_or_default();
    if interrupted.is_none() && aborted_by.is_none() {
        elapsed = elapsed.max(scheduled.min(start.elapsed()));
    }
    let verdicts = judge.verdicts(&stats, elapsed);
    // The last exposition is the report's figures (before teardown, which
    // the report keeps apart).
    publish(&stats, &live.active, elapsed);
    let (timeline, file_problems) = timeline.finish(elapsed);
    // Teardown runs once after the load (not after an interrupted init).
    if let Some(steps) = scenario
        .teardown
        .as_ref()
        .filter(|_| interrupted != Some(Phase::Init))
    {
        let ticker = crate::epoch::Ticker::start(shared.engine.clone());
        let run = vu::hook(&shared, crate::bindings::Role::Teardown, steps.start as u32).await;
        drop(ticker);
        for samples in &run.steps {
            stats.push_step(samples, None, None);
        }
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

/// Active users per workload, and iteration counts a second ago (for the
/// progress line's iterations/s).
struct Gauges {
    active: Vec<i32>,
    last: Vec<(Duration, u64)>,
}

impl Gauges {
    fn new(n: usize) -> Self {
        Gauges {
            active: vec![0; n],
            last: vec![(Duration::ZERO, 0); n],
        }
    }

    fn view(
        &mut self,
        scenario: &scenario::Scenario,
        stats: &Stats,
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
                    active: self.active[i].max(0) as u32,
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
