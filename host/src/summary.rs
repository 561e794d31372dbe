//! The end-of-run summary table (stdout).

use stats::Metrics;
use stats::Report;
use std::fmt::Write;

/// Printed when some step's TLS does not verify certificates.
pub const SKIP_VERIFY_WARNING: &str = "warning: insecure_skip_verify is on: TLS certificates were not verified (encrypted, not authenticated)";

pub fn render(
    r: &Report,
    interrupted: Option<crate::run::Phase>,
    skip_verify: bool,
    aborted_by: Option<&str>,
) -> String {
    let mut s = String::new();
    if skip_verify {
        let _ = writeln!(s, "{SKIP_VERIFY_WARNING}");
    }
    let m = &r.metrics;
    let _ = writeln!(
        s,
        "scenario {}: {} users, {:.2}s{}, {} iterations{}, {} requests, {} failed",
        r.scenario_id,
        r.users_text(),
        r.duration_seconds,
        match (interrupted, aborted_by) {
            (Some(crate::run::Phase::Init), _) => {
                " (interrupted while creating the users' instances)".to_string()
            }
            (Some(crate::run::Phase::Load), _) => " (interrupted)".to_string(),
            (None, Some(t)) => format!(" (stopped early: threshold {t} failed)"),
            (None, None) => String::new(),
        },
        r.iterations,
        if r.dropped_iterations > 0 {
            format!(", {} dropped (no free user)", r.dropped_iterations)
        } else {
            String::new()
        },
        m.total_requests,
        percent(m.failed, m.total_requests)
    );
    if let Some(w) = failure_warning(r) {
        let _ = writeln!(s, "{w}");
    }
    if let Some(why) = &r.setup_failed {
        let _ = writeln!(s, "setup failed, so no load ran: {why}");
    }
    if r.out_of_data > 0 {
        let _ = writeln!(
            s,
            "{} iterations not started: a unique data source had no row left (their users stopped)",
            r.out_of_data
        );
    }
    let named = r.scenarios.len() > 1 || r.scenarios.iter().any(|w| w.name != "default");
    if named {
        for w in &r.scenarios {
            let _ = writeln!(
                s,
                "  {} ({}): up to {} users, {} iterations, {} dropped",
                w.name,
                w.executor.name(),
                w.vus_max,
                w.iterations,
                w.dropped_iterations
            );
        }
    }
    // Every row's name, first, so the columns fit the longest.
    let mut rows: Vec<(String, &Metrics)> = r
        .steps
        .iter()
        .map(|st| (format!("{} ({})", label(st, named), st.kind), &st.metrics))
        .collect();
    if named {
        for w in &r.scenarios {
            rows.push((format!("scenario {}", w.name), &w.metrics));
        }
    }
    rows.push(("total".into(), &r.metrics));
    // Setup and teardown, apart from the load's figures.
    for (hook, steps) in [("setup", &r.setup), ("teardown", &r.teardown)] {
        for st in steps.iter().flatten() {
            rows.push((format!("{hook}/{} ({})", st.id, st.kind), &st.metrics));
        }
    }
    let width = rows
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0)
        .max(20);
    let _ = writeln!(
        s,
        "{:<width$} {:>9} {:>9} {:>8} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "step", "count", "ok", "failed", "success", "rps", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for (name, m) in &rows {
        row(&mut s, name, m, width);
    }
    for w in &r.scenarios {
        if let Some(t) = &w.metrics.service_time {
            let _ = writeln!(
                s,
                "{:<width$} latency counts from when each request was due; service time (send to response) p50 {:.3} p95 {:.3} p99 {:.3} max {:.3} ms",
                format!("scenario {}", w.name),
                t.service_time_p50_ms,
                t.service_time_p95_ms,
                t.service_time_p99_ms,
                t.service_time_max_ms
            );
        }
    }
    let checked = r.metrics.checks_passed + r.metrics.checks_failed;
    if r.metrics.checks_failed > 0 {
        let _ = writeln!(
            s,
            "checks: {:.2}% passed ({} of {})",
            100.0 * r.metrics.checks_passed as f64 / checked as f64,
            r.metrics.checks_passed,
            checked
        );
    }
    phases(&mut s, r, named, width);
    counts_line(&mut s, "http versions", &r.metrics.http_versions);
    counts_line(&mut s, "grpc statuses", &r.metrics.grpc_statuses);
    if r.metrics.grpc_messages > 0 {
        let _ = writeln!(s, "grpc reply messages: {}", r.metrics.grpc_messages);
    }
    ws_lines(&mut s, r, width);
    custom_lines(&mut s, r);
    for st in &r.steps {
        if let Some(t) = &st.metrics.tls {
            let versions: Vec<String> = t
                .tls_versions
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            let _ = writeln!(
                s,
                "tls {}: {} handshakes ({} resumed), requests by version: {}",
                st.id,
                t.handshakes,
                t.resumed_handshakes,
                versions.join(", ")
            );
        }
    }
    counts_line(&mut s, "status codes", &r.metrics.status_codes);
    for (kind, e) in top_errors(&r.metrics).take(5) {
        let _ = writeln!(
            s,
            "error {kind}: {} (e.g. {})",
            e.count,
            e.samples.first().map(String::as_str).unwrap_or("")
        );
    }
    if r.source_ips.len() > 1 || !r.source_ips.contains_key("unspecified") {
        let ips: Vec<String> = r
            .source_ips
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let _ = writeln!(s, "source IPs: {}", ips.join(", "));
    }
    if !r.thresholds.is_empty() {
        let failed = r.thresholds.iter().filter(|t| !t.ok).count();
        let _ = writeln!(
            s,
            "thresholds: {} of {} passed",
            r.thresholds.len() - failed,
            r.thresholds.len()
        );
        for t in &r.thresholds {
            let _ = writeln!(
                s,
                "  {} {} {}: measured {}{}{}",
                if t.ok { "✓" } else { "✗" },
                t.metric,
                t.threshold,
                t.value,
                t.window_seconds
                    .map(|w| format!(" (worst {w}s window)"))
                    .unwrap_or_default(),
                if t.aborted_run {
                    " — stopped the run"
                } else {
                    ""
                }
            );
        }
    }
    s
}

