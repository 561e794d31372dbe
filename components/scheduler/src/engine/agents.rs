//! The engine's agents: each user of a closed executor (its intervals of
//! the workload's curve, its iteration budget, its pacing), and each
//! arrival-rate executor (its schedule and its pool of users). An agent
//! acts at its event time: it starts a step, or moves on in its schedule.

use super::{Run, Start};
use crate::reactor::Reactor;
use crate::workflow::{Actions, StepReport, Vu};
use scenario::executor::{Arrivals, Budget, Model};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

/// A closed executor's user: its intervals, and where it is in them.
pub struct User {
    /// None while its step is in flight.
    pub vu: Option<Vu>,
    pub w: usize,
    /// When it runs, from the start of the run.
    pub intervals: Vec<(Duration, Duration)>,
    pub k: usize,
    pub ready_at: Duration,
    pub in_iteration: bool,
    /// Counted as active (in one of its intervals).
    pub active: bool,
    pub iteration_started: Duration,
    pub iterations: u64,
    pub done: bool,
}

/// An arrival-rate executor: its schedule and its pool of users.
pub struct Pool {
    pub w: usize,
    pub arrivals: std::iter::StepBy<std::iter::Skip<Arrivals>>,
    pub next: Option<Duration>,
    /// (user, when its next step is due), or free: a step is due when the
    /// previous one's think time ends, and its lateness counts from then.
    /// The user is none while its step is in flight.
    pub users: Vec<(Option<Vu>, Option<Duration>)>,
    /// Run-wide numbers of the users the pool may still add.
    pub spare: VecDeque<u32>,
}

pub enum Agent {
    User(Box<User>),
    Pool(Box<Pool>),
}

impl Agent {
    pub fn next_event(&self) -> Option<Duration> {
        match self {
            Agent::User(u) => (!u.done && u.vu.is_some()).then_some(u.ready_at),
            Agent::Pool(p) => {
                let busy = p
                    .users
                    .iter()
                    .filter(|u| u.0.is_some())
                    .filter_map(|u| u.1)
                    .min();
                match (p.next, busy) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
        }
    }

    /// Acts at its event time: a step to start, or none.
    pub fn act<A: Actions + Reactor, S: super::Sink>(
        &mut self,
        run: &mut Run<'_, A, S>,
    ) -> Option<Start> {
        match self {
            Agent::User(u) => u.act(run),
            Agent::Pool(p) => p.act(run),
        }
    }

    /// Takes its user back after a step, with the step's report.
    pub fn finish<A: Actions + Reactor, S: super::Sink>(
        &mut self,
        run: &mut Run<'_, A, S>,
        slot: usize,
        vu: Vu,
        r: &StepReport,
    ) {
        let now = run.now();
        let (think, done) = (r.think_time, r.iteration_done);
        match self {
            Agent::User(u) => {
                u.vu = Some(vu);
                // A think time past the interval's end (or, mid-iteration,
                // past its graceful stop) ends there: the user is woken to
                // stop, not to step.
                let off = u.intervals[u.k].1;
                let w = &run.scenario.workloads[u.w];
                let limit = if done { off } else { off + w.grace_after(off) };
                u.ready_at = (now + think).min(limit.max(now));
                if done {
                    u.in_iteration = false;
                    u.iterations += 1;
                    let w = &run.scenario.workloads[u.w];
                    if let Model::Closed(c) = &w.model
                        && let Some(p) = c.pacing
                    {
                        u.ready_at = (u.iteration_started + p).max(now).min(off.max(now));
                    }
                }
            }
            Agent::Pool(p) => {
                // After a halt, an iteration ends with the step in flight.
                let ends = done || run.halted;
                if ends {
                    run.sink.active(p.w, -1);
                }
                // Woken at the workload's end at the latest, to be cut.
                let end = run.scenario.workloads[p.w].end();
                let due = (now + think).min(end.max(now));
                p.users[slot] = (Some(vu), (!ends).then_some(due));
            }
        }
    }

    /// The run stopped: no step starts any more (steps in flight end on
    /// their own, within the grace period).
    pub fn halt<S: super::Sink>(&mut self, sink: &mut S) {
        match self {
            Agent::User(u) => {
                if u.active {
                    u.active = false;
                    sink.active(u.w, -1);
                }
                u.done = true;
            }
            Agent::Pool(p) => {
                p.next = None;
                for u in &mut p.users {
                    if u.0.is_some() && u.1.take().is_some() {
                        sink.active(p.w, -1);
                    }
                }
            }
        }
    }
}

impl User {
    fn act<A: Actions + Reactor, S: super::Sink>(
        &mut self,
        run: &mut Run<'_, A, S>,
    ) -> Option<Start> {
        let scenario = Rc::clone(&run.scenario);
        let w = &scenario.workloads[self.w];
        let Model::Closed(c) = &w.model else {
            unreachable!("users of open models live in pools")
        };
        let now = run.now();
        let (_, off) = self.intervals[self.k];
        let mut vu = self.vu.take().expect("a user in flight is not due");
        if !self.in_iteration {
            let budget_done = match c.budget {
                Some(Budget::PerVu(n)) => self.iterations >= n,
                Some(Budget::Shared(_)) => run.shared_left[self.w] == 0,
                None => false,
            };
            if budget_done {
                self.vu = Some(vu);
                self.stop(run);
                return None;
            }
            if now >= off {
                run.until = run.until.max(off);
                self.vu = Some(vu);
                self.next_interval(run);
                return None;
            }
            if !run.feed(&mut vu) {
                // Out of rows: this user stops.
                self.vu = Some(vu);
                self.stop(run);
                return None;
            }
            if let Some(Budget::Shared(_)) = c.budget {
                run.shared_left[self.w] -= 1;
            }
            self.in_iteration = true;
            self.iteration_started = now;
            if !self.active {
                self.active = true;
                run.sink.active(self.w, 1);
            }
            run.sink.began(now, run.who(&vu), vu.upcoming_step());
        } else if now >= off + w.grace_after(off) {
            // Past the graceful period mid-iteration: the iteration is cut;
            // a later interval starts a fresh one on a fresh user.
            self.vu = Some(run.user(vu.index()));
            self.in_iteration = false;
            self.next_interval(run);
            return None;
        }
        Some((0, vu, None))
    }

