//! gRPC: how a call ended (its grpc-status and reply count), and the
//! status codes' names as gRPC's own documentation writes them.

/// A gRPC call's result, beside the HTTP status of its response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GrpcResult {
    /// The grpc-status code.
    pub status: u16,
    /// Reply messages received.
    pub messages: u32,
}

/// The status codes 0-16, in order (grpc/doc/statuscodes.md).
const NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// A code's name ("NOT_FOUND"); a code past the table is its number.
pub fn status_name(code: u16) -> String {
    NAMES
        .get(usize::from(code))
        .map_or_else(|| code.to_string(), |n| (*n).to_string())
}

/// The code a name (any case) or a number stands for (`status_name`'s
/// inverse).
pub fn status_code(name: &str) -> Option<u16> {
    if let Ok(n) = name.parse::<u16>() {
        return Some(n);
    }
    NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(name))
        .and_then(|i| u16::try_from(i).ok())
}

/// Every name, for an error message that lists them.
pub fn status_names() -> String {
    NAMES.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_is_read_back_from_its_name_or_number() {
        for code in 0..20 {
            assert_eq!(status_code(&status_name(code)), Some(code));
        }
        assert_eq!(status_name(5), "NOT_FOUND");
        assert_eq!(status_code("not_found"), Some(5));
        assert_eq!(status_code("MISSING"), None);
    }
}
