//! A connected TCP socket and its own bytes (TLS records, once TLS is on):
//! what `tcp` (the exported connection) and `tls` (the records) both use.

use crate::deadline::Deadline;
use crate::error::from_stream;
use crate::exports::scheduler::core_libs::types::NetError;
use std::cell::RefCell;
use wasip2::io::poll::Pollable;
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::tcp::TcpSocket;

/// Field order matters: the streams are children of the socket and must be
/// dropped before it.
pub struct TcpConnection {
    /// Set by `tls::handshake`: from then on `read`/`write` go through it.
    pub(crate) tls: RefCell<Option<Box<rustls::ClientConnection>>>,
    /// The input's readiness, subscribed once for the connection's life
    /// (a child of `input`, so dropped before it).
    pub(crate) readable: Pollable,
    pub(crate) input: InputStream,
    pub(crate) output: OutputStream,
    pub(crate) socket: TcpSocket,
}

/// The socket's own bytes (TLS records, once TLS is on).
impl TcpConnection {
    /// Writes all of `data` and asks for a flush, without waiting for it:
    /// the runtime hands the bytes to the OS at once, and a failure shows on
    /// the next write (its `check-write`) or read. Three calls into the
    /// runtime per write that fits its permit.
    pub(crate) fn send(&self, data: &[u8], deadline: &Deadline) -> Result<(), NetError> {
        let mut rest = data;
        while !rest.is_empty() {
            let permit = self.output.check_write().map_err(from_stream)?;
            if permit == 0 {
                deadline.wait(&self.output.subscribe())?;
                continue;
            }
            let n = rest
                .len()
                .min(usize::try_from(permit).unwrap_or(usize::MAX));
            self.output.write(&rest[..n]).map_err(from_stream)?;
            rest = &rest[n..];
        }
        self.output.flush().map_err(from_stream)?;
        Ok(())
    }

    /// Up to `max` bytes as soon as any arrive; empty at EOF. It reads
    /// before it waits: the runtime's readiness stays set until a read finds
    /// nothing, so a wait first would often return at once and cost a
    /// second wait.
    pub(crate) fn receive(&self, max: u32, deadline: &Deadline) -> Result<Vec<u8>, NetError> {
        loop {
            match self.input.read(u64::from(max.max(1))) {
                Ok(bytes) if !bytes.is_empty() => return Ok(bytes),
                Ok(_) => deadline.wait(&self.readable)?,
                Err(StreamError::Closed) => return Ok(Vec::new()),
                Err(e) => return Err(from_stream(e)),
            }
        }
    }
}
