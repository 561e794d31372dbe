//! HTTP/2 (`h2`): a user's requests to an origin share one connection,
//! each on a stream of its own. The connection's codec (HPACK, SETTINGS,
//! flow control, PING, GOAWAY) is `h2`'s `Connection` future; a call drives
//! it beside its own stream (`drive`), so nothing runs between a user's
//! steps and the connection needs no task of its own.

use crate::request::{Request, Target, has, says_length};
use crate::response::{Failed, Keep, Response};
use action_support::h2::{drive, error};
use action_support::net::NetError;
use action_support::types::{ActionError, ErrorKind};
use action_support::{Budget, fail, net_fail};
use bytes::Bytes;
use std::rc::Rc;
use std::time::Instant;

pub use action_support::h2::{Link, start};

/// When a request's response began and ended arriving.
pub struct Timing {
    pub sent_at: Instant,
    pub first_byte: Option<Instant>,
    pub last_byte: Option<Instant>,
    /// The request's headers as sent, when it is traced.
    pub sent_headers: Option<Vec<(String, String)>>,
}

/// One request on a new stream of `link`, its response read as `keep`
/// says. `timing` is filled in as far as the exchange got.
pub async fn exchange(
    link: &mut Link,
    target: &Target,
    req: &Request<'_>,
    keep: Keep<'_>,
    budget: &Budget,
    timing: &mut Timing,
) -> Result<Response, Failed> {
    let authority = &target.authority;
    link.meter.deadline.set(budget.deadline);
    let request = build(req, target).map_err(Failed::Final)?;
    if req.trace {
        let text = |v: &http::HeaderValue| String::from_utf8_lossy(v.as_bytes()).to_string();
        let sent = request
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), text(v)));
        timing.sent_headers = Some(sent.collect());
    }
    let body = req.body.filter(|b| !b.is_empty());
    let meter = Rc::clone(&link.meter);
    let failed = |e: h2::Error| error(e, &meter, authority);
    let timed_out = |e: NetError| Failed::Final(net_fail(e, false, authority));
    let driver = &mut link.driver;
    let ready = drive(Some(driver), link.send.clone().ready(), budget.deadline)
        .await
        .map_err(timed_out)?;
    let mut send = ready.map_err(failed)?;
    let (answer, mut stream) = send.send_request(request, body.is_none()).map_err(failed)?;
    if let Some(body) = body {
        // Queued whole; the codec sends it as the peer's window allows.
        stream
            .send_data(Bytes::copy_from_slice(body), true)
            .map_err(failed)?;
    }
    timing.sent_at = Instant::now();
    let head = drive(Some(driver), answer, budget.deadline)
        .await
        .map_err(timed_out)?
        .map_err(failed)?;
    let at = Instant::now();
    timing.first_byte = Some(at);
    timing.last_byte = Some(at);
    let (parts, mut recv) = head.into_parts();
    let mut resp = response(&parts, keep);
    while !recv.is_end_stream() {
        let chunk = drive(Some(driver), recv.data(), budget.deadline)
            .await
            .map_err(timed_out)?;
        let chunk = match chunk {
            None => break,
            Some(chunk) => chunk.map_err(|e| match failed(e) {
                // Once the response has begun, nothing is retried.
                Failed::Stale(e) | Failed::Final(e) => Failed::Final(e),
            })?,
        };
        timing.last_byte = Some(Instant::now());
        let _ = recv.flow_control().release_capacity(chunk.len());
        resp.body_len += chunk.len() as u64;
        let room = keep.body.saturating_sub(resp.body.len());
        resp.body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(resp)
}

/// The request as `h2` sends it: `:authority` from the Host header when the
/// step sets one, else the URL's; HTTP/1.1's connection-specific headers
/// left out (HTTP/2 forbids them).
fn build(req: &Request<'_>, t: &Target) -> Result<http::Request<()>, ActionError> {
    let bad =
        |e: &dyn std::fmt::Display| fail(ErrorKind::BadParams, format!("HTTP/2 request: {e}"));
    let host = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map_or(t.authority.as_str(), |(_, v)| v.as_str());
    let scheme = if t.tls { "https" } else { "http" };
    let uri = http::Uri::builder()
        .scheme(scheme)
        .authority(host)
        .path_and_query(t.path.as_str())
        .build()
        .map_err(|e| bad(&e))?;
    let mut b = http::Request::builder()
        .method(req.method)
        .uri(uri)
        .version(http::Version::HTTP_2);
    const CONNECTION_SPECIFIC: [&str; 6] = [
        "host",
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
    ];
    for (k, v) in req.headers {
        if !CONNECTION_SPECIFIC
            .iter()
            .any(|c| k.eq_ignore_ascii_case(c))
        {
            b = b.header(k.as_str(), v.as_str());
        }
    }
    if !has(req.headers, "user-agent") {
        b = b.header("user-agent", crate::request::USER_AGENT);
    }
    if let Some(cookie) = &req.cookie {
        b = b.header("cookie", cookie.as_str());
    }
    if !has(req.headers, "content-length") && says_length(req) {
        b = b.header("content-length", req.body.unwrap_or_default().len());
    }
    b.body(()).map_err(|e| bad(&e))
}

/// The client's view of a response head (HTTP/2 has no keep-alive header:
/// the connection stays until the server ends it).
fn response(parts: &http::response::Parts, keep: Keep<'_>) -> Response {
    let h = &parts.headers;
    let text = |v: &http::HeaderValue| String::from_utf8_lossy(v.as_bytes()).trim().to_string();
    let mut kept = Vec::new();
    if keep
        .headers
        .iter()
        .any(|w| w == crate::response::ALL_HEADERS)
    {
        // A traced request's: every header, as received.
        kept.extend(h.iter().map(|(k, v)| (k.to_string(), text(v))));
    } else {
        for want in keep.headers {
            if let Some(v) = h.get(want.as_str())
                && !kept.iter().any(|(k, _)| k == want)
            {
                kept.push((want.clone(), text(v)));
            }
        }
    }
    Response {
        status: parts.status.as_u16(),
        headers: kept,
        keep_alive: true,
        body: Vec::new(),
        body_len: 0,
        location: h.get(http::header::LOCATION).map(text),
        digest_challenge: h
            .get_all(http::header::WWW_AUTHENTICATE)
            .iter()
            .map(text)
            .find(|v| crate::response::is_digest(v)),
        set_cookies: h
            .get_all(http::header::SET_COOKIE)
            .iter()
            .map(text)
            .collect(),
        content_encoding: h
            .get(http::header::CONTENT_ENCODING)
            .map(|v| text(v).to_ascii_lowercase()),
    }
}
