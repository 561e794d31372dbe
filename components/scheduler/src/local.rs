//! Plain mode: a whole scenario inside one instance (stock `wasmtime run`).
//! Users are interleaved on one thread. Every user of a closed executor,
//! and every arrival-rate executor (its schedule and its pool), is an
//! agent with a next event time; the earliest runs. With fast steps this
//! keeps the scenario's pacing; a slow step delays everyone, and under an
//! arrival rate that delay is counted in the latency of the iterations that
//! started late (coordinated omission), beside their service time.
//! A run that ends by time lasts until its last scheduled end; one that
//! ends by iterations lasts until the last user's last step.

use crate::workflow::{Actions, Vu};
use scenario::data::Rows;
use scenario::executor::{Arrivals, Budget, Model};
use scenario::model::{Hook, Scenario};
use stats::{Judge, Report, Stats};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// What every agent reports into.
struct Run<'a, A: Actions> {
    scenario: Rc<Scenario>,
    actions: &'a mut A,
    stats: Stats,
    judge: Judge,
    start: Instant,
    /// Shared iterations left, per workload.
    shared_left: Vec<u64>,
    /// Users stopped by time are part of the run until their interval's end.
    until: Duration,
    rows: &'a Rows,
    /// What setup extracted.
    setup: Vec<(String, String)>,
}

/// User `index`, sending from its pool address (plain mode's one choice of
/// a source IP), with what setup extracted.
fn user(scenario: &Rc<Scenario>, index: u32, setup: &[(String, String)]) -> Vu {
    let mut vu = Vu::new(Rc::clone(scenario), index, scenario.pool.for_vu(index));
    vu.set_setup(setup.iter().cloned());
    vu
}

impl<A: Actions> Run<'_, A> {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// A fresh user `index`, with what setup extracted.
    fn user(&self, index: u32) -> Vu {
        user(&self.scenario, index, &self.setup)
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
                self.stats.add_out_of_data(vu.workload());
                false
            }
        }
    }

    /// Runs `vu`'s next step; returns (think time, iteration done).
    fn step(&mut self, vu: &mut Vu, delay: Option<Duration>) -> (Duration, bool) {
        let r = vu.next_step(self.actions);
        let at = self.now();
        self.stats.push_step(&r.samples, vu.source_ip(), delay);
        self.judge.push_step(at, &r.samples, delay);
        if r.iteration_done {
            self.stats.add_iteration(vu.workload());
            self.judge.add_iteration(at, vu.workload());
        }
        (r.think_time, r.iteration_done)
    }
}

/// A closed executor's user: its intervals, and where it is in them.
struct User {
    vu: Vu,
    w: usize,
    /// When it runs, from the start of the run.
    intervals: Vec<(Duration, Duration)>,
    k: usize,
    ready_at: Duration,
    in_iteration: bool,
    iteration_started: Duration,
    iterations: u64,
    done: bool,
}

/// An arrival-rate executor: its schedule and its pool of users.
struct Pool {
    w: usize,
    arrivals: Arrivals,
    next: Option<Duration>,
    /// (user, when its next step is due), or free: a step is due when the
    /// previous one's think time ends, and its lateness counts from then.
    users: Vec<(Vu, Option<Duration>)>,
    max_vus: u32,
    first_vu: u32,
}

enum Agent {
    User(Box<User>),
    Pool(Box<Pool>),
}

