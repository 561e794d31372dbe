//! Statistics: one `Stats` with `push` (a sample) and `merge` (another
//! `Stats`), so per-instance results combine exactly (HDR histograms are
//! merged, never percentiles). `report` renders the report.

use crate::bucket::{Bucket, round3};
use crate::custom::Customs;
use crate::report::{Report, StepReport, WorkloadReport};
use crate::requests::RequestSteps;
use crate::tally::Tally;
use contract::Sample;
use scenario::Scenario;
use scenario::executor::HOOK;
use scenario::model::Hook;
use scenario::thresholds::Filter;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// The report's name for samples sent from the unspecified address (no pool).
pub const UNSPECIFIED: &str = "unspecified";

/// Everything a run measured. Changed only by `push`, `push_step`,
/// `add_iteration`, `add_dropped` and `merge`, so every count comes from
/// samples.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    total: Bucket,
    /// Indexed like the workflow.
    steps: Vec<Bucket>,
    /// Indexed like `Scenario::workloads`.
    workloads: Vec<WorkloadStats>,
    /// Step index → its workload.
    step_workload: Vec<usize>,
    /// Source address (none: the unspecified address) → samples sent from it.
    source_ips: BTreeMap<Option<IpAddr>, u64>,
    /// A script's requests, each a step of its own, made as they first
    /// come (indices in `steps` past the workflow's).
    named: RequestSteps,
    /// A script's custom metrics.
    custom: Customs,
}

/// A step's samples, split into requests: a script step's samples are
/// several requests, each named (one per consecutive name); a YAML
/// step's are one.
pub fn requests(samples: &[Sample]) -> impl Iterator<Item = &[Sample]> {
    samples.chunk_by(|a, b| a.name == b.name)
}

/// One named scenario's own counts.
#[derive(Clone, Debug, Default)]
struct WorkloadStats {
    bucket: Bucket,
    iterations: u64,
    /// Iterations an arrival-rate executor could not start (no free user).
    dropped: u64,
    /// Iterations not started: a `unique` data source had no row left.
    out_of_data: u64,
}

/// A named scenario's counts, to rebuild `Stats` from a report.
pub struct WorkloadParts {
    pub bucket: Bucket,
    pub iterations: u64,
    pub dropped: u64,
    pub out_of_data: u64,
}

impl Stats {
    /// Statistics rebuilt from what reports carry (`merge`): the total,
    /// each step's bucket with its workload's index, each workload's.
    pub fn from_parts(
        total: Bucket,
        steps: Vec<(Bucket, usize)>,
        workloads: Vec<WorkloadParts>,
    ) -> Self {
        let (steps, step_workload) = steps.into_iter().unzip();
        Stats {
            total,
            steps,
            step_workload,
            workloads: workloads
                .into_iter()
                .map(|w| WorkloadStats {
                    bucket: w.bucket,
                    iterations: w.iterations,
                    dropped: w.dropped,
                    out_of_data: w.out_of_data,
                })
                .collect(),
            source_ips: BTreeMap::new(),
            named: RequestSteps::default(),
            custom: Customs::default(),
        }
    }

    pub fn new(scenario: &Scenario) -> Self {
        Stats {
            steps: vec![Bucket::default(); scenario.workflow.len()],
            workloads: vec![WorkloadStats::default(); scenario.workloads.len()],
            step_workload: scenario.workflow.iter().map(|s| s.workload).collect(),
            ..Default::default()
        }
    }

    /// Every sample of the run.
    pub fn total(&self) -> &Bucket {
        &self.total
    }

    /// Samples per step, indexed like the workflow.
    pub fn steps(&self) -> &[Bucket] {
        &self.steps
    }

    /// Samples of one workload (named scenario).
    pub fn workload(&self, w: usize) -> Option<&Bucket> {
        self.workloads.get(w).map(|w| &w.bucket)
    }

    pub fn iterations(&self) -> u64 {
        self.workloads.iter().map(|w| w.iterations).sum()
    }

