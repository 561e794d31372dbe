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
}

/// TLS per step: handshakes, resumed ones, and requests by version.
#[derive(Clone, Debug, Default, PartialEq)]
struct TlsCounts {
    handshakes: u64,
    resumed: u64,
    versions: BTreeMap<TlsVersion, u64>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant figures is a valid histogram")
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
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
        }
    }
}

impl Bucket {
    fn push(&mut self, s: &Sample) {
        // Auto-resizing histograms only fail on u64 overflow; saturate instead.
        let _ = self.latency.record(s.latency_us.max(1));
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

    fn merge(&mut self, o: &Bucket) {
        let _ = self.latency.add(&o.latency);
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

    /// Latency at `q` (0..=1) in milliseconds; 0 with no samples.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latency.is_empty() {
            0.0
        } else {
            ms(self.latency.value_at_quantile(q))
        }
    }

    fn metrics(&self, secs: f64) -> Metrics {
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

/// TLS in the report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TlsStat {
    /// Full and resumed handshakes (one per new connection).
    pub handshakes: u64,
    pub resumed_handshakes: u64,
    /// Requests by the protocol version they went over ("TLSv1.3" → n).
    pub tls_versions: BTreeMap<String, u64>,
}

fn ms(us: u64) -> f64 {
    round3(us as f64 / 1000.0)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Everything a run measured. Changed only by `push`, `add_iteration` and
/// `merge`, so every count comes from samples.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    total: Bucket,
    /// Indexed like the workflow.
    steps: Vec<Bucket>,
    /// Source address (none: the unspecified address) → samples sent from it.
    source_ips: BTreeMap<Option<IpAddr>, u64>,
    iterations: u64,
}

impl Stats {
    pub fn new(steps: usize) -> Self {
        Stats {
            steps: vec![Bucket::default(); steps],
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

    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// A user finished one workflow iteration.
    pub fn add_iteration(&mut self) {
        self.iterations += 1;
    }

    /// Adds one sample, sent from `source_ip` (none: the unspecified address).
    pub fn push(&mut self, s: &Sample, source_ip: Option<IpAddr>) {
        self.total.push(s);
        if s.step != crate::sample::UNATTRIBUTED {
            let i = s.step as usize;
            if i >= self.steps.len() {
                self.steps.resize(i + 1, Bucket::default());
            }
            self.steps[i].push(s);
        }
        *self.source_ips.entry(source_ip).or_default() += 1;
    }

    pub fn merge(&mut self, o: &Stats) {
        self.total.merge(&o.total);
        if o.steps.len() > self.steps.len() {
            self.steps.resize(o.steps.len(), Bucket::default());
        }
        for (mine, theirs) in self.steps.iter_mut().zip(&o.steps) {
            mine.merge(theirs);
        }
        for (k, v) in &o.source_ips {
            *self.source_ips.entry(*k).or_default() += v;
        }
        self.iterations += o.iterations;
    }

    pub fn report(&self, scenario: &Scenario, elapsed: Duration) -> Report {
        let secs = elapsed.as_secs_f64();
        Report {
            scenario_id: scenario.id.clone(),
            vus: scenario.load.total_users,
            duration_seconds: round3(secs),
            iterations: self.iterations,
            metrics: self.total.metrics(secs),
            source_ips: self
                .source_ips
                .iter()
                .map(|(ip, n)| {
                    let name = ip.map_or_else(|| UNSPECIFIED.to_string(), |ip| ip.to_string());
                    (name, *n)
                })
                .collect(),
            steps: scenario
                .workflow
                .iter()
                .zip(
                    self.steps
                        .iter()
                        .chain(std::iter::repeat(&Bucket::default())),
                )
                .map(|(st, b)| StepReport {
                    id: st.id.clone(),
                    name: st.name.clone(),
                    kind: st.kind.clone(),
                    metrics: b.metrics(secs),
                })
                .collect(),
        }
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
    /// Per-phase latency of requests whose action measures phases (http):
    /// connecting, tls_handshaking, sending, waiting, receiving.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timings: Option<BTreeMap<&'static str, PhaseStat>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsStat>,
}

/// The JSON result of a run (documented in the README).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    pub scenario_id: String,
    pub vus: u32,
    pub duration_seconds: f64,
    pub iterations: u64,
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Source address → requests sent from it.
    pub source_ips: BTreeMap<String, u64>,
    pub steps: Vec<StepReport>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StepReport {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(flatten)]
    pub metrics: Metrics,
}
