//! TCP: create, bind to the source IP, connect, read and write; each in a
//! non-blocking form and a blocking one with a deadline.

use crate::CoreLibs;
use crate::addr::{family, from_wasi, ip, socket, to_wasi, wit_socket};
use crate::deadline::Deadline;
use crate::error::{at, bind_error};
use crate::exports::scheduler::core_libs::tcp::{
    Connecting, Connection, Guest, GuestConnecting, GuestConnection,
};
use crate::exports::scheduler::core_libs::types::{Duration, IpAddress, IpSocketAddress, NetError};
pub use crate::stream::TcpConnection;
use std::cell::RefCell;
use std::net::SocketAddr;
use wasip2::io::poll::Pollable;
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{ErrorCode, Network};
use wasip2::sockets::tcp::TcpSocket;
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

/// A connect in progress: the socket until it is connected.
pub struct PendingConnect {
    socket: RefCell<Option<TcpSocket>>,
    target: SocketAddr,
}

impl Guest for CoreLibs {
    type Connection = TcpConnection;
    type Connecting = PendingConnect;

    fn connect(
        target: IpSocketAddress,
        source: Option<IpAddress>,
        timeout: Duration,
    ) -> Result<Connection, NetError> {
        let deadline = Deadline::after(timeout);
        let pending = start(socket(target), source)?;
        loop {
            if let Some(conn) = pending.finish_connect()? {
                return Ok(Connection::new(conn));
            }
            deadline.wait(&pending.subscribe())?;
        }
    }

    fn start_connect(
        target: IpSocketAddress,
        source: Option<IpAddress>,
    ) -> Result<Connecting, NetError> {
        Ok(Connecting::new(start(socket(target), source)?))
    }
}

/// Creates the socket, binds it to `source` when given, starts the connect.
fn start(target: SocketAddr, source: Option<IpAddress>) -> Result<PendingConnect, NetError> {
    let network = instance_network();
    let sock = create_tcp_socket(family(target.ip())).map_err(|e| at(e, target))?;
    if let Some(source) = source {
        bind(&sock, &network, SocketAddr::new(ip(source), 0), target)?;
    }
    sock.start_connect(&network, to_wasi(target))
        .map_err(|e| at(e, target))?;
    Ok(PendingConnect {
        socket: RefCell::new(Some(sock)),
        target,
    })
}

impl PendingConnect {
    fn finish_connect(&self) -> Result<Option<TcpConnection>, NetError> {
        let mut slot = self.socket.borrow_mut();
        let Some(sock) = slot.as_ref() else {
            return Err(NetError::InvalidArgument(
                "this connect has already finished".into(),
            ));
        };
        match sock.finish_connect() {
            Ok((input, output)) => {
                let sock = slot.take().expect("checked above");
                Ok(Some(TcpConnection::new(sock, input, output)))
            }
            Err(ErrorCode::WouldBlock) => Ok(None),
            Err(e) => {
                slot.take();
                Err(at(e, self.target))
            }
        }
    }

    fn subscribe(&self) -> Pollable {
        match self.socket.borrow().as_ref() {
            Some(sock) => sock.subscribe(),
            // Spent: ready at once, so a caller asks `finish` and hears why.
            None => wasip2::clocks::monotonic_clock::subscribe_duration(0),
        }
    }
}

impl GuestConnecting for PendingConnect {
    fn subscribe(&self) -> Pollable {
        PendingConnect::subscribe(self)
    }

    fn finish(&self) -> Result<Option<Connection>, NetError> {
        Ok(self.finish_connect()?.map(Connection::new))
    }
}

/// Binds to `local` (port 0) so the peer sees this virtual user's address.
/// A bind completes at once in every runtime; the wait is only the
/// contract's shape.
fn bind(
    sock: &TcpSocket,
    network: &Network,
    local: SocketAddr,
    target: SocketAddr,
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
            Err(ErrorCode::WouldBlock) => sock.subscribe().block(),
            Err(e) => return Err(bind_error(e, local)),
        }
    }
}

impl GuestConnection for TcpConnection {
    fn write(&self, data: Vec<u8>, timeout: Duration) -> Result<(), NetError> {
        let deadline = Deadline::after(timeout);
        self.send_any(&data)?;
        while !self.flush_any()? {
            self.wait(&deadline)?;
        }
        Ok(())
    }

    fn read(&self, max: u32, timeout: Duration) -> Result<Vec<u8>, NetError> {
        let deadline = Deadline::after(timeout);
        loop {
            if let Some(bytes) = self.read_any(max)? {
                return Ok(bytes);
            }
            self.wait(&deadline)?;
        }
    }

    fn local_address(&self) -> Option<IpSocketAddress> {
        self.socket
            .local_address()
            .ok()
            .map(|a| wit_socket(from_wasi(a)))
    }

    fn send(&self, data: Vec<u8>) -> Result<(), NetError> {
        self.send_any(&data)
    }

    fn try_flush(&self) -> Result<bool, NetError> {
        self.flush_any()
    }

    fn try_read(&self, max: u32) -> Result<Option<Vec<u8>>, NetError> {
        self.read_any(max)
    }

    fn subscribe(&self) -> Pollable {
        TcpConnection::subscribe(self)
    }
}

/// Plaintext in and out, through TLS once it is on.
impl TcpConnection {
    fn send_any(&self, data: &[u8]) -> Result<(), NetError> {
        match self.tls.borrow_mut().as_deref_mut() {
            Some(tls) => crate::tls::send(self, tls, data),
            None => self.queue(data),
        }
    }

    fn flush_any(&self) -> Result<bool, NetError> {
        match self.tls.borrow_mut().as_deref_mut() {
            Some(tls) => crate::tls::flush(self, tls),
            None => TcpConnection::try_flush(self),
        }
    }

    fn read_any(&self, max: u32) -> Result<Option<Vec<u8>>, NetError> {
        match self.tls.borrow_mut().as_deref_mut() {
            Some(tls) => crate::tls::try_read(self, tls, max),
            None => self.try_receive(max),
        }
    }
}
