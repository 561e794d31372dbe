//! scheduler-host against real loopback servers.

mod common;

use common::host::{bin, line_ping, run, run_under, scratch};
use common::{invoke, num, scenario, target};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sources(list: &[(&str, u64)]) -> BTreeMap<IpAddr, u64> {
    list.iter()
        .map(|(ip, n)| (ip.parse().unwrap(), *n))
        .collect()
}

#[test]
fn n_users_make_n_connections() {
    let t = target();
    let dir = scratch("n-users");
    let yaml = scenario(
        "scenario:\n  id: n\n  load: {total_users: 20, iterations: 5}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n",
        &t,
    );
    let (out, r) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = r.unwrap();
    assert_eq!(num(&r, "total_requests"), 100);
    assert_eq!(num(&r, "successful"), 100);
    assert_eq!(t.http_seen.requests(), 100);
    // One instance per user, each with its own kept-alive connection.
    assert_eq!(t.http_seen.connections(), 20);
}

#[test]
fn each_pool_address_is_used_by_exactly_its_users() {
    let t = target();
    let dir = scratch("pool");
    let yaml = scenario(
        "scenario:\n  id: pool\n  load: {total_users: 8, iterations: 3, ip_pool: [127.0.0.2-127.0.0.5]}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n    - {type: tcp, params: {target: '{tcp}', payload: \"x\\n\", expect: x}}\n",
        &t,
    );
    let (out, r) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = r.unwrap();
    // Users n and n+4 share 127.0.0.(2 + n mod 4): 2 users × 3 iterations each.
    let want = sources(&[
        ("127.0.0.2", 6),
        ("127.0.0.3", 6),
        ("127.0.0.4", 6),
        ("127.0.0.5", 6),
    ]);
    assert_eq!(t.http_seen.by_source(), want);
    assert_eq!(t.tcp_seen.by_source(), want);
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"] {
        assert_eq!(r["source_ips"][ip], 12, "{r:#}");
    }
    assert_eq!(t.http_seen.connections(), 8);
}

#[test]
fn an_ipv6_pool_binds_its_users_to_ipv6_sources() {
    let t = scheduler_host::loopback::LoopbackTarget::start("::1".parse().unwrap(), 0, 0, 0)
        .expect("an IPv6 loopback target");
    let dir = scratch("pool-v6");
    let yaml = scenario(
        "scenario:\n  id: v6\n  load: {total_users: 3, iterations: 2, ip_pool: ['::1']}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n    - {type: tcp, params: {target: '{tcp}', payload: \"x\\n\", expect: x}}\n    - {type: udp, params: {target: '{udp}', payload: ping, expect: ping}}\n",
        &t,
    );
    let (out, r) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = r.unwrap();
    assert_eq!(num(&r, "failed"), 0, "{:#}", r["errors"]);
    let want = sources(&[("::1", 6)]);
    assert_eq!(t.http_seen.by_source(), want);
    assert_eq!(t.tcp_seen.by_source(), want);
    assert_eq!(t.udp_seen.by_source(), want);
    assert_eq!(r["source_ips"]["::1"], 18, "{r:#}");
}

/// Accepts `n` connections and resets each once the client has sent:
/// closing with unread data makes Linux answer with RST, not FIN.
fn resetting_server(n: usize) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(n) {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = std::io::Read::read(&mut conn, &mut [0u8; 1]);
        }
    });
    addr
}

#[test]
fn a_reset_connection_is_counted_as_connection_reset() {
    let http = resetting_server(4);
    let tcp = resetting_server(4);
    let dir = scratch("reset");
    let yaml = format!(
        "scenario:\n  id: reset\n  load: {{total_users: 2, iterations: 2}}\n  workflow:\n    - {{type: http, params: {{url: 'http://{http}/'}}}}\n    - {{type: tcp, params: {{target: '{tcp}', payload: \"hello there\\n\", expect: hello}}}}\n"
    );
    let (out, r) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = r.unwrap();
    assert_eq!(
        r["errors"]["connection-reset"]["count"], 8,
        "{:#}",
        r["errors"]
    );
    assert_eq!(num(&r, "failed"), 8);
    assert_eq!(r["steps"][0]["failed"], 4);
    assert_eq!(r["steps"][1]["failed"], 4);
}

