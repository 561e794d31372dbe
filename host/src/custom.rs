//! A script's custom metrics in the report: each trend's histogram beside
//! its figures (`attach`), and the metrics of several reports combined
//! (`read` one report's, to add them up in `merge`).

use stats::CustomStat;
use stats::custom::{Custom, Customs};
use std::collections::BTreeMap;

/// Each trend's histogram, for a later merge.
pub fn attach(report: &mut BTreeMap<String, CustomStat>, customs: &Customs) {
    for (name, stat) in report.iter_mut() {
        if let Some(h) = customs.0.get(name).and_then(|c| c.histogram.as_ref()) {
            stat.histogram = Some(crate::hdr::encode(h));
        }
    }
}

/// A report's custom metrics as they were counted (a trend with its
/// histogram), to add to another's.
pub fn read(custom: &BTreeMap<String, CustomStat>) -> Result<Customs, String> {
    let mut one = Customs::default();
    for (name, c) in custom {
        let trend = c.kind == "trend";
        let histogram = match (&c.histogram, trend) {
            (Some(text), true) => {
                Some(crate::hdr::decode(text).map_err(|e| format!("custom metric {name}: {e}"))?)
            }
            (None, true) => {
                return Err(format!(
                    "custom metric {name}: a trend without its histogram"
                ));
            }
            (_, false) => None,
        };
        one.0.insert(
            name.clone(),
            Custom {
                trend,
                count: c.count,
                sum: c.sum,
                histogram,
            },
        );
    }
    Ok(one)
}

/// The report's `custom`: each metric's figures with its histogram.
pub fn report(all: &Customs) -> BTreeMap<String, CustomStat> {
    let mut out = all.stats();
    attach(&mut out, all);
    out
}
