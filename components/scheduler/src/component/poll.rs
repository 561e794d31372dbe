//! The component's reactor: the actions' waits (a pollable and a
//! deadline each) polled together with one `wasi:io/poll` call, plus one
//! timer for the earliest deadline or the event loop's next due time.

use super::bindings::scheduler::actions::types as t;
use super::convert::outcome;
use super::slots::Slots;
use crate::reactor::Reactor;
use contract::Outcome;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::{Pollable, poll};

thread_local! {
    /// The wait the last polled call left (`Wait`), until `park` takes it.
    static LAST: Cell<Option<t::Waiting>> = const { Cell::new(None) };
}

/// Waiting calls: (task, pollable, deadline).
pub type Parked = RefCell<Vec<(usize, Pollable, u64)>>;

/// Advances a call until it is done, waiting between advances.
pub async fn finish(advance: impl Fn() -> t::Progress) -> Outcome {
    loop {
        match advance() {
            t::Progress::Done(o) => return outcome(o),
            t::Progress::Waiting(w) => Wait(Some(w)).await,
        }
    }
}

/// Pending once, leaving its wait for `park`; ready when polled again
/// (the loop polls a task only once its wait is over).
struct Wait(Option<t::Waiting>);

impl Future for Wait {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        match self.0.take() {
            Some(w) => {
                LAST.set(Some(w));
                Poll::Pending
            }
            None => Poll::Ready(()),
        }
    }
}

impl Reactor for Slots {
    fn forget(&self) {
        self.parked.borrow_mut().clear();
    }

    fn park(&self, task: usize) {
        if let Some(w) = LAST.take() {
            self.parked.borrow_mut().push((task, w.ready, w.deadline));
        }
    }

    fn wait(&self, until: Option<Instant>) -> Vec<usize> {
        let mut parked = self.parked.borrow_mut();
        let now = monotonic_clock::now();
        let until = until.map(|u| {
            now.saturating_add(contract::wit::nanos(
                u.saturating_duration_since(Instant::now()),
            ))
        });
        let earliest = parked.iter().map(|p| p.2).chain(until).min();
        let Some(earliest) = earliest else {
            return Vec::new();
        };
        let timer = monotonic_clock::subscribe_instant(earliest);
        let mut list: Vec<&Pollable> = parked.iter().map(|p| &p.1).collect();
        list.push(&timer);
        let mut fired = poll(&list);
        drop(list);
        fired.sort_unstable();
        let now = monotonic_clock::now();
        let mut ready = Vec::new();
        let mut k = 0u32;
        // Keep the waits that neither fired nor expired.
        parked.retain(|(task, _, deadline)| {
            let hit = fired.binary_search(&k).is_ok();
            k += 1;
            if hit || *deadline <= now {
                ready.push(*task);
                false
            } else {
                true
            }
        });
        ready
    }
}
