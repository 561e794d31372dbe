//! The scenario model: what YAML says (`raw`) and what it means once
//! validated (`Scenario`). Both the component and the host use this module.

pub use crate::executor::{HOOK, UNTIL_DONE};
use crate::pool::IpPool;
pub use contract::Endpoint;
use std::time::Duration;

/// Default budget of one step (connect + exchange).
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bytes kept of an HTTP body for `expect_body` (`max_body`) and of a
/// TCP reply (`max_read`); bodies and replies stream past it, counted.
pub const DEFAULT_MAX_KEEP: u64 = 1 << 20;
/// Most steps a workflow may have: a scenario is parsed by every user's
/// instance, so a runaway generated file is refused, not parsed 10,000 times.
pub const MAX_STEPS: usize = 10_000;
/// Step kinds built into the scheduler; others go to the extension slot.
pub const BUILTIN_KINDS: [&str; 5] = ["http", "tcp", "udp", "grpc", "ws"];

pub use crate::raw;
pub use crate::script::{SCRIPT_BUDGET, Script, ScriptPart};

/// A validated scenario file: one or more named scenarios (workloads)
/// over one flat list of steps.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub id: String,
    pub description: String,
    /// The named scenarios, in name order; the original form has one,
    /// named "default".
    pub workloads: Vec<crate::executor::Workload>,
    /// Every workload's steps, one after the other (`Workload::steps`).
    pub workflow: Vec<Step>,
    /// Components to plug, as written (`components:`).
    pub components: std::collections::BTreeMap<String, String>,
    /// `limits.max_memory_per_user`, when the scenario sets it.
    pub max_memory_per_user: Option<u64>,
    /// `limits.users_per_instance`, when the scenario sets it.
    pub users_per_instance: Option<u32>,
    /// The distinct TLS configurations steps use (`HttpCall::tls` and
    /// `TcpCall::tls` index it).
    pub tls: Vec<crate::tls::TlsConfig>,
    /// Seed for every random choice a user makes (weighted steps, random
    /// rows, random_int, random_string, uuid): the same seed, the same choices.
    pub seed: Option<u64>,
    /// Source addresses: user n sends from entry n mod size.
    pub pool: IpPool,
    pub thresholds: Vec<crate::thresholds::Threshold>,
    /// Every variable some step extracts; templates refer to them by slot.
    pub variables: Vec<String>,
    /// The `data:` sources, in name order (`Ref::Data::source` indexes it).
    pub data: Vec<crate::data::Source>,
    /// The steps of `setup:` and `teardown:` in `workflow` (after every
    /// workload's), whose `workload` is `HOOK`.
    pub setup: Option<std::ops::Range<usize>>,
    pub teardown: Option<std::ops::Range<usize>>,
    /// The slice of the run this process runs (scheduler-host `--shard`);
    /// the whole run unless set.
    pub shard: crate::executor::Shard,
    /// The user whose requests are traced (scheduler-host `--har-user`).
    pub trace_user: Option<u32>,
    /// A script scenario's script (`script:` in place of `workflow:`).
    pub script: Option<Script>,
}

/// Which hook a setup/teardown user runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    Setup,
    Teardown,
}

impl Hook {
    pub fn name(self) -> &'static str {
        match self {
            Hook::Setup => "setup",
            Hook::Teardown => "teardown",
        }
    }
}

/// The name of the one scenario the original form describes (k6's too).
pub const DEFAULT_WORKLOAD: &str = "default";

#[derive(Clone, Debug)]
pub struct Step {
    pub id: String,
    /// Index of its workload in `Scenario::workloads`.
    pub workload: usize,
    pub name: String,
    /// The step's `type` as written: "http", "tcp", "udp" or an extension kind.
    pub kind: String,
    pub weight: u32,
    pub think_time: crate::think::Think,
    pub timeout: Duration,
    pub expect_status: crate::checks::StatusSet,
    pub call: Call,
    /// The queries its action answers: its extractions', then its checks'.
    pub queries: Vec<crate::checks::Query>,
    pub extract: Vec<crate::checks::Extract>,
    pub expect: crate::checks::Expect,
    /// The parts of `call` written with references, rendered per call;
    /// none: `call` is sent as it is.
    pub template: Option<CallTemplate>,
}

impl Step {
    /// The action checks the body or reply itself (`expect_body`, `expect`).
    pub fn action_checks(&self) -> bool {
        match &self.call {
            Call::Http(h) => h.expect_body.is_some(),
            Call::Tcp(t) => t.expect.is_some(),
            Call::Udp(u) => u.expect.is_some(),
            // The grpc-status (and reply count) the step expects.
            Call::Grpc(_) => true,
            Call::Ws(w) => w.checks(),
            Call::Extension { .. } | Call::Script(_) => false,
        }
    }

    /// Checks a completed response is judged by: the status (http), the
    /// action's own body/reply check, then `expect`.
    pub fn check_count(&self) -> u32 {
        let status = u32::from(matches!(self.call, Call::Http(_)));
        status + u32::from(self.action_checks()) + self.expect.count()
    }
}