    fn stop<A: Actions + Reactor, S: super::Sink>(&mut self, run: &mut Run<'_, A, S>) {
        self.done = true;
        if self.active {
            self.active = false;
            run.sink.active(self.w, -1);
        }
    }

    fn next_interval<A: Actions + Reactor, S: super::Sink>(&mut self, run: &mut Run<'_, A, S>) {
        if self.active {
            self.active = false;
            run.sink.active(self.w, -1);
        }
        self.k += 1;
        match self.intervals.get(self.k) {
            Some((on, _)) => self.ready_at = *on,
            None => self.done = true,
        }
    }
}

impl Pool {
    fn act<A: Actions + Reactor, S: super::Sink>(
        &mut self,
        run: &mut Run<'_, A, S>,
    ) -> Option<Start> {
        let now = run.now();
        let (start_time, end) = {
            let w = &run.scenario.workloads[self.w];
            (w.start_time, w.end())
        };
        let busy = self
            .users
            .iter()
            .enumerate()
            .filter(|(_, u)| u.0.is_some())
            .filter_map(|(i, u)| u.1.map(|due| (i, due)))
            .min_by_key(|(_, due)| *due);
        match (self.next, busy) {
            (Some(t), b) if b.is_none_or(|(_, due)| t <= due) => {
                self.next = self.arrivals.next().map(|a| a + start_time);
                self.dispatch(run, t)
            }
            (_, Some((i, due))) => {
                let vu = self.users[i].0.take().expect("filtered above");
                if now >= end {
                    // Past the graceful stop: the iteration is cut.
                    self.users[i] = (Some(run.user(vu.index())), None);
                    run.sink.active(self.w, -1);
                    return None;
                }
                Some((i, vu, Some(now.saturating_sub(due))))
            }
            _ => None,
        }
    }

    /// An iteration is due at `t`: on a free user (made if the pool may
    /// grow), or dropped. A user whose step is in flight is not free.
    fn dispatch<A: Actions + Reactor, S: super::Sink>(
        &mut self,
        run: &mut Run<'_, A, S>,
        t: Duration,
    ) -> Option<Start> {
        let free = self
            .users
            .iter()
            .position(|u| u.0.is_some() && u.1.is_none());
        let i = match (free, self.spare.pop_front()) {
            (Some(i), spare) => {
                if let Some(index) = spare {
                    self.spare.push_front(index);
                }
                i
            }
            (None, Some(index)) => {
                self.users.push((Some(run.user(index)), None));
                self.users.len() - 1
            }
            (None, None) => {
                let at = run.now();
                run.sink.dropped(at, self.w);
                return None;
            }
        };
        let mut vu = self.users[i].0.take().expect("free");
        if !run.feed(&mut vu) {
            self.users[i].0 = Some(vu);
            return None;
        }
        let now = run.now();
        run.sink.active(self.w, 1);
        run.sink.began(now, run.who(&vu), vu.upcoming_step());
        Some((i, vu, Some(now.saturating_sub(t))))
    }
}
