//! Load shapes as data. Every executor is one of two models over a
//! piecewise-linear `Curve`: closed (the curve is how many users run at
//! time t; each runs iterations back to back) or open (the curve is the
//! iteration start rate; iterations start on that schedule, each on a free
//! user from a pool). The host and plain mode both drive runs from these
//! numbers, so a shape means the same everywhere.

use std::time::Duration;

/// How long a workload with no time limit (iterations only) may run.
pub const UNTIL_DONE: Duration = Duration::from_secs(365 * 24 * 3600);

/// `Step::workload` of a `setup:` or `teardown:` step: no workload's.
pub const HOOK: usize = usize::MAX;

/// k6's executor names; the report and the progress line use them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExecutorKind {
    ConstantVus,
    RampingVus,
    PerVuIterations,
    SharedIterations,
    ConstantArrivalRate,
    RampingArrivalRate,
}

impl ExecutorKind {
    pub fn name(self) -> &'static str {
        match self {
            ExecutorKind::ConstantVus => "constant-vus",
            ExecutorKind::RampingVus => "ramping-vus",
            ExecutorKind::PerVuIterations => "per-vu-iterations",
            ExecutorKind::SharedIterations => "shared-iterations",
            ExecutorKind::ConstantArrivalRate => "constant-arrival-rate",
            ExecutorKind::RampingArrivalRate => "ramping-arrival-rate",
        }
    }
}

/// One of `count` deterministic slices of a run, so that `count` processes
/// together run the scenario (k6's execution segments, striped): a slice
/// owns every `count`-th user of each workload (by its index in the
/// workload, so ramp offsets and user numbers stay the global ones), every
/// `count`-th scheduled arrival, its share of a shared iteration budget,
/// and every `count`-th turn of a sequential or unique data cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 0-based, below `count` (Kubernetes' JOB_COMPLETION_INDEX).
    pub index: u32,
    pub count: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl Shard {
    /// `I/N`, like `0/4`: slice I (0-based) of N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let usage = "expected I/N with 0 <= I < N, like 0/4 (the first of four)";
        let (i, n) = text.split_once('/').ok_or(usage)?;
        let (index, count) = match (i.trim().parse::<u32>(), n.trim().parse::<u32>()) {
            (Ok(i), Ok(n)) if i < n => (i, n),
            _ => return Err(format!("{text:?}: {usage}")),
        };
        Ok(Shard { index, count })
    }

    pub fn is_whole(self) -> bool {
        self.count == 1
    }

    /// Whether the `k`-th user (of a workload), arrival or turn is ours.
    pub fn owns(self, k: u64) -> bool {
        k % u64::from(self.count) == u64::from(self.index)
    }

    /// How many of the first `n` are ours (the shares of all slices add up
    /// to `n`).
    pub fn share(self, n: u64) -> u64 {
        let (i, c) = (u64::from(self.index), u64::from(self.count));
        if n > i { (n - i - 1) / c + 1 } else { 0 }
    }

    /// The run-wide numbers of our users among a workload's `locals`
    /// (indices within the workload, whose first user is `first_vu`).
    pub fn users(self, first_vu: u32, locals: std::ops::Range<u32>) -> impl Iterator<Item = u32> {
        locals
            .filter(move |j| self.owns(u64::from(*j)))
            .map(move |j| first_vu + j)
    }

    /// Our `k`-th turn's place in the whole run's sequence.
    pub fn turn(self, k: u64) -> u64 {
        k * u64::from(self.count) + u64::from(self.index)
    }
}

/// A value that moves linearly from stage to stage: users, or iterations
/// per second.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    pub start: f64,
    /// (how long, value at its end), in order.
    pub stages: Vec<(Duration, f64)>,
}

impl Curve {
    /// The same value for `d`.
    pub fn flat(value: f64, d: Duration) -> Self {
        Curve {
            start: value,
            stages: vec![(d, value)],
        }
    }

    /// When the last stage ends.
    pub fn end(&self) -> Duration {
        self.stages.iter().map(|s| s.0).sum()
    }

