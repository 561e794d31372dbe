//! scheduler-final.wasm in stock `wasmtime run` against real loopback
//! servers: the report must agree with what the servers saw.

use test_kit as common;

use common::{invoke, num, plain_file, scenario, target, wasm};
use std::process::Command;

const HTTP: &str = r#"
scenario:
  id: count
  load: { total_users: 3, iterations: 10 }
  workflow:
    - id: get
      type: http
      params: { url: "http://{http}/", expect_body: "hello world" }
      assert_status: 200
"#;

#[test]
fn server_count_equals_reported_total_requests() {
    let t = target();
    let r = invoke(&scenario(HTTP, &t)).unwrap();
    assert_eq!(num(&r, "total_requests"), 30);
    assert_eq!(
        num(&r, "total_requests"),
        t.http_seen.requests(),
        "report vs server"
    );
    assert_eq!(num(&r, "successful"), 30, "{r:#}");
    assert_eq!(num(&r, "iterations"), 30);
    assert_eq!(r["status_codes"]["200"], 30);
    for key in [
        "latency_p50_ms",
        "latency_p95_ms",
        "latency_p99_ms",
        "latency_max_ms",
        "throughput_rps",
        "duration_seconds",
    ] {
        assert!(r[key].as_f64().unwrap() > 0.0, "{key} in {r:#}");
    }
    assert_eq!(r["steps"][0]["id"], "get");
    assert_eq!(r["steps"][0]["total_requests"], 30);
    // One kept-alive connection per user (as in k6 and scheduler-host):
    // the three users' steps are in flight together, none shares another's.
    assert_eq!(t.http_seen.connections(), 3, "keep-alive reuse");
}

#[test]
fn pool_addresses_are_the_sources_the_server_sees() {
    let t = target();
    let yaml = scenario(
        r#"
scenario:
  id: pool
  load: { total_users: 4, iterations: 5, ip_pool: [127.0.0.2, 127.0.0.3] }
  workflow:
    - { type: http, params: { url: "http://{http}/" } }
    - { type: tcp, params: { target: "{tcp}", payload: "hi\n", expect: "hi" } }
    - { type: udp, params: { target: "{udp}", payload: "yo", expect: "yo" } }
"#,
        &t,
    );
    let r = invoke(&yaml).unwrap();
    assert_eq!(num(&r, "failed"), 0, "{r:#}");
    // Users 0,2 → 127.0.0.2 and 1,3 → 127.0.0.3: 10 of each step from each.
    let want: std::collections::BTreeMap<std::net::IpAddr, u64> = [
        ("127.0.0.2".parse().unwrap(), 10),
        ("127.0.0.3".parse().unwrap(), 10),
    ]
    .into();
    assert_eq!(t.http_seen.by_source(), want);
    assert_eq!(t.tcp_seen.by_source(), want);
    assert_eq!(t.udp_seen.by_source(), want);
    assert_eq!(r["source_ips"]["127.0.0.2"], 30);
    assert_eq!(r["source_ips"]["127.0.0.3"], 30);
    // One kept-alive HTTP connection per user.
    assert_eq!(t.http_seen.connections(), 4);
}

#[test]
fn chunked_close_delimited_and_reconnecting_responses_parse() {
    let t = target();
    let yaml = scenario(
        r#"
scenario:
  id: framing
  load: { total_users: 1, iterations: 5 }
  workflow:
    - { id: chunked, type: http, params: { url: "http://{http}/chunked", expect_body: "hello world" } }
    - { id: close, type: http, params: { url: "http://{http}/close", expect_body: "hello" } }
    - { id: echo, type: http, params: { method: POST, url: "http://{http}/echo", body: "ping-body", expect_body: "ping-body" } }
    - { id: head, type: http, params: { method: HEAD, url: "http://{http}/" } }
"#,
        &t,
    );
    let r = invoke(&yaml).unwrap();
    assert_eq!(num(&r, "total_requests"), 20);
    assert_eq!(num(&r, "successful"), 20, "{r:#}");
    assert_eq!(t.http_seen.requests(), 20);
    // /close ends each connection: one new connection per iteration, plus
    // the first. Everything else rides on the kept-alive one.
    assert_eq!(t.http_seen.connections(), 5 + 1);
}

#[test]
fn a_kept_alive_connection_closed_by_the_server_is_replaced() {
    let t = target();
    let yaml = scenario(
        r#"
scenario:
  id: stale
  load: { total_users: 1, iterations: 3 }
  workflow:
    - { type: http, params: { url: "http://{http}/silent-close" } }
    - { type: http, think_time: 50ms, params: { url: "http://{http}/" } }
"#,
        &t,
    );
    let r = invoke(&yaml).unwrap();
    assert_eq!(num(&r, "successful"), 6, "{r:#}");
    assert_eq!(t.http_seen.requests(), 6, "a retried request is sent once");
    // The second step of each iteration finds its connection dead and reconnects.
    assert_eq!(t.http_seen.connections(), 4);
}

