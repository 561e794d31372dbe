//! The built-in loopback target: an HTTP/1.1 server, a TCP echo and a UDP
//! echo, each counting what it receives per source address, so tests can
//! compare the server's view with the report's.

mod http;
mod tcp;
mod udp;

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What a server saw.
#[derive(Default)]
pub struct Counters {
    /// HTTP requests, TCP connections or UDP datagrams received.
    pub requests: AtomicU64,
    /// TCP connections accepted (HTTP and TCP servers).
    pub connections: AtomicU64,
    by_source: Mutex<BTreeMap<IpAddr, u64>>,
}

impl Counters {
    fn hit(&self, from: IpAddr) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        *self
            .by_source
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(from)
            .or_default() += 1;
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Requests per source address.
    pub fn by_source(&self) -> BTreeMap<IpAddr, u64> {
        self.by_source
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The three servers, listening on one loopback address.
pub struct LoopbackTarget {
    pub http: SocketAddr,
    pub tcp: SocketAddr,
    pub udp: SocketAddr,
    pub http_seen: Arc<Counters>,
    pub tcp_seen: Arc<Counters>,
    pub udp_seen: Arc<Counters>,
    stop: Arc<AtomicBool>,
}

impl LoopbackTarget {
    /// Starts the servers on `ip` (which must be a loopback address) at the
    /// given ports; port 0 picks a free one.
    pub fn start(ip: IpAddr, http_port: u16, tcp_port: u16, udp_port: u16) -> io::Result<Self> {
        if !ip.is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{ip} is not a loopback address"),
            ));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (http_seen, tcp_seen, udp_seen) = Default::default();
        let http = http::serve(
            SocketAddr::new(ip, http_port),
            Arc::clone(&http_seen),
            Arc::clone(&stop),
        )?;
        let tcp = tcp::serve(
            SocketAddr::new(ip, tcp_port),
            Arc::clone(&tcp_seen),
            Arc::clone(&stop),
        )?;
        let udp = udp::serve(
            SocketAddr::new(ip, udp_port),
            Arc::clone(&udp_seen),
            Arc::clone(&stop),
        )?;
        Ok(LoopbackTarget {
            http,
            tcp,
            udp,
            http_seen,
            tcp_seen,
            udp_seen,
            stop,
        })
    }
}

impl Drop for LoopbackTarget {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the blocking accept loops so they see the flag.
        let _ = std::net::TcpStream::connect(self.http);
        let _ = std::net::TcpStream::connect(self.tcp);
    }
}

fn stopped(stop: &AtomicBool) -> bool {
    stop.load(Ordering::Relaxed)
}

/// Listens on `addr` and serves each connection on its own thread with
/// `handle`, until `stop`; returns the bound address.
fn accept_loop(
    addr: SocketAddr,
    seen: Arc<Counters>,
    stop: Arc<AtomicBool>,
    handle: fn(std::net::TcpStream, &Counters) -> io::Result<()>,
) -> io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if stopped(&stop) {
                break;
            }
            let Ok(conn) = conn else { continue };
            seen.connections.fetch_add(1, Ordering::Relaxed);
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let _ = handle(conn, &seen);
            });
        }
    });
    Ok(local)
}
