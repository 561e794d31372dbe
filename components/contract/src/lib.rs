//! The types the guests' contracts carry, in plain Rust: what the
//! scheduler, the statistics and the host share with every action.
//!
//! The bottom layer: it imports nothing of ours. The WIT bindings of each
//! crate convert to and from these through one macro (`wit`), so a field or
//! a kind added to the WIT is mapped in one place.

mod endpoint;
mod error_kind;
pub mod grpc;
mod http_version;
mod sample;
mod tls_version;
pub mod url;
pub mod wit;
mod ws;

pub use endpoint::Endpoint;
pub use error_kind::ErrorKind;
pub use grpc::GrpcResult;
pub use http_version::HttpVersion;
pub use sample::{
    Exchange, Hop, MetricPoint, Outcome, Phases, Sample, SampleError, TlsUse, UNATTRIBUTED,
};
pub use tls_version::TlsVersion;
pub use ws::WsResult;