/// A part of a call that a template fills in.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Url,
    /// The value of `HttpCall::headers[i]`.
    Header(usize),
    Body,
    ExpectBody,
    Payload,
    Expect,
    /// An extension step's params JSON.
    Params,
    /// A grpc step's request message (JSON).
    Message,
    /// The value of `GrpcCall::metadata[i]`.
    Metadata(usize),
    /// The text of `HttpCall::multipart`'s field i.
    Field(usize),
    /// A ws step's message i: its text payload (none) or its expect's
    /// value j (0 for text and regex; the json entry).
    WsMessage(usize, Option<usize>),
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct CallTemplate(pub Vec<(Part, crate::template::Template)>);

impl CallTemplate {
    /// `base` with every templated part rendered; `Err(name)` names a
    /// variable that is not set.
    pub fn render(
        &self,
        base: &Call,
        scope: &mut dyn crate::template::Scope,
    ) -> Result<Call, String> {
        let mut call = base.clone();
        for (part, t) in &self.0 {
            let v = t.render(scope)?.into_owned();
            match (&mut call, part) {
                (Call::Http(h), Part::Url) => h.url = v,
                (Call::Http(h), Part::Header(i)) => {
                    if let Some(hv) = h.headers.get_mut(*i) {
                        hv.1 = v;
                    }
                }
                (Call::Http(h), Part::Body) => h.body = Some(v.into_bytes()),
                (Call::Http(h), Part::ExpectBody) => h.expect_body = Some(v.into_bytes()),
                (Call::Http(h), Part::Field(i)) => {
                    if let Some(f) = h.multipart.as_mut().and_then(|m| m.fields.get_mut(*i)) {
                        f.value = crate::multipart::FieldValue::Text(v);
                    }
                }
                (Call::Tcp(c), Part::Payload) => c.payload = v.into_bytes(),
                (Call::Tcp(c), Part::Expect) => {
                    if let ReadMode::Delimiter(d) = &mut c.read
                        && c.expect.as_deref() == Some(d.as_slice())
                    {
                        *d = v.clone().into_bytes();
                    }
                    c.expect = Some(v.into_bytes());
                }
                (Call::Udp(c), Part::Payload) => c.payload = v.into_bytes(),
                (Call::Udp(c), Part::Expect) => c.expect = Some(v.into_bytes()),
                (Call::Extension { params_json, .. }, Part::Params) => *params_json = v,
                (Call::Ws(w), Part::Url) => w.url = v,
                (Call::Ws(w), Part::Header(i)) => {
                    if let Some(hv) = w.headers.get_mut(*i) {
                        hv.1 = v;
                    }
                }
                (Call::Ws(w), Part::WsMessage(i, j)) => w.set(*i, *j, v),
                (Call::Grpc(g), Part::Message) => g.message = v,
                (Call::Grpc(g), Part::Metadata(i)) => {
                    if let Some(m) = g.metadata.get_mut(*i) {
                        m.1 = v;
                    }
                }
                _ => {}
            }
        }
        Ok(call)
    }
}

/// What a step asks its action to do, ready to send.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    Http(HttpCall),
    Tcp(TcpCall),
    Udp(UdpCall),
    Grpc(crate::grpc::GrpcCall),
    Ws(crate::ws::WsCall),
    Extension {
        kind: String,
        params_json: String,
    },
    /// A script's export: its requests become samples named by the script.
    Script(ScriptPart),
}

