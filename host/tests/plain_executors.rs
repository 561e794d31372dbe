//! Plain mode (stock wasmtime, one instance, one thread, every user's step
//! in flight at once): arrival rates with the drop rule, thresholds exiting
//! 99, and what it refuses.

use test_kit as common;

use common::host::scratch;
use common::plain_file;
use common::timed::{Behaviour, Timed};
use serde_json::Value;
use std::time::Duration;

#[test]
fn plain_mode_runs_an_arrival_rate_and_exits_99_on_a_failed_threshold() {
    let server = Timed::start(Behaviour::default());
    let d = scratch("plain-rate");
    let yaml = format!(
        "scenarios:\n  api:\n    executor: constant-arrival-rate\n    rate: 50\n    duration: 1s\n    pre_allocated_vus: 2\n    max_vus: 5\n    workflow: [{{type: http, params: {{url: 'http://{}/'}}}}]\n  each:\n    executor: per-vu-iterations\n    vus: 2\n    iterations: 3\n    workflow: [{{type: http, params: {{url: 'http://{}/each'}}}}]\nthresholds:\n  'iterations{{scenario:api}}': ['count==50']\n  'iterations{{scenario:each}}': ['count>6']\n",
        server.addr, server.addr
    );
    std::fs::write(d.join("s.yaml"), yaml).unwrap();
    let out = plain_file(&d, "s.yaml");
    assert_eq!(
        out.status.code(),
        Some(99),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(server.count("/"), 50);
    assert_eq!(server.count("/each"), 6);
    let t = r["thresholds"].as_array().unwrap();
    assert_eq!(
        (t[0]["ok"].as_bool(), t[0]["value"].as_f64()),
        (Some(true), Some(50.0))
    );
    assert_eq!(
        (t[1]["ok"].as_bool(), t[1]["value"].as_f64()),
        (Some(false), Some(6.0))
    );
    assert_eq!(r["dropped_iterations"], 0);
}

#[test]
fn plain_mode_keeps_many_steps_in_flight_and_drops_arrivals_when_every_user_waits() {
    // Every answer waits during the first second of every two. The one
    // instance has every user's step in flight at once: a stall holds up
    // only the users waiting on it, so during a stall the pool's 10 users
    // are busy and the other arrivals find no free user: dropped, never
    // started late. Every arrival is either a request or a drop.
    let server = Timed::start(Behaviour {
        stall: Some((Duration::from_secs(1), Duration::from_secs(2))),
        ..Behaviour::default()
    });
    let d = scratch("plain-stall");
    let yaml = format!(
        "scenarios:\n  api:\n    executor: constant-arrival-rate\n    rate: 100\n    duration: 4s\n    pre_allocated_vus: 5\n    max_vus: 10\n    workflow: [{{type: http, params: {{url: 'http://{}/'}}}}]\n",
        server.addr
    );
    std::fs::write(d.join("s.yaml"), yaml).unwrap();
    let out = plain_file(&d, "s.yaml");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let requests = r["total_requests"].as_u64().unwrap();
    let dropped = r["dropped_iterations"].as_u64().unwrap();
    assert_eq!(requests, server.hits().len() as u64);
    assert_eq!(
        requests + dropped,
        400,
        "{requests} requests, {dropped} dropped"
    );
    // Two stalls of about 90 arrivals beyond the 10 busy users each.
    assert!((120..=200).contains(&dropped), "dropped {dropped}");
    // Nothing waited on the loop: latency is the service time.
    let latency_p50 = r["latency_p50_ms"].as_f64().unwrap();
    let service_p50 = r["service_time_p50_ms"].as_f64().unwrap();
    assert!(
        (latency_p50 - service_p50).abs() < 5.0,
        "latency p50 {latency_p50}, service time p50 {service_p50}"
    );
}

#[test]
fn plain_mode_refuses_abort_on_fail_naming_it() {
    let d = scratch("plain-abort");
    std::fs::write(
        d.join("s.yaml"),
        "scenarios:\n  api:\n    executor: constant-vus\n    duration: 1s\n    workflow: [{type: http, params: {url: 'http://127.0.0.1:9/'}}]\nthresholds:\n  'latency:abort': {threshold: 'p(99)<10', abort_on_fail: true}\n",
    )
    .unwrap();
    let out = plain_file(&d, "s.yaml");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("thresholds.latency:abort: abort_on_fail"),
        "{err}"
    );
}
