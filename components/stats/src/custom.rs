//! A script's custom metrics: counters (a sum) and trends (a distribution),
//! by name, as k6's `Counter` and `Trend`.

use crate::report::CustomStat;
use contract::MetricPoint;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

/// Trend values are kept in thousandths (three decimals, like the report's
/// milliseconds) in an HDR histogram; negative values count as 0.
pub const TREND_SCALE: f64 = 1000.0;

/// One custom metric's values so far.
#[derive(Clone, Debug)]
pub struct Custom {
    pub trend: bool,
    pub count: u64,
    pub sum: f64,
    /// The trend's distribution (none for a counter).
    pub histogram: Option<Histogram<u64>>,
}

/// Every custom metric of a bucket of samples, by name.
#[derive(Clone, Debug, Default)]
pub struct Customs(pub BTreeMap<String, Custom>);

impl Customs {
    pub fn push(&mut self, p: &MetricPoint) {
        let c = self.0.entry(p.name.clone()).or_insert_with(|| Custom {
            trend: p.trend,
            count: 0,
            sum: 0.0,
            // 5 significant figures: a trend's values are exact to their
            // third decimal up to 100.
            histogram: p
                .trend
                .then(|| Histogram::new(5).expect("5 significant figures is valid")),
        });
        c.count += 1;
        c.sum += p.value;
        if let Some(h) = &mut c.histogram {
            let _ = h.record(scaled(p.value));
        }
    }

    pub fn merge(&mut self, o: &Customs) {
        for (name, theirs) in &o.0 {
            match self.0.get_mut(name) {
                None => {
                    self.0.insert(name.clone(), theirs.clone());
                }
                Some(mine) => {
                    mine.count += theirs.count;
                    mine.sum += theirs.sum;
                    if let (Some(m), Some(t)) = (&mut mine.histogram, &theirs.histogram) {
                        let _ = m.add(t);
                    }
                }
            }
        }
    }

    /// The report's figures (a trend's histogram is attached by the host).
    pub fn stats(&self) -> BTreeMap<String, CustomStat> {
        self.0
            .iter()
            .map(|(name, c)| (name.clone(), c.stat()))
            .collect()
    }
}

impl Custom {
    /// A trend's value at quantile `q` (0 for a counter, or none yet).
    pub fn quantile(&self, q: f64) -> f64 {
        match &self.histogram {
            Some(h) if !h.is_empty() => unscaled(h.value_at_quantile(q)),
            _ => 0.0,
        }
    }

    pub fn stat(&self) -> CustomStat {
        let q = |h: &Histogram<u64>, q: f64| unscaled(h.value_at_quantile(q));
        let (min, p50, p90, p95, p99, max) = match &self.histogram {
            Some(h) if !h.is_empty() => (
                unscaled(h.min()),
                q(h, 0.5),
                q(h, 0.9),
                q(h, 0.95),
                q(h, 0.99),
                unscaled(h.max()),
            ),
            _ => Default::default(),
        };
        let avg = if self.trend && self.count > 0 {
            crate::hist::round3(self.sum / self.count as f64)
        } else {
            0.0
        };
        CustomStat {
            kind: if self.trend { "trend" } else { "counter" }.into(),
            count: self.count,
            sum: crate::hist::round3(self.sum),
            avg,
            min,
            p50,
            p90,
            p95,
            p99,
            max,
            histogram: None,
        }
    }
}

fn scaled(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 {
        (v * TREND_SCALE).round().min(u64::MAX as f64) as u64
    } else {
        0
    }
}

fn unscaled(v: u64) -> f64 {
    crate::hist::round3(v as f64 / TREND_SCALE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(name: &str, trend: bool, value: f64) -> MetricPoint {
        MetricPoint {
            name: name.into(),
            trend,
            value,
        }
    }

    #[test]
    fn counters_sum_and_trends_keep_a_distribution_across_a_merge() {
        let mut a = Customs::default();
        let mut b = Customs::default();
        for i in 1..=100 {
            a.push(&point("items", false, 2.0));
            let half = if i <= 50 { &mut a } else { &mut b };
            half.push(&point("cart_ms", true, f64::from(i)));
        }
        a.merge(&b);
        let s = a.stats();
        assert_eq!(
            (s["items"].kind.as_str(), s["items"].sum),
            ("counter", 200.0)
        );
        let t = &s["cart_ms"];
        assert_eq!(
            (t.kind.as_str(), t.count, t.min, t.max),
            ("trend", 100, 1.0, 100.0)
        );
        assert_eq!((t.p50, t.p95, t.avg), (50.0, 95.0, 50.5));
    }
}
