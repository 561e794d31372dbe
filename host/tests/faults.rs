//! scheduler-host: Faults are counted by kind and isolated: resets, denied egress, traps, runaway guests.

use test_kit as common;

use common::host::{line_ping, ok, run, scratch};
use common::{num, scenario, target};
use std::time::{Duration, Instant};

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
fn a_trapping_action_is_counted_and_the_run_goes_on() {
    let t = target();
    let dir = scratch("trap");
    let yaml = scenario(
        "scenario:\n  id: trap\n  load: {total_users: 2, test_duration: 2s, seed: 1}\n  workflow:\n    - {type: line-ping, weight: 1, params: {server: '{tcp}', fault: panic}}\n    - {type: http, weight: 3, think_time: 20ms, params: {url: 'http://{http}/'}}\n",
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
        "scenario:\n  id: spin\n  load: {total_users: 1, test_duration: 3s}\n  workflow:\n    - {type: line-ping, timeout: 200ms, params: {server: '{tcp}', fault: spin}}\n",
        &t,
    );
    let plug = format!("line-ping={}", line_ping().display());
    let began = Instant::now();
    let (out, r) = run(&dir, &yaml, &["--action", &plug]);
    ok(&out);
    assert!(began.elapsed() < Duration::from_secs(15));
    let r = r.unwrap();
    // Budget: the 200ms step timeout + a 500ms margin, so at least 2 interrupts in 3s.
    let e = &r["errors"]["trap"];
    assert!(e["count"].as_u64().unwrap() >= 2, "{r:#}");
    assert!(
        e["samples"][0].as_str().unwrap().contains("interrupted"),
        "{r:#}"
    );
    assert_eq!(r["steps"][0]["failed"], e["count"], "{r:#}");
}
