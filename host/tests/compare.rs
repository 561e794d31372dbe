//! scheduler-host: `compare`: two real reports side by side, and `--fail-if`
//! gating with its exit codes.

use test_kit as common;

use common::host::{bin, ok, run, scratch};
use common::{scenario, target};
use serde_json::Value;
use std::process::{Command, Output};

fn compare(dir: &std::path::Path, base: &Value, new: &Value, limits: &[&str]) -> Output {
    let (b, n) = (dir.join("base.json"), dir.join("new.json"));
    std::fs::write(&b, base.to_string()).unwrap();
    std::fs::write(&n, new.to_string()).unwrap();
    let mut cmd = Command::new(bin());
    cmd.arg("compare").arg(&b).arg(&n);
    for l in limits {
        cmd.args(["--fail-if", l]);
    }
    cmd.output().unwrap()
}

#[test]
fn compare_reads_real_reports_and_gates_on_limits_with_exit_99() {
    let t = target();
    let dir = scratch("compare");
    let yaml = scenario(
        "scenario:\n  id: cmp\n  load: {total_users: 2, test_duration: 1s}\n  workflow:\n    - {id: home, type: http, think_time: 10ms, params: {url: 'http://{http}/'}}\n    - {id: missing, type: http, think_time: 10ms, params: {url: 'http://{http}/status/404'}}\n",
        &t,
    );
    let (out, base) = run(&dir, &yaml, &[]);
    ok(&out);
    let base = base.unwrap();
    let limits = ["p95 > +50%", "errors > +1pp", "rps < -20%"];

    // A report against itself: every figure unchanged, every limit passed, exit 0.
    let same = compare(&dir, &base, &base, &limits);
    assert_eq!(same.status.code(), Some(0), "{same:?}");
    let text = String::from_utf8_lossy(&same.stdout);
    assert!(
        text.contains("home (http)") && text.contains("missing (http)"),
        "{text}"
    );
    assert!(text.contains("ok: no change passes a limit"), "{text}");

    // The same run made slower and failing: p95 ×2 for `home`, 10% errors in total.
    let mut worse = base.clone();
    let p95 = base["steps"][0]["latency_p95_ms"].as_f64().unwrap();
    worse["steps"][0]["latency_p95_ms"] = (p95 * 2.0).into();
    let total = base["total_requests"].as_u64().unwrap();
    let failed = base["failed"].as_u64().unwrap();
    worse["failed"] = (failed + total / 10).into();
    let out = compare(&dir, &base, &worse, &limits);
    assert_eq!(out.status.code(), Some(99), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let fails: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(fails.len(), 2, "{text}");
    assert!(fails[0].starts_with("FAIL total: errors"), "{text}");
    assert!(fails[1].starts_with("FAIL home (http): p95"), "{text}");
    assert!(fails[1].contains("(+100.00%)"), "{text}");
}

#[test]
fn compare_rejects_bad_input_with_exit_2_and_one_line() {
    let dir = scratch("compare-bad");
    let not_a_report = serde_json::json!({"hello": 1});
    let out = compare(&dir, &not_a_report, &not_a_report, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("base.json: not a scheduler-host report"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let out = compare(&dir, &not_a_report, &not_a_report, &["p95 > 10"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no unit"));
    let missing = Command::new(bin())
        .args(["compare", "/nonexistent/base.json", "/nonexistent/new.json"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("report /nonexistent/base.json"));
}
