//! `scheduler-host compare BASE.json NEW.json`: two reports side by side,
//! in total and per step, and `--fail-if` limits on the change (baseline
//! regression gating: exit 99 when a limit is passed).

use std::fmt::Write;

use stats::{Metrics, Report, StepReport};

/// One compared line: the run's total or a step found in both reports.
pub struct Row {
    pub name: String,
    pub base: Metrics,
    pub new: Metrics,
}

/// Both reports, lined up.
pub struct Comparison {
    pub base_id: String,
    pub new_id: String,
    pub rows: Vec<Row>,
    /// Steps in only one of the reports: (which, name).
    pub unmatched: Vec<(&'static str, String)>,
}

/// Lines two reports up: the totals, then each step found in both.
pub fn lineup(base: Report, new: Report) -> Comparison {
    let key = |s: &StepReport| (s.scenario.clone(), s.id.clone());
    let label = StepReport::label;
    let mut rows = vec![Row {
        name: "total".into(),
        base: base.metrics,
        new: new.metrics,
    }];
    let mut unmatched = Vec::new();
    for b in &base.steps {
        match new.steps.iter().find(|n| key(n) == key(b)) {
            Some(n) => rows.push(Row {
                name: label(b),
                base: b.metrics.clone(),
                new: n.metrics.clone(),
            }),
            None => unmatched.push(("base", label(b))),
        }
    }
    for n in &new.steps {
        if !base.steps.iter().any(|b| key(b) == key(n)) {
            unmatched.push(("new", label(n)));
        }
    }
    Comparison {
        base_id: base.scenario_id,
        new_id: new.scenario_id,
        rows,
        unmatched,
    }
}

/// What a limit watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Rps,
    /// The error rate: failed / requests.
    Errors,
    Mean,
    P50,
    P90,
    P95,
    P99,
    Max,
}

impl Metric {
    const ALL: [(Metric, &'static str); 8] = [
        (Metric::Rps, "rps"),
        (Metric::Errors, "errors"),
        (Metric::Mean, "mean"),
        (Metric::P50, "p50"),
        (Metric::P90, "p90"),
        (Metric::P95, "p95"),
        (Metric::P99, "p99"),
        (Metric::Max, "max"),
    ];

    fn name(self) -> &'static str {
        Metric::ALL
            .iter()
            .find(|(m, _)| *m == self)
            .map_or("?", |(_, n)| n)
    }

    /// Its value in `f`: requests/s, the error rate in %, or ms.
    fn of(self, f: &Metrics) -> f64 {
        match self {
            Metric::Rps => f.throughput_rps,
            Metric::Errors => {
                if f.total_requests == 0 {
                    0.0
                } else {
                    f.failed as f64 / f.total_requests as f64 * 100.0
                }
            }
            Metric::Mean => f.latency_mean_ms,
            Metric::P50 => f.latency_p50_ms,
            Metric::P90 => f.latency_p90_ms,
            Metric::P95 => f.latency_p95_ms,
            Metric::P99 => f.latency_p99_ms,
            Metric::Max => f.latency_max_ms,
        }
    }

    fn show(self, v: f64) -> String {
        match self {
            Metric::Rps => format!("{v:.1}/s"),
            Metric::Errors => format!("{v:.2}%"),
            _ => format!("{v:.3} ms"),
        }
    }
}

/// How a change is measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unit {
    /// Relative to the base value.
    Percent,
    /// Percentage points of the error rate.
    Points,
    /// Milliseconds of latency.
    Millis,
}

/// A `--fail-if` limit: `METRIC (>|<) ±N(%|pp|ms)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    pub metric: Metric,
    /// `>`: fail when the change is above `value`; `<`: below.
    pub above: bool,
    pub value: f64,
    pub unit: Unit,
    pub text: String,
}

impl std::str::FromStr for Limit {
    type Err = String;

