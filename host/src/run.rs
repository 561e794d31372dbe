//! A whole run: users started on the ramp, samples aggregated with the
//! scheduler's `Stats`, the stop condition as data (a stop time users watch,
//! moved to "now" by SIGINT/SIGTERM), and the epoch ticker.

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
    /// Stopped early by a signal.
    pub interrupted: bool,
    /// When the last user's first instance was ready (instantiated and
    /// initialised), since the start; none if some never were.
    pub all_ready: Option<Duration>,
}

/// How long an in-flight step may continue once the run stops.
pub const GRACE: Duration = Duration::from_secs(2);

/// The stop time of a run with no duration (iterations only).
const FOREVER: Duration = Duration::from_secs(365 * 24 * 3600);

pub async fn execute(plan: &Plan, shared: Arc<Shared>, progress: &Progress) -> Outcome {
    let load = &plan.scenario.load;
    let start = shared.start;
    let (stop_tx, stop_rx) = watch::channel(start + load.duration.unwrap_or(FOREVER));
    let ticker = tokio::spawn(tick_epochs(shared.engine.clone()));
    let (interrupt_tx, mut interrupt_rx) = watch::channel(false);
    let signals = tokio::spawn(async move {
        wait_for_signal().await;
        let _ = stop_tx.send(Instant::now());
        let _ = interrupt_tx.send(true);
        // Keep the stop sender alive so users see the moved stop time.
        std::future::pending::<()>().await;
    });

    let (tx, mut rx) = mpsc::unbounded_channel();
    for index in 0..load.total_users {
        let spec = Spec {
            index,
            source: load.pool.for_vu(index),
            offset: load.start_offset(index),
            max_iterations: load.iterations,
        };
        tokio::spawn(vu::run(
            Arc::clone(&shared),
            spec,
            stop_rx.clone(),
            tx.clone(),
        ));
    }
    drop(tx);

    let mut stats = Stats::new(plan.scenario.workflow.len());
    let mut timeline = Timeline::default();
    let mut active = 0u32;
    let (mut ready, mut all_ready) = (0u32, None);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(Event::Sample { at, source, sample, iteration_done }) => {
                    stats.push(&sample, source.as_deref());
                    timeline.push(at, &sample);
                    stats.iterations += u64::from(iteration_done);
                }
                Some(Event::Started) => active += 1,
                Some(Event::Ready) => {
                    ready += 1;
                    if ready == load.total_users {
                        all_ready = Some(start.elapsed());
                    }
                }
                Some(Event::Stopped) => active = active.saturating_sub(1),
                None => break, // every user has finished
            },
            _ = tick.tick() => progress.update(start.elapsed(), active, &stats),
            _ = interrupt_rx.changed() => progress.interrupted(),
        }
    }
    let elapsed = start.elapsed();
    ticker.abort();
    signals.abort();
    Outcome {
        stats,
        timeline,
        elapsed,
        interrupted: *interrupt_rx.borrow(),
        all_ready,
    }
}

/// Drives epoch interruption: every tick, running guests yield (and one past
/// its step budget is interrupted).
pub async fn tick_epochs(engine: wasmtime::Engine) {
    let mut t = tokio::time::interval(crate::engine::EPOCH_TICK);
    loop {
        t.tick().await;
        engine.increment_epoch();
    }
}

async fn wait_for_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
