//! A core-libs connection as std's `Read` + `Write`, for tungstenite: a
//! read with nothing waiting and a flush the socket cannot take yet are
//! `WouldBlock`, and the session then waits on the connection's pollable.
//! Bytes are counted both ways; a socket error is kept so the step reports
//! its own kind, not `io::Error`'s.

use action_support::net::NetError;
use action_support::tcp::Connection;
use std::cell::Cell;
use std::io::{self, Read, Write};
use std::rc::Rc;

/// What the session reads back from its wire.
#[derive(Default)]
pub struct Meter {
    pub sent: Cell<u64>,
    pub received: Cell<u64>,
    /// The socket error behind the last `io::Error` handed to tungstenite.
    pub error: Cell<Option<NetError>>,
}

pub struct Wire {
    pub conn: Rc<Connection>,
    pub meter: Rc<Meter>,
}

impl Wire {
    fn failed(&self, e: NetError) -> io::Error {
        action_support::io::codec_error(e, &self.meter.error)
    }
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let max = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        match self.conn.try_read(max) {
            // Empty: the peer closed its side (EOF is a read of nothing).
            Ok(Some(bytes)) => {
                let n = bytes.len().min(buf.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                self.meter
                    .received
                    .set(self.meter.received.get() + n as u64);
                Ok(n)
            }
            Ok(None) => Err(io::ErrorKind::WouldBlock.into()),
            Err(e) => Err(self.failed(e)),
        }
    }
}

impl Write for Wire {
    /// Queued at once (core-libs' `send` never blocks); `flush` hands the
    /// bytes to the socket.
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self.conn.send(data) {
            Ok(()) => {
                self.meter
                    .sent
                    .set(self.meter.sent.get() + data.len() as u64);
                Ok(data.len())
            }
            Err(e) => Err(self.failed(e)),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.conn.try_flush() {
            Ok(true) => Ok(()),
            Ok(false) => Err(io::ErrorKind::WouldBlock.into()),
            Err(e) => Err(self.failed(e)),
        }
    }
}
