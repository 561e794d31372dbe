//! A report read back from its JSON (`run --out`): what `compare`, the HTML
//! report and `merge` read. `run --html` renders from the same form (its
//! report serialized and read back), so a saved report and a live run draw
//! alike. Fields a report of an older host lacks read as empty.

use crate::run::Phase;
use crate::timeline::Row;
use contract::ErrorKind;
use scenario::executor::ExecutorKind;
use serde::Deserialize;
use stats::ErrorStat;
use std::collections::BTreeMap;

/// The figures a report writes for the run, each named scenario and each
/// step (the same field names in all three places).
#[derive(Clone, Debug, Deserialize)]
pub struct Figures {
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
    #[serde(default)]
    pub status_codes: BTreeMap<String, u64>,
    #[serde(default)]
    pub errors: BTreeMap<ErrorKind, ErrorStat>,
    #[serde(default)]
    pub checks_passed: u64,
    #[serde(default)]
    pub checks_failed: u64,
    #[serde(default)]
    pub tls: Option<Tls>,
    #[serde(default)]
    pub latency_histogram: Option<String>,
    #[serde(default)]
    pub service_time_histogram: Option<String>,
    #[serde(default)]
    pub timings_histograms: Option<BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Tls {
    pub handshakes: u64,
    pub resumed_handshakes: u64,
    pub tls_versions: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Step {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub scenario: String,
    #[serde(flatten)]
    pub figures: Figures,
}

impl Step {
    /// "id (kind)", or "scenario/id (kind)" outside the default scenario.
    pub fn label(&self) -> String {
        if self.scenario == "default" {
            format!("{} ({})", self.id, self.kind)
        } else {
            format!("{}/{} ({})", self.scenario, self.id, self.kind)
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct Workload {
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
    pub figures: Figures,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Verdict {
    pub metric: String,
    pub threshold: String,
    pub ok: bool,
    pub value: f64,
    #[serde(default)]
    pub window_seconds: Option<f64>,
    #[serde(default)]
    pub aborted_run: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Report {
    pub scenario_id: String,
    #[serde(default)]
    pub vus: u32,
    #[serde(default)]
    pub duration_seconds: f64,
    #[serde(default)]
    pub iterations: u64,
    #[serde(default)]
    pub dropped_iterations: u64,
    #[serde(default)]
    pub out_of_data: u64,
    #[serde(flatten)]
    pub total: Figures,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub setup: Option<Vec<Step>>,
    #[serde(default)]
    pub teardown: Option<Vec<Step>>,
    #[serde(default)]
    pub setup_failed: Option<String>,
    #[serde(default)]
    pub scenarios: Vec<Workload>,
    #[serde(default)]
    pub source_ips: BTreeMap<String, u64>,
    #[serde(default)]
    pub thresholds: Vec<Verdict>,
    #[serde(default)]
    pub interrupted: bool,
    #[serde(default)]
    pub interrupted_during: Option<Phase>,
    #[serde(default)]
    pub instances_ready_seconds: Option<f64>,
    #[serde(default)]
    pub aborted_by_threshold: Option<String>,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub host_version: String,
    #[serde(default)]
    pub shard: Option<String>,
    #[serde(default)]
    pub timeline: Vec<Row>,
}

/// Parses a report's text; `name` (its file) prefixes the error.
pub fn parse(text: &str, name: &str) -> Result<Report, String> {
    serde_json::from_str(text).map_err(|e| {
        format!(
            "{name}: not a scheduler-host report ({e}, line {} column {})",
            e.line(),
            e.column()
        )
    })
}

/// Reads and parses a report file.
pub fn read(path: &std::path::Path) -> Result<Report, crate::error::Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::error::Failure::input(format!("report {}: {e}", path.display())))?;
    parse(&text, &path.display().to_string()).map_err(crate::error::Failure::input)
}
