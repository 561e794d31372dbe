//! One request and its response on a kept-alive (or new) connection, timed
//! phase by phase: connecting, tls_handshaking, sending, waiting, receiving.

use crate::http2;
use crate::pool::{self, Idle, Key, Link, Proxy, Route};
use crate::request::{self, Request, Target};
use crate::response::{self, Failed, ReadError, Response};
use action_support::net::{NetError, ProtocolVersion};
use action_support::tcp::Connection;
use action_support::tls::{self, Client};
use action_support::types::{ActionError, CallContext, ErrorKind, HttpVersion, Phases, TlsUse};
use action_support::{Budget, fail, io, nanos, net_fail, phases, std_socket};
use std::time::Instant;

/// What one request measured, whether it succeeded or not.
#[derive(Default)]
pub struct Tally {
    pub status: Option<u16>,
    pub sent: u64,
    pub received: u64,
    pub phases: Option<Phases>,
    pub tls: Option<TlsUse>,
    pub version: Option<HttpVersion>,
    /// A traced request (filled in as it goes), and its headers as sent.
    pub traced: Option<action_support::types::Exchange>,
    pub sent_headers: Option<Vec<(String, String)>>,
    /// The peer ("ip:port") and which of the user's connections, once one
    /// was taken or made.
    pub server: Option<String>,
    pub connection: u64,
}

/// Sends `req` to `route` over the HTTP version `want` names (none: what
/// ALPN settles on https, HTTP/1.1 on http) and reads the response,
/// keeping what `keep` asks (body bytes, headers). A kept-alive connection
/// may have been closed by the server since its last use; then (and only
/// then) it retries once on a fresh one.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    ctx: &CallContext,
    route: &Route,
    req: &Request<'_>,
    keep: response::Keep<'_>,
    (tls, via): (Option<&Client>, Option<&Proxy>),
    want: Option<HttpVersion>,
    budget: &Budget,
    tally: &mut Tally,
) -> Result<Response, ActionError> {
    let target = &route.target;
    let key = Key::new(route, via, ctx.vu, ctx.source_ip, tls.map(|c| c.id()));
    for attempt in 0..2 {
        let mut phases = phases::zero();
        let (link, version, reused, id) = match pool::take(&key, want) {
            Some(Idle { link, tls, id, .. }) if attempt == 0 => (link, tls, true, id),
            _ => {
                let (link, tls) =
                    open(ctx, route, (tls, via), want, budget, &mut phases, tally).await?;
                (link, tls, false, pool::next_id())
            }
        };
        tally.connection = id;
        tally.server = Some(std_socket(via.map_or(route.addr, |p| p.addr)).to_string());
        if reused {
            tally.tls = version.map(|version| TlsUse {
                version,
                handshake: false,
                resumed: false,
            });
        }
        let (done, reusable) = match link {
            Link::H1(conn) => h1(conn, target, req, keep, budget, phases, tally).await,
            Link::H2(link) => h2(link, target, req, keep, budget, phases, tally).await,
        };
        if let Some(link) = reusable {
            let idle = Idle {
                link,
                tls: version,
                asked: want,
                id,
            };
            pool::put(key.clone(), idle);
        }
        match done {
            Ok(resp) => {
                tally.status = Some(resp.status);
                return Ok(resp);
            }
            Err(Failed::Stale(_)) if reused && !budget.expired() => continue,
            Err(Failed::Stale(e) | Failed::Final(e)) => return Err(e),
        }
    }
    Err(fail(
        ErrorKind::ConnectionReset,
        format!(
            "{}: connection closed twice before a response",
            target.authority
        ),
    ))
}

