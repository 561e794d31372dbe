//! scheduler-host: the HTML report, rendered in headless Chromium as a
//! person would open it: the charts draw, the tables say what the JSON
//! report says, and a saved report renders the same page.

use test_kit as common;

use common::host::{bin, ok, run, scratch};
use common::{num, scenario, target};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// The rendered page's pixels, its width and the bytes per pixel.
fn screenshot(page: &Path, png: &Path) -> (Vec<u8>, usize, usize) {
    let shot = format!("--screenshot={}", png.display());
    common::chromium::run(&[&shot], page);
    let decoder = png::Decoder::new(std::fs::File::open(png).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("a {other:?} screenshot"),
    };
    (buf, info.width as usize, channels)
}

/// Pixels within a small distance of `rgb`.
fn pixels_of((pixels, _, channels): &(Vec<u8>, usize, usize), rgb: [u8; 3]) -> usize {
    pixels
        .chunks(*channels)
        .filter(|p| {
            p[..3]
                .iter()
                .zip(rgb)
                .all(|(a, b)| (i16::from(*a) - i16::from(b)).abs() <= 12)
        })
        .count()
}

/// The text of the table cell in row `row`, column `field`.
fn cell(dom: &str, row: &str, field: &str) -> String {
    let at = dom
        .find(&format!("data-row=\"{row}\""))
        .unwrap_or_else(|| panic!("no row {row}"));
    let rest = &dom[at..];
    let key = format!("data-field=\"{field}\">");
    let start = rest.find(&key).unwrap() + key.len();
    rest[start..].split('<').next().unwrap().to_string()
}

