//! One virtual user: its own instance (from the shared `InstancePre`),
//! driven one step per call. The host waits the think time on its own
//! clock, stops at the deadline, and replaces the instance after a trap.

use crate::bindings::{VuDriver, VuDriverPre};
use crate::egress::Egress;
use crate::vu_state::VuState;
use scheduler::{Sample, SampleError, UNATTRIBUTED};
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
    pub targets: HashSet<SocketAddr>,
    /// Longest a step may run (the largest step timeout plus slack).
    pub budget: Duration,
    /// How long an in-flight step may go on after the stop time.
    pub grace: Duration,
    pub start: Instant,
}

/// What users report to the aggregator.
pub enum Event {
    Started,
    /// The user's first instance is instantiated and initialised.
    Ready,
    Sample {
        at: Duration,
        source: Option<Arc<str>>,
        sample: Sample,
        /// The step ended an iteration (one event, not two, per step).
        iteration_done: bool,
    },
    Stopped,
}

/// One user's identity and stop condition.
pub struct Spec {
    pub index: u32,
    pub source: Option<IpAddr>,
    pub offset: Duration,
    pub max_iterations: Option<u64>,
}

pub async fn run(
    shared: Arc<Shared>,
    spec: Spec,
    mut stop: watch::Receiver<Instant>,
    events: mpsc::UnboundedSender<Event>,
) {
    if !sleep_or_stop(shared.start + spec.offset, &mut stop).await {
        return;
    }
    let _ = events.send(Event::Started);
    let egress = Arc::new(Egress::new(shared.targets.clone(), spec.source));
    let source: Option<Arc<str>> = spec.source.map(|ip| ip.to_string().into());
    let mut live: Option<(Store<VuState>, VuDriver)> = None;
    let mut iterations = 0;
    let mut ready = false;
    while Instant::now() < *stop.borrow() {
        if live.is_none() {
            match instantiate(&shared, spec.index, spec.source, Arc::clone(&egress)).await {
                Ok(l) => {
                    if !ready {
                        ready = true;
                        let _ = events.send(Event::Ready);
                    }
                    live = Some(l);
                }
                Err(message) => {
                    let _ = events.send(trap(&shared, source.clone(), Duration::ZERO, message));
                    break;
                }
            }
        }
        let (store, vu) = live.as_mut().expect("instantiated above");
        store.data_mut().start_step();
        let began = Instant::now();
        let step = vu.scheduler_main_vu().call_next_step(&mut *store);
        let result = tokio::select! {
            r = step => Some(r),
            _ = hard_stop(&mut stop, shared.grace) => None,
        };
        match result {
            Some(Ok(r)) => {
                let at = shared.start.elapsed();
                let _ = events.send(Event::Sample {
                    at,
                    source: source.clone(),
                    sample: sample(r.sample),
                    iteration_done: r.iteration_done,
                });
                if r.iteration_done {
                    iterations += 1;
                    if spec.max_iterations.is_some_and(|m| iterations >= m) {
                        break;
                    }
                }
                let think = Duration::from_millis(u64::from(r.think_time_ms));
                if !think.is_zero() && !sleep_or_stop(Instant::now() + think, &mut stop).await {
                    break;
                }
            }
            Some(Err(e)) => {
                // The instance is poisoned: count it and start a fresh one.
                let _ = events.send(trap(
                    &shared,
                    source.clone(),
                    began.elapsed(),
                    trap_message(&e),
                ));
                live = None;
            }
            // Stopped and the grace period ran out: abandon the step.
            None => break,
        }
    }
    let _ = events.send(Event::Stopped);
}

async fn instantiate(
    shared: &Shared,
    index: u32,
    source: Option<IpAddr>,
    egress: Arc<Egress>,
) -> Result<(Store<VuState>, VuDriver), String> {
    let mut store = VuState::store(&shared.engine, egress, shared.budget);
    let vu = shared
        .pre
        .instantiate_async(&mut store)
        .await
        .map_err(|e| trap_message(&e))?;
    let source = source.map(|s| s.to_string());
    let init = vu
        .scheduler_main_vu()
        .call_init(&mut store, &shared.yaml, index, source.as_deref());
    match init.await {
        Ok(Ok(())) => Ok((store, vu)),
        Ok(Err(message)) => Err(message),
        Err(e) => Err(trap_message(&e)),
    }
}

/// Instantiates one user and runs `init`: validates the scenario with the
/// composed component's own rules (e.g. which extension kinds exist).
pub async fn probe(shared: &Shared, source: Option<IpAddr>) -> Result<(), String> {
    let egress = Arc::new(Egress::new(shared.targets.clone(), source));
    instantiate(shared, 0, source, egress).await.map(drop)
}

fn sample(s: crate::bindings::Sample) -> Sample {
    let error = s.error_kind.map(|kind| SampleError {
        kind,
        message: s.error_message.unwrap_or_default(),
    });
    Sample {
        step: s.step,
        latency_us: s.latency_us,
        status: s.status,
        bytes_sent: s.bytes_sent,
        bytes_received: s.bytes_received,
        error,
    }
}

fn trap(shared: &Shared, source: Option<Arc<str>>, took: Duration, message: String) -> Event {
    let error = Some(SampleError {
        kind: "trap".into(),
        message,
    });
    let sample = Sample {
        step: UNATTRIBUTED,
        latency_us: took.as_micros() as u64,
        status: None,
        bytes_sent: 0,
        bytes_received: 0,
        error,
    };
    Event::Sample {
        at: shared.start.elapsed(),
        source,
        sample,
        iteration_done: false,
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
