//! What one executed step produced: the unit statistics are built from.

use crate::{ErrorKind, GrpcResult, HttpVersion, TlsVersion, WsResult};
use std::time::Duration;

/// `Sample::step` of a sample no step can claim: a trap inside an instance
/// (the host does not know which step the guest was in).
pub const UNATTRIBUTED: u32 = u32::MAX;

/// One request of an executed step (a step that follows redirects makes
/// several), measured around the action call.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Index of the step in the workflow.
    pub step: u32,
    /// From the call to its outcome, as the scheduler measured it.
    pub latency: Duration,
    pub status: Option<u16>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub error: Option<SampleError>,
    pub phases: Option<Phases>,
    pub tls: Option<TlsUse>,
    pub http_version: Option<HttpVersion>,
    /// A gRPC call's grpc-status and reply count.
    pub grpc: Option<GrpcResult>,
    /// A WebSocket session's figures (boxed: most samples have none).
    pub ws: Option<Box<WsResult>>,
    /// The request as sent and received (a traced user's only).
    pub trace: Option<Box<Exchange>>,
    /// The step's checks that passed and failed (on its last request's
    /// sample; 0 on the others and when a transport error stopped it).
    pub checks_passed: u32,
    pub checks_failed: u32,
    /// A script's request: the name it is reported under (a step of its
    /// own inside the script's step `step`); none for a YAML step's.
    pub name: Option<String>,
    /// Custom metric values a script recorded (its iteration's last sample).
    pub points: Vec<MetricPoint>,
}

/// One value of a script's custom metric.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricPoint {
    pub name: String,
    /// A trend (percentiles); else a counter (a sum).
    pub trend: bool,
    pub value: f64,
}

/// Where one request's time went (k6's phase names).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Phases {
    pub connecting: Duration,
    pub tls_handshaking: Duration,
    pub sending: Duration,
    pub waiting: Duration,
    pub receiving: Duration,
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
    pub fn values(&self) -> [Duration; 5] {
        [
            self.connecting,
            self.tls_handshaking,
            self.sending,
            self.waiting,
            self.receiving,
        ]
    }
}

/// The TLS one request went over.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TlsUse {
    pub version: TlsVersion,
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
    pub latency: Duration,
    pub phases: Option<Phases>,
    pub tls: Option<TlsUse>,
    pub http_version: Option<HttpVersion>,
    pub trace: Option<Box<Exchange>>,
}

impl Outcome {
    /// One sample per request of step `step`: each redirect with its own
    /// duration, then the last request with the rest of `latency` (so they
    /// add up to it), carrying this outcome's error and no checks yet.
    pub fn samples(&self, step: u32, latency: Duration) -> Vec<Sample> {
        let mut out = Vec::with_capacity(self.earlier.len() + 1);
        let mut rest = latency;
        for hop in &self.earlier {
            rest = rest.saturating_sub(hop.latency);
            out.push(hop.sample(step));
        }
        out.push(Sample {
            step,
            latency: rest,
            status: self.status,
            bytes_sent: self.bytes_sent,
            bytes_received: self.bytes_received,
            error: self.error.clone(),
            phases: self.phases,
            tls: self.tls,
            http_version: self.http_version,
            grpc: self.grpc,
            ws: self.ws.clone(),
            trace: self.trace.clone(),
            checks_passed: 0,
            checks_failed: 0,
            name: None,
            points: Vec::new(),
        });
        out
    }
}

impl Hop {
    /// This redirect as a sample of step `step` (no error, no checks: the
    /// step's last request carries those).
    fn sample(&self, step: u32) -> Sample {
        Sample {
            step,
            latency: self.latency,
            status: Some(self.status),
            bytes_sent: self.bytes_sent,
            bytes_received: self.bytes_received,
            error: None,
            phases: self.phases,
            tls: self.tls,
            http_version: self.http_version,
            grpc: None,
            ws: None,
            trace: self.trace.clone(),
            checks_passed: 0,
            checks_failed: 0,
            name: None,
            points: Vec::new(),
        }
    }
}

/// One request as it went on the wire and what came back (for a user's
/// HAR trace): headers as sent and received, bodies up to `max_body`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Vec<u8>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Vec<u8>,
    /// "ip:port" of the peer; none: no connection was made.
    pub server: Option<String>,
    /// Which of the user's connections (the same number, the same one).
    pub connection: u64,
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
    pub http_version: Option<HttpVersion>,
    /// Requests before the last one (redirects), in order.
    pub earlier: Vec<Hop>,
    /// One per query the step sent, in order; none: not found.
    pub answers: Vec<Option<String>>,
    /// The last body's size when only `max_body` of it was kept.
    pub body_cut: Option<u64>,
    pub grpc: Option<GrpcResult>,
    pub ws: Option<Box<WsResult>>,
    pub trace: Option<Box<Exchange>>,
}

impl Sample {
    /// A step that produced no response: only its error and how long it took.
    pub fn failed(step: u32, latency: Duration, kind: ErrorKind, message: String) -> Sample {
        Sample {
            step,
            latency,
            status: None,
            bytes_sent: 0,
            bytes_received: 0,
            error: Some(SampleError { kind, message }),
            phases: None,
            tls: None,
            http_version: None,
            grpc: None,
            ws: None,
            trace: None,
            checks_passed: 0,
            checks_failed: 0,
            name: None,
            points: Vec::new(),
        }
    }

    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}
