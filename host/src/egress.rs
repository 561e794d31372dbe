//! Scoped egress: an instance may connect or send only to the addresses the
//! scenario's targets resolve to, and bind only to its users' source
//! addresses (or the unspecified address when there is no pool). Everything else is
//! denied; the guest sees `access-denied`, reported as `egress-denied`.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use wasmtime_wasi::sockets::SocketAddrUse;

#[derive(Debug)]
pub struct Egress {
    targets: HashSet<SocketAddr>,
    /// Its users' source addresses (a handful: a cell's users share a
    /// pool's few addresses); none: the unspecified address only.
    sources: Vec<IpAddr>,
}

impl Egress {
    pub fn new(targets: HashSet<SocketAddr>, sources: Vec<IpAddr>) -> Self {
        Egress { targets, sources }
    }

    pub fn allows(&self, addr: SocketAddr, use_: SocketAddrUse) -> bool {
        match use_ {
            // Replies from anywhere else are dropped before they reach the guest.
            SocketAddrUse::TcpConnect | SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => {
                self.targets.contains(&addr)
            }
            SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => match self.sources.is_empty() {
                false => self.sources.contains(&addr.ip()),
                true => addr.ip().is_unspecified(),
            },
            // A load generator never listens.
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_targets_and_own_source() {
        let t: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let e = Egress::new([t].into(), vec!["127.0.0.2".parse().unwrap()]);
        assert!(e.allows(t, SocketAddrUse::TcpConnect));
        assert!(!e.allows("127.0.0.1:8081".parse().unwrap(), SocketAddrUse::TcpConnect));
        assert!(!e.allows("10.0.0.1:8080".parse().unwrap(), SocketAddrUse::UdpSend));
        assert!(e.allows("127.0.0.2:0".parse().unwrap(), SocketAddrUse::TcpBind));
        assert!(!e.allows("127.0.0.3:0".parse().unwrap(), SocketAddrUse::UdpBind));
        assert!(
            !e.allows("0.0.0.0:0".parse().unwrap(), SocketAddrUse::TcpBind),
            "pool users bind their own address"
        );
        assert!(!e.allows(t, SocketAddrUse::TcpListen));
        let nopool = Egress::new([t].into(), Vec::new());
        assert!(nopool.allows("0.0.0.0:0".parse().unwrap(), SocketAddrUse::TcpBind));
    }
}
