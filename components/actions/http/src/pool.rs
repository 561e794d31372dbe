//! Per-instance state: routes (a URL parsed and its host resolved) and
//! kept-alive connections, one per (user, target address, source IP, TLS
//! name): an instance serves many users, and none shares another's
//! connections (as in k6, each virtual user has its own). A user touches a handful of URLs and addresses, so
//! both are short lists searched in order: cheaper than hashing every call.

use crate::request::Target;
use action_support::net::{IpAddress, IpSocketAddress, ProtocolVersion};
use action_support::tcp::Connection;
use action_support::types::{ActionError, HttpVersion};
use action_support::{net_fail, resolve_host, std_ip, std_socket};
use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

/// Origins kept per instance; past this, URLs are parsed and resolved per call.
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
    pub vu: u32,
    pub addr: SocketAddr,
    /// The proxy the connection goes through.
    pub via: Option<SocketAddr>,
    pub source: Option<IpAddr>,
    pub tls_host: Option<Rc<str>>,
    /// The client's id; none: this instance's default client for the user.
    pub tls_client: Option<u64>,
}

impl Key {
    pub fn new(
        route: &Route,
        via: Option<&Proxy>,
        vu: u32,
        source: Option<IpAddress>,
        tls_client: Option<u64>,
    ) -> Self {
        Key {
            vu,
            addr: std_socket(route.addr),
            via: via.map(|p| std_socket(p.addr)),
            source: source.map(std_ip),
            tls_host: route.tls_host.clone(),
            tls_client: tls_client.filter(|_| route.tls_host.is_some()),
        }
    }
}

/// A kept-alive connection: HTTP/1.1 (one request at a time) or HTTP/2
/// (its streams).
pub enum Link {
    H1(Connection),
    H2(Box<crate::http2::Link>),
}

/// An idle connection, the TLS version it negotiated and the HTTP version
/// the step that opened it asked for.
pub struct Idle {
    pub link: Link,
    pub tls: Option<ProtocolVersion>,
    pub asked: Option<HttpVersion>,
    /// Which connection this is (`next_id`), for a trace.
    pub id: u64,
}

/// A number for a new connection: the instance's count of them.
pub fn next_id() -> u64 {
    thread_local! {
        static MADE: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }
    MADE.with(|n| {
        n.set(n.get() + 1);
        n.get()
    })
}

/// An HTTP proxy, resolved.
pub struct Proxy {
    pub addr: IpSocketAddress,
    /// "host:port", for messages.
    pub authority: String,
    /// `Proxy-Authorization` (Basic), from the URL's user and password.
    pub auth: Option<String>,
}

thread_local! {
    /// (proxy URL, IPv6 source?) → the proxy, resolved once per instance.
    static PROXIES: RefCell<Vec<(String, bool, Rc<Proxy>)>> = const { RefCell::new(Vec::new()) };
    static IDLE: RefCell<Vec<(Key, Idle)>> = const { RefCell::new(Vec::new()) };
    /// (origin, IPv6 source?) → route (of the last URL seen for it).
    static ROUTES: RefCell<Vec<(String, bool, Rc<Route>)>> = const { RefCell::new(Vec::new()) };
}

/// The user's idle connection for `key` that speaks `want`; with none,
/// one whose version was negotiated too (not one a step forced).
pub fn take(key: &Key, want: Option<HttpVersion>) -> Option<Idle> {
    IDLE.with(|m| {
        let mut m = m.borrow_mut();
        let i = m.iter().position(|(k, idle)| {
            k == key
                && match (want, &idle.link) {
                    (None, _) => idle.asked.is_none(),
                    (Some(HttpVersion::Http11), Link::H1(_)) => true,
                    (Some(HttpVersion::Http2), Link::H2(_)) => true,
                    _ => false,
                }
        })?;
        Some(m.swap_remove(i).1)
    })
}

pub fn put(key: Key, idle: Idle) {
    IDLE.with(|m| m.borrow_mut().push((key, idle)));
}

