//! Statistics of a run: buckets of counters and HDR histograms per step,
//! per named scenario and in total (`Stats`), the thresholds' judge, and
//! the one report type every output reads and writes.
//!
//! Layers, bottom up: `report` (the types) ← `hist` (the histograms' unit)
//! ← `ws` (WebSocket counts), `custom` (a script's metrics), `requests` (a
//! script's requests as steps) ← `bucket` ← `tally` ← `stats` ← `judge`. No
//! module imports one above it.

pub mod bucket;
pub mod custom;
mod hist;
pub mod judge;
pub mod report;
pub mod requests;
pub mod stats;
pub mod tally;
pub mod ws;

pub use bucket::{Bucket, Parts, delays, histogram, recorded_us, us};
pub use judge::{Judge, judge_windows};
pub use report::{
    CustomStat, ErrorStat, HostRun, Metrics, Phase, Report, Row, StepReport, Verdict,
    WorkloadReport,
};
pub use stats::{Stats, UNSPECIFIED, WorkloadParts};
pub use tally::Tally;
