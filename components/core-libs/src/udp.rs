//! UDP: always bound (to the source IP or the unspecified address), connected
//! to one peer, with send and receive deadlines.

use crate::CoreLibs;
use crate::addr::{family, from_wasi, parse_ip, parse_socket, to_wasi, unspecified};
use crate::deadline::Deadline;
use crate::error::from_code;
use crate::exports::scheduler::core_libs::types::NetError;
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
}

impl Guest for CoreLibs {
    type Socket = UdpConnection;

    fn open(target: String, source_ip: Option<String>) -> Result<Socket, NetError> {
        let target = parse_socket(&target)?;
        let fam = family(target.ip());
        let local = match source_ip {
            Some(text) => {
                let ip = parse_ip(&text)?;
                if ip.is_ipv4() != target.is_ipv4() {
                    return Err(NetError::InvalidArgument(format!(
                        "source {ip} and target {target} are of different IP families"
                    )));
                }
                ip
            }
            None => unspecified(fam),
        };
        let network = instance_network();
        let socket = create_udp_socket(fam).map_err(from_code)?;
        socket
            .start_bind(&network, to_wasi(SocketAddr::new(local, 0)))
            .map_err(from_code)?;
        loop {
            match socket.finish_bind() {
                Ok(()) => break,
                Err(ErrorCode::WouldBlock) => socket.subscribe().block(),
                Err(ErrorCode::AddressNotBindable) | Err(ErrorCode::AddressInUse) => {
                    return Err(NetError::AddressNotBindable(local.to_string()));
                }
                Err(e) => return Err(from_code(e)),
            }
        }
        let (incoming, outgoing) = socket.stream(Some(to_wasi(target))).map_err(from_code)?;
        Ok(Socket::new(UdpConnection {
            incoming,
            outgoing,
            socket,
        }))
    }
}

impl GuestSocket for UdpConnection {
    fn send(&self, data: Vec<u8>, timeout_ms: u32) -> Result<(), NetError> {
        let deadline = Deadline::after_ms(timeout_ms);
        while self.outgoing.check_send().map_err(from_code)? == 0 {
            deadline.wait(&self.outgoing.subscribe())?;
        }
        let datagram = OutgoingDatagram {
            data,
            remote_address: None,
        };
        match self.outgoing.send(&[datagram]).map_err(from_code)? {
            1 => Ok(()),
            _ => Err(NetError::Other("datagram not sent".into())),
        }
    }

    fn receive(&self, max: u32, timeout_ms: u32) -> Result<Vec<u8>, NetError> {
        let deadline = Deadline::after_ms(timeout_ms);
        loop {
            match self.incoming.receive(1).map_err(from_code)?.pop() {
                Some(d) => {
                    let mut data = d.data;
                    data.truncate(max as usize);
                    return Ok(data);
                }
                None => deadline.wait(&self.incoming.subscribe())?,
            }
        }
    }

    fn local_address(&self) -> String {
        self.socket
            .local_address()
            .map(|a| from_wasi(a).to_string())
            .unwrap_or_default()
    }
}
