//! Per-second series for the report: requests, errors, p50/p95.

use hdrhistogram::Histogram;
use scheduler::Sample;
use serde::Serialize;
use std::time::Duration;

#[derive(Default)]
pub struct Timeline {
    seconds: Vec<Second>,
}

struct Second {
    requests: u64,
    errors: u64,
    latency: Histogram<u64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Point {
    /// Seconds since the start of the run (this bucket is [second, second+1)).
    pub second: u64,
    pub requests: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

impl Timeline {
    pub fn push(&mut self, at: Duration, s: &Sample) {
        let i = at.as_secs() as usize;
        while self.seconds.len() <= i {
            self.seconds.push(Second {
                requests: 0,
                errors: 0,
                latency: Histogram::new(2).expect("2 significant figures is valid"),
            });
        }
        let b = &mut self.seconds[i];
        b.requests += 1;
        b.errors += u64::from(s.error.is_some());
        let _ = b.latency.record(s.latency_us.max(1));
    }

    pub fn points(&self) -> Vec<Point> {
        let ms = |h: &Histogram<u64>, q| {
            if h.is_empty() {
                0.0
            } else {
                (h.value_at_quantile(q) as f64 / 1000.0 * 1000.0).round() / 1000.0
            }
        };
        self.seconds
            .iter()
            .enumerate()
            .map(|(i, b)| Point {
                second: i as u64,
                requests: b.requests,
                errors: b.errors,
                p50_ms: ms(&b.latency, 0.5),
                p95_ms: ms(&b.latency, 0.95),
            })
            .collect()
    }
}
