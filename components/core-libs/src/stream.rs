//! A connected TCP socket and its own bytes (TLS records, once TLS is on):
//! what `tcp` (the exported connection) and `tls` (the records) both use.
//! Every operation has a non-blocking form (a scheduler instance drives
//! many users' connections from one event loop); the blocking forms are
//! the same calls plus a wait on `Deadline`.

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
    /// Set by `tls::start_handshake`: from then on reads and writes go
    /// through it.
    pub(crate) tls: RefCell<Option<Box<rustls::ClientConnection>>>,
    /// Bytes queued for the socket that it has not taken yet.
    pub(crate) queued: RefCell<Vec<u8>>,
    /// TLS records received that rustls could not take yet (its plaintext
    /// buffer was full): fed to it before the socket is read again.
    pub(crate) unread: RefCell<Vec<u8>>,
    /// The input's readiness, subscribed once for the connection's life
    /// (a child of `input`, so dropped before it).
    pub(crate) readable: Pollable,
    pub(crate) input: InputStream,
    pub(crate) output: OutputStream,
    pub(crate) socket: TcpSocket,
}

impl TcpConnection {
    pub(crate) fn new(socket: TcpSocket, input: InputStream, output: OutputStream) -> Self {
        TcpConnection {
            tls: RefCell::new(None),
            queued: RefCell::new(Vec::new()),
            unread: RefCell::new(Vec::new()),
            readable: input.subscribe(),
            input,
            output,
            socket,
        }
    }

    /// Queues `data` and hands the socket what it takes now.
    pub(crate) fn queue(&self, data: &[u8]) -> Result<(), NetError> {
        self.queued.borrow_mut().extend_from_slice(data);
        self.try_flush().map(drop)
    }

    /// Hands the socket what is queued, as far as its permit goes, and asks
    /// for a flush without waiting for it (the runtime hands the bytes to
    /// the OS at once; a failure shows on the next write or read). True
    /// once nothing is queued.
    pub(crate) fn try_flush(&self) -> Result<bool, NetError> {
        let mut queued = self.queued.borrow_mut();
        let mut sent = 0;
        while sent < queued.len() {
            let permit = self.output.check_write().map_err(from_stream)?;
            if permit == 0 {
                break;
            }
            let n = (queued.len() - sent).min(usize::try_from(permit).unwrap_or(usize::MAX));
            self.output
                .write(&queued[sent..sent + n])
                .map_err(from_stream)?;
            sent += n;
        }
        if sent > 0 {
            queued.drain(..sent);
            self.output.flush().map_err(from_stream)?;
        }
        Ok(queued.is_empty())
    }

    /// Up to `max` bytes if any have arrived; empty at EOF; none if nothing
    /// has arrived yet.
    pub(crate) fn try_receive(&self, max: u32) -> Result<Option<Vec<u8>>, NetError> {
        match self.input.read(u64::from(max.max(1))) {
            Ok(bytes) if !bytes.is_empty() => Ok(Some(bytes)),
            Ok(_) => Ok(None),
            Err(StreamError::Closed) => Ok(Some(Vec::new())),
            Err(e) => Err(from_stream(e)),
        }
    }

    /// A fresh pollable for what the connection waits on: the socket
    /// taking queued bytes, else bytes arriving.
    pub(crate) fn subscribe(&self) -> Pollable {
        if self.queued.borrow().is_empty() {
            self.input.subscribe()
        } else {
            self.output.subscribe()
        }
    }

    /// Waits (at most until `deadline`) for what `subscribe` names.
    pub(crate) fn wait(&self, deadline: &Deadline) -> Result<(), NetError> {
        if self.try_flush()? {
            deadline.wait(&self.readable)
        } else {
            deadline.wait(&self.output.subscribe())
        }
    }
}
