//! Statistics: one `Stats` with `push` (a sample) and `merge` (another
//! `Stats`), so per-instance results combine exactly (HDR histograms are
//! merged, never percentiles). `report` renders the JSON result.

use crate::model::Scenario;
use crate::sample::{ErrorKind, Phases, Sample};
use crate::tls::TlsVersion;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// The report's name for samples sent from the unspecified address (no pool).
pub const UNSPECIFIED: &str = "unspecified";

/// Sample messages kept per error kind.
const ERROR_SAMPLES: usize = 3;

/// Counters for one step or for the whole run.
#[derive(Clone, Debug)]
pub struct Bucket {
    /// Latency in microseconds; auto-resizing, 3 significant digits.
    latency: Histogram<u64>,
    ok: u64,
    failed: u64,
    bytes_sent: u64,
    bytes_received: u64,
    status: BTreeMap<u16, u64>,
    errors: BTreeMap<ErrorKind, ErrorStat>,
    /// Per-phase latency in microseconds, once a sample carried phases.
    phases: Option<Box<[Histogram<u64>; 5]>>,
    tls: TlsCounts,
    /// Send-to-response time, once a sample was scheduled (arrival-rate
    /// executors: `latency` then counts from the scheduled time).
    service: Option<Box<Histogram<u64>>>,
    /// Step responses that passed / failed their checks.
    checks_passed: u64,
    checks_failed: u64,
}

/// A bucket as a report carries it (scheduler-host's reports add the
/// histograms), to rebuild it exactly: merging reports rebuilds each one's
/// buckets and adds them with `Bucket::merge`.
#[derive(Clone, Debug)]
pub struct Parts {
    pub latency: Histogram<u64>,
    /// Send-to-response times, when they differ from `latency`.
    pub service: Option<Histogram<u64>>,
    /// Per-phase histograms, in `Phases::NAMES` order.
    pub phases: Option<[Histogram<u64>; 5]>,
    pub ok: u64,
    pub failed: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub status: BTreeMap<u16, u64>,
    pub errors: BTreeMap<ErrorKind, ErrorStat>,
    pub tls_handshakes: u64,
    pub tls_resumed: u64,
    pub tls_versions: BTreeMap<TlsVersion, u64>,
    pub checks_passed: u64,
    pub checks_failed: u64,
}

/// TLS per step: handshakes, resumed ones, and requests by version.
#[derive(Clone, Debug, Default, PartialEq)]
struct TlsCounts {
    handshakes: u64,
    resumed: u64,
    versions: BTreeMap<TlsVersion, u64>,
}

/// The latency histogram every report figure comes from: microseconds,
/// auto-resizing, 3 significant digits. The host's per-second histograms
/// use it too, so they re-merge into the report's exactly.
pub fn histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant figures is a valid histogram")
}

/// Each of a step's samples with the delay (µs) its latency counts from:
/// `delay` (how late an arrival-rate step started) goes to the first
/// request, 0 to its redirects; none when the step was not scheduled.
pub fn delays(
    samples: &[Sample],
    delay: Option<Duration>,
) -> impl Iterator<Item = (&Sample, Option<u64>)> {
    let delay_us = delay.map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    samples.iter().enumerate().map(move |(i, s)| {
        let late = if i == 0 {
            delay_us
        } else {
            delay_us.map(|_| 0)
        };
        (s, late)
    })
}

/// The value a latency histogram records for `s` delayed by `delay_us`
/// (at least 1: an HDR histogram's lowest value).
pub fn recorded_us(s: &Sample, delay_us: Option<u64>) -> u64 {
    s.latency_us.saturating_add(delay_us.unwrap_or(0)).max(1)
}

#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct ErrorStat {
    pub count: u64,
    pub samples: Vec<String>,
}

impl Default for Bucket {
    fn default() -> Self {
        Bucket {
            latency: histogram(),
            ok: 0,
            failed: 0,
            bytes_sent: 0,
            bytes_received: 0,
            status: BTreeMap::new(),
            errors: BTreeMap::new(),
            phases: None,
            tls: TlsCounts::default(),
            service: None,
            checks_passed: 0,
            checks_failed: 0,
        }
    }
}

impl Bucket {
    pub fn from_parts(p: Parts) -> Bucket {
        Bucket {
            latency: p.latency,
            ok: p.ok,
            failed: p.failed,
            bytes_sent: p.bytes_sent,
            bytes_received: p.bytes_received,
            status: p.status,
            errors: p.errors,
            phases: p.phases.map(Box::new),
            tls: TlsCounts {
                handshakes: p.tls_handshakes,
                resumed: p.tls_resumed,
                versions: p.tls_versions,
            },
            service: p.service.map(Box::new),
            checks_passed: p.checks_passed,
            checks_failed: p.checks_failed,
        }
    }

