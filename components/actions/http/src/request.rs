//! URL → target, and the request's bytes.

use action_support::fail;
use action_support::types::{ActionError, ErrorKind};

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
        let uri: http::Uri = contract::url::wire(text)
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
    /// Sent to an HTTP proxy: the request line names the whole URL
    /// (absolute form), with the proxy's `Proxy-Authorization` if any.
    pub proxy: Option<Option<&'a str>>,
    /// Keep the headers as sent (`Tally::sent_headers`).
    pub trace: bool,
}

/// The header lines of an encoded HTTP/1.1 request (for a trace).
pub fn sent_headers(encoded: &[u8]) -> Vec<(String, String)> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut parsed = httparse::Request::new(&mut headers);
    let _ = parsed.parse(encoded);
    parsed
        .headers
        .iter()
        .filter(|h| !h.name.is_empty())
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect()
}

/// Sent unless the step sets its own.
pub const USER_AGENT: &str = concat!("wasm-scheduler/", env!("CARGO_PKG_VERSION"));

/// The request says how long its body is: it has one, or its method
/// carries one and it is empty (as curl and Go send it: servers may answer
/// 411 otherwise). Unless the step wrote its own length.
pub fn says_length(req: &Request) -> bool {
    req.body.is_some() || matches!(req.method, "POST" | "PUT" | "PATCH")
}

pub fn has(headers: &[(String, String)], name: &str) -> bool {
    headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
}

/// The request's bytes. Written with `push_str`, not `write!`: formatting
/// machinery costs more than the copying on this per-request path.
pub fn encode(req: &Request, t: &Target) -> Vec<u8> {
    let body = req.body.unwrap_or_default();
    let mut head = String::with_capacity(256);
    let mut line = |parts: &[&str]| {
        for p in parts {
            head.push_str(p);
        }
        head.push_str("\r\n");
    };
    match req.proxy {
        None => line(&[req.method, " ", &t.path, " HTTP/1.1"]),
        Some(auth) => {
            line(&[req.method, " http://", &t.authority, &t.path, " HTTP/1.1"]);
            if let Some(auth) = auth {
                line(&["Proxy-Authorization: ", auth]);
            }
        }
    }
    if !has(req.headers, "host") {
        line(&["Host: ", &t.authority]);
    }
    if !has(req.headers, "user-agent") {
        line(&["User-Agent: ", USER_AGENT]);
    }
    for (k, v) in req.headers {
        line(&[k, ": ", v]);
    }
    if let Some(cookie) = &req.cookie {
        line(&["Cookie: ", cookie]);
    }
    if !has(req.headers, "content-length")
        && !has(req.headers, "transfer-encoding")
        && says_length(req)
    {
        line(&["Content-Length: ", &body.len().to_string()]);
    }
    line(&[]);
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_encoded_with_host_agent_headers_cookie_and_length() {
        let t = Target::parse("http://a.test:8080/p?q=1").unwrap();
        let headers = [("X-One".to_string(), "1".to_string())];
        let req = Request {
            method: "POST",
            headers: &headers,
            body: Some(b"hello"),
            cookie: Some("s=1".into()),
            proxy: None,
            trace: false,
        };
        let text = String::from_utf8(encode(&req, &t)).unwrap();
        assert_eq!(
            text,
            format!(
                "POST /p?q=1 HTTP/1.1\r\nHost: a.test:8080\r\nUser-Agent: wasm-scheduler/{}\r\nX-One: 1\r\nCookie: s=1\r\nContent-Length: 5\r\n\r\nhello",
                env!("CARGO_PKG_VERSION")
            )
        );
        let bare = Request {
            method: "GET",
            headers: &[
                ("Host".into(), "b".into()),
                ("User-Agent".into(), "me".into()),
            ],
            body: None,
            cookie: None,
            proxy: None,
            trace: false,
        };
        assert_eq!(
            encode(&bare, &t),
            b"GET /p?q=1 HTTP/1.1\r\nHost: b\r\nUser-Agent: me\r\n\r\n"
        );
    }

    #[test]
    fn a_post_put_or_patch_without_a_body_says_content_length_0() {
        let t = Target::parse("http://a.test/p").unwrap();
        for (method, length) in [
            ("POST", true),
            ("PUT", true),
            ("PATCH", true),
            ("GET", false),
            ("DELETE", false),
        ] {
            let req = Request {
                method,
                headers: &[],
                body: None,
                cookie: None,
                proxy: None,
                trace: false,
            };
            let text = String::from_utf8(encode(&req, &t)).unwrap();
            assert_eq!(text.contains("\r\nContent-Length: 0\r\n"), length, "{text}");
        }
    }

    #[test]
    fn a_request_to_a_proxy_names_the_whole_url_and_the_proxy_credentials() {
        let t = Target::parse("http://a.test:8080/p?q=1").unwrap();
        let req = Request {
            method: "GET",
            headers: &[],
            body: None,
            cookie: None,
            proxy: Some(Some("Basic dTpw")),
            trace: false,
        };
        let text = String::from_utf8(encode(&req, &t)).unwrap();
        assert!(
            text.starts_with("GET http://a.test:8080/p?q=1 HTTP/1.1\r\nProxy-Authorization: Basic dTpw\r\nHost: a.test:8080\r\n"),
            "{text}"
        );
    }
}
