//! One virtual user: its own instance (from the shared `InstancePre`,
//! created in the init phase), driven one step per call. The host waits the
//! think time on its own clock, stops at the deadline, and replaces the
//! instance after a trap.

use crate::bindings::{self, ScenarioNeeds, VuDriver, VuDriverPre};
use crate::egress::Egress;
use crate::vu_state::VuState;
use scheduler::{ErrorKind, Sample, SampleError, UNATTRIBUTED};
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use wasmtime::Store;

/// What every user shares.
pub struct Shared {
    pub engine: wasmtime::Engine,
    pub pre: VuDriverPre<VuState>,
    pub yaml: String,
    /// The files the scenario names, read by the host (components have no
    /// filesystem), passed to every user's `init`.
    pub files: Vec<bindings::File>,
    pub targets: HashSet<SocketAddr>,
    /// Longest each step may run in the guest: its timeout plus a margin.
    pub budgets: Vec<Duration>,
    /// How long an in-flight step may go on after the stop time.
    pub grace: Duration,
    /// Linear memory one user's instance may have, in all its memories.
    pub memory_limit: usize,
}

/// A user's instance, initialised and ready for `next-step`.
pub struct Live {
    store: Store<VuState>,
    vu: VuDriver,
    /// The step its next `next-step` call runs: a trap is counted there.
    next_step: u32,
}

/// What users report to the aggregator.
pub enum Event {
    Started,
    Sample {
        at: Duration,
        source: Option<IpAddr>,
        /// One per request the step made (redirects, then its last).
        samples: Vec<Sample>,
        /// The step ended an iteration (one event, not two, per step).
        iteration_done: bool,
    },
    /// The user is done (`ran`: it had started) at `at` since the start.
    /// Tearing its instance down comes after and is not part of the run.
    Stopped {
        ran: bool,
        at: Duration,
    },
}

/// One user's identity and stop condition.
pub struct Spec {
    pub index: u32,
    pub source: Option<IpAddr>,
    pub offset: Duration,
    pub max_iterations: Option<u64>,
}

/// When a user stops: the stop time (moved to "now" by the first signal),
/// and an abort (the second signal) that ends an in-flight step at once.
pub struct Stops {
    pub at: watch::Receiver<Instant>,
    pub abort: watch::Receiver<bool>,
}

/// Runs one user from its ramp offset (after `start`) until the stop time.
/// Returns its instance rather than dropping it: tearing thousands of
/// instances down takes a while and must not delay the other users' stop.
pub async fn run(
    shared: Arc<Shared>,
    spec: Spec,
    first: Live,
    start: Instant,
    stops: Stops,
    events: mpsc::UnboundedSender<Event>,
) -> Option<Live> {
    let Stops {
        at: mut stop,
        mut abort,
    } = stops;
    if !sleep_or_stop(start + spec.offset, &mut stop).await {
        let at = start.elapsed();
        let _ = events.send(Event::Stopped { ran: false, at });
        return Some(first);
    }
    let _ = events.send(Event::Started);
    let source = spec.source;
    let mut live = Some(first);
    let mut iterations = 0;
    while Instant::now() < *stop.borrow() {
        if live.is_none() {
            match create(&shared, &spec).await {
                Ok(l) => live = Some(l),
                Err(message) => {
                    // No step was running: the instance could not be made.
                    let failed = ended(
                        start,
                        source,
                        UNATTRIBUTED,
                        Duration::ZERO,
                        ErrorKind::Trap,
                        message,
                    );
                    let _ = events.send(failed);
                    break;
                }
            }
        }
        let Live {
            store,
            vu,
            next_step,
        } = live.as_mut().expect("instantiated above");
        let running = *next_step;
        let budget = shared.budgets.get(running as usize).copied();
        store
            .data_mut()
            .start_step(budget.unwrap_or(crate::vu_state::SETUP_BUDGET));
        let began = Instant::now();
        let step = vu.scheduler_main_vu().call_next_step(&mut *store);
        let result = tokio::select! {
            r = step => Some(r),
            _ = hard_stop(&mut stop, shared.grace) => None,
            _ = abort.wait_for(|a| *a) => None,
        };
        match result {
            Some(Ok(r)) => {
                *next_step = r.next_step;
                let at = start.elapsed();
                let _ = events.send(Event::Sample {
                    at,
                    source,
                    samples: r.samples.into_iter().map(bindings::sample).collect(),
                    iteration_done: r.iteration_done,
                });
                if r.iteration_done {
                    iterations += 1;
                    if spec.max_iterations.is_some_and(|m| iterations >= m) {
                        break;
                    }
                }
                let think = bindings::duration(r.think_time);
                if !think.is_zero() && !sleep_or_stop(Instant::now() + think, &mut stop).await {
                    break;
                }
            }
            Some(Err(e)) => {
                // The instance is poisoned: count it and start a fresh one.
                let message = trap_message(&e);
                let took = began.elapsed();
                let trapped = ended(start, source, running, took, ErrorKind::Trap, message);
                let _ = events.send(trapped);
                live = None;
            }
            // Stopped and the grace period ran out, or aborted: the step is
            // abandoned, and counted as interrupted.
            None => {
                let message = "the run stopped before the step ended".to_string();
                let took = began.elapsed();
                let interrupted = ended(
                    start,
                    source,
                    running,
                    took,
                    ErrorKind::Interrupted,
                    message,
                );
                let _ = events.send(interrupted);
                break;
            }
        }
    }
    let at = start.elapsed();
    let _ = events.send(Event::Stopped { ran: true, at });
    live
}