#[derive(Clone, Debug, PartialEq)]
pub struct HttpCall {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub expect_body: Option<Vec<u8>>,
    /// Body bytes kept for `expect_body`.
    pub max_body: u64,
    /// Index into `Scenario::tls`: the settings this step's TLS uses (none:
    /// the defaults, Mozilla roots).
    pub tls: Option<usize>,
    pub max_redirects: u32,
    pub cookies: bool,
    /// None: negotiated (ALPN on https, HTTP/1.1 on http).
    pub http_version: Option<contract::HttpVersion>,
    /// "http://[user:password@]host:port"; none: direct.
    pub proxy: Option<String>,
    /// Digest credentials (user, password).
    pub digest: Option<(String, String)>,
    /// A `multipart:` body, built per call (`body` is then none).
    pub multipart: Option<crate::multipart::Multipart>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ReadMode {
    None,
    Bytes(u32),
    Delimiter(Vec<u8>),
    UntilClose,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TcpCall {
    pub target: Endpoint,
    pub payload: Vec<u8>,
    pub read: ReadMode,
    pub expect: Option<Vec<u8>>,
    /// Reply bytes kept.
    pub max_read: u64,
    /// Index into `Scenario::tls`: set when the step runs over TLS.
    pub tls: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UdpCall {
    pub target: Endpoint,
    pub payload: Vec<u8>,
    pub await_reply: bool,
    pub expect: Option<Vec<u8>>,
}

/// Redirects an http step follows unless it sets `max_redirects` (k6's default).
pub const DEFAULT_MAX_REDIRECTS: u32 = 10;

impl Scenario {
    /// When the last time-bound workload's schedule ends (zero when none
    /// is time-bound): how long a run that ended by time lasts.
    pub fn scheduled_end(&self) -> Duration {
        self.workloads
            .iter()
            .filter_map(|w| w.scheduled_end())
            .max()
            .unwrap_or_default()
    }

    /// The cursors over `tables` (in the order of `data`) that hand each
    /// iteration its rows.
    pub fn rows(&self, tables: Vec<std::sync::Arc<crate::data::Table>>) -> crate::data::Rows {
        crate::data::Rows::new(&self.data, self.seed, self.shard, tables)
    }
    /// Users the whole run may have: every workload's most.
    pub fn max_vus(&self) -> u32 {
        self.workloads.iter().map(|w| w.max_vus()).sum()
    }

    /// The indices (in `workflow`) of the load's steps, hooks' left out:
    /// the steps a report lists, in its order.
    pub fn load_steps(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.workflow.len()).filter(|i| self.workflow[*i].workload != HOOK)
    }

    /// The run-wide numbers of the users this process may run (its shard's
    /// of each workload's).
    pub fn shard_users(&self) -> impl Iterator<Item = u32> + '_ {
        self.workloads
            .iter()
            .flat_map(|w| self.shard.users(w.first_vu, 0..w.max_vus()))
    }

    /// The most users this process has: its shard's share of each
    /// workload's.
    pub fn shard_vus(&self) -> u32 {
        self.workloads
            .iter()
            .map(|w| self.shard.share(u64::from(w.max_vus())) as u32)
            .sum()
    }

    /// Users made before the clock starts.
    pub fn initial_vus(&self) -> u32 {
        self.workloads.iter().map(|w| w.initial_vus()).sum()
    }

    /// When the last workload ends (its graceful stop included).
    pub fn end(&self) -> Duration {
        self.workloads
            .iter()
            .map(|w| w.end())
            .max()
            .unwrap_or_default()
    }

    /// The workload user `vu` belongs to.
    pub fn workload_of(&self, vu: u32) -> Option<usize> {
        self.workloads.iter().position(|w| w.contains_vu(vu))
    }

    /// The hook step `i` belongs to, if it is a setup/teardown step.
    pub fn hook_of(&self, i: usize) -> Option<Hook> {
        if self.setup.as_ref().is_some_and(|r| r.contains(&i)) {
            Some(Hook::Setup)
        } else if self.teardown.as_ref().is_some_and(|r| r.contains(&i)) {
            Some(Hook::Teardown)
        } else {
            None
        }
    }

    /// The steps of a hook, if the file has it.
    pub fn hook_steps(&self, hook: Hook) -> Option<std::ops::Range<usize>> {
        match hook {
            Hook::Setup => self.setup.clone(),
            Hook::Teardown => self.teardown.clone(),
        }
    }

    /// The field path of step `i` as written, for messages.
    pub fn step_field(&self, i: usize) -> String {
        let Some(step) = self.workflow.get(i) else {
            return format!("step {i}");
        };
        if let Some(hook) = self.hook_of(i) {
            let start = self.hook_steps(hook).map_or(0, |r| r.start);
            return format!("{}[{}]", hook.name(), i - start);
        }
        let w = &self.workloads[step.workload];
        let n = i - w.steps.start;
        if self.is_original_form() {
            format!("scenario.workflow[{n}]")
        } else {
            format!("scenarios.{}.workflow[{n}]", w.name)
        }
    }

    /// Written as `scenario: {load, workflow}` rather than named `scenarios:`.
    pub fn is_original_form(&self) -> bool {
        self.workloads.len() == 1 && self.workloads[0].name == DEFAULT_WORKLOAD
    }

    /// Where the source-address pool is written.
    pub fn pool_field(&self) -> &'static str {
        if self.is_original_form() {
            "scenario.load.ip_pool"
        } else {
            "ip_pool"
        }
    }

    /// True when some step's TLS accepts any certificate.
    pub fn skips_tls_verification(&self) -> bool {
        self.tls.iter().any(|c| c.insecure_skip_verify)
    }

    /// Where the built-in steps (http, tcp, udp, grpc, ws) and a script's
    /// declared `destinations` send. Extension steps'
    /// destinations are the extension component's to declare
    /// (`extension.destinations`), so they are not in this list.
    pub fn builtin_destinations(&self) -> Vec<Endpoint> {
        let mut out: Vec<Endpoint> = self
            .workflow
            .iter()
            .filter_map(|s| match &s.call {
                // Through a proxy, the proxy is the only address reached.
                Call::Http(h) => Endpoint::from_url(h.proxy.as_deref().unwrap_or(&h.url)),
                Call::Tcp(t) => Some(t.target.clone()),
                Call::Udp(u) => Some(u.target.clone()),
                Call::Grpc(g) => Some(g.target.clone()),
                Call::Ws(w) => Endpoint::from_ws_url(&w.url),
                Call::Extension { .. } | Call::Script(_) => None,
            })
            .chain(
                self.script
                    .iter()
                    .flat_map(|s| s.destinations.iter().cloned()),
            )
            .collect();
        out.sort();
        out.dedup();
        out
    }
}
