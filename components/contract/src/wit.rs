//! Conversions between WIT-generated types and this crate's.
//!
//! Every crate that binds our WIT (core-libs, action-support, the scheduler
//! component with wit-bindgen; the host with wasmtime's `bindgen!`) gets its
//! own generated Rust types, of the same shape. These macros write the
//! conversions once; each binding crate expands them beside its bindings
//! (the generated types are local there). A kind or field added to the WIT
//! fails to compile in every crate until it is mapped here.
//!
//! Time crosses the contract as `duration` (nanoseconds, a `u64`) and is a
//! `std::time::Duration` on both sides: `duration` and `nanos`.

use std::time::Duration;

/// The contract's `duration` (nanoseconds) as a `Duration`.
pub fn duration(nanos: u64) -> Duration {
    Duration::from_nanos(nanos)
}

/// A `Duration` as the contract's `duration`, saturating (584 years).
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `scheduler:core-libs/types` ↔ std and contract: `ip`, `wit_ip`,
/// `socket`, `wit_socket`, `tls_version`, `wit_tls_version`. The argument
/// is the path of the generated `types` module.
#[macro_export]
macro_rules! core_types_conversions {
    ($($m:ident)::+) => {
        #[allow(dead_code)]
        pub fn ip(a: $($m)::+::IpAddress) -> ::std::net::IpAddr {
            use $($m)::+::IpAddress as A;
            match a {
                A::Ipv4((a, b, c, d)) => ::std::net::IpAddr::from([a, b, c, d]),
                A::Ipv6((a, b, c, d, e, f, g, h)) => {
                    ::std::net::IpAddr::from([a, b, c, d, e, f, g, h])
                }
            }
        }

        #[allow(dead_code)]
        pub fn wit_ip(ip: ::std::net::IpAddr) -> $($m)::+::IpAddress {
            use $($m)::+::IpAddress as A;
            match ip {
                ::std::net::IpAddr::V4(v4) => {
                    let [a, b, c, d] = v4.octets();
                    A::Ipv4((a, b, c, d))
                }
                ::std::net::IpAddr::V6(v6) => {
                    let [a, b, c, d, e, f, g, h] = v6.segments();
                    A::Ipv6((a, b, c, d, e, f, g, h))
                }
            }
        }

        #[allow(dead_code)]
        pub fn socket(a: $($m)::+::IpSocketAddress) -> ::std::net::SocketAddr {
            ::std::net::SocketAddr::new(ip(a.address), a.port)
        }

        #[allow(dead_code)]
        pub fn wit_socket(a: ::std::net::SocketAddr) -> $($m)::+::IpSocketAddress {
            $($m)::+::IpSocketAddress {
                address: wit_ip(a.ip()),
                port: a.port(),
            }
        }

        #[allow(dead_code)]
        pub fn tls_version(v: $($m)::+::ProtocolVersion) -> $crate::TlsVersion {
            use $($m)::+::ProtocolVersion as V;
            match v {
                V::Tls12 => $crate::TlsVersion::Tls12,
                V::Tls13 => $crate::TlsVersion::Tls13,
            }
        }

        #[allow(dead_code)]
        pub fn wit_tls_version(v: $crate::TlsVersion) -> $($m)::+::ProtocolVersion {
            use $($m)::+::ProtocolVersion as V;
            match v {
                $crate::TlsVersion::Tls12 => V::Tls12,
                $crate::TlsVersion::Tls13 => V::Tls13,
            }
        }
    };
}