#[test]
fn failures_are_counted_by_kind_never_traps() {
    let t = target();
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    }; // dropped: nothing listens there now
    let yaml = scenario(
        &format!(
            r#"
scenario:
  id: faults
  load: {{ total_users: 1, iterations: 2 }}
  workflow:
    - {{ id: refused, type: http, params: {{ url: "http://{refused}/" }} }}
    - {{ id: garbage, type: http, params: {{ url: "http://{{http}}/garbage" }} }}
    - {{ id: status, type: http, params: {{ url: "http://{{http}}/status/503" }} }}
    - {{ id: tls, type: http, params: {{ url: "https://{{http}}/" }} }}
    - {{ id: tcp-refused, type: tcp, params: {{ target: "{refused}", payload: x }} }}
    - {{ id: mismatch, type: tcp, params: {{ target: "{{tcp}}", payload: "abc", read_bytes: 3, expect: "xyz" }} }}
    - {{ id: slow, type: http, timeout: 200ms, params: {{ url: "http://{{http}}/delay/2000" }} }}
    - {{ id: ok, type: http, params: {{ url: "http://{{http}}/" }} }}
"#
        ),
        &t,
    );
    let r = invoke(&yaml).unwrap();
    assert_eq!(num(&r, "total_requests"), 16);
    assert_eq!(num(&r, "successful"), 2, "{r:#}");
    let kind = |step: usize| {
        let e = r["steps"][step]["errors"].as_object().unwrap();
        assert_eq!(e.len(), 1, "step {step}: {e:?}");
        let (k, v) = e.iter().next().unwrap();
        assert_eq!(v["count"], 2);
        assert!(!v["samples"][0].as_str().unwrap().is_empty());
        k.clone()
    };
    assert_eq!(kind(0), "connect-refused");
    assert_eq!(kind(1), "protocol");
    assert_eq!(kind(2), "check-failed");
    // https:// to a plain-HTTP server: the handshake fails, and says so.
    assert_eq!(kind(3), "tls");
    let why = r["steps"][3]["errors"]["tls"]["samples"][0]
        .as_str()
        .unwrap();
    assert!(why.contains("handshake failure"), "{why}");
    assert_eq!(kind(4), "connect-refused");
    assert_eq!(kind(5), "check-failed");
    assert_eq!(kind(6), "timeout");
    assert_eq!(r["status_codes"]["503"], 2);
    assert_eq!(r["errors"]["connect-refused"]["count"], 4);
}

#[test]
fn bad_scenarios_return_err_naming_the_field() {
    let base = "scenario:\n  id: x\n  load: {total_users: 1, iterations: 1}\n  workflow:\n";
    let cases = [
        ("scenario:\n  id: x\n   load: 1\n".to_string(), "line 3"),
        (format!("{base}    - {{type: ftp}}\n"), "unknown step type \"ftp\""),
        (format!("{base}    - {{type: http, params: {{method: GET}}}}\n"), "missing field `url`"),
        (format!("{base}    - {{type: http, think_time: 5y, params: {{url: 'http://127.0.0.1:1/'}}}}\n"), "invalid duration \"5y\""),
        ("scenario:\n  id: x\n  load: {total_users: 1, iterations: 1, ip_pool: [1.2.3]}\n  workflow:\n    - {type: udp, params: {target: '127.0.0.1:9'}}\n".into(), "1.2.3"),
        ("scenario:\n  id: x\n  load: {total_users: 1, iterations: 1}\n  workflow: []\n".into(), "scenario.workflow"),
        ("scenario:\n  id: x\n  load: {total_users: -2, iterations: 1}\n  workflow: []\n".into(), "total_users"),
        ("scenario:\n  id: x\n  load: {total_users: 0, iterations: 1}\n  workflow: []\n".into(), "total_users"),
        // Locality is checked when the run starts: 192.0.2.0/24 is TEST-NET, never local.
        ("scenario:\n  id: x\n  load: {total_users: 1, iterations: 1, ip_pool: [192.0.2.7]}\n  workflow:\n    - {type: udp, params: {target: '127.0.0.1:9'}}\n".into(), "192.0.2.7 cannot be a source address"),
    ];
    for (yaml, needle) in cases {
        let err = invoke(&yaml).expect_err(&yaml);
        assert!(err.contains(needle), "{err:?} lacks {needle:?}");
        assert!(!err.contains('\n'), "one line: {err:?}");
    }
}

