//! What every instance shares (`Shared`), the events the run aggregates,
//! the stop condition, and the instances that are not cells: setup and
//! teardown (one user each, driven a step per call through `vu`) and the
//! validation probe (`check`).

use crate::bindings::{self, ScenarioNeeds, VuDriver, VuDriverPre};
use crate::egress::Egress;
use crate::vu_state::VuState;
use contract::{ErrorKind, Sample};
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use wasmtime::Store;

/// What every user shares.
pub struct Shared {
    pub engine: wasmtime::Engine,
    pub pre: VuDriverPre<VuState>,
    pub yaml: String,
    /// The files the scenario names, read by the host (components have no
    /// filesystem), the `--env` values and the data sources' fields, passed
    /// to every user's `init`.
    pub inputs: bindings::Inputs,
    /// The data sources' rows, handed to each cell (which picks its own).
    pub tables: Vec<Arc<scenario::data::Table>>,
    /// What setup extracted, once it ran: every user's `${setup.NAME}`.
    pub setup: std::sync::OnceLock<Vec<(String, String)>>,
    pub targets: HashSet<SocketAddr>,
    /// Source addresses: user n sends from entry n mod size.
    pub pool: scenario::pool::IpPool,
    /// Longest each step may run in the guest: its timeout plus a margin.
    pub budgets: Vec<Duration>,
    /// How long an in-flight step may go on after the stop time.
    pub grace: Duration,
    /// The user whose requests are traced (`--har-user`), when `--har`.
    pub trace_user: Option<u32>,
    /// Linear memory per user: a cell may have this times its users, in all
    /// its memories.
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
    /// A user of `workload` began (+1) or ended (-1) running iterations.
    Active { workload: usize, delta: i32 },
    Sample {
        at: Duration,
        workload: usize,
        source: Option<IpAddr>,
        /// One per request the step made (redirects, then its last).
        samples: Vec<Sample>,
        /// How late the step started against its schedule (arrival-rate
        /// executors; counted into its latency).
        delay: Option<Duration>,
        /// The step ended an iteration (one event, not two, per step).
        iteration_done: bool,
    },
    /// An arrival-rate executor had no free user for an iteration.
    Dropped { at: Duration, workload: usize },
    /// A user could not start an iteration: a `unique` data source had no
    /// row left.
    OutOfData { workload: usize },
    /// A driver (a closed user, an open pool) is done at `at` since the
    /// start. Tearing instances down comes after and is not part of the run.
    Stopped { at: Duration },
}

/// When a user stops: the stop time (moved to "now" by the first signal or
/// an aborting threshold), and an abort (the second signal) that ends an
/// in-flight step at once.
#[derive(Clone)]
pub struct Stops {
    pub at: watch::Receiver<Instant>,
    pub abort: watch::Receiver<bool>,
}

async fn create_as(
    shared: &Shared,
    role: bindings::Role,
    source: Option<IpAddr>,
) -> Result<Live, String> {
    let egress = Egress::new(shared.targets.clone(), source.into_iter().collect());
    let (mut store, vu) = instance(shared, egress).await?;
    let user = bindings::User {
        role,
        source_ip: source.map(bindings::wit_ip),
        setup: shared.setup.get().cloned().unwrap_or_default(),
    };
    let init = vu
        .scheduler_main_vu()
        .call_init(&mut store, &shared.yaml, &shared.inputs, &user);
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
    let (mut store, vu) = instance(shared, Egress::new(HashSet::new(), Vec::new())).await?;
    let check = vu
        .scheduler_main_vu()
        .call_check(&mut store, &shared.yaml, &shared.inputs);
    match check.await {
        Ok(result) => result,
        Err(e) => Err(trap_message(&e)),
    }
}

/// What a setup or teardown run produced.
pub struct HookRun {
    /// Each step's samples, in order.
    pub steps: Vec<Vec<Sample>>,
    /// What it extracted (setup's are every user's `${setup.NAME}`).
    pub variables: Vec<(String, String)>,
}

/// Runs `setup:` or `teardown:` once, in an instance of its own (sending
/// from the unspecified address), each step with its budget; the think
/// times are waited. A trap ends it, counted against the step (against
/// its first step, `first`, when no instance could be made).
pub async fn hook(shared: &Shared, role: bindings::Role, first: u32) -> HookRun {
    let mut out = HookRun {
        steps: Vec::new(),
        variables: Vec::new(),
    };
    let mut live = match create_as(shared, role, None).await {
        Ok(l) => l,
        Err(message) => {
            out.steps
                .push(vec![trap_sample(first, Duration::ZERO, message)]);
            return out;
        }
    };
    loop {
        let running = live.next_step;
        let budget = shared.budgets.get(running as usize).copied();
        live.store
            .data_mut()
            .start_step(budget.unwrap_or(crate::vu_state::SETUP_BUDGET));
        let began = Instant::now();
        let r = match live
            .vu
            .scheduler_main_vu()
            .call_next_step(&mut live.store, &[])
            .await
        {
            Ok(r) => r,
            Err(e) => {
                out.steps.push(vec![trap_sample(
                    running,
                    began.elapsed(),
                    trap_message(&e),
                )]);
                return out;
            }
        };
        live.next_step = r.next_step;
        out.steps
            .push(r.samples.into_iter().map(bindings::sample).collect());
        if r.iteration_done {
            break;
        }
        tokio::time::sleep(bindings::duration(r.think_time)).await;
    }
    if let Ok(v) = live
        .vu
        .scheduler_main_vu()
        .call_variables(&mut live.store)
        .await
    {
        out.variables = v;
    }
    out
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
pub fn ended(
    start: Instant,
    workload: usize,
    source: Option<IpAddr>,
    step: u32,
    took: Duration,
    kind: ErrorKind,
    message: String,
) -> Event {
    Event::Sample {
        at: start.elapsed(),
        workload,
        source,
        samples: vec![failed_sample(step, took, kind, message)],
        delay: None,
        iteration_done: false,
    }
}

/// A trap in `step`, or a failed instantiation (step `UNATTRIBUTED`).
pub fn trap_sample(step: u32, took: Duration, message: String) -> Sample {
    failed_sample(step, took, ErrorKind::Trap, message)
}

/// A step the host ended: it trapped or was interrupted.
fn failed_sample(step: u32, took: Duration, kind: ErrorKind, message: String) -> Sample {
    Sample::failed(step, took, kind, message)
}

/// One line: the trap's own words, not a backtrace.
pub fn trap_message(e: &wasmtime::Error) -> String {
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
