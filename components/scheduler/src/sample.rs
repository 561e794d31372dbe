//! What one executed step produced: the unit statistics are built from.

/// `Sample::step` of a sample no step can claim: a trap inside an instance
/// (the host does not know which step the guest was in).
pub const UNATTRIBUTED: u32 = u32::MAX;

/// One executed step, measured around the action call.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Index of the step in the workflow.
    pub step: u32,
    pub latency_us: u64,
    pub status: Option<u16>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub error: Option<SampleError>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SampleError {
    /// kebab-case kind: "connect-refused", "check-failed", "trap", ...
    pub kind: String,
    pub message: String,
}

/// What an action reports for one call (latency is measured by the caller).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    pub status: Option<u16>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub error: Option<SampleError>,
}

impl Sample {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}
