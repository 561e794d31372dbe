//! Shared by the built-in actions. The contract's record types are generated
//! once here; each action's `generate!` maps them with `with:` so the same
//! Rust types flow through all three. Third-party actions need none of this:
//! they build from the WIT alone.

wit_bindgen::generate!({
    inline: "
        package scheduler:support;
        world support {
            import scheduler:core-libs/types@0.1.0;
            import scheduler:actions/types@0.1.0;
            import scheduler:core-libs/dns@0.1.0;
        }
    ",
    path: "../../../wit/actions",
    generate_all,
    pub_export_macro: true,
});

pub use scheduler::actions::types;
pub use scheduler::core_libs::dns;
pub use scheduler::core_libs::types as net;

use net::NetError;
use std::time::{Duration, Instant};
use types::{ActionError, ErrorKind, Outcome};

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
        NetError::AddressNotBindable(why) => fail(
            ErrorKind::AddressNotBindable,
            format!("cannot bind source address: {why}"),
        ),
        NetError::AccessDenied => fail(
            ErrorKind::EgressDenied,
            format!("{target}: denied by the host's egress rules"),
        ),
        NetError::NameUnresolvable(why) => {
            fail(ErrorKind::NameUnresolvable, format!("{target}: {why}"))
        }
        NetError::InvalidArgument(why) => fail(ErrorKind::BadParams, why),
        NetError::Other(why) => fail(ErrorKind::Other, format!("{target}: {why}")),
    }
}

/// An outcome from counters and a result.
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
    }
}

/// The step's remaining budget, for each socket call.
#[derive(Clone, Copy)]
pub struct Budget(Instant);

impl Budget {
    pub fn new(timeout_ms: u32) -> Self {
        Budget(Instant::now() + Duration::from_millis(u64::from(timeout_ms)))
    }

    /// Milliseconds left (at least 1, so an expired budget still fails as a timeout).
    pub fn left_ms(&self) -> u32 {
        let left = self.0.saturating_duration_since(Instant::now()).as_millis();
        u32::try_from(left).unwrap_or(u32::MAX).max(1)
    }

    pub fn expired(&self) -> bool {
        Instant::now() >= self.0
    }
}

/// Resolves "host:port" (or "[v6]:port") to "ip:port", preferring the source
/// address's family. IP literals resolve without a lookup.
pub fn resolve_target(target: &str, source_ip: Option<&str>) -> Result<String, ActionError> {
    let bad = || fail(ErrorKind::BadParams, format!("{target:?} is not host:port"));
    let (host, port) = target.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let ip = resolve_host(host, source_ip).map_err(|e| net_fail(e, true, target))?;
    Ok(socket_text(&ip, port))
}

/// "ip:port", bracketing an IPv6 address: what core-libs connects to.
pub fn socket_text(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// Resolves a host name to one IP address (as text).
pub fn resolve_host(host: &str, source_ip: Option<&str>) -> Result<String, NetError> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs = dns::resolve(host)?;
    let want_v6 = source_ip.map(|s| s.contains(':'));
    addrs
        .iter()
        .find(|a| want_v6.is_none_or(|v6| a.contains(':') == v6))
        .or(addrs.first())
        .cloned()
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
