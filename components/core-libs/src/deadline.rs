//! Waiting on a pollable with a deadline: the one place timeouts are enforced.

use crate::exports::scheduler::core_libs::types::NetError;
use std::cell::Cell;
use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::{Pollable, poll};

/// A timeout that starts counting when the operation first has to wait:
/// calls that never wait (most writes) never read the clock.
pub struct Deadline {
    /// Nanoseconds, as the contract's `duration`.
    span: u64,
    at: Cell<Option<monotonic_clock::Instant>>,
}

impl Deadline {
    pub fn after(span: u64) -> Self {
        Deadline {
            span,
            at: Cell::new(None),
        }
    }

    /// Blocks until `ready` fires, or fails with `timeout` once the deadline
    /// passes. Callers wait only after an attempt would have blocked.
    pub fn wait(&self, ready: &Pollable) -> Result<(), NetError> {
        let at = match self.at.get() {
            Some(at) => at,
            None => {
                let at = monotonic_clock::now().saturating_add(self.span);
                self.at.set(Some(at));
                at
            }
        };
        let timer = monotonic_clock::subscribe_instant(at);
        let fired = poll(&[ready, &timer]);
        if fired.contains(&0) {
            Ok(())
        } else {
            Err(NetError::Timeout)
        }
    }
}
