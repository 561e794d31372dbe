//! The one place `bindgen!` runs: the `vu` export the host drives, and the
//! conversions between its types and the scheduler rlib's.

wasmtime::component::bindgen!({
    world: "scheduler:main/vu-driver",
    path: "../wit/main",
    exports: { default: async },
});

use self::scheduler::actions::types::{Endpoint, ErrorKind as WitKind, Phases, TlsUse};
use self::scheduler::core_libs::types::{IpAddress, ProtocolVersion};
pub use exports::scheduler::main::vu::{
    DataRow, DataSource, File, Inputs, Role, Sample, ScenarioNeeds, User,
};
use std::net::IpAddr;
use std::time::Duration;

pub fn ip(ip: IpAddr) -> IpAddress {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            IpAddress::Ipv4((a, b, c, d))
        }
        IpAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h] = v6.segments();
            IpAddress::Ipv6((a, b, c, d, e, f, g, h))
        }
    }
}

pub fn endpoint(e: Endpoint) -> ::scheduler::Endpoint {
    ::scheduler::Endpoint {
        host: e.host,
        port: e.port,
    }
}

/// The contract's `duration` (nanoseconds).
pub fn duration(nanos: u64) -> Duration {
    Duration::from_nanos(nanos)
}

/// A kind added to the WIT fails to compile here.
pub fn kind(k: WitKind) -> ::scheduler::ErrorKind {
    use ::scheduler::ErrorKind as K;
    match k {
        WitKind::ConnectRefused => K::ConnectRefused,
        WitKind::ConnectTimeout => K::ConnectTimeout,
        WitKind::Timeout => K::Timeout,
        WitKind::ConnectionReset => K::ConnectionReset,
        WitKind::Unreachable => K::Unreachable,
        WitKind::NameUnresolvable => K::NameUnresolvable,
        WitKind::AddressNotBindable => K::AddressNotBindable,
        WitKind::EgressDenied => K::EgressDenied,
        WitKind::Tls => K::Tls,
        WitKind::Protocol => K::Protocol,
        WitKind::TooManyRedirects => K::TooManyRedirects,
        WitKind::Unsupported => K::Unsupported,
        WitKind::BadParams => K::BadParams,
        WitKind::CheckFailed => K::CheckFailed,
        WitKind::ExtractFailed => K::ExtractFailed,
        WitKind::MissingVariable => K::MissingVariable,
        WitKind::Other => K::Other,
    }
}

pub fn sample(s: Sample) -> ::scheduler::Sample {
    ::scheduler::Sample {
        step: s.step,
        latency_us: s.latency / 1_000,
        status: s.status,
        bytes_sent: s.bytes_sent,
        bytes_received: s.bytes_received,
        error: s.error.map(|e| ::scheduler::SampleError {
            kind: kind(e.kind),
            message: e.message,
        }),
        phases: s.phases.map(phases),
        tls: s.tls.map(tls_use),
        checks_passed: s.checks_passed,
        checks_failed: s.checks_failed,
    }
}

fn phases(p: Phases) -> ::scheduler::sample::Phases {
    ::scheduler::sample::Phases {
        connecting_us: p.connecting / 1_000,
        tls_handshaking_us: p.tls_handshaking / 1_000,
        sending_us: p.sending / 1_000,
        waiting_us: p.waiting / 1_000,
        receiving_us: p.receiving / 1_000,
    }
}

fn tls_use(u: TlsUse) -> ::scheduler::sample::TlsUse {
    use ::scheduler::tls::TlsVersion;
    ::scheduler::sample::TlsUse {
        version: match u.version {
            ProtocolVersion::Tls12 => TlsVersion::Tls12,
            ProtocolVersion::Tls13 => TlsVersion::Tls13,
        },
        handshake: u.handshake,
        resumed: u.resumed,
    }
}
