//! The scheduler: runs a scenario's users over the action slots. The
//! scenario language is the `scenario` crate, statistics the `stats` crate;
//! this crate is the workflow (one user's steps, `workflow`), the plain-mode
//! loop that interleaves users in one instance (`local`), and the component
//! glue (`component`, wasm only).
//!
//! Layers: `backoff`, `reactor`, `script` ← `workflow` ← `engine` ← `local` ← `component`.

mod backoff;
pub mod engine;
pub mod local;
pub mod reactor;
pub mod script;
mod verdict;
pub mod workflow;

#[cfg(target_arch = "wasm32")]
mod component;

pub use reactor::Reactor;
pub use workflow::{Actions, CallContext, StepReport, Vu};
