//! How the scheduler's event loop waits. A call that would wait on the
//! network leaves its pollable and deadline with the reactor (the
//! component's, over `wasi:io/poll`); the loop gives that wait to the task
//! it was polling (`park`), and `wait` blocks until some parked task can go
//! on, or the loop's own next timer. Tests' fake actions never wait: the
//! default methods only sleep.

use std::future::Future;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

pub trait Reactor {
    /// Gives the wait the future just polled left behind to task `task`.
    fn park(&self, _task: usize) {}

    /// Drops every parked wait (their tasks were abandoned).
    fn forget(&self) {}

    /// Blocks until a parked task's wait fired or its deadline passed, or
    /// until `until`; returns those tasks (their waits are spent).
    fn wait(&self, until: Option<Instant>) -> Vec<usize> {
        if let Some(rest) = until.and_then(|u| u.checked_duration_since(Instant::now())) {
            std::thread::sleep(rest);
        }
        Vec::new()
    }
}

/// Polls `future` once (no waker: the loop polls a task again when its
/// wait is over).
pub fn poll_once<F: Future + ?Sized>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// Runs one future to its end, waiting on the reactor between polls.
pub fn block_on<F: Future>(reactor: &impl Reactor, future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(v) = poll_once(future.as_mut()) {
            return v;
        }
        reactor.park(0);
        reactor.wait(None);
    }
}
