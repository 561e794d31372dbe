//! WebSocket: how one session went, beside the step's latency (the whole
//! session) and bytes.

use std::time::Duration;

/// One WebSocket session's figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WsResult {
    /// Connect, TLS and the upgrade, to the server's 101.
    pub handshake: Duration,
    /// Data messages sent and received (control frames not counted).
    pub sent: u32,
    pub received: u32,
    /// Each `send … expect` (send to the matching message) and `ping`.
    pub round_trips: Vec<Duration>,
    /// The code of a close handshake that completed; none: not clean.
    pub close_code: Option<u16>,
}
