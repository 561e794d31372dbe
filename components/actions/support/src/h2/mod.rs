//! HTTP/2 connections over core-libs (`h2`), shared by the actions that
//! speak it (http, grpc): the connection as tokio's I/O traits (`wire`),
//! the handshake, the codec driven beside a call's own stream (`drive`),
//! and what an `h2` error comes to. What goes on a stream (an HTTP request,
//! a gRPC call) is the action's.

mod wire;

pub use wire::{Io, Meter};

use crate::net::NetError;
use crate::tcp::Connection;
use crate::types::{ActionError, ErrorKind};
use crate::{Budget, fail, net_fail, task};
use bytes::Bytes;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;

/// Why a request got no response, for the retry of a kept-alive
/// connection (HTTP/1.1 or HTTP/2).
pub enum Failed {
    /// Before any response, the way a connection the server dropped (or
    /// said GOAWAY on) while idle fails: a reused one is retried once on a
    /// fresh one.
    Stale(ActionError),
    Final(ActionError),
}

impl Failed {
    pub fn into_inner(self) -> ActionError {
        match self {
            Failed::Stale(e) | Failed::Final(e) => e,
        }
    }
}

/// Flow-control windows this client grants (as browsers do, larger than
/// the protocol's 64 KiB default, so a large body is not held up by
/// WINDOW_UPDATE round trips).
const STREAM_WINDOW: u32 = 1 << 20;
const CONNECTION_WINDOW: u32 = 4 << 20;

/// An HTTP/2 connection: the handle that opens streams, and the codec.
pub struct Link {
    pub send: h2::client::SendRequest<Bytes>,
    pub driver: Driver,
    pub meter: Rc<Meter>,
    /// The meter's (sent, received) at the last `take_counts`.
    counted: (u64, u64),
}

pub struct Driver {
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

/// What an `h2` error comes to. A socket error reports its own kind (kept
/// by `Io`); the server's RST_STREAM and GOAWAY are `stream-reset`.
pub fn error(e: h2::Error, meter: &Meter, authority: &str) -> Failed {
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
pub async fn drive<F: Future>(
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
