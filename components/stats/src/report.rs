//! The report: one type, written by a run and read back by `compare`,
//! `report --html` and `merge`. Adding a field means adding it here (and
//! to `host/report.schema.json`, which a test keeps equal).

use contract::ErrorKind;
use scenario::executor::ExecutorKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ErrorStat {
    pub count: u64,
    pub samples: Vec<String>,
}

/// One phase's distribution in the report, in milliseconds.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PhaseStat {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Send-to-response time under arrival-rate executors, beside the
/// latency (which counts from when the request was due).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ServiceTime {
    pub service_time_mean_ms: f64,
    pub service_time_p50_ms: f64,
    pub service_time_p95_ms: f64,
    pub service_time_p99_ms: f64,
    pub service_time_max_ms: f64,
}

/// TLS in the report.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct TlsStat {
    /// Full and resumed handshakes (one per new connection).
    pub handshakes: u64,
    pub resumed_handshakes: u64,
    /// Requests by the protocol version they went over ("TLSv1.3" → n).
    pub tls_versions: BTreeMap<String, u64>,
}

/// WebSocket sessions in the report (ws steps).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct WsStat {
    pub sessions: u64,
    /// Data messages (text and binary) each way.
    pub messages_sent: u64,
    pub messages_received: u64,
    /// Connect, TLS and upgrade, to the 101.
    pub handshake: PhaseStat,
    /// `send … expect` (send to the matching message) and `ping` round trips.
    pub round_trips: u64,
    pub round_trip: PhaseStat,
    /// Sessions whose close handshake completed, by close code ("1000" → n).
    pub closes: BTreeMap<String, u64>,
    /// The histograms themselves (HDR V2, deflated, base64), for merging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handshake_histogram: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_trip_histogram: Option<String>,
}

/// A script's custom metric (`counter` or `trend`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct CustomStat {
    /// "counter" or "trend".
    pub kind: String,
    /// Values recorded.
    pub count: u64,
    /// Their sum (a counter's value).
    pub sum: f64,
    /// A trend's figures (0 for a counter).
    pub avg: f64,
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    /// A trend's histogram (HDR V2, deflated, base64; values in
    /// thousandths), for merging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<String>,
}

/// Counts and latencies, for the run and for each step.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Metrics {
    pub total_requests: u64,
    #[serde(default)]
    pub successful: u64,
    pub failed: u64,
    pub throughput_rps: f64,
    #[serde(default)]
    pub latency_min_ms: f64,
    pub latency_mean_ms: f64,
    pub latency_p50_ms: f64,
    pub latency_p90_ms: f64,
    pub latency_p95_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_max_ms: f64,
    #[serde(default)]
    pub bytes_sent: u64,
    #[serde(default)]
    pub bytes_received: u64,
    /// Status code (as text) → count.
    #[serde(default)]
    pub status_codes: BTreeMap<String, u64>,
    /// Error kind → count and up to three distinct sample messages.
    #[serde(default)]
    pub errors: BTreeMap<ErrorKind, ErrorStat>,
    /// Checks that passed and failed: each of a step's (assert_status, the
    /// default 2xx/3xx status check, expect_body, expect, every
    /// expect_header and expect_json entry, max_latency) counts once per
    /// response; a response a transport error stopped counts in neither.
    #[serde(default)]
    pub checks_passed: u64,
    #[serde(default)]
    pub checks_failed: u64,
    #[serde(flatten)]
    pub service_time: Option<ServiceTime>,
    /// Per-phase latency of requests whose action measures phases (http):
    /// connecting, tls_handshaking, sending, waiting, receiving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timings: Option<BTreeMap<String, PhaseStat>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsStat>,
    /// Requests by the HTTP version they went over ("HTTP/2" → n), for
    /// steps whose action says (http).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub http_versions: BTreeMap<String, u64>,
    /// gRPC calls by grpc-status ("OK" → n, "NOT_FOUND" → n), for grpc steps.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub grpc_statuses: BTreeMap<String, u64>,
    /// Reply messages gRPC calls received (a server-streaming call's many).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub grpc_messages: u64,
    /// WebSocket sessions, for ws steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ws: Option<WsStat>,
    /// The latency histogram itself (HDR V2, deflated, base64), so reports
    /// merge and re-quantile exactly; filled by scheduler-host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_histogram: Option<String>,
    /// The send-to-response histogram, beside `service_time_*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_time_histogram: Option<String>,
    /// Each phase's histogram, beside `timings`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timings_histograms: Option<BTreeMap<String, String>>,
}

/// The JSON result of a run (documented in the book's Reports chapter):
/// what plain mode prints and, with `host` filled, what scheduler-host
/// writes and reads back.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub scenario_id: String,
    /// The most users the run may have (every scenario's maximum, summed).
    #[serde(default)]
    pub vus: u32,
    #[serde(default)]
    pub duration_seconds: f64,
    #[serde(default)]
    pub iterations: u64,
    /// Iterations arrival-rate executors could not start: no user was free.
    #[serde(default)]
    pub dropped_iterations: u64,
    /// Iterations not started because a `unique` data source had no row
    /// left (each stopped its user).
    #[serde(default)]
    pub out_of_data: u64,
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Source address → requests sent from it.
    #[serde(default)]
    pub source_ips: BTreeMap<String, u64>,
    /// Each named scenario (the original form has one, "default").
    #[serde(default)]
    pub scenarios: Vec<WorkloadReport>,
    #[serde(default)]
    pub steps: Vec<StepReport>,
    /// `setup:`'s steps, reported apart from the load (absent without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<Vec<StepReport>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teardown: Option<Vec<StepReport>>,
    /// Why setup failed (then no load ran, and no teardown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_failed: Option<String>,
    /// A script's custom metrics, by name (absent without any).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, CustomStat>,
    /// Each threshold's verdict (empty without thresholds).
    #[serde(default)]
    pub thresholds: Vec<Verdict>,
    /// What scheduler-host adds (plain mode has none of it).
    #[serde(flatten)]
    pub host: Option<HostRun>,
}

