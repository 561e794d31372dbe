//! One request and its response on a kept-alive (or new) connection, timed
//! phase by phase: connecting, tls_handshaking, sending, waiting, receiving.

use crate::pool::{self, Idle, Key, Route};
use crate::request::{self, Request};
use crate::response::{self, ReadError, Response};
use action_support::net::NetError;
use action_support::tcp::Connection;
use action_support::tls::{self, Client};
use action_support::types::{ActionError, CallContext, ErrorKind, Phases, TlsUse};
use action_support::{Budget, fail, io, nanos, net_fail};
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
pub async fn run(
    ctx: &CallContext,
    route: &Route,
    req: &Request<'_>,
    keep: response::Keep<'_>,
    tls: Option<&Client>,
    budget: &Budget,
    tally: &mut Tally,
) -> Result<Response, ActionError> {
    let target = &route.target;
    let key = Key::new(route, ctx.vu, ctx.source_ip, tls.map(|c| c.id()));
    let bytes = request::encode(req, target);
    let head_only = req.method.eq_ignore_ascii_case("HEAD");
    for attempt in 0..2 {
        let mut phases = zero();
        let (conn, version, reused) = match pool::take(&key) {
            Some(Idle { conn, tls }) if attempt == 0 => (conn, tls, true),
            _ => {
                let start = budget.now();
                let conn = io::connect(route.addr, ctx.source_ip, budget.deadline)
                    .await
                    .map_err(|e| net_fail(e, true, &target.authority))?;
                phases.connecting = nanos(start.elapsed());
                let version = match &route.tls_host {
                    Some(host) => {
                        let start = Instant::now();
                        let session = handshake(&conn, tls, ctx.vu, host, budget)
                            .await
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
        if let Err(e) = io::write(&conn, &bytes, budget.deadline).await {
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
        let read = response::read(&mut wire, head_only, keep, &mut tally.received).await;
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

async fn handshake(
    conn: &Connection,
    given: Option<&Client>,
    vu: u32,
    host: &str,
    budget: &Budget,
) -> Result<tls::Session, NetError> {
    let alpn = [ALPN.to_string()];
    let default;
    let client = match given {
        Some(client) => client,
        None => {
            default = default_client(vu)?;
            &default
        }
    };
    io::handshake(conn, client, host, &alpn, budget.deadline).await
}

/// The user's default client (Mozilla roots), made on first use.
fn default_client(vu: u32) -> Result<Client, NetError> {
    DEFAULT_CLIENTS.with(|c| {
        let mut clients = c.borrow_mut();
        if let Some((_, client)) = clients.iter().find(|(v, _)| *v == vu) {
            return Ok(client.share());
        }
        let client = Client::create(&tls::ClientConfig {
            extra_roots_pem: None,
            skip_verify: false,
            server_name: None,
            client_cert_pem: None,
            client_key_pem: None,
            versions: Vec::new(),
        })
        .map_err(NetError::Other)?;
        let shared = client.share();
        clients.push((vu, client));
        Ok(shared)
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