/// A fresh connection to `route` (through `via` when set), with its TLS
/// handshake (ALPN offering what `want` allows) and, when HTTP/2 was
/// agreed or asked for over plain TCP, the HTTP/2 preface.
async fn open(
    ctx: &CallContext,
    route: &Route,
    (tls, via): (Option<&Client>, Option<&Proxy>),
    want: Option<HttpVersion>,
    budget: &Budget,
    phases: &mut Phases,
    tally: &mut Tally,
) -> Result<(Link, Option<ProtocolVersion>), ActionError> {
    let target = &route.target;
    let start = budget.now();
    let (addr, reached) = match via {
        Some(p) => (p.addr, &p.authority),
        None => (route.addr, &target.authority),
    };
    let conn = io::connect(addr, ctx.source_ip, budget.deadline)
        .await
        .map_err(|e| net_fail(e, true, reached))?;
    if let Some(proxy) = via {
        if route.tls_host.is_some() {
            tunnel(&conn, proxy, target, budget, tally).await?;
        } else if want == Some(HttpVersion::Http2) {
            return Err(fail(
                ErrorKind::Unsupported,
                format!(
                    "{}: h2c (http_version \"2\" on http://) does not go through a proxy",
                    target.authority
                ),
            ));
        }
    }
    phases.connecting = nanos(start.elapsed());
    let (h2, version) = match &route.tls_host {
        // http://: HTTP/1.1 unless the step asks for h2c (prior knowledge).
        None => (want == Some(HttpVersion::Http2), None),
        Some(host) => {
            let start = Instant::now();
            let session = handshake(&conn, tls, ctx.vu, host, want, budget)
                .await
                .map_err(|e| net_fail(e, false, &target.authority))?;
            phases.tls_handshaking = nanos(start.elapsed());
            tally.tls = Some(TlsUse {
                version: session.version,
                handshake: true,
                resumed: session.resumed,
            });
            let h2 = session.alpn.as_deref() == Some("h2");
            if want == Some(HttpVersion::Http2) && !h2 {
                return Err(fail(
                    ErrorKind::Unsupported,
                    format!(
                        "{}: http_version \"2\" but the server did not agree to h2 by ALPN (it chose {})",
                        target.authority,
                        session.alpn.as_deref().unwrap_or("nothing")
                    ),
                ));
            }
            (h2, Some(session.version))
        }
    };
    let link = if h2 {
        Link::H2(Box::new(
            http2::start(conn, budget, &target.authority).await?,
        ))
    } else {
        Link::H1(conn)
    };
    Ok((link, version))
}

/// Asks `proxy` for a tunnel to `target` (CONNECT): the connection then
/// carries the TLS handshake with the target. Counted with the request's
/// bytes; its time is part of `connecting`.
async fn tunnel(
    conn: &Connection,
    proxy: &Proxy,
    target: &Target,
    budget: &Budget,
    tally: &mut Tally,
) -> Result<(), ActionError> {
    let mut head = format!(
        "CONNECT {a} HTTP/1.1\r\nHost: {a}\r\n",
        a = target.authority
    );
    if let Some(auth) = &proxy.auth {
        head += &format!("Proxy-Authorization: {auth}\r\n");
    }
    head += "\r\n";
    let failed = |e| net_fail(e, false, &proxy.authority);
    io::write(conn, head.as_bytes(), budget.deadline)
        .await
        .map_err(failed)?;
    tally.sent += head.len() as u64;
    let mut wire = Wire::new(conn, budget, Instant::now());
    let keep = response::Keep {
        body: 0,
        headers: &[],
    };
    // A tunnel's 2xx has no body (RFC 9110 §9.3.6): read as a HEAD's.
    let refused = |why: String| {
        fail(
            ErrorKind::ConnectRefused,
            format!(
                "proxy {} did not open a tunnel to {}: {why}",
                proxy.authority, target.authority
            ),
        )
    };
    match response::read(&mut wire, true, keep, &mut tally.received).await {
        Ok(r) if (200..300).contains(&r.status) => Ok(()),
        Ok(r) => Err(refused(format!("it answered {}", r.status))),
        Err(ReadError::Net(e)) => Err(failed(e)),
        Err(ReadError::NothingReceived { .. }) => Err(refused("it closed the connection".into())),
        Err(ReadError::Protocol(why)) => Err(refused(why)),
    }
}

/// What a request on a connection came to, and the connection when it
/// stays usable for the user's next request.
type Done = (Result<Response, Failed>, Option<Link>);

