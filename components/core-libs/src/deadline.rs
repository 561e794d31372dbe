//! Waiting on a pollable with a deadline: the one place timeouts are enforced.

use crate::exports::scheduler::core_libs::types::NetError;
use std::cell::OnceCell;
use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::{Pollable, poll};

/// A timeout that starts counting when the operation first has to wait:
/// calls that never wait (most writes) never touch the clock. Its timer is
/// made once, by that first wait (one call into the runtime, not a clock
/// read and then a timer), and serves every later wait of the operation.
pub struct Deadline {
    /// Nanoseconds, as the contract's `duration`.
    span: u64,
    timer: OnceCell<Pollable>,
}

impl Deadline {
    pub fn after(span: u64) -> Self {
        Deadline {
            span,
            timer: OnceCell::new(),
        }
    }

    /// Blocks until `ready` fires, or fails with `timeout` once the deadline
    /// passes.
    pub fn wait(&self, ready: &Pollable) -> Result<(), NetError> {
        let timer = self
            .timer
            .get_or_init(|| monotonic_clock::subscribe_duration(self.span));
        let fired = poll(&[ready, timer]);
        if fired.contains(&0) {
            Ok(())
        } else {
            Err(NetError::Timeout)
        }
    }
}
