//! One user's turn: what `begin` gave, and the requests, checks and
//! points the script made since, in order.

use crate::exports::scheduler::script::sdk::ExchangeResult;
use crate::exports::scheduler::script_runtime::recorder::{Context, Point, Request};
use crate::scheduler::actions::types as t;
use crate::scheduler::core_libs::tls;
use std::cell::RefCell;
use std::time::Duration;

thread_local! {
    /// The turn `begin` started (none before the first).
    pub static STATE: RefCell<Option<Turn>> = const { RefCell::new(None) };
}

pub struct Turn {
    pub ctx: Context,
    /// The user's TLS client for the scenario's `tls:` (none: the action
    /// uses the user's default one, Mozilla's roots, kept across turns).
    pub tls: Option<tls::Client>,
    pub group: Option<String>,
    requests: Vec<Request>,
    points: Vec<Point>,
    /// Checks made before the turn's first request: they go on it.
    early: (u32, u32, Option<String>),
}

/// Runs `f` on the current turn. A script that calls the sdk outside a
/// turn (at module load) gets a turn of user 0 with no context.
pub fn with<R>(f: impl FnOnce(&mut Turn) -> R) -> R {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let turn = s.get_or_insert_with(|| Turn::new(empty(), None));
        f(turn)
    })
}

fn empty() -> Context {
    Context {
        vu: 0,
        iteration: 0,
        source_ip: None,
        timeout: 10_000_000_000,
        max_body: 1 << 20,
        trace: false,
        env: Vec::new(),
        setup: Vec::new(),
        rows: Vec::new(),
    }
}

impl Turn {
    pub fn new(ctx: Context, tls: Option<tls::Client>) -> Self {
        Turn {
            ctx,
            tls,
            group: None,
            requests: Vec::new(),
            points: Vec::new(),
            early: (0, 0, None),
        }
    }

    pub fn take(&mut self) -> (Vec<Request>, Vec<Point>) {
        self.early = (0, 0, None);
        self.group = None;
        (
            std::mem::take(&mut self.requests),
            std::mem::take(&mut self.points),
        )
    }

    /// The name a request is reported under: the script's, or `default`,
    /// inside its group.
    pub fn name(&self, given: Option<&str>, default: impl FnOnce() -> String) -> String {
        let name = given.map_or_else(default, str::to_string);
        match &self.group {
            Some(g) => format!("{g}/{name}"),
            None => name,
        }
    }

    pub fn call_context(&self, timeout_ms: Option<u32>) -> t::CallContext {
        t::CallContext {
            source_ip: self.ctx.source_ip,
            timeout: timeout_ms.map_or(self.ctx.timeout, |ms| u64::from(ms) * 1_000_000),
            vu: self.ctx.vu,
        }
    }

    pub fn record(&mut self, name: String, latency: Duration, outcome: t::Outcome) {
        let (passed, failed, why) = std::mem::take(&mut self.early);
        let mut r = Request {
            name,
            latency: u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX),
            outcome,
            checks_passed: passed,
            checks_failed: failed,
        };
        if let Some(why) = why {
            fail(&mut r, why);
        }
        self.requests.push(r);
    }

    /// A named check: on the last request (a failed one fails it as
    /// `check-failed`), or on the next when none was made yet.
    pub fn check(&mut self, name: &str, passed: bool) {
        let why = (!passed).then(|| format!("check {name:?} failed"));
        match self.requests.last_mut() {
            Some(r) if passed => r.checks_passed += 1,
            Some(r) => {
                r.checks_failed += 1;
                fail(r, why.expect("failed"));
            }
            None if passed => self.early.0 += 1,
            None => {
                self.early.1 += 1;
                self.early.2.get_or_insert(why.expect("failed"));
            }
        }
    }

    pub fn point(&mut self, name: String, trend: bool, value: f64) {
        self.points.push(Point { name, trend, value });
    }
}

/// Marks `r` failed by a check, unless it failed already (the transport's
/// error says more).
fn fail(r: &mut Request, why: String) {
    if r.outcome.error.is_none() {
        r.outcome.error = Some(t::ActionError {
            kind: t::ErrorKind::CheckFailed,
            message: why,
        });
    }
}

/// The action call to its end, blocking this instance: each wait is the
/// call's pollable, bounded by its deadline.
pub fn finish(advance: impl Fn() -> t::Progress) -> t::Outcome {
    loop {
        match advance() {
            t::Progress::Done(o) => return o,
            t::Progress::Waiting(w) => {
                let timer = wasip2::clocks::monotonic_clock::subscribe_instant(w.deadline);
                let _ = wasip2::io::poll::poll(&[&w.ready, &timer]);
            }
        }
    }
}

// kind, …: the contract crate's one copy of the WIT conversions.
contract::core_types_conversions!(crate::scheduler::core_libs::types);
contract::action_types_conversions!(crate::scheduler::actions::types);

/// "kind: message", as a script sees a failed request (the report's name
/// of the kind).
pub fn error_text(e: &t::ActionError) -> String {
    format!("{}: {}", kind(e.kind), e.message)
}

/// "host:port" as the actions take it (contract's one parser).
pub fn target(text: &str) -> Result<t::Endpoint, String> {
    contract::Endpoint::parse(text).map(|e| wit_endpoint(&e))
}

/// A tcp/udp exchange that ended: recorded, and what the script sees.
pub fn exchanged(name: String, latency: Duration, o: t::Outcome) -> ExchangeResult {
    let result = ExchangeResult {
        bytes_received: o.bytes_received,
        error: o.error.as_ref().map(error_text),
        duration_ms: latency.as_secs_f64() * 1000.0,
    };
    with(|t| t.record(name, latency, o));
    result
}

/// A tcp/udp request whose target does not parse: a failed request of its
/// own (`bad-params`), never sent.
pub fn refused(kind: &str, target: &str, name: Option<String>, why: String) -> ExchangeResult {
    let name = with(|t| t.name(name.as_deref(), || format!("{kind} {target}")));
    let o = t::Outcome {
        status: None,
        bytes_sent: 0,
        bytes_received: 0,
        error: Some(t::ActionError {
            kind: t::ErrorKind::BadParams,
            message: why,
        }),
        phases: None,
        tls: None,
        http_version: None,
        answers: Vec::new(),
        body_cut: None,
        grpc: None,
        ws: None,
        trace: None,
        earlier: Vec::new(),
    };
    exchanged(name, Duration::ZERO, o)
}
