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
        ws: o.ws.map(ws_result),
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

/// A ws step's session as the slot takes it.
pub fn wit_ws_request(w: scenario::ws::WsCall, queries: &[Query]) -> t::WsRequest {
    use scenario::ws::{WsExpect, WsMessage, WsPayload};
    let nanos = |d: Option<std::time::Duration>| d.map(contract::wit::nanos);
    let messages = w
        .messages
        .into_iter()
        .map(|m| match m {
            WsMessage::Send {
                payload,
                expect,
                timeout,
            } => t::WsMessage::Send(t::WsSend {
                payload: match payload {
                    WsPayload::Text(s) => t::WsPayload::Text(s),
                    WsPayload::Binary(b) => t::WsPayload::Binary(b),
                },
                expect: expect.map(|e| match e {
                    WsExpect::Text(s) => t::WsExpect::Text(s),
                    WsExpect::Regex(r) => t::WsExpect::Regex(r),
                    WsExpect::Json(entries) => t::WsExpect::Json(entries),
                }),
                timeout: nanos(timeout),
            }),
            WsMessage::Receive { count, timeout } => t::WsMessage::Receive(t::WsReceive {
                count,
                timeout: nanos(timeout),
            }),
            WsMessage::Wait(d) => t::WsMessage::Wait(contract::wit::nanos(d)),
            WsMessage::Ping { timeout } => t::WsMessage::Ping(nanos(timeout)),
            WsMessage::Close(code) => t::WsMessage::Close(code),
        })
        .collect();
    t::WsRequest {
        url: w.url,
        headers: w.headers,
        subprotocols: w.subprotocols,
        messages,
        max_message: w.max_message,
        queries: queries.iter().map(wit_query).collect(),
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
        ws: s.ws.map(wit_ws_result),
        trace: s.trace.map(wit_exchange),
        checks_passed: s.checks_passed,
        checks_failed: s.checks_failed,
        name: s.name,
        points: s
            .points
            .into_iter()
            .map(|p| wit_vu::MetricPoint {
                name: p.name,
                trend: p.trend,
                value: p.value,
            })
            .collect(),
    }
}