/// `scheduler:actions/types` ↔ contract: `endpoint`, `wit_endpoint`,
/// `kind`, `wit_kind`, `phases`, `wit_phases`, `http_version`,
/// `wit_http_version`, `grpc_result`, `wit_grpc_result`, `ws_result`,
/// `wit_ws_result`, `tls_use`,
/// `wit_tls_use`, `exchange`, `wit_exchange`.
/// Expand `core_types_conversions!` in the same module first (`tls_use`
/// calls its `tls_version`).
#[macro_export]
macro_rules! action_types_conversions {
    ($($m:ident)::+) => {
        #[allow(dead_code)]
        pub fn endpoint(e: $($m)::+::Endpoint) -> $crate::Endpoint {
            $crate::Endpoint {
                host: e.host,
                port: e.port,
            }
        }

        #[allow(dead_code)]
        pub fn wit_endpoint(e: &$crate::Endpoint) -> $($m)::+::Endpoint {
            $($m)::+::Endpoint {
                host: e.host.clone(),
                port: e.port,
            }
        }

        /// The contract's kinds are ours (the host adds `trap` and
        /// `interrupted`).
        #[allow(dead_code)]
        pub fn kind(k: $($m)::+::ErrorKind) -> $crate::ErrorKind {
            use $($m)::+::ErrorKind as W;
            use $crate::ErrorKind as K;
            match k {
                W::ConnectRefused => K::ConnectRefused,
                W::ConnectTimeout => K::ConnectTimeout,
                W::Timeout => K::Timeout,
                W::ConnectionReset => K::ConnectionReset,
                W::Unreachable => K::Unreachable,
                W::NameUnresolvable => K::NameUnresolvable,
                W::AddressNotBindable => K::AddressNotBindable,
                W::EgressDenied => K::EgressDenied,
                W::Tls => K::Tls,
                W::Protocol => K::Protocol,
                W::TooManyRedirects => K::TooManyRedirects,
                W::Unsupported => K::Unsupported,
                W::BadParams => K::BadParams,
                W::CheckFailed => K::CheckFailed,
                W::ExtractFailed => K::ExtractFailed,
                W::MissingVariable => K::MissingVariable,
                W::TooManyFiles => K::TooManyFiles,
                W::NoBufferSpace => K::NoBufferSpace,
                W::StreamReset => K::StreamReset,
                W::ClosedAbnormally => K::ClosedAbnormally,
                W::MessageTooBig => K::MessageTooBig,
                W::Interrupted => K::Interrupted,
                W::Other => K::Other,
                W::ScriptError => K::ScriptError,
            }
        }

        #[allow(dead_code)]
        pub fn wit_kind(k: $crate::ErrorKind) -> $($m)::+::ErrorKind {
            use $($m)::+::ErrorKind as W;
            use $crate::ErrorKind as K;
            match k {
                K::ConnectRefused => W::ConnectRefused,
                K::ConnectTimeout => W::ConnectTimeout,
                K::Timeout => W::Timeout,
                K::ConnectionReset => W::ConnectionReset,
                K::Unreachable => W::Unreachable,
                K::NameUnresolvable => W::NameUnresolvable,
                K::AddressNotBindable => W::AddressNotBindable,
                K::EgressDenied => W::EgressDenied,
                K::Tls => W::Tls,
                K::Protocol => W::Protocol,
                K::TooManyRedirects => W::TooManyRedirects,
                K::Unsupported => W::Unsupported,
                K::BadParams => W::BadParams,
                K::CheckFailed => W::CheckFailed,
                K::ExtractFailed => W::ExtractFailed,
                K::MissingVariable => W::MissingVariable,
                K::TooManyFiles => W::TooManyFiles,
                K::NoBufferSpace => W::NoBufferSpace,
                K::StreamReset => W::StreamReset,
                K::ClosedAbnormally => W::ClosedAbnormally,
                K::MessageTooBig => W::MessageTooBig,
                // Only a host counts traps and interruptions; a guest never
                // makes one.
                K::Interrupted => W::Interrupted,
                K::ScriptError => W::ScriptError,
                K::Other | K::Trap => W::Other,
            }
        }

        #[allow(dead_code)]
        pub fn phases(p: $($m)::+::Phases) -> $crate::Phases {
            $crate::Phases {
                connecting: $crate::wit::duration(p.connecting),
                tls_handshaking: $crate::wit::duration(p.tls_handshaking),
                sending: $crate::wit::duration(p.sending),
                waiting: $crate::wit::duration(p.waiting),
                receiving: $crate::wit::duration(p.receiving),
            }
        }

        #[allow(dead_code)]
        pub fn wit_phases(p: $crate::Phases) -> $($m)::+::Phases {
            $($m)::+::Phases {
                connecting: $crate::wit::nanos(p.connecting),
                tls_handshaking: $crate::wit::nanos(p.tls_handshaking),
                sending: $crate::wit::nanos(p.sending),
                waiting: $crate::wit::nanos(p.waiting),
                receiving: $crate::wit::nanos(p.receiving),
            }
        }

        #[allow(dead_code)]
        pub fn http_version(v: $($m)::+::HttpVersion) -> $crate::HttpVersion {
            match v {
                $($m)::+::HttpVersion::Http11 => $crate::HttpVersion::Http11,
                $($m)::+::HttpVersion::Http2 => $crate::HttpVersion::Http2,
            }
        }

        #[allow(dead_code)]
        pub fn wit_http_version(v: $crate::HttpVersion) -> $($m)::+::HttpVersion {
            match v {
                $crate::HttpVersion::Http11 => $($m)::+::HttpVersion::Http11,
                $crate::HttpVersion::Http2 => $($m)::+::HttpVersion::Http2,
            }
        }

        #[allow(dead_code)]
        pub fn grpc_result(g: $($m)::+::GrpcResult) -> $crate::GrpcResult {
            $crate::GrpcResult {
                status: g.status,
                messages: g.messages,
            }
        }

        #[allow(dead_code)]
        pub fn wit_grpc_result(g: $crate::GrpcResult) -> $($m)::+::GrpcResult {
            $($m)::+::GrpcResult {
                status: g.status,
                messages: g.messages,
            }
        }

        #[allow(dead_code)]
        pub fn ws_result(w: $($m)::+::WsResult) -> Box<$crate::WsResult> {
            Box::new($crate::WsResult {
                handshake: $crate::wit::duration(w.handshake),
                sent: w.sent,
                received: w.received,
                round_trips: w.round_trips.into_iter().map($crate::wit::duration).collect(),
                close_code: w.close_code,
            })
        }

        // Takes a sample's box as it is (`ws.map(wit_ws_result)`).
        #[allow(dead_code, clippy::boxed_local)]
        pub fn wit_ws_result(w: Box<$crate::WsResult>) -> $($m)::+::WsResult {
            let w = *w;
            $($m)::+::WsResult {
                handshake: $crate::wit::nanos(w.handshake),
                sent: w.sent,
                received: w.received,
                round_trips: w.round_trips.into_iter().map($crate::wit::nanos).collect(),
                close_code: w.close_code,
            }
        }

        #[allow(dead_code)]
        pub fn tls_use(u: $($m)::+::TlsUse) -> $crate::TlsUse {
            $crate::TlsUse {
                version: tls_version(u.version),
                handshake: u.handshake,
                resumed: u.resumed,
            }
        }

        #[allow(dead_code)]
        pub fn wit_tls_use(u: $crate::TlsUse) -> $($m)::+::TlsUse {
            $($m)::+::TlsUse {
                version: wit_tls_version(u.version),
                handshake: u.handshake,
                resumed: u.resumed,
            }
        }

        #[allow(dead_code)]
        pub fn exchange(x: $($m)::+::Exchange) -> Box<$crate::Exchange> {
            Box::new($crate::Exchange {
                method: x.method,
                url: x.url,
                request_headers: x.request_headers,
                request_body: x.request_body,
                response_headers: x.response_headers,
                response_body: x.response_body,
                server: x.server,
                connection: x.connection,
            })
        }

        // Takes a sample's box as it is (`trace.map(wit_exchange)`).
        #[allow(dead_code, clippy::boxed_local)]
        pub fn wit_exchange(x: Box<$crate::Exchange>) -> $($m)::+::Exchange {
            let x = *x;
            $($m)::+::Exchange {
                method: x.method,
                url: x.url,
                request_headers: x.request_headers,
                request_body: x.request_body,
                response_headers: x.response_headers,
                response_body: x.response_body,
                server: x.server,
                connection: x.connection,
            }
        }
    };
}
