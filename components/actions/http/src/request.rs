//! URL → target, and the request's bytes.

use action_support::fail;
use action_support::types::{ActionError, ErrorKind};
use std::fmt::Write;

#[derive(Clone)]
pub struct Target {
    /// Host name or IP (without brackets) and port, for connecting.
    pub host: (String, u16),
    /// `https://`: the connection does a TLS handshake first.
    pub tls: bool,
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
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            other => {
                return Err(fail(
                    ErrorKind::BadParams,
                    format!("{text}: unsupported scheme {other:?}"),
                ));
            }
        };
        let host = uri.host().filter(|h| !h.is_empty());
        let host = host.ok_or_else(|| fail(ErrorKind::BadParams, format!("{text}: no host")))?;
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
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
            tls,
            authority,
            path,
        })
    }
}

/// One request as it goes on the wire (a redirect changes the method,
/// drops the body, or drops headers that must not cross origins).
pub struct Request<'a> {
    pub method: &'a str,
    pub headers: &'a [(String, String)],
    pub body: Option<&'a [u8]>,
    /// From this user's cookie jar.
    pub cookie: Option<String>,
}

pub fn has(headers: &[(String, String)], name: &str) -> bool {
    headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
}

pub fn encode(req: &Request, t: &Target) -> Vec<u8> {
    let mut head = String::with_capacity(256);
    let _ = write!(head, "{} {} HTTP/1.1\r\n", req.method, t.path);
    if !has(req.headers, "host") {
        let _ = write!(head, "Host: {}\r\n", t.authority);
    }
    if !has(req.headers, "user-agent") {
        head.push_str(concat!(
            "User-Agent: wasm-scheduler/",
            env!("CARGO_PKG_VERSION"),
            "\r\n"
        ));
    }
    for (k, v) in req.headers {
        let _ = write!(head, "{k}: {v}\r\n");
    }
    if let Some(cookie) = &req.cookie {
        let _ = write!(head, "Cookie: {cookie}\r\n");
    }
    let body = req.body.unwrap_or_default();
    if !has(req.headers, "content-length")
        && !has(req.headers, "transfer-encoding")
        && (!body.is_empty() || req.body.is_some())
    {
        let _ = write!(head, "Content-Length: {}\r\n", body.len());
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}