/// One HTTP/1.1 request on `conn`; the connection is kept when the
/// response leaves it reusable.
async fn h1(
    conn: Connection,
    target: &Target,
    req: &Request<'_>,
    keep: response::Keep<'_>,
    budget: &Budget,
    phases: Phases,
    tally: &mut Tally,
) -> Done {
    tally.version = Some(HttpVersion::Http11);
    let start = budget.now();
    let authority = &target.authority;
    let bytes = request::encode(req, target);
    if req.trace {
        tally.sent_headers = Some(request::sent_headers(&bytes));
    }
    let head_only = req.method.eq_ignore_ascii_case("HEAD");
    if let Err(e) = io::write(&conn, &bytes, budget.deadline).await {
        return (Err(Failed::Stale(net_fail(e, false, authority))), None);
    }
    let sent_at = Instant::now();
    tally.sent += bytes.len() as u64;
    let mut wire = Wire::new(&conn, budget, sent_at);
    let read = response::read(&mut wire, head_only, keep, &mut tally.received).await;
    // A whole response ends with its last bytes' arrival (parsing them
    // is not receiving); anything else ends now.
    let end = match (&read, wire.last_byte) {
        (Ok(_), Some(last)) => last,
        _ => Instant::now(),
    };
    tally.phases = Some(phases::timed(phases, start, sent_at, wire.first_byte, end));
    match read {
        Ok(resp) => {
            let reusable = resp.keep_alive.then_some(Link::H1(conn));
            (Ok(resp), reusable)
        }
        Err(ReadError::NothingReceived { reset }) => {
            let (kind, what) = if reset {
                (ErrorKind::ConnectionReset, "reset")
            } else {
                (ErrorKind::Protocol, "closed")
            };
            let e = fail(
                kind,
                format!("{authority}: connection {what} before any response"),
            );
            (Err(Failed::Stale(e)), None)
        }
        Err(ReadError::Net(e)) => (Err(Failed::Final(net_fail(e, false, authority))), None),
        Err(ReadError::Protocol(why)) => {
            let e = fail(ErrorKind::Protocol, format!("{authority}: {why}"));
            (Err(Failed::Final(e)), None)
        }
    }
}

/// One request on a new stream of an HTTP/2 connection. A stream's own
/// failure (a reset, a timeout: `h2` cancels the stream) leaves the
/// connection usable; a gone one is not kept.
async fn h2(
    mut link: Box<http2::Link>,
    target: &Target,
    req: &Request<'_>,
    keep: response::Keep<'_>,
    budget: &Budget,
    phases: Phases,
    tally: &mut Tally,
) -> Done {
    tally.version = Some(HttpVersion::Http2);
    let start = budget.now();
    let mut timing = http2::Timing {
        sent_at: start,
        first_byte: None,
        last_byte: None,
        sent_headers: None,
    };
    let r = http2::exchange(&mut link, target, req, keep, budget, &mut timing).await;
    tally.sent_headers = timing.sent_headers;
    let (sent, received) = link.take_counts();
    tally.sent += sent;
    tally.received += received;
    let end = timing.last_byte.unwrap_or_else(Instant::now);
    tally.phases = Some(phases::timed(
        phases,
        start,
        timing.sent_at,
        timing.first_byte,
        end,
    ));
    let reusable = (link.open() && !matches!(r, Err(Failed::Stale(_)))).then_some(Link::H2(link));
    (r, reusable)
}

async fn handshake(
    conn: &Connection,
    given: Option<&Client>,
    vu: u32,
    host: &str,
    want: Option<HttpVersion>,
    budget: &Budget,
) -> Result<tls::Session, NetError> {
    // As browsers and k6 do: h2 and HTTP/1.1 both offered, unless the step
    // chose one.
    let alpn: &[&str] = match want {
        None => &["h2", "http/1.1"],
        Some(HttpVersion::Http2) => &["h2"],
        Some(HttpVersion::Http11) => &["http/1.1"],
    };
    let alpn: Vec<String> = alpn.iter().map(|p| p.to_string()).collect();
    io::handshake_as(conn, given, vu, host, &alpn, budget.deadline).await
}

/// A connection read within the step's budget; notes when the first
/// response bytes arrived (the end of `waiting`) and the last (the end of
/// `receiving`): one clock reading per read that returned bytes.
struct Wire<'a> {
    conn: &'a Connection,
    budget: &'a Budget,
    first_byte: Option<Instant>,
    last_byte: Option<Instant>,
    /// When the request went out: the first read's budget is counted from
    /// it (no second clock reading for the same moment).
    sent_at: Option<Instant>,
}

impl<'a> Wire<'a> {
    /// Reads of the reply to what went out at `sent_at`.
    fn new(conn: &'a Connection, budget: &'a Budget, sent_at: Instant) -> Self {
        Wire {
            conn,
            budget,
            first_byte: None,
            last_byte: None,
            sent_at: Some(sent_at),
        }
    }
}

impl response::Source for Wire<'_> {
    async fn read(&mut self, max: u32) -> Result<Vec<u8>, NetError> {
        let sent = self.sent_at.take();
        // Bytes that keep coming do not hold the step past its deadline.
        self.budget.for_read_at(sent.unwrap_or_else(Instant::now))?;
        let bytes = if sent.is_some() {
            io::read_reply(self.conn, max, self.budget.deadline).await?
        } else {
            io::read(self.conn, max, self.budget.deadline).await?
        };
        if !bytes.is_empty() {
            let at = Instant::now();
            self.first_byte.get_or_insert(at);
            self.last_byte = Some(at);
        }
        Ok(bytes)
    }
}
