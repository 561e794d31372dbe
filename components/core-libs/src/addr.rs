//! Text addresses ("127.0.0.1:80", "[::1]:53", "127.0.0.2") ↔ wasi addresses.

use crate::exports::scheduler::core_libs::types::NetError;
use std::net::{IpAddr, SocketAddr};
use wasip2::sockets::network::{
    IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};

pub fn parse_socket(text: &str) -> Result<SocketAddr, NetError> {
    text.parse()
        .map_err(|_| NetError::InvalidArgument(format!("not an ip:port address: {text:?}")))
}

pub fn parse_ip(text: &str) -> Result<IpAddr, NetError> {
    text.parse()
        .map_err(|_| NetError::InvalidArgument(format!("not an IP address: {text:?}")))
}

pub fn family(ip: IpAddr) -> IpAddressFamily {
    match ip {
        IpAddr::V4(_) => IpAddressFamily::Ipv4,
        IpAddr::V6(_) => IpAddressFamily::Ipv6,
    }
}

pub fn unspecified(family: IpAddressFamily) -> IpAddr {
    match family {
        IpAddressFamily::Ipv4 => IpAddr::from([0u8; 4]),
        IpAddressFamily::Ipv6 => IpAddr::from([0u16; 8]),
    }
}

pub fn to_wasi(addr: SocketAddr) -> IpSocketAddress {
    match addr {
        SocketAddr::V4(a) => {
            let [a0, a1, a2, a3] = a.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port: a.port(),
                address: (a0, a1, a2, a3),
            })
        }
        SocketAddr::V6(a) => {
            let [s0, s1, s2, s3, s4, s5, s6, s7] = a.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: a.port(),
                flow_info: a.flowinfo(),
                address: (s0, s1, s2, s3, s4, s5, s6, s7),
                scope_id: a.scope_id(),
            })
        }
    }
}

pub fn from_wasi(addr: IpSocketAddress) -> SocketAddr {
    match addr {
        IpSocketAddress::Ipv4(a) => {
            let (a0, a1, a2, a3) = a.address;
            SocketAddr::new(IpAddr::from([a0, a1, a2, a3]), a.port)
        }
        IpSocketAddress::Ipv6(a) => {
            let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
            SocketAddr::new(IpAddr::from([s0, s1, s2, s3, s4, s5, s6, s7]), a.port)
        }
    }
}

pub fn ip_text(ip: IpAddress) -> String {
    from_wasi(match ip {
        IpAddress::Ipv4(address) => IpSocketAddress::Ipv4(Ipv4SocketAddress { port: 0, address }),
        IpAddress::Ipv6(address) => IpSocketAddress::Ipv6(Ipv6SocketAddress {
            port: 0,
            flow_info: 0,
            address,
            scope_id: 0,
        }),
    })
    .ip()
    .to_string()
}
