use super::Common;
use crate::error::Failure;
use crate::{plan, session};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct RunArgs {
    /// Scenario file (YAML)
    pub scenario: PathBuf,
    #[command(flatten)]
    pub common: Common,
    /// Run this finished composition (e.g. target/scheduler-final.wasm) instead of the built-in parts
    #[arg(long, value_name = "FILE.wasm")]
    pub component: Option<PathBuf>,
    /// Write the JSON report here ("-" for stdout, instead of the summary)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write one JUnit testcase per threshold here (a failed one says what was measured)
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write per-second rows (total and per step, with each second's latency histogram) here as JSON lines, as the run goes
    #[arg(long, value_name = "FILE.jsonl")]
    pub timeline: Option<PathBuf>,
    /// Write the same per-second rows, without histograms, here as CSV, as the run goes
    #[arg(long, value_name = "FILE.csv")]
    pub csv: Option<PathBuf>,
    /// Write every request here as CSV as the run goes (ms since the start, scenario, step, latency in µs as the report records it, status, error kind)
    #[arg(long, value_name = "FILE.csv")]
    pub samples: Option<PathBuf>,
    /// Write a self-contained HTML report here (charts, tables; opens from disk)
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// Draw this saved report (`--out` of an earlier run) beside this run in the HTML report
    #[arg(long, value_name = "BASE.json", requires = "html")]
    pub baseline: Option<PathBuf>,
    /// Serve live Prometheus metrics at http://ADDR/metrics during the run, like 127.0.0.1:9464 (off unless given; binds only ADDR)
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Keep serving the final metrics this long after the run (the report is already written), so the last scrape sees them, like 15s
    #[arg(long, value_name = "DURATION", value_parser = super::parse_duration, requires = "metrics")]
    pub metrics_hold: Option<std::time::Duration>,
    /// No live progress; print only the summary
    #[arg(long)]
    pub quiet: bool,
    /// Never send to this address (IP or IP:port), even if a step targets it; such steps fail as egress-denied
    #[arg(long, value_name = "ADDR")]
    pub deny: Vec<String>,
}

pub async fn main(a: RunArgs) -> Result<u8, Failure> {
    let mut plan = plan::from_file(&a.scenario, &a.common.overrides()?, &a.common.actions)?;
    let ready = session::prepare(&mut plan, a.component.as_deref()).await?;
    plan.deny(&a.deny)?;
    let outputs = session::Outputs {
        out: a.out.as_deref(),
        junit: a.junit.as_deref(),
        timeline: a.timeline.as_deref(),
        csv: a.csv.as_deref(),
        samples: a.samples.as_deref(),
        html: a.html.as_deref(),
        baseline: a.baseline.as_deref(),
        metrics: a.metrics,
        metrics_hold: a.metrics_hold,
        quiet: a.quiet,
    };
    Ok(session::execute(&plan, ready, outputs).await?.0)
}