    pub fn dropped(&self) -> u64 {
        self.workloads.iter().map(|w| w.dropped).sum()
    }

    /// (iterations, dropped iterations) of one workload.
    pub fn workload_counts(&self, w: usize) -> (u64, u64) {
        self.workloads
            .get(w)
            .map_or((0, 0), |w| (w.iterations, w.dropped))
    }

    /// A user of `workload` finished one workflow iteration.
    pub fn add_iteration(&mut self, workload: usize) {
        if let Some(w) = self.workloads.get_mut(workload) {
            w.iterations += 1;
        }
    }

    /// A user of `workload` could not start an iteration: a `unique` data
    /// source had no row left (the user stops).
    pub fn add_out_of_data(&mut self, workload: usize) {
        if let Some(w) = self.workloads.get_mut(workload) {
            w.out_of_data += 1;
        }
    }

    /// `workload` could not start an iteration: no user was free.
    pub fn add_dropped(&mut self, workload: usize) {
        if let Some(w) = self.workloads.get_mut(workload) {
            w.dropped += 1;
        }
    }

    /// Adds one sample that no step's report carried (a host's trap or
    /// interruption), sent from `source_ip` (none: the unspecified address).
    pub fn push(&mut self, s: &Sample, source_ip: Option<IpAddr>) {
        self.push_step(std::slice::from_ref(s), source_ip, None);
    }

    /// Adds one step's samples (see `Bucket::push_step` for `delay`).
    pub fn push_step(
        &mut self,
        samples: &[Sample],
        source_ip: Option<IpAddr>,
        delay: Option<Duration>,
    ) {
        for s in samples {
            for p in &s.points {
                self.custom.push(p);
            }
        }
        for request in requests(samples) {
            self.push_request(request, source_ip, delay);
        }
    }

    /// The step a sample of step `parent` counts in: its own, or its
    /// script request `name`'s (made on its first sample).
    fn step_of(&mut self, parent: usize, name: Option<&str>) -> usize {
        let Some(name) = name else { return parent };
        let next = self.steps.len().max(self.step_workload.len());
        let (i, new) = self.named.step(parent, name, next);
        if new {
            self.steps.resize(i + 1, Bucket::default());
            let workload = self.step_workload.get(parent).copied().unwrap_or(HOOK);
            self.step_workload.resize(i, HOOK);
            self.step_workload.push(workload);
        }
        i
    }

    fn push_request(
        &mut self,
        samples: &[Sample],
        source_ip: Option<IpAddr>,
        delay: Option<Duration>,
    ) {
        let Some(first) = samples.first() else { return };
        let step = if first.step == contract::UNATTRIBUTED {
            None
        } else {
            Some(self.step_of(first.step as usize, first.name.as_deref()))
        };
        let hook = step.is_some_and(|i| self.step_workload.get(i) == Some(&HOOK));
        if let Some(i) = step.filter(|_| hook) {
            // Setup and teardown are reported apart from the load.
            self.steps[i].push_step(samples, None);
            return;
        }
        self.total.push_step(samples, delay);
        if let Some(i) = step {
            if i >= self.steps.len() {
                self.steps.resize(i + 1, Bucket::default());
            }
            self.steps[i].push_step(samples, delay);
            if let Some(w) = self
                .step_workload
                .get(i)
                .and_then(|w| self.workloads.get_mut(*w))
            {
                w.bucket.push_step(samples, delay);
            }
        }
        *self.source_ips.entry(source_ip).or_default() += samples.len() as u64;
    }

