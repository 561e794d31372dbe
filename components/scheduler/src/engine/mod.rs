//! The engine: many users in one instance, every user's step in flight at
//! once. Every user of a closed executor, and every arrival-rate executor
//! (its schedule and its pool), is an agent with a next event time
//! (`agents`). A due agent starts a step: a future whose action call waits
//! on its own connection. The loop waits on every step in flight and its
//! next due time together (`Reactor`), and takes back each step that ends.
//! An arrival that finds no free user is dropped; one that starts late
//! counts its lateness in its latency (coordinated omission), beside its
//! service time. Events go to a `Sink`.
//!
//! Plain mode runs every workload in one engine, to its end. In
//! scheduler-host, a cell is an engine over a slice of one workload
//! (`Scenario::shard`, the process's shard composed with the cell's
//! place), driven a slice of time per call, with the run's stop time from
//! the host.

mod agents;
pub mod sink;

use crate::reactor::{Reactor, poll_once};
use crate::workflow::{Actions, StepReport, Vu};
use agents::{Agent, Pool, User};
use contract::{ErrorKind, Sample};
use scenario::data::Rows;
use scenario::executor::{Budget, Model};
use scenario::model::Scenario;
pub use sink::{Counted, Sink, StepEvent, Who};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

/// A step in flight: it owns its user until it ends.
type Step<'a> = Pin<Box<dyn Future<Output = (Vu, StepReport)> + 'a>>;

/// A step to start: the agent's user slot, the user, its lateness.
pub type Start = (usize, Vu, Option<Duration>);

struct InFlight<'a> {
    agent: usize,
    slot: usize,
    delay: Option<Duration>,
    who: Who,
    /// The step it runs (an abandoned one is counted there).
    step_index: u32,
    began: Instant,
    step: Step<'a>,
}

/// What the agents share.
pub struct Run<'a, A: Actions + Reactor, S: Sink> {
    pub scenario: Rc<Scenario>,
    actions: &'a A,
    pub sink: S,
    start: Instant,
    /// Shared iterations left, per workload.
    shared_left: Vec<u64>,
    /// Users stopped by time are part of the run until their interval's end.
    until: Duration,
    rows: &'a Rows,
    /// What setup extracted.
    setup: Vec<(String, String)>,
    /// The run stopped: no step starts any more.
    halted: bool,
}

impl<A: Actions + Reactor, S: Sink> Run<'_, A, S> {
    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// A fresh user `index`, sending from its pool address, with what setup
    /// extracted.
    fn user(&self, index: u32) -> Vu {
        let s = &self.scenario;
        let mut vu = Vu::new(Rc::clone(s), index, s.pool.for_vu(index));
        vu.set_setup(self.setup.iter().cloned());
        vu
    }

    fn who(&self, vu: &Vu) -> Who {
        Who {
            index: vu.index(),
            workload: vu.workload(),
            source: vu.source_ip(),
        }
    }

    /// Hands `vu` its rows when its next step begins an iteration; false
    /// (counted) when a `unique` source has none left.
    fn feed(&mut self, vu: &mut Vu) -> bool {
        if !vu.starts_iteration() || vu.data_sources().is_empty() {
            return true;
        }
        match self
            .rows
            .take(vu.data_sources(), vu.index(), vu.iteration())
        {
            Ok(rows) => {
                for (s, r) in rows {
                    vu.set_row(s, r);
                }
                true
            }
            Err(_) => {
                self.sink.out_of_data(vu.workload());
                false
            }
        }
    }
}

/// Where a cell picks up a slice that ran before (its instance trapped).
#[derive(Clone, Debug, Default)]
pub struct Resume {
    /// Run time the slice resumes at: earlier arrivals are skipped.
    pub at: Duration,
    /// Iterations each user (by run-wide number) finished or lost.
    pub iterations: HashMap<u32, u64>,
    /// Shared iterations the slice already used.
    pub shared_used: u64,
}

/// An engine: its run, its agents, its steps in flight.
pub struct Engine<'a, A: Actions + Reactor, S: Sink> {
    pub run: Run<'a, A, S>,
    agents: Vec<Agent>,
    /// Agents by event time (an entry is stale, and skipped, when the
    /// agent's event time moved since).
    due: BinaryHeap<Reverse<(Duration, usize)>>,
    flying: Vec<Option<InFlight<'a>>>,
    /// Steps started but not yet polled (`turns`).
    fresh: Vec<usize>,
    /// Return after every turn that has something to tell (a cell): the
    /// host hears of a step before any of its code runs, so a trap in it
    /// is counted against it, and of every ended step before the next
    /// turn's code runs.
    turns: bool,
    free_slots: Vec<usize>,
    in_flight: usize,
    judged: u64,
    /// When no step may start (the run's stop), and how long steps in
    /// flight then have to end.
    stop: Option<(Duration, Duration)>,
}