    pub fn max(&self) -> f64 {
        self.stages.iter().map(|s| s.1).fold(self.start, f64::max)
    }

    /// Each stage as (from, to, value at from, value at to).
    fn segments(&self) -> impl Iterator<Item = (Duration, Duration, f64, f64)> + '_ {
        let mut t = Duration::ZERO;
        let mut v = self.start;
        self.stages.iter().map(move |&(d, target)| {
            let seg = (t, t + d, v, target);
            t += d;
            v = target;
            seg
        })
    }

    /// The value at `t` (the last stage's value past the end).
    pub fn at(&self, t: Duration) -> f64 {
        for (a, b, va, vb) in self.segments() {
            if t < b {
                let span = (b - a).as_secs_f64();
                if span == 0.0 {
                    return vb;
                }
                return va + (vb - va) * (t - a).as_secs_f64() / span;
            }
        }
        self.stages.last().map_or(self.start, |s| s.1)
    }

    /// Which stage `t` falls in (0-based), or none past the end.
    pub fn stage_at(&self, t: Duration) -> Option<usize> {
        self.segments().position(|(_, b, _, _)| t < b)
    }

    /// The intervals in which user `i` runs: while the curve is above `i`
    /// (user 0 runs while it is above 0), so a ramp from 0 to n over R
    /// starts user i at R·i/n. Ends at `end()` at the latest.
    pub fn intervals(&self, i: u32) -> Vec<(Duration, Duration)> {
        let level = f64::from(i);
        let mut out: Vec<(Duration, Duration)> = Vec::new();
        let mut push = |from: Duration, to: Duration| {
            if to <= from {
                return;
            }
            match out.last_mut() {
                Some(last) if last.1 == from => last.1 = to,
                _ => out.push((from, to)),
            }
        };
        for (a, b, va, vb) in self.segments() {
            let crossing = || {
                // Where the line from (a, va) to (b, vb) meets `level`.
                let f = (level - va) / (vb - va);
                a + (b - a).mul_f64(f.clamp(0.0, 1.0))
            };
            match (va > level, vb > level) {
                (true, true) => push(a, b),
                (false, false) => {}
                (false, true) => push(crossing(), b),
                (true, false) => push(a, crossing()),
            }
        }
        out
    }

    /// Iteration start times for a curve of iterations per second: the k-th
    /// (from 0) starts when the integral of the rate reaches k, so a flat
    /// 200/s for 5 s starts exactly 1000, the first at 0.
    pub fn arrivals(&self) -> Arrivals {
        Arrivals {
            curve: self.clone(),
            segment: 0,
            seg_start: Duration::ZERO,
            seg_v0: self.start,
            done_before: 0.0,
            next: 0,
        }
    }
}

/// The start times of an open model's iterations, in order.
pub struct Arrivals {
    curve: Curve,
    segment: usize,
    seg_start: Duration,
    seg_v0: f64,
    /// Iterations the segments before this one hold (the integral up to it).
    done_before: f64,
    next: u64,
}

impl Iterator for Arrivals {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        loop {
            let &(d, v1) = self.curve.stages.get(self.segment)?;
            let span = d.as_secs_f64();
            let v0 = self.seg_v0;
            let area = span * (v0 + v1) / 2.0;
            // Iterations needed into this segment for the next start.
            let need = self.next as f64 - self.done_before;
            // A tiny tolerance so float error never loses the last start.
            if need < area - 1e-9 {
                let tau = if (v1 - v0).abs() < 1e-12 {
                    need / v0
                } else {
                    let a = (v1 - v0) / (2.0 * span);
                    (-v0 + (v0 * v0 + 4.0 * a * need).max(0.0).sqrt()) / (2.0 * a)
                };
                self.next += 1;
                return Some(self.seg_start + Duration::from_secs_f64(tau.clamp(0.0, span)));
            }
            self.done_before += area;
            self.seg_start += d;
            self.seg_v0 = v1;
            self.segment += 1;
        }
    }
}