#[test]
fn denied_egress_is_reported_and_never_reached() {
    let t = target();
    let dir = scratch("deny");
    let yaml = scenario(
        "scenario:\n  id: deny\n  load: {total_users: 2, iterations: 4}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n    - {type: tcp, params: {target: '{tcp}', payload: x}}\n",
        &t,
    );
    let (out, r) = run(&dir, &yaml, &["--deny", &t.tcp.to_string()]);
    ok(&out);
    let r = r.unwrap();
    assert_eq!(r["errors"]["egress-denied"]["count"], 8, "{r:#}");
    assert_eq!(r["steps"][0]["successful"], 8);
    assert_eq!(
        t.tcp_seen.connections(),
        0,
        "the denied address was reached"
    );
    assert_eq!(t.http_seen.requests(), 8);
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

const LINE_PING: &str = "scenario:\n  id: lp\n  load: {total_users: 3, iterations: 4}\n  workflow:\n    - {type: line-ping, params: {target: '{tcp}', line: hello}}\n";

#[test]
fn third_party_action_plugs_in_with_the_action_flag() {
    let t = target();
    let dir = scratch("lp-flag");
    let plug = format!("line-ping={}", line_ping().display());
    let (out, r) = run(&dir, &scenario(LINE_PING, &t), &["--action", &plug]);
    ok(&out);
    let r = r.unwrap();
    assert_eq!(num(&r, "successful"), 12, "{r:#}");
    assert_eq!(r["steps"][0]["type"], "line-ping");
    assert_eq!(t.tcp_seen.requests(), 12);
    // Without the plug, the same scenario is rejected before any load.
    let (out, _) = run(&dir, &scenario(LINE_PING, &t), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown step type \"line-ping\""));
    assert_eq!(t.tcp_seen.requests(), 12);
}

#[test]
fn third_party_action_plugs_in_from_the_yaml() {
    let t = target();
    let dir = scratch("lp-yaml");
    let yaml = format!(
        "{}  components:\n    line-ping: {}\n",
        scenario(LINE_PING, &t),
        line_ping().display()
    );
    let (out, r) = run(&dir, &yaml, &[]);
    ok(&out);
    assert_eq!(num(&r.unwrap(), "successful"), 12);
}

#[test]
fn third_party_action_plugs_in_with_wac_for_stock_wasmtime() {
    let t = target();
    let dir = scratch("lp-wac");
    let out_wasm = dir.join("with-line-ping.wasm");
    let mut wac = Command::new("wac");
    wac.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(["compose", "compositions/scheduler-with-extension.wac", "-o"])
        .arg(&out_wasm)
        .args(["--deps-dir", scheduler_host::parts::DIR]);
    wac.arg("--dep")
        .arg(format!("component:extension={}", line_ping().display()));
    let st = wac.status().unwrap();
    assert!(st.success());
    let r = common::invoke_file(&out_wasm, &scenario(LINE_PING, &t)).unwrap();
    assert_eq!(num(&r, "successful"), 12, "{r:#}");
}

