use super::Common;
use crate::error::Failure;
use crate::{plan, session};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct RunArgs {
    /// Scenario file (YAML), or a URL to load-test in one line (http:// or https://)
    #[arg(value_name = "SCENARIO|URL")]
    pub scenario: String,
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub line: OneLineArgs,
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
    /// Write every request one user made (headers, bodies up to max_body, timings) here as HAR 1.2, which browsers' DevTools open; with shards, the shard that runs the user writes it
    #[arg(long, value_name = "FILE.har")]
    pub har: Option<PathBuf>,
    /// The user --har traces, by index from 0 (default 0)
    #[arg(long, value_name = "N", requires = "har")]
    pub har_user: Option<u32>,
    /// No live progress; print only the summary
    #[arg(long)]
    pub quiet: bool,
    /// Never send to this address (IP or IP:port), even if a step targets it; such steps fail as egress-denied
    #[arg(long, value_name = "ADDR")]
    pub deny: Vec<String>,
}

/// Only with a URL: the request and, with --rate, the arrival rate.
#[derive(Args)]
#[command(next_help_heading = "With a URL (one-line mode)")]
pub struct OneLineArgs {
    /// HTTP method (default GET)
    #[arg(short = 'm', long, value_name = "METHOD")]
    pub method: Option<String>,
    /// A request header, 'Name: value' (repeatable)
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The request body: TEXT, or @FILE for a file's contents
    #[arg(long, value_name = "TEXT|@FILE")]
    pub body: Option<String>,
    /// Start this many requests per second (a constant-arrival-rate, open model) instead of looping -u users; -u then caps the users it may hold (default: the rate, 10 to 1000)
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<u32>,
    /// Speak HTTP/2 (as oha's --http2): h2 by ALPN on https://, h2c on http:// (default: https:// negotiates, http:// is HTTP/1.1)
    #[arg(long)]
    pub http2: bool,
}

impl OneLineArgs {
    fn given(&self) -> Option<&'static str> {
        if self.method.is_some() {
            Some("-m/--method")
        } else if !self.headers.is_empty() {
            Some("-H/--header")
        } else if self.body.is_some() {
            Some("--body")
        } else if self.http2 {
            Some("--http2")
        } else if self.rate.is_some() {
            Some("--rate")
        } else {
            None
        }
    }
}

/// The plan: from the scenario file, or from the URL and its flags.
fn plan(a: &RunArgs) -> Result<plan::Plan, Failure> {
    let o = a.common.overrides()?;
    if !scenario::oneline::is_url(&a.scenario) {
        if let Some(flag) = a.line.given() {
            return Err(Failure::input(format!(
                "{flag} applies to a URL (`run http://… {flag} …`), not to a scenario file: set it in the file's step"
            )));
        }
        return plan::from_file(Path::new(&a.scenario), &o, &a.common.actions);
    }
    let body = match a.line.body.as_deref() {
        Some(b) if b.starts_with('@') => Some(
            std::fs::read_to_string(&b[1..])
                .map_err(|e| Failure::input(format!("--body {b}: cannot read it: {e}")))?,
        ),
        other => other.map(str::to_string),
    };
    let line = scenario::oneline::OneLine {
        url: a.scenario.clone(),
        method: a.line.method.clone(),
        headers: a.line.headers.clone(),
        body,
        rate: a.line.rate,
        http2: a.line.http2,
        users: a.common.vus,
        duration: a.common.duration,
        iterations: a.common.iterations,
    };
    plan::from_url(&line, &o, &a.common.actions)
}

pub async fn main(a: RunArgs) -> Result<u8, Failure> {
    let mut plan = plan(&a)?;
    let har = match &a.har {
        Some(path) => trace(&mut plan, path, a.har_user.unwrap_or(0))?,
        None => None,
    };
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
        har: har.as_deref(),
    };
    Ok(session::execute(&plan, ready, outputs).await?.0)
}

/// Traces user `user` (`--har-user`) into `path`: the file is checked
/// writable now; none when another shard runs that user.
fn trace(plan: &mut plan::Plan, path: &Path, user: u32) -> Result<Option<PathBuf>, Failure> {
    let users = plan.scenario.max_vus();
    if user >= users {
        return Err(Failure::input(format!(
            "--har-user {user}: the scenario has {users} users (0 to {})",
            users.saturating_sub(1)
        )));
    }
    std::fs::File::create(path)
        .map_err(|e| Failure::input(format!("--har {}: {e}", path.display())))?;
    plan.scenario.trace_user = Some(user);
    if !plan.scenario.shard_users().any(|u| u == user) {
        let _ = std::fs::remove_file(path);
        eprintln!("note: user {user} runs in another shard; this shard writes no --har file");
        return Ok(None);
    }
    Ok(Some(path.to_path_buf()))
}
