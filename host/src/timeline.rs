//! Per-second series: for every second of the load, one row for the whole
//! run and one for each step that ran in it (requests, errors by kind,
//! status codes, p50/p95/p99/max, active users, and the second's latency
//! histogram).
//!
//! A second stays open while samples may still arrive for it (a step is
//! reported when it ends, and events from several workers interleave):
//! until the newest time seen is `CLOSE_AFTER` past its end. Then its rows
//! are written to the `--timeline`/`--csv` files (so a crash leaves every
//! closed second on disk) and kept for the report, each with its histogram
//! serialized (a few hundred bytes), which is what lets reports of shards
//! merge second by second exactly. Only open seconds keep live histograms.
//!
//! The histograms are the report's own kind (`stats::histogram`)
//! and record the same value per sample (`recorded_us`), so merging any
//! window of the file's histograms gives that window's exact percentiles,
//! and merging all of them gives the report's.

use crate::series_files::Files;
use contract::{ErrorKind, Sample};
use hdrhistogram::Histogram;
use scenario::Scenario;
pub use stats::Row;
use stats::{delays, histogram, recorded_us};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime};

/// How long after a second ends it stays open for late samples.
const CLOSE_AFTER: Duration = Duration::from_secs(1);

/// Sets a row's percentiles, max and histogram from `h`.
pub fn set_latency(row: &mut Row, h: &Histogram<u64>) {
    let ms = |v: u64| {
        if h.is_empty() {
            0.0
        } else {
            (v as f64).round() / 1000.0
        }
    };
    row.p50_ms = ms(h.value_at_quantile(0.5));
    row.p95_ms = ms(h.value_at_quantile(0.95));
    row.p99_ms = ms(h.value_at_quantile(0.99));
    row.max_ms = ms(h.max());
    row.histogram = Some(crate::hdr::encode(h));
}

/// One second's counts for one step or the total.
struct Slot {
    requests: u64,
    errors: u64,
    errors_by_kind: BTreeMap<ErrorKind, u64>,
    status: BTreeMap<u16, u64>,
    latency: Histogram<u64>,
}

impl Slot {
    fn new() -> Self {
        Slot {
            requests: 0,
            errors: 0,
            errors_by_kind: BTreeMap::new(),
            status: BTreeMap::new(),
            latency: histogram(),
        }
    }

    fn push(&mut self, s: &Sample, delay_us: Option<u64>) {
        self.requests += 1;
        if let Some(e) = &s.error {
            self.errors += 1;
            *self.errors_by_kind.entry(e.kind).or_default() += 1;
        }
        if let Some(code) = s.status {
            *self.status.entry(code).or_default() += 1;
        }
        let _ = self.latency.record(recorded_us(s, delay_us));
    }
}

struct Second {
    total: Slot,
    /// Indexed like the workflow; made on a step's first sample.
    steps: Vec<Option<Slot>>,
    /// Most active users per workload during the second.
    active: Vec<u32>,
}

pub struct Timeline {
    /// Step index → (scenario name, step id); a script's requests are
    /// steps too, added as they first come.
    names: Vec<(String, String)>,
    /// A script's requests' steps, numbered as `Stats` numbers them.
    named: stats::requests::RequestSteps,
    step_workload: Vec<usize>,
    started: SystemTime,
    /// Open seconds, oldest first; the first is second `first_open`.
    open: VecDeque<Second>,
    first_open: u64,
    /// Active users per workload now.
    active: Vec<u32>,
    /// The most active per workload since the newest second opened: a
    /// user that came and went before any second was open (a run shorter
    /// than a host batch) still counts in the next second made.
    since: Vec<u32>,
    /// Closed rows.
    rows: Vec<Row>,
    files: Files,
}

impl Timeline {
    /// A timeline whose second 0 starts at `started`, writing closed
    /// seconds to `files`.
    pub fn new(scenario: &Scenario, started: SystemTime, files: Files) -> Self {
        Timeline {
            names: scenario
                .workflow
                .iter()
                .map(|st| {
                    let owner = scenario
                        .workloads
                        .get(st.workload)
                        .map_or("", |w| w.name.as_str());
                    (owner.to_string(), st.id.clone())
                })
                .collect(),
            step_workload: scenario.workflow.iter().map(|s| s.workload).collect(),
            named: Default::default(),
            started,
            open: VecDeque::new(),
            first_open: 0,
            active: vec![0; scenario.workloads.len()],
            since: vec![0; scenario.workloads.len()],
            rows: Vec::new(),
            files,
        }
    }

