//! What a step's outcome comes to: one sample per request, with the
//! scheduler's checks (status, headers, JSON, latency) judged on the last.

use contract::{ErrorKind, Outcome, Sample, SampleError};
use scenario::checks::Query;
use scenario::model::{Call, Step};
use scenario::template::Scope;
use std::time::Duration;

/// Applies the scheduler's checks on top of the action's outcome, and
/// makes one sample per request: the redirects' own durations, and the
/// rest of the measured time for the last one, so they add up to the step.
pub fn judge(
    i: usize,
    step: &Step,
    o: &Outcome,
    latency: Duration,
    scope: &mut dyn Scope,
) -> Vec<Sample> {
    let mut samples = o.samples(i as u32, latency);
    let (error, passed, failed) = match &o.error {
        Some(e) if e.kind != ErrorKind::CheckFailed => (Some(e.clone()), 0, 0),
        own => checks(step, o, own.as_ref(), latency, scope),
    };
    let last = samples.last_mut().expect("an outcome makes a sample");
    last.error = error;
    last.checks_passed = passed;
    last.checks_failed = failed;
    samples
}

/// Every check of a step on a response that arrived: the action's own
/// (expect_body, expect), the status, expect_header, expect_json and
/// max_latency. The error names the first that failed.
fn checks(
    step: &Step,
    o: &Outcome,
    own: Option<&SampleError>,
    latency: Duration,
    scope: &mut dyn Scope,
) -> (Option<SampleError>, u32, u32) {
    let mut failed: Vec<String> = Vec::new();
    let mut passed = 0u32;
    match own {
        Some(e) => failed.push(e.message.clone()),
        None => passed += u32::from(step.action_checks()),
    }
    if matches!(step.call, Call::Http(_)) {
        match step.expect_status.check(o.status) {
            Some(why) => failed.push(why),
            None => passed += 1,
        }
    }
    let answer = |q: usize| o.answers.get(q).cloned().flatten();
    for (name, want, q) in &step.expect.headers {
        let want = match want.render(scope) {
            Ok(w) => w,
            Err(name) => return missing_in_check(name),
        };
        match answer(*q) {
            Some(got) if scenario::checks::header_matches(&got, &want) => passed += 1,
            got => failed.push(format!(
                "expect_header.{name}: got {}, expected {want:?}",
                shown(got.as_deref())
            )),
        }
    }
    for (pointer, want, q) in &step.expect.json {
        let want = match want.render(scope) {
            Ok(w) => w,
            Err(name) => return missing_in_check(name),
        };
        match answer(*q) {
            Some(got) if got == want => passed += 1,
            got => failed.push(format!(
                "expect_json.{pointer}: got {}, expected {want:?}{}",
                shown(got.as_deref()),
                cut_note(step, o)
            )),
        }
    }
    if let Some(max) = step.expect.max_latency {
        // Whole microseconds, as the report records latencies.
        let latency_us = latency.as_micros();
        if latency_us <= max.as_micros() {
            passed += 1;
        } else {
            failed.push(format!(
                "max_latency: took {:.1} ms, more than {} ms",
                latency_us as f64 / 1000.0,
                max.as_millis()
            ));
        }
    }
    let n = failed.len() as u32;
    let error = failed
        .into_iter()
        .reduce(|first, _| first)
        .map(|first| SampleError {
            kind: ErrorKind::CheckFailed,
            message: if n > 1 {
                format!("{first} (and {} more checks failed)", n - 1)
            } else {
                first
            },
        });
    (error, passed, n)
}

fn missing_in_check(name: String) -> (Option<SampleError>, u32, u32) {
    let e = SampleError {
        kind: ErrorKind::MissingVariable,
        message: format!("${{{name}}} is not set (a check's expected value)"),
    };
    (Some(e), 0, 0)
}

fn shown(v: Option<&str>) -> String {
    match v {
        Some(v) if v.len() > 80 => format!("{:?}…", &v[..v.floor_char_boundary(80)]),
        Some(v) => format!("{v:?}"),
        None => "nothing".into(),
    }
}

/// Why an answer read from the body may be missing: only `max_body` of it
/// was kept. Empty when the whole body was.
pub fn cut_note(step: &Step, o: &Outcome) -> String {
    let kept = match &step.call {
        Call::Http(h) => h.max_body.to_string(),
        _ => "max_body".into(),
    };
    o.body_cut.map_or(String::new(), |of| {
        format!(" (the body was cut: the first {kept} of {of} bytes kept, max_body)")
    })
}

/// The query reads the body (not a header or the status).
pub fn reads_body(q: &Query) -> bool {
    matches!(q, Query::Json(_) | Query::Regex(_))
}
