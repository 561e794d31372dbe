//! URL → target, and the request's bytes.

use action_support::fail;
use action_support::types::{ActionError, ErrorKind, HttpRequest};
use std::fmt::Write;

pub struct Target {
    /// Host name or IP (without brackets) and port, for connecting.
    pub host: (String, u16),
    /// "host[:port]" as the Host header and error messages show it.
    pub authority: String,
    /// Path and query.
    pub path: String,
}

impl Target {
    pub fn parse(text: &str) -> Result<Target, ActionError> {
        let uri: http::Uri = text
            .parse()
            .map_err(|e| fail(ErrorKind::BadParams, format!("{text:?}: {e}")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(fail(
                    ErrorKind::Unsupported,
                    format!("{text}: TLS not supported yet (use http://)"),
                ));
            }
            other => {
                return Err(fail(
                    ErrorKind::BadParams,
                    format!("{text}: unsupported scheme {other:?}"),
                ));
            }
        }
        let host = uri.host().filter(|h| !h.is_empty());
        let host = host.ok_or_else(|| fail(ErrorKind::BadParams, format!("{text}: no host")))?;
        let port = uri.port_u16().unwrap_or(80);
        let authority = match uri.port_u16() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let path = match uri.path_and_query().map(|p| p.as_str()) {
            Some(p) if !p.is_empty() => p.to_string(),
            _ => "/".to_string(),
        };
        let bare = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        Ok(Target {
            host: (bare, port),
            authority,
            path,
        })
    }
}

fn has(req: &HttpRequest, name: &str) -> bool {
    req.headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case(name))
}

pub fn encode(req: &HttpRequest, t: &Target) -> Vec<u8> {
    let mut head = String::with_capacity(256);
    let _ = write!(head, "{} {} HTTP/1.1\r\n", req.method, t.path);
    if !has(req, "host") {
        let _ = write!(head, "Host: {}\r\n", t.authority);
    }
    if !has(req, "user-agent") {
        head.push_str(concat!(
            "User-Agent: wasm-scheduler/",
            env!("CARGO_PKG_VERSION"),
            "\r\n"
        ));
    }
    for (k, v) in &req.headers {
        let _ = write!(head, "{k}: {v}\r\n");
    }
    let body = req.body.as_deref().unwrap_or_default();
    if !has(req, "content-length")
        && !has(req, "transfer-encoding")
        && (!body.is_empty() || req.body.is_some())
    {
        let _ = write!(head, "Content-Length: {}\r\n", body.len());
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}
