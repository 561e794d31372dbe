//! The scenario language: YAML text → a validated `Scenario` (steps, calls,
//! templates, checks, data sources, TLS settings, executors as curves,
//! thresholds as written), with errors that name the field.
//!
//! Layers, bottom up; no module imports one above it:
//! `error`, `bytesize`, `duration`, `pool`, `template` ← `think`, `checks`, `tls`,
//! `http_options`,
//! `executor`, `script` ← `data`, `thresholds`, `grpc`, `ws`, `raw` ← `model` ← `forms` ← `parse` ← `wave`;
//! `overrides` and `oneline` write document trees (below `parse`).

pub mod bytesize;
pub mod checks;
pub mod data;
pub mod duration;
pub mod error;
pub mod executor;
mod forms;
pub mod grpc;
mod http_options;
pub mod model;
pub mod multipart;
pub mod oneline;
pub mod overrides;
pub mod parse;
pub mod pool;
pub mod raw;
pub mod script;
pub mod template;
pub mod think;
pub mod thresholds;
pub mod tls;
mod uploads;
pub mod wave;
pub mod ws;

pub use contract::Endpoint;
pub use error::ScenarioError;
pub use model::Scenario;
pub use parse::{parse, parse_with};
