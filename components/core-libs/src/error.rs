//! wasi error codes → the contract's `net-error`.

use crate::exports::scheduler::core_libs::types::NetError;
use wasip2::io::streams::StreamError;
use wasip2::sockets::network::ErrorCode;

pub fn from_code(code: ErrorCode) -> NetError {
    match code {
        ErrorCode::Timeout => NetError::Timeout,
        ErrorCode::ConnectionRefused => NetError::ConnectionRefused,
        ErrorCode::ConnectionReset | ErrorCode::ConnectionAborted => NetError::ConnectionReset,
        ErrorCode::RemoteUnreachable => NetError::Unreachable,
        ErrorCode::AddressNotBindable | ErrorCode::AddressInUse => {
            NetError::AddressNotBindable(code.name().to_string())
        }
        ErrorCode::AccessDenied => NetError::AccessDenied,
        ErrorCode::NameUnresolvable
        | ErrorCode::TemporaryResolverFailure
        | ErrorCode::PermanentResolverFailure => {
            NetError::NameUnresolvable(code.name().to_string())
        }
        ErrorCode::InvalidArgument => NetError::InvalidArgument(code.name().to_string()),
        other => NetError::Other(other.name().to_string()),
    }
}

/// A failed stream operation: the peer reset or the stream closed under us.
pub fn from_stream(err: StreamError) -> NetError {
    match err {
        StreamError::Closed => NetError::ConnectionReset,
        // wasi:sockets reports a reset or abort on an open stream this way.
        StreamError::LastOperationFailed(_) => NetError::ConnectionReset,
    }
}
