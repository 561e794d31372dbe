//! One bucket of counters and HDR histograms: a step's, a named scenario's
//! or the run's. Samples go in with `push_step`, buckets add up with
//! `merge`, and `metrics` renders the report's figures.

pub use crate::hist::{histogram, ms, round3, us};
use crate::report::{ErrorStat, Metrics, PhaseStat, ServiceTime, TlsStat};
use crate::ws::WsCounts;
use contract::{ErrorKind, HttpVersion, Phases, Sample, TlsVersion};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::time::Duration;

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
    pub(crate) errors: BTreeMap<ErrorKind, ErrorStat>,
    /// Per-phase latency in microseconds, once a sample carried phases.
    phases: Option<Box<[Histogram<u64>; 5]>>,
    tls: TlsCounts,
    /// Requests by HTTP version.
    http: BTreeMap<HttpVersion, u64>,
    grpc: GrpcCounts,
    /// WebSocket figures, once a sample was a session.
    ws: Option<Box<WsCounts>>,
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
    pub http_versions: BTreeMap<HttpVersion, u64>,
    pub grpc_statuses: BTreeMap<u16, u64>,
    pub grpc_messages: u64,
    pub ws: Option<WsCounts>,
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

/// gRPC per step: calls by grpc-status, and reply messages received.
#[derive(Clone, Debug, Default, PartialEq)]
struct GrpcCounts {
    statuses: BTreeMap<u16, u64>,
    messages: u64,
}

/// Each of a step's samples with the delay (µs) its latency counts from:
/// `delay` (how late an arrival-rate step started) goes to the first
/// request, 0 to its redirects; none when the step was not scheduled.
pub fn delays(
    samples: &[Sample],
    delay: Option<Duration>,
) -> impl Iterator<Item = (&Sample, Option<u64>)> {
    let delay_us = delay.map(us);
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
    us(s.latency).saturating_add(delay_us.unwrap_or(0)).max(1)
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
            http: BTreeMap::new(),
            grpc: GrpcCounts::default(),
            ws: None,
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
            http: p.http_versions,
            grpc: GrpcCounts {
                statuses: p.grpc_statuses,
                messages: p.grpc_messages,
            },
            ws: p.ws.map(Box::new),
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

    /// WebSocket figures, once a sample was a session.
    pub fn ws(&self) -> Option<&WsCounts> {
        self.ws.as_deref()
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
            let _ = service.record(us(s.latency).max(1));
        }
        // Auto-resizing histograms only fail on u64 overflow; saturate instead.
        let _ = self.latency.record(recorded_us(s, delay_us));
        self.bytes_sent += s.bytes_sent;
        self.bytes_received += s.bytes_received;
        if let Some(code) = s.status {
            *self.status.entry(code).or_default() += 1;
        }
        if let Some(p) = &s.phases {
            for (h, d) in self.phases_mut().iter_mut().zip(p.values()) {
                // 0 is a real value here (a reused connection's connecting).
                let _ = h.record(us(d));
            }
        }
        if let Some(t) = &s.tls {
            self.tls.handshakes += u64::from(t.handshake);
            self.tls.resumed += u64::from(t.handshake && t.resumed);
            *self.tls.versions.entry(t.version).or_default() += 1;
        }
        if let Some(v) = s.http_version {
            *self.http.entry(v).or_default() += 1;
        }
        if let Some(g) = s.grpc {
            *self.grpc.statuses.entry(g.status).or_default() += 1;
            self.grpc.messages += u64::from(g.messages);
        }
        if let Some(w) = &s.ws {
            self.ws.get_or_insert_default().push(w);
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
        for (k, v) in &o.http {
            *self.http.entry(*k).or_default() += v;
        }
        for (k, v) in &o.grpc.statuses {
            *self.grpc.statuses.entry(*k).or_default() += v;
        }
        self.grpc.messages += o.grpc.messages;
        if let Some(theirs) = &o.ws {
            self.ws.get_or_insert_default().merge(theirs);
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

    /// Responses by status code.
    pub fn status_codes(&self) -> &BTreeMap<u16, u64> {
        &self.status
    }

    /// Failures by kind, with sample messages.
    pub fn errors(&self) -> &BTreeMap<ErrorKind, ErrorStat> {
        &self.errors
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
                    .map(|(n, h)| (n.to_string(), PhaseStat::of(h)))
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
            http_versions: self
                .http
                .iter()
                .map(|(v, n)| (v.name().to_string(), *n))
                .collect(),
            grpc_statuses: self
                .grpc
                .statuses
                .iter()
                .map(|(code, n)| (contract::grpc::status_name(*code), *n))
                .collect(),
            grpc_messages: self.grpc.messages,
            ws: self.ws.as_deref().map(WsCounts::stat),
            latency_histogram: None,
            service_time_histogram: None,
            timings_histograms: None,
        }
    }
}