/// How many iterations a closed model runs, besides its time limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Budget {
    /// Each user runs this many (per-vu-iterations, and the original
    /// `load.iterations`).
    PerVu(u64),
    /// All users together run this many (shared-iterations).
    Shared(u64),
}

/// Users that run iterations back to back.
#[derive(Clone, Debug, PartialEq)]
pub struct Closed {
    /// Users running at each time; its end is the executor's duration.
    pub vus: Curve,
    pub budget: Option<Budget>,
    /// A user whose curve drops below it finishes its iteration within this.
    pub graceful_ramp_down: Duration,
    /// An iteration starts at most every `pacing` per user (Locust's
    /// constant_pacing); it replaces the think time of an iteration's last step.
    pub pacing: Option<Duration>,
}

/// Iterations that start on a schedule, each on a free user of a pool.
#[derive(Clone, Debug, PartialEq)]
pub struct Open {
    /// Iteration starts per second.
    pub rate: Curve,
    pub pre_allocated_vus: u32,
    pub max_vus: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Model {
    Closed(Closed),
    Open(Open),
}

/// A named scenario: an executor over its own workflow, its users a
/// contiguous block of the run's user indices.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    pub name: String,
    pub kind: ExecutorKind,
    pub model: Model,
    /// Its steps in `Scenario::workflow`.
    pub steps: std::ops::Range<usize>,
    /// Each iteration runs one weighted pick of its steps.
    pub weighted: bool,
    /// Its users are `first_vu .. first_vu + max_vus()`.
    pub first_vu: u32,
    /// When it starts, from the start of the run.
    pub start_time: Duration,
    /// How long iterations in flight at its end may go on.
    pub graceful_stop: Duration,
    /// The data sources its steps name: each iteration takes a row of each.
    pub data: Vec<usize>,
}

impl Workload {
    /// The most users it ever has (instances a host creates for it).
    pub fn max_vus(&self) -> u32 {
        match &self.model {
            Model::Closed(c) => c.vus.max().ceil() as u32,
            Model::Open(o) => o.max_vus,
        }
    }

    /// Users made before the clock starts (the rest, up to `max_vus`, as
    /// an open model's pool runs low).
    pub fn initial_vus(&self) -> u32 {
        match &self.model {
            Model::Closed(_) => self.max_vus(),
            Model::Open(o) => o.pre_allocated_vus,
        }
    }

    /// How long it runs, from its start (before any graceful stop).
    pub fn duration(&self) -> Duration {
        match &self.model {
            Model::Closed(c) => c.vus.end(),
            Model::Open(o) => o.rate.end(),
        }
    }

    /// When its schedule ends, from the start of the run (before any
    /// graceful stop); none for one that runs until its iterations are done.
    pub fn scheduled_end(&self) -> Option<Duration> {
        let d = self.duration();
        (d < UNTIL_DONE).then(|| self.start_time.saturating_add(d))
    }

    /// How long an iteration in flight when a user's interval ends at `off`
    /// (from the start of the run) may go on: graceful_ramp_down when a
    /// ramp takes the user away mid-run, graceful_stop at the workload's end.
    pub fn grace_after(&self, off: Duration) -> Duration {
        let end = self.start_time + self.duration();
        match &self.model {
            Model::Closed(c) if off < end => c.graceful_ramp_down,
            _ => self.graceful_stop,
        }
    }

    /// When it ends, from the start of the run, graceful stop included.
    pub fn end(&self) -> Duration {
        self.start_time
            .saturating_add(self.duration())
            .saturating_add(self.graceful_stop)
    }

    pub fn contains_vu(&self, vu: u32) -> bool {
        vu >= self.first_vu && vu - self.first_vu < self.max_vus()
    }

