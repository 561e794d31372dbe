//! scheduler-host: the per-second files (`--timeline` JSONL with histograms,
//! `--csv`): complete, exact against the report and the server, and
//! written while the run goes.

use test_kit as common;

use common::host::{bin, ok, run, scratch};
use common::{num, scenario, step, target};
use hdrhistogram::Histogram;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is a JSON row"))
        .collect()
}

/// The report's p50…max, as the scheduler rounds them (ms, 3 decimals).
fn figures(h: &Histogram<u64>) -> [f64; 6] {
    let ms = |us: u64| (us as f64 / 1000.0 * 1000.0).round() / 1000.0;
    [
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.9)),
        ms(h.value_at_quantile(0.95)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max()),
        ms(h.min()),
    ]
}

fn reported(m: &Value) -> [f64; 6] {
    [
        "latency_p50_ms",
        "latency_p90_ms",
        "latency_p95_ms",
        "latency_p99_ms",
        "latency_max_ms",
        "latency_min_ms",
    ]
    .map(|k| m[k].as_f64().unwrap())
}

#[test]
fn the_timelines_histograms_re_merge_to_the_reports_percentiles_exactly() {
    let t = target();
    let dir = scratch("series");
    let yaml = scenario(
        "scenario:\n  id: series\n  load: {total_users: 4, test_duration: 3s}\n  workflow:\n    - {id: fast, type: http, params: {url: 'http://{http}/'}}\n    - {id: slow, type: http, params: {url: 'http://{http}/delay/3'}}\n    - {id: missing, type: http, params: {url: 'http://{http}/status/503'}}\n",
        &t,
    );
    let jsonl = dir.join("t.jsonl");
    let csv = dir.join("t.csv");
    let (out, r) = run(
        &dir,
        &yaml,
        &[
            "--timeline",
            jsonl.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
            "--samples",
            dir.join("samples.csv").to_str().unwrap(),
        ],
    );
    ok(&out);
    let r = r.unwrap();
    common::schema::check(&r);
    let rows = lines(&jsonl);
    let totals: Vec<&Value> = rows.iter().filter(|r| r["step"].is_null()).collect();
    // One total row a second, in order, each with its histogram.
    let seconds: Vec<u64> = totals.iter().map(|r| num(r, "second")).collect();
    assert_eq!(seconds, (0..seconds.len() as u64).collect::<Vec<_>>());
    assert!((3..=5).contains(&seconds.len()), "{seconds:?}");

    // Counts: the server's own count, the report's and the file's agree.
    let served = t.http_seen.requests();
    let in_file: u64 = totals.iter().map(|r| num(r, "requests")).sum();
    assert_eq!(num(&r, "total_requests"), served);
    assert_eq!(in_file, served);

    // The total's histograms merged give the report's figures exactly; so
    // do each step's.
    let mut all = stats::histogram();
    for row in &totals {
        all.add(common::histogram(row["histogram"].as_str().unwrap()))
            .unwrap();
    }
    assert_eq!(all.len(), served);
    assert_eq!(figures(&all), reported(&r));
    for id in ["fast", "slow", "missing"] {
        let mut h = stats::histogram();
        let mut requests = 0;
        let mut errors = 0;
        for row in rows.iter().filter(|r| r["step"] == id) {
            h.add(common::histogram(row["histogram"].as_str().unwrap()))
                .unwrap();
            requests += num(row, "requests");
            errors += num(row, "errors");
            assert_eq!(row["scenario"], "default");
        }
        let s = step(&r, id);
        assert_eq!(requests, num(s, "total_requests"), "{id}");
        assert_eq!(errors, num(s, "failed"), "{id}");
        assert_eq!(figures(&h), reported(s), "{id}");
    }
    // The report carries the same histograms: the slow step's is ≥ 3 ms.
    let slow = common::histogram(step(&r, "slow")["latency_histogram"].as_str().unwrap());
    assert!(slow.min() >= 3000, "{}", slow.min());
    assert_eq!(
        common::histogram(r["latency_histogram"].as_str().unwrap()).len(),
        served
    );
    // Errors by kind and status codes per second add up to the report's.
    let code503: u64 = totals
        .iter()
        .map(|r| r["status_codes"]["503"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(code503, num(&r["status_codes"], "503"));
    let active: Vec<u64> = totals.iter().map(|r| num(r, "active_users")).collect();
    assert_eq!(active[0], 4, "{active:?}");

    // The report's timeline is the same rows.
    assert_eq!(r["timeline"].as_array().unwrap(), &rows);

    // --samples: every request, whose latencies make the report's histogram.
    let mut raw = csv::Reader::from_path(dir.join("samples.csv")).unwrap();
    let header = raw.headers().unwrap().clone();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut h = stats::histogram();
    let mut slow = 0;
    for record in raw.records() {
        let record = record.unwrap();
        h.record(record[at("latency_us")].parse().unwrap()).unwrap();
        slow += u64::from(&record[at("step")] == "slow");
    }
    assert_eq!(h.len(), served);
    assert_eq!(slow, num(step(&r, "slow"), "total_requests"));
    assert_eq!(figures(&h), reported(&r));

    // The CSV: a header, then the same rows, in the same order.
    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), rows.len());
    for (rec, row) in records.iter().zip(&rows) {
        assert_eq!(rec[col("second")], row["second"].to_string());
        assert_eq!(&rec[col("step")], row["step"].as_str().unwrap_or(""));
        assert_eq!(rec[col("requests")], row["requests"].to_string());
        assert_eq!(rec[col("p95_ms")], row["p95_ms"].to_string());
    }
    let missing = records
        .iter()
        .find(|r| &r[col("step")] == "missing")
        .unwrap();
    assert!(
        missing[col("status_codes")].starts_with("503="),
        "{missing:?}"
    );
    assert!(
        missing[col("errors_by_kind")].starts_with("check-failed="),
        "{missing:?}"
    );
}

