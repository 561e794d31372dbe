//! Plain mode: a whole scenario inside one instance (stock `wasmtime run`).
//! Users are interleaved on one thread: each has a "ready at" time (its ramp
//! offset, then the end of its think time) and the earliest ready user runs
//! its next step. With fast steps this keeps each user's pacing as the
//! scenario asks; slow steps delay everyone (the host runs users in parallel).
//! The run lasts `test_duration` (or until its last step ended, if later),
//! as in scheduler-host; a run that ends by `iterations` first lasts until
//! the last user's last step.

use crate::model::Scenario;
use crate::stats::{Report, Stats};
use crate::workflow::{Actions, Vu};
use std::rc::Rc;
use std::time::{Duration, Instant};

struct Slot {
    vu: Vu,
    ready_at: Duration,
    iterations: u64,
}

pub fn run(scenario: Scenario, actions: &mut impl Actions) -> Report {
    let scenario = Rc::new(scenario);
    let load = &scenario.load;
    let mut slots: Vec<Slot> = (0..load.total_users)
        .map(|i| Slot {
            vu: Vu::new(Rc::clone(&scenario), i),
            ready_at: load.start_offset(i),
            iterations: 0,
        })
        .collect();
    let mut stats = Stats::new(scenario.workflow.len());
    let start = Instant::now();
    let end = load.duration.unwrap_or(Duration::MAX);
    // Some user still had work when the clock reached `end`.
    let mut timed_out = false;
    loop {
        // Users done with their iterations drop out; so do users whose next
        // step would start past the end (they are thinking until then).
        slots.retain(|s| {
            let more = load.iterations.is_none_or(|n| s.iterations < n);
            timed_out |= more && s.ready_at >= end;
            more && s.ready_at < end
        });
        let Some(slot) = slots.iter_mut().min_by_key(|s| s.ready_at) else {
            break;
        };
        if let Some(wait) = slot.ready_at.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        if start.elapsed() >= end {
            timed_out = true;
            break;
        }
        let report = slot.vu.next_step(actions);
        for sample in &report.samples {
            stats.push(sample, slot.vu.source_ip());
        }
        if report.iteration_done {
            slot.iterations += 1;
            stats.add_iteration();
        }
        slot.ready_at = start.elapsed() + report.think_time;
    }
    if timed_out {
        // The users still thinking at the end are part of the run until then.
        if let Some(rest) = end.checked_sub(start.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    stats.report(&scenario, start.elapsed())
}
