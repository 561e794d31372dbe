//! scheduler-host: runs a scenario with one component instance per virtual
//! user. The host owns time, concurrency, capabilities and output; the
//! scheduler component (driven through `scheduler:main/vu`) owns workflow
//! semantics, and its rlib provides the scenario model and statistics.
//!
//! Public: what the binary (`cli`) and the integration tests use (`compose`
//! and `parts` for the golden composition test, `loopback` as their server).

mod atomic;
mod bind;
mod bindings;
mod cells;
pub mod cli;
mod compare;
pub mod compose;
mod custom;
mod egress;
mod engine;
mod epoch;
mod error;
mod har;
mod hdr;
mod html;
mod import;
mod init;
mod junit;
mod limits;
pub mod loopback;
mod merge;
mod metrics;
mod metrics_server;
mod observe;
pub mod parts;
mod plan;
mod progress;
mod report;
mod run;
mod script;
mod series_files;
mod session;
mod stubs;
mod summary;
mod timeline;
mod vu;
mod vu_state;
