//! Executors in time. A closed workload's users each run iterations back to
//! back during their intervals of the workload's curve; an open workload's
//! dispatcher starts iterations on its schedule, each on a free user of its
//! pool (grown ahead of need, never on the dispatch path), and counts one
//! with no free user as dropped — never started late.

use crate::vu::{self, Event, IterationEnd, Live, Shared, Spec, Stops, User};
use scenario::executor::{Budget, Closed, Model, Open, Workload};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// What every driver of a run shares.
#[derive(Clone)]
pub struct Run {
    pub shared: Arc<Shared>,
    /// The slice of each workload this process runs.
    pub shard: scenario::executor::Shard,
    pub start: Instant,
    pub stops: Stops,
    pub events: mpsc::UnboundedSender<Event>,
}

impl Run {
    fn user(&self, spec: Spec, live: Live) -> User {
        User::new(
            Arc::clone(&self.shared),
            spec,
            live,
            self.start,
            self.stops.clone(),
            self.events.clone(),
        )
    }
}

/// Starts workload `w`'s drivers on its users (made in the init phase);
/// each task hands its instances back when done.
pub fn spawn(
    run: &Run,
    workload: usize,
    w: Arc<Workload>,
    users: Vec<(Spec, Live)>,
) -> Vec<JoinHandle<Vec<Live>>> {
    match &w.model {
        Model::Closed(c) => {
            let shared_left = match c.budget {
                Some(Budget::Shared(n)) => Some(Arc::new(AtomicU64::new(run.shard.share(n)))),
                _ => None,
            };
            users
                .into_iter()
                .map(|(spec, live)| {
                    let user = run.user(spec, live);
                    let (w, left) = (Arc::clone(&w), shared_left.clone());
                    tokio::spawn(closed(user, w, left))
                })
                .collect()
        }
        Model::Open(_) => vec![tokio::spawn(open(run.clone(), workload, w, users))],
    }
}

/// One user of a closed workload: its intervals of the curve, iterations
/// back to back in each (paced, if asked), within its iteration budget.
async fn closed(
    mut user: User,
    w: Arc<Workload>,
    shared_left: Option<Arc<AtomicU64>>,
) -> Vec<Live> {
    let Model::Closed(c) = &w.model else {
        unreachable!("closed users belong to closed workloads")
    };
    let Closed {
        vus,
        budget,
        pacing,
        ..
    } = c;
    let i = user.spec.index - w.first_vu;
    let workload = user.spec.workload;
    let mut iterations = 0u64;
    'intervals: for (on, off) in vus.intervals(i) {
        let (on, off) = (w.start_time + on, w.start_time + off);
        let grace = w.grace_after(off);
        let (on, off) = (user.start + on, user.start + off);
        if !user.sleep_until(on, off).await {
            if user.run_stopped() {
                break;
            }
            continue;
        }
        let _ = user.events.send(Event::Active { workload, delta: 1 });
        let mut out_of_budget = false;
        while Instant::now() < off && !user.run_stopped() {
            let may = match budget {
                Some(Budget::PerVu(n)) => iterations < *n,
                Some(Budget::Shared(_)) => shared_left.as_ref().is_some_and(|left| {
                    left.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                        .is_ok()
                }),
                None => true,
            };
            if !may {
                out_of_budget = true;
                break;
            }
            let began = Instant::now();
            match user.iteration(None, off + grace, pacing.is_none()).await {
                IterationEnd::Done => iterations += 1,
                IterationEnd::Cut => {}
                IterationEnd::Gone | IterationEnd::OutOfData => {
                    out_of_budget = true;
                    break;
                }
            }
            if let Some(p) = pacing
                && !user.sleep_until(began + *p, off).await
            {
                break;
            }
        }
        let _ = user.events.send(Event::Active {
            workload,
            delta: -1,
        });
        if out_of_budget || user.run_stopped() {
            break 'intervals;
        }
    }
    let _ = user.events.send(Event::Stopped {
        at: user.start.elapsed(),
    });
    user.into_live().into_iter().collect()
}