/// `part` of `all` as a percentage with two decimals ("0.00%" of nothing).
fn percent(part: u64, all: u64) -> String {
    if all == 0 {
        "0.00%".into()
    } else {
        format!("{:.2}%", 100.0 * part as f64 / all as f64)
    }
}

/// Failed requests at or above this fraction of all get a warning line: a
/// run that mostly measured errors should not read as a result.
const WARN_FAILED: f64 = 0.5;

/// "warning: 100.00% of requests failed (…); top error: …", for a run in
/// which at least half the requests failed. The exit code stays 0 unless a
/// threshold says otherwise (k6's rule; see the book's exit-code policy).
pub fn failure_warning(r: &Report) -> Option<String> {
    let m = &r.metrics;
    if m.total_requests == 0 || (m.failed as f64) < WARN_FAILED * m.total_requests as f64 {
        return None;
    }
    let (kind, e) = top_errors(m).next()?;
    Some(format!(
        "warning: {} of requests failed ({} of {}); top error: {kind} ({}{})",
        percent(m.failed, m.total_requests),
        m.failed,
        m.total_requests,
        e.count,
        e.samples
            .first()
            .map(|x| format!(", e.g. {x}"))
            .unwrap_or_default()
    ))
}

/// Error kinds, most frequent first (ties in the kinds' order): the
/// warning's "top error" is the first `error` line.
fn top_errors(m: &Metrics) -> impl Iterator<Item = (&contract::ErrorKind, &stats::ErrorStat)> {
    let mut errors: Vec<_> = m.errors.iter().collect();
    errors.sort_by_key(|e| std::cmp::Reverse(e.1.count));
    errors.into_iter()
}

