//! The histograms' unit and shape, and the report's figures read from one
//! histogram: what `bucket` and `ws` share.

use crate::report::{PhaseStat, ServiceTime};
use hdrhistogram::Histogram;
use std::time::Duration;

/// The latency histogram every report figure comes from: microseconds,
/// auto-resizing, 3 significant digits. The host's per-second histograms
/// use it too, so they re-merge into the report's exactly.
pub fn histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant figures is a valid histogram")
}

/// A duration in the histograms' unit: whole microseconds (truncated,
/// saturating). Durations are `Duration`s everywhere else.
pub fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl PhaseStat {
    pub(crate) fn of(h: &Histogram<u64>) -> Self {
        let q = |q: f64| {
            if h.is_empty() {
                0.0
            } else {
                ms(h.value_at_quantile(q))
            }
        };
        PhaseStat {
            p50_ms: q(0.50),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
            max_ms: if h.is_empty() { 0.0 } else { ms(h.max()) },
        }
    }
}

impl ServiceTime {
    pub(crate) fn of(h: &Histogram<u64>) -> Self {
        let p = PhaseStat::of(h);
        ServiceTime {
            service_time_mean_ms: if h.is_empty() {
                0.0
            } else {
                round3(h.mean() / 1000.0)
            },
            service_time_p50_ms: p.p50_ms,
            service_time_p95_ms: p.p95_ms,
            service_time_p99_ms: p.p99_ms,
            service_time_max_ms: p.max_ms,
        }
    }
}

pub fn ms(us: u64) -> f64 {
    round3(us as f64 / 1000.0)
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
