//! One step's session: opened (`upgrade`), its messages in order, and the
//! close handshake. Each wait is bounded by the message's `timeout` and by
//! the step's budget, which covers the whole session.

use crate::expect::{self, Answers};
use crate::upgrade::{Tally, open};
use crate::wire::{Meter, Wire};
use action_support::net::NetError;
use action_support::task::ready;
use action_support::tcp::Connection;
use action_support::tls::Client;
use action_support::types::{
    ActionError, CallContext, ErrorKind, Outcome, WsExpect, WsMessage, WsPayload, WsRequest,
    WsResult,
};
use action_support::{Budget, fail, nanos, net_fail, show};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Instant;
use tungstenite::error::{CapacityError, ProtocolError};
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Bytes, Error as WsError, Message, WebSocket};
use wasip2::clocks::monotonic_clock;

/// Received messages kept for `expect` and `receive` until taken; past
/// it the oldest are dropped (still counted), so a server that floods a
/// `wait` costs no more memory than this.
const KEPT: usize = 1024;

/// Messages read in a row before the session hands the turn to the
/// instance's other calls (a server that streams without pause must not
/// hold up the other users).
const READS_PER_TURN: u32 = 32;

/// Why a wait ended without what it waited for.
enum Stop {
    /// The wait's deadline passed (the message's or the step's).
    Deadline,
    /// The close handshake is over: the server closed the connection.
    Closed,
    Failed(ActionError),
}

/// A session's state past the upgrade.
struct Session {
    ws: WebSocket<Wire>,
    conn: Rc<Connection>,
    meter: Rc<Meter>,
    budget: Budget,
    /// The url, for messages.
    url: String,
    /// Received and not yet taken by an `expect` or `receive`.
    queue: VecDeque<(Bytes, Instant)>,
    /// Received, not taken and no longer kept (past `KEPT`).
    dropped: u64,
    sent: u32,
    received: u32,
    round_trips: Vec<u64>,
    answers: Answers,
    /// The payload and send time of the ping whose pong is awaited.
    ping: Option<(Bytes, Instant)>,
    pings: u64,
    /// The server's close frame, once one arrived (its code; 1005: none).
    peer_close: Option<(u16, String)>,
    in_a_row: u32,
}

/// Runs the step's session.
pub async fn run(ctx: CallContext, req: WsRequest, tls: Option<Client>) -> Outcome {
    let budget = Budget::new(ctx.timeout);
    let start = budget.now();
    let meter = Rc::new(Meter::default());
    let mut tally = Tally::default();
    let opened = open(&ctx, &req, tls.as_ref(), &budget, &meter, &mut tally).await;
    let handshake = nanos(start.elapsed());
    let (error, session) = match opened {
        Err(e) => (Some(e), None),
        Ok((ws, conn, answers)) => {
            let mut s = Session {
                ws,
                conn,
                meter: Rc::clone(&meter),
                budget,
                url: req.url.clone(),
                queue: VecDeque::new(),
                dropped: 0,
                sent: 0,
                received: 0,
                round_trips: Vec::new(),
                answers,
                ping: None,
                pings: 0,
                peer_close: None,
                in_a_row: 0,
            };
            let error = s.script(&req.messages).await.err();
            (error, Some(s))
        }
    };
    let (sent, received, round_trips, close_code, answers) = match session {
        Some(s) => {
            let close = s.close_code(&error);
            (
                s.sent,
                s.received,
                s.round_trips,
                close,
                s.answers.into_answers(),
            )
        }
        None => (0, 0, Vec::new(), None, Vec::new()),
    };
    Outcome {
        status: tally.status,
        http_version: None,
        bytes_sent: meter.sent.get(),
        bytes_received: meter.received.get(),
        error,
        phases: tally.phases,
        tls: tally.tls,
        earlier: Vec::new(),
        answers,
        body_cut: None,
        grpc: None,
        ws: Some(WsResult {
            // None before the 101: the report keeps only real handshakes.
            handshake: if tally.status == Some(101) {
                handshake
            } else {
                0
            },
            sent,
            received,
            round_trips,
            close_code,
        }),
        trace: None,
    }
}