#[test]
fn cli_run_export_reads_a_scenario_file() {
    let t = target();
    let dir = std::env::temp_dir().join(format!("plain-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("s.yaml"), scenario(HTTP, &t)).unwrap();
    let out = plain_file(&dir, "s.yaml");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(num(&r, "total_requests"), t.http_seen.requests());

    std::fs::write(dir.join("bad.yaml"), "scenario: [").unwrap();
    let out = plain_file(&dir, "bad.yaml");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("bad.yaml") && err.contains("line 1"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ramp_and_think_time_pace_the_users() {
    let t = target();
    // 2 users, 1.2s: user 1 starts at 0.5s; each sends every ~300ms.
    let yaml = scenario(
        r#"
scenario:
  id: pace
  load: { total_users: 2, ramp_duration: 1s, test_duration: 1200ms }
  workflow:
    - { type: http, think_time: 300ms, params: { url: "http://{http}/" } }
"#,
        &t,
    );
    let r = invoke(&yaml).unwrap();
    let n = num(&r, "total_requests");
    // user 0: t=0,0.3,0.6,0.9 (4); user 1: t=0.5,0.8,1.1 (3) → 7, ±1 for timing.
    assert!((6..=8).contains(&n), "{n} requests");
    assert_eq!(n, t.http_seen.requests());
    let secs = r["duration_seconds"].as_f64().unwrap();
    assert!((1.0..1.6).contains(&secs), "{secs}s");
}

/// `wasmtime run [-S inherit-network] scheduler-final.wasm ARGS…` with
/// `stdin` as its standard input.
fn wasmtime_cli(network: bool, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut cmd = Command::new("wasmtime");
    cmd.arg("run");
    if network {
        cmd.args(["-S", "inherit-network"]);
    }
    let mut child = cmd
        .arg(wasm())
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn the_mission_command_line_reads_the_scenario_from_stdin() {
    // wasmtime run -S inherit-network scheduler-final.wasm --invoke run-scenario < scenario.yaml
    let t = target();
    let out = wasmtime_cli(true, &["--invoke", "run-scenario"], &scenario(HTTP, &t));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(num(&r, "total_requests"), 30);
    assert_eq!(num(&r, "total_requests"), t.http_seen.requests());
}

#[test]
fn the_older_command_line_takes_the_scenario_as_an_argument() {
    // wasmtime run -S inherit-network scheduler-final.wasm --invoke 'run-scenario' -- "$(cat scenario.yaml)"
    let t = target();
    let yaml = scenario(HTTP, &t);
    let out = wasmtime_cli(true, &["--invoke", "run-scenario", "--", &yaml], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(num(&r, "successful"), 30);
    assert_eq!(t.http_seen.requests(), 30);
}

#[test]
fn without_inherit_network_the_error_says_to_add_it() {
    let t = target();
    let out = wasmtime_cli(false, &["--invoke", "run-scenario"], &scenario(HTTP, &t));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("-S inherit-network"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty());
    assert_eq!(t.http_seen.requests(), 0);
}

#[test]
fn a_timed_run_lasts_its_test_duration() {
    // Users think past the end: the run still lasts test_duration, as in
    // scheduler-host, not until the last step happened to end.
    let t = target();
    let yaml = scenario(
        "scenario:\n  id: d\n  load: { total_users: 2, test_duration: 2s }\n  workflow:\n    - { type: http, think_time: 700ms, params: { url: \"http://{http}/\" } }\n",
        &t,
    );
    let r = invoke(&yaml).unwrap();
    let secs = r["duration_seconds"].as_f64().unwrap();
    assert!((2.0..2.2).contains(&secs), "{secs} s");
    // Each user sends at 0, 0.7 and 1.4 s.
    assert_eq!(num(&r, "total_requests"), 6);
    assert_eq!(t.http_seen.requests(), 6);
}

#[test]
fn plain_mode_ends_an_endless_body_at_the_step_timeout() {
    // The actions enforce the whole-step deadline and stream bodies, so one
    // instance holds the same line as scheduler-host.
    let endless = common::hostile::Hostile::start(common::hostile::Mode::EndlessChunked);
    let flood = common::hostile::Hostile::start(common::hostile::Mode::TcpFlood);
    let yaml = format!(
        "scenario:\n  id: endless\n  load: {{ total_users: 1, iterations: 2 }}\n  workflow:\n    - {{ type: http, timeout: 300ms, params: {{ url: \"http://{}/\", expect_body: x }} }}\n    - {{ type: tcp, timeout: 2s, params: {{ target: \"{}\", payload: \"hi\\n\", read_until: \"\\n\" }} }}\n",
        endless.addr, flood.addr
    );
    let began = std::time::Instant::now();
    let r = invoke(&yaml).unwrap();
    assert!(began.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(r["steps"][0]["errors"]["timeout"]["count"], 2, "{r:#}");
    assert!(
        r["steps"][0]["latency_max_ms"].as_f64().unwrap() < 900.0,
        "{r:#}"
    );
    assert_eq!(r["steps"][1]["errors"]["protocol"]["count"], 2, "{r:#}");
}
