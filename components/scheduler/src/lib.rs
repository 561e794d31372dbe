//! The scheduler: scenario model, workflow semantics and statistics.
//!
//! Built twice: as the `scheduler` wasm component (see `component`), and as
//! an rlib the host links, so there is one scenario model and one statistics
//! implementation.

pub mod bytesize;
pub mod checks;
pub mod data;
pub mod duration;
pub mod endpoint;
pub mod executor;
mod forms;
pub mod local;
pub mod model;
pub mod parse;
pub mod pool;
pub mod sample;
pub mod stats;
pub mod template;
pub mod thresholds;
pub mod tls;
pub mod wave;
pub mod workflow;

#[cfg(target_arch = "wasm32")]
mod component;

pub use endpoint::Endpoint;
pub use model::Scenario;
pub use parse::{ScenarioError, parse, parse_with};
pub use sample::{ErrorKind, Outcome, Sample, SampleError, UNATTRIBUTED};
pub use stats::{Report, Stats};
pub use workflow::{Actions, CallContext, StepReport, Vu};
