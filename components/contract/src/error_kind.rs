//! Why a step failed: one enum for the guests' contract, the statistics and
//! the report.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a step failed: the `error-kind`s of `scheduler:actions/types` plus
/// the host-only `trap`. The same enum keys the report's `errors` (in
/// kebab-case) and is the `enum` of `host/report.schema.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    ConnectRefused,
    ConnectTimeout,
    Timeout,
    ConnectionReset,
    Unreachable,
    NameUnresolvable,
    AddressNotBindable,
    EgressDenied,
    Tls,
    Protocol,
    TooManyRedirects,
    Unsupported,
    BadParams,
    CheckFailed,
    /// An extraction rule found nothing in the response.
    ExtractFailed,
    /// A template named a variable that was not set (not sent).
    MissingVariable,
    /// No file descriptor left for a socket (EMFILE, ENFILE).
    TooManyFiles,
    /// No kernel buffer space, memory or local port for a socket.
    NoBufferSpace,
    /// HTTP/2: the server reset the stream or went away before answering.
    StreamReset,
    /// WebSocket: the peer ended the session without a clean close.
    ClosedAbnormally,
    /// WebSocket: a message past the step's `max_message`.
    MessageTooBig,
    Other,
    /// A script's iteration, setup or teardown threw (the scheduler's).
    ScriptError,
    /// The user's instance trapped (a panic, an interrupted runaway step, its
    /// memory limit) or could not be created; counted by scheduler-host,
    /// never by an action.
    Trap,
    /// The step was in flight when the run stopped and did not end within
    /// the grace period, or a second SIGINT/SIGTERM aborted it (scheduler-host).
    Interrupted,
}

impl ErrorKind {
    /// Every kind, in the order the report lists them.
    pub const ALL: [ErrorKind; 25] = [
        ErrorKind::ConnectRefused,
        ErrorKind::ConnectTimeout,
        ErrorKind::Timeout,
        ErrorKind::ConnectionReset,
        ErrorKind::Unreachable,
        ErrorKind::NameUnresolvable,
        ErrorKind::AddressNotBindable,
        ErrorKind::EgressDenied,
        ErrorKind::Tls,
        ErrorKind::Protocol,
        ErrorKind::TooManyRedirects,
        ErrorKind::Unsupported,
        ErrorKind::BadParams,
        ErrorKind::CheckFailed,
        ErrorKind::ExtractFailed,
        ErrorKind::MissingVariable,
        ErrorKind::TooManyFiles,
        ErrorKind::NoBufferSpace,
        ErrorKind::StreamReset,
        ErrorKind::ClosedAbnormally,
        ErrorKind::MessageTooBig,
        ErrorKind::Other,
        ErrorKind::ScriptError,
        ErrorKind::Trap,
        ErrorKind::Interrupted,
    ];

    /// The kebab-case name the report uses.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::ConnectRefused => "connect-refused",
            ErrorKind::ConnectTimeout => "connect-timeout",
            ErrorKind::Timeout => "timeout",
            ErrorKind::ConnectionReset => "connection-reset",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::NameUnresolvable => "name-unresolvable",
            ErrorKind::AddressNotBindable => "address-not-bindable",
            ErrorKind::EgressDenied => "egress-denied",
            ErrorKind::Tls => "tls",
            ErrorKind::Protocol => "protocol",
            ErrorKind::TooManyRedirects => "too-many-redirects",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::BadParams => "bad-params",
            ErrorKind::CheckFailed => "check-failed",
            ErrorKind::ExtractFailed => "extract-failed",
            ErrorKind::MissingVariable => "missing-variable",
            ErrorKind::TooManyFiles => "too-many-files",
            ErrorKind::NoBufferSpace => "no-buffer-space",
            ErrorKind::StreamReset => "stream-reset",
            ErrorKind::ClosedAbnormally => "closed-abnormally",
            ErrorKind::MessageTooBig => "message-too-big",
            ErrorKind::Other => "other",
            ErrorKind::ScriptError => "script-error",
            ErrorKind::Trap => "trap",
            ErrorKind::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serde_names_and_unique() {
        for k in ErrorKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.name());
            let back: ErrorKind = serde_json::from_value(k.name().into()).unwrap();
            assert_eq!(back, k);
        }
        let mut names: Vec<_> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ErrorKind::ALL.len());
    }

    /// The contract's `error-kind` enum is exactly ALL without the host's
    /// own kind (`trap`: a guest cannot report its own trap).
    #[test]
    fn the_wit_enum_matches() {
        let wit = include_str!("../../../wit/actions/actions.wit");
        let start = wit
            .find("enum error-kind {")
            .expect("error-kind in the WIT");
        let body = &wit[start..][..wit[start..].find('}').unwrap()];
        let wit_kinds: Vec<&str> = body
            .lines()
            .skip(1)
            .map(|l| l.trim().trim_end_matches(','))
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .collect();
        let ours: Vec<&str> = ErrorKind::ALL
            .iter()
            .filter(|k| !matches!(k, ErrorKind::Trap))
            .map(|k| k.name())
            .collect();
        assert_eq!(wit_kinds, ours);
    }
}