impl<'a, A: Actions + Reactor, S: Sink> Engine<'a, A, S> {
    /// The users of `scenario`'s slice (`Scenario::shard`) of workload
    /// `only` (all workloads when none), starting at `resume`.
    pub fn new(
        scenario: Rc<Scenario>,
        only: Option<usize>,
        actions: &'a A,
        rows: &'a Rows,
        setup: Vec<(String, String)>,
        sink: S,
        resume: &Resume,
    ) -> Self {
        let shard = scenario.shard;
        let mut run = Run {
            shared_left: scenario
                .workloads
                .iter()
                .map(|w| match &w.model {
                    Model::Closed(c) => match c.budget {
                        Some(Budget::Shared(n)) => {
                            shard.share(n).saturating_sub(resume.shared_used)
                        }
                        _ => 0,
                    },
                    Model::Open(_) => 0,
                })
                .collect(),
            scenario: Rc::clone(&scenario),
            actions,
            sink,
            start: Instant::now(),
            until: Duration::ZERO,
            rows,
            setup,
            halted: false,
        };
        let mut agents = Vec::new();
        for (wi, w) in scenario.workloads.iter().enumerate() {
            if only.is_some_and(|o| o != wi) {
                continue;
            }
            match &w.model {
                Model::Closed(c) => {
                    for index in shard.users(w.first_vu, 0..w.max_vus()) {
                        let intervals: Vec<(Duration, Duration)> = c
                            .vus
                            .intervals(index - w.first_vu)
                            .into_iter()
                            .map(|(on, off)| (on + w.start_time, off + w.start_time))
                            .collect();
                        let Some(first) = intervals.first().map(|i| i.0) else {
                            continue;
                        };
                        agents.push(Agent::User(Box::new(User {
                            vu: Some(run.user(index)),
                            w: wi,
                            intervals,
                            k: 0,
                            ready_at: first,
                            in_iteration: false,
                            active: false,
                            iteration_started: Duration::ZERO,
                            iterations: resume.iterations.get(&index).copied().unwrap_or(0),
                            done: false,
                        })));
                    }
                }
                Model::Open(o) => {
                    let count = shard.count as usize;
                    let mut arrivals = o.rate.arrivals().skip(shard.index as usize).step_by(count);
                    let mut next = arrivals.next().map(|a| a + w.start_time);
                    while next.is_some_and(|t| t < resume.at) {
                        next = arrivals.next().map(|a| a + w.start_time);
                    }
                    let users = shard
                        .users(w.first_vu, 0..o.pre_allocated_vus)
                        .map(|index| (Some(run.user(index)), None))
                        .collect();
                    let spare = shard
                        .users(w.first_vu, o.pre_allocated_vus..o.max_vus)
                        .collect();
                    agents.push(Agent::Pool(Box::new(Pool {
                        w: wi,
                        arrivals,
                        next,
                        users,
                        spare,
                    })));
                }
            }
        }
        run.start = Instant::now();
        let due = agents
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.next_event().map(|t| Reverse((t, i))))
            .collect();
        Engine {
            run,
            agents,
            due,
            flying: Vec::new(),
            fresh: Vec::new(),
            turns: false,
            free_slots: Vec::new(),
            in_flight: 0,
            judged: 0,
            stop: None,
        }
    }

    /// Hands events over after every turn that has some (`drive` returns).
    pub fn in_turns(&mut self) {
        self.turns = true;
    }

    /// Sets the run's clock: `now` has passed since its start.
    pub fn anchor(&mut self, now: Duration) {
        self.run.start = Instant::now().checked_sub(now).unwrap_or(self.run.start);
    }

    /// No step starts after `at` (run time); steps in flight then have
    /// `grace` to end, or are abandoned and counted as interrupted.
    pub fn stop_at(&mut self, at: Duration, grace: Duration) {
        self.stop = Some((at, grace));
    }

    /// When users stopped by time end (their interval's end), for a run
    /// that lasts until then.
    pub fn until(&self) -> Duration {
        self.run.until
    }

    /// Runs until `until` (none: to the end); true once every agent is
    /// done and no step is in flight.
    pub fn drive(&mut self, until: Option<Instant>) -> bool {
        let actions = self.run.actions;
        loop {
            // Steps the host has heard of since the last call run first.
            for task in std::mem::take(&mut self.fresh) {
                if self.flying[task].is_some() {
                    self.advance(task);
                }
            }
            // Windows are judged as each second closes.
            let now = self.run.now();
            if now.as_secs() > self.judged {
                self.judged = now.as_secs();
                self.run.sink.tick(now);
            }
            if let Some((stop, grace)) = self.stop {
                if now >= stop && !self.run.halted {
                    self.run.halted = true;
                    for a in &mut self.agents {
                        a.halt(&mut self.run.sink);
                    }
                }
                if now >= stop + grace {
                    self.abandon();
                }
            }
            while let Some(&Reverse((t, i))) = self.due.peek() {
                if t > now {
                    break;
                }
                self.due.pop();
                if self.agents[i].next_event() != Some(t) {
                    continue;
                }
                if let Some((slot, mut vu, delay)) = self.agents[i].act(&mut self.run) {
                    let who = self.run.who(&vu);
                    let step_index = vu.upcoming_step();
                    let step: Step<'a> = Box::pin(async move {
                        let r = vu.next_step(actions).await;
                        (vu, r)
                    });
                    let task = self.free_slots.pop().unwrap_or_else(|| {
                        self.flying.push(None);
                        self.flying.len() - 1
                    });
                    self.flying[task] = Some(InFlight {
                        agent: i,
                        slot,
                        delay,
                        who,
                        step_index,
                        began: Instant::now(),
                        step,
                    });
                    self.in_flight += 1;
                    if self.turns {
                        self.fresh.push(task);
                    } else {
                        self.advance(task);
                    }
                }
                if let Some(t) = self.agents[i].next_event() {
                    self.due.push(Reverse((t, i)));
                }
            }
            let mut next = self.due.peek().map(|Reverse((t, _))| *t);
            if next.is_none() && self.in_flight == 0 {
                return true;
            }
            if self.turns && (!self.fresh.is_empty() || self.run.sink.pending()) {
                return false;
            }
            if let Some((stop, grace)) = self.stop {
                let at = if self.run.halted { stop + grace } else { stop };
                next = Some(next.map_or(at, |n| n.min(at)));
            }
            let mut wake = next.map(|t| self.run.start + t);
            if let Some(u) = until {
                if Instant::now() >= u {
                    return false;
                }
                wake = Some(wake.map_or(u, |w| w.min(u)));
            }
            for task in actions.wait(wake) {
                if self.flying[task].is_some() {
                    self.advance(task);
                }
            }
        }
    }

    /// Polls step `task`; when it ended, hands its user back to its agent
    /// (which may be due again). Otherwise its wait is parked.
    fn advance(&mut self, task: usize) {
        let f = self.flying[task]
            .as_mut()
            .expect("polled only while in flight");
        match poll_once(f.step.as_mut()) {
            Poll::Pending => self.run.actions.park(task),
            Poll::Ready((vu, r)) => {
                let InFlight {
                    agent,
                    slot,
                    delay,
                    who,
                    ..
                } = self.flying[task].take().expect("checked above");
                self.free_slots.push(task);
                self.in_flight -= 1;
                let at = self.run.now();
                self.run.sink.step(StepEvent {
                    at,
                    who,
                    samples: &r.samples,
                    delay,
                    iteration_done: r.iteration_done,
                    next_step: r.next_step,
                });
                self.agents[agent].finish(&mut self.run, slot, vu, &r);
                if let Some(t) = self.agents[agent].next_event() {
                    self.due.push(Reverse((t, agent)));
                }
            }
        }
    }

    /// The grace period after the stop is over: steps still in flight are
    /// dropped (their calls with them) and counted as interrupted.
    fn abandon(&mut self) {
        // Their waits first: a pollable is a child of the connection the
        // call owns, and must go before it.
        self.run.actions.forget();
        self.fresh.clear();
        for task in 0..self.flying.len() {
            let Some(f) = self.flying[task].take() else {
                continue;
            };
            drop(f.step);
            self.free_slots.push(task);
            self.in_flight -= 1;
            let sample = Sample::failed(
                f.step_index,
                f.began.elapsed(),
                ErrorKind::Interrupted,
                "the run stopped before the step ended".into(),
            );
            let at = self.run.now();
            self.run.sink.step(StepEvent {
                at,
                who: f.who,
                samples: std::slice::from_ref(&sample),
                delay: None,
                iteration_done: false,
                next_step: f.step_index,
            });
            // A closed user stopped counting as active at the halt.
            if matches!(self.agents[f.agent], Agent::Pool(_)) {
                self.run.sink.active(f.who.workload, -1);
            }
        }
    }
}
