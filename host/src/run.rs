//! A whole run: every user's instance created first (the init phase), then
//! users started on the ramp, samples aggregated with the scheduler's
//! `Stats`, the stop condition as data (a stop time users watch, moved to
//! "now" by SIGINT/SIGTERM), and the epoch ticker.

use crate::init;
use crate::plan::Plan;
use crate::progress::Progress;
use crate::timeline::Timeline;
use crate::vu::{self, Event, Shared, Spec};
use scheduler::Stats;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// What a run measured.
pub struct Outcome {
    pub stats: Stats,
    pub timeline: Timeline,
    pub elapsed: Duration,
    /// Stopped early by a signal, and in which phase.
    pub interrupted: Option<Phase>,
    /// How long the init phase took to create and initialise every user's
    /// instance (before the clock started); none if some never were ready.
    pub all_ready: Option<Duration>,
}

/// Where a run was when a signal stopped it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Creating the users' instances, before the clock started.
    Init,
    /// Running the scenario.
    Load,
}

/// How long an in-flight step may continue once the run stops.
pub const GRACE: Duration = Duration::from_secs(2);

/// The stop time of a run with no duration (iterations only).
const FOREVER: Duration = Duration::from_secs(365 * 24 * 3600);

pub async fn execute(plan: &Plan, shared: Arc<Shared>, progress: &Progress) -> Outcome {
    let load = &plan.scenario.load;
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

    let specs = (0..load.total_users)
        .map(|index| Spec {
            index,
            source: load.pool.for_vu(index),
            offset: load.start_offset(index),
            max_iterations: load.iterations,
        })
        .collect();
    let users = init::users(&shared, specs, progress, &interrupt_rx).await;

    // The clock starts now: durations, ramp offsets and rps count from here.
    let start = Instant::now();
    let mut stats = Stats::new(plan.scenario.workflow.len());
    let mut timeline = Timeline::default();
    let all_ready = (users.failed.is_empty() && !users.interrupted).then_some(users.took);
    for (source, why) in users.failed {
        let sample = vu::trap_sample(scheduler::UNATTRIBUTED, Duration::ZERO, why);
        stats.push(&sample, source);
        timeline.push(Duration::ZERO, &sample);
    }
    let stop_at = if users.interrupted {
        start
    } else {
        start + load.duration.unwrap_or(FOREVER)
    };
    let (stop_tx, stop_rx) = watch::channel(stop_at);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut running = users.ready.len();
    let mut instances = Vec::with_capacity(running);
    for (spec, live) in users.ready {
        let shared = Arc::clone(&shared);
        let stops = vu::Stops {
            at: stop_rx.clone(),
            abort: abort_rx.clone(),
        };
        let user = vu::run(shared, spec, live, start, stops, tx.clone());
        instances.push(tokio::spawn(user));
    }
    drop(tx);

    let mut active = 0u32;
    let mut elapsed = Duration::ZERO;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(Event::Sample { at, source, samples, iteration_done }) => {
                    for sample in &samples {
                        stats.push(sample, source);
                        timeline.push(at, sample);
                    }
                    if iteration_done {
                        stats.add_iteration();
                    }
                }
                Some(Event::Started) => active += 1,
                Some(Event::Stopped { ran, at }) => {
                    active -= u32::from(ran);
                    elapsed = elapsed.max(at);
                    running -= 1;
                    if running == 0 {
                        break;
                    }
                }
                None => break, // no user ran: every sender is gone
            },
            _ = tick.tick() => progress.update(start.elapsed(), active, &stats),
            _ = interrupt_rx.changed() => {
                progress.interrupted();
                let _ = stop_tx.send(Instant::now());
            }
        }
    }
    drop(ticker);
    signals.abort();
    // Instances are torn down off the workers while the report is written.
    tokio::task::spawn_blocking(move || drop(instances));
    let interrupted = if users.interrupted {
        Some(Phase::Init)
    } else {
        interrupt_rx.borrow().then_some(Phase::Load)
    };
    Outcome {
        stats,
        timeline,
        elapsed,
        interrupted,
        all_ready,
    }
}

async fn wait_for_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