/// Creates the user's instance and runs `init` (its scenario, index, source).
pub async fn create(shared: &Shared, spec: &Spec) -> Result<Live, String> {
    let egress = Egress::new(shared.targets.clone(), spec.source);
    let (mut store, vu) = instance(shared, egress).await?;
    let source = spec.source.map(bindings::ip);
    let init = vu.scheduler_main_vu().call_init(
        &mut store,
        &shared.yaml,
        &shared.files,
        spec.index,
        source,
    );
    match init.await {
        Ok(Ok(next_step)) => Ok(Live {
            store,
            vu,
            next_step,
        }),
        Ok(Err(message)) => Err(message),
        Err(e) => Err(trap_message(&e)),
    }
}

/// Asks a fresh instance (with no egress at all) to `check` the scenario:
/// the composed component's own validation, including the extension's
/// `validate` of each of its steps, and what the scenario will reach.
pub async fn check(shared: &Shared) -> Result<ScenarioNeeds, String> {
    let (mut store, vu) = instance(shared, Egress::new(HashSet::new(), None)).await?;
    let check = vu
        .scheduler_main_vu()
        .call_check(&mut store, &shared.yaml, &shared.files);
    match check.await {
        Ok(result) => result,
        Err(e) => Err(trap_message(&e)),
    }
}

/// A fresh store with `egress` and an instance in it.
async fn instance(shared: &Shared, egress: Egress) -> Result<(Store<VuState>, VuDriver), String> {
    let mut store = VuState::store(&shared.engine, Arc::new(egress), shared.memory_limit);
    let vu = shared
        .pre
        .instantiate_async(&mut store)
        .await
        .map_err(|e| trap_message(&e))?;
    Ok((store, vu))
}

/// The sample of a step the host ended (a trap, or the run's stop).
fn ended(
    start: Instant,
    source: Option<IpAddr>,
    step: u32,
    took: Duration,
    kind: ErrorKind,
    message: String,
) -> Event {
    Event::Sample {
        at: start.elapsed(),
        source,
        samples: vec![failed_sample(step, took, kind, message)],
        iteration_done: false,
    }
}

/// A trap in `step`, or a failed instantiation (step `UNATTRIBUTED`).
pub fn trap_sample(step: u32, took: Duration, message: String) -> Sample {
    failed_sample(step, took, ErrorKind::Trap, message)
}

/// A step the host ended: it trapped or was interrupted.
fn failed_sample(step: u32, took: Duration, kind: ErrorKind, message: String) -> Sample {
    Sample {
        step,
        latency_us: took.as_micros() as u64,
        status: None,
        bytes_sent: 0,
        bytes_received: 0,
        error: Some(SampleError { kind, message }),
        phases: None,
        tls: None,
    }
}

/// One line: the trap's own words, not a backtrace.
fn trap_message(e: &wasmtime::Error) -> String {
    // The trap sits under backtrace context; its own words are the root cause.
    let trap = e
        .chain()
        .find_map(|c| c.downcast_ref::<wasmtime::Trap>())
        .or_else(|| e.downcast_ref());
    match trap {
        Some(wasmtime::Trap::Interrupt) => "interrupted: the step ran past its timeout".into(),
        Some(trap) => format!("trap: {trap}"),
        None => e
            .root_cause()
            .to_string()
            .lines()
            .next()
            .unwrap_or("trap")
            .trim()
            .to_string(),
    }
}

/// Sleeps until `at`; false if the stop time comes first.
async fn sleep_or_stop(at: Instant, stop: &mut watch::Receiver<Instant>) -> bool {
    loop {
        let stop_at = *stop.borrow_and_update();
        if at >= stop_at {
            // Wait for the stop itself (or a change that moves it).
            tokio::select! {
                _ = tokio::time::sleep_until(stop_at.into()) => return false,
                r = stop.changed() => if r.is_err() { return false },
            }
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(at.into()) => return true,
            r = stop.changed() => if r.is_err() { tokio::time::sleep_until(at.into()).await; return true },
        }
    }
}

/// Resolves `grace` after the stop time, following changes to it.
async fn hard_stop(stop: &mut watch::Receiver<Instant>, grace: Duration) {
    loop {
        let at = *stop.borrow_and_update() + grace;
        tokio::select! {
            _ = tokio::time::sleep_until(at.into()) => return,
            r = stop.changed() => if r.is_err() { tokio::time::sleep_until(at.into()).await; return },
        }
    }
}