impl Agent {
    fn next_event(&self) -> Option<Duration> {
        match self {
            Agent::User(u) => (!u.done).then_some(u.ready_at),
            Agent::Pool(p) => {
                let busy = p.users.iter().filter_map(|u| u.1).min();
                match (p.next, busy) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
        }
    }
}

impl User {
    fn act<A: Actions>(&mut self, run: &mut Run<'_, A>) {
        let scenario = Rc::clone(&run.scenario);
        let w = &scenario.workloads[self.w];
        let Model::Closed(c) = &w.model else {
            unreachable!("users of open models live in pools")
        };
        let now = run.now();
        let (_, off) = self.intervals[self.k];
        if !self.in_iteration {
            let budget_done = match c.budget {
                Some(Budget::PerVu(n)) => self.iterations >= n,
                Some(Budget::Shared(_)) => run.shared_left[self.w] == 0,
                None => false,
            };
            if budget_done {
                self.done = true;
                return;
            }
            if now >= off {
                run.until = run.until.max(off);
                self.next_interval();
                return;
            }
            if !run.feed(&mut self.vu) {
                // Out of rows: this user stops.
                self.done = true;
                return;
            }
            if let Some(Budget::Shared(_)) = c.budget {
                run.shared_left[self.w] -= 1;
            }
            self.in_iteration = true;
            self.iteration_started = now;
        } else if now >= off + w.grace_after(off) {
            // Past the graceful period mid-iteration: the iteration is cut;
            // a later interval starts a fresh one on a fresh user.
            self.vu = run.user(self.vu.index());
            self.in_iteration = false;
            self.next_interval();
            return;
        }
        let (think, done) = run.step(&mut self.vu, None);
        let now = run.now();
        self.ready_at = now + think;
        if done {
            self.in_iteration = false;
            self.iterations += 1;
            if let Some(p) = c.pacing {
                self.ready_at = (self.iteration_started + p).max(now);
            }
        }
    }

    fn next_interval(&mut self) {
        self.k += 1;
        match self.intervals.get(self.k) {
            Some((on, _)) => self.ready_at = *on,
            None => self.done = true,
        }
    }
}

impl Pool {
    fn act<A: Actions>(&mut self, run: &mut Run<'_, A>) {
        let now = run.now();
        let (start_time, end) = {
            let w = &run.scenario.workloads[self.w];
            (w.start_time, w.end())
        };
        let busy = self
            .users
            .iter()
            .enumerate()
            .filter_map(|(i, u)| u.1.map(|due| (i, due)))
            .min_by_key(|(_, due)| *due);
        match (self.next, busy) {
            (Some(t), b) if b.is_none_or(|(_, due)| t <= due) => {
                self.next = self.arrivals.next().map(|a| a + start_time);
                self.dispatch(run, t);
            }
            (_, Some((i, due))) => {
                if now >= end {
                    // Past the graceful stop: the iteration is cut.
                    let index = self.users[i].0.index();
                    self.users[i] = (run.user(index), None);
                    return;
                }
                self.continue_user(run, i, now.saturating_sub(due));
            }
            _ => {}
        }
    }

    /// An iteration is due at `t`: on a free user (made if the pool may
    /// grow), or dropped.
    fn dispatch<A: Actions>(&mut self, run: &mut Run<'_, A>, t: Duration) {
        let free = self.users.iter().position(|u| u.1.is_none());
        let i = match free {
            Some(i) => i,
            None if (self.users.len() as u32) < self.max_vus => {
                let index = self.first_vu + self.users.len() as u32;
                self.users.push((run.user(index), None));
                self.users.len() - 1
            }
            None => {
                run.stats.add_dropped(self.w);
                run.judge.add_dropped(run.now(), self.w);
                return;
            }
        };
        if !run.feed(&mut self.users[i].0) {
            return;
        }
        let now = run.now();
        self.continue_user(run, i, now.saturating_sub(t));
    }