    pub fn merge(&mut self, o: &Stats) {
        self.total.merge(&o.total);
        let theirs_named: BTreeMap<usize, (usize, &str)> =
            o.named.iter().map(|(p, n, i)| (i, (p, n))).collect();
        for (i, theirs) in o.steps.iter().enumerate() {
            // A script's request steps are matched by name: two instances
            // number them in the order each first saw them.
            let mine = match theirs_named.get(&i) {
                Some((parent, name)) => self.step_of(*parent, Some(name)),
                None => {
                    if i >= self.steps.len() {
                        self.steps.resize(i + 1, Bucket::default());
                    }
                    i
                }
            };
            self.steps[mine].merge(theirs);
        }
        self.custom.merge(&o.custom);
        if o.workloads.len() > self.workloads.len() {
            self.workloads
                .resize(o.workloads.len(), WorkloadStats::default());
        }
        for (mine, theirs) in self.workloads.iter_mut().zip(&o.workloads) {
            mine.bucket.merge(&theirs.bucket);
            mine.iterations += theirs.iterations;
            mine.dropped += theirs.dropped;
            mine.out_of_data += theirs.out_of_data;
        }
        for (k, v) in &o.source_ips {
            *self.source_ips.entry(*k).or_default() += v;
        }
    }

    /// What a threshold with `filter` reads.
    pub fn tally(&self, filter: &Filter) -> Tally {
        let mut out = Tally::default();
        if let Some(name) = &filter.custom {
            out.custom = self.custom.0.get(name).cloned();
            return out;
        }
        match (&filter.steps, filter.workload) {
            (Some(steps), _) => {
                for i in steps {
                    if let Some(b) = self.steps.get(*i) {
                        out.bucket.merge(b);
                    }
                }
            }
            (None, w) if filter.names.is_some() => {
                for (_, name, i) in self.named.iter() {
                    let workload = self.step_workload[i];
                    if filter.matches_step(i, Some(name), workload)
                        && w.is_none_or(|w| w == workload)
                    {
                        out.bucket.merge(&self.steps[i]);
                    }
                }
            }
            (None, Some(w)) => {
                if let Some(w) = self.workloads.get(w) {
                    out.bucket = w.bucket.clone();
                }
            }
            (None, None) => out.bucket = self.total.clone(),
        }
        match filter.workload {
            Some(w) => (out.iterations, out.dropped) = self.workload_counts(w),
            None => (out.iterations, out.dropped) = (self.iterations(), self.dropped()),
        }
        out
    }

