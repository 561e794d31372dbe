//! One request and its response on a kept-alive (or new) connection, timed
//! phase by phase: connecting, tls_handshaking, sending, waiting, receiving.

use crate::net::Connection;
use crate::pool::{self, Idle, Key, Route};
use crate::request::{self, Request};
use crate::response::{self, ReadError, Response};
use crate::tls::{self, Client};
use action_support::net::NetError;
use action_support::types::{ActionError, CallContext, ErrorKind, Phases, TlsUse};
use action_support::{Budget, fail, nanos, net_fail};
use std::cell::RefCell;
use std::time::Instant;

/// ALPN offered on every HTTPS connection: this client speaks HTTP/1.1.
const ALPN: &str = "http/1.1";

/// What one request measured, whether it succeeded or not.
#[derive(Default)]
pub struct Tally {
    pub status: Option<u16>,
    pub sent: u64,
    pub received: u64,
    pub phases: Option<Phases>,
    pub tls: Option<TlsUse>,
}

/// Sends `req` to `route` and reads the response, keeping what `keep`
/// asks (body bytes, headers). A kept-alive connection may have been closed by the server
/// since its last use; then (and only then) it retries once on a fresh one.
pub fn run(
    ctx: &CallContext,
    route: &Route,
    req: &Request,
    keep: response::Keep,
    tls: Option<&Client>,
    budget: &Budget,
    tally: &mut Tally,
) -> Result<Response, ActionError> {
    let target = &route.target;
    let key = Key::new(route, ctx.source_ip, tls.map(|c| c.id()));
    let bytes = request::encode(req, target);
    let head_only = req.method.eq_ignore_ascii_case("HEAD");
    for attempt in 0..2 {
        let mut phases = zero();
        let (conn, version, reused) = match pool::take(&key) {
            Some(Idle { conn, tls }) if attempt == 0 => (conn, tls, true),
            _ => {
                let start = budget.now();
                let conn = crate::net::connect(route.addr, ctx.source_ip, budget.left())
                    .map_err(|e| net_fail(e, true, &target.authority))?;
                phases.connecting = nanos(start.elapsed());
                let version = match &route.tls_host {
                    Some(host) => {
                        let start = Instant::now();
                        let session = handshake(&conn, tls, ctx.vu, host, budget)
                            .map_err(|e| net_fail(e, false, &target.authority))?;
                        phases.tls_handshaking = nanos(start.elapsed());
                        tally.tls = Some(TlsUse {
                            version: session.version,
                            handshake: true,
                            resumed: session.resumed,
                        });
                        Some(session.version)
                    }
                    None => None,
                };
                (conn, version, false)
            }
        };
        if reused {
            tally.tls = version.map(|version| TlsUse {
                version,
                handshake: false,
                resumed: false,
            });
        }
        let start = budget.now();
        if let Err(e) = conn.write(&bytes, budget.left_at(start)) {
            if reused && !budget.expired() {
                continue;
            }
            return Err(net_fail(e, false, &target.authority));
        }
        let sent_at = Instant::now();
        phases.sending = nanos(sent_at - start);
        tally.sent += bytes.len() as u64;
        let mut wire = Wire {
            conn: &conn,
            budget,
            first_byte: None,
            last_byte: None,
            sent_at: Some(sent_at),
        };
        let read = response::read(&mut wire, head_only, keep, &mut tally.received);
        // A whole response ends with its last bytes' arrival (parsing them
        // is not receiving); anything else ends now.
        let end = match (&read, wire.last_byte) {
            (Ok(_), Some(last)) => last,
            _ => Instant::now(),
        };
        let first = wire.first_byte.unwrap_or(end);
        phases.waiting = nanos(first.saturating_duration_since(sent_at));
        phases.receiving = nanos(end.saturating_duration_since(first));
        tally.phases = Some(phases);
        match read {
            Ok(resp) => {
                tally.status = Some(resp.status);
                if resp.keep_alive {
                    pool::put(key, Idle { conn, tls: version });
                }
                return Ok(resp);
            }
            Err(ReadError::NothingReceived { .. }) if reused && !budget.expired() => continue,
            Err(ReadError::NothingReceived { reset: true }) => {
                return Err(fail(
                    ErrorKind::ConnectionReset,
                    format!("{}: connection reset before any response", target.authority),
                ));
            }
            Err(ReadError::NothingReceived { reset: false }) => {
                return Err(fail(
                    ErrorKind::Protocol,
                    format!(
                        "{}: connection closed before any response",
                        target.authority
                    ),
                ));
            }
            Err(ReadError::Net(e)) => return Err(net_fail(e, false, &target.authority)),
            Err(ReadError::Protocol(why)) => {
                return Err(fail(
                    ErrorKind::Protocol,
                    format!("{}: {why}", target.authority),
                ));
            }
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

fn zero() -> Phases {
    Phases {
        connecting: 0,
        tls_handshaking: 0,
        sending: 0,
        waiting: 0,
        receiving: 0,
    }
}

thread_local! {
    /// Clients made here for users whose scheduler passed none (a redirect
    /// from http:// to https://, or a third-party scheduler): one per user,
    /// so sessions are never resumed across users.
    static DEFAULT_CLIENTS: RefCell<Vec<(u32, Client)>> = const { RefCell::new(Vec::new()) };
}

fn handshake(
    conn: &Connection,
    given: Option<&Client>,
    vu: u32,
    host: &str,
    budget: &Budget,
) -> Result<tls::Session, NetError> {
    let alpn = [ALPN.to_string()];
    if let Some(client) = given {
        return tls::handshake(conn, client, host, &alpn, budget.left());
    }
    DEFAULT_CLIENTS.with(|c| {
        let mut clients = c.borrow_mut();
        let i = match clients.iter().position(|(v, _)| *v == vu) {
            Some(i) => i,
            None => {
                let client = Client::create(&tls::ClientConfig {
                    extra_roots_pem: None,
                    skip_verify: false,
                    server_name: None,
                    client_cert_pem: None,
                    client_key_pem: None,
                    versions: Vec::new(),
                })
                .map_err(NetError::Other)?;
                clients.push((vu, client));
                clients.len() - 1
            }
        };
        tls::handshake(conn, &clients[i].1, host, &alpn, budget.left())
    })
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

impl response::Source for Wire<'_> {
    fn read(&mut self, max: u32) -> Result<Vec<u8>, NetError> {
        let now = self.sent_at.take().unwrap_or_else(Instant::now);
        let bytes = self.conn.read(max, self.budget.for_read_at(now)?)?;
        if !bytes.is_empty() {
            let at = Instant::now();
            self.first_byte.get_or_insert(at);
            self.last_byte = Some(at);
        }
        Ok(bytes)
    }
}
