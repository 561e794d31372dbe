//! Where the engine's events go: plain mode counts them into its `Stats`
//! and judges thresholds as it runs (`Counted`); a cell in scheduler-host
//! batches them for the host, which aggregates every cell's.

use contract::Sample;
use stats::{Judge, Stats};
use std::net::IpAddr;
use std::time::Duration;

/// Who a step or an iteration was: a user's identity.
#[derive(Clone, Copy, Debug)]
pub struct Who {
    pub index: u32,
    pub workload: usize,
    pub source: Option<IpAddr>,
}

/// One step that ended.
pub struct StepEvent<'a> {
    /// Since the run's start.
    pub at: Duration,
    pub who: Who,
    pub samples: &'a [Sample],
    /// How late it started against its schedule (arrival rates).
    pub delay: Option<Duration>,
    pub iteration_done: bool,
    /// The step the user runs next.
    pub next_step: u32,
}

pub trait Sink {
    fn step(&mut self, e: StepEvent<'_>);
    /// `who` began an iteration at step `first`.
    fn began(&mut self, _at: Duration, _who: Who, _first: u32) {}
    /// A user of `workload` began (+1) or ended (-1) running iterations.
    fn active(&mut self, _workload: usize, _delta: i32) {}
    /// An arrival found no free user.
    fn dropped(&mut self, at: Duration, workload: usize);
    /// A user found no row left in a `unique` data source.
    fn out_of_data(&mut self, workload: usize);
    /// Called as each second of the run closes.
    fn tick(&mut self, _at: Duration) {}

    /// Events are waiting to be handed over (a cell returns them).
    fn pending(&self) -> bool {
        false
    }
}

/// Plain mode's sink: the run's statistics and its thresholds, live.
pub struct Counted {
    pub stats: Stats,
    pub judge: Judge,
}

impl Sink for Counted {
    fn step(&mut self, e: StepEvent<'_>) {
        self.stats.push_step(e.samples, e.who.source, e.delay);
        self.judge.push_step(e.at, e.samples, e.delay);
        if e.iteration_done {
            self.stats.add_iteration(e.who.workload);
            self.judge.add_iteration(e.at, e.who.workload);
        }
    }

    fn dropped(&mut self, at: Duration, workload: usize) {
        self.stats.add_dropped(workload);
        self.judge.add_dropped(at, workload);
    }

    fn out_of_data(&mut self, workload: usize) {
        self.stats.add_out_of_data(workload);
    }

    fn tick(&mut self, at: Duration) {
        self.judge.tick(at, &self.stats);
    }
}