/// `scheme://authority` of a URL, and the rest (path, query, fragment).
fn split_origin(url: &str) -> (&str, &str) {
    let after = url.find("://").map_or(0, |i| i + 3);
    let end = url[after..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after + i);
    url.split_at(end)
}

/// The route for `url`: its origin is parsed and resolved once for the life
/// of the instance, so URLs that differ only in path and query (templated
/// ones) cost a path check, not a parse and a name lookup.
pub fn route(url: &str, source: Option<IpAddress>) -> Result<Rc<Route>, ActionError> {
    let v6 = matches!(source, Some(IpAddress::Ipv6(_)));
    let (origin, rest) = split_origin(url);
    let cached = ROUTES.with(|r| {
        r.borrow()
            .iter()
            .find(|(o, six, _)| *six == v6 && o == origin)
            .map(|(_, _, route)| Rc::clone(route))
    });
    if let Some(route) = cached {
        let path = rest.split('#').next().unwrap_or_default();
        let path = if path.is_empty() { "/" } else { path };
        if route.target.path == path {
            return Ok(route);
        }
        let checked = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        if checked.parse::<http::uri::PathAndQuery>().is_ok() {
            let fresh = Rc::new(Route {
                target: Target {
                    path: checked,
                    ..route.target.clone()
                },
                addr: route.addr,
                tls_host: route.tls_host.clone(),
            });
            ROUTES.with(|r| {
                if let Some(e) = r
                    .borrow_mut()
                    .iter_mut()
                    .find(|(o, six, _)| *six == v6 && o == origin)
                {
                    e.2 = Rc::clone(&fresh);
                }
            });
            return Ok(fresh);
        }
        // Not a valid path: the full parse below says why.
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
            r.push((origin.to_string(), v6, Rc::clone(&route)));
        }
    });
    Ok(route)
}

/// The proxy `url` names ("http://[user:password@]host:port"), resolved.
pub fn proxy(url: &str, source: Option<IpAddress>) -> Result<Rc<Proxy>, ActionError> {
    let v6 = matches!(source, Some(IpAddress::Ipv6(_)));
    let found = PROXIES.with(|p| {
        p.borrow()
            .iter()
            .find(|(u, six, _)| *six == v6 && u == url)
            .map(|(_, _, proxy)| Rc::clone(proxy))
    });
    if let Some(proxy) = found {
        return Ok(proxy);
    }
    let parsed = url::Url::parse(url)
        .ok()
        .filter(|u| u.scheme() == "http" && u.host_str().is_some())
        .ok_or_else(|| {
            action_support::fail(
                action_support::types::ErrorKind::BadParams,
                format!("proxy {url:?}: expected http://[user:password@]host:port"),
            )
        })?;
    let host = parsed.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = parsed.port_or_known_default().unwrap_or(80);
    let authority = format!("{}:{port}", parsed.host_str().unwrap_or_default());
    let ip = resolve_host(host, source).map_err(|e| net_fail(e, true, &authority))?;
    let auth = (!parsed.username().is_empty()).then(|| {
        use base64::Engine;
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let pair = format!(
            "{}:{}",
            decode(parsed.username()),
            decode(parsed.password().unwrap_or(""))
        );
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    });
    let proxy = Rc::new(Proxy {
        addr: IpSocketAddress { address: ip, port },
        authority,
        auth,
    });
    PROXIES.with(|p| {
        p.borrow_mut()
            .push((url.to_string(), v6, Rc::clone(&proxy)))
    });
    Ok(proxy)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_origin_is_what_comes_before_the_path() {
        assert_eq!(
            super::split_origin("http://a.test:81/p?q=1"),
            ("http://a.test:81", "/p?q=1")
        );
        assert_eq!(
            super::split_origin("https://[::1]?x"),
            ("https://[::1]", "?x")
        );
        assert_eq!(super::split_origin("http://a.test"), ("http://a.test", ""));
    }
}
