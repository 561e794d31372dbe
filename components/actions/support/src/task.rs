//! One call's future, driven from the contract's `advance`. The future
//! runs until it would wait on the peer; the wait (`ready`) leaves its
//! pollable and the step's deadline here, and `advance` hands them to the
//! scheduler, whose event loop polls every waiting call of its users at
//! once and advances those that are ready. No waker is needed: the
//! scheduler advances a call exactly when its pollable fired or its
//! deadline passed.

use crate::net::NetError;
use crate::types::{Outcome, Progress, Waiting};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use wasip2::io::poll::Pollable;

thread_local! {
    /// What the last pending future waits on (set by `ready`).
    static WAIT: Cell<Option<Waiting>> = const { Cell::new(None) };
}

/// A call in progress: its future until it is done.
pub struct Task {
    future: RefCell<Option<Pin<Box<dyn Future<Output = Outcome>>>>>,
}

impl Task {
    pub fn new(future: impl Future<Output = Outcome> + 'static) -> Self {
        Task {
            future: RefCell::new(Some(Box::pin(future))),
        }
    }

    /// Runs the future until it waits or ends.
    pub fn advance(&self) -> Progress {
        let mut slot = self.future.borrow_mut();
        let Some(future) = slot.as_mut() else {
            return Progress::Done(crate::outcome(
                None,
                0,
                0,
                Err(crate::fail(
                    crate::types::ErrorKind::Other,
                    "advance called on a finished call",
                )),
            ));
        };
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(outcome) => {
                *slot = None;
                Progress::Done(outcome)
            }
            Poll::Pending => match WAIT.take() {
                Some(waiting) => Progress::Waiting(waiting),
                // Only `ready` suspends an action's future.
                None => unreachable!("an action future was pending without a pollable"),
            },
        }
    }
}

/// Waits until `pollable` fires (or `deadline`, a monotonic-clock instant,
/// passes: then `timeout`). The caller retries its non-blocking call after.
pub fn ready(pollable: Pollable, deadline: u64) -> Ready {
    Ready {
        pollable: Some(pollable),
        deadline,
    }
}

pub struct Ready {
    pollable: Option<Pollable>,
    deadline: u64,
}

impl Future for Ready {
    type Output = Result<(), NetError>;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        match self.pollable.take() {
            // The call would wait: unless its time is up, hand the wait out.
            Some(ready) => {
                if wasip2::clocks::monotonic_clock::now() >= self.deadline {
                    return Poll::Ready(Err(NetError::Timeout));
                }
                WAIT.set(Some(Waiting {
                    ready,
                    deadline: self.deadline,
                }));
                Poll::Pending
            }
            // Advanced again: the pollable fired or the deadline passed.
            None => Poll::Ready(Ok(())),
        }
    }
}

/// For a `poll` function (not an `async fn`) that would wait on
/// `pollable`: hands the wait out as `ready` does and returns `Pending`,
/// or `Ready(Err(timeout))` once `deadline` has passed. The caller's poll
/// is called again when the pollable fires, and retries.
pub fn park(pollable: Pollable, deadline: u64) -> Poll<Result<(), NetError>> {
    if wasip2::clocks::monotonic_clock::now() >= deadline {
        return Poll::Ready(Err(NetError::Timeout));
    }
    WAIT.set(Some(Waiting {
        ready: pollable,
        deadline,
    }));
    Poll::Pending
}

/// True when a poll in this `advance` has handed out a wait.
pub fn parked() -> bool {
    let wait = WAIT.take();
    let parked = wait.is_some();
    WAIT.set(wait);
    parked
}

/// Drops a wait handed out in this `advance` by a poll whose future then
/// went on to finish: its pollable must not outlive the connection it
/// watches (a resource's children go first).
pub fn unpark() {
    drop(WAIT.take());
}

/// Runs a future that never waits (tests: scripted sources).
pub fn now<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the future waited"),
    }
}