    fn from_str(text: &str) -> Result<Limit, String> {
        let usage = "expected METRIC > CHANGE or METRIC < CHANGE, like \"p95 > +10%\", \"errors > +0.5pp\", \"rps < -5%\" or \"p99 > +20ms\"; METRIC is rps, errors, mean, p50, p90, p95, p99 or max";
        let t = text.trim();
        let at = t.find(['>', '<']).ok_or_else(|| usage.to_string())?;
        let (name, rest) = t.split_at(at);
        let name = name.trim();
        let metric = Metric::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(m, _)| *m)
            .ok_or_else(|| format!("unknown metric {name:?}: {usage}"))?;
        let above = rest.starts_with('>');
        let change = rest[1..].trim();
        let (number, unit) = if let Some(n) = change.strip_suffix('%') {
            (n, Unit::Percent)
        } else if let Some(n) = change.strip_suffix("pp") {
            (n, Unit::Points)
        } else if let Some(n) = change.strip_suffix("ms") {
            (n, Unit::Millis)
        } else {
            return Err(format!("{change:?} has no unit (%, pp or ms): {usage}"));
        };
        let value: f64 = number
            .trim()
            .parse()
            .map_err(|_| format!("{number:?} is not a number: {usage}"))?;
        // Which units each metric changes in, and what to say otherwise.
        let wrong_unit = match metric {
            Metric::Rps => (unit != Unit::Percent).then_some("rps changes in %"),
            Metric::Errors => (unit == Unit::Millis).then_some("errors change in % or pp, not ms"),
            _ => (unit == Unit::Points)
                .then_some("pp (percentage points) is for errors; latency changes in % or ms"),
        };
        if let Some(why) = wrong_unit {
            return Err(why.into());
        }
        Ok(Limit {
            metric,
            above,
            value,
            unit,
            text: t.to_string(),
        })
    }
}

/// `new` against `base` in `unit`: ±∞ for a relative change from 0.
fn change(base: f64, new: f64, unit: Unit) -> f64 {
    match unit {
        Unit::Percent if base == 0.0 => {
            if new == 0.0 {
                0.0
            } else {
                f64::INFINITY.copysign(new)
            }
        }
        Unit::Percent => (new - base) / base * 100.0,
        Unit::Points | Unit::Millis => new - base,
    }
}

fn show_change(c: f64, unit: Unit) -> String {
    let suffix = match unit {
        Unit::Percent => "%",
        Unit::Points => "pp",
        Unit::Millis => " ms",
    };
    if c.is_infinite() {
        return format!("{}∞{suffix}", if c > 0.0 { "+" } else { "-" });
    }
    format!("{c:+.2}{suffix}")
}

/// Every limit a row passes: one line each.
pub fn breaches(c: &Comparison, limits: &[Limit]) -> Vec<String> {
    let mut out = Vec::new();
    for row in &c.rows {
        for l in limits {
            let (b, n) = (l.metric.of(&row.base), l.metric.of(&row.new));
            let d = change(b, n, l.unit);
            let passed = if l.above { d > l.value } else { d < l.value };
            if passed {
                out.push(format!(
                    "{}: {} {} → {} ({}) passes the limit \"{}\"",
                    row.name,
                    l.metric.name(),
                    l.metric.show(b),
                    l.metric.show(n),
                    show_change(d, l.unit),
                    l.text
                ));
            }
        }
    }
    out
}

