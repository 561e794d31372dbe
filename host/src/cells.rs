//! Cells: a slice of one workload's users in one instance, run by the
//! guest's own event loop (the `cell` export: the engine `run-scenario`
//! runs, every user's step in flight at once). The host plans the cells
//! (`plan`: how many users each, `--users-per-instance`), creates them in
//! the init phase, and drives each with `run` calls of a slice of time,
//! telling it the run's clock and stop time; their batched events become
//! the run's `Event`s. A cell that traps (a panic, a runaway step, its
//! memory limit) ends alone: each of its users that was mid-iteration
//! counts a `trap` at the step it was on, and a fresh instance takes over
//! the slice where it stood.

use crate::bindings::{self, VuDriver, cell as wit};
use crate::egress::Egress;
use crate::vu::{Event, Shared, Stops, ended, trap_message};
use crate::vu_state::VuState;
use contract::{ErrorKind, UNATTRIBUTED};
use scenario::Scenario;
use scenario::executor::{Model, Shard};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use wasmtime::Store;

/// How much run time one `run` call covers: the host hears from a cell at
/// least this often (progress, live thresholds, the stop).
const SPAN: Duration = Duration::from_millis(200);
/// After a trap, the wait before the slice's fresh instance, doubling while
/// it traps again at once (a step that always traps must not take the
/// machine from the other cells), back to the first after a clean call.
const REPLACE_FIRST: Duration = Duration::from_millis(10);
const REPLACE_MAX: Duration = Duration::from_secs(1);

/// One cell's share of the run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub workload: usize,
    /// The process's shard composed with the cell's place.
    pub slice: Shard,
    /// The run-wide numbers of the users it may run.
    pub users: Vec<u32>,
}

impl Plan {
    /// The source addresses its users send from.
    pub fn sources(&self, pool: &scenario::pool::IpPool) -> Vec<IpAddr> {
        let mut ips: Vec<IpAddr> = self.users.iter().filter_map(|n| pool.for_vu(*n)).collect();
        ips.sort();
        ips.dedup();
        ips
    }
}

/// The cells of this process's shard: each workload's users in slices of
/// at most `per_instance` (`Shard` composed: cell c of C takes the shard's
/// every C-th user, arrival and turn).
pub fn plan(scenario: &Scenario, per_instance: u32) -> Vec<Plan> {
    let shard = scenario.shard;
    let mut cells = Vec::new();
    for (wi, w) in scenario.workloads.iter().enumerate() {
        let users = shard.share(u64::from(w.max_vus()));
        if users == 0 {
            continue;
        }
        let count = users.div_ceil(u64::from(per_instance.max(1))) as u32;
        for c in 0..count {
            let slice = Shard {
                index: shard.index + shard.count * c,
                count: shard.count * count,
            };
            let users: Vec<u32> = slice.users(w.first_vu, 0..w.max_vus()).collect();
            // A closed workload's user whose curve never reaches it runs
            // nothing; an arrival rate's slice always has arrivals.
            if users.is_empty() && matches!(w.model, Model::Closed(_)) {
                continue;
            }
            cells.push(Plan {
                workload: wi,
                slice,
                users,
            });
        }
    }
    cells
}

/// The default users per instance: this process's users spread over one
/// cell per core (every core has work; fewer, larger cells cost less CPU
/// per request), at most 100 per cell (a cell's every wait is one
/// `wasi:io/poll` over all its steps in flight, so its cost per request
/// grows with its users in flight). Both measured in the book's
/// Performance chapter.
pub fn default_per_instance(users: u32) -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
    users.div_ceil(cores).clamp(1, MAX_DEFAULT_PER_INSTANCE)
}

/// The largest default cell.
const MAX_DEFAULT_PER_INSTANCE: u32 = 100;

/// A cell's instance, initialised.
pub struct Cell {
    store: Store<VuState>,
    driver: VuDriver,
}

/// Where a replacement picks up.
#[derive(Default)]
struct Track {
    /// Users mid-iteration: the step each runs next.
    mid: HashMap<u32, u32>,
    /// How many of them run each step next (by step index): the budget of
    /// a `run` call reads the steps, not the users.
    mid_steps: std::collections::BTreeMap<u32, u32>,
    /// Iterations each user finished or lost.
    iterations: HashMap<u32, u64>,
    /// Iterations begun (what a shared budget has spent).
    begun: u64,
    /// Its users counted as active now.
    active: i32,
}

