//! Line charts as inline SVG, drawn here from the report's numbers: no
//! script library, nothing fetched, and the same picture on screen and on
//! paper. Each series is one `<polyline class="series">` whose points are
//! the data (a test counts them).

use std::fmt::Write;

const WIDTH: f64 = 880.0;
const HEIGHT: f64 = 240.0;
/// Room for the axes' labels: left, right, top, bottom.
const PAD: (f64, f64, f64, f64) = (56.0, 24.0, 10.0, 28.0);

pub struct Series {
    pub name: String,
    pub color: &'static str,
    /// Drawn dashed (the baseline run's series).
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

/// How the x axis reads.
#[derive(Clone, Copy)]
pub enum XAxis {
    /// Seconds since the start, up to the given last second (the same
    /// for every chart of a page, so they line up).
    Seconds(f64),
    /// Percentiles on a log scale: x is log10(1 / (1 - q)), so p90 is 1,
    /// p99 is 2, p99.9 is 3.
    Percentiles,
}

pub struct Chart {
    pub y_unit: &'static str,
    pub x: XAxis,
    pub series: Vec<Series>,
}

impl Chart {
    pub fn svg(&self) -> String {
        let points = self.series.iter().flat_map(|s| s.points.iter());
        let (mut x_max, mut y_max) = (0.0f64, 0.0f64);
        let mut x_min = f64::MAX;
        for &(x, y) in points {
            x_max = x_max.max(x);
            x_min = x_min.min(x);
            y_max = y_max.max(y);
        }
        if x_min == f64::MAX {
            x_min = 0.0;
        }
        if let XAxis::Seconds(last) = self.x {
            x_min = 0.0;
            x_max = x_max.max(last);
        }
        let x_max = if x_max > x_min { x_max } else { x_min + 1.0 };
        // Four grid steps of a round size (1, 2 or 5 × 10^k).
        let y_step = nice_ceiling(y_max / 4.0);
        let y_max = (y_step * 4.0).max(f64::MIN_POSITIVE);
        let (l, r, t, b) = PAD;
        let (pw, ph) = (WIDTH - l - r, HEIGHT - t - b);
        let sx = |x: f64| l + (x - x_min) / (x_max - x_min) * pw;
        let sy = |y: f64| t + ph - y / y_max * ph;
        let mut out = format!(
            "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">"
        );
        for i in 0..=4 {
            let v = y_step * f64::from(i);
            let y = sy(v);
            let _ = write!(
                out,
                "<line class=\"grid\" x1=\"{l}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                WIDTH - r,
                l - 6.0,
                y + 4.0,
                label(v, self.y_unit)
            );
        }
        for (x, text) in self.x_ticks(x_min, x_max) {
            let _ = write!(
                out,
                "<text class=\"tick\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{text}</text>",
                sx(x),
                HEIGHT - 8.0
            );
        }
        for s in &self.series {
            let mut pts = String::new();
            for &(x, y) in &s.points {
                let _ = write!(pts, "{:.1},{:.1} ", sx(x), sy(y));
            }
            let _ = write!(
                out,
                "<polyline class=\"series\" data-series=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{} points=\"{}\"><title>{}</title></polyline>",
                escape(&s.name),
                s.color,
                if s.dashed {
                    " stroke-dasharray=\"6 4\""
                } else {
                    ""
                },
                pts.trim_end(),
                escape(&s.name)
            );
        }
        out.push_str("</svg>");
        out
    }

    /// The legend: one coloured swatch per series.
    pub fn legend(&self) -> String {
        let mut out = String::from("<div class=\"legend\">");
        for s in &self.series {
            let _ = write!(
                out,
                "<span><i style=\"border-color:{}\"{}></i>{}</span>",
                s.color,
                if s.dashed { " class=\"dashed\"" } else { "" },
                escape(&s.name)
            );
        }
        out.push_str("</div>");
        out
    }

    fn x_ticks(&self, min: f64, max: f64) -> Vec<(f64, String)> {
        match self.x {
            XAxis::Seconds(_) => {
                let step = nice_ceiling((max - min) / 8.0).max(1.0);
                let mut v = Vec::new();
                let mut x = 0.0;
                while x <= max {
                    v.push((x, format!("{x}s")));
                    x += step;
                }
                v
            }
            XAxis::Percentiles => ["p50", "p90", "p99", "p99.9", "p99.99"]
                .iter()
                .zip([std::f64::consts::LOG10_2, 1.0, 2.0, 3.0, 4.0])
                .filter(|(_, x)| *x >= min - 1e-9 && *x <= max + 1e-9)
                .map(|(n, x)| (x, n.to_string()))
                .collect(),
        }
    }
}

/// The smallest 1, 2 or 5 × 10^k at or above `v` (1 for nothing).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= v {
            return m * mag;
        }
    }
    10.0 * mag
}

fn label(v: f64, unit: &str) -> String {
    let n = format!("{v:.3}");
    let n = n.trim_end_matches('0').trim_end_matches('.');
    format!("{n}{unit}")
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_point_is_plotted_inside_the_frame() {
        let c = Chart {
            y_unit: " ms",
            x: XAxis::Seconds(0.0),
            series: vec![Series {
                name: "p95 <a>".into(),
                color: "#ff7f0e",
                dashed: false,
                points: (0..30).map(|i| (f64::from(i), f64::from(i * i))).collect(),
            }],
        };
        let svg = c.svg();
        let pts = svg
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let pairs: Vec<(f64, f64)> = pts
            .split(' ')
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        assert_eq!(pairs.len(), 30);
        for (x, y) in pairs {
            assert!((PAD.0..=WIDTH - PAD.1).contains(&x), "{x}");
            assert!((PAD.2..=HEIGHT - PAD.3).contains(&y), "{y}");
        }
        assert!(svg.contains("p95 &lt;a&gt;"));
        assert_eq!(nice_ceiling(841.0), 1000.0);
        assert_eq!(nice_ceiling(0.3), 0.5);
    }
}
