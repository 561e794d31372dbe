//! The bindings' types ↔ the contract crate's: the shared conversions
//! (`contract`'s macros, expanded once for this crate's bindings), and the
//! records only the scheduler sends or receives.

use super::bindings::exports::scheduler::main::vu as wit_vu;
use super::bindings::scheduler::actions::types as t;
use crate::workflow::CallContext;
use contract::{Hop, Outcome, Sample, SampleError};
use scenario::checks::Query;

contract::core_types_conversions!(super::bindings::scheduler::core_libs::types);
contract::action_types_conversions!(super::bindings::scheduler::actions::types);

pub fn ctx(c: &CallContext) -> t::CallContext {
    t::CallContext {
        source_ip: c.source_ip.map(wit_ip),
        timeout: contract::wit::nanos(c.timeout),
        vu: c.vu,
    }
}

pub fn outcome(o: t::Outcome) -> Outcome {
    Outcome {
        status: o.status,
        bytes_sent: o.bytes_sent,
        bytes_received: o.bytes_received,
        error: o.error.map(|e| SampleError {
            kind: kind(e.kind),
            message: e.message,
        }),
        phases: o.phases.map(phases),
        tls: o.tls.map(tls_use),
        http_version: o.http_version.map(http_version),
        answers: o.answers,
        body_cut: o.body_cut,
        grpc: o.grpc.map(grpc_result),
        trace: o.trace.map(exchange),
        earlier: o
            .earlier
            .into_iter()
            .map(|h| Hop {
                status: h.status,
                bytes_sent: h.bytes_sent,
                bytes_received: h.bytes_received,
                latency: contract::wit::duration(h.duration),
                phases: h.phases.map(phases),
                tls: h.tls.map(tls_use),
                http_version: h.http_version.map(http_version),
                trace: h.trace.map(exchange),
            })
            .collect(),
    }
}

pub fn wit_query(q: &Query) -> t::Query {
    match q {
        Query::Json(p) => t::Query::Json(p.clone()),
        Query::Regex(r) => t::Query::Regex(r.clone()),
        Query::Header(h) => t::Query::Header(h.clone()),
        Query::Status => t::Query::Status,
    }
}

pub fn wit_sample(s: Sample) -> wit_vu::Sample {
    wit_vu::Sample {
        step: s.step,
        latency: contract::wit::nanos(s.latency),
        status: s.status,
        bytes_sent: s.bytes_sent,
        bytes_received: s.bytes_received,
        error: s.error.map(|e| t::ActionError {
            kind: wit_kind(e.kind),
            message: e.message,
        }),
        phases: s.phases.map(wit_phases),
        tls: s.tls.map(wit_tls_use),
        http_version: s.http_version.map(wit_http_version),
        grpc: s.grpc.map(wit_grpc_result),
        trace: s.trace.map(wit_exchange),
        checks_passed: s.checks_passed,
        checks_failed: s.checks_failed,
    }
}
