//! The HTML report: one self-contained file (inline CSS, inline SVG, a few
//! lines of inline script for the step pickers), drawn from a report as
//! saved (`Report`), optionally beside a baseline report.

mod chart;
mod page;

use chart::{Chart, Series, XAxis};
use stats::Row;
use stats::{Metrics, Report, StepReport};

const BLUE: &str = "#1f77b4";
const ORANGE: &str = "#ff7f0e";
const RED: &str = "#d62728";
const GREEN: &str = "#2ca02c";
const GREY: &str = "#7f7f7f";

/// The whole page.
pub fn render(report: &Report, baseline: Option<&Report>) -> String {
    let mut body = String::new();
    body += &page::header(report, baseline);
    body += &page::cards(&report.metrics);
    body += &section("Throughput", None, &throughput(report, baseline));
    body += &section("Active users", None, &active(report, baseline));
    body += &picker_section("Latency over time", "over-time", report, |key| {
        latency_over_time(report, baseline, key)
    });
    body += &picker_section("Latency distribution", "distribution", report, |key| {
        distribution(report, baseline, key)
    });
    body += &page::tables(report, baseline);
    page::document(&report.scenario_id, &body)
}

/// Which rows a chart draws: the total or one step.
#[derive(Clone, Copy)]
enum Key<'a> {
    Total,
    Step(&'a StepReport),
}

impl<'a> Key<'a> {
    fn rows<'r>(self, timeline: &'r [Row]) -> impl Iterator<Item = &'r Row> + use<'r, 'a> {
        timeline.iter().filter(move |r| match self {
            Key::Total => r.is_total(),
            Key::Step(s) => {
                r.step.as_deref() == Some(s.id.as_str())
                    && r.scenario.as_deref() == Some(s.scenario.as_str())
            }
        })
    }

    /// The same total or step in another report.
    fn figures(self, r: &Report) -> Option<&Metrics> {
        match self {
            Key::Total => Some(&r.metrics),
            Key::Step(s) => r
                .steps
                .iter()
                .find(|o| o.id == s.id && o.scenario == s.scenario)
                .map(|o| &o.metrics),
        }
    }

    fn label(self) -> String {
        match self {
            Key::Total => "every step".into(),
            Key::Step(s) => s.label(),
        }
    }
}

fn section(title: &str, note: Option<&str>, charts: &Chart) -> String {
    format!(
        "<section><h2>{}</h2>{}<figure>{}{}</figure></section>",
        chart::escape(title),
        note.map(|n| format!("<p class=\"note\">{n}</p>"))
            .unwrap_or_default(),
        charts.legend(),
        charts.svg()
    )
}

/// A section with one chart per total/step and a picker between them (all
/// are shown when printed, or without script).
fn picker_section<'a>(
    title: &str,
    group: &str,
    report: &'a Report,
    chart: impl Fn(Key<'a>) -> Chart,
) -> String {
    let keys: Vec<Key> = std::iter::once(Key::Total)
        .chain(report.steps.iter().map(Key::Step))
        .collect();
    let mut options = String::new();
    let mut figures = String::new();
    for (i, key) in keys.iter().enumerate() {
        let label = chart::escape(&key.label());
        options += &format!("<option value=\"{i}\">{label}</option>");
        let c = chart(*key);
        figures += &format!(
            "<figure class=\"pick\" data-group=\"{group}\" data-key=\"{i}\"><figcaption>{label}</figcaption>{}{}</figure>",
            c.legend(),
            c.svg()
        );
    }
    format!(
        "<section><h2>{} <select data-for=\"{group}\" aria-label=\"step\">{options}</select></h2>{figures}</section>",
        chart::escape(title)
    )
}

/// The time axis every chart of the page shares: to the last second of
/// either run.
fn seconds(report: &Report, baseline: Option<&Report>) -> XAxis {
    let last = std::iter::once(report)
        .chain(baseline)
        .flat_map(|r| r.host().timeline.iter().map(|row| row.second))
        .max()
        .unwrap_or(0);
    XAxis::Seconds(last as f64)
}

fn per_second(rows: &[Row], value: impl Fn(&Row) -> f64) -> Vec<(f64, f64)> {
    rows.iter()
        .filter(|r| r.is_total())
        .map(|r| (r.second as f64, value(r)))
        .collect()
}

/// A second's count as a rate: the run's last second is usually partial
/// (a run of 5.06 s has 0.06 s in its sixth), so its count is divided by
/// the part the run covered; a sliver under a quarter of a second is left
/// out rather than magnified. Drawn as full seconds, they dropped to ~0.
fn per_second_rate(report: &Report, value: impl Fn(&Row) -> f64) -> Vec<(f64, f64)> {
    let end = report.duration_seconds;
    per_second(&report.host().timeline, value)
        .into_iter()
        .filter_map(|(second, v)| match (end - second).clamp(0.0, 1.0) {
            c if c >= 1.0 || end <= 0.0 => Some((second, v)),
            c if c >= MIN_COVERED => Some((second, v / c)),
            _ => None,
        })
        .collect()
}

/// The least of a partial second drawn as a rate.
const MIN_COVERED: f64 = 0.25;