impl Report {
    /// True when every threshold passed (or there are none).
    pub fn thresholds_passed(&self) -> bool {
        self.thresholds.iter().all(|v| v.ok)
    }

    /// The host's additions, or their defaults (a plain-mode report).
    pub fn host(&self) -> &HostRun {
        static NONE: std::sync::OnceLock<HostRun> = std::sync::OnceLock::new();
        self.host
            .as_ref()
            .unwrap_or_else(|| NONE.get_or_init(HostRun::default))
    }

    /// The most users active at once, from the timeline (`vus` is how many
    /// the run may have: every scenario's maximum, summed); `vus` when
    /// there is no timeline (plain mode).
    pub fn peak_users(&self) -> u32 {
        let timeline = &self.host().timeline;
        if timeline.is_empty() {
            return self.vus;
        }
        timeline
            .iter()
            .filter(|r| r.is_total())
            .map(|r| r.active_users)
            .max()
            .unwrap_or(0)
    }

    /// "25" or "25 (of 74 allowed)": the users a run had, for people.
    pub fn users_text(&self) -> String {
        match self.peak_users() {
            p if p == self.vus => p.to_string(),
            p => format!("{p} (of {} allowed)", self.vus),
        }
    }
}

/// What scheduler-host adds to a run's report.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct HostRun {
    /// True when SIGINT/SIGTERM ended the run early.
    #[serde(default)]
    pub interrupted: bool,
    /// Where the signal came: "init" (creating instances, before the clock
    /// started) or "load"; null when the run was not interrupted.
    #[serde(default)]
    pub interrupted_during: Option<Phase>,
    /// Seconds the init phase took to instantiate and initialise every
    /// user's instance, before the clock started (null if some never were).
    #[serde(default)]
    pub instances_ready_seconds: Option<f64>,
    /// The threshold (`key: expression`) whose `abort_on_fail` stopped the
    /// run early; null otherwise.
    #[serde(default)]
    pub aborted_by_threshold: Option<String>,
    /// When the load started (RFC 3339, UTC), the timeline's second 0.
    #[serde(default)]
    pub started_at: String,
    /// The scheduler-host version that ran it.
    #[serde(default)]
    pub host_version: String,
    /// The slice of the run this report covers (`--shard`), like "0/4";
    /// null for a whole run.
    #[serde(default)]
    pub shard: Option<String>,
    /// Per second: a total row (`step` null), then a row for each step
    /// that ran in it.
    #[serde(default)]
    pub timeline: Vec<Row>,
}

/// Where a run was when a signal stopped it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Creating the users' instances, before the clock started.
    Init,
    /// Running the scenario.
    Load,
}

/// One second of one step (or of the whole run: `step` is none).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Row {
    /// Seconds since the load started; this row is [second, second+1).
    pub second: u64,
    /// The wall-clock start of that second (Unix time, ms).
    pub unix_ms: u64,
    /// The step's named scenario; none on the total row.
    pub scenario: Option<String>,
    /// The step's id; none on the total row (every step, plus samples no
    /// step owns, like a user whose instance could not be created).
    pub step: Option<String>,
    pub requests: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<ErrorKind, u64>,
    /// Status code (as text) → responses.
    pub status_codes: BTreeMap<String, u64>,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The most users active during the second (of the step's scenario, or
    /// of all scenarios on the total row).
    pub active_users: u32,
    /// The second's latency histogram (µs; HDR V2, deflated, base64); not
    /// in the CSV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<String>,
}

impl Row {
    pub fn is_total(&self) -> bool {
        self.step.is_none()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WorkloadReport {
    pub name: String,
    pub executor: ExecutorKind,
    pub vus_max: u32,
    #[serde(default)]
    pub iterations: u64,
    #[serde(default)]
    pub dropped_iterations: u64,
    #[serde(default)]
    pub out_of_data: u64,
    #[serde(flatten)]
    pub metrics: Metrics,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StepReport {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The named scenario it belongs to.
    pub scenario: String,
    #[serde(flatten)]
    pub metrics: Metrics,
}

impl StepReport {
    /// "id (kind)", or "scenario/id (kind)" outside the default scenario.
    pub fn label(&self) -> String {
        if self.scenario == "default" {
            format!("{} ({})", self.id, self.kind)
        } else {
            format!("{}/{} ({})", self.scenario, self.id, self.kind)
        }
    }
}

/// A threshold's verdict, as the report carries it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    /// The key as written (`latency{step:login}`).
    pub metric: String,
    /// The expression as written (`p(95)<300`).
    pub threshold: String,
    pub ok: bool,
    /// The measured value (ms for latencies, a fraction for rates): over
    /// the run, or for a window the first failing window's (else the worst).
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<f64>,
    /// It stopped the run (`abort_on_fail`).
    #[serde(default)]
    pub aborted_run: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
