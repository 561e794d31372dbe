//! scheduler-host: `--metrics ADDR`, scraped during the run and parsed as
//! Prometheus parses it; the figures agree with the final report.

use test_kit as common;

use common::host::{bin, scratch};
use common::{num, scenario, step, target};
use prometheus_parse::{Scrape, Value as Metric};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET `path` from `addr`: (status line, body), or none while nothing listens.
fn get(addr: &str, path: &str) -> Option<(String, String)> {
    let mut conn = TcpStream::connect(addr).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(conn, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut text = String::new();
    conn.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_string(), body.to_string()))
}

fn scrape(addr: &str) -> Option<Scrape> {
    let (status, body) = get(addr, "/metrics")?;
    assert!(status.contains("200"), "{status}");
    Some(Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text"))
}

/// The value of the counter or gauge `name` whose labels include `labels`.
fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .filter(|x| x.metric == name)
        .find(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            Metric::Counter(v) | Metric::Gauge(v) | Metric::Untyped(v) => *v,
            other => panic!("{name} is {other:?}"),
        })
}

fn histogram(s: &Scrape, step_id: &str) -> Vec<(f64, f64)> {
    let sample = s
        .samples
        .iter()
        .find(|x| {
            x.metric == "scheduler_request_duration_seconds"
                && x.labels.get("step") == Some(step_id)
        })
        .unwrap_or_else(|| panic!("no histogram for {step_id}"));
    match &sample.value {
        Metric::Histogram(b) => b.iter().map(|b| (b.less_than, b.count)).collect(),
        other => panic!("{other:?}"),
    }
}

