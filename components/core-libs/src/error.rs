//! wasi error codes → the contract's `net-error`.

use crate::addr::wit_socket;
use crate::exports::scheduler::core_libs::types::NetError;
use std::net::SocketAddr;
use wasip2::io::streams::StreamError;
use wasip2::sockets::network::ErrorCode;

/// A code with no address to name (callers that know the address map
/// `access-denied` and `address-not-bindable` themselves).
pub fn from_code(code: ErrorCode) -> NetError {
    match code {
        ErrorCode::Timeout => NetError::Timeout,
        ErrorCode::ConnectionRefused => NetError::ConnectionRefused,
        ErrorCode::ConnectionReset | ErrorCode::ConnectionAborted => NetError::ConnectionReset,
        ErrorCode::RemoteUnreachable => NetError::Unreachable,
        ErrorCode::NameUnresolvable
        | ErrorCode::TemporaryResolverFailure
        | ErrorCode::PermanentResolverFailure => {
            NetError::NameUnresolvable(code.name().to_string())
        }
        ErrorCode::InvalidArgument => NetError::InvalidArgument(code.name().to_string()),
        ErrorCode::NewSocketLimit => NetError::TooManyFiles,
        ErrorCode::OutOfMemory => NetError::NoBufferSpace,
        other => NetError::Other(other.name().to_string()),
    }
}

/// A code from an operation on `addr`: a denial names it.
pub fn at(code: ErrorCode, addr: SocketAddr) -> NetError {
    match code {
        ErrorCode::AccessDenied => denied(addr),
        // On a connect (the bind, if any, is done): no ephemeral port left.
        ErrorCode::AddressNotBindable | ErrorCode::AddressInUse => NetError::NoBufferSpace,
        other => from_code(other),
    }
}

/// The runtime denied `addr` (a connect, send or bind).
pub fn denied(addr: SocketAddr) -> NetError {
    NetError::AccessDenied(wit_socket(addr))
}

/// A failed stream operation: the peer reset or the stream closed under us.
pub fn from_stream(err: StreamError) -> NetError {
    match err {
        StreamError::Closed => NetError::ConnectionReset,
        // wasi:sockets reports a reset or abort on an open stream this way.
        StreamError::LastOperationFailed(_) => NetError::ConnectionReset,
    }
}

/// A failed bind of `local`: not an address of this machine, or denied.
pub fn bind_error(code: ErrorCode, local: SocketAddr) -> NetError {
    match code {
        ErrorCode::AddressNotBindable | ErrorCode::AddressInUse => {
            NetError::AddressNotBindable(crate::addr::wit_ip(local.ip()))
        }
        ErrorCode::AccessDenied => denied(local),
        other => from_code(other),
    }
}
