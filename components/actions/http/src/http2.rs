//! HTTP/2 (`h2`): a user's requests to an origin share one connection,
//! each on a stream of its own. The connection's codec (HPACK, SETTINGS,
//! flow control, PING, GOAWAY) is `h2`'s `Connection` future; a call drives
//! it beside its own stream (`drive`), so nothing runs between a user's
//! steps and the connection needs no task of its own.

use crate::request::{Request, Target, has, says_length};
use crate::response::{Failed, Keep, Response};
use crate::wire::{Io, Meter};
use action_support::net::NetError;
use action_support::tcp::Connection;
use action_support::types::{ActionError, ErrorKind};
use action_support::{Budget, fail, net_fail, task};
use bytes::Bytes;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Instant;

/// Flow-control windows this client grants (as browsers do, larger than
/// the protocol's 64 KiB default, so a large body is not held up by
/// WINDOW_UPDATE round trips).
const STREAM_WINDOW: u32 = 1 << 20;
const CONNECTION_WINDOW: u32 = 4 << 20;

/// An HTTP/2 connection: the handle that opens streams, and the codec.
pub struct Link {
    send: h2::client::SendRequest<Bytes>,
    driver: Driver,
    meter: Rc<Meter>,
    /// The meter's (sent, received) at the last `take_counts`.
    counted: (u64, u64),
}

struct Driver {
    conn: h2::client::Connection<Io, Bytes>,
    /// The codec finished (the peer closed, or GOAWAY and no stream left).
    ended: bool,
}

/// Starts HTTP/2 on `conn` (after TLS with ALPN `h2`, or plain: h2c with
/// prior knowledge): the client preface and SETTINGS.
pub async fn start(
    conn: Connection,
    budget: &Budget,
    authority: &str,
) -> Result<Link, ActionError> {
    let meter = Rc::new(Meter::default());
    meter.deadline.set(budget.deadline);
    let io = Io::new(conn, Rc::clone(&meter));
    let handshake = h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .enable_push(false)
        .handshake::<_, Bytes>(io);
    let (send, conn) = drive(None, handshake, budget.deadline)
        .await
        .map_err(|e| net_fail(e, false, authority))?
        .map_err(|e| error(e, &meter, authority).into_inner())?;
    Ok(Link {
        send,
        driver: Driver { conn, ended: false },
        meter,
        counted: (0, 0),
    })
}

impl Link {
    /// Still able to open streams (its codec has not ended).
    pub fn open(&self) -> bool {
        !self.driver.ended
    }

    /// Bytes sent and received since the last call: a request's own (a
    /// fresh connection's preface and SETTINGS count with its first).
    pub fn take_counts(&mut self) -> (u64, u64) {
        let now = (self.meter.sent.get(), self.meter.received.get());
        let (sent, received) = std::mem::replace(&mut self.counted, now);
        (now.0 - sent, now.1 - received)
    }
}

/// When a request's response began and ended arriving.
pub struct Timing {
    pub sent_at: Instant,
    pub first_byte: Option<Instant>,
    pub last_byte: Option<Instant>,
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
    for want in keep.headers {
        if let Some(v) = h.get(want.as_str())
            && !kept.iter().any(|(k, _)| k == want)
        {
            kept.push((want.clone(), text(v)));
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

/// What an `h2` error comes to. A socket error reports its own kind (kept
/// by `Io`); the server's RST_STREAM and GOAWAY are `stream-reset`.
fn error(e: h2::Error, meter: &Meter, authority: &str) -> Failed {
    let reason = e
        .reason()
        .map_or_else(|| "no code".into(), |r| format!("{r:?}"));
    if e.is_io() {
        let net = meter.error.take().unwrap_or(NetError::ConnectionReset);
        return Failed::Stale(net_fail(net, false, authority));
    }
    if e.is_go_away() && e.is_remote() {
        // Streams past the GOAWAY's last stream were never processed.
        return Failed::Stale(fail(
            ErrorKind::StreamReset,
            format!("{authority}: the server went away (GOAWAY {reason}) before answering"),
        ));
    }
    if e.is_reset() && e.is_remote() {
        let message = format!("{authority}: the server reset the stream ({reason})");
        return Failed::Final(fail(ErrorKind::StreamReset, message));
    }
    // A closed connection seen by `h2` itself (no frame, no socket error).
    if e.reason().is_none() && !e.is_library() {
        return Failed::Stale(fail(
            ErrorKind::ConnectionReset,
            format!("{authority}: HTTP/2 connection closed ({e})"),
        ));
    }
    Failed::Final(fail(
        ErrorKind::Protocol,
        format!("{authority}: HTTP/2: {e}"),
    ))
}

/// Polls `fut` with the connection's codec beside it (when there is one:
/// the handshake has none yet): frames the stream queued go out, frames
/// that arrive reach it. A wait the codec handed out before `fut` finished
/// is dropped (`unpark`): its pollable must not outlive a connection the
/// call then drops. The wait handed to the scheduler is the socket's (`Io`
/// parks on it); when nothing waits on the socket (the codec ended, or the
/// deadline passed), it waits no time and looks again, until the deadline.
async fn drive<F: Future>(
    mut driver: Option<&mut Driver>,
    fut: F,
    deadline: u64,
) -> Result<F::Output, NetError> {
    let mut fut = pin!(fut);
    poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            task::unpark();
            return Poll::Ready(Ok(v));
        }
        if let Some(d) = driver.as_deref_mut().filter(|d| !d.ended) {
            if std::pin::Pin::new(&mut d.conn).poll(cx).is_ready() {
                d.ended = true;
            }
            if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                task::unpark();
                return Poll::Ready(Ok(v));
            }
        }
        if task::parked() {
            return Poll::Pending;
        }
        let now = wasip2::clocks::monotonic_clock::subscribe_duration(0);
        task::park(now, deadline).map(|r| r.map(|()| unreachable!("park never resolves Ok")))
    })
    .await
}