/// The `points` of the polyline whose series is `name`, in order.
fn series<'a>(dom: &'a str, name: &str) -> Vec<&'a str> {
    dom.split("<polyline")
        .filter(|p| p.contains(&format!("data-series=\"{name}\"")))
        .map(|p| {
            p.split("points=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        })
        .collect()
}

#[test]
fn the_html_report_renders_its_charts_and_the_reports_numbers_in_chromium() {
    let t = target();
    let dir = scratch("html");
    let yaml = scenario(
        "thresholds:\n  latency: ['p(95)<5000']\nscenario:\n  id: html\n  load: {total_users: 3, test_duration: 3s}\n  workflow:\n    - {id: home, type: http, params: {url: 'http://{http}/'}}\n    - {id: slow, type: http, params: {url: 'http://{http}/delay/2'}}\n    - {id: gone, type: http, params: {url: 'http://{http}/status/404'}}\n",
        &t,
    );
    let page = dir.join("report.html");
    let (out, r) = run(&dir, &yaml, &["--html", page.to_str().unwrap()]);
    ok(&out);
    let r: Value = r.unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing to fetch (the only URL is SVG's namespace).
    for attr in ["src=", "href=", "@import", "url("] {
        assert!(!html.contains(attr), "the page refers to {attr}");
    }

    let dom = common::chromium::dom(&page);
    assert!(dom.contains("data-ready=\"1\""), "the page's script ran");
    // One point a second in the throughput chart (the last, partial second
    // as a rate, unless the run covered under a quarter of it); each step
    // has a latency curve and a chart over time, of which the picker shows one.
    let end = r["duration_seconds"].as_f64().unwrap();
    let seconds = r["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["step"].is_null())
        .filter(|row| end - row["second"].as_f64().unwrap() >= 0.25)
        .count();
    let rps = series(&dom, "requests/s");
    assert_eq!(rps.len(), 1);
    assert_eq!(rps[0].split(' ').count(), seconds);
    assert_eq!(
        series(&dom, "latency at percentile").len(),
        4,
        "total + 3 steps"
    );
    for curve in series(&dom, "latency at percentile") {
        assert_eq!(curve.split(' ').count(), 75, "p50…p99.99");
    }
    assert_eq!(series(&dom, "p95").len(), 4);
    assert_eq!(dom.matches("class=\"pick\"").count(), 8);
    assert_eq!(
        dom.matches(" hidden=\"\"").count(),
        6,
        "all but the total's chart in each picker are hidden"
    );

    // The tables say what the JSON report says.
    assert_eq!(
        cell(&dom, "total", "requests"),
        r["total_requests"].to_string()
    );
    assert_eq!(
        cell(&dom, "total", "p95"),
        format!("{:.3}", r["latency_p95_ms"].as_f64().unwrap())
    );
    for s in r["steps"].as_array().unwrap() {
        let row = format!("{} (http)", s["id"].as_str().unwrap());
        assert_eq!(
            cell(&dom, &row, "requests"),
            num(s, "total_requests").to_string()
        );
        assert_eq!(cell(&dom, &row, "failed"), num(s, "failed").to_string());
        for (field, key) in [
            ("p50", "latency_p50_ms"),
            ("p99", "latency_p99_ms"),
            ("max", "latency_max_ms"),
        ] {
            assert_eq!(
                cell(&dom, &row, field),
                format!("{:.3}", s[key].as_f64().unwrap()),
                "{row} {field}"
            );
        }
    }
    assert_eq!(
        cell(&dom, "gone (http)", "404"),
        r["status_codes"]["404"].to_string()
    );
    assert!(dom.contains("check-failed"), "the error kind is listed");
    assert!(dom.contains("✓"), "the threshold passed");
    assert_eq!(r["total_requests"].as_u64(), Some(t.http_seen.requests()));

    // Drawn, not blank: the series' colours are on the screen.
    let shot = screenshot(&page, &dir.join("shot.png"));
    assert_eq!(shot.1, 1100);
    let blue = pixels_of(&shot, [0x1f, 0x77, 0xb4]);
    let orange = pixels_of(&shot, [0xff, 0x7f, 0x0e]);
    let green = pixels_of(&shot, [0x2c, 0xa0, 0x2c]);
    assert!(
        blue > 1500,
        "{blue} blue pixels (requests/s, p50, the curve)"
    );
    assert!(orange > 300, "{orange} orange pixels (p95)");
    assert!(green > 300, "{green} green pixels (active users)");

    // A saved report renders the same page.
    let again = dir.join("again.html");
    let out = Command::new(bin())
        .arg("report")
        .arg(dir.join("report.json"))
        .arg("--html")
        .arg(&again)
        .output()
        .unwrap();
    ok(&out);
    assert_eq!(std::fs::read_to_string(&again).unwrap(), html);
}

#[test]
fn a_baseline_is_drawn_beside_the_run_and_compared() {
    let t = target();
    let dir = scratch("html-baseline");
    let yaml = scenario(
        "scenario:\n  id: base\n  load: {total_users: 2, test_duration: 2s}\n  workflow:\n    - {id: home, type: http, params: {url: 'http://{http}/'}}\n",
        &t,
    );
    let (out, _) = run(&dir, &yaml, &[]);
    ok(&out);
    let base = dir.join("base.json");
    std::fs::rename(dir.join("report.json"), &base).unwrap();
    let page = dir.join("report.html");
    let (out, r) = run(
        &dir,
        &yaml,
        &[
            "--html",
            page.to_str().unwrap(),
            "--baseline",
            base.to_str().unwrap(),
        ],
    );
    ok(&out);
    let r = r.unwrap();
    let dom = common::chromium::dom(&page);
    assert_eq!(series(&dom, "baseline requests/s").len(), 1);
    assert_eq!(series(&dom, "baseline").len(), 2, "total and home");
    assert!(dom.contains("stroke-dasharray"), "the baseline is dashed");
    let base_json: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    // The comparison table shows both runs' request rates.
    let table = &dom[dom.find("id=\"baseline\"").unwrap()..];
    for report in [&base_json, &r] {
        let rps = format!("{:.1}/s", report["throughput_rps"].as_f64().unwrap());
        assert!(table.contains(&rps), "{rps} in the comparison");
    }

    // A baseline that is not a report fails before the run, naming it.
    std::fs::write(dir.join("junk.json"), "{\"nope\": 1}").unwrap();
    let (out, _) = run(
        &dir,
        &yaml,
        &[
            "--html",
            "x.html",
            "--baseline",
            dir.join("junk.json").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("junk.json: not a scheduler-host report"),
        "{err}"
    );
}
