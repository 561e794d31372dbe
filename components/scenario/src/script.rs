//! A script scenario's script (`script:` in place of `workflow:`), and
//! which of its exports a script step calls.

use contract::Endpoint;
use std::time::Duration;

/// How long one call of a script (an iteration, setup or teardown) may
/// run before scheduler-host interrupts it (a trap): a script's requests
/// have their own timeouts, this bounds a script that never returns.
pub const SCRIPT_BUDGET: Duration = Duration::from_secs(600);

/// A script scenario: its workloads run the script's `iteration`, its
/// setup and teardown hooks the script's `setup` and `teardown`.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    /// The component, as written (relative to the scenario file); it fills
    /// the `script` slot (`components.script`).
    pub file: String,
    /// Where its requests may go (`destinations:`): a script's requests
    /// are only known when it runs, so the egress allow-list is declared.
    pub destinations: Vec<Endpoint>,
    /// Index into `Scenario::tls`: the scenario's `tls:` block, which the
    /// script's https requests use (none: the defaults, Mozilla roots).
    pub tls: Option<usize>,
    /// Body bytes a response keeps for the script (`limits.max_body`).
    pub max_body: u64,
    /// `--env` values, which the script reads with `env(NAME)`.
    pub env: Vec<(String, String)>,
}

/// What a script step calls: the script's export of that name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptPart {
    Iteration,
    Setup,
    Teardown,
}

impl ScriptPart {
    pub fn name(self) -> &'static str {
        match self {
            ScriptPart::Iteration => "iteration",
            ScriptPart::Setup => "setup",
            ScriptPart::Teardown => "teardown",
        }
    }
}
