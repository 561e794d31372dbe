//! A report read back from its JSON (`run --out`): what `compare` and the
//! HTML report use. `run --html` renders from the same form (its report
//! serialized and read back), so a saved report and a live run draw alike.
//! Fields a report of an older host lacks read as empty.

use crate::timeline::Row;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The figures a report writes for the run, each named scenario and each
/// step (the same field names in all three places).
#[derive(Clone, Debug, Deserialize)]
pub struct Figures {
    pub total_requests: u64,
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
    pub status_codes: BTreeMap<String, u64>,
    #[serde(default)]
    pub errors: BTreeMap<String, ErrorStat>,
    #[serde(default)]
    pub latency_histogram: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ErrorStat {
    pub count: u64,
    #[serde(default)]
    pub samples: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Step {
    pub id: String,
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
    pub executor: String,
    pub vus_max: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Verdict {
    pub metric: String,
    pub threshold: String,
    pub ok: bool,
    pub value: f64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Report {
    pub scenario_id: String,
    #[serde(default)]
    pub vus: u64,
    #[serde(default)]
    pub duration_seconds: f64,
    #[serde(default)]
    pub iterations: u64,
    #[serde(default)]
    pub dropped_iterations: u64,
    #[serde(flatten)]
    pub total: Figures,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub scenarios: Vec<Workload>,
    #[serde(default)]
    pub source_ips: BTreeMap<String, u64>,
    #[serde(default)]
    pub thresholds: Vec<Verdict>,
    #[serde(default)]
    pub interrupted: bool,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub host_version: String,
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
