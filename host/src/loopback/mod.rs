//! The built-in loopback target: an HTTP/1.1 server, a TCP echo and a UDP
//! echo (and, with `with_https`, the HTTP server over TLS with a fresh CA),
//! each counting what it receives per source address, so tests can compare
//! the server's view with the report's. `scheduler-host serve` keeps it up
//! on fixed ports; `demo` and the tests start it on free ones.

mod http;
mod tcp;
mod tls;
mod udp;

pub use tls::{Ca, Https, Leaf};

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

/// "12 from {127.0.0.2: 6, 127.0.0.3: 6}": what `demo` and `serve` print.
impl std::fmt::Display for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{} from {:?}", self.requests(), self.by_source())
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
    /// The HTTPS server, once `with_https` started it.
    pub https: Option<Https>,
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
            https: None,
            stop,
        })
    }

    /// Also serves the HTTP routes over TLS on `port` (0: a free one), with
    /// a certificate for `localhost` and this address from a CA made now.
    pub fn with_https(mut self, port: u16) -> io::Result<Self> {
        let ip = self.http.ip();
        self.https = Some(tls::serve(
            SocketAddr::new(ip, port),
            Arc::clone(&self.stop),
        )?);
        Ok(self)
    }
}

impl Drop for LoopbackTarget {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the blocking accept loops so they see the flag.
        let _ = std::net::TcpStream::connect(self.http);
        let _ = std::net::TcpStream::connect(self.tcp);
        if let Some(https) = &self.https {
            let _ = std::net::TcpStream::connect(https.addr);
        }
    }
}

fn stopped(stop: &AtomicBool) -> bool {
    stop.load(Ordering::Relaxed)
}

/// What serves one accepted connection.
type Handler = dyn Fn(std::net::TcpStream, &Counters) -> io::Result<()> + Send + Sync;

/// Listens on `addr` and serves each connection on its own thread with
/// `handle`, until `stop`; returns the bound address.
fn accept_loop(
    addr: SocketAddr,
    seen: Arc<Counters>,
    stop: Arc<AtomicBool>,
    handle: Arc<Handler>,
) -> io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr()?;
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if stopped(&stop) {
                break;
            }
            let Ok(conn) = conn else { continue };
            seen.connections.fetch_add(1, Ordering::Relaxed);
            let (seen, handle) = (Arc::clone(&seen), Arc::clone(&handle));
            std::thread::spawn(move || {
                let _ = handle(conn, &seen);
            });
        }
    });
    Ok(local)
}
