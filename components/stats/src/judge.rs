//! Judging a run's thresholds: live (fed the same samples as `Stats`, asked
//! once a second whether to abort) and at the end, for the verdicts.

use crate::bucket::round3;
use crate::report::Verdict;
use crate::stats::Stats;
use crate::tally::Tally;
use contract::Sample;
use scenario::thresholds::Threshold;
use std::collections::VecDeque;
use std::time::Duration;

/// A sliding window's per-second tallies and its verdict so far.
#[derive(Default)]
struct Window {
    seconds: VecDeque<(u64, Tally)>,
    /// (value, failed) of the first failing window, else of the worst.
    judged: Option<(f64, bool)>,
}

/// Live judgement of a run's thresholds: fed the same samples as `Stats`,
/// asked once a second (`tick`) whether to abort, and at the end for the
/// verdicts.
pub struct Judge {
    list: Vec<Threshold>,
    windows: Vec<Option<Window>>,
    /// Index of the threshold that aborted the run.
    aborted_by: Option<usize>,
    step_workload: Vec<usize>,
}

impl Judge {
    pub fn new(scenario: &scenario::Scenario) -> Self {
        let step_workload = scenario.workflow.iter().map(|s| s.workload).collect();
        Judge::of(scenario.thresholds.clone(), step_workload)
    }

    /// `list` judged over statistics whose step `i` is of workload
    /// `step_workload[i]` (a merge's rebuilt `Stats`).
    pub fn of(list: Vec<Threshold>, step_workload: Vec<usize>) -> Self {
        Judge {
            windows: list
                .iter()
                .map(|t| t.window.map(|_| Window::default()))
                .collect(),
            list,
            aborted_by: None,
            step_workload,
        }
    }

    /// Judges threshold `i`'s windows afterwards over per-second tallies
    /// (a merged timeline's), as `tick` would have at each second
    /// `1..=last`.
    pub fn replay_windows(&mut self, i: usize, seconds: &[(u64, Tally)], last: u64) {
        if let (Some(w), Some(t)) = (
            self.windows.get_mut(i).and_then(Option::as_mut),
            self.list.get(i),
        ) {
            w.judged = judge_windows(t, seconds, last);
        }
    }

