//! The contract's typed addresses ↔ std (the `contract` crate's
//! conversions) ↔ wasi:sockets addresses (core-libs alone speaks wasi:sockets).

use std::net::{IpAddr, SocketAddr};
use wasip2::sockets::network as wasi;

// ip, wit_ip, socket, wit_socket (and the TLS version pair): the
// contract's one copy of these conversions.
contract::core_types_conversions!(crate::exports::scheduler::core_libs::types);

pub fn family(ip: IpAddr) -> wasi::IpAddressFamily {
    match ip {
        IpAddr::V4(_) => wasi::IpAddressFamily::Ipv4,
        IpAddr::V6(_) => wasi::IpAddressFamily::Ipv6,
    }
}

pub fn unspecified(like: IpAddr) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::from([0u8; 4]),
        IpAddr::V6(_) => IpAddr::from([0u16; 8]),
    }
}

pub fn to_wasi(addr: SocketAddr) -> wasi::IpSocketAddress {
    match addr {
        SocketAddr::V4(a) => {
            let [a0, a1, a2, a3] = a.ip().octets();
            wasi::IpSocketAddress::Ipv4(wasi::Ipv4SocketAddress {
                port: a.port(),
                address: (a0, a1, a2, a3),
            })
        }
        SocketAddr::V6(a) => {
            let [s0, s1, s2, s3, s4, s5, s6, s7] = a.ip().segments();
            wasi::IpSocketAddress::Ipv6(wasi::Ipv6SocketAddress {
                port: a.port(),
                flow_info: a.flowinfo(),
                address: (s0, s1, s2, s3, s4, s5, s6, s7),
                scope_id: a.scope_id(),
            })
        }
    }
}

pub fn from_wasi(addr: wasi::IpSocketAddress) -> SocketAddr {
    match addr {
        wasi::IpSocketAddress::Ipv4(a) => {
            let (a0, a1, a2, a3) = a.address;
            SocketAddr::new(IpAddr::from([a0, a1, a2, a3]), a.port)
        }
        wasi::IpSocketAddress::Ipv6(a) => {
            let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
            SocketAddr::new(IpAddr::from([s0, s1, s2, s3, s4, s5, s6, s7]), a.port)
        }
    }
}

pub fn from_wasi_ip(ip: wasi::IpAddress) -> IpAddr {
    match ip {
        wasi::IpAddress::Ipv4((a, b, c, d)) => IpAddr::from([a, b, c, d]),
        wasi::IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => IpAddr::from([a, b, c, d, e, f, g, h]),
    }
}