    /// The per-phase histograms (`Phases::NAMES` order), once a sample had
    /// phases.
    pub fn phase_histograms(&self) -> Option<&[Histogram<u64>; 5]> {
        self.phases.as_deref()
    }

    /// Send-to-response times, only when some sample was scheduled.
    pub fn scheduled_service(&self) -> Option<&Histogram<u64>> {
        self.service.as_deref()
    }

    /// One step's samples (its redirects, then its last request). `delay`:
    /// how late the step started against its schedule (arrival-rate
    /// executors), added to the first request's latency, so a stalled
    /// server shows in the tail (coordinated omission); the time without
    /// it goes to `service_time`.
    pub fn push_step(&mut self, samples: &[Sample], delay: Option<Duration>) {
        for (s, late) in delays(samples, delay) {
            self.push_delayed(s, late);
        }
        // Each check counts once; a transport error reached none.
        for s in samples {
            self.checks_passed += u64::from(s.checks_passed);
            self.checks_failed += u64::from(s.checks_failed);
        }
    }

    fn push_delayed(&mut self, s: &Sample, delay_us: Option<u64>) {
        if delay_us.is_some() {
            let service = self.service.get_or_insert_with(|| Box::new(histogram()));
            let _ = service.record(s.latency_us.max(1));
        }
        // Auto-resizing histograms only fail on u64 overflow; saturate instead.
        let _ = self.latency.record(recorded_us(s, delay_us));
        self.bytes_sent += s.bytes_sent;
        self.bytes_received += s.bytes_received;
        if let Some(code) = s.status {
            *self.status.entry(code).or_default() += 1;
        }
        if let Some(p) = &s.phases {
            for (h, us) in self.phases_mut().iter_mut().zip(p.values()) {
                // 0 is a real value here (a reused connection's connecting).
                let _ = h.record(us);
            }
        }
        if let Some(t) = &s.tls {
            self.tls.handshakes += u64::from(t.handshake);
            self.tls.resumed += u64::from(t.handshake && t.resumed);
            *self.tls.versions.entry(t.version).or_default() += 1;
        }
        match &s.error {
            None => self.ok += 1,
            Some(e) => {
                self.failed += 1;
                let stat = self.errors.entry(e.kind).or_default();
                stat.count += 1;
                if stat.samples.len() < ERROR_SAMPLES && !stat.samples.contains(&e.message) {
                    stat.samples.push(e.message.clone());
                }
            }
        }
    }

    /// The phase histograms, made on the first sample that has phases.
    fn phases_mut(&mut self) -> &mut [Histogram<u64>; 5] {
        self.phases
            .get_or_insert_with(|| Box::new(std::array::from_fn(|_| histogram())))
    }

    pub fn merge(&mut self, o: &Bucket) {
        let _ = self.latency.add(&o.latency);
        if let Some(theirs) = &o.service {
            let _ = self
                .service
                .get_or_insert_with(|| Box::new(histogram()))
                .add(theirs.as_ref());
        }
        self.checks_passed += o.checks_passed;
        self.checks_failed += o.checks_failed;
        self.ok += o.ok;
        self.failed += o.failed;
        self.bytes_sent += o.bytes_sent;
        self.bytes_received += o.bytes_received;
        for (k, v) in &o.status {
            *self.status.entry(*k).or_default() += v;
        }
        if let Some(theirs) = &o.phases {
            for (m, t) in self.phases_mut().iter_mut().zip(theirs.iter()) {
                let _ = m.add(t);
            }
        }
        self.tls.handshakes += o.tls.handshakes;
        self.tls.resumed += o.tls.resumed;
        for (k, v) in &o.tls.versions {
            *self.tls.versions.entry(*k).or_default() += v;
        }
        for (k, v) in &o.errors {
            let stat = self.errors.entry(*k).or_default();
            stat.count += v.count;
            for m in &v.samples {
                if stat.samples.len() < ERROR_SAMPLES && !stat.samples.contains(m) {
                    stat.samples.push(m.clone());
                }
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.ok + self.failed
    }

    pub fn failed(&self) -> u64 {
        self.failed
    }

    /// Step responses that were checked, and those that passed.
    pub fn checks(&self) -> u64 {
        self.checks_passed + self.checks_failed
    }

    pub fn checks_passed(&self) -> u64 {
        self.checks_passed
    }

    pub fn latency_histogram(&self) -> &Histogram<u64> {
        &self.latency
    }

    /// Send-to-response times: the latency itself unless a sample was
    /// scheduled (then they differ by how late it started).
    pub fn service_histogram(&self) -> &Histogram<u64> {
        self.service.as_deref().unwrap_or(&self.latency)
    }

    /// Latency at `q` (0..=1) in milliseconds; 0 with no samples.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latency.is_empty() {
            0.0
        } else {
            ms(self.latency.value_at_quantile(q))
        }
    }

