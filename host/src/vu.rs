//! One virtual user: its own instance (from the shared `InstancePre`,
//! created in the init phase), driven one step per call, an iteration at a
//! time. The host waits the think time on its own clock, stops at the
//! deadline, and replaces the instance after a trap. Executors (`drive`)
//! decide when iterations run.

use crate::bindings::{self, ScenarioNeeds, VuDriver, VuDriverPre};
use crate::egress::Egress;
use crate::vu_state::VuState;
use contract::{ErrorKind, Sample, UNATTRIBUTED};
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
    /// filesystem), the `--env` values and the data sources' fields, passed
    /// to every user's `init`.
    pub inputs: bindings::Inputs,
    /// The data sources' rows (one copy for every user) and their cursors.
    pub rows: Arc<scenario::data::Rows>,
    /// Per workload: the data sources each iteration takes a row of.
    pub sources: Vec<Vec<usize>>,
    /// What setup extracted, once it ran: every user's `${setup.NAME}`.
    pub setup: std::sync::OnceLock<Vec<(String, String)>>,
    pub targets: HashSet<SocketAddr>,
    /// Source addresses: user n sends from entry n mod size.
    pub pool: scenario::pool::IpPool,
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

/// One user's identity.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub index: u32,
    pub source: Option<IpAddr>,
    pub workload: usize,
}

impl Spec {
    /// User `index` of `workload`, sending from its pool address: the one
    /// place the host chooses a user's source IP (the guest takes it).
    pub fn new(pool: &scenario::pool::IpPool, index: u32, workload: usize) -> Spec {
        Spec {
            index,
            source: pool.for_vu(index),
            workload,
        }
    }
}

/// When a user stops: the stop time (moved to "now" by the first signal or
/// an aborting threshold), and an abort (the second signal) that ends an
/// in-flight step at once.
#[derive(Clone)]
pub struct Stops {
    pub at: watch::Receiver<Instant>,
    pub abort: watch::Receiver<bool>,
}

/// How an iteration ended.
#[derive(Debug, PartialEq, Eq)]
pub enum IterationEnd {
    Done,
    /// Its time ran out before its last step, or the run stopped.
    Cut,
    /// The instance trapped and could not be made again.
    Gone,
    /// A `unique` data source had no row left for it: the user stops.
    OutOfData,
}

/// A user: its instance and how it reports.
pub struct User {
    pub shared: Arc<Shared>,
    pub spec: Spec,
    live: Option<Live>,
    pub start: Instant,
    pub stops: Stops,
    pub events: mpsc::UnboundedSender<Event>,
    /// The instance is mid-workflow (an iteration was cut): it is replaced
    /// before its next iteration, which then starts at the workflow's start.
    stale: bool,
    /// Iterations begun, for the data rows' modes.
    iterations: u64,
}

impl User {
    pub fn new(
        shared: Arc<Shared>,
        spec: Spec,
        live: Live,
        start: Instant,
        stops: Stops,
        events: mpsc::UnboundedSender<Event>,
    ) -> Self {
        User {
            shared,
            spec,
            live: Some(live),
            start,
            stops,
            events,
            stale: false,
            iterations: 0,
        }
    }

    /// Hands the instance back for teardown off the workers.
    pub fn into_live(self) -> Option<Live> {
        self.live
    }

    /// True once the run's stop time has passed.
    pub fn run_stopped(&self) -> bool {
        Instant::now() >= *self.stops.at.borrow()
    }

    /// Sleeps until `at`; false if `limit` or the run's stop comes first.
    pub async fn sleep_until(&mut self, at: Instant, limit: Instant) -> bool {
        sleep_or_stop(at, limit, &mut self.stops.at).await
    }

    /// Runs one iteration: steps (and their think times) until the
    /// workflow's last. `due`: when it was scheduled (open models), so each
    /// step's lateness against its schedule is counted. No step starts
    /// after `hard_end`; the one in flight then gets the grace period.
    /// `last_think`: whether the last step's think time is part of it
    /// (pacing replaces it).
    pub async fn iteration(
        &mut self,
        due: Option<Instant>,
        hard_end: Instant,
        last_think: bool,
    ) -> IterationEnd {
        if self.stale {
            self.live = None;
            self.stale = false;
        }
        let mut due = due;
        let mut rows = match self.rows() {
            Some(rows) => rows,
            None => {
                let workload = self.spec.workload;
                let _ = self.events.send(Event::OutOfData { workload });
                return IterationEnd::OutOfData;
            }
        };
        self.iterations += 1;
        loop {
            let stop_at = (*self.stops.at.borrow()).min(hard_end);
            if Instant::now() >= stop_at {
                self.stale = true;
                return IterationEnd::Cut;
            }
            let delay = due.map(|d| Instant::now().saturating_duration_since(d));
            let (think, done) = match self.step(delay, hard_end, std::mem::take(&mut rows)).await {
                StepEnd::Ran { think, done } => (think, done),
                // The instance is gone (replaced next time): so is the iteration.
                StepEnd::Failed => return IterationEnd::Cut,
                StepEnd::Gone => return IterationEnd::Gone,
            };
            if done && !last_think {
                return IterationEnd::Done;
            }
            let next = Instant::now() + think;
            due = due.map(|_| next);
            if !think.is_zero() && !self.sleep_until(next, hard_end).await {
                if done {
                    return IterationEnd::Done;
                }
                self.stale = true;
                return IterationEnd::Cut;
            }
            if done {
                return IterationEnd::Done;
            }
        }
    }