/// The side-by-side table: per row, each metric's base, new and change
/// (relative, and in points for the error rate).
/// One line of the comparison: (row, metric, base, new, change), as text.
pub type Cell = (String, &'static str, String, String, String);

/// Every row's metrics, base and new and the change between them.
pub fn cells(c: &Comparison) -> Vec<Cell> {
    let mut out = Vec::new();
    for row in &c.rows {
        for (m, _) in Metric::ALL {
            let (b, n) = (m.of(&row.base), m.of(&row.new));
            let unit = if m == Metric::Errors {
                Unit::Points
            } else {
                Unit::Percent
            };
            out.push((
                row.name.clone(),
                m.name(),
                m.show(b),
                m.show(n),
                show_change(change(b, n, unit), unit),
            ));
        }
    }
    out
}

pub fn render(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "base: {}   new: {}", c.base_id, c.new_id);
    let _ = writeln!(
        out,
        "{:<28} {:<7} {:>14} {:>14} {:>12}",
        "step", "metric", "base", "new", "change"
    );
    let mut last = String::new();
    for (row, metric, base, new, change) in cells(c) {
        let name = if row == last { "" } else { row.as_str() };
        let _ = writeln!(
            out,
            "{:<28} {:<7} {:>14} {:>14} {:>12}",
            name, metric, base, new, change
        );
        last = row;
    }
    for (which, name) in &c.unmatched {
        let _ = writeln!(out, "{name}: only in the {which} report, not compared");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two reports' text (and names for errors), lined up.
    fn compare(base: (&str, &str), new: (&str, &str)) -> Result<Comparison, String> {
        let parse = crate::report::parse;
        Ok(lineup(parse(base.0, base.1)?, parse(new.0, new.1)?))
    }

    fn report(id: &str, rps: f64, failed: u64, p95: f64, steps: &str) -> String {
        format!(
            r#"{{"scenario_id": "{id}", "total_requests": 1000, "failed": {failed}, "throughput_rps": {rps},
               "latency_mean_ms": 1.0, "latency_p50_ms": 1.0, "latency_p90_ms": 2.0, "latency_p95_ms": {p95},
               "latency_p99_ms": 4.0, "latency_max_ms": 9.0, "steps": [{steps}]}}"#
        )
    }

    fn step(id: &str, p95: f64) -> String {
        format!(
            r#"{{"id": "{id}", "type": "http", "scenario": "default", "total_requests": 500, "failed": 0,
               "throughput_rps": 50.0, "latency_mean_ms": 1.0, "latency_p50_ms": 1.0, "latency_p90_ms": 2.0,
               "latency_p95_ms": {p95}, "latency_p99_ms": 4.0, "latency_max_ms": 9.0}}"#
        )
    }

    #[test]
    fn limits_parse_and_bad_ones_say_why() {
        let l: Limit = "p95 > +10%".parse().unwrap();
        assert_eq!(
            (l.metric, l.above, l.value, l.unit),
            (Metric::P95, true, 10.0, Unit::Percent)
        );
        let l: Limit = "errors>+0.5pp".parse().unwrap();
        assert_eq!(
            (l.metric, l.value, l.unit),
            (Metric::Errors, 0.5, Unit::Points)
        );
        let l: Limit = "rps < -5%".parse().unwrap();
        assert!(!l.above && l.value == -5.0);
        let l: Limit = "P99 > 20ms".parse().unwrap();
        assert_eq!((l.metric, l.unit), (Metric::P99, Unit::Millis));
        for bad in [
            "p95 10%",
            "p42 > 1%",
            "p95 > 10",
            "p95 > x%",
            "p95 > 1pp",
            "rps > 1ms",
        ] {
            assert!(bad.parse::<Limit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_regression_past_a_limit_is_named_with_both_values() {
        let base = report("a", 100.0, 0, 3.0, &step("login", 3.0));
        let new = report("a", 90.0, 10, 3.6, &step("login", 3.1));
        let c = compare((&base, "base.json"), (&new, "new.json")).unwrap();
        assert_eq!(c.rows.len(), 2);
        let limits: Vec<Limit> = ["p95 > +10%", "errors > +0.5pp", "rps < -5%"]
            .iter()
            .map(|l| l.parse().unwrap())
            .collect();
        let b = breaches(&c, &limits);
        // total: p95 +20%, errors +1pp, rps -10%; login: p95 +3.3% (within).
        assert_eq!(b.len(), 3, "{b:?}");
        assert!(
            b[0].starts_with("total: p95 3.000 ms → 3.600 ms (+20.00%)"),
            "{}",
            b[0]
        );
        assert!(b[1].contains("errors 0.00% → 1.00% (+1.00pp)"), "{}", b[1]);
        assert!(b[2].contains("rps 100.0/s → 90.0/s (-10.00%)"), "{}", b[2]);
        // A report compared with itself passes every limit.
        let same = compare((&base, "a"), (&base, "a")).unwrap();
        assert!(breaches(&same, &limits).is_empty());
        let table = render(&c);
        assert!(table.contains("login (http)"), "{table}");
    }

    #[test]
    fn steps_in_one_report_only_are_listed_not_compared() {
        let base = report("a", 1.0, 0, 1.0, &step("old", 1.0));
        let new = report("a", 1.0, 0, 1.0, &step("fresh", 1.0));
        let c = compare((&base, "b"), (&new, "n")).unwrap();
        assert_eq!(c.rows.len(), 1);
        assert_eq!(
            c.unmatched,
            vec![
                ("base", "old (http)".to_string()),
                ("new", "fresh (http)".to_string())
            ]
        );
    }

    #[test]
    fn a_file_that_is_not_a_report_is_named() {
        let e = compare(("{}", "x.json"), ("{}", "y.json")).err().unwrap();
        assert!(e.starts_with("x.json: not a scheduler-host report"), "{e}");
    }
}
