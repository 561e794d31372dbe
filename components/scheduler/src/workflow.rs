//! One virtual user's workflow: which step runs next, the call to its
//! action, the scheduler-owned checks, and the think time that follows.

use crate::script;
use crate::verdict;
use contract::{ErrorKind, Outcome, Sample, SampleError};
use scenario::checks::Query;
use scenario::grpc::GrpcCall;
use scenario::model::{Call, Hook, HttpCall, Scenario, Step, TcpCall, UdpCall};
use scenario::template::{Ref, Scope};
use scenario::ws::WsCall;
use std::borrow::Cow;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Where and how an action call sends.
#[derive(Clone, Debug, PartialEq)]
pub struct CallContext {
    pub source_ip: Option<IpAddr>,
    pub timeout: Duration,
    pub vu: u32,
    /// Report each request as sent and received (the traced user's).
    pub trace: bool,
}

/// The action slots, as the scheduler sees them. The component implements
/// this over its WIT imports; tests implement it with fakes.
/// `queries` are the step's extraction rules and checks, which the action
/// answers in `Outcome::answers` (the body stays in the action). A call is
/// owned when a template rendered it (so it moves into the request) and
/// borrowed when the step is sent as written. Calls are futures: one
/// instance runs many users' steps at once (`local`), each call waiting on
/// its own connection. `&self`: the users' calls share the slots.
// One thread per instance: the futures need no `Send` bound.
#[allow(async_fn_in_trait)]
pub trait Actions {
    async fn http(&self, ctx: &CallContext, call: Cow<'_, HttpCall>, queries: &[Query]) -> Outcome;
    async fn tcp(&self, ctx: &CallContext, call: Cow<'_, TcpCall>) -> Outcome;
    async fn udp(&self, ctx: &CallContext, call: Cow<'_, UdpCall>) -> Outcome;
    async fn grpc(&self, ctx: &CallContext, call: Cow<'_, GrpcCall>, queries: &[Query]) -> Outcome;
    async fn ws(&self, ctx: &CallContext, call: Cow<'_, WsCall>, queries: &[Query]) -> Outcome;
    async fn extension(
        &self,
        ctx: &CallContext,
        kind: &str,
        params_json: &str,
        queries: &[Query],
    ) -> Outcome;
    /// Calls the script's export `turn.part` (blocking the instance until
    /// it returns: a script's calls wait inside it).
    async fn script(&self, turn: script::Turn) -> script::Run;
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
    /// Iterations finished.
    iteration: u64,
    /// The next step begins an iteration.
    at_start: bool,
    /// Variables this user extracted, by slot (`Scenario::variables`).
    values: Vec<Option<String>>,
    /// What setup extracted, by slot.
    setup: Vec<Option<String>>,
    /// This iteration's row of each data source.
    rows: Vec<Option<Vec<String>>>,
    /// How long a refused connect makes it wait.
    backoff: crate::backoff::Backoff,
    /// What a script's setup returned (a script scenario's own setup
    /// values: any names, not the YAML's extracted variables).
    script_values: Vec<(String, String)>,
}

impl Vu {
    /// User `index`, sending from `source_ip`: whoever runs users chooses
    /// it (`IpPool::for_vu`: scheduler-host, or `local` in plain mode).
    pub fn new(scenario: Rc<Scenario>, index: u32, source_ip: Option<IpAddr>) -> Self {
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
        Self::over(scenario, index, source_ip, rng, workload, steps, weighted)
    }

    /// The user that runs `setup:` or `teardown:` once (none when the file
    /// has no such hook). It sends from the unspecified address.
    pub fn hook(scenario: Rc<Scenario>, hook: Hook) -> Option<Self> {
        let steps = scenario.hook_steps(hook)?;
        let rng = match scenario.seed {
            Some(seed) => fastrand::Rng::with_seed(seed ^ 0x5EED),
            None => fastrand::Rng::new(),
        };
        Some(Self::over(
            scenario,
            HOOK_VU,
            None,
            rng,
            scenario::model::HOOK,
            steps,
            false,
        ))
    }

    fn over(
        scenario: Rc<Scenario>,
        index: u32,
        source_ip: Option<IpAddr>,
        rng: fastrand::Rng,
        workload: usize,
        steps: std::ops::Range<usize>,
        weighted: bool,
    ) -> Self {
        let total_weight = scenario.workflow[steps.clone()]
            .iter()
            .map(|s| u64::from(s.weight))
            .sum();
        let slots = scenario.variables.len();
        let sources = scenario.data.len();
        // Only closed-model users back off (the setup/teardown user has no
        // workload, so none).
        let closed = scenario
            .workloads
            .get(workload)
            .is_some_and(|w| matches!(w.model, scenario::executor::Model::Closed(_)));
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
            iteration: 0,
            at_start: true,
            values: vec![None; slots],
            setup: vec![None; slots],
            rows: vec![None; sources],
            backoff: crate::backoff::Backoff::new(closed),
            script_values: Vec::new(),
        };
        vu.upcoming = vu.pick();
        vu
    }

    /// Iterations this user finished.
    pub fn iteration(&self) -> u64 {
        self.iteration
    }

    /// The next step begins an iteration (the caller hands it its rows).
    pub fn starts_iteration(&self) -> bool {
        self.at_start
    }

    /// The data sources each of this user's iterations takes a row of
    /// (none for the setup/teardown user, whose workload is `HOOK`).
    pub fn data_sources(&self) -> &[usize] {
        self.scenario
            .workloads
            .get(self.workload)
            .map_or(&[], |w| &w.data)
    }

    /// This iteration's row of data source `source`.
    pub fn set_row(&mut self, source: usize, values: Vec<String>) {
        if let Some(r) = self.rows.get_mut(source) {
            *r = Some(values);
        }
    }

    /// What setup extracted (name → value), visible as `${setup.NAME}`.
    pub fn set_setup(&mut self, values: impl IntoIterator<Item = (String, String)>) {
        if self.scenario.script.is_some() {
            self.script_values = values.into_iter().collect();
            return;
        }
        for (name, value) in values {
            if let Some(slot) = self.scenario.variables.iter().position(|v| *v == name) {
                self.setup[slot] = Some(value);
            }
        }
    }

    /// The variables this user has set (name → value).
    pub fn variables(&self) -> Vec<(String, String)> {
        if self.scenario.script.is_some() {
            return self.script_values.clone();
        }
        self.scenario
            .variables
            .iter()
            .zip(&self.values)
            .filter_map(|(n, v)| Some((n.clone(), v.clone()?)))
            .collect()
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
    pub async fn next_step(&mut self, actions: &impl Actions) -> StepReport {
        let after = self.pick();
        let (i, iteration_done) = std::mem::replace(&mut self.upcoming, after);
        let scenario = Rc::clone(&self.scenario);
        let step = &scenario.workflow[i];
        let ctx = CallContext {
            source_ip: self.source_ip,
            timeout: step.timeout,
            vu: self.index,
            trace: self.scenario.trace_user == Some(self.index),
        };
        let samples = self.run(actions, &ctx, i, step).await;
        let think = step.think_time.sample(&mut self.rng);
        let think_time = self.pause(think, &samples);
        self.at_start = iteration_done;
        if iteration_done {
            self.iteration += 1;
            self.rows.iter_mut().for_each(|r| *r = None);
        }
        StepReport {
            samples,
            think_time,
            iteration_done,
            next_step: self.upcoming_step(),
        }
    }

    /// The pause after a step: its think time, or a refused connect's
    /// back-off (`Backoff`) when that is longer.
    fn pause(&mut self, think: Duration, samples: &[Sample]) -> Duration {
        let refused = samples
            .last()
            .and_then(|s| s.error.as_ref())
            .is_some_and(|e| e.kind == ErrorKind::ConnectRefused);
        self.backoff.after(think, refused)
    }

    fn scope(&mut self) -> UserScope<'_> {
        UserScope {
            scenario: &self.scenario,
            vu: self.index,
            workload: self.workload,
            iteration: self.iteration,
            values: &self.values,
            setup: &self.setup,
            rows: &self.rows,
            rng: &mut self.rng,
        }
    }

    /// Renders the step, calls its action, judges the outcome and keeps
    /// what it extracted.
    async fn run(
        &mut self,
        actions: &impl Actions,
        ctx: &CallContext,
        i: usize,
        step: &Step,
    ) -> Vec<Sample> {
        if let Call::Script(part) = step.call {
            return self.run_script(actions, ctx, i, part).await;
        }
        let call = match &step.template {
            None => Cow::Borrowed(&step.call),
            Some(t) => match t.render(&step.call, &mut self.scope()) {
                Ok(c) => Cow::Owned(c),
                Err(name) => return vec![unsent(i, ErrorKind::MissingVariable, missing(&name))],
            },
        };
        let headers = match &call {
            Cow::Owned(Call::Http(h)) => h.headers.as_slice(),
            Cow::Owned(Call::Ws(w)) => w.headers.as_slice(),
            _ => &[],
        };
        if let Some((k, _)) = headers.iter().find(|(_, v)| v.contains(['\r', '\n'])) {
            let why = format!("header {k}: a variable put a line break in its value (not sent)");
            return vec![unsent(i, ErrorKind::BadParams, why)];
        }
        let q = &step.queries;
        let started = Instant::now();
        let outcome = match call {
            Cow::Borrowed(Call::Http(c)) => actions.http(ctx, Cow::Borrowed(c), q).await,
            Cow::Owned(Call::Http(c)) => actions.http(ctx, Cow::Owned(c), q).await,
            Cow::Borrowed(Call::Tcp(c)) => actions.tcp(ctx, Cow::Borrowed(c)).await,
            Cow::Owned(Call::Tcp(c)) => actions.tcp(ctx, Cow::Owned(c)).await,
            Cow::Borrowed(Call::Udp(c)) => actions.udp(ctx, Cow::Borrowed(c)).await,
            Cow::Owned(Call::Udp(c)) => actions.udp(ctx, Cow::Owned(c)).await,
            Cow::Borrowed(Call::Grpc(c)) => actions.grpc(ctx, Cow::Borrowed(c), q).await,
            Cow::Owned(Call::Grpc(c)) => actions.grpc(ctx, Cow::Owned(c), q).await,
            Cow::Borrowed(Call::Ws(c)) => actions.ws(ctx, Cow::Borrowed(c), q).await,
            Cow::Owned(Call::Ws(c)) => actions.ws(ctx, Cow::Owned(c), q).await,
            Cow::Borrowed(Call::Extension { kind, params_json }) => {
                actions.extension(ctx, kind, params_json, q).await
            }
            Cow::Owned(Call::Extension { kind, params_json }) => {
                actions.extension(ctx, &kind, &params_json, q).await
            }
            Cow::Borrowed(Call::Script(_)) | Cow::Owned(Call::Script(_)) => {
                unreachable!("run_script runs script steps")
            }
        };
        let mut samples = verdict::judge(i, step, &outcome, started.elapsed(), &mut self.scope());
        // Extracted after the checks, which see the values from before.
        if outcome
            .error
            .as_ref()
            .is_none_or(|e| e.kind == ErrorKind::CheckFailed)
        {
            let mut lost = Vec::new();
            let mut in_body = false;
            for ex in &step.extract {
                match outcome.answers.get(ex.query).cloned().flatten() {
                    Some(v) => self.values[ex.slot] = Some(v),
                    None => {
                        let q = &step.queries[ex.query];
                        in_body |= verdict::reads_body(q);
                        lost.push(format!("{} ({q})", ex.name));
                    }
                }
            }
            let last = samples.last_mut().expect("judge makes a sample");
            if !lost.is_empty() && last.error.is_none() {
                let cut = if in_body {
                    verdict::cut_note(step, &outcome)
                } else {
                    String::new()
                };
                last.error = Some(SampleError {
                    kind: ErrorKind::ExtractFailed,
                    message: format!(
                        "extract {}: found nothing in the response{cut}",
                        lost.join(", ")
                    ),
                });
            }
        }
        samples
    }
}

impl Vu {
    /// Calls the script's `part` with this user's turn; keeps what setup
    /// returned.
    async fn run_script(
        &mut self,
        actions: &impl Actions,
        ctx: &CallContext,
        i: usize,
        part: scenario::model::ScriptPart,
    ) -> Vec<Sample> {
        let s = &self.scenario;
        let script = s
            .script
            .as_ref()
            .expect("a script step is a script scenario's");
        let rows = s
            .data
            .iter()
            .zip(&self.rows)
            .filter_map(|(d, r)| {
                let r = r.as_ref()?;
                Some((
                    d.name.clone(),
                    d.columns.iter().cloned().zip(r.iter().cloned()).collect(),
                ))
            })
            .collect();
        let turn = script::Turn {
            part,
            vu: self.index,
            iteration: self.iteration,
            source_ip: ctx.source_ip,
            // The step's timeout is the whole call's budget (the host's).
            timeout: scenario::model::DEFAULT_STEP_TIMEOUT,
            max_body: script.max_body,
            trace: ctx.trace,
            tls: script.tls,
            env: script.env.clone(),
            setup: self.script_values.clone(),
            rows,
        };
        let mut run = actions.script(turn).await;
        if part == scenario::model::ScriptPart::Setup {
            self.script_values = std::mem::take(&mut run.values);
        }
        script::samples(i, part, run)
    }
}

/// `Vu::index` of the setup/teardown user (its cookie jar is its own).
pub const HOOK_VU: u32 = u32::MAX;

fn missing(name: &str) -> String {
    format!("${{{name}}} is not set (not sent)")
}

/// A step that never reached its action.
fn unsent(i: usize, kind: ErrorKind, message: String) -> Sample {
    Sample::failed(i as u32, Duration::ZERO, kind, message)
}

/// What a user's templates read.
struct UserScope<'a> {
    scenario: &'a Scenario,
    vu: u32,
    workload: usize,
    iteration: u64,
    values: &'a [Option<String>],
    setup: &'a [Option<String>],
    rows: &'a [Option<Vec<String>>],
    rng: &'a mut fastrand::Rng,
}

impl Scope for UserScope<'_> {
    fn write(&mut self, r: &Ref, out: &mut String) -> Result<(), String> {
        use std::fmt::Write;
        let s = self.scenario;
        match r {
            Ref::Vu => {
                let _ = write!(out, "{}", self.vu);
            }
            Ref::Iteration => {
                let _ = write!(out, "{}", self.iteration);
            }
            Ref::Scenario => {
                out.push_str(s.workloads.get(self.workload).map_or("", |w| &w.name));
            }
            Ref::Uuid => {
                let b = self.rng.u128(..).to_be_bytes();
                let mut b = b;
                b[6] = (b[6] & 0x0f) | 0x40;
                b[8] = (b[8] & 0x3f) | 0x80;
                const HEX: &[u8; 16] = b"0123456789abcdef";
                for (i, byte) in b.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        out.push('-');
                    }
                    out.push(HEX[usize::from(byte >> 4)] as char);
                    out.push(HEX[usize::from(byte & 0xf)] as char);
                }
            }
            Ref::NowMs => {
                let ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                let _ = write!(out, "{ms}");
            }
            Ref::RandomInt(a, b) => {
                let _ = write!(out, "{}", self.rng.i64(*a..=*b));
            }
            Ref::RandomString(n) => {
                for _ in 0..*n {
                    out.push(self.rng.alphanumeric());
                }
            }
            Ref::Setup(slot) => match &self.setup[*slot] {
                Some(v) => out.push_str(v),
                None => return Err(format!("setup.{}", s.variables[*slot])),
            },
            Ref::Var(slot) => match &self.values[*slot] {
                Some(v) => out.push_str(v),
                None => return Err(s.variables[*slot].clone()),
            },
            Ref::Data { source, column } => {
                match self.rows[*source].as_ref().and_then(|r| r.get(*column)) {
                    Some(v) => out.push_str(v),
                    None => {
                        let d = &s.data[*source];
                        return Err(format!("{}.{}", d.name, d.columns[*column]));
                    }
                }
            }
        }
        Ok(())
    }
}
