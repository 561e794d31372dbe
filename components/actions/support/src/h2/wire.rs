//! A core-libs connection as tokio's `AsyncRead` + `AsyncWrite`, for the
//! HTTP/2 codec (`h2` is written against those traits). No tokio runtime
//! runs: a read or flush that would wait parks the call on the
//! connection's pollable (`task::park`), and the scheduler advances the
//! call again when it fires. Bytes are counted both ways; a socket error is
//! kept so the step reports its own kind, not `io::Error`'s.

use crate::net::NetError;
use crate::task;
use crate::tcp::Connection;
use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What the call using a connection reads back from it.
#[derive(Default)]
pub struct Meter {
    pub sent: Cell<u64>,
    pub received: Cell<u64>,
    /// The step's deadline (a monotonic-clock instant): set by each call.
    pub deadline: Cell<u64>,
    /// The socket error behind the last `io::Error` handed to the codec.
    pub error: Cell<Option<NetError>>,
}

pub struct Io {
    conn: Connection,
    meter: Rc<Meter>,
}

impl Io {
    pub fn new(conn: Connection, meter: Rc<Meter>) -> Self {
        Io { conn, meter }
    }

    fn failed(&self, e: NetError) -> io::Error {
        crate::io::codec_error(e, &self.meter.error)
    }

    /// Waits on the socket. Past the step's deadline it hands out no wait
    /// and no error: the call's own deadline check (`h2::drive`) ends
    /// the step, and the codec is left whole, so the connection stays
    /// usable for the user's next request (an I/O error would end it).
    fn park(&self) -> Poll<io::Result<()>> {
        let _ = task::park(self.conn.subscribe(), self.meter.deadline.get());
        Poll::Pending
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let max = u32::try_from(buf.remaining()).unwrap_or(u32::MAX);
        match self.conn.try_read(max) {
            // Empty: the peer closed (EOF is a read of nothing).
            Ok(Some(bytes)) => {
                self.meter
                    .received
                    .set(self.meter.received.get() + bytes.len() as u64);
                buf.put_slice(&bytes);
                Poll::Ready(Ok(()))
            }
            Ok(None) => self.park(),
            Err(e) => Poll::Ready(Err(self.failed(e))),
        }
    }
}

impl AsyncWrite for Io {
    /// Queued at once (core-libs' `send` never blocks); `poll_flush` hands
    /// the bytes to the socket.
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.conn.send(data) {
            Ok(()) => {
                self.meter
                    .sent
                    .set(self.meter.sent.get() + data.len() as u64);
                Poll::Ready(Ok(data.len()))
            }
            Err(e) => Poll::Ready(Err(self.failed(e))),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.conn.try_flush() {
            Ok(true) => Poll::Ready(Ok(())),
            Ok(false) => self.park(),
            Err(e) => Poll::Ready(Err(self.failed(e))),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
