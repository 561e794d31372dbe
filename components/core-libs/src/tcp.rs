//! TCP: create, bind to the source IP, connect, read and write with deadlines.

use crate::CoreLibs;
use crate::addr::{family, from_wasi, ip, socket, to_wasi, wit_socket};
use crate::deadline::Deadline;
use crate::error::{at, bind_error, from_stream};
use crate::exports::scheduler::core_libs::tcp::{Connection, Guest, GuestConnection};
use crate::exports::scheduler::core_libs::types::{Duration, IpAddress, IpSocketAddress, NetError};
use std::cell::RefCell;
use std::net::SocketAddr;
use wasip2::io::poll::Pollable;
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{ErrorCode, Network};
use wasip2::sockets::tcp::TcpSocket;
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

/// Field order matters: the streams are children of the socket and must be
/// dropped before it.
pub struct TcpConnection {
    /// Set by `tls::handshake`: from then on `read`/`write` go through it.
    pub(crate) tls: RefCell<Option<Box<rustls::ClientConnection>>>,
    /// The input's readiness, subscribed once for the connection's life
    /// (a child of `input`, so dropped before it).
    readable: Pollable,
    input: InputStream,
    output: OutputStream,
    socket: TcpSocket,
}

impl Guest for CoreLibs {
    type Connection = TcpConnection;

    fn connect(
        target: IpSocketAddress,
        source: Option<IpAddress>,
        timeout: Duration,
    ) -> Result<Connection, NetError> {
        let target = socket(target);
        let deadline = Deadline::after(timeout);
        let network = instance_network();
        let sock = create_tcp_socket(family(target.ip())).map_err(|e| at(e, target))?;
        if let Some(source) = source {
            bind(
                &sock,
                &network,
                SocketAddr::new(ip(source), 0),
                target,
                &deadline,
            )?;
        }
        let connect_error = |e: ErrorCode| at(e, target);
        sock.start_connect(&network, to_wasi(target))
            .map_err(connect_error)?;
        let (input, output) = loop {
            match sock.finish_connect() {
                Ok(streams) => break streams,
                Err(ErrorCode::WouldBlock) => deadline.wait(&sock.subscribe())?,
                Err(e) => return Err(connect_error(e)),
            }
        };
        Ok(Connection::new(TcpConnection {
            tls: RefCell::new(None),
            readable: input.subscribe(),
            input,
            output,
            socket: sock,
        }))
    }
}

/// Binds to `local` (port 0) so the peer sees this virtual user's address.
fn bind(
    sock: &TcpSocket,
    network: &Network,
    local: SocketAddr,
    target: SocketAddr,
    deadline: &Deadline,
) -> Result<(), NetError> {
    if local.is_ipv4() != target.is_ipv4() {
        return Err(NetError::InvalidArgument(format!(
            "source {} and target {target} are of different IP families",
            local.ip()
        )));
    }
    sock.start_bind(network, to_wasi(local))
        .map_err(|e| bind_error(e, local))?;
    loop {
        match sock.finish_bind() {
            Ok(()) => return Ok(()),
            Err(ErrorCode::WouldBlock) => deadline.wait(&sock.subscribe())?,
            Err(e) => return Err(bind_error(e, local)),
        }
    }
}

impl GuestConnection for TcpConnection {
    fn write(&self, data: Vec<u8>, timeout: Duration) -> Result<(), NetError> {
        let deadline = Deadline::after(timeout);
        match self.tls.borrow_mut().as_deref_mut() {
            Some(tls) => crate::tls::write(self, tls, &data, &deadline),
            None => self.send(&data, &deadline),
        }
    }

    fn read(&self, max: u32, timeout: Duration) -> Result<Vec<u8>, NetError> {
        let deadline = Deadline::after(timeout);
        match self.tls.borrow_mut().as_deref_mut() {
            Some(tls) => crate::tls::read(self, tls, max, &deadline),
            None => self.receive(max, &deadline),
        }
    }

    fn local_address(&self) -> Option<IpSocketAddress> {
        self.socket
            .local_address()
            .ok()
            .map(|a| wit_socket(from_wasi(a)))
    }
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