/// Creates a cell's instance and runs `cell.init`.
pub async fn create(
    shared: &Shared,
    plan: &Plan,
    resume: Option<wit::Resume>,
) -> Result<Cell, String> {
    let egress = Egress::new(shared.targets.clone(), plan.sources(&shared.pool));
    let limit = shared
        .memory_limit
        .saturating_mul(plan.users.len().max(1))
        .min(crate::engine::MAX_MEMORY_PER_CELL);
    let mut store = VuState::store(&shared.engine, Arc::new(egress), limit);
    let driver = shared
        .pre
        .instantiate_async(&mut store)
        .await
        .map_err(|e| trap_message(&e))?;
    let spec = wit::Spec {
        slice: wit::Slice {
            workload: plan.workload as u32,
            index: plan.slice.index,
            count: plan.slice.count,
        },
        setup: shared.setup.get().cloned().unwrap_or_default(),
        trace_user: shared.trace_user,
        tables: shared
            .tables
            .iter()
            .map(|t| {
                let (text, ends) = t.parts();
                wit::Table {
                    text: text.to_string(),
                    ends: ends.to_vec(),
                }
            })
            .collect(),
        resume,
    };
    let init =
        driver
            .scheduler_main_cell()
            .call_init(&mut store, &shared.yaml, &shared.inputs, &spec);
    match init.await {
        Ok(Ok(())) => Ok(Cell { store, driver }),
        Ok(Err(message)) => Err(message),
        Err(e) => Err(trap_message(&e)),
    }
}

/// Runs a cell until its users are done, the run stops, or an abort; its
/// events go to `events`. Hands the instance back for teardown.
pub async fn drive(
    shared: Arc<Shared>,
    plan: Plan,
    cell: Cell,
    start: Instant,
    mut stops: Stops,
    events: mpsc::UnboundedSender<Event>,
) -> Option<Cell> {
    let w = plan.workload;
    let mut track = Track::default();
    let mut cell = Some(cell);
    let mut pause = REPLACE_FIRST;
    while let Some(Cell { store, driver }) = cell.as_mut() {
        let now = start.elapsed();
        let stop = stops.at.borrow().saturating_duration_since(start);
        store.data_mut().start_step(track.budget(&shared));
        let call = driver.scheduler_main_cell().call_run(
            &mut *store,
            contract::wit::nanos(now),
            contract::wit::nanos(SPAN),
            contract::wit::nanos(stop),
            contract::wit::nanos(shared.grace),
        );
        let result = tokio::select! {
            r = call => Some(r),
            _ = stops.abort.wait_for(|a| *a) => None,
        };
        match result {
            Some(Ok(batch)) => {
                // A step ended without a trap: the slice is healthy again.
                if batch
                    .events
                    .iter()
                    .any(|e| matches!(e, wit::Event::Step(_)))
                {
                    pause = REPLACE_FIRST;
                }
                for e in batch.events {
                    track.observe(&shared, w, e, &events);
                }
                if batch.done {
                    break;
                }
                // A call whose waits were all ready never suspended: let
                // the worker's other cells run before the next one.
                tokio::task::yield_now().await;
            }
            Some(Err(e)) => {
                // The instance is poisoned: its users' iterations are cut.
                let why = trap_message(&e);
                track.trapped(&shared, w, start, &why, &events);
                cell = None;
                // A runaway guest just held its worker for its whole
                // budget: its slice waits as long before it runs again.
                if is_interrupt(&e) {
                    pause = REPLACE_MAX;
                }
                let stop_at = *stops.at.borrow();
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stops.at.changed() => {}
                    _ = stops.abort.wait_for(|a| *a) => {}
                }
                pause = (pause * 2).min(REPLACE_MAX);
                if Instant::now() >= stop_at.min(*stops.at.borrow()) || *stops.abort.borrow() {
                    break;
                }
                let resume = wit::Resume {
                    at: contract::wit::nanos(start.elapsed()),
                    iterations: track.iterations.iter().map(|(u, n)| (*u, *n)).collect(),
                    shared_used: track.begun,
                };
                match create(&shared, &plan, Some(resume)).await {
                    Ok(c) => cell = Some(c),
                    Err(why) => {
                        let _ = events.send(ended(
                            start,
                            w,
                            None,
                            UNATTRIBUTED,
                            Duration::ZERO,
                            ErrorKind::Trap,
                            why,
                        ));
                        break;
                    }
                }
            }
            // Aborted: whatever is in flight is abandoned, counted once.
            None => {
                track.interrupted(&shared, w, start, &events);
                cell = None;
                break;
            }
        }
    }
    if track.active != 0 {
        let _ = events.send(Event::Active {
            workload: w,
            delta: -track.active,
        });
    }
    let _ = events.send(Event::Stopped {
        at: start.elapsed(),
    });
    cell
}

/// The epoch interrupt stopped a runaway guest.
fn is_interrupt(e: &wasmtime::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<wasmtime::Trap>(),
            Some(wasmtime::Trap::Interrupt)
        )
    })
}

