//! scheduler-host: runs a scenario with one component instance per virtual
//! user. The host owns time, concurrency, capabilities and output; the
//! scheduler component (driven through `scheduler:main/vu`) owns workflow
//! semantics, and its rlib provides the scenario model and statistics.

pub mod bindings;
pub mod cli;
pub mod compose;
pub mod egress;
pub mod engine;
pub mod error;
pub mod init;
pub mod parts;
pub mod plan;
pub mod progress;
pub mod report;
pub mod run;
pub mod session;
pub mod summary;
pub mod target;
pub mod timeline;
pub mod vu;
pub mod vu_state;
