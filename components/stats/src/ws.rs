//! WebSocket per bucket: sessions' handshake times and round trips (HDR
//! histograms, µs), messages each way, and clean closes by code.

use crate::hist::{histogram, us};
use crate::report::{PhaseStat, WsStat};
use contract::WsResult;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

/// A bucket's WebSocket figures, once a sample was a session.
#[derive(Clone, Debug)]
pub struct WsCounts {
    pub sessions: u64,
    pub sent: u64,
    pub received: u64,
    pub handshake: Histogram<u64>,
    pub round_trip: Histogram<u64>,
    /// Sessions whose close handshake completed, by code.
    pub closes: BTreeMap<u16, u64>,
}

impl Default for WsCounts {
    fn default() -> Self {
        WsCounts {
            sessions: 0,
            sent: 0,
            received: 0,
            handshake: histogram(),
            round_trip: histogram(),
            closes: BTreeMap::new(),
        }
    }
}

impl WsCounts {
    pub fn push(&mut self, w: &WsResult) {
        self.sessions += 1;
        self.sent += u64::from(w.sent);
        self.received += u64::from(w.received);
        // A handshake that failed before the 101 has no time to record.
        if !w.handshake.is_zero() {
            let _ = self.handshake.record(us(w.handshake).max(1));
        }
        for rt in &w.round_trips {
            let _ = self.round_trip.record(us(*rt).max(1));
        }
        if let Some(code) = w.close_code {
            *self.closes.entry(code).or_default() += 1;
        }
    }

    pub fn merge(&mut self, o: &WsCounts) {
        self.sessions += o.sessions;
        self.sent += o.sent;
        self.received += o.received;
        let _ = self.handshake.add(&o.handshake);
        let _ = self.round_trip.add(&o.round_trip);
        for (k, v) in &o.closes {
            *self.closes.entry(*k).or_default() += v;
        }
    }

    /// The report's figures (histograms are attached by the host).
    pub fn stat(&self) -> WsStat {
        WsStat {
            sessions: self.sessions,
            messages_sent: self.sent,
            messages_received: self.received,
            handshake: PhaseStat::of(&self.handshake),
            round_trips: self.round_trip.len(),
            round_trip: PhaseStat::of(&self.round_trip),
            closes: self
                .closes
                .iter()
                .map(|(code, n)| (code.to_string(), *n))
                .collect(),
            handshake_histogram: None,
            round_trip_histogram: None,
        }
    }
}
