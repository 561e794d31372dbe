//! `scheduler-host import REC.har`: a recorded browser session (HAR 1.2)
//! as a scenario: its requests in order with their headers and bodies, the
//! recorded gaps as think time, and the values the server handed out
//! correlated (`correlate`) so the scenario runs against the live service.

mod correlate;
mod har;

use serde_json::Value;
use std::fmt::Write;

/// What to keep of a recording.
#[derive(Default)]
pub struct Options {
    /// Origins kept ("host" or "host:port"); empty: every origin.
    pub hosts: Vec<String>,
    /// Drop images, fonts, stylesheets and scripts.
    pub skip_static: bool,
    /// The scenario's id.
    pub id: String,
    /// Where it was read from, for the header comment.
    pub source: String,
}

/// An import: the scenario's text and what went into it.
pub struct Imported {
    pub yaml: String,
    /// Every origin in the recording with its request count.
    pub origins: Vec<(String, usize)>,
    pub steps: usize,
    /// Extracted variables, as `name (from step …)`.
    pub correlated: Vec<String>,
}

/// One recorded request, as the scenario will send it.
pub struct Step {
    pub id: String,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    pub status: i64,
    pub think_ms: Option<u64>,
    pub extract: Vec<Extract>,
    /// What came back, for correlation.
    reply: Reply,
}

pub enum Body {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
    Text(String),
}

struct Reply {
    json: Option<Value>,
    text: Option<String>,
    headers: Vec<(String, String)>,
}

pub struct Extract {
    pub var: String,
    pub rule: Rule,
    /// The value in the recording.
    pub recorded: String,
    /// The steps that send it.
    pub used_by: Vec<String>,
}

pub enum Rule {
    Json(String),
    Header(String),
    Regex(String),
}

/// Request headers not written into the scenario: per connection (the
/// client makes its own), HTTP/2 pseudo-headers, cookies (each user's jar
/// sends them) and cache validators (a load test wants full responses).
const DROPPED: [&str; 16] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
    "host",
    "content-length",
    "cookie",
    "if-none-match",
    "if-modified-since",
    "if-match",
    "if-unmodified-since",
    "if-range",
    "accept-encoding",
];

/// Response headers never correlated (they describe the response).
const PLAIN_RESPONSE_HEADERS: [&str; 12] = [
    "date",
    "server",
    "content-type",
    "content-length",
    "connection",
    "keep-alive",
    "set-cookie",
    "cache-control",
    "expires",
    "last-modified",
    "vary",
    "etag",
];

const STATIC: [&str; 14] = [
    ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".webp", ".woff", ".woff2", ".ttf", ".otf",
    ".css", ".js", ".map",
];

pub fn import(text: &str, o: &Options) -> Result<Imported, String> {
    // serde_json's message ends with the line and column.
    let har: har::Har =
        serde_json::from_str(text).map_err(|e| format!("not a HAR 1.2 file: {e}"))?;
    let mut origins: Vec<(String, usize)> = Vec::new();
    let mut kept = Vec::new();
    for entry in &har.log.entries {
        let Some(origin) = origin(&entry.request.url) else {
            continue;
        };
        match origins.iter_mut().find(|(o, _)| *o == origin) {
            Some((_, n)) => *n += 1,
            None => origins.push((origin.clone(), 1)),
        }
        if !o.hosts.is_empty() && !o.hosts.iter().any(|h| kept_by(h, &entry.request.url)) {
            continue;
        }
        if o.skip_static && is_static(entry) {
            continue;
        }
        kept.push(entry);
    }
    if kept.is_empty() {
        return Err(format!(
            "no requests left to import (origins in the recording: {})",
            shown(&origins)
        ));
    }
    let mut steps: Vec<Step> = Vec::new();
    for (n, entry) in kept.iter().enumerate() {
        let mut step = step(entry, &steps);
        if let (Some((_, end)), Some(next)) =
            (entry.span_ms(), kept.get(n + 1).and_then(|e| e.span_ms()))
        {
            let gap = (next.0 - end).round();
            step.think_ms = (gap >= 1.0).then_some(gap as u64);
        }
        steps.push(step);
    }
    correlate::correlate(&mut steps);
    let correlated = steps
        .iter()
        .flat_map(|s| {
            s.extract
                .iter()
                .map(move |e| format!("{} (from {})", e.var, s.id))
        })
        .collect();
    Ok(Imported {
        yaml: emit(&steps, o, &origins),
        origins,
        steps: steps.len(),
        correlated,
    })
}

/// "host:port" of an http(s) URL (the port only when the URL names one).
fn origin(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    (!authority.is_empty()).then(|| authority.to_string())
}

/// `--host` names the URL's origin: `host` for any port, or `host:port`
/// (the scheme's default port when the URL names none).
fn kept_by(wanted: &str, url: &str) -> bool {
    let Some(e) = contract::Endpoint::from_url(url) else {
        return false;
    };
    let host = if e.host.contains(':') {
        format!("[{}]", e.host)
    } else {
        e.host.clone()
    };
    wanted == host || wanted == e.host || *wanted == format!("{host}:{}", e.port)
}

fn is_static(e: &har::Entry) -> bool {
    let mime = e.response.content.mime_type.to_ascii_lowercase();
    let path = e.request.url.split(['?', '#']).next().unwrap_or_default();
    let path = path.to_ascii_lowercase();
    mime.starts_with("image/")
        || mime.starts_with("font/")
        || mime.starts_with("text/css")
        || mime.contains("javascript")
        || STATIC.iter().any(|ext| path.ends_with(ext))
}

/// Literal `${` in recorded text, written so templates keep it literal.
fn escaped(s: &str) -> String {
    s.replace("${", "$${")
}

