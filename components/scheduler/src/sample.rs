//! What one executed step produced: the unit statistics are built from.

use serde::{Deserialize, Serialize};
use std::fmt;

/// `Sample::step` of a sample no step can claim: a trap inside an instance
/// (the host does not know which step the guest was in).
pub const UNATTRIBUTED: u32 = u32::MAX;

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
    Other,
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
    pub const ALL: [ErrorKind; 19] = [
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
        ErrorKind::Other,
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
            ErrorKind::Other => "other",
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

/// One request of an executed step (a step that follows redirects makes
/// several), measured around the action call.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Index of the step in the workflow.
    pub step: u32,
    pub latency_us: u64,
    pub status: Option<u16>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub error: Option<SampleError>,
    pub phases: Option<Phases>,
    pub tls: Option<TlsUse>,
    /// The step's checks that passed and failed (on its last request's
    /// sample; 0 on the others and when a transport error stopped it).
    pub checks_passed: u32,
    pub checks_failed: u32,
}

/// Where one request's time went, in microseconds (k6's phase names).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Phases {
    pub connecting_us: u64,
    pub tls_handshaking_us: u64,
    pub sending_us: u64,
    pub waiting_us: u64,
    pub receiving_us: u64,
}

impl Phases {
    /// The report's names, in the order of a request.
    pub const NAMES: [&'static str; 5] = [
        "connecting",
        "tls_handshaking",
        "sending",
        "waiting",
        "receiving",
    ];

    /// Each phase's value, in the order of `NAMES`.
    pub fn values(&self) -> [u64; 5] {
        [
            self.connecting_us,
            self.tls_handshaking_us,
            self.sending_us,
            self.waiting_us,
            self.receiving_us,
        ]
    }
}

/// The TLS one request went over.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TlsUse {
    pub version: crate::tls::TlsVersion,
    /// The request's connection did a handshake for it (not reused).
    pub handshake: bool,
    pub resumed: bool,
}

/// A request an action made before a step's last one (a redirect).
#[derive(Clone, Debug, PartialEq)]
pub struct Hop {
    pub status: u16,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub latency_us: u64,
    pub phases: Option<Phases>,
    pub tls: Option<TlsUse>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SampleError {
    pub kind: ErrorKind,
    pub message: String,
}

/// What an action reports for one call (latency is measured by the caller).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    pub status: Option<u16>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub error: Option<SampleError>,
    pub phases: Option<Phases>,
    pub tls: Option<TlsUse>,
    /// Requests before the last one (redirects), in order.
    pub earlier: Vec<Hop>,
    /// One per query the step sent, in order; none: not found.
    pub answers: Vec<Option<String>>,
}

impl Sample {
    /// A step that produced no response: only its error and how long it took.
    pub fn failed(step: u32, latency_us: u64, kind: ErrorKind, message: String) -> Sample {
        Sample {
            step,
            latency_us,
            status: None,
            bytes_sent: 0,
            bytes_received: 0,
            error: Some(SampleError { kind, message }),
            phases: None,
            tls: None,
            checks_passed: 0,
            checks_failed: 0,
        }
    }

    pub fn ok(&self) -> bool {
        self.error.is_none()
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

    /// The contract's `error-kind` enum is exactly ALL without the host's kinds.
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
            .filter(|k| !matches!(k, ErrorKind::Trap | ErrorKind::Interrupted))
            .map(|k| k.name())
            .collect();
        assert_eq!(wit_kinds, ours);
    }
}
