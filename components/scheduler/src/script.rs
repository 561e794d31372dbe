//! A script step: one call of the script's `iteration`, `setup` or
//! `teardown`, whose requests come back as samples named by the script
//! (each a step of its own in the report), and whose exception, if it
//! threw one, fails the iteration.

use contract::{ErrorKind, MetricPoint, Outcome, Sample};
use scenario::model::ScriptPart;
use std::net::IpAddr;
use std::time::Duration;

/// What a script call is given: the user's turn.
pub struct Turn {
    pub part: ScriptPart,
    pub vu: u32,
    pub iteration: u64,
    pub source_ip: Option<IpAddr>,
    /// Budget of a request that sets none.
    pub timeout: Duration,
    pub max_body: u64,
    pub trace: bool,
    /// The scenario's `tls:` (index into `Scenario::tls`).
    pub tls: Option<usize>,
    pub env: Vec<(String, String)>,
    pub setup: Vec<(String, String)>,
    /// This iteration's row of each data source (name, column → value).
    pub rows: Vec<(String, Vec<(String, String)>)>,
}

/// One request a script made.
pub struct Request {
    pub name: String,
    pub latency: Duration,
    pub outcome: Outcome,
    pub checks_passed: u32,
    pub checks_failed: u32,
}

/// What a script call did.
#[derive(Default)]
pub struct Run {
    pub requests: Vec<Request>,
    pub points: Vec<MetricPoint>,
    /// The exception it threw, with the script's message.
    pub error: Option<String>,
    /// What `setup` returned.
    pub values: Vec<(String, String)>,
}

/// Name of the sample an exception is reported under when the script
/// threw (its iteration, setup or teardown, as a step of its own).
pub fn thrown_name(part: ScriptPart) -> String {
    format!("({} threw)", part.name())
}

/// The samples of script step `i`: one per request (and per redirect
/// before it), named; the exception as a failed sample of its own; the
/// custom metric points on the last sample.
pub fn samples(i: usize, part: ScriptPart, run: Run) -> Vec<Sample> {
    let mut out = Vec::with_capacity(run.requests.len() + 1);
    for r in run.requests {
        let mut samples = r.outcome.samples(i as u32, r.latency);
        for s in &mut samples {
            s.name = Some(r.name.clone());
        }
        let last = samples.last_mut().expect("an outcome makes a sample");
        last.checks_passed = r.checks_passed;
        last.checks_failed = r.checks_failed;
        out.extend(samples);
    }
    if let Some(message) = run.error {
        let mut s = Sample::failed(i as u32, Duration::ZERO, ErrorKind::ScriptError, message);
        s.name = Some(thrown_name(part));
        out.push(s);
    }
    if let Some(last) = out.last_mut() {
        last.points = run.points;
    }
    out
}
