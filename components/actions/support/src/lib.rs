//! Shared by the built-in actions. The contract's record types are generated
//! once here; each action's `generate!` maps them with `with:` so the same
//! Rust types flow through all three. Third-party actions need none of this:
//! they build from the WIT alone.
//!
//! Actions are written as Rust `async fn`s over core-libs' non-blocking
//! calls (`io`); `task` drives one such future per call, a step at a time,
//! from the contract's `advance`.

wit_bindgen::generate!({
    inline: "
        package scheduler:support;
        world support {
            import scheduler:core-libs/types@0.4.0;
            import scheduler:actions/types@0.9.0;
            import scheduler:core-libs/dns@0.4.0;
            import scheduler:core-libs/tcp@0.4.0;
            import scheduler:core-libs/tls@0.4.0;
            import scheduler:core-libs/udp@0.4.0;
        }
    ",
    path: "../../../wit/actions",
    with: { "wasi:io/poll@0.2.12": wasip2::io::poll },
    generate_all,
    pub_export_macro: true,
});

#[cfg(feature = "answers")]
pub mod answers;
#[cfg(feature = "h2")]
pub mod h2;
pub mod io;
pub mod phases;
pub mod task;

pub use scheduler::actions::types;
pub use scheduler::core_libs::dns;
pub use scheduler::core_libs::types as net;
pub use scheduler::core_libs::{tcp, tls, udp};

use net::{IpAddress, IpSocketAddress, NetError};

use std::time::Instant;
use types::{ActionError, Endpoint, ErrorKind, Outcome};

/// A failed step as the action reports it.
pub fn fail(kind: ErrorKind, message: impl Into<String>) -> ActionError {
    ActionError {
        kind,
        message: message.into(),
    }
}

/// Maps a socket error to the report's error kind. `connecting` tells a
/// connect timeout from a read/write timeout.
pub fn net_fail(e: NetError, connecting: bool, target: &str) -> ActionError {
    match e {
        NetError::Timeout if connecting => fail(
            ErrorKind::ConnectTimeout,
            format!("connect to {target} timed out"),
        ),
        NetError::Timeout => fail(
            ErrorKind::Timeout,
            format!("{target}: timed out waiting for the peer"),
        ),
        NetError::ConnectionRefused => fail(
            ErrorKind::ConnectRefused,
            format!("{target}: connection refused"),
        ),
        NetError::ConnectionReset => fail(
            ErrorKind::ConnectionReset,
            format!("{target}: connection reset"),
        ),
        NetError::Unreachable => fail(ErrorKind::Unreachable, format!("{target}: unreachable")),
        NetError::AddressNotBindable(ip) => fail(
            ErrorKind::AddressNotBindable,
            format!("cannot bind source address {}", std_ip(ip)),
        ),
        NetError::AccessDenied(addr) => fail(
            ErrorKind::EgressDenied,
            format!(
                "{target}: {} denied by the runtime's egress rules",
                std_socket(addr)
            ),
        ),
        NetError::NameUnresolvable(why) => {
            fail(ErrorKind::NameUnresolvable, format!("{target}: {why}"))
        }
        NetError::InvalidArgument(why) => fail(ErrorKind::BadParams, why),
        NetError::Tls(t) => fail(
            ErrorKind::Tls,
            format!("{target}: {}: {}", tls_reason(t.reason), t.message),
        ),
        NetError::TooManyFiles => fail(
            ErrorKind::TooManyFiles,
            format!("{target}: no file descriptor left for a socket (raise `ulimit -n`)"),
        ),
        NetError::NoBufferSpace => fail(
            ErrorKind::NoBufferSpace,
            format!("{target}: the kernel had no buffer space or local port left for a socket"),
        ),
        NetError::Other(why) => fail(ErrorKind::Other, format!("{target}: {why}")),
    }
}

/// The reason as a person reads it (the report's message starts with it).
pub fn tls_reason(r: net::TlsReason) -> &'static str {
    match r {
        net::TlsReason::UnknownIssuer => "unknown issuer",
        net::TlsReason::NameMismatch => "name mismatch",
        net::TlsReason::Expired => "expired certificate",
        net::TlsReason::ProtocolVersion => "protocol version",
        net::TlsReason::ClientCertificate => "client certificate",
        net::TlsReason::HandshakeFailure => "handshake failure",
    }
}