    fn continue_user<A: Actions>(&mut self, run: &mut Run<'_, A>, i: usize, delay: Duration) {
        let (think, done) = run.step(&mut self.users[i].0, Some(delay));
        let now = run.now();
        self.users[i].1 = (!done).then_some(now + think);
    }
}

/// Runs a hook's steps once, into `stats`; returns what it extracted.
pub fn hook(
    scenario: &Rc<Scenario>,
    which: Hook,
    setup: &[(String, String)],
    actions: &mut impl Actions,
    stats: &mut Stats,
) -> Vec<(String, String)> {
    let Some(mut vu) = Vu::hook(Rc::clone(scenario), which) else {
        return Vec::new();
    };
    vu.set_setup(setup.iter().cloned());
    loop {
        let r = vu.next_step(actions);
        stats.push_step(&r.samples, None, None);
        if r.iteration_done {
            return vu.variables();
        }
        std::thread::sleep(r.think_time);
    }
}

/// Runs the whole scenario: setup, the load (unless setup failed, as in
/// k6), teardown.
pub fn run(scenario: Scenario, actions: &mut impl Actions, rows: &Rows) -> Report {
    let scenario = Rc::new(scenario);
    let mut stats = Stats::new(&scenario);
    let setup = hook(&scenario, Hook::Setup, &[], actions, &mut stats);
    if let Some(why) = stats.hook_failure(&scenario, Hook::Setup) {
        let mut report = stats.report(&scenario, Duration::ZERO);
        report.setup_failed = Some(why);
        return report;
    }
    let (mut stats, elapsed, verdicts) = load(&scenario, actions, rows, stats, setup.clone());
    hook(&scenario, Hook::Teardown, &setup, actions, &mut stats);
    let mut report = stats.report(&scenario, elapsed);
    report.thresholds = verdicts;
    report
}

fn load<A: Actions>(
    scenario: &Rc<Scenario>,
    actions: &mut A,
    rows: &Rows,
    stats: Stats,
    setup: Vec<(String, String)>,
) -> (Stats, Duration, Vec<stats::Verdict>) {
    let scenario = Rc::clone(scenario);
    let mut agents = Vec::new();
    for (wi, w) in scenario.workloads.iter().enumerate() {
        match &w.model {
            Model::Closed(c) => {
                for i in 0..w.max_vus() {
                    let intervals: Vec<(Duration, Duration)> = c
                        .vus
                        .intervals(i)
                        .into_iter()
                        .map(|(on, off)| (on + w.start_time, off + w.start_time))
                        .collect();
                    let Some(first) = intervals.first().map(|i| i.0) else {
                        continue;
                    };
                    let vu = user(&scenario, w.first_vu + i, &setup);
                    agents.push(Agent::User(Box::new(User {
                        vu,
                        w: wi,
                        intervals,
                        k: 0,
                        ready_at: first,
                        in_iteration: false,
                        iteration_started: Duration::ZERO,
                        iterations: 0,
                        done: false,
                    })));
                }
            }
            Model::Open(o) => {
                let mut arrivals = o.rate.arrivals();
                let next = arrivals.next().map(|a| a + w.start_time);
                let users = (0..o.pre_allocated_vus)
                    .map(|i| (user(&scenario, w.first_vu + i, &setup), None))
                    .collect();
                agents.push(Agent::Pool(Box::new(Pool {
                    w: wi,
                    arrivals,
                    next,
                    users,
                    max_vus: o.max_vus,
                    first_vu: w.first_vu,
                })));
            }
        }
    }
    let mut run = Run {
        stats,
        rows,
        setup,
        judge: Judge::new(&scenario),
        shared_left: scenario
            .workloads
            .iter()
            .map(|w| match &w.model {
                Model::Closed(c) => match c.budget {
                    Some(Budget::Shared(n)) => n,
                    _ => 0,
                },
                Model::Open(_) => 0,
            })
            .collect(),
        scenario: Rc::clone(&scenario),
        actions,
        start: Instant::now(),
        until: Duration::ZERO,
    };
    let mut judged = 0;
    while let Some((i, when)) = agents
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.next_event().map(|t| (i, t)))
        .min_by_key(|(_, t)| *t)
    {
        if let Some(wait) = when.checked_sub(run.now()) {
            std::thread::sleep(wait);
        }
        // Windows are judged as each second closes.
        let second = run.now().as_secs();
        if second > judged {
            judged = second;
            run.judge.tick(run.now(), &run.stats);
        }
        match &mut agents[i] {
            Agent::User(u) => u.act(&mut run),
            Agent::Pool(p) => p.act(&mut run),
        }
    }
    // Users still thinking at their end are part of the run until then.
    if let Some(rest) = run.until.checked_sub(run.now()) {
        std::thread::sleep(rest);
    }
    let elapsed = run.now();
    let verdicts = run.judge.verdicts(&run.stats, elapsed);
    (run.stats, elapsed, verdicts)
}