    /// One step's samples, reported `at` after the start (`delay` as for
    /// `Stats::push_step`).
    pub fn push_step(&mut self, at: Duration, samples: &[Sample], delay: Option<Duration>) {
        self.advance(at);
        // A sample for a second already closed counts in the oldest open
        // one, so every sample is in some row.
        let second = at.as_secs().max(self.first_open);
        let steps: Vec<usize> = samples.iter().map(|s| self.index(s)).collect();
        for ((s, late), step) in delays(samples, delay).zip(&steps) {
            let name = self.names.get(*step);
            self.files.sample(at, name, s, recorded_us(s, late));
        }
        let known = self.names.len();
        let slot = self.second(second);
        slot.steps.resize_with(known, || None);
        for ((s, late), step) in delays(samples, delay).zip(steps) {
            slot.total.push(s, late);
            if s.step == contract::UNATTRIBUTED || step >= slot.steps.len() {
                continue;
            }
            slot.steps[step].get_or_insert_with(Slot::new).push(s, late);
        }
    }

    /// The step a sample counts in: its own, or its script request's
    /// (made on the name's first sample).
    fn index(&mut self, s: &Sample) -> usize {
        let parent = s.step as usize;
        let Some(name) = &s.name else {
            return parent;
        };
        let (i, new) = self.named.step(parent, name, self.names.len());
        if new {
            let owner = self
                .names
                .get(parent)
                .map_or(String::new(), |n| n.0.clone());
            let workload = self
                .step_workload
                .get(parent)
                .copied()
                .unwrap_or(usize::MAX);
            self.names.push((owner, name.clone()));
            self.step_workload.push(workload);
        }
        i
    }

    /// `delta` users of `workload` became active (or, negative, stopped).
    pub fn active(&mut self, workload: usize, delta: i32) {
        let Some(now) = self.active.get_mut(workload) else {
            return;
        };
        *now = now.saturating_add_signed(delta);
        let now = *now;
        match self.open.back_mut() {
            Some(last) => last.active[workload] = last.active[workload].max(now),
            None => self.since[workload] = self.since[workload].max(now),
        }
    }

    /// Closes every second that ended `CLOSE_AFTER` before `now`.
    pub fn advance(&mut self, now: Duration) {
        let closing = now.saturating_sub(CLOSE_AFTER).as_secs();
        let mut closed = false;
        while self.first_open < closing {
            // A second nothing happened in still gets its (empty) rows.
            let second = match self.open.pop_front() {
                Some(s) => s,
                None => self.opened_second(),
            };
            if self.open.is_empty() {
                self.since.clone_from(&self.active);
            }
            self.close(self.first_open, second);
            self.first_open += 1;
            closed = true;
        }
        if closed {
            self.files.flush();
        }
    }

    /// Closes every second and the files: the rows for the report, and
    /// a line for each file that could not be written in full.
    pub fn finish(mut self, end: Duration) -> (Vec<Row>, Vec<String>) {
        let last = self.first_open + self.open.len() as u64;
        let end = end.as_secs_f64().ceil() as u64;
        self.advance(Duration::from_secs(last.max(end)) + CLOSE_AFTER);
        self.files.flush();
        (self.rows, self.files.problems())
    }

    /// A new second; the first opened after none was open carries the
    /// most users active in between.
    fn opened_second(&mut self) -> Second {
        let mut s = self.empty_second();
        if self.open.is_empty() {
            for (a, since) in s.active.iter_mut().zip(&self.since) {
                *a = (*a).max(*since);
            }
            self.since.clone_from(&self.active);
        }
        s
    }

    fn empty_second(&self) -> Second {
        Second {
            total: Slot::new(),
            steps: (0..self.names.len()).map(|_| None).collect(),
            active: self.active.clone(),
        }
    }

    /// Second `n` (open), with the seconds before it made.
    fn second(&mut self, n: u64) -> &mut Second {
        let index = (n - self.first_open) as usize;
        while self.open.len() <= index {
            let s = self.opened_second();
            self.open.push_back(s);
        }
        &mut self.open[index]
    }

    fn close(&mut self, n: u64, s: Second) {
        let unix_ms = self
            .started
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
            + n * 1000;
        let total_active = s.active.iter().sum();
        let mut rows = vec![row(n, unix_ms, None, &s.total, total_active)];
        for (i, slot) in s.steps.iter().enumerate() {
            let Some(slot) = slot else { continue };
            let active = self
                .step_workload
                .get(i)
                .and_then(|w| s.active.get(*w))
                .copied()
                .unwrap_or(0);
            rows.push(row(n, unix_ms, Some(&self.names[i]), slot, active));
        }
        for r in rows {
            self.files.write(&r);
            self.rows.push(r);
        }
    }
}