/// An outcome from counters and a result (no phases, no TLS, one request).
pub fn outcome(
    status: Option<u16>,
    sent: u64,
    received: u64,
    result: Result<(), ActionError>,
) -> Outcome {
    Outcome {
        status,
        bytes_sent: sent,
        bytes_received: received,
        error: result.err(),
        phases: None,
        tls: None,
        earlier: Vec::new(),
        answers: Vec::new(),
        http_version: None,
        body_cut: None,
        grpc: None,
        ws: None,
        trace: None,
    }
}

/// The step's remaining budget, for each socket call.
#[derive(Clone)]
pub struct Budget {
    end: Instant,
    /// The same end as a `wasi:clocks` instant: what `advance` hands the
    /// scheduler's event loop with a wait.
    pub deadline: u64,
    /// The clock reading the budget was made with, until `now` hands it out.
    first: std::cell::Cell<Option<Instant>>,
}

impl Budget {
    /// `timeout` in nanoseconds, as the contract's `duration`.
    pub fn new(timeout: u64) -> Self {
        let now = Instant::now();
        Budget {
            end: now + contract::wit::duration(timeout),
            deadline: wasip2::clocks::monotonic_clock::now().saturating_add(timeout),
            first: std::cell::Cell::new(Some(now)),
        }
    }

    /// The clock, except that the first call returns the reading the budget
    /// was made with: a step's first timestamp costs no second call into the
    /// runtime (what ran in between, the request's preparation, counts as
    /// part of sending it).
    pub fn now(&self) -> Instant {
        self.first.take().unwrap_or_else(Instant::now)
    }

    /// Nanoseconds left (at least 1, so an expired budget still fails as a timeout).
    pub fn left(&self) -> u64 {
        self.left_at(Instant::now())
    }

    /// Nanoseconds left at `now`, a clock reading the caller already has
    /// (each reading is a call into the runtime).
    pub fn left_at(&self, now: Instant) -> u64 {
        nanos(self.end.saturating_duration_since(now)).max(1)
    }

    pub fn expired(&self) -> bool {
        Instant::now() >= self.end
    }

    /// Nanoseconds left for a read, or `timeout` once the deadline passed:
    /// a read returns at once when bytes are waiting, so a peer that keeps
    /// sending would otherwise hold the step past its deadline.
    pub fn for_read(&self) -> Result<u64, NetError> {
        self.for_read_at(Instant::now())
    }

    /// `for_read` at `now`, a clock reading the caller already has.
    pub fn for_read_at(&self, now: Instant) -> Result<u64, NetError> {
        match self.end.checked_duration_since(now) {
            Some(left) if !left.is_zero() => Ok(nanos(left)),
            _ => Err(NetError::Timeout),
        }
    }
}

/// Nanoseconds in `d`, as the contract's `duration`.
pub use contract::wit::nanos;

/// The contract's addresses as std's, and back: `contract`'s one copy of
/// these conversions, expanded for the types generated here.
pub mod convert {
    contract::core_types_conversions!(crate::scheduler::core_libs::types);
}
pub use convert::{ip as std_ip, socket as std_socket};

/// `host:port` as people write it (IPv6 hosts in brackets), for messages.
pub fn show_endpoint(e: &Endpoint) -> String {
    if e.host.contains(':') {
        format!("[{}]:{}", e.host, e.port)
    } else {
        format!("{}:{}", e.host, e.port)
    }
}

/// Resolves an endpoint to one address, preferring the source address's family.
pub fn resolve(e: &Endpoint, source: Option<IpAddress>) -> Result<IpSocketAddress, ActionError> {
    let address =
        resolve_host(&e.host, source).map_err(|err| net_fail(err, true, &show_endpoint(e)))?;
    Ok(IpSocketAddress {
        address,
        port: e.port,
    })
}

/// Resolves a host name (or IP literal) to one address.
pub fn resolve_host(host: &str, source: Option<IpAddress>) -> Result<IpAddress, NetError> {
    let addrs = dns::resolve(host)?;
    let want_v6 = source.map(|s| matches!(s, IpAddress::Ipv6(_)));
    addrs
        .iter()
        .find(|a| want_v6.is_none_or(|v6| matches!(a, IpAddress::Ipv6(_)) == v6))
        .or(addrs.first())
        .copied()
        .ok_or_else(|| NetError::NameUnresolvable(host.to_string()))
}

/// True when `haystack` contains `needle` (an empty needle always matches).
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Shows bytes for an error message: text when printable, else hex; capped.
pub fn show(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(64)];
    let more = if bytes.len() > 64 { "…" } else { "" };
    match std::str::from_utf8(head) {
        Ok(s) if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\r') => {
            format!("{s:?}{more}")
        }
        _ => format!(
            "0x{}{more}",
            head.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ),
    }
}