fn throughput(report: &Report, baseline: Option<&Report>) -> Chart {
    let mut series = vec![
        Series {
            name: "requests/s".into(),
            color: BLUE,
            dashed: false,
            points: per_second_rate(report, |r| r.requests as f64),
        },
        Series {
            name: "errors/s".into(),
            color: RED,
            dashed: false,
            points: per_second_rate(report, |r| r.errors as f64),
        },
    ];
    if let Some(b) = baseline {
        series.push(Series {
            name: "baseline requests/s".into(),
            color: GREY,
            dashed: true,
            points: per_second_rate(b, |r| r.requests as f64),
        });
    }
    Chart {
        y_unit: "/s",
        x: seconds(report, baseline),
        series,
    }
}

fn active(report: &Report, baseline: Option<&Report>) -> Chart {
    let mut series = vec![Series {
        name: "active users".into(),
        color: GREEN,
        dashed: false,
        points: per_second(&report.host().timeline, |r| f64::from(r.active_users)),
    }];
    if let Some(b) = baseline {
        series.push(Series {
            name: "baseline active users".into(),
            color: GREY,
            dashed: true,
            points: per_second(&b.host().timeline, |r| f64::from(r.active_users)),
        });
    }
    Chart {
        y_unit: "",
        x: seconds(report, baseline),
        series,
    }
}

fn latency_over_time(report: &Report, baseline: Option<&Report>, key: Key) -> Chart {
    let line = |rows: &[Row], v: fn(&Row) -> f64| -> Vec<(f64, f64)> {
        key.rows(rows)
            .filter(|r| r.requests > 0)
            .map(|r| (r.second as f64, v(r)))
            .collect()
    };
    let mut series = vec![
        Series {
            name: "p50".into(),
            color: BLUE,
            dashed: false,
            points: line(&report.host().timeline, |r| r.p50_ms),
        },
        Series {
            name: "p95".into(),
            color: ORANGE,
            dashed: false,
            points: line(&report.host().timeline, |r| r.p95_ms),
        },
        Series {
            name: "p99".into(),
            color: RED,
            dashed: false,
            points: line(&report.host().timeline, |r| r.p99_ms),
        },
    ];
    if let Some(b) = baseline {
        series.push(Series {
            name: "baseline p95".into(),
            color: GREY,
            dashed: true,
            points: line(&b.host().timeline, |r| r.p95_ms),
        });
    }
    Chart {
        y_unit: " ms",
        x: seconds(report, baseline),
        series,
    }
}

/// The percentile curve from a saved histogram: latency at q for
/// log10(1/(1-q)) from p50 to p99.99 in steps of 0.05.
fn curve(f: Option<&Metrics>) -> Vec<(f64, f64)> {
    let Some(h) = f
        .and_then(|f| f.latency_histogram.as_deref())
        .and_then(|t| crate::hdr::decode(t).ok())
    else {
        return Vec::new();
    };
    if h.is_empty() {
        return Vec::new();
    }
    (0..=74)
        .map(|i| {
            let p50 = std::f64::consts::LOG10_2;
            let x = p50 + f64::from(i) * (4.0 - p50) / 74.0;
            let q = 1.0 - 10f64.powf(-x);
            (x, h.value_at_quantile(q) as f64 / 1000.0)
        })
        .collect()
}

fn distribution(report: &Report, baseline: Option<&Report>, key: Key) -> Chart {
    let mut series = vec![Series {
        name: "latency at percentile".into(),
        color: BLUE,
        dashed: false,
        points: curve(key.figures(report)),
    }];
    if let Some(b) = baseline {
        series.push(Series {
            name: "baseline".into(),
            color: GREY,
            dashed: true,
            points: curve(key.figures(b)),
        });
    }
    Chart {
        y_unit: " ms",
        x: XAxis::Percentiles,
        series,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run of 2.5 s at 100 requests a second, users 25 at their peak of
    /// 74 allowed: as `run --out` writes it.
    fn report() -> Report {
        let row = |second: u64, requests: u64, users: u32| {
            serde_json::json!({
                "second": second, "unix_ms": 0, "requests": requests, "errors": 0,
                "errors_by_kind": {}, "status_codes": {}, "p50_ms": 1.0, "p95_ms": 1.0,
                "p99_ms": 1.0, "max_ms": 1.0, "active_users": users
            })
        };
        let mut v = serde_json::to_value(stats::Metrics::default()).unwrap();
        let more = serde_json::json!({
            "scenario_id": "partial", "vus": 74, "duration_seconds": 2.5,
            "started_at": "2026-12-05T10:00:00Z", "host_version": "test",
            "timeline": [row(0, 100, 20), row(1, 100, 25), row(2, 50, 25)]
        });
        for (k, x) in more.as_object().unwrap() {
            v[k] = x.clone();
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_last_partial_second_is_drawn_as_a_rate_not_as_a_drop() {
        let r = report();
        let points = per_second_rate(&r, |row| row.requests as f64);
        assert_eq!(points, [(0.0, 100.0), (1.0, 100.0), (2.0, 100.0)]);
        // A sliver of a second is left out rather than magnified.
        let mut short = r.clone();
        short.duration_seconds = 2.1;
        let points = per_second_rate(&short, |row| row.requests as f64);
        assert_eq!(points.len(), 2);
    }

    #[test]
    fn the_header_gives_the_peak_of_users_not_the_allowance() {
        let r = report();
        assert_eq!(r.peak_users(), 25);
        let head = page::header(&r, None);
        assert!(
            head.contains("peak users <b>25 (of 74 allowed)</b>"),
            "{head}"
        );
    }
}