    pub fn report(&self, scenario: &Scenario, elapsed: Duration) -> Report {
        let secs = elapsed.as_secs_f64();
        let empty = Bucket::default();
        Report {
            scenario_id: scenario.id.clone(),
            vus: scenario.max_vus(),
            duration_seconds: round3(secs),
            iterations: self.iterations(),
            dropped_iterations: self.dropped(),
            out_of_data: self.workloads.iter().map(|w| w.out_of_data).sum(),
            metrics: self.total.metrics(secs),
            source_ips: self
                .source_ips
                .iter()
                .map(|(ip, n)| {
                    let name = ip.map_or_else(|| UNSPECIFIED.to_string(), |ip| ip.to_string());
                    (name, *n)
                })
                .collect(),
            scenarios: scenario
                .workloads
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let (iterations, dropped) = self.workload_counts(i);
                    WorkloadReport {
                        name: w.name.clone(),
                        executor: w.kind,
                        vus_max: w.max_vus(),
                        iterations,
                        dropped_iterations: dropped,
                        out_of_data: self.workloads.get(i).map_or(0, |w| w.out_of_data),
                        metrics: self
                            .workloads
                            .get(i)
                            .map_or(&empty, |w| &w.bucket)
                            .metrics(secs),
                    }
                })
                .collect(),
            steps: scenario
                .load_steps()
                .flat_map(|i| {
                    let owner = &scenario.workloads[scenario.workflow[i].workload].name;
                    self.step_reports(scenario, i, owner, secs)
                })
                .collect(),
            setup: self.hook_report(scenario, Hook::Setup),
            setup_failed: None,
            teardown: self.hook_report(scenario, Hook::Teardown),
            custom: self.custom.stats(),
            thresholds: Vec::new(),
            host: None,
        }
    }

    /// A hook's steps, each with its own metrics (throughput over the
    /// hook's own requests is meaningless, so it is over the run's time).
    fn hook_report(&self, scenario: &Scenario, hook: Hook) -> Option<Vec<StepReport>> {
        let steps = scenario.hook_steps(hook)?;
        let list: Vec<StepReport> = steps
            .flat_map(|i| self.step_reports(scenario, i, hook.name(), 0.0))
            .collect();
        // A script's hooks always exist; one that sent nothing is not shown.
        (scenario.script.is_none() || !list.is_empty()).then_some(list)
    }

    /// Step `i`'s reports: its own, or a script step's requests.
    fn step_reports(
        &self,
        scenario: &Scenario,
        i: usize,
        owner: &str,
        secs: f64,
    ) -> Vec<StepReport> {
        if !is_script(scenario, i) {
            return vec![self.step_report(scenario, i, owner, secs)];
        }
        self.requests_of(i)
            .into_iter()
            .map(|(name, b)| StepReport {
                id: name.to_string(),
                name: name.to_string(),
                kind: scenario.workflow[i].kind.clone(),
                scenario: owner.to_string(),
                metrics: b.metrics(secs),
            })
            .collect()
    }

    /// Script step `i`'s requests (name, bucket), in the order they first came.
    fn requests_of(&self, i: usize) -> Vec<(&str, &Bucket)> {
        self.named
            .iter()
            .filter(|(parent, _, _)| *parent == i)
            .map(|(_, name, at)| (name, &self.steps[at]))
            .collect()
    }

    /// The buckets of step `i`'s reports, in the report's order (one, or a
    /// script step's requests'): whoever attaches histograms to them.
    pub fn report_buckets(&self, scenario: &Scenario, i: usize) -> Vec<Option<&Bucket>> {
        if is_script(scenario, i) {
            self.requests_of(i)
                .into_iter()
                .map(|(_, b)| Some(b))
                .collect()
        } else {
            vec![self.steps.get(i)]
        }
    }

    /// A script's custom metrics.
    pub fn custom(&self) -> &Customs {
        &self.custom
    }

    /// Adds custom metrics that came from elsewhere (a merge's reports).
    pub fn add_custom(&mut self, customs: &Customs) {
        self.custom.merge(customs);
    }

    /// Step `i`'s report, as part of `owner` (its scenario, or a hook).
    fn step_report(&self, scenario: &Scenario, i: usize, owner: &str, secs: f64) -> StepReport {
        let st = &scenario.workflow[i];
        StepReport {
            id: st.id.clone(),
            name: st.name.clone(),
            kind: st.kind.clone(),
            scenario: owner.to_string(),
            metrics: self
                .steps
                .get(i)
                .map_or_else(|| Bucket::default().metrics(secs), |b| b.metrics(secs)),
        }
    }

    /// The failures of a hook's steps (kind: first message), if any.
    pub fn hook_failure(&self, scenario: &Scenario, hook: Hook) -> Option<String> {
        let steps = scenario.hook_steps(hook)?;
        let named: Vec<usize> = self
            .named
            .iter()
            .filter(|(parent, _, _)| steps.contains(parent))
            .map(|(_, _, i)| i)
            .collect();
        steps.chain(named).find_map(|i| {
            let b = self.steps.get(i)?;
            let (kind, e) = b.errors.iter().next()?;
            let id = scenario.workflow.get(i).map_or_else(
                || {
                    self.named
                        .iter()
                        .find(|(_, _, at)| *at == i)
                        .map_or("", |(_, name, _)| name)
                },
                |s| s.id.as_str(),
            );
            Some(format!(
                "{} step {:?} failed: {kind}: {}",
                hook.name(),
                id,
                e.samples.first().map_or("", String::as_str)
            ))
        })
    }
}

fn is_script(scenario: &Scenario, i: usize) -> bool {
    matches!(scenario.workflow[i].call, scenario::model::Call::Script(_))
}
