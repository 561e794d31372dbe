//! The YAML document as written. Unknown fields are errors, so typos
//! surface at validation rather than as silently ignored settings.

use crate::duration::Dur;
use crate::pool::PoolEntry;
use serde::Deserialize;

/// The file: either the original form (`scenario:` with one `load`
/// and one `workflow`) or named `scenarios:` with executors, sharing
/// the file-wide fields below. `thresholds` go with either.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    #[serde(default)]
    pub scenario: Option<Scenario>,
    #[serde(default)]
    pub thresholds: std::collections::BTreeMap<String, crate::thresholds::raw::Rules>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Named scenarios, run at the same time (in name order, which
    /// fixes their user indices).
    #[serde(default)]
    pub scenarios: Option<std::collections::BTreeMap<String, Named>>,
    /// Workflows named scenarios may share (`workflow: NAME`).
    #[serde(default)]
    pub workflows: std::collections::BTreeMap<String, Vec<Step>>,
    /// Where a script scenario's requests may go ("host:port"), for the
    /// named-scenarios form (the original form has it in `scenario:`).
    #[serde(default)]
    pub destinations: Option<Vec<String>>,
    #[serde(default)]
    pub components: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub tls: Option<crate::tls::TlsBlock>,
    #[serde(default)]
    pub cookies: Option<bool>,
    #[serde(default)]
    pub http_version: Option<serde_yaml::Value>,
    #[serde(default)]
    pub proxy: Option<String>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub ip_pool: Vec<PoolEntry>,
    /// Test data: source name → file and mode (either form).
    #[serde(default)]
    pub data: std::collections::BTreeMap<String, crate::data::Decl>,
    /// Steps run once before the load (either form).
    #[serde(default)]
    pub setup: Option<Vec<Step>>,
    /// Steps run once after the load (either form).
    #[serde(default)]
    pub teardown: Option<Vec<Step>>,
}

/// The original form: one ramping scenario.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub id: String,
    #[serde(default)]
    pub description: String,
    pub load: Load,
    #[serde(default)]
    pub workflow: Option<Vec<Step>>,
    /// A script component in place of `workflow:`.
    #[serde(default)]
    pub script: Option<String>,
    /// Where the script's requests may go ("host:port").
    #[serde(default)]
    pub destinations: Option<Vec<String>>,
    /// Action components to plug (scheduler-host): slot or kind → file,
    /// relative to the scenario file.
    #[serde(default)]
    pub components: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub limits: Limits,
    /// TLS settings for every https:// step and every tcp step with `tls`.
    #[serde(default)]
    pub tls: Option<crate::tls::TlsBlock>,
    /// A cookie jar per user (on by default, as in browsers and k6).
    #[serde(default)]
    pub cookies: Option<bool>,
    /// Every http step's HTTP version unless it sets its own.
    #[serde(default)]
    pub http_version: Option<serde_yaml::Value>,
    /// Every http step's HTTP proxy unless it sets its own.
    #[serde(default)]
    pub proxy: Option<String>,
    /// Read only to say where thresholds go: beside `scenario:`.
    #[serde(default)]
    pub thresholds: Option<serde_yaml::Value>,
}

/// A named scenario: its executor's fields (which ones apply depends
/// on `executor`; the parser names any that does not) and its workflow.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Named {
    pub executor: crate::executor::ExecutorKind,
    /// Steps written in place, or the name of one of `workflows`.
    #[serde(default)]
    pub workflow: Option<serde_yaml::Value>,
    /// A script component in place of `workflow:`.
    #[serde(default)]
    pub script: Option<String>,
    pub vus: Option<u32>,
    pub duration: Option<Dur>,
    pub start_vus: Option<u32>,
    pub stages: Option<Vec<Stage>>,
    pub graceful_ramp_down: Option<Dur>,
    pub iterations: Option<u64>,
    pub max_duration: Option<Dur>,
    pub rate: Option<f64>,
    pub start_rate: Option<f64>,
    pub time_unit: Option<Dur>,
    pub pre_allocated_vus: Option<u32>,
    pub max_vus: Option<u32>,
    pub start_time: Option<Dur>,
    pub graceful_stop: Option<Dur>,
    pub pacing: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub duration: Dur,
    pub target: f64,
}

/// Scenario-wide bounds; steps may override `max_body` / `max_read`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default)]
    pub max_body: Option<crate::bytesize::ByteSize>,
    #[serde(default)]
    pub max_read: Option<crate::bytesize::ByteSize>,
    /// Linear memory one user's instance may grow to, in all (scheduler-host).
    #[serde(default)]
    pub max_memory_per_user: Option<crate::bytesize::ByteSize>,
    /// Users one instance runs (scheduler-host's cells; 1: an
    /// instance per user).
    #[serde(default)]
    pub users_per_instance: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    pub total_users: u32,
    #[serde(default)]
    pub ramp_duration: Option<Dur>,
    #[serde(default)]
    pub test_duration: Option<Dur>,
    /// Iterations per virtual user; the run ends at whichever comes first.
    #[serde(default)]
    pub iterations: Option<u64>,
    /// Seed for every random choice a user makes (weighted steps, random
    /// rows, random_int, random_string, uuid): the same seed, the same choices.
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub ip_pool: Vec<PoolEntry>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub weight: Option<u32>,
    #[serde(default)]
    pub think_time: Option<crate::think::Think>,
    #[serde(default)]
    pub timeout: Option<Dur>,
    #[serde(default)]
    pub assert_status: Option<crate::checks::StatusSet>,
    /// A grpc step's expected grpc-status (a name or a number).
    #[serde(default)]
    pub expect_grpc_status: Option<serde_yaml::Value>,
    /// Variable name → where in the response its value is.
    #[serde(default)]
    pub extract: serde_yaml::Mapping,
    /// Header name → expected value.
    #[serde(default)]
    pub expect_header: serde_yaml::Mapping,
    /// JSON pointer → expected value.
    #[serde(default)]
    pub expect_json: serde_yaml::Mapping,
    #[serde(default)]
    pub max_latency: Option<Dur>,
    #[serde(default)]
    pub params: serde_yaml::Value,
    /// A script's export this step calls: set by the parser for a script
    /// scenario, never from YAML (a written `type: script` is unknown).
    #[serde(skip)]
    pub script: Option<crate::script::ScriptPart>,
}

impl Step {
    /// The step a script scenario runs for `part`.
    pub fn script(part: crate::script::ScriptPart) -> Step {
        Step {
            id: Some(part.name().into()),
            kind: "script".into(),
            name: None,
            weight: None,
            think_time: None,
            timeout: Some(crate::duration::Dur(crate::script::SCRIPT_BUDGET)),
            assert_status: None,
            expect_grpc_status: None,
            extract: Default::default(),
            expect_header: Default::default(),
            expect_json: Default::default(),
            max_latency: None,
            params: serde_yaml::Value::Null,
            script: Some(part),
        }
    }
}
