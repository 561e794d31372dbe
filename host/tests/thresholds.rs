//! scheduler-host: thresholds decide the exit code (0 pass, 99 fail), write
//! JUnit, stop a run early with `abort_on_fail`, and refuse what does not
//! exist.

use test_kit as common;

use common::host::{run, scratch};
use common::timed::{Behaviour, Timed};
use quick_xml::events::Event;

/// (testcase name, failure message) from a JUnit file.
fn junit_cases(xml: &str) -> Vec<(String, Option<String>)> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    loop {
        match reader.read_event().expect("valid XML") {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                let name = e.try_get_attribute("name").unwrap().unwrap();
                out.push((name.unescape_value().unwrap().into_owned(), None));
            }
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"failure" => {
                let m = e.try_get_attribute("message").unwrap().unwrap();
                out.last_mut().unwrap().1 = Some(m.unescape_value().unwrap().into_owned());
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn scenario(addr: std::net::SocketAddr, thresholds: &str) -> String {
    format!(
        "scenarios:\n  api:\n    executor: constant-vus\n    vus: 2\n    duration: 1s\n    workflow:\n      - {{id: login, type: http, think_time: 20ms, params: {{url: 'http://{addr}/login'}}}}\nthresholds:\n{thresholds}"
    )
}

#[test]
fn passing_thresholds_exit_0_and_failing_ones_exit_99_with_junit() {
    let server = Timed::start(Behaviour::default());
    let dir = scratch("thresholds");
    let junit = dir.join("junit.xml");
    let pass = scenario(
        server.addr,
        "  latency: ['p(95)<2000', 'max<5000']\n  'latency{step:login}': ['p(99)<3000']\n  errors: ['rate<0.01']\n  checks: ['rate>0.99']\n  iterations: ['count>5']\n  'requests{scenario:api}': ['rate>1']\n",
    );
    let (out, report) = run(&dir, &pass, &["--junit", junit.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report.unwrap();
    common::schema::check(&r);
    assert_eq!(r["thresholds"].as_array().unwrap().len(), 7);
    let cases = junit_cases(&std::fs::read_to_string(&junit).unwrap());
    assert_eq!(cases.len(), 7);
    assert!(cases.iter().all(|c| c.1.is_none()), "{cases:?}");
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("thresholds: 7 of 7 passed"), "{summary}");
    assert!(summary.contains("✓ latency p(95)<2000"), "{summary}");

    let fail = scenario(
        server.addr,
        "  latency: ['p(95)<2000']\n  iterations: ['count>1000000']\n",
    );
    let (out, report) = run(&dir, &fail, &["--junit", junit.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(99));
    let r = report.unwrap();
    let iterations = r["iterations"].as_u64().unwrap();
    let cases = junit_cases(&std::fs::read_to_string(&junit).unwrap());
    assert_eq!(cases.len(), 2);
    let failed: Vec<_> = cases.iter().filter(|c| c.1.is_some()).collect();
    assert_eq!(failed.len(), 1, "{cases:?}");
    assert_eq!(failed[0].0, "iterations count>1000000");
    // The message carries the measured value, the report's.
    assert!(
        failed[0]
            .1
            .as_ref()
            .unwrap()
            .contains(&format!("measured {iterations}")),
        "{failed:?}"
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains(&format!(
            "✗ iterations count>1000000: measured {iterations}"
        )),
        "{summary}"
    );
}

#[test]
fn abort_on_fail_stops_the_run_early_with_a_valid_report() {
    let server = Timed::start(Behaviour::default());
    let dir = scratch("abort");
    let yaml = format!(
        "scenarios:\n  api:\n    executor: constant-vus\n    vus: 2\n    duration: 30s\n    workflow: [{{type: http, think_time: 10ms, params: {{url: 'http://{}/'}}}}]\nthresholds:\n  'latency:abort': {{threshold: 'max<0.001', abort_on_fail: true, delay_abort_eval: 1s}}\n",
        server.addr
    );
    let began = std::time::Instant::now();
    let (out, report) = run(&dir, &yaml, &[]);
    assert_eq!(out.status.code(), Some(99));
    assert!(
        began.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        began.elapsed()
    );
    let r = report.expect("the report is written");
    common::schema::check(&r);
    assert!(r["duration_seconds"].as_f64().unwrap() < 5.0);
    assert_eq!(r["aborted_by_threshold"], "latency:abort: max<0.001");
    assert_eq!(r["thresholds"][0]["aborted_run"], true);
    assert_eq!(
        r["total_requests"].as_u64().unwrap(),
        server.hits().len() as u64,
        "every request the server saw is in the report"
    );
}

#[test]
fn a_threshold_on_what_does_not_exist_is_bad_input() {
    let dir = scratch("threshold-input");
    let addr: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    for (thresholds, names) in [
        (
            "  'latency{step:nope}': ['p(95)<200']\n",
            "thresholds.latency{step:nope}",
        ),
        (
            "  'latency{scenario:web}': ['p(95)<200']\n",
            "no scenario named \"web\"",
        ),
        ("  latncy: ['p(95)<200']\n", "unknown metric \"latncy\""),
        ("  errors: ['p(95)<200']\n", "does not apply to errors"),
        ("  latency: ['p95<200']\n", "unknown aggregation"),
    ] {
        let (out, _) = run(&dir, &scenario(addr, thresholds), &[]);
        assert_eq!(out.status.code(), Some(2), "{thresholds}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(names), "{thresholds}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn a_window_catches_a_bad_stretch_the_whole_run_averages_away() {
    // The first 10 answers are 500s (about the first second); over the
    // whole 3 s run the error rate is about a third.
    let server = Timed::start(Behaviour {
        fail_first: 10,
        ..Behaviour::default()
    });
    let dir = scratch("window");
    let yaml = format!(
        "scenarios:\n  api:\n    executor: constant-vus\n    vus: 1\n    duration: 3s\n    workflow: [{{type: http, think_time: 100ms, params: {{url: 'http://{}/'}}}}]\nthresholds:\n  errors: ['rate<0.5']\n  'errors:window': {{threshold: 'rate<0.5', window: 1s}}\n",
        server.addr
    );
    let (out, report) = run(&dir, &yaml, &[]);
    assert_eq!(out.status.code(), Some(99));
    let r = report.unwrap();
    let t = r["thresholds"].as_array().unwrap();
    let whole = t.iter().find(|v| v["metric"] == "errors").unwrap();
    let window = t.iter().find(|v| v["metric"] == "errors:window").unwrap();
    let rate = r["failed"].as_f64().unwrap() / r["total_requests"].as_f64().unwrap();
    assert_eq!(r["failed"], 10);
    assert_eq!(whole["ok"], true);
    assert!(
        (whole["value"].as_f64().unwrap() - rate).abs() < 0.001,
        "{whole} vs {rate}"
    );
    assert_eq!(window["ok"], false);
    assert_eq!(window["window_seconds"], 1.0);
    assert!(window["value"].as_f64().unwrap() >= 0.5, "{window}");
}
