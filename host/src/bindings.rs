//! The one place `bindgen!` runs: the `cell` and `vu` exports the host drives, and the
//! conversions between its types and the contract crate's.

wasmtime::component::bindgen!({
    world: "scheduler:main/vu-driver",
    path: "../wit/main",
    exports: { default: async },
});

pub use exports::scheduler::main::cell;
pub use exports::scheduler::main::vu::{
    DataSource, File, Inputs, Role, Sample, ScenarioNeeds, User,
};

// ip, wit_ip, endpoint, kind, phases, tls_use, …: the contract crate's one
// copy of these conversions, expanded for the types generated here.
contract::core_types_conversions!(self::scheduler::core_libs::types);
contract::action_types_conversions!(self::scheduler::actions::types);

/// The contract's `duration` (nanoseconds).
pub use contract::wit::duration;

pub fn sample(s: Sample) -> contract::Sample {
    contract::Sample {
        step: s.step,
        latency: duration(s.latency),
        status: s.status,
        bytes_sent: s.bytes_sent,
        bytes_received: s.bytes_received,
        error: s.error.map(|e| contract::SampleError {
            kind: kind(e.kind),
            message: e.message,
        }),
        phases: s.phases.map(phases),
        tls: s.tls.map(tls_use),
        http_version: s.http_version.map(http_version),
        grpc: s.grpc.map(grpc_result),
        ws: s.ws.map(ws_result),
        trace: s.trace.map(exchange),
        checks_passed: s.checks_passed,
        checks_failed: s.checks_failed,
        name: s.name,
        points: s
            .points
            .into_iter()
            .map(|p| contract::MetricPoint {
                name: p.name,
                trend: p.trend,
                value: p.value,
            })
            .collect(),
    }
}