#[test]
fn a_trapping_action_is_counted_and_the_run_goes_on() {
    let t = target();
    let dir = scratch("trap");
    let yaml = scenario(
        "scenario:\n  id: trap\n  load: {total_users: 2, test_duration: 2s, seed: 1}\n  workflow:\n    - {type: line-ping, weight: 1, params: {target: '{tcp}', fault: panic}}\n    - {type: http, weight: 3, think_time: 20ms, params: {url: 'http://{http}/'}}\n",
        &t,
    );
    let plug = format!("line-ping={}", line_ping().display());
    let (out, r) = run(&dir, &yaml, &["--action", &plug]);
    ok(&out);
    let r = r.unwrap();
    let traps = r["errors"]["trap"]["count"].as_u64().unwrap_or(0);
    assert!(traps >= 2, "{r:#}");
    assert!(
        r["errors"]["trap"]["samples"][0]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{r:#}"
    );
    // Counted against the step that was running (the line-ping step).
    assert_eq!(r["steps"][0]["failed"], traps, "{r:#}");
    assert_eq!(r["steps"][0]["successful"], 0, "{r:#}");
    assert_eq!(r["steps"][1]["failed"], 0, "{r:#}");
    let http_ok = r["steps"][1]["successful"].as_u64().unwrap();
    assert!(
        http_ok > traps,
        "users went on after traps: {http_ok} http ok, {traps} traps"
    );
    assert_eq!(http_ok, t.http_seen.requests());
}

#[test]
fn a_runaway_guest_is_interrupted_after_the_step_timeout() {
    let t = target();
    let dir = scratch("spin");
    let yaml = scenario(
        "scenario:\n  id: spin\n  load: {total_users: 1, test_duration: 3s}\n  workflow:\n    - {type: line-ping, timeout: 200ms, params: {target: '{tcp}', fault: spin}}\n",
        &t,
    );
    let plug = format!("line-ping={}", line_ping().display());
    let began = Instant::now();
    let (out, r) = run(&dir, &yaml, &["--action", &plug]);
    ok(&out);
    assert!(began.elapsed() < Duration::from_secs(15));
    let r = r.unwrap();
    // Budget: 200ms step timeout + 1s slack, so 2 interrupts in 3s.
    let e = &r["errors"]["trap"];
    assert!(e["count"].as_u64().unwrap() >= 2, "{r:#}");
    assert!(
        e["samples"][0].as_str().unwrap().contains("interrupted"),
        "{r:#}"
    );
    assert_eq!(r["steps"][0]["failed"], e["count"], "{r:#}");
}

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
    assert!(r["timeline"].as_array().unwrap().len() >= 1);
    assert_eq!(r["status_codes"]["404"], r["steps"][0]["total_requests"]);
    // The schema does reject a broken report.
    let mut broken = r.clone();
    broken["total_requests"] = Value::String("many".into());
    assert!(!common::schema::valid(&broken));
}

#[test]
fn a_thousand_users_run() {
    let t = target();
    let dir = scratch("thousand");
    let yaml = scenario(
        "scenario:\n  id: k\n  load: {total_users: 1000, iterations: 2, ramp_duration: 1s}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n",
        &t,
    );
    let (out, r) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = r.unwrap();
    assert_eq!(num(&r, "total_requests"), 2000);
    assert_eq!(num(&r, "failed"), 0, "{:#}", r["errors"]);
    assert_eq!(t.http_seen.requests(), 2000);
    assert_eq!(t.http_seen.connections(), 1000);
    // Every instance is created in the init phase, before the clock starts.
    assert!(
        r["instances_ready_seconds"].as_f64().unwrap() > 0.0,
        "{r:#}"
    );
}

#[test]
fn the_init_phase_is_not_part_of_the_measured_duration() {
    let t = target();
    let dir = scratch("init-phase");
    let yaml = scenario(
        "scenario:\n  id: init\n  load: {total_users: 500, test_duration: 1s}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}, think_time: 200ms}\n",
        &t,
    );
    let began = Instant::now();
    let (out, r) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = r.unwrap();
    let init = r["instances_ready_seconds"].as_f64().unwrap();
    let measured = r["duration_seconds"].as_f64().unwrap();
    // The run lasts its test_duration (plus in-flight steps), whatever the
    // init phase took; both together fit in the wall time.
    assert!((1.0..1.5).contains(&measured), "{measured} s");
    assert!(init > 0.0 && init + measured <= began.elapsed().as_secs_f64());
    // Every user ran at least its first step.
    assert_eq!(num(&r, "failed"), 0, "{:#}", r["errors"]);
    assert!(num(&r, "total_requests") >= 500, "{r:#}");
}