    /// Records that threshold `i` stopped the run (a merged shard's did).
    pub fn mark_aborted(&mut self, i: usize) {
        self.aborted_by.get_or_insert(i);
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    fn windows_for(&mut self, at: Duration) -> impl Iterator<Item = (&Threshold, &mut Tally)> {
        let second = at.as_secs();
        self.list
            .iter()
            .zip(self.windows.iter_mut())
            .filter_map(move |(t, w)| {
                let w = w.as_mut()?;
                if w.seconds.back().is_none_or(|(s, _)| *s != second) {
                    w.seconds.push_back((second, Tally::default()));
                }
                Some((t, &mut w.seconds.back_mut().expect("pushed").1))
            })
    }

    /// One step's samples at `at` (only windows need them: the rest read
    /// `Stats`).
    pub fn push_step(&mut self, at: Duration, samples: &[Sample], delay: Option<Duration>) {
        for samples in crate::stats::requests(samples) {
            let first = &samples[0];
            let step = first.step as usize;
            let Some(&workload) = self.step_workload.get(step) else {
                return;
            };
            let name = first.name.as_deref();
            for (t, tally) in self.windows_for(at) {
                if t.filter.matches_step(step, name, workload) {
                    tally.bucket.push_step(samples, delay);
                }
            }
        }
    }

    pub fn add_iteration(&mut self, at: Duration, workload: usize) {
        for (t, tally) in self.windows_for(at) {
            if t.filter.workload.is_none_or(|w| w == workload) {
                tally.iterations += 1;
            }
        }
    }

    pub fn add_dropped(&mut self, at: Duration, workload: usize) {
        for (t, tally) in self.windows_for(at) {
            if t.filter.workload.is_none_or(|w| w == workload) {
                tally.dropped += 1;
            }
        }
    }

    /// Judges the windows that closed by `at` and the `abort_on_fail`
    /// thresholds past their delay; returns the threshold that aborts the
    /// run, if one fails.
    pub fn tick(&mut self, at: Duration, stats: &Stats) -> Option<&Threshold> {
        let now = at.as_secs();
        for (t, w) in self.list.iter().zip(self.windows.iter_mut()) {
            let (Some(w), Some(len)) = (w.as_mut(), t.window) else {
                continue;
            };
            let secs = len.as_secs().max(1);
            // The window is the `secs` whole seconds before `now`.
            while w.seconds.front().is_some_and(|(s, _)| *s + secs < now) {
                w.seconds.pop_front();
            }
            if now < secs {
                continue;
            }
            let sum = window_sum(w.seconds.iter(), now, secs);
            judge_window(w, t, sum.measure(t, secs as f64));
        }
        if self.aborted_by.is_some() {
            return None;
        }
        for (i, t) in self.list.iter().enumerate() {
            if !t.abort_on_fail || at < t.delay_abort_eval {
                continue;
            }
            let failed = match &self.windows[i] {
                Some(w) => w.judged.is_some_and(|j| j.1),
                None => {
                    let value = stats.tally(&t.filter).measure(t, at.as_secs_f64());
                    !t.op.holds(value, t.limit)
                }
            };
            if failed {
                self.aborted_by = Some(i);
                return Some(t);
            }
        }
        None
    }

    /// Every threshold's verdict over the finished run.
    pub fn verdicts(&self, stats: &Stats, elapsed: Duration) -> Vec<Verdict> {
        self.list
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let whole = || stats.tally(&t.filter).measure(t, elapsed.as_secs_f64());
                let (value, ok) = match self.windows[i].as_ref().and_then(|w| w.judged) {
                    Some((value, failed)) => (value, !failed),
                    // No window closed (a run shorter than it): the whole run.
                    None => {
                        let v = whole();
                        (v, t.op.holds(v, t.limit))
                    }
                };
                Verdict {
                    metric: t.key.clone(),
                    threshold: t.expr.clone(),
                    ok,
                    value: round3(value),
                    window_seconds: t.window.map(|w| w.as_secs_f64()),
                    aborted_run: self.aborted_by == Some(i),
                }
            })
            .collect()
    }
}

/// The window judged at `now`: the `secs` whole seconds before it.
fn window_sum<'a>(seconds: impl Iterator<Item = &'a (u64, Tally)>, now: u64, secs: u64) -> Tally {
    let mut sum = Tally::default();
    for (_, tally) in seconds.filter(|(s, _)| *s + secs >= now && *s < now) {
        sum.merge(tally);
    }
    sum
}

/// A windowed threshold judged afterwards over per-second tallies (second,
/// tally), as `Judge::tick` judges it at each whole second `1..=last`:
/// (the first failing window's value, true) or (the worst value, false);
/// none when no window closed, or `t` has no window.
pub fn judge_windows(t: &Threshold, seconds: &[(u64, Tally)], last: u64) -> Option<(f64, bool)> {
    let secs = t.window?.as_secs().max(1);
    let mut w = Window::default();
    for now in secs..=last {
        let sum = window_sum(seconds.iter(), now, secs);
        judge_window(&mut w, t, sum.measure(t, secs as f64));
    }
    w.judged
}

fn judge_window(w: &mut Window, t: &Threshold, value: f64) {
    let failed = !t.op.holds(value, t.limit);
    w.judged = match w.judged {
        Some(j) if j.1 => Some(j),
        Some((old, _)) if !failed => {
            let worse = if t.op.larger_is_worse() {
                value > old
            } else {
                value < old
            };
            Some((if worse { value } else { old }, false))
        }
        _ => Some((value, failed)),
    };
}