impl Session {
    /// The step's messages in order, then the close handshake unless the
    /// last message was a close.
    async fn script(&mut self, messages: &[WsMessage]) -> Result<(), ActionError> {
        for (i, m) in messages.iter().enumerate() {
            let at = || format!("messages[{i}]");
            match m {
                WsMessage::Send(s) => {
                    let msg = match &s.payload {
                        WsPayload::Text(t) => Message::text(t.clone()),
                        WsPayload::Binary(b) => Message::binary(b.clone()),
                    };
                    let deadline = self.deadline(s.timeout);
                    self.write(msg)
                        .await
                        .map_err(|s| self.failure(s, at(), "send"))?;
                    self.sent += 1;
                    if let Some(e) = &s.expect {
                        let sent = Instant::now();
                        self.expect(e, sent, deadline).await.map_err(|s| {
                            self.failure(s, at(), &format!("expect {}", expect::describe(e)))
                        })?;
                    }
                }
                WsMessage::Receive(r) => {
                    let deadline = self.deadline(r.timeout);
                    let want = u64::from(r.count);
                    while self.waiting() < want {
                        self.next(deadline).await.map_err(|s| {
                            let got = self.waiting();
                            self.failure(s, at(), &format!("receive {want} (got {got})"))
                        })?;
                    }
                    self.take(want);
                }
                WsMessage::Wait(d) => {
                    let until = monotonic_clock::now().saturating_add(*d);
                    let deadline = until.min(self.budget.deadline);
                    loop {
                        match self.next(deadline).await {
                            Ok(()) => {}
                            Err(Stop::Deadline) if until <= self.budget.deadline => break,
                            Err(s) => return Err(self.failure(s, at(), "wait")),
                        }
                    }
                }
                WsMessage::Ping(timeout) => {
                    let deadline = self.deadline(*timeout);
                    self.pings += 1;
                    let payload = Bytes::from(self.pings.to_be_bytes().to_vec());
                    self.write(Message::Ping(payload.clone()))
                        .await
                        .map_err(|s| self.failure(s, at(), "ping"))?;
                    self.ping = Some((payload, Instant::now()));
                    while self.ping.is_some() {
                        self.next(deadline)
                            .await
                            .map_err(|s| self.failure(s, at(), "ping (waiting for the pong)"))?;
                    }
                }
                WsMessage::Close(code) => return self.close(*code).await,
            }
        }
        self.close(1000).await
    }