impl Track {
    /// How long one `run` call's guest code may take: a whole span, plus
    /// the budget of the longest step its users may be running (an action
    /// may block its instance inside `advance` up to its step's timeout).
    /// Past it, the cell is interrupted: a runaway guest.
    fn budget(&self, shared: &Shared) -> Duration {
        let step = self
            .mid_steps
            .keys()
            .filter_map(|s| shared.budgets.get(*s as usize))
            .max()
            .copied()
            .unwrap_or(crate::vu_state::INTERRUPT_MARGIN);
        SPAN + step
    }

    /// `user` runs step `next` next (none: its iteration is over).
    fn set_mid(&mut self, user: u32, next: Option<u32>) {
        let was = match next {
            Some(n) => self.mid.insert(user, n),
            None => self.mid.remove(&user),
        };
        if let Some(w) = was
            && let Some(c) = self.mid_steps.get_mut(&w)
        {
            *c -= 1;
            if *c == 0 {
                self.mid_steps.remove(&w);
            }
        }
        if let Some(n) = next {
            *self.mid_steps.entry(n).or_default() += 1;
        }
    }

    fn observe(
        &mut self,
        shared: &Shared,
        workload: usize,
        e: wit::Event,
        events: &mpsc::UnboundedSender<Event>,
    ) {
        let ev = match e {
            wit::Event::Step(s) => {
                if s.iteration_done {
                    self.set_mid(s.user, None);
                    *self.iterations.entry(s.user).or_default() += 1;
                } else if self.mid.contains_key(&s.user) {
                    self.set_mid(s.user, Some(s.next_step));
                }
                Event::Sample {
                    at: bindings::duration(s.at),
                    workload,
                    source: shared.pool.for_vu(s.user),
                    samples: s.samples.into_iter().map(bindings::sample).collect(),
                    delay: s.delay.map(bindings::duration),
                    iteration_done: s.iteration_done,
                }
            }
            wit::Event::Began((user, first)) => {
                self.set_mid(user, Some(first));
                self.begun += 1;
                return;
            }
            wit::Event::Active(delta) => {
                self.active += delta;
                Event::Active { workload, delta }
            }
            wit::Event::Dropped(at) => Event::Dropped {
                at: bindings::duration(at),
                workload,
            },
            wit::Event::OutOfData => Event::OutOfData { workload },
        };
        let _ = events.send(ev);
    }

    /// The cell trapped: each user mid-iteration counts a trap at its step,
    /// and the cut iteration counts toward its budget (a step that traps
    /// every time cannot keep an `iterations:` run alive).
    fn trapped(
        &mut self,
        shared: &Shared,
        workload: usize,
        start: Instant,
        why: &str,
        events: &mpsc::UnboundedSender<Event>,
    ) {
        self.cut(shared, workload, start, ErrorKind::Trap, why, events);
    }

    fn interrupted(
        &mut self,
        shared: &Shared,
        workload: usize,
        start: Instant,
        events: &mpsc::UnboundedSender<Event>,
    ) {
        let why = "the run stopped before the step ended";
        self.cut(shared, workload, start, ErrorKind::Interrupted, why, events);
    }

    fn cut(
        &mut self,
        shared: &Shared,
        workload: usize,
        start: Instant,
        kind: ErrorKind,
        why: &str,
        events: &mpsc::UnboundedSender<Event>,
    ) {
        self.mid_steps.clear();
        let mut mid: Vec<(u32, u32)> = self.mid.drain().collect();
        mid.sort_unstable();
        for (user, step) in mid {
            *self.iterations.entry(user).or_default() += 1;
            let source = shared.pool.for_vu(user);
            let why = why.to_string();
            let _ = events.send(ended(
                start,
                workload,
                source,
                step,
                Duration::ZERO,
                kind,
                why,
            ));
        }
        if self.active != 0 {
            let _ = events.send(Event::Active {
                workload,
                delta: -self.active,
            });
            self.active = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Track;

    #[test]
    fn the_steps_mid_users_run_next_follow_every_move() {
        let mut t = Track::default();
        t.set_mid(1, Some(0));
        t.set_mid(2, Some(0));
        t.set_mid(3, Some(4));
        t.set_mid(1, Some(4));
        t.set_mid(2, None);
        t.set_mid(9, None);
        let mut want = std::collections::BTreeMap::new();
        for s in t.mid.values() {
            *want.entry(*s).or_insert(0u32) += 1;
        }
        assert_eq!(t.mid_steps, want);
        assert_eq!(t.mid_steps.keys().copied().collect::<Vec<_>>(), [4]);
    }
}