#[test]
fn a_killed_run_leaves_every_closed_second_on_disk() {
    let t = target();
    let dir = scratch("series-kill");
    let file = dir.join("s.yaml");
    std::fs::write(
        &file,
        scenario(
            "scenario:\n  id: kill\n  load: {total_users: 2, test_duration: 60s}\n  workflow:\n    - {type: http, think_time: 20ms, params: {url: 'http://{http}/'}}\n",
            &t,
        ),
    )
    .unwrap();
    let jsonl = dir.join("t.jsonl");
    let csv = dir.join("t.csv");
    let mut child = Command::new(bin())
        .arg("run")
        .arg(&file)
        .arg("--quiet")
        .arg("--timeline")
        .arg(&jsonl)
        .arg("--csv")
        .arg(&csv)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Rows appear while the run goes: wait (bounded) for four seconds' worth.
    let begun = Instant::now();
    let totals = || {
        std::fs::read_to_string(&jsonl)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"step\":null"))
            .count()
    };
    while totals() < 4 && begun.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Killed: every line on disk is a whole row, and the rows written are
    // consecutive seconds with requests in them.
    let rows = lines(&jsonl);
    let totals: Vec<&Value> = rows.iter().filter(|r| r["step"].is_null()).collect();
    assert!(totals.len() >= 4, "{} total rows", totals.len());
    for (i, row) in totals.iter().enumerate() {
        assert_eq!(num(row, "second"), i as u64);
        assert!(num(row, "requests") > 0, "{row}");
    }
    assert!(t.http_seen.requests() >= totals.iter().map(|r| num(r, "requests")).sum());
    let csv_rows = std::fs::read_to_string(&csv).unwrap().lines().count();
    assert_eq!(csv_rows, rows.len() + 1, "the header and one line a row");
}

#[test]
fn an_unwritable_timeline_path_is_bad_input_before_anything_is_sent() {
    let t = target();
    let dir = scratch("series-bad");
    let yaml = scenario(
        "scenario:\n  id: bad\n  load: {total_users: 1, test_duration: 1s}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n",
        &t,
    );
    let (out, _) = run(&dir, &yaml, &["--timeline", "/nonexistent/dir/t.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: --timeline /nonexistent/dir/t.jsonl:"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(t.http_seen.requests(), 0);
}
