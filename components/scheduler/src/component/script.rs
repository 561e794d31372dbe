//! A script step over the composition's `script` part: the runtime is told
//! whose turn it is (`recorder.begin`), the script's export runs (blocking
//! this instance: its requests wait inside the runtime), and what it did
//! is taken back (`recorder.take`).

use super::bindings::scheduler::script::journey;
use super::bindings::scheduler::script_runtime::recorder;
use super::convert::{outcome, wit_ip};
use super::slots::Slots;
use crate::script::{Request, Run, Turn};
use contract::MetricPoint;
use scenario::model::ScriptPart;

impl Slots {
    pub(super) fn call_script(&self, turn: Turn) -> Run {
        let tls = match self.client(turn.vu, turn.tls) {
            Ok(client) => client.map(|c| c.share()),
            Err(failed) => {
                return Run {
                    error: failed.error.map(|e| format!("{}: {}", e.kind, e.message)),
                    ..Run::default()
                };
            }
        };
        recorder::begin(
            &recorder::Context {
                vu: turn.vu,
                iteration: turn.iteration,
                source_ip: turn.source_ip.map(wit_ip),
                timeout: contract::wit::nanos(turn.timeout),
                max_body: turn.max_body,
                trace: turn.trace,
                env: turn.env,
                setup: turn.setup,
                rows: turn.rows,
            },
            tls,
        );
        let (result, values) = match turn.part {
            ScriptPart::Iteration => (journey::iteration(), Vec::new()),
            ScriptPart::Setup => match journey::setup() {
                Ok(values) => (Ok(()), values),
                Err(e) => (Err(e), Vec::new()),
            },
            ScriptPart::Teardown => (journey::teardown(), Vec::new()),
        };
        let (requests, points) = recorder::take();
        Run {
            requests: requests
                .into_iter()
                .map(|r| Request {
                    name: r.name,
                    latency: contract::wit::duration(r.latency),
                    outcome: outcome(r.outcome),
                    checks_passed: r.checks_passed,
                    checks_failed: r.checks_failed,
                })
                .collect(),
            points: points
                .into_iter()
                .map(|p| MetricPoint {
                    name: p.name,
                    trend: p.trend,
                    value: p.value,
                })
                .collect(),
            error: result.err(),
            values,
        }
    }
}
