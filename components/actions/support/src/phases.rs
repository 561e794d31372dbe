//! A request's phase timings (k6's names), as the actions that measure
//! them fill them in.

use crate::nanos;
use crate::types::Phases;
use std::time::Instant;

/// No time in any phase yet (a reused connection keeps `connecting` and
/// `tls_handshaking` at 0).
pub fn zero() -> Phases {
    Phases {
        connecting: 0,
        tls_handshaking: 0,
        sending: 0,
        waiting: 0,
        receiving: 0,
    }
}

/// `phases` with the request's own: sending from `start` to `sent_at`,
/// waiting to the first response byte, receiving from it to `end`.
pub fn timed(
    mut phases: Phases,
    start: Instant,
    sent_at: Instant,
    first_byte: Option<Instant>,
    end: Instant,
) -> Phases {
    let first = first_byte.unwrap_or(end);
    phases.sending = nanos(sent_at.saturating_duration_since(start));
    phases.waiting = nanos(first.saturating_duration_since(sent_at));
    phases.receiving = nanos(end.saturating_duration_since(first));
    phases
}
