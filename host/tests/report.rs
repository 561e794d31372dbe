//! scheduler-host: The report: its schema, and what an interrupted run still writes.

use test_kit as common;

use common::host::{bin, ok, run, scratch};
use common::{num, scenario, target};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn the_report_matches_its_schema() {
    let t = target();
    let dir = scratch("schema");
    let yaml = scenario(
        "scenario:\n  id: schema\n  load: {total_users: 3, test_duration: 1500ms, ip_pool: [127.0.0.2]}\n  workflow:\n    - {type: http, think_time: 10ms, params: {url: 'http://{http}/status/404'}}\n    - {type: udp, params: {target: '{udp}', payload: x}}\n",
        &t,
    );
    let (out, r) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = r.unwrap();
    common::schema::check(&r);
    assert!(!r["timeline"].as_array().unwrap().is_empty());
    assert_eq!(r["status_codes"]["404"], r["steps"][0]["total_requests"]);
    // The schema does reject a broken report, and an error kind that does not exist.
    let mut broken = r.clone();
    broken["total_requests"] = Value::String("many".into());
    assert!(!common::schema::valid(&broken));
    let mut typo = r.clone();
    typo["errors"]["conect-refused"] = serde_json::json!({"count": 1, "samples": []});
    assert!(!common::schema::valid(&typo));
}

#[test]
fn the_schemas_error_kinds_are_the_enum_the_code_uses() {
    let schema: Value = serde_json::from_str(include_str!("../report.schema.json")).unwrap();
    let listed: Vec<&str> =
        schema["$defs"]["metrics"]["properties"]["errors"]["propertyNames"]["enum"]
            .as_array()
            .expect("an enum of error kinds")
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
    let ours: Vec<&str> = contract::ErrorKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(listed, ours);
}

#[test]
fn sigint_stops_the_run_and_writes_a_valid_partial_report() {
    let t = target();
    let dir = scratch("sigint");
    let file = dir.join("s.yaml");
    std::fs::write(
        &file,
        scenario(
            "scenario:\n  id: sig\n  load: {total_users: 4, test_duration: 60s}\n  workflow:\n    - {type: http, think_time: 50ms, params: {url: 'http://{http}/'}}\n",
            &t,
        ),
    )
    .unwrap();
    let report = dir.join("report.json");
    let began = Instant::now();
    let mut child = Command::new(bin())
        .arg("run")
        .arg(&file)
        .arg("--quiet")
        .arg("--out")
        .arg(&report)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "did not stop after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["interrupted"], true);
    assert!(r["duration_seconds"].as_f64().unwrap() < 10.0);
    let n = num(&r, "total_requests");
    assert!(n > 20, "{n}");
    assert_eq!(
        n,
        t.http_seen.requests(),
        "every request sent is in the report"
    );
    common::schema::check(&r);
}
