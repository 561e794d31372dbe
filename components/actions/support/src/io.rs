//! core-libs' non-blocking calls as `async fn`s: each tries, and when it
//! would wait, waits on the pollable core-libs names (`task::ready`) until
//! the step's deadline. What the blocking contract calls did, without
//! holding up the other users of the instance.

use crate::net::{IpAddress, IpSocketAddress, NetError};
use crate::task::ready;
use crate::tcp::{self, Connection};
use crate::tls::{self, Client, Session};
use crate::types::{ActionError, Phases, TlsUse};
use crate::udp::Socket;
use crate::{nanos, net_fail};
use std::cell::RefCell;
use std::time::Instant;

/// Connects to `target` from `source` before `deadline`.
pub async fn connect(
    target: IpSocketAddress,
    source: Option<IpAddress>,
    deadline: u64,
) -> Result<Connection, NetError> {
    let pending = tcp::start_connect(target, source)?;
    loop {
        if let Some(conn) = pending.finish()? {
            return Ok(conn);
        }
        ready(pending.subscribe(), deadline).await?;
    }
}

/// A TLS handshake on `conn` for `host`, offering `alpn`.
pub async fn handshake(
    conn: &Connection,
    client: &Client,
    host: &str,
    alpn: &[String],
    deadline: u64,
) -> Result<Session, NetError> {
    tls::start_handshake(conn, client, host, alpn)?;
    loop {
        if let Some(session) = tls::handshake_step(conn)? {
            return Ok(session);
        }
        ready(conn.subscribe(), deadline).await?;
    }
}

/// `handshake` with the user's client, or when the scheduler passed none
/// (a redirect from http:// to https://, a third-party scheduler) the
/// user's default one.
pub async fn handshake_as(
    conn: &Connection,
    given: Option<&Client>,
    vu: u32,
    host: &str,
    alpn: &[String],
    deadline: u64,
) -> Result<Session, NetError> {
    let default;
    let client = match given {
        Some(client) => client,
        None => {
            default = default_client(vu)?;
            &default
        }
    };
    handshake(conn, client, host, alpn, deadline).await
}

/// The TLS a fresh connection is to do: the user's client (none: its
/// default one), the name to verify and the ALPN protocols to offer.
pub struct Secure<'a> {
    pub client: Option<&'a Client>,
    pub vu: u32,
    pub host: &'a str,
    pub alpn: &'a [String],
}

/// A fresh connection to `target` from `source`, with a TLS handshake when
/// `tls` says, before `deadline`: `connecting` and `tls_handshaking` timed
/// into `phases`, failures as the step's error naming `authority`. Returns
/// the connection and the TLS it went over (for the outcome) with its
/// negotiated ALPN protocol.
pub async fn open(
    target: IpSocketAddress,
    source: Option<IpAddress>,
    tls: Option<Secure<'_>>,
    deadline: u64,
    phases: &mut Phases,
    authority: &str,
) -> Result<(Connection, Option<(TlsUse, Option<String>)>), ActionError> {
    let start = Instant::now();
    let conn = connect(target, source, deadline)
        .await
        .map_err(|e| net_fail(e, true, authority))?;
    phases.connecting = nanos(start.elapsed());
    let Some(s) = tls else {
        return Ok((conn, None));
    };
    let start = Instant::now();
    let session = handshake_as(&conn, s.client, s.vu, s.host, s.alpn, deadline)
        .await
        .map_err(|e| net_fail(e, false, authority))?;
    phases.tls_handshaking = nanos(start.elapsed());
    let used = TlsUse {
        version: session.version,
        handshake: true,
        resumed: session.resumed,
    };
    Ok((conn, Some((used, session.alpn))))
}

/// A socket error as std's `io::Error`, for a codec written against std's
/// or tokio's I/O traits (HTTP/2, WebSocket); the error itself is kept in
/// `kept`, so the step reports its own kind rather than `io::Error`'s.
pub fn codec_error(e: NetError, kept: &std::cell::Cell<Option<NetError>>) -> std::io::Error {
    let kind = match e {
        NetError::Timeout => std::io::ErrorKind::TimedOut,
        NetError::ConnectionReset => std::io::ErrorKind::ConnectionReset,
        _ => std::io::ErrorKind::Other,
    };
    kept.set(Some(e));
    std::io::Error::from(kind)
}

/// Writes all of `data`: queued at once, then handed to the OS as the
/// socket takes it.
pub async fn write(conn: &Connection, data: &[u8], deadline: u64) -> Result<(), NetError> {
    conn.send(data)?;
    while !conn.try_flush()? {
        ready(conn.subscribe(), deadline).await?;
    }
    Ok(())
}

/// Reads in a row that found bytes waiting before a read hands the turn
/// to the instance's other calls (a peer that streams without pause must
/// not hold up the other users of the instance).
const READS_PER_TURN: u32 = 32;

thread_local! {
    static READS_IN_A_ROW: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Up to `max` bytes as soon as any arrive; empty at EOF.
pub async fn read(conn: &Connection, max: u32, deadline: u64) -> Result<Vec<u8>, NetError> {
    if READS_IN_A_ROW.get() >= READS_PER_TURN {
        READS_IN_A_ROW.set(0);
        let now = wasip2::clocks::monotonic_clock::subscribe_duration(0);
        ready(now, deadline).await?;
    }
    loop {
        if let Some(bytes) = conn.try_read(max)? {
            READS_IN_A_ROW.set(READS_IN_A_ROW.get() + 1);
            return Ok(bytes);
        }
        READS_IN_A_ROW.set(0);
        ready(conn.subscribe(), deadline).await?;
    }
}

/// The first bytes of the reply to what was just written on `conn`. The
/// peer cannot have answered yet, so this waits before it reads, instead
/// of crossing into core-libs for a read that finds nothing.
pub async fn read_reply(conn: &Connection, max: u32, deadline: u64) -> Result<Vec<u8>, NetError> {
    READS_IN_A_ROW.set(0);
    ready(conn.subscribe(), deadline).await?;
    read(conn, max, deadline).await
}

/// One datagram of at most `max` bytes.
pub async fn receive(socket: &Socket, max: u32, deadline: u64) -> Result<Vec<u8>, NetError> {
    loop {
        if let Some(bytes) = socket.try_receive(max)? {
            return Ok(bytes);
        }
        ready(socket.subscribe(), deadline).await?;
    }
}

thread_local! {
    /// Clients made here for users whose scheduler passed none (a redirect
    /// from http:// to https://, or a third-party scheduler): one per user,
    /// so sessions are never resumed across users.
    static DEFAULT_CLIENTS: RefCell<Vec<(u32, tls::Client)>> = const { RefCell::new(Vec::new()) };
}

/// The user's default client (Mozilla roots), made on first use.
fn default_client(vu: u32) -> Result<tls::Client, NetError> {
    DEFAULT_CLIENTS.with(|c| {
        let mut clients = c.borrow_mut();
        if let Some((_, client)) = clients.iter().find(|(v, _)| *v == vu) {
            return Ok(client.share());
        }
        let client = tls::Client::create(&tls::ClientConfig {
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