    /// The report's figures over `secs` of run time.
    pub fn metrics(&self, secs: f64) -> Metrics {
        let empty = self.latency.is_empty();
        let pick = |v: u64| if empty { 0.0 } else { ms(v) };
        Metrics {
            total_requests: self.count(),
            successful: self.ok,
            failed: self.failed,
            throughput_rps: if secs > 0.0 {
                round3(self.count() as f64 / secs)
            } else {
                0.0
            },
            latency_min_ms: pick(self.latency.min()),
            latency_mean_ms: if empty {
                0.0
            } else {
                round3(self.latency.mean() / 1000.0)
            },
            latency_p50_ms: self.quantile_ms(0.50),
            latency_p90_ms: self.quantile_ms(0.90),
            latency_p95_ms: self.quantile_ms(0.95),
            latency_p99_ms: self.quantile_ms(0.99),
            latency_max_ms: pick(self.latency.max()),
            bytes_sent: self.bytes_sent,
            bytes_received: self.bytes_received,
            status_codes: self
                .status
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            errors: self.errors.clone(),
            checks_passed: self.checks_passed,
            checks_failed: self.checks_failed,
            service_time: self.service.as_deref().map(ServiceTime::of),
            timings: self.phases.as_ref().map(|hists| {
                Phases::NAMES
                    .into_iter()
                    .zip(hists.iter())
                    .map(|(n, h)| (n, PhaseStat::of(h)))
                    .collect()
            }),
            tls: (!self.tls.versions.is_empty() || self.tls.handshakes > 0).then(|| TlsStat {
                handshakes: self.tls.handshakes,
                resumed_handshakes: self.tls.resumed,
                tls_versions: self
                    .tls
                    .versions
                    .iter()
                    .map(|(v, n)| (v.name().to_string(), *n))
                    .collect(),
            }),
            latency_histogram: None,
            service_time_histogram: None,
            timings_histograms: None,
        }
    }
}

/// One phase's distribution in the report, in milliseconds.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PhaseStat {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl PhaseStat {
    fn of(h: &Histogram<u64>) -> Self {
        let q = |q: f64| {
            if h.is_empty() {
                0.0
            } else {
                ms(h.value_at_quantile(q))
            }
        };
        PhaseStat {
            p50_ms: q(0.50),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
            max_ms: if h.is_empty() { 0.0 } else { ms(h.max()) },
        }
    }
}

/// Send-to-response time under arrival-rate executors, beside the
/// latency (which counts from when the request was due).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ServiceTime {
    pub service_time_mean_ms: f64,
    pub service_time_p50_ms: f64,
    pub service_time_p95_ms: f64,
    pub service_time_p99_ms: f64,
    pub service_time_max_ms: f64,
}

impl ServiceTime {
    fn of(h: &Histogram<u64>) -> Self {
        let p = PhaseStat::of(h);
        ServiceTime {
            service_time_mean_ms: if h.is_empty() {
                0.0
            } else {
                round3(h.mean() / 1000.0)
            },
            service_time_p50_ms: p.p50_ms,
            service_time_p95_ms: p.p95_ms,
            service_time_p99_ms: p.p99_ms,
            service_time_max_ms: p.max_ms,
        }
    }
}

/// TLS in the report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TlsStat {
    /// Full and resumed handshakes (one per new connection).
    pub handshakes: u64,
    pub resumed_handshakes: u64,
    /// Requests by the protocol version they went over ("TLSv1.3" → n).
    pub tls_versions: BTreeMap<String, u64>,
}

pub(crate) fn ms(us: u64) -> f64 {
    round3(us as f64 / 1000.0)
}

pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

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

