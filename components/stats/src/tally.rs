//! What a threshold reads from a span of the run, and its value there.

use crate::bucket::{Bucket, ms, round3};
use scenario::thresholds::{Agg, Metric, Threshold};

/// What a threshold reads: requests, iterations and drops, over `secs`
/// (and a script's custom metric, over the run).
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub bucket: Bucket,
    pub iterations: u64,
    pub dropped: u64,
    pub custom: Option<crate::custom::Custom>,
}

impl Tally {
    /// The threshold's value over this tally, `secs` long.
    pub fn measure(&self, t: &Threshold, secs: f64) -> f64 {
        let b = &self.bucket;
        let per_second = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let fraction = |n: u64, of: u64| if of == 0 { 0.0 } else { n as f64 / of as f64 };
        let ws = b.ws();
        match (t.metric, t.agg) {
            (
                Metric::Latency | Metric::ServiceTime | Metric::WsRoundTrip | Metric::WsHandshake,
                agg,
            ) => {
                let h = match (t.metric, ws) {
                    (Metric::ServiceTime, _) => b.service_histogram(),
                    (Metric::WsRoundTrip, Some(w)) => &w.round_trip,
                    (Metric::WsHandshake, Some(w)) => &w.handshake,
                    // No session yet: as an empty histogram reads.
                    (Metric::WsRoundTrip | Metric::WsHandshake, None) => return 0.0,
                    _ => b.latency_histogram(),
                };
                if h.is_empty() {
                    return 0.0;
                }
                // Rounded as the report rounds them, so a verdict's value
                // is the report's figure.
                match agg {
                    Agg::Avg => round3(h.mean() / 1000.0),
                    Agg::Min => ms(h.min()),
                    Agg::Max => ms(h.max()),
                    Agg::Med => ms(h.value_at_quantile(0.5)),
                    Agg::P(p) => ms(h.value_at_quantile(p / 100.0)),
                    Agg::Count | Agg::Rate => h.len() as f64,
                }
            }
            (Metric::Errors, Agg::Rate) => fraction(b.failed(), b.count()),
            (Metric::Errors, _) => b.failed() as f64,
            (Metric::Checks, Agg::Rate) => fraction(b.checks_passed(), b.checks()),
            (Metric::Checks, _) => b.checks() as f64,
            (Metric::Requests, Agg::Rate) => per_second(b.count()),
            (Metric::Requests, _) => b.count() as f64,
            (Metric::Iterations, Agg::Rate) => per_second(self.iterations),
            (Metric::Iterations, _) => self.iterations as f64,
            (Metric::DroppedIterations, Agg::Rate) => per_second(self.dropped),
            (Metric::DroppedIterations, _) => self.dropped as f64,
            (Metric::Custom, agg) => self.custom.as_ref().map_or(0.0, |c| {
                let stat = c.stat();
                match (agg, c.trend) {
                    (Agg::Count, false) => stat.sum,
                    (Agg::Rate, false) if secs > 0.0 => c.sum / secs,
                    (Agg::Rate, false) => 0.0,
                    (Agg::Count, true) => c.count as f64,
                    (Agg::Rate, true) => per_second(c.count),
                    (Agg::Avg, _) => stat.avg,
                    (Agg::Min, _) => stat.min,
                    (Agg::Max, _) => stat.max,
                    (Agg::Med, _) => stat.p50,
                    (Agg::P(p), _) => c.quantile(p / 100.0),
                }
            }),
            (Metric::WsMessagesSent | Metric::WsMessagesReceived, agg) => {
                let n = ws.map_or(0, |w| match t.metric {
                    Metric::WsMessagesSent => w.sent,
                    _ => w.received,
                });
                if agg == Agg::Rate {
                    per_second(n)
                } else {
                    n as f64
                }
            }
        }
    }

    pub(crate) fn merge(&mut self, o: &Tally) {
        self.bucket.merge(&o.bucket);
        self.iterations += o.iterations;
        self.dropped += o.dropped;
    }
}
