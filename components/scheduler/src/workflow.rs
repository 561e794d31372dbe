//! One virtual user's workflow: which step runs next, the call to its
//! action, the scheduler-owned checks, and the think time that follows.

use crate::model::{Call, HttpCall, Scenario, Step, TcpCall, UdpCall};
use crate::sample::{ErrorKind, Outcome, Sample, SampleError};
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Where and how an action call sends.
#[derive(Clone, Debug, PartialEq)]
pub struct CallContext {
    pub source_ip: Option<IpAddr>,
    pub timeout: Duration,
    pub vu: u32,
}

/// The action slots, as the scheduler sees them. The component implements
/// this over its WIT imports; tests implement it with fakes.
pub trait Actions {
    fn http(&mut self, ctx: &CallContext, call: &HttpCall) -> Outcome;
    fn tcp(&mut self, ctx: &CallContext, call: &TcpCall) -> Outcome;
    fn udp(&mut self, ctx: &CallContext, call: &UdpCall) -> Outcome;
    fn extension(&mut self, ctx: &CallContext, kind: &str, params_json: &str) -> Outcome;
}

#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// One per request: the redirects followed, then the step's last
    /// request (which carries the step's error, if any).
    pub samples: Vec<Sample>,
    pub think_time: Duration,
    pub iteration_done: bool,
    /// The step the next call will run.
    pub next_step: u32,
}

/// One virtual user.
pub struct Vu {
    scenario: Rc<Scenario>,
    index: u32,
    source_ip: Option<IpAddr>,
    rng: fastrand::Rng,
    /// Its workload, and that workload's steps in the scenario's workflow.
    workload: usize,
    steps: std::ops::Range<usize>,
    weighted: bool,
    /// Next step of an ordered workflow.
    cursor: usize,
    total_weight: u64,
    /// The step the next call runs, and whether it ends an iteration: drawn
    /// one step ahead so a host can name the step a trap interrupted.
    upcoming: (usize, bool),
}

impl Vu {
    pub fn new(scenario: Rc<Scenario>, index: u32) -> Self {
        let source_ip = scenario.pool.for_vu(index);
        // Same seed → same choices per user; users differ from each other.
        let rng = match scenario.seed {
            Some(seed) => fastrand::Rng::with_seed(
                seed ^ u64::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            ),
            None => fastrand::Rng::new(),
        };
        // A user past every workload's block (never made by a host) runs
        // the first workload.
        let workload = scenario.workload_of(index).unwrap_or(0);
        let (steps, weighted) = {
            let w = &scenario.workloads[workload];
            (w.steps.clone(), w.weighted)
        };
        let total_weight = scenario.workflow[steps.clone()]
            .iter()
            .map(|s| u64::from(s.weight))
            .sum();
        let mut vu = Vu {
            scenario,
            index,
            source_ip,
            rng,
            workload,
            cursor: steps.start,
            steps,
            weighted,
            total_weight,
            upcoming: (0, false),
        };
        vu.upcoming = vu.pick();
        vu
    }

    /// Overrides the pool's choice (the host binds where it decides).
    pub fn with_source_ip(mut self, ip: Option<IpAddr>) -> Self {
        self.source_ip = ip;
        self
    }

    pub fn source_ip(&self) -> Option<IpAddr> {
        self.source_ip
    }

    pub fn index(&self) -> u32 {
        self.index
    }

    /// Index of its workload in `Scenario::workloads`.
    pub fn workload(&self) -> usize {
        self.workload
    }

    /// The step the next `next_step` call will run.
    pub fn upcoming_step(&self) -> u32 {
        self.upcoming.0 as u32
    }

    /// Picks the next step: the next in order, or one weighted draw per iteration.
    fn pick(&mut self) -> (usize, bool) {
        if self.weighted {
            let mut draw = self.rng.u64(0..self.total_weight);
            for i in self.steps.clone() {
                let w = u64::from(self.scenario.workflow[i].weight);
                if draw < w {
                    return (i, true);
                }
                draw -= w;
            }
            unreachable!("draw < total weight");
        }
        let i = self.cursor;
        self.cursor = if i + 1 >= self.steps.end {
            self.steps.start
        } else {
            i + 1
        };
        (i, self.cursor == self.steps.start)
    }

    /// Runs this user's next step through `actions`.
    pub fn next_step(&mut self, actions: &mut impl Actions) -> StepReport {
        let after = self.pick();
        let (i, iteration_done) = std::mem::replace(&mut self.upcoming, after);
        let scenario = Rc::clone(&self.scenario);
        let step = &scenario.workflow[i];
        let ctx = CallContext {
            source_ip: self.source_ip,
            timeout: step.timeout,
            vu: self.index,
        };
        let started = Instant::now();
        let outcome = call(actions, &ctx, step);
        let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        StepReport {
            samples: judge(i, step, outcome, latency_us),
            think_time: step.think_time,
            iteration_done,
            next_step: self.upcoming_step(),
        }
    }
}

fn call(actions: &mut impl Actions, ctx: &CallContext, step: &Step) -> Outcome {
    match &step.call {
        Call::Http(c) => actions.http(ctx, c),
        Call::Tcp(c) => actions.tcp(ctx, c),
        Call::Udp(c) => actions.udp(ctx, c),
        Call::Extension { kind, params_json } => actions.extension(ctx, kind, params_json),
    }
}

/// Applies the scheduler's checks (status) on top of the action's outcome,
/// and makes one sample per request: the redirects' own durations, and the
/// rest of the measured time for the last one, so they add up to the step.
fn judge(i: usize, step: &Step, o: Outcome, latency_us: u64) -> Vec<Sample> {
    let mut samples = Vec::with_capacity(o.earlier.len() + 1);
    let mut rest = latency_us;
    for hop in &o.earlier {
        rest = rest.saturating_sub(hop.latency_us);
        samples.push(Sample {
            step: i as u32,
            latency_us: hop.latency_us,
            status: Some(hop.status),
            bytes_sent: hop.bytes_sent,
            bytes_received: hop.bytes_received,
            error: None,
            phases: hop.phases,
            tls: hop.tls,
        });
    }
    let error = o.error.or_else(|| {
        step.expect_status
            .check(o.status)
            .map(|message| SampleError {
                kind: ErrorKind::CheckFailed,
                message,
            })
    });
    samples.push(Sample {
        step: i as u32,
        latency_us: rest,
        status: o.status,
        bytes_sent: o.bytes_sent,
        bytes_received: o.bytes_received,
        error,
        phases: o.phases,
        tls: o.tls,
    });
    samples
}
