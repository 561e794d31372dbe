//! Per-instance state: routes (a URL parsed and its host resolved) and
//! kept-alive connections, one per (target address, source IP, TLS name). An instance
//! serves one virtual user in the host, so no connection is ever shared
//! between users there. A user touches a handful of URLs and addresses, so
//! both are short lists searched in order: cheaper than hashing every call.

use crate::net::Connection;
use crate::request::Target;
use action_support::net::{IpAddress, IpSocketAddress, ProtocolVersion};
use action_support::types::ActionError;
use action_support::{net_fail, resolve_host, std_ip, std_socket};
use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

/// Routes kept per instance; past this, URLs are parsed and resolved per call.
const MAX_ROUTES: usize = 64;

/// A URL's target and the address it resolved to.
pub struct Route {
    pub target: Target,
    pub addr: IpSocketAddress,
    /// The host name TLS is for (`https://` only).
    pub tls_host: Option<Rc<str>>,
}

/// Which idle connection a request may reuse: a TLS connection only by a
/// request for the same host name (its SNI and verified name) through the
/// same TLS client (its settings: a connection made with a client
/// certificate is not one made without).
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    pub addr: SocketAddr,
    pub source: Option<IpAddr>,
    pub tls_host: Option<Rc<str>>,
    /// The client's id; none: this instance's default client for the user.
    pub tls_client: Option<u64>,
}

impl Key {
    pub fn new(route: &Route, source: Option<IpAddress>, tls_client: Option<u64>) -> Self {
        Key {
            addr: std_socket(route.addr),
            source: source.map(std_ip),
            tls_host: route.tls_host.clone(),
            tls_client: tls_client.filter(|_| route.tls_host.is_some()),
        }
    }
}

/// An idle connection and the TLS version it negotiated.
pub struct Idle {
    pub conn: Connection,
    pub tls: Option<ProtocolVersion>,
}

thread_local! {
    static IDLE: RefCell<Vec<(Key, Idle)>> = const { RefCell::new(Vec::new()) };
    /// (url, IPv6 source?) → route.
    static ROUTES: RefCell<Vec<(String, bool, Rc<Route>)>> = const { RefCell::new(Vec::new()) };
}

pub fn take(key: &Key) -> Option<Idle> {
    IDLE.with(|m| {
        let mut m = m.borrow_mut();
        let i = m.iter().position(|(k, _)| k == key)?;
        Some(m.swap_remove(i).1)
    })
}

pub fn put(key: Key, idle: Idle) {
    IDLE.with(|m| m.borrow_mut().push((key, idle)));
}

/// The route for `url`, cached for the life of the instance.
pub fn route(url: &str, source: Option<IpAddress>) -> Result<Rc<Route>, ActionError> {
    let v6 = matches!(source, Some(IpAddress::Ipv6(_)));
    let cached = ROUTES.with(|r| {
        r.borrow()
            .iter()
            .find(|(u, six, _)| *six == v6 && u == url)
            .map(|(_, _, route)| Rc::clone(route))
    });
    if let Some(route) = cached {
        return Ok(route);
    }
    let target = Target::parse(url)?;
    let (host, port) = &target.host;
    let ip = resolve_host(host, source).map_err(|e| net_fail(e, true, &target.authority))?;
    let addr = IpSocketAddress {
        address: ip,
        port: *port,
    };
    let tls_host = target.tls.then(|| Rc::from(target.host.0.as_str()));
    let route = Rc::new(Route {
        target,
        addr,
        tls_host,
    });
    ROUTES.with(|r| {
        let mut r = r.borrow_mut();
        if r.len() < MAX_ROUTES {
            r.push((url.to_string(), v6, Rc::clone(&route)));
        }
    });
    Ok(route)
}