fn row(s: &mut String, name: &str, m: &Metrics, width: usize) {
    let _ = writeln!(
        s,
        "{:<width$} {:>9} {:>9} {:>8} {:>8} {:>10.1} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
        name,
        m.total_requests,
        m.successful,
        m.failed,
        percent(m.successful, m.total_requests),
        m.throughput_rps,
        m.latency_p50_ms,
        m.latency_p95_ms,
        m.latency_p99_ms,
        m.latency_max_ms
    );
}

/// Per-step phase timings (k6's names), for steps whose action measures them.
/// A step's name in the tables: `scenario/id` when there are named scenarios.
fn label(st: &stats::StepReport, named: bool) -> String {
    if named {
        format!("{}/{}", st.scenario, st.id)
    } else {
        st.id.clone()
    }
}

/// The phases (k6's names) as one row per step, p95 of each phase that
/// happened anywhere: a plain-HTTP run shows no TLS column, a kept-alive
/// one no connecting column. The full figures are in the JSON and HTML.
fn phases(s: &mut String, r: &Report, named: bool, width: usize) {
    let timed: Vec<_> = r
        .steps
        .iter()
        .filter_map(|st| st.metrics.timings.as_ref().map(|t| (st, t)))
        .collect();
    let happened: Vec<&str> = contract::Phases::NAMES
        .into_iter()
        .filter(|name| {
            timed
                .iter()
                .any(|(_, t)| t.get(*name).is_some_and(|p| p.max_ms > 0.0))
        })
        .collect();
    if happened.is_empty() {
        return;
    }
    let mut head = format!("{:<width$}", "phases, p95 ms");
    for name in &happened {
        head += &format!(" {name:>15}");
    }
    let _ = writeln!(s, "{head}");
    for (st, t) in timed {
        let mut line = format!("{:<width$}", label(st, named));
        for name in &happened {
            let p95 = t.get(*name).map_or(0.0, |p| p.p95_ms);
            line += &format!(" {p95:>15.3}");
        }
        let _ = writeln!(s, "{line}");
    }
}

/// `LABEL: k: n, k: n` when there are counts.
/// Each ws step's sessions: messages each way, the handshake's and the
/// round trips' percentiles, clean closes by code.
fn ws_lines(s: &mut String, r: &Report, width: usize) {
    for st in &r.steps {
        let Some(w) = &st.metrics.ws else { continue };
        let closes: Vec<String> = w.closes.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let _ = writeln!(
            s,
            "{:<width$} ws: {} sessions, {} messages sent, {} received; handshake p95 {:.3} ms; round trip ({}) p50 {:.3} p95 {:.3} p99 {:.3} max {:.3} ms; closes {}",
            st.label(),
            w.sessions,
            w.messages_sent,
            w.messages_received,
            w.handshake.p95_ms,
            w.round_trips,
            w.round_trip.p50_ms,
            w.round_trip.p95_ms,
            w.round_trip.p99_ms,
            w.round_trip.max_ms,
            if closes.is_empty() {
                "none".to_string()
            } else {
                closes.join(", ")
            },
        );
    }
}

/// A script's custom metrics: a counter's sum, a trend's percentiles.
fn custom_lines(s: &mut String, r: &Report) {
    for (name, c) in &r.custom {
        let _ = match c.kind.as_str() {
            "trend" => writeln!(
                s,
                "trend {name}: {} values, avg {} min {} p50 {} p90 {} p95 {} p99 {} max {}",
                c.count, c.avg, c.min, c.p50, c.p90, c.p95, c.p99, c.max
            ),
            _ => writeln!(s, "counter {name}: {} ({} adds)", c.sum, c.count),
        };
    }
}

fn counts_line(s: &mut String, label: &str, counts: &std::collections::BTreeMap<String, u64>) {
    if counts.is_empty() {
        return;
    }
    let shown: Vec<String> = counts.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let _ = writeln!(s, "{label}: {}", shown.join(", "));
}