fn quantiles(s: &Scrape, step_id: &str) -> Vec<(f64, f64)> {
    let sample = s
        .samples
        .iter()
        .find(|x| {
            x.metric == "scheduler_request_latency_seconds" && x.labels.get("step") == Some(step_id)
        })
        .unwrap();
    match &sample.value {
        Metric::Summary(q) => q.iter().map(|q| (q.quantile, q.count)).collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn metrics_scraped_during_the_run_agree_with_the_final_report() {
    let t = target();
    let dir = scratch("metrics");
    // Three users for 2 s; then the final figures are served until SIGINT.
    let file = dir.join("s.yaml");
    std::fs::write(
        &file,
        scenario(
            "id: metrics\nscenarios:\n  browse:\n    executor: ramping-vus\n    stages: [{duration: 0s, target: 3}, {duration: 2s, target: 3}]\n    workflow:\n      - {id: home, type: http, think_time: 10ms, params: {url: 'http://{http}/'}}\n      - {id: gone, type: http, params: {url: 'http://{http}/status/404'}}\n      - {id: refused, type: http, params: {url: 'http://127.0.0.1:1/'}}\n",
            &t,
        ),
    )
    .unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let report = dir.join("report.json");
    let mut child = Command::new(bin())
        .arg("run")
        .arg(&file)
        .args([
            "--quiet",
            "--metrics",
            &addr,
            "--metrics-hold",
            "60s",
            "--out",
        ])
        .arg(&report)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();

    // Mid-run: requests are counting and three users are active.
    let begun = Instant::now();
    let mut mid = None;
    while begun.elapsed() < Duration::from_secs(60) {
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        if let Some(s) = scrape(&addr)
            && value(
                &s,
                "scheduler_requests_total",
                &[("step", "home"), ("status", "200")],
            )
            .unwrap_or(0.0)
                > 0.0
        {
            mid = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mid = mid.expect("a scrape with requests in it during the run");
    assert_eq!(
        value(&mid, "scheduler_active_users", &[("scenario", "browse")]),
        Some(3.0)
    );
    // After the run: the report is written and the final figures served.
    while !report.exists() && begun.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let fin = scrape(&addr).expect("the final figures are still served");
    assert_eq!(
        value(&fin, "scheduler_active_users", &[("scenario", "browse")]),
        Some(0.0)
    );
    // The Grafana dashboard asks only for metrics the exposition has.
    let dashboard: Value =
        serde_json::from_str(include_str!("../../docs/grafana-dashboard.json")).unwrap();
    let names: std::collections::BTreeSet<&str> =
        fin.samples.iter().map(|s| s.metric.as_str()).collect();
    let mut asked = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let tokens = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|t| t.starts_with("scheduler_"));
            for token in tokens {
                let family = token.strip_suffix("_bucket").unwrap_or(token);
                assert!(names.contains(family), "the dashboard asks for {token}");
                asked += 1;
            }
        }
    }
    assert_eq!(asked, 7);
    // Only the given address listens.
    let other = addr.replace("127.0.0.1", "127.0.0.2");
    assert!(
        TcpStream::connect(&other).is_err(),
        "{other} should not listen"
    );
    let (status, _) = get(&addr, "/").unwrap();
    assert!(status.contains("404"), "{status}");
    // SIGINT ends the hold; the run's exit code stands.
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(child.wait().unwrap().success());
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();

    let mid_home = value(
        &mid,
        "scheduler_requests_total",
        &[("step", "home"), ("status", "200")],
    );
    assert!(mid_home.unwrap() <= num(step(&r, "home"), "total_requests") as f64);
    for id in ["home", "gone", "refused"] {
        let s = step(&r, id);
        let total = num(s, "total_requests") as f64;
        // Requests by status code, errors by kind.
        let by_status: f64 = fin
            .samples
            .iter()
            .filter(|x| x.metric == "scheduler_requests_total" && x.labels.get("step") == Some(id))
            .map(|x| match x.value {
                Metric::Counter(v) | Metric::Untyped(v) => v,
                _ => 0.0,
            })
            .sum();
        assert_eq!(by_status, total, "{id}");
        for (code, n) in s["status_codes"].as_object().unwrap() {
            let got = value(
                &fin,
                "scheduler_requests_total",
                &[("step", id), ("status", code)],
            );
            assert_eq!(got, n.as_f64(), "{id} {code}");
        }
        for (kind, e) in s["errors"].as_object().unwrap() {
            let got = value(
                &fin,
                "scheduler_errors_total",
                &[("step", id), ("kind", kind)],
            );
            assert_eq!(got, Some(num(e, "count") as f64), "{id} {kind}");
        }
        // The histogram's buckets are the report's histogram's counts.
        let h = common::histogram(s["latency_histogram"].as_str().unwrap());
        for (le, count) in histogram(&fin, id) {
            let expected = if le.is_infinite() {
                h.len()
            } else {
                h.count_between(0, (le * 1e6) as u64)
            };
            assert_eq!(count, expected as f64, "{id} le={le}");
        }
        // The summary's quantiles are the report's percentiles.
        for (q, v) in quantiles(&fin, id) {
            let key = format!("latency_p{}_ms", (q * 100.0).round());
            let ms = (v * 1e6).round() / 1000.0;
            assert_eq!(ms, s[&key].as_f64().unwrap(), "{id} {key}");
        }
    }
    assert_eq!(
        value(
            &fin,
            "scheduler_errors_total",
            &[("step", "refused"), ("kind", "connect-refused")]
        ),
        Some(num(step(&r, "refused"), "total_requests") as f64)
    );
    assert_eq!(
        value(
            &fin,
            "scheduler_iterations_total",
            &[("scenario", "browse")]
        ),
        Some(num(&r, "iterations") as f64)
    );
    assert_eq!(
        value(
            &fin,
            "scheduler_dropped_iterations_total",
            &[("scenario", "browse")]
        ),
        Some(0.0)
    );
    // And the report agrees with the server.
    assert_eq!(
        num(step(&r, "home"), "total_requests") + num(step(&r, "gone"), "total_requests"),
        t.http_seen.requests()
    );
}

#[test]
fn a_metrics_address_already_taken_is_bad_input() {
    let t = target();
    let dir = scratch("metrics-taken");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let file = dir.join("s.yaml");
    std::fs::write(
        &file,
        scenario(
            "scenario:\n  id: m\n  load: {total_users: 1, test_duration: 1s}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n",
            &t,
        ),
    )
    .unwrap();
    let out = Command::new(bin())
        .arg("run")
        .arg(&file)
        .args(["--quiet", "--metrics", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("error: --metrics {addr}: cannot listen")),
        "{err}"
    );
    assert_eq!(t.http_seen.requests(), 0);
}
