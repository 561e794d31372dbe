//! The report page's frame and tables: metadata, headline figures, the
//! per-step table (the summary's columns), status codes, errors with their
//! sample messages, thresholds, source addresses, and the baseline
//! comparison. Cells carry `data-row`/`data-field` so a test can read them.

use super::chart::escape;
use stats::{Metrics, Report};
use std::fmt::Write;

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:0 auto;max-width:960px;padding:16px 20px}
h1{font-size:22px;margin:4px 0 2px}h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
.meta{color:#555;margin:0 0 10px}.meta b{color:#222;font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:110px}
.card span{display:block;color:#666;font-size:12px}.card b{font-size:19px}
figure{margin:0 0 10px;page-break-inside:avoid;break-inside:avoid}figcaption{font-weight:600;margin:6px 0 2px}
svg.chart{width:100%;height:auto;display:block}svg .grid{stroke:#e5e5e5;stroke-width:1}svg .tick{font-size:11px;fill:#666}
.legend{font-size:12px;color:#444}.legend span{margin-right:14px;white-space:nowrap}.legend i{display:inline-block;width:18px;border-top:3px solid;margin-right:5px;vertical-align:middle}.legend i.dashed{border-top-style:dashed}
table{border-collapse:collapse;width:100%;font-size:13px;margin:4px 0 8px}th,td{border-bottom:1px solid #eee;padding:3px 6px;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}td.text,th.text{text-align:left}tr.total td{font-weight:600}
.ok{color:#2ca02c}.fail{color:#d62728;font-weight:600}.note{color:#666;font-size:12px;margin:2px 0}
select{font:inherit;font-size:13px;margin-left:8px}
@media print{body{max-width:none;padding:0}select{display:none}.pick[hidden]{display:block!important}h2{break-after:avoid}}
"#;

/// Shows the picked chart of each group; runs once the page has loaded.
const SCRIPT: &str = r#"
for (const sel of document.querySelectorAll('select[data-for]')) {
  const show = () => { for (const f of document.querySelectorAll('.pick[data-group="' + sel.dataset.for + '"]')) f.hidden = f.dataset.key !== sel.value; };
  sel.addEventListener('change', show);
  show();
}
document.body.dataset.ready = "1";
"#;

pub fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{} — scheduler-host report</title><style>{STYLE}</style></head><body>{body}<script>{SCRIPT}</script></body></html>\n",
        escape(title)
    )
}

pub fn header(r: &Report, baseline: Option<&Report>) -> String {
    let mut out = format!("<h1>{}</h1><p class=\"meta\">", escape(&r.scenario_id));
    let mut item = |k: &str, v: String| {
        let _ = write!(out, "{k} <b>{}</b> · ", escape(&v));
    };
    item("started", r.host().started_at.clone());
    item("duration", format!("{:.1} s", r.duration_seconds));
    item("peak users", r.users_text());
    item("iterations", r.iterations.to_string());
    if r.dropped_iterations > 0 {
        item("dropped iterations", r.dropped_iterations.to_string());
    }
    for w in &r.scenarios {
        item(
            &format!("scenario {}", escape(&w.name)),
            format!("{}, up to {} users", w.executor.name(), w.vus_max),
        );
    }
    item("scheduler-host", r.host().host_version.clone());
    if r.host().interrupted {
        item("interrupted", "yes: a partial run".into());
    }
    if let Some(b) = baseline {
        item(
            "baseline",
            format!("{} started {}", b.scenario_id, b.host().started_at),
        );
    }
    let trimmed = out.trim_end_matches(" · ").to_string();
    trimmed + "</p>"
}

pub fn cards(f: &Metrics) -> String {
    let rate = error_rate(f);
    let card = |name: &str, value: String| {
        format!("<div class=\"card\"><span>{name}</span><b>{value}</b></div>")
    };
    format!(
        "<div class=\"cards\">{}{}{}{}{}{}</div>",
        card("requests", f.total_requests.to_string()),
        card("requests/s", format!("{:.1}", f.throughput_rps)),
        card("errors", format!("{:.2}%", rate)),
        card("p50", format!("{:.3} ms", f.latency_p50_ms)),
        card("p95", format!("{:.3} ms", f.latency_p95_ms)),
        card("p99", format!("{:.3} ms", f.latency_p99_ms)),
    )
}

fn error_rate(f: &Metrics) -> f64 {
    if f.total_requests == 0 {
        0.0
    } else {
        f.failed as f64 / f.total_requests as f64 * 100.0
    }
}

pub fn tables(r: &Report, baseline: Option<&Report>) -> String {
    let mut out = String::new();
    out += &steps(r);
    out += &status_codes(r);
    out += &websocket(r);
    out += &custom(r);
    out += &errors(r);
    out += &thresholds(r);
    out += &sources(r);
    if let Some(b) = baseline {
        out += &comparison(b, r);
    }
    out
}

/// The summary's columns, for the total and each step.
fn steps(r: &Report) -> String {
    const FIELDS: [&str; 11] = [
        "requests", "rps", "failed", "errors", "mean", "min", "p50", "p90", "p95", "p99", "max",
    ];
    let mut out =
        String::from("<section><h2>Steps</h2><table id=\"steps\"><tr><th class=\"text\">step</th>");
    for f in FIELDS {
        let unit = if ["mean", "min", "p50", "p90", "p95", "p99", "max"].contains(&f) {
            " (ms)"
        } else {
            ""
        };
        let _ = write!(out, "<th>{f}{unit}</th>");
    }
    out += "</tr>";
    let rows = std::iter::once(("total".to_string(), &r.metrics, true))
        .chain(r.steps.iter().map(|s| (s.label(), &s.metrics, false)));
    for (name, f, total) in rows {
        let values = [
            f.total_requests.to_string(),
            format!("{:.1}", f.throughput_rps),
            f.failed.to_string(),
            format!("{:.2}%", error_rate(f)),
            format!("{:.3}", f.latency_mean_ms),
            format!("{:.3}", f.latency_min_ms),
            format!("{:.3}", f.latency_p50_ms),
            format!("{:.3}", f.latency_p90_ms),
            format!("{:.3}", f.latency_p95_ms),
            format!("{:.3}", f.latency_p99_ms),
            format!("{:.3}", f.latency_max_ms),
        ];
        let name = escape(&name);
        let _ = write!(
            out,
            "<tr{} data-row=\"{name}\"><td>{name}</td>",
            if total { " class=\"total\"" } else { "" }
        );
        for (field, v) in FIELDS.iter().zip(values) {
            let _ = write!(out, "<td data-field=\"{field}\">{v}</td>");
        }
        out += "</tr>";
    }
    out + "</table></section>"
}

fn status_codes(r: &Report) -> String {
    let mut codes: Vec<&String> = r.metrics.status_codes.keys().collect();
    codes.sort();
    if codes.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<section><h2>Status codes</h2><table id=\"status\"><tr><th class=\"text\">step</th>",
    );
    for c in &codes {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out += "</tr>";
    let rows = std::iter::once(("total".to_string(), &r.metrics))
        .chain(r.steps.iter().map(|s| (s.label(), &s.metrics)));
    for (name, f) in rows {
        let _ = write!(out, "<tr data-row=\"{0}\"><td>{0}</td>", escape(&name));
        for c in &codes {
            let n = f.status_codes.get(*c).copied().unwrap_or(0);
            let _ = write!(out, "<td data-field=\"{}\">{n}</td>", escape(c));
        }
        out += "</tr>";
    }
    out + "</table></section>"
}

/// Each ws step's sessions: messages, the handshake's and the round trips'
/// percentiles, closes by code (the summary's line, as a table).
fn websocket(r: &Report) -> String {
    // (heading, data-field)
    const FIELDS: [(&str, &str); 10] = [
        ("sessions", "sessions"),
        ("sent", "sent"),
        ("received", "received"),
        ("handshake p95 (ms)", "handshake_p95"),
        ("round trips", "round_trips"),
        ("p50 (ms)", "p50"),
        ("p95 (ms)", "p95"),
        ("p99 (ms)", "p99"),
        ("max (ms)", "max"),
        ("closes", "closes"),
    ];
    let steps: Vec<_> = r
        .steps
        .iter()
        .filter_map(|s| s.metrics.ws.as_ref().map(|w| (s.label(), w)))
        .collect();
    if steps.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<section><h2>WebSocket sessions</h2><table id=\"ws\"><tr><th class=\"text\">step</th>",
    );
    for (heading, _) in FIELDS {
        let _ = write!(out, "<th>{heading}</th>");
    }
    out += "</tr>";
    for (name, w) in steps {
        let closes: Vec<String> = w.closes.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let values = [
            w.sessions.to_string(),
            w.messages_sent.to_string(),
            w.messages_received.to_string(),
            format!("{:.3}", w.handshake.p95_ms),
            w.round_trips.to_string(),
            format!("{:.3}", w.round_trip.p50_ms),
            format!("{:.3}", w.round_trip.p95_ms),
            format!("{:.3}", w.round_trip.p99_ms),
            format!("{:.3}", w.round_trip.max_ms),
            closes.join(", "),
        ];
        let _ = write!(out, "<tr data-row=\"{0}\"><td>{0}</td>", escape(&name));
        for ((_, field), v) in FIELDS.iter().zip(values) {
            let _ = write!(out, "<td data-field=\"{field}\">{}</td>", escape(&v));
        }
        out += "</tr>";
    }
    out + "</table></section>"
}

/// A script's custom metrics: a counter's sum, a trend's figures.
fn custom(r: &Report) -> String {
    if r.custom.is_empty() {
        return String::new();
    }
    const FIELDS: [&str; 9] = [
        "count", "sum", "avg", "min", "p50", "p90", "p95", "p99", "max",
    ];
    let mut out = String::from(
        "<section><h2>Custom metrics</h2><table id=\"custom\"><tr><th class=\"text\">metric</th><th class=\"text\">kind</th>",
    );
    for f in FIELDS {
        let _ = write!(out, "<th>{f}</th>");
    }
    out += "</tr>";
    for (name, c) in &r.custom {
        let trend = c.kind == "trend";
        let values = [
            c.count.to_string(),
            format!("{}", c.sum),
            format!("{}", c.avg),
            format!("{}", c.min),
            format!("{}", c.p50),
            format!("{}", c.p90),
            format!("{}", c.p95),
            format!("{}", c.p99),
            format!("{}", c.max),
        ];
        let _ = write!(
            out,
            "<tr data-row=\"{0}\"><td>{0}</td><td>{1}</td>",
            escape(name),
            escape(&c.kind)
        );
        for (i, (field, v)) in FIELDS.iter().zip(values).enumerate() {
            // A counter has a count and a sum only.
            let v = if trend || i < 2 { v } else { String::new() };
            let _ = write!(out, "<td data-field=\"{field}\">{}</td>", escape(&v));
        }
        out += "</tr>";
    }
    out + "</table></section>"
}

fn errors(r: &Report) -> String {
    let mut out = String::from("<section><h2>Errors</h2>");
    if r.metrics.errors.is_empty() {
        return out + "<p>None.</p></section>";
    }
    out += "<table id=\"errors\"><tr><th class=\"text\">step</th><th class=\"text\">kind</th><th>count</th><th class=\"text\">sample messages</th></tr>";
    for s in &r.steps {
        for (kind, e) in &s.metrics.errors {
            let samples: Vec<String> = e.samples.iter().map(|m| escape(m)).collect();
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"text\">{}</td><td>{}</td><td class=\"text\">{}</td></tr>",
                escape(&s.label()),
                kind.name(),
                e.count,
                samples.join("<br>")
            );
        }
    }
    // Errors no step owns (a user whose instance could not be created).
    for (kind, e) in &r.metrics.errors {
        let in_steps: u64 = r
            .steps
            .iter()
            .filter_map(|s| s.metrics.errors.get(kind))
            .map(|e| e.count)
            .sum();
        if e.count > in_steps {
            let samples: Vec<String> = e.samples.iter().map(|m| escape(m)).collect();
            let _ = write!(
                out,
                "<tr><td>no step</td><td class=\"text\">{}</td><td>{}</td><td class=\"text\">{}</td></tr>",
                kind.name(),
                e.count - in_steps,
                samples.join("<br>")
            );
        }
    }
    out + "</table></section>"
}

fn thresholds(r: &Report) -> String {
    if r.thresholds.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<section><h2>Thresholds</h2><table id=\"thresholds\"><tr><th class=\"text\"></th><th class=\"text\">metric</th><th class=\"text\">threshold</th><th>measured</th></tr>",
    );
    for v in &r.thresholds {
        let _ = write!(
            out,
            "<tr><td class=\"{}\">{}</td><td class=\"text\">{}</td><td class=\"text\">{}</td><td>{}</td></tr>",
            if v.ok { "ok" } else { "fail" },
            if v.ok { "✓" } else { "✗" },
            escape(&v.metric),
            escape(&v.threshold),
            v.value
        );
    }
    out + "</table></section>"
}

fn sources(r: &Report) -> String {
    let mut out = String::from(
        "<section><h2>Source addresses</h2><table id=\"sources\"><tr><th class=\"text\">address</th><th>requests</th></tr>",
    );
    for (ip, n) in &r.source_ips {
        let _ = write!(out, "<tr><td>{}</td><td>{n}</td></tr>", escape(ip));
    }
    out + "</table></section>"
}

fn comparison(base: &Report, new: &Report) -> String {
    let c = crate::compare::lineup(base.clone(), new.clone());
    let mut out = String::from(
        "<section><h2>Against the baseline</h2><table id=\"baseline\"><tr><th class=\"text\">step</th><th class=\"text\">metric</th><th>baseline</th><th>this run</th><th>change</th></tr>",
    );
    let mut last = String::new();
    for (row, metric, b, n, change) in crate::compare::cells(&c) {
        let name = if row == last {
            String::new()
        } else {
            escape(&row)
        };
        let _ = write!(
            out,
            "<tr><td>{name}</td><td class=\"text\">{metric}</td><td>{b}</td><td>{n}</td><td>{change}</td></tr>"
        );
        last = row;
    }
    for (which, name) in &c.unmatched {
        let _ = write!(
            out,
            "<tr><td colspan=\"5\">{}: only in the {which} report</td></tr>",
            escape(name)
        );
    }
    out + "</table></section>"
}