#[test]
fn host_and_plain_wasmtime_agree_on_counts() {
    let yaml_for = |t: &scheduler_host::loopback::LoopbackTarget| {
        scenario(
            "scenario:\n  id: parity\n  load: {total_users: 1, iterations: 5}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n    - {type: http, params: {url: 'http://{http}/status/404'}}\n    - {type: tcp, params: {target: '{tcp}', payload: \"a\\n\", expect: a}}\n    - {type: udp, params: {target: '{udp}', payload: b, expect: c}}\n",
            t,
        )
    };
    let t1 = target();
    let plain = invoke(&yaml_for(&t1)).unwrap();
    let t2 = target();
    let (out, host) = run(&scratch("parity"), &yaml_for(&t2), &[]);
    ok(&out);
    let host = host.unwrap();
    for key in [
        "total_requests",
        "successful",
        "failed",
        "iterations",
        "status_codes",
    ] {
        assert_eq!(plain[key], host[key], "{key}");
    }
    let kinds = |r: &Value| {
        r["errors"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v["count"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(kinds(&plain), kinds(&host));
    assert_eq!(num(&host, "failed"), 10, "404s and udp expect mismatches");
}

#[test]
fn bad_input_is_one_line_and_exit_2_before_any_load() {
    let t = target();
    let dir = scratch("bad");
    let good = scenario(
        "scenario:\n  id: b\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n",
        &t,
    );
    let lp = line_ping().display().to_string();
    let core_libs = format!("{}/component/core-libs.wasm", scheduler_host::parts::DIR);
    let cases: Vec<(String, Vec<String>, &str)> = vec![
        (
            good.replace("url: 'http://", "nourl: 'http://"),
            vec![],
            "unknown field `nourl`",
        ),
        (
            good.replace("type: http", "type: ftp"),
            vec![],
            "unknown step type \"ftp\"",
        ),
        (
            good.replace("iterations: 1}", "iterations: 1, ip_pool: [192.0.2.7]}"),
            vec![],
            "192.0.2.7 is not an address of this machine",
        ),
        (
            good.clone(),
            vec!["--action".into(), "Bad Slot=x.wasm".into()],
            "unknown action slot",
        ),
        (
            good.clone(),
            vec!["--action".into(), format!("http={lp}")],
            "does not fit the http slot",
        ),
        (
            good.clone(),
            vec!["--action".into(), format!("tcp={core_libs}")],
            "does not export scheduler:actions/tcp@0.2.0",
        ),
        (
            good.clone(),
            vec!["--action".into(), "udp=/nonexistent/u.wasm".into()],
            "cannot read /nonexistent/u.wasm",
        ),
        (
            good.clone(),
            vec!["--component".into(), "/nonexistent/c.wasm".into()],
            "cannot read component",
        ),
        (
            good.clone(),
            vec!["--deny".into(), "not-an-ip".into()],
            "--deny",
        ),
        (
            good.replace("total_users: 1", "total_users: 0"),
            vec![],
            "total_users",
        ),
    ];
    for (yaml, args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (out, report) = run(&dir, &yaml, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{needle}: {err}");
        assert!(err.contains(needle), "{err:?} lacks {needle:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(
            err.starts_with("error: ") && !err.contains("panicked"),
            "{err}"
        );
        assert!(report.is_none(), "{needle}: a report was written");
    }
    let missing = Command::new(bin())
        .args(["run", "/nonexistent/s.yaml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("cannot read scenario file /nonexistent/s.yaml")
    );
    assert_eq!(
        t.http_seen.requests(),
        0,
        "no load before the input was valid"
    );
}

/// Inside a fresh network namespace (only a downed loopback) a lookup
/// fails at once and no query leaves the machine.
#[test]
fn a_target_that_does_not_resolve_is_exit_2_before_any_load() {
    let dir = scratch("no-dns");
    let yaml = "scenario:\n  id: dns\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {type: http, params: {url: 'http://no-such-host.invalid/'}}\n";
    let (out, report) = run_under(&["unshare", "--net"], &dir, yaml, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("unshare:"),
        "unshare failed (needs root or user namespaces): {stderr}"
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("target no-such-host.invalid:80 does not resolve"),
        "{stderr}"
    );
    assert!(report.is_none(), "no load, no report");
}

#[test]
fn validate_prints_the_plan() {
    let t = target();
    let dir = scratch("validate");
    let file = dir.join("v.yaml");
    std::fs::write(&file, scenario("scenario:\n  id: v\n  load: {total_users: 7, test_duration: 1m, ip_pool: [127.0.0.2]}\n  workflow:\n    - {id: home, type: http, params: {url: 'http://{http}/'}}\n", &t)).unwrap();
    let out = Command::new(bin())
        .arg("validate")
        .arg(&file)
        .output()
        .unwrap();
    ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "users:      7",
        "127.0.0.2",
        "home (http",
        &t.http.to_string(),
        "is valid",
    ] {
        assert!(text.contains(needle), "{text} lacks {needle}");
    }
    std::fs::write(&file, "scenario: [").unwrap();
    let out = Command::new(bin())
        .arg("validate")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
