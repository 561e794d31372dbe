//! One event sink: every sample and event of a run reaches its consumers
//! (statistics, the live thresholds, the per-second timeline with the
//! series files it writes, the active-user gauges) through `Observer`, in
//! the order they are listed in `Sinks`. Progress and the metrics
//! exposition read `Stats` once a second instead of observing each sample.

use crate::har::Har;
use crate::series_files::Files;
use crate::timeline::Timeline;
use crate::vu::Event;
use contract::Sample;
use scenario::Scenario;
use stats::{Judge, Row, Stats, Verdict};
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

/// What a run's samples and events reach. `at` is the time since the load
/// started.
pub trait Observer {
    /// One step's samples (its redirects, then its last request).
    fn step(
        &mut self,
        at: Duration,
        source: Option<IpAddr>,
        samples: &[Sample],
        delay: Option<Duration>,
    );
    /// A user of `workload` finished an iteration.
    fn iteration(&mut self, _at: Duration, _workload: usize) {}
    /// An arrival-rate executor had no free user for an iteration.
    fn dropped(&mut self, _at: Duration, _workload: usize) {}
    /// A user could not start an iteration: a `unique` source ran out.
    fn out_of_data(&mut self, _workload: usize) {}
    /// A user of `workload` began (+1) or ended (-1) running iterations.
    fn active(&mut self, _workload: usize, _delta: i32) {}
}

impl Observer for Stats {
    fn step(&mut self, _: Duration, source: Option<IpAddr>, s: &[Sample], d: Option<Duration>) {
        self.push_step(s, source, d);
    }
    fn iteration(&mut self, _: Duration, workload: usize) {
        self.add_iteration(workload);
    }
    fn dropped(&mut self, _: Duration, workload: usize) {
        self.add_dropped(workload);
    }
    fn out_of_data(&mut self, workload: usize) {
        self.add_out_of_data(workload);
    }
}

impl Observer for Judge {
    fn step(&mut self, at: Duration, _: Option<IpAddr>, s: &[Sample], d: Option<Duration>) {
        self.push_step(at, s, d);
    }
    fn iteration(&mut self, at: Duration, workload: usize) {
        self.add_iteration(at, workload);
    }
    fn dropped(&mut self, at: Duration, workload: usize) {
        self.add_dropped(at, workload);
    }
}

impl Observer for Timeline {
    fn step(&mut self, at: Duration, _: Option<IpAddr>, s: &[Sample], d: Option<Duration>) {
        self.push_step(at, s, d);
    }
    fn active(&mut self, workload: usize, delta: i32) {
        Timeline::active(self, workload, delta);
    }
}

impl Observer for Har {
    fn step(&mut self, at: Duration, _: Option<IpAddr>, s: &[Sample], _: Option<Duration>) {
        self.push_step(at, s);
    }
}

/// Users running now, per workload.
pub struct Active(pub Vec<i32>);

impl Observer for Active {
    fn step(&mut self, _: Duration, _: Option<IpAddr>, _: &[Sample], _: Option<Duration>) {}
    fn active(&mut self, workload: usize, delta: i32) {
        if let Some(n) = self.0.get_mut(workload) {
            *n += delta;
        }
    }
}

/// Every consumer of a run's events.
pub struct Sinks {
    pub stats: Stats,
    pub judge: Judge,
    pub timeline: Timeline,
    pub active: Active,
    /// `--har`: the traced user's requests.
    pub har: Option<Har>,
    /// The latest time a driver said it was done.
    pub ended: Duration,
}

impl Sinks {
    /// The sinks of a load that starts now (`started`), after `stats`
    /// holds setup's: the timeline writes `files`' series, `Har` the
    /// `--har` file.
    pub fn new(scenario: &Scenario, stats: Stats, started: SystemTime, mut files: Files) -> Self {
        let har = files.har.take().map(|path| Har::new(path, started));
        Sinks {
            stats,
            judge: Judge::new(scenario),
            timeline: Timeline::new(scenario, started, files),
            active: Active(vec![0; scenario.workloads.len()]),
            har,
            ended: Duration::ZERO,
        }
    }

    /// Users whose instance could not be made (source, why): each counts as
    /// a trap at second 0, in the statistics and the timeline.
    pub fn not_made(&mut self, failed: Vec<(Option<IpAddr>, String)>) {
        for (source, why) in failed {
            let sample = crate::vu::trap_sample(contract::UNATTRIBUTED, Duration::ZERO, why);
            self.stats.push(&sample, source);
            let at_start = std::slice::from_ref(&sample);
            self.timeline.push_step(Duration::ZERO, at_start, None);
        }
    }

    /// The load is over at `elapsed`: the statistics, the verdicts, the
    /// timeline's rows and its files' problems.
    pub fn finish(self, elapsed: Duration) -> (Stats, Vec<Verdict>, Vec<Row>, Vec<String>) {
        let verdicts = self.judge.verdicts(&self.stats, elapsed);
        let (rows, mut problems) = self.timeline.finish(elapsed);
        if let Some(Err(why)) = self.har.map(Har::write) {
            problems.push(why);
        }
        (self.stats, verdicts, rows, problems)
    }

    fn each(&mut self) -> impl Iterator<Item = &mut dyn Observer> {
        let fixed: [&mut dyn Observer; 4] = [
            &mut self.stats,
            &mut self.judge,
            &mut self.timeline,
            &mut self.active,
        ];
        let har = self.har.as_mut().map(|h| h as &mut dyn Observer);
        fixed.into_iter().chain(har)
    }

    /// Hands one driver event to every observer.
    pub fn observe(&mut self, event: Event) {
        match event {
            Event::Sample {
                at,
                workload,
                source,
                samples,
                delay,
                iteration_done,
            } => {
                for o in self.each() {
                    o.step(at, source, &samples, delay);
                    if iteration_done {
                        o.iteration(at, workload);
                    }
                }
            }
            Event::Active { workload, delta } => {
                self.each().for_each(|o| o.active(workload, delta))
            }
            Event::Dropped { at, workload } => self.each().for_each(|o| o.dropped(at, workload)),
            Event::OutOfData { workload } => self.each().for_each(|o| o.out_of_data(workload)),
            Event::Stopped { at } => self.ended = self.ended.max(at),
        }
    }
}
