//! Per-second series for the report: requests, errors, p50/p95.
//!
//! A second keeps its latency histogram only while samples may still
//! arrive for it (users report a step when it ends, and events from
//! several workers interleave): once it is OPEN_SECONDS behind the newest
//! second seen, its percentiles are taken and the histogram dropped. So a
//! long run's timeline costs a few dozen bytes a second, not a histogram a
//! second (about 8 KB each: 30 MB an hour).

use hdrhistogram::Histogram;
use scheduler::Sample;
use serde::Serialize;
use std::time::Duration;

/// How far behind the newest second a second stays open.
const OPEN_SECONDS: usize = 10;

#[derive(Default)]
pub struct Timeline {
    seconds: Vec<Second>,
    /// Seconds before this index are closed.
    closed: usize,
}

struct Second {
    requests: u64,
    errors: u64,
    latency: Latency,
}

enum Latency {
    Open(Histogram<u64>),
    /// p50 and p95 in ms, taken when the second closed.
    Closed(f64, f64),
}

impl Latency {
    fn open() -> Self {
        Latency::Open(Histogram::new(2).expect("2 significant figures is valid"))
    }

    /// (p50, p95) in ms, rounded to µs.
    fn percentiles(&self) -> (f64, f64) {
        match self {
            Latency::Open(h) => {
                let ms = |q| {
                    if h.is_empty() {
                        0.0
                    } else {
                        (h.value_at_quantile(q) as f64).round() / 1000.0
                    }
                };
                (ms(0.5), ms(0.95))
            }
            Latency::Closed(p50, p95) => (*p50, *p95),
        }
    }
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
                latency: Latency::open(),
            });
        }
        let b = &mut self.seconds[i];
        b.requests += 1;
        b.errors += u64::from(s.error.is_some());
        // A sample for a second already closed (more than OPEN_SECONDS
        // late) still counts; only its latency misses that second's
        // percentiles.
        if let Latency::Open(h) = &mut b.latency {
            let _ = h.record(s.latency_us.max(1));
        }
        let keep_from = self.seconds.len().saturating_sub(OPEN_SECONDS);
        while self.closed < keep_from {
            let second = &mut self.seconds[self.closed];
            let (p50, p95) = second.latency.percentiles();
            second.latency = Latency::Closed(p50, p95);
            self.closed += 1;
        }
    }

    pub fn points(&self) -> Vec<Point> {
        self.seconds
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let (p50_ms, p95_ms) = b.latency.percentiles();
                Point {
                    second: i as u64,
                    requests: b.requests,
                    errors: b.errors,
                    p50_ms,
                    p95_ms,
                }
            })
            .collect()
    }

    /// Seconds whose histogram is still kept.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.seconds
            .iter()
            .filter(|s| matches!(s.latency, Latency::Open(_)))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(latency_us: u64) -> Sample {
        Sample {
            step: 0,
            latency_us,
            status: Some(200),
            bytes_sent: 0,
            bytes_received: 0,
            error: None,
            phases: None,
            tls: None,
            checks_passed: 0,
            checks_failed: 0,
        }
    }

    #[test]
    fn a_long_run_keeps_only_the_recent_seconds_histograms_and_every_point() {
        let mut t = Timeline::default();
        for second in 0..3600u64 {
            for k in 1..=100 {
                t.push(Duration::from_secs(second), &sample(k * 1000 + second));
            }
        }
        assert_eq!(t.open(), OPEN_SECONDS);
        let points = t.points();
        assert_eq!(points.len(), 3600);
        // Closed and open seconds report the same percentiles as a
        // histogram of their samples.
        for p in [&points[0], &points[1800], &points[3599]] {
            let mut h = Histogram::<u64>::new(2).unwrap();
            for k in 1..=100 {
                h.record(k * 1000 + p.second).unwrap();
            }
            assert_eq!(p.requests, 100);
            assert_eq!(p.p50_ms, h.value_at_quantile(0.5) as f64 / 1000.0);
            assert_eq!(p.p95_ms, h.value_at_quantile(0.95) as f64 / 1000.0);
        }
    }

    #[test]
    fn a_sample_later_than_the_open_window_still_counts() {
        let mut t = Timeline::default();
        t.push(Duration::from_secs(0), &sample(5000));
        t.push(Duration::from_secs(30), &sample(1000));
        let late = Sample {
            error: Some(scheduler::SampleError {
                kind: scheduler::ErrorKind::Timeout,
                message: "late".into(),
            }),
            ..sample(900_000)
        };
        t.push(Duration::from_secs(0), &late);
        let p = &t.points()[0];
        assert_eq!((p.requests, p.errors), (2, 1));
        // Its latency (900 ms) missed the closed second's percentiles.
        assert!(p.p95_ms < 6.0, "{p:?}");
    }
}
