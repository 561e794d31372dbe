//! UDP: always bound (to the source IP or the unspecified address), connected
//! to one peer, with send and receive deadlines.

use crate::CoreLibs;
use crate::addr::{family, from_wasi, ip, socket, to_wasi, unspecified, wit_socket};
use crate::deadline::Deadline;
use crate::error::{at, bind_error};
use crate::exports::scheduler::core_libs::types::{Duration, IpAddress, IpSocketAddress, NetError};
use crate::exports::scheduler::core_libs::udp::{Guest, GuestSocket, Socket};
use std::net::SocketAddr;
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::ErrorCode;
use wasip2::sockets::udp::{
    IncomingDatagramStream, OutgoingDatagram, OutgoingDatagramStream, UdpSocket,
};
use wasip2::sockets::udp_create_socket::create_udp_socket;

/// Streams first: they are children of the socket and must drop before it.
pub struct UdpConnection {
    incoming: IncomingDatagramStream,
    outgoing: OutgoingDatagramStream,
    socket: UdpSocket,
    target: SocketAddr,
}

impl Guest for CoreLibs {
    type Socket = UdpConnection;

    fn open(target: IpSocketAddress, source: Option<IpAddress>) -> Result<Socket, NetError> {
        let target = socket(target);
        let local = match source.map(ip) {
            Some(ip) if ip.is_ipv4() != target.is_ipv4() => {
                return Err(NetError::InvalidArgument(format!(
                    "source {ip} and target {target} are of different IP families"
                )));
            }
            Some(ip) => SocketAddr::new(ip, 0),
            None => SocketAddr::new(unspecified(target.ip()), 0),
        };
        let network = instance_network();
        let sock = create_udp_socket(family(target.ip())).map_err(|e| at(e, target))?;
        sock.start_bind(&network, to_wasi(local))
            .map_err(|e| bind_error(e, local))?;
        loop {
            match sock.finish_bind() {
                Ok(()) => break,
                Err(ErrorCode::WouldBlock) => sock.subscribe().block(),
                Err(e) => return Err(bind_error(e, local)),
            }
        }
        let (incoming, outgoing) = sock
            .stream(Some(to_wasi(target)))
            .map_err(|e| at(e, target))?;
        Ok(Socket::new(UdpConnection {
            incoming,
            outgoing,
            socket: sock,
            target,
        }))
    }
}

impl UdpConnection {
    fn fail(&self, e: ErrorCode) -> NetError {
        at(e, self.target)
    }
}

impl GuestSocket for UdpConnection {
    fn send(&self, data: Vec<u8>, timeout: Duration) -> Result<(), NetError> {
        let deadline = Deadline::after(timeout);
        while self.outgoing.check_send().map_err(|e| self.fail(e))? == 0 {
            deadline.wait(&self.outgoing.subscribe())?;
        }
        let datagram = OutgoingDatagram {
            data,
            remote_address: None,
        };
        match self.outgoing.send(&[datagram]).map_err(|e| self.fail(e))? {
            1 => Ok(()),
            _ => Err(NetError::Other("datagram not sent".into())),
        }
    }

    fn receive(&self, max: u32, timeout: Duration) -> Result<Vec<u8>, NetError> {
        let deadline = Deadline::after(timeout);
        loop {
            match self.try_receive(max)? {
                Some(data) => return Ok(data),
                None => deadline.wait(&self.incoming.subscribe())?,
            }
        }
    }

    fn try_receive(&self, max: u32) -> Result<Option<Vec<u8>>, NetError> {
        let datagram = self.incoming.receive(1).map_err(|e| self.fail(e))?.pop();
        Ok(datagram.map(|d| {
            let mut data = d.data;
            data.truncate(max as usize);
            data
        }))
    }

    fn subscribe(&self) -> wasip2::io::poll::Pollable {
        self.incoming.subscribe()
    }

    fn local_address(&self) -> Option<IpSocketAddress> {
        self.socket
            .local_address()
            .ok()
            .map(|a| wit_socket(from_wasi(a)))
    }
}
