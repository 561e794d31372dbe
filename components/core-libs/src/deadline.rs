//! Waiting on a pollable with a deadline: the one place timeouts are enforced.

use crate::exports::scheduler::core_libs::types::NetError;
use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::{Pollable, poll};

#[derive(Clone, Copy)]
pub struct Deadline(monotonic_clock::Instant);

impl Deadline {
    pub fn after_ms(ms: u32) -> Self {
        Deadline(monotonic_clock::now().saturating_add(u64::from(ms) * 1_000_000))
    }

    /// Blocks until `ready` fires, or fails with `timeout` once the deadline passes.
    pub fn wait(self, ready: &Pollable) -> Result<(), NetError> {
        if ready.ready() {
            return Ok(());
        }
        let timer = monotonic_clock::subscribe_instant(self.0);
        let fired = poll(&[ready, &timer]);
        if fired.contains(&0) {
            Ok(())
        } else {
            Err(NetError::Timeout)
        }
    }
}