/// An open workload: its dispatcher, its pool's users (a task each, waiting
/// for the time their next iteration was due), and the pool's growth.
async fn open(run: Run, workload: usize, w: Arc<Workload>, users: Vec<(Spec, Live)>) -> Vec<Live> {
    let Model::Open(Open { rate, max_vus, .. }) = &w.model else {
        unreachable!("pools belong to open workloads")
    };
    // This shard's users of the pool beyond those made at init, and its
    // arrivals: every shard.count-th of the workload's.
    let shard = run.shard;
    let mut spare: std::collections::VecDeque<u32> =
        shard.users(w.first_vu, w.initial_vus()..*max_vus).collect();
    let max_vus = shard.share(u64::from(*max_vus)) as u32;
    let hard_end = run.start + w.end();
    let (free_tx, mut free_rx) = mpsc::unbounded_channel::<usize>();
    let (made_tx, mut made_rx) = mpsc::unbounded_channel::<Result<(Spec, Live), String>>();
    let mut pool = Pool {
        senders: Vec::new(),
        handles: Vec::new(),
        free: Vec::new(),
    };
    for (spec, live) in users {
        pool.add(&run, spec, live, hard_end, &free_tx);
    }
    let mut making = 0u32;
    let mut stop = run.stops.at.clone();
    let arrivals = rate
        .arrivals()
        .enumerate()
        .filter(|(k, _)| shard.owns(*k as u64))
        .map(|(_, t)| t);
    'arrivals: for t in arrivals {
        let at = run.start + w.start_time + t;
        loop {
            if Instant::now() >= *stop.borrow_and_update() {
                break 'arrivals;
            }
            tokio::select! {
                Some(id) = free_rx.recv() => pool.free.push(id),
                Some(made) = made_rx.recv() => {
                    making -= 1;
                    match made {
                        Ok((spec, live)) => pool.add(&run, spec, live, hard_end, &free_tx),
                        Err(why) => {
                            let _ = run.events.send(vu::ended(
                                run.start,
                                workload,
                                None,
                                contract::UNATTRIBUTED,
                                std::time::Duration::ZERO,
                                contract::ErrorKind::Trap,
                                why,
                            ));
                        }
                    }
                }
                _ = tokio::time::sleep_until(at.into()) => break,
                _ = stop.changed() => {}
            }
        }
        while let Ok(id) = free_rx.try_recv() {
            pool.free.push(id);
        }
        // Grow ahead of need: when under a tenth of the pool is free, make
        // another tenth (at least one) in the background.
        let total = pool.senders.len() as u32;
        let low = (total / 10).max(1);
        if (pool.free.len() as u32) < low && total + making < max_vus {
            let n = low.min(max_vus - total - making);
            making += n;
            let (shared, made_tx) = (Arc::clone(&run.shared), made_tx.clone());
            let specs: Vec<Spec> = spare
                .drain(..(n as usize).min(spare.len()))
                .map(|index| Spec::new(&shared.pool, index, workload))
                .collect();
            tokio::spawn(async move {
                for spec in specs {
                    let made = vu::create(&shared, &spec).await.map(|live| (spec, live));
                    let _ = made_tx.send(made);
                }
            });
        }
        match pool.free.pop() {
            Some(id) => {
                let _ = pool.senders[id].send(at);
            }
            None => {
                let _ = run.events.send(Event::Dropped {
                    at: run.start.elapsed(),
                    workload,
                });
            }
        }
    }
    // No more arrivals: each user finishes its iteration (within
    // graceful_stop) and hands its instance back.
    drop(pool.senders);
    let mut lives = Vec::new();
    for h in pool.handles {
        if let Ok(Some(live)) = h.await {
            lives.push(live);
        }
    }
    let _ = run.events.send(Event::Stopped {
        at: run.start.elapsed(),
    });
    lives
}

/// An open workload's users: how to reach each, and which are free.
struct Pool {
    /// User id → the channel its next iteration's due time goes to.
    senders: Vec<mpsc::UnboundedSender<Instant>>,
    handles: Vec<JoinHandle<Option<Live>>>,
    free: Vec<usize>,
}

impl Pool {
    fn add(
        &mut self,
        run: &Run,
        spec: Spec,
        live: Live,
        hard_end: Instant,
        free_tx: &mpsc::UnboundedSender<usize>,
    ) {
        let id = self.senders.len();
        let (tx, mut rx) = mpsc::unbounded_channel::<Instant>();
        let mut user = run.user(spec, live);
        let free_tx = free_tx.clone();
        let workload = spec.workload;
        self.handles.push(tokio::spawn(async move {
            while let Some(due) = rx.recv().await {
                let _ = user.events.send(Event::Active { workload, delta: 1 });
                let end = user.iteration(Some(due), hard_end, true).await;
                let _ = user.events.send(Event::Active {
                    workload,
                    delta: -1,
                });
                // Out of data rows, this user stops (it is never free again).
                if matches!(end, IterationEnd::Gone | IterationEnd::OutOfData)
                    || free_tx.send(id).is_err()
                {
                    break;
                }
            }
            user.into_live()
        }));
        self.senders.push(tx);
        self.free.push(id);
    }
}