fn step(e: &har::Entry, before: &[Step]) -> Step {
    let r = &e.request;
    let url = escaped(r.url.split('#').next().unwrap_or_default());
    let headers = r
        .headers
        .iter()
        .filter(|h| !h.name.starts_with(':'))
        .filter(|h| !DROPPED.iter().any(|d| h.name.eq_ignore_ascii_case(d)))
        .map(|h| (h.name.clone(), escaped(&h.value)))
        .collect();
    let body = match &r.post_data {
        None => Body::None,
        Some(p) => {
            let mime = p.mime_type.to_ascii_lowercase();
            let text = p.text.clone().unwrap_or_default();
            if mime.contains("json")
                && let Ok(mut v) = serde_json::from_str::<Value>(&text)
            {
                escape_json(&mut v);
                Body::Json(v)
            } else if mime.starts_with("application/x-www-form-urlencoded") {
                let pairs: Vec<(String, String)> = if p.params.is_empty() {
                    form_urlencoded::parse(text.as_bytes())
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect()
                } else {
                    p.params
                        .iter()
                        .map(|x| (x.name.clone(), x.value.clone()))
                        .collect()
                };
                Body::Form(pairs.into_iter().map(|(k, v)| (k, escaped(&v))).collect())
            } else if text.is_empty() {
                Body::None
            } else {
                Body::Text(escaped(&text))
            }
        }
    };
    let body_text = e.response.content.body();
    let json = body_text
        .as_deref()
        .filter(|_| e.response.content.mime_type.contains("json"))
        .and_then(|t| serde_json::from_str(t).ok());
    Step {
        id: step_id(&r.method, &r.url, before),
        method: r.method.to_ascii_uppercase(),
        url,
        headers,
        body,
        status: e.response.status,
        think_ms: None,
        extract: Vec::new(),
        reply: Reply {
            json,
            text: body_text,
            headers: e
                .response
                .headers
                .iter()
                .filter(|h| {
                    !PLAIN_RESPONSE_HEADERS
                        .iter()
                        .any(|p| h.name.eq_ignore_ascii_case(p))
                })
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
        },
    }
}

fn escape_json(v: &mut Value) {
    match v {
        Value::String(s) => *s = escaped(s),
        Value::Array(items) => items.iter_mut().for_each(escape_json),
        Value::Object(map) => map.values_mut().for_each(escape_json),
        _ => {}
    }
}

/// `get_cart`, `post_login`: the method and the path's last segment,
/// numbered when taken.
fn step_id(method: &str, url: &str, before: &[Step]) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let last = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.contains(':') && !s.is_empty())
        .unwrap_or("root");
    let mut id = snake(&format!("{method}_{last}"));
    id.truncate(40);
    if !before.iter().any(|s| s.id == id) {
        return id;
    }
    (2..)
        .map(|n| format!("{id}_{n}"))
        .find(|c| !before.iter().any(|s| s.id == *c))
        .expect("some number is free")
}

/// `text` as a name: lower-case ASCII letters, digits and `_`.
fn snake(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn shown(origins: &[(String, usize)]) -> String {
    origins
        .iter()
        .map(|(o, n)| format!("{o} ({n})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A YAML scalar: a JSON string is a YAML double-quoted one.
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

fn emit(steps: &[Step], o: &Options, origins: &[(String, usize)]) -> String {
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Imported by `scheduler-host import` from {}: {} requests (the recording's origins: {}).",
        o.source,
        steps.len(),
        shown(origins)
    );
    let _ = writeln!(
        y,
        "# Values the server handed out are extracted where they arrived and sent as ${{name}}."
    );
    let _ = writeln!(y, "scenario:\n  id: {}", q(&o.id));
    let _ = writeln!(y, "  load: {{total_users: 1, iterations: 1}}\n  workflow:");
    for s in steps {
        let _ = writeln!(y, "    - id: {}\n      type: http", q(&s.id));
        if !(200..400).contains(&s.status) && s.status > 0 {
            let _ = writeln!(y, "      assert_status: {}", s.status);
        }
        if let Some(ms) = s.think_ms {
            let _ = writeln!(y, "      think_time: {ms}ms");
        }
        let _ = writeln!(
            y,
            "      params:\n        method: {}\n        url: {}",
            q(&s.method),
            q(&s.url)
        );
        if !s.headers.is_empty() {
            let pairs: Vec<String> = s
                .headers
                .iter()
                .map(|(k, v)| format!("{}: {}", q(k), q(v)))
                .collect();
            let _ = writeln!(y, "        headers: {{{}}}", pairs.join(", "));
        }
        match &s.body {
            Body::None => {}
            Body::Json(v) => {
                let _ = writeln!(y, "        json: {v}");
            }
            Body::Form(pairs) => {
                let pairs: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{}: {}", q(k), q(v)))
                    .collect();
                let _ = writeln!(y, "        form: {{{}}}", pairs.join(", "));
            }
            Body::Text(t) => {
                let _ = writeln!(y, "        body: {}", q(t));
            }
        }
        if !s.extract.is_empty() {
            let _ = writeln!(y, "      extract:");
            for e in &s.extract {
                let (rule, whence) = match &e.rule {
                    Rule::Json(p) => (format!("{{json: {}}}", q(p)), format!("JSON {p}")),
                    Rule::Header(h) => (format!("{{header: {}}}", q(h)), format!("header {h}")),
                    Rule::Regex(r) => (format!("{{regex: {}}}", q(r)), "the body".to_string()),
                };
                let _ = writeln!(
                    y,
                    "        {}: {rule}   # recorded {} in {whence}; sent by {}",
                    e.var,
                    q(&e.recorded),
                    e.used_by.join(", ")
                );
            }
        }
    }
    y
}

#[cfg(test)]
mod tests;
