//! The report: one type, written by a run and read back by `compare`,
//! `report --html` and `merge`. Adding a field means adding it here (and
//! to `host/report.schema.json`, which a test keeps equal).

use contract::ErrorKind;
use scenario::executor::ExecutorKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct ErrorStat {
    pub count: u64,
    pub samples: Vec<String>,
}

/// One phase's distribution in the report, in milliseconds.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PhaseStat {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
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

/// TLS in the report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TlsStat {
    /// Full and resumed handshakes (one per new connection).
    pub handshakes: u64,
    pub resumed_handshakes: u64,
    /// Requests by the protocol version they went over ("TLSv1.3" → n).
    pub tls_versions: BTreeMap<String, u64>,
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
    pub thresholds: Vec<Verdict>,
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
    pub executor: ExecutorKind,
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

/// A threshold's verdict, as the report carries it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Verdict {
    /// The key as written (`latency{step:login}`).
    pub metric: String,
    /// The expression as written (`p(95)<300`).
    pub threshold: String,
    pub ok: bool,
    /// The measured value (ms for latencies, a fraction for rates): over
    /// the run, or for a window the first failing window's (else the worst).
    pub value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<f64>,
    /// It stopped the run (`abort_on_fail`).
    pub aborted_run: bool,
}
