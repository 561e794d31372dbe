//! `run --har FILE [--har-user N]`: every request user N made, as HAR 1.2
//! (what browsers' DevTools export and import). The scheduler asks the
//! http action for a trace of that user's requests only (`sample.trace`:
//! headers as sent and received, bodies up to `max_body`, the peer and the
//! connection); this observer turns each traced sample into an entry, its
//! timings from the request's phases, and writes the file atomically when
//! the run ends.

use contract::{Exchange, HttpVersion, Sample};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub struct Har {
    path: PathBuf,
    /// The load's clock zero: `at` plus this is wall time.
    started: SystemTime,
    entries: Vec<Value>,
}

impl Har {
    pub fn new(path: PathBuf, started: SystemTime) -> Self {
        Har {
            path,
            started,
            entries: Vec::new(),
        }
    }

    /// Writes the file; a failure is one line for the run's warnings.
    pub fn write(self) -> Result<(), String> {
        let doc = json!({
            "log": {
                "version": "1.2",
                "creator": {"name": "scheduler-host", "version": env!("CARGO_PKG_VERSION")},
                "pages": [],
                "entries": self.entries,
            }
        });
        let text = serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())?;
        crate::atomic::write_atomically(&self.path, &text)
            .map_err(|e| format!("--har {}: {e}", self.path.display()))
    }

    /// A traced step's requests (its redirects, then its last), each begun
    /// when the one before it ended: the step ended at `at`.
    pub fn push_step(&mut self, at: Duration, samples: &[Sample]) {
        if samples.iter().all(|s| s.trace.is_none()) {
            return;
        }
        let took: Duration = samples.iter().map(|s| s.latency).sum();
        let mut begun = self.started + at.saturating_sub(took);
        for s in samples {
            if let Some(x) = &s.trace {
                self.entries.push(entry(begun, s, x));
            }
            begun += s.latency;
        }
    }
}

/// Milliseconds, as HAR counts them (-1: does not apply).
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

fn entry(begun: SystemTime, s: &Sample, x: &Exchange) -> Value {
    let version = match s.http_version {
        Some(HttpVersion::Http2) => "HTTP/2.0",
        _ => "HTTP/1.1",
    };
    // HAR's `connect` includes `ssl`; a reused connection has neither.
    let timings = match &s.phases {
        Some(p) => {
            let connected = !p.connecting.is_zero();
            let ssl = !p.tls_handshaking.is_zero();
            json!({
                "blocked": -1,
                "dns": -1,
                "connect": if connected { ms(p.connecting + p.tls_handshaking) } else { -1.0 },
                "ssl": if ssl { ms(p.tls_handshaking) } else { -1.0 },
                "send": ms(p.sending),
                "wait": ms(p.waiting),
                "receive": ms(p.receiving),
            })
        }
        None => json!({"blocked": -1, "dns": -1, "connect": -1, "ssl": -1,
                       "send": 0, "wait": ms(s.latency), "receive": 0}),
    };
    let header = |(name, value): &(String, String)| json!({"name": name, "value": value});
    let find = |name: &str| {
        x.response_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let mut request = json!({
        "method": x.method,
        "url": x.url,
        "httpVersion": version,
        "cookies": [],
        "headers": x.request_headers.iter().map(header).collect::<Vec<_>>(),
        "queryString": query(&x.url),
        "headersSize": -1,
        "bodySize": x.request_body.len(),
    });
    if !x.request_body.is_empty() {
        let mime = x
            .request_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map_or("application/octet-stream", |(_, v)| v.as_str());
        request["postData"] = json!({
            "mimeType": mime,
            "text": String::from_utf8_lossy(&x.request_body),
        });
    }
    let mut content = json!({
        "size": x.response_body.len(),
        "mimeType": find("content-type").unwrap_or(""),
    });
    match std::str::from_utf8(&x.response_body) {
        Ok(text) => content["text"] = json!(text),
        Err(_) => {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::STANDARD.encode(&x.response_body);
            content["text"] = json!(b64);
            content["encoding"] = json!("base64");
        }
    }
    let status = s.status.unwrap_or(0);
    let mut e = json!({
        "startedDateTime": humantime::format_rfc3339_millis(begun).to_string(),
        "time": ms(s.latency),
        "request": request,
        "response": {
            "status": status,
            "statusText": http_reason(status),
            "httpVersion": version,
            "cookies": [],
            "headers": x.response_headers.iter().map(header).collect::<Vec<_>>(),
            "content": content,
            "redirectURL": find("location").unwrap_or(""),
            "headersSize": -1,
            // The action counts a response's bytes whole, head and body.
            "bodySize": -1,
        },
        "cache": {},
        "timings": timings,
        "connection": x.connection.to_string(),
    });
    if let Some(ip) = x.server.as_deref().and_then(server_ip) {
        e["serverIPAddress"] = json!(ip);
    }
    if let Some(err) = &s.error {
        e["comment"] = json!(format!("{}: {}", err.kind, err.message));
    }
    e
}

/// The IP of "ip:port" or "[ip6]:port".
fn server_ip(server: &str) -> Option<String> {
    server
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|a| a.ip().to_string())
}

/// A URL's query as HAR lists it (decoded name/value pairs).
fn query(url: &str) -> Vec<Value> {
    let q = url
        .split_once('?')
        .map_or("", |(_, q)| q.split('#').next().unwrap_or(""));
    form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect()
}

/// The reason phrase for a status (empty when unknown, or for no response).
fn http_reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}