    /// The stage at `t` from the start of the run, for the progress line:
    /// "stage 2/3", "starts in 3s", "done".
    pub fn stage_label(&self, t: Duration) -> String {
        let Some(into) = t.checked_sub(self.start_time) else {
            return format!("starts in {:.0}s", (self.start_time - t).as_secs_f64());
        };
        let curve = match &self.model {
            Model::Closed(c) => &c.vus,
            Model::Open(o) => &o.rate,
        };
        match curve.stage_at(into) {
            Some(i) if curve.stages.len() > 1 => format!("stage {}/{}", i + 1, curve.stages.len()),
            Some(_) => "running".into(),
            None => "stopping".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: f64) -> Duration {
        Duration::from_secs_f64(x)
    }

    #[test]
    fn a_flat_rate_starts_exactly_rate_times_duration_evenly() {
        let c = Curve::flat(200.0, s(5.0));
        let starts: Vec<Duration> = c.arrivals().collect();
        assert_eq!(starts.len(), 1000);
        assert_eq!(starts[0], Duration::ZERO);
        assert!((starts[1].as_secs_f64() - 0.005).abs() < 1e-9);
        assert!(starts.last().unwrap() < &s(5.0));
    }

    #[test]
    fn a_ramped_rate_starts_the_area_under_it() {
        // 0 → 100/s over 2 s (area 100), then 100/s for 1 s (area 100).
        let c = Curve {
            start: 0.0,
            stages: vec![(s(2.0), 100.0), (s(1.0), 100.0)],
        };
        let starts: Vec<Duration> = c.arrivals().collect();
        assert_eq!(starts.len(), 200);
        // Half the first stage's starts come in its last 29% (the area
        // under a ramp grows with t²: half of it lies past t = 2/√2).
        let late = starts
            .iter()
            .filter(|t| **t >= s(2.0 / 2f64.sqrt()) && **t < s(2.0))
            .count();
        assert!((49..=51).contains(&late), "{late}");
        assert!(starts.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn users_run_while_the_curve_is_above_their_index() {
        // 0 → 10 over 10 s, hold 10 s, 10 → 0 over 10 s.
        let c = Curve {
            start: 0.0,
            stages: vec![(s(10.0), 10.0), (s(10.0), 10.0), (s(10.0), 0.0)],
        };
        assert_eq!(c.intervals(0), vec![(Duration::ZERO, s(30.0))]);
        let i3 = c.intervals(3);
        assert_eq!(i3.len(), 1);
        assert!((i3[0].0.as_secs_f64() - 3.0).abs() < 1e-6);
        assert!((i3[0].1.as_secs_f64() - 27.0).abs() < 1e-6);
        assert!(c.intervals(10).is_empty());
        assert_eq!(c.at(s(25.0)), 5.0);
        assert_eq!(c.stage_at(s(15.0)), Some(1));
    }

    #[test]
    fn the_shards_of_a_run_partition_it() {
        for count in 1..=5u32 {
            let shards: Vec<Shard> = (0..count).map(|index| Shard { index, count }).collect();
            for n in 0..23u64 {
                // Every user / arrival / turn belongs to exactly one shard.
                for k in 0..n {
                    assert_eq!(shards.iter().filter(|s| s.owns(k)).count(), 1);
                }
                assert_eq!(shards.iter().map(|s| s.share(n)).sum::<u64>(), n);
                for s in &shards {
                    let owned = (0..n).filter(|k| s.owns(*k)).count() as u64;
                    assert_eq!(s.share(n), owned, "{s:?} of {n}");
                    assert!((0..owned).all(|k| s.owns(s.turn(k))));
                }
            }
        }
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        for bad in ["4/4", "1", "a/b", "-1/3", "0/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_dip_gives_a_user_two_intervals() {
        let c = Curve {
            start: 4.0,
            stages: vec![(s(2.0), 0.0), (s(2.0), 4.0)],
        };
        let i = c.intervals(1);
        assert_eq!(i.len(), 2, "{i:?}");
        assert!((i[0].1.as_secs_f64() - 1.5).abs() < 1e-6);
        assert!((i[1].0.as_secs_f64() - 2.5).abs() < 1e-6);
    }
}