fn row(
    second: u64,
    unix_ms: u64,
    name: Option<&(String, String)>,
    slot: &Slot,
    active_users: u32,
) -> Row {
    let mut row = Row {
        second,
        unix_ms,
        scenario: name.map(|n| n.0.clone()),
        step: name.map(|n| n.1.clone()),
        requests: slot.requests,
        errors: slot.errors,
        errors_by_kind: slot.errors_by_kind.clone(),
        status_codes: slot
            .status
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        p50_ms: 0.0,
        p95_ms: 0.0,
        p99_ms: 0.0,
        max_ms: 0.0,
        active_users,
        histogram: None,
    };
    set_latency(&mut row, &slot.latency);
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        scenario::parse(
            "scenario:\n  id: t\n  load: {total_users: 1, test_duration: 1s}\n  workflow:\n    - {id: a, type: http, params: {url: 'http://127.0.0.1:1/'}}\n    - {id: b, type: http, params: {url: 'http://127.0.0.1:1/'}}\n",
            &[],
        )
        .unwrap()
    }

    fn sample(step: u32, latency_us: u64) -> Sample {
        Sample {
            step,
            latency: std::time::Duration::from_micros(latency_us),
            status: Some(200),
            bytes_sent: 0,
            bytes_received: 0,
            error: None,
            phases: None,
            tls: None,
            http_version: None,
            grpc: None,
            ws: None,
            trace: None,
            checks_passed: 0,
            checks_failed: 0,
            name: None,
            points: Vec::new(),
        }
    }

    #[test]
    fn a_long_run_keeps_only_the_open_seconds_histograms_and_every_row() {
        let mut t = Timeline::new(&scenario(), SystemTime::UNIX_EPOCH, Files::default());
        for second in 0..3600u64 {
            for k in 1..=100 {
                let at = Duration::from_secs(second);
                t.push_step(at, &[sample((k % 2) as u32, k * 1000 + second)], None);
            }
        }
        assert!(t.open.len() <= 2, "{} seconds open", t.open.len());
        let (rows, _) = t.finish(Duration::from_secs(3600));
        let totals: Vec<&Row> = rows.iter().filter(|r| r.is_total()).collect();
        assert_eq!(totals.len(), 3600);
        assert_eq!(rows.len(), 3 * 3600, "a total and two steps a second");
        for p in [totals[0], totals[1800], totals[3599]] {
            let mut h = histogram();
            for k in 1..=100 {
                h.record(k * 1000 + p.second).unwrap();
            }
            assert_eq!(p.requests, 100);
            assert_eq!(p.unix_ms, p.second * 1000);
            assert_eq!(p.p50_ms, h.value_at_quantile(0.5) as f64 / 1000.0);
            assert_eq!(p.p99_ms, h.value_at_quantile(0.99) as f64 / 1000.0);
            assert_eq!(p.max_ms, h.max() as f64 / 1000.0);
        }
    }

    #[test]
    fn a_sample_for_a_closed_second_counts_in_the_oldest_open_one() {
        let mut t = Timeline::new(&scenario(), SystemTime::UNIX_EPOCH, Files::default());
        t.push_step(Duration::from_secs(0), &[sample(0, 5000)], None);
        t.push_step(Duration::from_secs(30), &[sample(0, 1000)], None);
        t.push_step(Duration::from_secs(0), &[sample(1, 900_000)], None);
        let (rows, _) = t.finish(Duration::from_secs(31));
        let total: u64 = rows
            .iter()
            .filter(|r| r.is_total())
            .map(|r| r.requests)
            .sum();
        assert_eq!(total, 3);
        let late = rows
            .iter()
            .find(|r| r.step.as_deref() == Some("b"))
            .unwrap();
        assert_eq!(late.second, 29);
        // Every second up to the end has a total row, quiet ones too.
        assert_eq!(rows.iter().filter(|r| r.is_total()).count(), 31);
    }

    /// Each second's active users, from its total row.
    fn total_active(rows: &[Row]) -> Vec<u32> {
        rows.iter()
            .filter(|r| r.is_total())
            .map(|r| r.active_users)
            .collect()
    }

    #[test]
    fn active_users_are_the_most_during_the_second() {
        let mut t = Timeline::new(&scenario(), SystemTime::UNIX_EPOCH, Files::default());
        t.push_step(Duration::from_millis(100), &[sample(0, 10)], None);
        t.active(0, 5);
        t.active(0, -3);
        t.push_step(Duration::from_millis(1100), &[sample(0, 10)], None);
        let (rows, _) = t.finish(Duration::from_secs(2));
        let active = total_active(&rows);
        assert_eq!(active, [5, 2]);
    }

    #[test]
    fn a_user_that_comes_and_goes_before_any_sample_still_counts() {
        let mut t = Timeline::new(&scenario(), SystemTime::UNIX_EPOCH, Files::default());
        // One batch: the user began, its only step ended, it stopped.
        t.active(0, 1);
        t.active(0, -1);
        t.push_step(Duration::from_millis(50), &[sample(0, 10)], None);
        let (rows, _) = t.finish(Duration::from_millis(60));
        let active = total_active(&rows);
        assert_eq!(active, [1]);
    }
}