    /// A row of each data source this user's iterations name; none when a
    /// `unique` source has no row left.
    fn rows(&self) -> Option<Vec<bindings::DataRow>> {
        let sources = &self.shared.sources[self.spec.workload];
        if sources.is_empty() {
            return Some(Vec::new());
        }
        let rows = self
            .shared
            .rows
            .take(sources, self.spec.index, self.iterations)
            .ok()?;
        Some(
            rows.into_iter()
                .map(|(source, values)| bindings::DataRow {
                    source: source as u32,
                    values,
                })
                .collect(),
        )
    }

    /// Runs the next step (`rows`: the iteration's data, on its first step).
    async fn step(
        &mut self,
        delay: Option<Duration>,
        hard_end: Instant,
        rows: Vec<bindings::DataRow>,
    ) -> StepEnd {
        let (start, source, workload) = (self.start, self.spec.source, self.spec.workload);
        if self.live.is_none() {
            match create(&self.shared, &self.spec).await {
                Ok(l) => self.live = Some(l),
                Err(message) => {
                    // No step was running: the instance could not be made.
                    let failed = ended(
                        start,
                        workload,
                        source,
                        UNATTRIBUTED,
                        Duration::ZERO,
                        ErrorKind::Trap,
                        message,
                    );
                    let _ = self.events.send(failed);
                    return StepEnd::Gone;
                }
            }
        }
        let Live {
            store,
            vu,
            next_step,
        } = self.live.as_mut().expect("instantiated above");
        let running = *next_step;
        let budget = self.shared.budgets.get(running as usize).copied();
        store
            .data_mut()
            .start_step(budget.unwrap_or(crate::vu_state::SETUP_BUDGET));
        let began = Instant::now();
        let step = vu.scheduler_main_vu().call_next_step(&mut *store, &rows);
        let Stops { at: stop, abort } = &mut self.stops;
        let result = tokio::select! {
            r = step => Some(r),
            _ = hard_stop(stop, hard_end, self.shared.grace) => None,
            _ = abort.wait_for(|a| *a) => None,
        };
        let (kind, message) = match result {
            Some(Ok(r)) => {
                *next_step = r.next_step;
                let _ = self.events.send(Event::Sample {
                    at: start.elapsed(),
                    workload,
                    source,
                    samples: r.samples.into_iter().map(bindings::sample).collect(),
                    delay,
                    iteration_done: r.iteration_done,
                });
                return StepEnd::Ran {
                    think: bindings::duration(r.think_time),
                    done: r.iteration_done,
                };
            }
            // The instance is poisoned: count it; a fresh one runs next.
            Some(Err(e)) => (ErrorKind::Trap, trap_message(&e)),
            // Stopped and the grace period ran out, or aborted: the step is
            // abandoned and counted as interrupted; the instance, stopped
            // mid-call, is never called again.
            None => (
                ErrorKind::Interrupted,
                "the run stopped before the step ended".to_string(),
            ),
        };
        let took = began.elapsed();
        let _ = self
            .events
            .send(ended(start, workload, source, running, took, kind, message));
        self.live = None;
        StepEnd::Failed
    }
}

/// How one step call ended.
enum StepEnd {
    Ran {
        think: Duration,
        done: bool,
    },
    /// It trapped or was cut off: the instance is dropped.
    Failed,
    /// No instance could be made for it.
    Gone,
}

/// Creates the user's instance and runs `init` (its scenario, index, source).
pub async fn create(shared: &Shared, spec: &Spec) -> Result<Live, String> {
    create_as(shared, bindings::Role::User(spec.index), spec.source).await
}

async fn create_as(
    shared: &Shared,
    role: bindings::Role,
    source: Option<IpAddr>,
) -> Result<Live, String> {
    let egress = Egress::new(shared.targets.clone(), source);
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
    let (mut store, vu) = instance(shared, Egress::new(HashSet::new(), None)).await?;
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

/// Sleeps until `at`; false if `limit` or the stop time comes first.
async fn sleep_or_stop(at: Instant, limit: Instant, stop: &mut watch::Receiver<Instant>) -> bool {
    loop {
        let stop_at = (*stop.borrow_and_update()).min(limit);
        if at >= stop_at {
            // Wait for the stop itself (or a change that moves it).
            tokio::select! {
                _ = tokio::time::sleep_until(stop_at.into()) => return false,
                r = stop.changed() => if r.is_err() { tokio::time::sleep_until(stop_at.into()).await; return false },
            }
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(at.into()) => return true,
            r = stop.changed() => if r.is_err() { tokio::time::sleep_until(at.into()).await; return true },
        }
    }
}

/// Resolves `grace` after the earlier of `limit` and the stop time,
/// following changes to the stop time.
async fn hard_stop(stop: &mut watch::Receiver<Instant>, limit: Instant, grace: Duration) {
    loop {
        let at = (*stop.borrow_and_update()).min(limit) + grace;
        tokio::select! {
            _ = tokio::time::sleep_until(at.into()) => return,
            r = stop.changed() => if r.is_err() { tokio::time::sleep_until(at.into()).await; return },
        }
    }
}
