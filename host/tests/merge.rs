//! scheduler-host merge: reports of shards added up exactly (histograms
//! bucket by bucket, never percentiles averaged), timelines lined up by
//! wall-clock second, thresholds judged again on the merged figures.

use test_kit as common;

use common::host::{bin, scratch};
use common::{num, scenario, step, target};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn merge(files: &[PathBuf], out: &Path, extra: &[&str]) -> Output {
    Command::new(bin())
        .arg("merge")
        .args(files)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

const PERCENTILES: [&str; 7] = [
    "latency_min_ms",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "latency_max_ms",
];

#[test]
fn a_report_merged_with_itself_doubles_every_count_and_keeps_every_percentile() {
    let t = target();
    let dir = scratch("merge-self");
    let file = dir.join("s.yaml");
    std::fs::write(
        &file,
        scenario(
            "thresholds:\n  'latency:w': {threshold: 'p(95)<5000', window: 1s}\n  'requests:w': {threshold: 'count>=0', window: 1s}\n  'errors{step:gone}:w': {threshold: 'rate<0.5', window: 1s}\nscenario:\n  id: self\n  load: {total_users: 3, test_duration: 3s}\n  workflow:\n    - {id: home, type: http, params: {url: 'http://{http}/'}}\n    - {id: gone, type: http, params: {url: 'http://{http}/status/404'}}\n",
            &t,
        ),
    )
    .unwrap();
    let one = dir.join("one.json");
    let out = Command::new(bin())
        .arg("run")
        .arg(&file)
        .args(["--quiet", "--out"])
        .arg(&one)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(99), "every 404 fails a window");
    let merged = dir.join("merged.json");
    let out = merge(&[one.clone(), one.clone()], &merged, &[]);
    assert_eq!(out.status.code(), Some(99), "{out:?}");
    let (a, m) = (read(&one), read(&merged));
    common::schema::check(&m);
    for (x, y) in [
        (&a, &m),
        (step(&a, "home"), step(&m, "home")),
        (step(&a, "gone"), step(&m, "gone")),
    ] {
        for k in [
            "total_requests",
            "successful",
            "failed",
            "bytes_sent",
            "bytes_received",
            "checks_passed",
            "checks_failed",
        ] {
            assert_eq!(num(y, k), 2 * num(x, k), "{k}");
        }
        for k in PERCENTILES {
            assert_eq!(y[k], x[k], "{k}");
        }
        for (code, n) in x["status_codes"].as_object().unwrap() {
            assert_eq!(
                y["status_codes"][code].as_u64(),
                Some(2 * n.as_u64().unwrap())
            );
        }
        for (kind, e) in x["errors"].as_object().unwrap() {
            assert_eq!(num(&y["errors"][kind], "count"), 2 * num(e, "count"));
        }
        assert_eq!(
            common::histogram(y["latency_histogram"].as_str().unwrap()).len(),
            2 * num(x, "total_requests")
        );
        // Phases come from their own merged histograms.
        assert_eq!(y["timings"]["waiting"], x["timings"]["waiting"]);
    }
    assert_eq!(num(&m, "iterations"), 2 * num(&a, "iterations"));
    // Windowed thresholds are judged window by window again: a latency
    // window's value is kept, a request count's worst window doubles, and
    // every 404 failing keeps its error rate at 1 (a failed window).
    let verdicts = |r: &Value| -> Vec<(bool, f64)> {
        r["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["ok"].as_bool().unwrap(), v["value"].as_f64().unwrap()))
            .collect()
    };
    let (va, vm) = (verdicts(&a), verdicts(&m));
    assert_eq!(va.len(), 3);
    let by = |list: &[(bool, f64)], key: &str, r: &Value| {
        let i = r["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .position(|v| v["metric"] == key)
            .unwrap();
        list[i]
    };
    // 1 s windows are the whole seconds of the run: its timeline's rows.
    let whole_seconds = a["duration_seconds"].as_f64().unwrap().floor() as u64;
    let rows: Vec<&Value> = a["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["step"].is_null() && num(r, "second") < whole_seconds)
        .collect();
    let worst_p95 = rows
        .iter()
        .map(|r| r["p95_ms"].as_f64().unwrap())
        .fold(0.0, f64::max);
    let fewest = rows.iter().map(|r| num(r, "requests")).min().unwrap();
    assert_eq!(by(&vm, "latency:w", &m), (true, worst_p95));
    assert_eq!(by(&vm, "requests:w", &m), (true, 2.0 * fewest as f64));
    assert_eq!(by(&vm, "errors{step:gone}:w", &m), (false, 1.0));
    assert_eq!(by(&va, "errors{step:gone}:w", &a), (false, 1.0));
    assert_eq!(m["duration_seconds"], a["duration_seconds"]);
    // The timeline: the same seconds, each count doubled, each percentile kept.
    let (ta, tm) = (
        a["timeline"].as_array().unwrap(),
        m["timeline"].as_array().unwrap(),
    );
    assert_eq!(ta.len(), tm.len());
    for (x, y) in ta.iter().zip(tm) {
        assert_eq!((&y["second"], &y["step"]), (&x["second"], &x["step"]));
        assert_eq!(num(y, "requests"), 2 * num(x, "requests"));
        assert_eq!(num(y, "active_users"), 2 * num(x, "active_users"));
        for k in ["p50_ms", "p95_ms", "p99_ms", "max_ms"] {
            assert_eq!(y[k], x[k], "{k}");
        }
    }
    // A copy that started 0.4 s later lines up second for second all the
    // same, wherever the start falls within its wall-clock second.
    for shift_ms in [100, 400] {
        let mut later = a.clone();
        for row in later["timeline"].as_array_mut().unwrap() {
            row["unix_ms"] = (num(row, "unix_ms") + shift_ms).into();
        }
        let shifted = dir.join("shifted.json");
        std::fs::write(&shifted, serde_json::to_vec(&later).unwrap()).unwrap();
        let out = merge(&[one.clone(), shifted], &merged, &[]);
        assert_eq!(out.status.code(), Some(99), "{out:?}");
        let m = read(&merged);
        let tm = m["timeline"].as_array().unwrap();
        assert_eq!(tm.len(), ta.len(), "shifted {shift_ms} ms");
        for (x, y) in ta.iter().zip(tm) {
            assert_eq!(&y["second"], &x["second"]);
            assert_eq!(num(y, "requests"), 2 * num(x, "requests"));
        }
    }
}

#[test]
fn shards_merge_to_the_servers_count_and_one_histogram_of_every_sample() {
    let t = target();
    let dir = scratch("merge-shards");
    let file = dir.join("s.yaml");
    // 6 users × 10 iterations = 60 requests; each shard alone has 30 and
    // fails the threshold, the merged run passes it.
    std::fs::write(
        &file,
        scenario(
            "thresholds:\n  requests: ['count>=60']\n  'latency{step:home}': ['p(99)<10000']\nscenario:\n  id: sharded\n  load: {total_users: 6, iterations: 10}\n  workflow:\n    - {id: home, type: http, params: {url: 'http://{http}/delay/1'}}\n",
            &t,
        ),
    )
    .unwrap();
    let files: Vec<PathBuf> = (0..2)
        .map(|i| dir.join(format!("shard-{i}.json")))
        .collect();
    let children: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(i, out)| {
            Command::new(bin())
                .arg("run")
                .arg(&file)
                .args([
                    "--quiet",
                    "--shard",
                    &format!("{i}/2"),
                    "--start-at",
                    "+8s",
                    "--out",
                ])
                .arg(out)
                .arg("--samples")
                .arg(out.with_extension("csv"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(99), "a shard alone fails count>=60");
    }
    let merged = dir.join("run.json");
    let html = dir.join("run.html");
    let junit = dir.join("junit.xml");
    let out = merge(
        &files,
        &merged,
        &[
            "--html",
            html.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("✓ requests count>=60: measured 60"),
        "{summary}"
    );
    let m = read(&merged);
    common::schema::check(&m);
    assert_eq!(num(&m, "total_requests"), t.http_seen.requests());
    assert_eq!(num(&m, "total_requests"), 60);
    assert!(
        m["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["ok"] == true)
    );
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("failures=\"0\"")
    );
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("data-row=\"home (http)\"")
    );
    // One histogram of every raw sample the shards recorded (`--samples`):
    // the merged percentiles are its percentiles.
    let mut all = stats::histogram();
    for f in &files {
        let mut csv = csv::Reader::from_path(f.with_extension("csv")).unwrap();
        let col = csv
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "latency_us")
            .unwrap();
        for record in csv.records() {
            all.record(record.unwrap()[col].parse().unwrap()).unwrap();
        }
    }
    let ms = |us: u64| (us as f64).round() / 1000.0;
    assert_eq!(all.len(), 60);
    assert_eq!(
        m["latency_p50_ms"].as_f64(),
        Some(ms(all.value_at_quantile(0.5)))
    );
    assert_eq!(
        m["latency_p95_ms"].as_f64(),
        Some(ms(all.value_at_quantile(0.95)))
    );
    assert_eq!(
        m["latency_p99_ms"].as_f64(),
        Some(ms(all.value_at_quantile(0.99)))
    );
    assert_eq!(m["latency_max_ms"].as_f64(), Some(ms(all.max())));
    // The one step's figures are the same histogram's.
    let home = step(&m, "home");
    for (k, q) in [
        ("latency_p50_ms", 0.5),
        ("latency_p99_ms", 0.99),
        ("latency_max_ms", 1.0),
    ] {
        assert_eq!(home[k].as_f64(), Some(ms(all.value_at_quantile(q))), "{k}");
    }
    let h = common::histogram(home["latency_histogram"].as_str().unwrap());
    assert_eq!(h.len(), all.len());
    assert_eq!(h.mean(), all.mean());
    // The timelines line up: one total row per second, the shards' added.
    let totals: Vec<&Value> = m["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["step"].is_null())
        .collect();
    let seconds: Vec<u64> = totals.iter().map(|r| num(r, "second")).collect();
    assert_eq!(seconds, (0..seconds.len() as u64).collect::<Vec<_>>());
    assert_eq!(totals.iter().map(|r| num(r, "requests")).sum::<u64>(), 60);
    assert_eq!(num(totals[0], "active_users"), 6);
}

#[test]
fn an_incomplete_set_of_shards_is_refused_by_name() {
    let t = target();
    let dir = scratch("merge-missing");
    let file = dir.join("s.yaml");
    std::fs::write(
        &file,
        scenario(
            "scenario:\n  id: missing\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n",
            &t,
        ),
    )
    .unwrap();
    let whole = dir.join("whole.json");
    let out = Command::new(bin())
        .arg("run")
        .arg(&file)
        .args(["--quiet", "--out"])
        .arg(&whole)
        .output()
        .unwrap();
    assert!(out.status.success());
    let report = |shard: &str| {
        let text = std::fs::read_to_string(&whole)
            .unwrap()
            .replace("\"shard\": null", &format!("\"shard\": \"{shard}\""));
        let path = dir.join(format!("r-{}.json", shard.replace('/', "-")));
        std::fs::write(&path, text).unwrap();
        path
    };
    let (a, c) = (report("0/3"), report("2/3"));
    let out = merge(&[a.clone(), c], &dir.join("m.json"), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim(), "error: merge: shard 1/3 missing");
    let out = merge(&[a.clone(), a], &dir.join("m.json"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is also"));
    assert!(
        !dir.join("m.json").exists(),
        "nothing is written on bad input"
    );
}