    /// Sends a close frame and waits for the server's, then for it to
    /// close the connection (RFC 6455: the server closes TCP first).
    async fn close(&mut self, code: u16) -> Result<(), ActionError> {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: "".into(),
        };
        let deadline = self.budget.deadline;
        match self.ws.close(Some(frame)) {
            Ok(()) => {}
            Err(e) if would_block(&e) => {}
            Err(e) => {
                let s = self.stop(e);
                return Err(self.failure(s, "close".into(), "close"));
            }
        }
        loop {
            match self.next(deadline).await {
                Ok(()) => {}
                Err(Stop::Closed) => return Ok(()),
                Err(s) => {
                    return Err(self.failure(
                        s,
                        "close".into(),
                        "close (waiting for the server's close)",
                    ));
                }
            }
        }
    }

    /// Messages received and not yet taken.
    fn waiting(&self) -> u64 {
        self.dropped + self.queue.len() as u64
    }

    /// Takes `n` received messages, oldest first.
    fn take(&mut self, n: u64) {
        let from_dropped = n.min(self.dropped);
        self.dropped -= from_dropped;
        for _ in from_dropped..n {
            self.queue.pop_front();
        }
    }

    /// Waits for a message received after `sent` that `e` matches; those
    /// before it are passed over. The time from `sent` to it is a round trip.
    async fn expect(&mut self, e: &WsExpect, sent: Instant, deadline: u64) -> Result<(), Stop> {
        // Where the messages not yet looked at begin (the queue drops its
        // oldest when full, so this counts from its end).
        let mut from = 0;
        loop {
            let found = self
                .queue
                .iter()
                .enumerate()
                .skip(from)
                .find(|(_, (body, at))| *at >= sent && expect::matches(e, body))
                .map(|(i, (_, at))| (i, *at));
            if let Some((i, at)) = found {
                self.round_trips
                    .push(nanos(at.saturating_duration_since(sent)));
                self.take(self.dropped + i as u64 + 1);
                return Ok(());
            }
            let before = self.received;
            self.next(deadline).await?;
            let new = (self.received - before) as usize;
            from = self.queue.len().saturating_sub(new);
        }
    }

    /// The deadline of a wait with `timeout` (none: the step's).
    fn deadline(&self, timeout: Option<u64>) -> u64 {
        timeout.map_or(self.budget.deadline, |t| {
            monotonic_clock::now()
                .saturating_add(t)
                .min(self.budget.deadline)
        })
    }

    /// Queues `msg` and flushes it.
    async fn write(&mut self, msg: Message) -> Result<(), Stop> {
        match self.ws.write(msg) {
            Ok(()) => {}
            Err(e) if would_block(&e) => {}
            Err(e) => return Err(self.stop(e)),
        }
        let deadline = self.budget.deadline;
        loop {
            match self.ws.flush() {
                Ok(()) => return Ok(()),
                Err(e) if would_block(&e) => {
                    self.park(deadline).await?;
                }
                Err(e) => return Err(self.stop(e)),
            }
        }
    }

    /// Reads one message (answering pings as tungstenite does, noting
    /// pongs and a close), waiting for it until `deadline`.
    async fn next(&mut self, deadline: u64) -> Result<(), Stop> {
        if self.in_a_row >= READS_PER_TURN {
            self.in_a_row = 0;
            ready(monotonic_clock::subscribe_duration(0), deadline)
                .await
                .map_err(|_| Stop::Deadline)?;
        }
        loop {
            match self.ws.read() {
                Ok(msg) => {
                    self.in_a_row += 1;
                    self.on(msg);
                    return Ok(());
                }
                Err(e) if would_block(&e) => {
                    self.in_a_row = 0;
                    self.park(deadline).await?;
                }
                Err(e) => return Err(self.stop(e)),
            }
        }
    }

    /// Waits on the connection until `deadline`.
    async fn park(&self, deadline: u64) -> Result<(), Stop> {
        if monotonic_clock::now() >= deadline {
            return Err(Stop::Deadline);
        }
        ready(self.conn.subscribe(), deadline)
            .await
            .map_err(|_| Stop::Deadline)
    }

    fn on(&mut self, msg: Message) {
        let body = match msg {
            Message::Text(t) => Bytes::from(t),
            Message::Binary(b) => b,
            Message::Pong(p) => {
                if let Some((want, at)) = &self.ping
                    && *want == p
                {
                    self.round_trips.push(nanos(at.elapsed()));
                    self.ping = None;
                }
                return;
            }
            Message::Close(frame) => {
                self.peer_close = Some(match frame {
                    Some(f) => (u16::from(f.code), f.reason.to_string()),
                    None => (1005, String::new()),
                });
                return;
            }
            Message::Ping(_) | Message::Frame(_) => return,
        };
        self.received += 1;
        self.answers.read(&body);
        if self.queue.len() >= KEPT {
            self.queue.pop_front();
            self.dropped += 1;
        }
        self.queue.push_back((body, Instant::now()));
    }

    /// A tungstenite error as the reason a wait stopped.
    fn stop(&mut self, e: WsError) -> Stop {
        let url = &self.url;
        match e {
            WsError::ConnectionClosed | WsError::AlreadyClosed => Stop::Closed,
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => Stop::Failed(fail(
                ErrorKind::ClosedAbnormally,
                format!("{url}: the server dropped the connection without a close frame (1006)"),
            )),
            WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => {
                // 1009: the message was too big to process; best effort.
                let _ = self.ws.close(Some(CloseFrame {
                    code: CloseCode::Size,
                    reason: "".into(),
                }));
                Stop::Failed(fail(
                    ErrorKind::MessageTooBig,
                    format!(
                        "{url}: a message of {size} bytes, more than max_message ({max_size} bytes); closed with 1009"
                    ),
                ))
            }
            WsError::Utf8(_) => {
                let _ = self.ws.close(Some(CloseFrame {
                    code: CloseCode::Invalid,
                    reason: "".into(),
                }));
                Stop::Failed(fail(
                    ErrorKind::Protocol,
                    format!("{url}: a text message was not UTF-8; closed with 1007"),
                ))
            }
            WsError::Io(_) => match self.meter.error.take() {
                Some(NetError::ConnectionReset) => Stop::Failed(fail(
                    ErrorKind::ClosedAbnormally,
                    format!("{url}: the connection was reset without a close frame (1006)"),
                )),
                Some(e) => Stop::Failed(net_fail(e, false, url)),
                None => Stop::Failed(fail(ErrorKind::Other, format!("{url}: {e}"))),
            },
            other => Stop::Failed(fail(ErrorKind::Protocol, format!("{url}: {other}"))),
        }
    }

    /// The step's error for a wait that stopped while doing `what` (message
    /// `at`): a deadline is a timeout, unless messages arrived that did not
    /// match (a failed check); the server closing is abnormal here.
    fn failure(&self, s: Stop, at: String, what: &str) -> ActionError {
        let url = &self.url;
        match s {
            Stop::Failed(e) => fail(e.kind, format!("{at} {what}: {}", e.message)),
            Stop::Closed | Stop::Deadline if self.peer_close.is_some() => {
                let (code, reason) = self.peer_close.clone().unwrap_or_default();
                fail(
                    ErrorKind::ClosedAbnormally,
                    format!(
                        "{url}: {at} {what}: the server closed the session ({code} {reason:?}) first"
                    ),
                )
            }
            Stop::Closed => fail(
                ErrorKind::ClosedAbnormally,
                format!("{url}: {at} {what}: the connection closed"),
            ),
            Stop::Deadline => match self.queue.back() {
                Some((last, _)) if what.starts_with("expect") => fail(
                    ErrorKind::CheckFailed,
                    format!(
                        "{url}: {at} {what}: no matching message in time ({} waiting; last: {})",
                        self.queue.len(),
                        show(last)
                    ),
                ),
                _ => fail(ErrorKind::Timeout, format!("{url}: {at} {what}: timed out")),
            },
        }
    }

    /// The code of a close handshake that completed, if it did.
    fn close_code(&self, error: &Option<ActionError>) -> Option<u16> {
        let (code, _) = self.peer_close.as_ref()?;
        match error {
            None => Some(*code),
            // The server's close with an error code completed the handshake too.
            Some(e) if e.kind == ErrorKind::ClosedAbnormally => Some(*code),
            Some(_) => None,
        }
    }
}

/// The socket could not take or give bytes now (`wire` says so for a read
/// with nothing waiting and a flush the socket cannot take yet).
fn would_block(e: &WsError) -> bool {
    matches!(e, WsError::Io(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}
