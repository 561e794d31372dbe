//! The `cell` export: an `Engine` over a slice of one workload, kept in
//! this instance between `run` calls, its events batched for the host.
//! The slots and rows live as long as the instance (leaked once at
//! `init`): the engine's steps in flight borrow them across calls.

use super::bindings::exports::scheduler::main::cell as wit;
use super::convert::wit_sample;
use super::setup::{given_columns, given_files, parse};
use super::slots::Slots;
use crate::engine::{Engine, Resume, Sink, StepEvent, Who};
use contract::wit::{duration, nanos};
use scenario::executor::Shard;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The events since the last `run` returned.
#[derive(Default)]
pub struct Batch(Vec<wit::Event>);

impl Sink for Batch {
    fn step(&mut self, e: StepEvent<'_>) {
        self.0.push(wit::Event::Step(wit::StepEvent {
            at: nanos(e.at),
            user: e.who.index,
            samples: e.samples.iter().cloned().map(wit_sample).collect(),
            delay: e.delay.map(nanos),
            iteration_done: e.iteration_done,
            next_step: e.next_step,
        }));
    }

    fn began(&mut self, _: Duration, who: Who, first: u32) {
        self.0.push(wit::Event::Began((who.index, first)));
    }

    fn active(&mut self, _: usize, delta: i32) {
        self.0.push(wit::Event::Active(delta));
    }

    fn dropped(&mut self, at: Duration, _: usize) {
        self.0.push(wit::Event::Dropped(nanos(at)));
    }

    fn out_of_data(&mut self, _: usize) {
        self.0.push(wit::Event::OutOfData);
    }

    fn pending(&self) -> bool {
        !self.0.is_empty()
    }
}

thread_local! {
    static CELL: RefCell<Option<Engine<'static, Slots, Batch>>> = const { RefCell::new(None) };
}

pub fn init(yaml: String, inputs: wit::Inputs, spec: wit::Spec) -> Result<(), String> {
    let wit::Inputs { files, env, data } = inputs;
    let mut scenario = parse(&yaml, &env, &mut given_columns(&data))?;
    let wit::Slice {
        workload,
        index,
        count,
    } = spec.slice;
    if index >= count || workload as usize >= scenario.workloads.len() {
        return Err(format!(
            "cell slice {index}/{count} of workload {workload} is not in the scenario"
        ));
    }
    scenario.shard = Shard { index, count };
    scenario.trace_user = spec.trace_user;
    if spec.tables.len() != data.len() {
        return Err("a cell needs one table per data source".into());
    }
    let tables = data
        .into_iter()
        .zip(spec.tables)
        .map(|(source, t)| {
            scenario::data::Table::from_parts(source.columns, t.text, t.ends)
                .map(Arc::new)
                .map_err(|e| format!("data source {}: {e}", source.name))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rows: &'static _ = Box::leak(Box::new(scenario.rows(tables)));
    let slots: &'static Slots = Box::leak(Box::new(Slots::new(given_files(&mut scenario, files)?)));
    let resume = spec.resume.map_or_else(Resume::default, |r| Resume {
        at: duration(r.at),
        iterations: r.iterations.into_iter().collect(),
        shared_used: r.shared_used,
    });
    let mut engine = Engine::new(
        Rc::new(scenario),
        Some(workload as usize),
        slots,
        rows,
        spec.setup,
        Batch::default(),
        &resume,
    );
    engine.in_turns();
    CELL.with(|c| *c.borrow_mut() = Some(engine));
    Ok(())
}

pub fn run(now: u64, span: u64, stop: u64, grace: u64) -> wit::Batch {
    CELL.with(|c| {
        let mut cell = c.borrow_mut();
        let engine = cell
            .as_mut()
            .expect("cell.run called before a successful cell.init");
        engine.anchor(duration(now));
        engine.stop_at(duration(stop), duration(grace));
        let done = engine.drive(Some(Instant::now() + duration(span)));
        wit::Batch {
            events: std::mem::take(&mut engine.run.sink.0),
            done,
        }
    })
}