impl Stats {
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
        let Some(first) = samples.first() else { return };
        let hook = self.step_workload.get(first.step as usize) == Some(&crate::model::HOOK);
        if hook {
            // Setup and teardown are reported apart from the load.
            self.steps[first.step as usize].push_step(samples, None);
            return;
        }
        self.total.push_step(samples, delay);
        if first.step != crate::sample::UNATTRIBUTED {
            let i = first.step as usize;
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
        if o.steps.len() > self.steps.len() {
            self.steps.resize(o.steps.len(), Bucket::default());
        }
        for (mine, theirs) in self.steps.iter_mut().zip(&o.steps) {
            mine.merge(theirs);
        }
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
    pub fn tally(&self, filter: &crate::thresholds::Filter) -> crate::thresholds::Tally {
        let mut out = crate::thresholds::Tally::default();
        match (&filter.steps, filter.workload) {
            (Some(steps), _) => {
                for i in steps {
                    if let Some(b) = self.steps.get(*i) {
                        out.bucket.merge(b);
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
                .map(|i| {
                    let owner = &scenario.workloads[scenario.workflow[i].workload].name;
                    self.step_report(scenario, i, owner, secs)
                })
                .collect(),
            setup: self.hook_report(scenario, crate::model::Hook::Setup),
            setup_failed: None,
            teardown: self.hook_report(scenario, crate::model::Hook::Teardown),
            thresholds: Vec::new(),
        }
    }

    /// A hook's steps, each with its own metrics (throughput over the
    /// hook's own requests is meaningless, so it is over the run's time).
    fn hook_report(
        &self,
        scenario: &Scenario,
        hook: crate::model::Hook,
    ) -> Option<Vec<StepReport>> {
        let steps = scenario.hook_steps(hook)?;
        Some(
            steps
                .map(|i| self.step_report(scenario, i, hook.name(), 0.0))
                .collect(),
        )
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
    pub fn hook_failure(&self, scenario: &Scenario, hook: crate::model::Hook) -> Option<String> {
        let steps = scenario.hook_steps(hook)?;
        steps.into_iter().find_map(|i| {
            let b = self.steps.get(i)?;
            let (kind, e) = b.errors.iter().next()?;
            Some(format!(
                "{} step {:?} failed: {kind}: {}",
                hook.name(),
                scenario.workflow[i].id,
                e.samples.first().map_or("", String::as_str)
            ))
        })
    }
}

/// Counts and latencies, for the run and for each step.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Metrics {
    pub total_requests: u64,
    pub successful: u64,
    pub failed: u64,
    pub throughput_rps: f64,
    pub latency_min_ms: f64,
    pub latency_mean_ms: f64,
    pub latency_p50_ms: f64,
    pub latency_p90_ms: f64,
    pub latency_p95_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_max_ms: f64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Status code (as text) → count.
    pub status_codes: BTreeMap<String, u64>,
    /// Error kind → count and up to three distinct sample messages.
    pub errors: BTreeMap<ErrorKind, ErrorStat>,
    /// Checks that passed and failed: each of a step's (assert_status, the
    /// default 2xx/3xx status check, expect_body, expect, every
    /// expect_header and expect_json entry, max_latency) counts once per
    /// response; a response a transport error stopped counts in neither.
    pub checks_passed: u64,
    pub checks_failed: u64,
    #[serde(flatten)]
    pub service_time: Option<ServiceTime>,
    /// Per-phase latency of requests whose action measures phases (http):
    /// connecting, tls_handshaking, sending, waiting, receiving.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timings: Option<BTreeMap<&'static str, PhaseStat>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsStat>,
    /// The latency histogram itself (HDR V2, deflated, base64), so reports
    /// merge and re-quantile exactly; filled by scheduler-host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_histogram: Option<String>,
    /// The send-to-response histogram, beside `service_time_*`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_time_histogram: Option<String>,
    /// Each phase's histogram, beside `timings`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timings_histograms: Option<BTreeMap<&'static str, String>>,
}

/// The JSON result of a run (documented in the README).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    pub scenario_id: String,
    /// The most users the run may have (every scenario's maximum, summed).
    pub vus: u32,
    pub duration_seconds: f64,
    pub iterations: u64,
    /// Iterations arrival-rate executors could not start: no user was free.
    pub dropped_iterations: u64,
    /// Iterations not started because a `unique` data source had no row
    /// left (each stopped its user).
    pub out_of_data: u64,
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Source address → requests sent from it.
    pub source_ips: BTreeMap<String, u64>,
    /// Each named scenario (the original form has one, "default").
    pub scenarios: Vec<WorkloadReport>,
    pub steps: Vec<StepReport>,
    /// `setup:`'s steps, reported apart from the load (absent without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup: Option<Vec<StepReport>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teardown: Option<Vec<StepReport>>,
    /// Why setup failed (then no load ran, and no teardown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup_failed: Option<String>,
    /// Each threshold's verdict (empty without thresholds).
    pub thresholds: Vec<crate::thresholds::Verdict>,
}

impl Report {
    /// True when every threshold passed (or there are none).
    pub fn thresholds_passed(&self) -> bool {
        self.thresholds.iter().all(|v| v.ok)
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct WorkloadReport {
    pub name: String,
    pub executor: crate::executor::ExecutorKind,
    pub vus_max: u32,
    pub iterations: u64,
    pub dropped_iterations: u64,
    pub out_of_data: u64,
    #[serde(flatten)]
    pub metrics: Metrics,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StepReport {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The named scenario it belongs to.
    pub scenario: String,
    #[serde(flatten)]
    pub metrics: Metrics,
}
