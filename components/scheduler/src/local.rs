//! Plain mode (stock `wasmtime run`): setup, every workload's users in one
//! `Engine` counting into the run's statistics, teardown. A run that ends
//! by time lasts until its last scheduled end; one that ends by iterations
//! lasts until the last user's last step.

use crate::engine::{Counted, Engine, Resume};
use crate::reactor::{Reactor, block_on};
use crate::workflow::{Actions, Vu};
use scenario::data::Rows;
use scenario::model::{Hook, Scenario};
use stats::{Judge, Report, Stats};
use std::rc::Rc;
use std::time::Duration;

/// Runs a hook's steps once, into `stats`; returns what it extracted.
pub fn hook(
    scenario: &Rc<Scenario>,
    which: Hook,
    setup: &[(String, String)],
    actions: &(impl Actions + Reactor),
    stats: &mut Stats,
) -> Vec<(String, String)> {
    let Some(mut vu) = Vu::hook(Rc::clone(scenario), which) else {
        return Vec::new();
    };
    vu.set_setup(setup.iter().cloned());
    loop {
        let r = block_on(actions, vu.next_step(actions));
        stats.push_step(&r.samples, None, None);
        if r.iteration_done {
            return vu.variables();
        }
        std::thread::sleep(r.think_time);
    }
}

/// Runs the whole scenario: setup, the load (unless setup failed, as in
/// k6), teardown.
pub fn run(scenario: Scenario, actions: &(impl Actions + Reactor), rows: &Rows) -> Report {
    let scenario = Rc::new(scenario);
    let mut stats = Stats::new(&scenario);
    let setup = hook(&scenario, Hook::Setup, &[], actions, &mut stats);
    if let Some(why) = stats.hook_failure(&scenario, Hook::Setup) {
        let mut report = stats.report(&scenario, Duration::ZERO);
        report.setup_failed = Some(why);
        return report;
    }
    let (mut stats, elapsed, verdicts) = load(&scenario, actions, rows, stats, setup.clone());
    hook(&scenario, Hook::Teardown, &setup, actions, &mut stats);
    let mut report = stats.report(&scenario, elapsed);
    report.thresholds = verdicts;
    report
}

fn load<A: Actions + Reactor>(
    scenario: &Rc<Scenario>,
    actions: &A,
    rows: &Rows,
    stats: Stats,
    setup: Vec<(String, String)>,
) -> (Stats, Duration, Vec<stats::Verdict>) {
    let sink = Counted {
        stats,
        judge: Judge::new(scenario),
    };
    let resume = Resume::default();
    let mut engine = Engine::new(
        Rc::clone(scenario),
        None,
        actions,
        rows,
        setup,
        sink,
        &resume,
    );
    engine.drive(None);
    // Users still thinking at their end are part of the run until then.
    if let Some(rest) = engine.until().checked_sub(engine.run.now()) {
        std::thread::sleep(rest);
    }
    let elapsed = engine.run.now();
    let Counted { stats, judge } = engine.run.sink;
    let verdicts = judge.verdicts(&stats, elapsed);
    (stats, elapsed, verdicts)
}
