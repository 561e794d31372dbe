//! TCP: create, bind to the source IP, connect, read and write with deadlines.

use crate::CoreLibs;
use crate::addr::{family, from_wasi, ip, socket, to_wasi, wit_socket};
use crate::deadline::Deadline;
use crate::error::{at, bind_error};
use crate::exports::scheduler::core_libs::tcp::{Connection, Guest, GuestConnection};
use crate::exports::scheduler::core_libs::types::{Duration, IpAddress, IpSocketAddress, NetError};
pub use crate::stream::TcpConnection;
use std::cell::RefCell;
use std::net::SocketAddr;
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{ErrorCode, Network};
use wasip2::sockets::tcp::TcpSocket;
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

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
