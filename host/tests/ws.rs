//! ws steps against a WebSocket server in test code (tokio-tungstenite):
//! what the server counted (upgrades, messages, pings, close frames,
//! headers, source addresses) is compared with the report's `ws` figures,
//! and hostile servers (silent, a 16 MiB message, a dropped connection)
//! fail their steps by kind while the run goes on.

use test_kit as common;

use common::host::{ok, run, scratch};
use common::step;
use common::ws::WsServer;

/// A ws step `id` on `url` with `messages` (flow-style lines) and `rest`
/// (step-level lines).
fn ws_step(id: &str, url: &str, params: &str, messages: &[&str], rest: &str) -> String {
    let list: String = messages
        .iter()
        .map(|m| format!("          - {m}\n"))
        .collect();
    format!(
        "    - id: {id}\n      type: ws\n      params:\n        url: {url}\n{params}        messages:\n{list}{rest}"
    )
}

/// Templates in url, headers and messages; an echo with its expect, a
/// binary message, a burst received, a wait, a ping and the closing
/// handshake; extraction from a received message: the server's counts are
/// the report's.
#[test]
fn the_servers_counts_of_a_websocket_session_equal_the_reports() {
    let dir = scratch("ws-echo");
    let server = WsServer::start(false);
    let a = server.addr;
    let steps = [
        ws_step(
            "chat",
            &format!("ws://{a}/chat?room=r${{vu}}"),
            "        headers: {Authorization: \"Bearer t${vu}\"}\n        subprotocols: [chat.v1, chat.v0]\n",
            &[
                "{send: \"hello ${vu}-${iteration}\", expect: \"hello ${vu}-${iteration}\"}",
                "{send_binary: \"00ff10\", expect: {regex: \"^\\\\x00\"}}",
                "{send: \"burst 5\"}",
                "{receive: 5, timeout: 2s}",
                "{send: '{\"type\":\"ack\",\"n\":3}', expect: {json: {/type: ack, /n: 3}}}",
                "{wait: 100ms}",
                "{ping: true}",
            ],
            "      extract: {room: {json: /room}}\n",
        ),
        ws_step(
            "again",
            &format!("ws://{a}/echo"),
            "",
            &["{send: \"room ${room}\", expect: \"room r${vu}\"}", "{close: 1001}"],
            "",
        ),
    ]
    .concat();
    let yaml = common::workflow("ws", "", 2, 3, &steps);
    let page = dir.join("report.html");
    let (out, report) = run(&dir, &yaml, &["--html", page.to_str().unwrap()]);
    ok(&out);
    let r = report.unwrap();
    assert_eq!(r["failed"], 0, "{r:#}");
    let seen = server.seen();
    // 2 users × 3 iterations × 2 sessions.
    assert_eq!(seen.upgrades, 12, "{seen:?}");
    // chat: 4 data messages sent per session, again: 1.
    assert_eq!(seen.messages, 6 * 4 + 6, "{seen:?}");
    assert_eq!(seen.binary, 6);
    assert_eq!(seen.pings, 6);
    assert_eq!(seen.closes.get(&1000), Some(&6), "{seen:?}");
    assert_eq!(seen.closes.get(&1001), Some(&6), "{seen:?}");
    assert_eq!(seen.authorizations.get("Bearer t0"), Some(&3));
    assert_eq!(seen.authorizations.get("Bearer t1"), Some(&3));
    assert_eq!(seen.offered.get("chat.v1, chat.v0"), Some(&6));
    let ws = &r["ws"];
    assert_eq!(ws["sessions"], seen.upgrades, "{r:#}");
    assert_eq!(ws["messages_sent"], seen.messages);
    // Received: chat: welcome, echo, binary echo, 5 ticks, ack echo = 9;
    // again: 1.
    assert_eq!(ws["messages_received"], 6 * 9 + 6);
    // Round trips: chat's 3 expects and its ping, again's expect.
    assert_eq!(ws["round_trips"], 6 * 4 + 6);
    assert_eq!(ws["closes"]["1000"], 6);
    assert_eq!(ws["closes"]["1001"], 6);
    let chat = step(&r, "chat");
    assert_eq!(chat["ws"]["sessions"], 6);
    assert_eq!(chat["status_codes"]["101"], 6);
    assert!(
        chat["ws"]["handshake"]["p95_ms"].as_f64().unwrap() > 0.0,
        "{chat:#}"
    );
    assert!(chat["ws"]["round_trip"]["max_ms"].as_f64().unwrap() > 0.0);
    // Checks: chat's action check (its expects) and again's.
    assert_eq!(r["checks_passed"], 12);
    assert_eq!(seen.sources.values().sum::<u64>(), 12);
    // The HTML report's table holds the same figures.
    let html = std::fs::read_to_string(&page).unwrap();
    let table = html.find("<table id=\"ws\">").expect("a ws table");
    let row = table
        + html[table..]
            .find("data-row=\"chat (ws)\"")
            .expect("a row for chat");
    let cell = |field: &str| {
        let key = format!("data-field=\"{field}\">");
        let at = row + html[row..].find(&key).unwrap() + key.len();
        html[at..].split('<').next().unwrap().to_string()
    };
    assert_eq!(cell("sessions"), "6");
    assert_eq!(cell("received"), (6 * 9).to_string());
    assert_eq!(cell("round_trips"), (6 * 4).to_string());
    assert_eq!(
        cell("p95"),
        format!(
            "{:.3}",
            chat["ws"]["round_trip"]["p95_ms"].as_f64().unwrap()
        )
    );
    assert_eq!(cell("closes"), "1000: 6");
}

/// The same session's figures as thresholds: each verdict's value is the
/// report's own figure.
#[test]
fn thresholds_name_the_websocket_figures() {
    let dir = scratch("ws-thresholds");
    let server = WsServer::start(false);
    let steps = ws_step(
        "chat",
        &format!("ws://{}/echo", server.addr),
        "",
        &[
            "{send: a, expect: a}",
            "{send: \"burst 3\"}",
            "{receive: 3}",
            "{ping: true}",
        ],
        "",
    );
    let yaml = format!(
        "{}thresholds:\n  ws_round_trip{{step:chat}}: ['p(95)<5000']\n  ws_messages_received: ['count==16']\n  ws_messages_sent: ['count==8']\n  ws_handshake: ['max<5000']\n",
        common::workflow("ws-th", "", 2, 2, &steps)
    );
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = report.unwrap();
    let seen = server.seen();
    assert_eq!(seen.messages, 8, "{seen:?}");
    let verdict = |metric: &str| {
        r["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["metric"] == metric)
            .unwrap_or_else(|| panic!("no verdict for {metric}: {r:#}"))
            .clone()
    };
    let rt = verdict("ws_round_trip{step:chat}");
    assert_eq!(rt["ok"], true, "{rt:#}");
    assert_eq!(rt["value"], step(&r, "chat")["ws"]["round_trip"]["p95_ms"]);
    assert_eq!(verdict("ws_messages_received")["value"], 16.0);
    assert_eq!(verdict("ws_messages_sent")["value"], seen.messages as f64);
    assert_eq!(
        verdict("ws_handshake")["value"],
        r["ws"]["handshake"]["max_ms"]
    );
    assert!(
        r["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["ok"] == true)
    );
}

/// wss:// through core-libs' TLS with the scenario's CA: one handshake per
/// session, and the server's counts are the report's.
#[test]
fn wss_uses_the_scenarios_ca() {
    let dir = scratch("ws-tls");
    let server = WsServer::start(true);
    std::fs::write(dir.join("ca.pem"), server.ca_pem.as_ref().unwrap()).unwrap();
    let steps = ws_step(
        "secure",
        &format!("wss://{}/echo", server.addr),
        "",
        &["{send: \"over tls\", expect: \"over tls\"}"],
        "",
    );
    let yaml = common::workflow("ws-tls", "  tls: {ca_file: ca.pem}\n", 2, 2, &steps);
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = report.unwrap();
    assert_eq!(r["failed"], 0, "{r:#}");
    let seen = server.seen();
    assert_eq!(seen.upgrades, 4);
    assert_eq!(seen.messages, 4);
    assert_eq!(seen.closes.get(&1000), Some(&4));
    assert_eq!(r["tls"]["handshakes"], 4, "{r:#}");
    assert_eq!(r["ws"]["sessions"], 4);
    assert_eq!(r["ws"]["closes"]["1000"], 4);
}

/// A server that stops answering (timeout), one that sends 16 MiB
/// (message-too-big, refused at the frame's header), one that drops the
/// connection or closes with 1011 (closed-abnormally) and one that sends
/// text that is not UTF-8 (protocol): each fails its own step, counted by
/// kind, and the user's other steps go on. A max_message above 16 MiB
/// takes the same message.
#[test]
fn hostile_websocket_servers_fail_their_steps_by_kind() {
    let dir = scratch("ws-hostile");
    let server = WsServer::start(false);
    let a = server.addr;
    let steps = [
        ws_step(
            "silent",
            &format!("ws://{a}/silent"),
            "",
            &["{send: hi, expect: hi, timeout: 300ms}"],
            "      timeout: 3s\n",
        ),
        ws_step(
            "huge",
            &format!("ws://{a}/huge"),
            "",
            &["{send: hi, expect: hi}"],
            "",
        ),
        ws_step(
            "roomy",
            &format!("ws://{a}/huge"),
            "        max_message: 20MiB\n",
            &["{send: hi}", "{receive: 1, timeout: 5s}"],
            "",
        ),
        ws_step(
            "dropped",
            &format!("ws://{a}/drop"),
            "",
            &["{send: hi, expect: hi}"],
            "",
        ),
        ws_step(
            "badtext",
            &format!("ws://{a}/badtext"),
            "",
            &["{send: hi, expect: hi}"],
            "",
        ),
        ws_step(
            "rejected",
            &format!("ws://{a}/reject"),
            "",
            &["{send: hi, expect: hi}"],
            "",
        ),
        ws_step(
            "fine",
            &format!("ws://{a}/echo"),
            "",
            &["{send: ok, expect: ok}"],
            "",
        ),
    ]
    .concat();
    let yaml = common::workflow("ws-hostile", "", 2, 2, &steps);
    let started = std::time::Instant::now();
    let (out, report) = run(&dir, &yaml, &[]);
    let r = report.expect("a report");
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    // The silent server's expect waited its own 300 ms, not the step's 3 s.
    assert!(started.elapsed().as_secs() < 8, "{:?}", started.elapsed());
    let silent = step(&r, "silent");
    assert_eq!(silent["errors"]["timeout"]["count"], 4, "{silent:#}");
    let huge = step(&r, "huge");
    assert_eq!(huge["errors"]["message-too-big"]["count"], 4, "{huge:#}");
    let why = huge["errors"]["message-too-big"]["samples"][0]
        .as_str()
        .unwrap();
    assert!(why.contains("16777216 bytes"), "{why}");
    assert!(why.contains("1048576"), "{why}");
    // Refused at the header: far less than the message was read.
    assert!(
        huge["bytes_received"].as_u64().unwrap() < 4 * (2 << 20),
        "{huge:#}"
    );
    let roomy = step(&r, "roomy");
    assert_eq!(roomy["failed"], 0, "{roomy:#}");
    assert!(roomy["bytes_received"].as_u64().unwrap() >= 4 * (16 << 20));
    let dropped = step(&r, "dropped");
    assert_eq!(
        dropped["errors"]["closed-abnormally"]["count"], 4,
        "{dropped:#}"
    );
    // Text that is not UTF-8 fails the session and is answered with 1007,
    // which the server received.
    let badtext = step(&r, "badtext");
    assert_eq!(badtext["errors"]["protocol"]["count"], 4, "{badtext:#}");
    // The server's 1011 completed a close handshake, as an error.
    let rejected = step(&r, "rejected");
    assert_eq!(
        rejected["errors"]["closed-abnormally"]["count"], 4,
        "{rejected:#}"
    );
    let why = rejected["errors"]["closed-abnormally"]["samples"][0]
        .as_str()
        .unwrap();
    assert!(why.contains("1011") && why.contains("going wrong"), "{why}");
    assert_eq!(rejected["ws"]["closes"]["1011"], 4);
    let fine = step(&r, "fine");
    assert_eq!(fine["failed"], 0, "{fine:#}");
    assert_eq!(fine["ws"]["closes"]["1000"], 4);
    let seen = server.seen();
    assert_eq!(seen.closes.get(&1007), Some(&4), "{seen:?}");
    assert_eq!(seen.upgrades, 28, "{seen:?}");
    assert_eq!(r["ws"]["sessions"], 28);
}

/// Every executor opens sessions, including ones held longer than the
/// iteration pace (a constant-vus user holding a 1.5 s session; arrival
/// rates opening them): the server's count per scenario is the report's,
/// and none failed.
#[test]
fn every_executor_runs_websocket_sessions() {
    let dir = scratch("ws-executors");
    let server = WsServer::start(false);
    let a = server.addr;
    let session = |name: &str, wait: &str| {
        format!(
            "[{{id: {name}, type: ws, timeout: 5s, params: {{url: 'ws://{a}/echo?s={name}', messages: [{{send: x, expect: x}}, {{wait: {wait}}}, {{ping: true}}]}}}}]"
        )
    };
    let yaml = format!(
        "scenarios:
  held:
    executor: constant-vus
    vus: 2
    duration: 3s
    graceful_stop: 3s
    workflow: {}
  ramp:
    executor: ramping-vus
    stages: [{{duration: 1s, target: 2}}, {{duration: 1s, target: 0}}]
    graceful_ramp_down: 3s
    workflow: {}
  arrivals:
    executor: constant-arrival-rate
    rate: 4
    duration: 2s
    pre_allocated_vus: 4
    graceful_stop: 3s
    workflow: {}
  ramped:
    executor: ramping-arrival-rate
    stages: [{{duration: 1s, target: 4}}, {{duration: 1s, target: 4}}]
    pre_allocated_vus: 4
    graceful_stop: 3s
    workflow: {}
  each:
    executor: per-vu-iterations
    vus: 2
    iterations: 2
    workflow: {}
  shared:
    executor: shared-iterations
    vus: 2
    iterations: 3
    workflow: {}
",
        session("held", "1500ms"),
        session("ramp", "300ms"),
        session("arrivals", "500ms"),
        session("ramped", "500ms"),
        session("each", "100ms"),
        session("shared", "100ms"),
    );
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = report.unwrap();
    assert_eq!(r["failed"], 0, "{r:#}");
    let seen = server.seen();
    for name in ["held", "ramp", "arrivals", "ramped", "each", "shared"] {
        let on_server = seen
            .paths
            .get(&format!("/echo?s={name}"))
            .copied()
            .unwrap_or(0);
        let s = step(&r, name);
        assert!(on_server > 0, "{name}: {seen:?}");
        assert_eq!(s["ws"]["sessions"], on_server, "{name}: {s:#}");
        assert_eq!(s["ws"]["closes"]["1000"], on_server, "{name}");
    }
    assert_eq!(seen.paths["/echo?s=each"], 4);
    assert_eq!(seen.paths["/echo?s=shared"], 3);
    // A held session is 1.5 s: 2 users in 3 s open at most 4 of them.
    assert!(seen.paths["/echo?s=held"] <= 4, "{seen:?}");
    assert_eq!(seen.pings, r["ws"]["round_trips"].as_u64().unwrap() / 2);
}

/// Stock `wasmtime run` (plain mode) runs the same action: the server's
/// counts are the report's.
#[test]
fn stock_wasmtime_runs_a_websocket_session() {
    let server = WsServer::start(false);
    let steps = ws_step(
        "plain",
        &format!("ws://{}/chat?room=plain", server.addr),
        "",
        &[
            "{send: \"burst 4\"}",
            "{receive: 5}",
            "{send: p, expect: p}",
        ],
        "      expect_json: {/room: plain}\n",
    );
    let yaml = common::workflow("ws-plain", "", 1, 3, &steps);
    let r = common::invoke(&yaml).expect("a report");
    assert_eq!(r["failed"], 0, "{r:#}");
    let seen = server.seen();
    assert_eq!(seen.upgrades, 3);
    assert_eq!(r["ws"]["sessions"], 3, "{r:#}");
    assert_eq!(r["ws"]["messages_sent"], seen.messages);
    assert_eq!(r["ws"]["messages_received"], 3 * 6);
    assert_eq!(r["ws"]["closes"]["1000"], 3);
}

/// Bad ws params are one line naming the field, exit 2, before any load.
#[test]
fn bad_websocket_params_name_the_field() {
    let dir = scratch("ws-bad");
    let server = WsServer::start(false);
    let a = server.addr;
    let cases = [
        (
            "url: http://x/",
            "[send: a]",
            "params.url: \"http://x/\": expected ws[s]://host[:port]/path",
        ),
        ("url: 'ws://${v}/'", "[send: a]", "params.url"),
        (
            "url: ws://A/",
            "[{send: a, receive: 1}]",
            "params.messages[0]: set exactly one of send",
        ),
        (
            "url: ws://A/",
            "[{close: 1000}, {send: a}]",
            "params.messages[0]: close ends the session",
        ),
        (
            "url: ws://A/",
            "[{close: 1006}]",
            "params.messages[0].close: 1006",
        ),
        (
            "url: ws://A/",
            "[{send_binary: zz}]",
            "params.messages[0].send_binary: \"zz\" is not hex",
        ),
        (
            "url: ws://A/",
            "[{receive: 2, expect: a}]",
            "params.messages[0].expect",
        ),
        (
            "url: ws://A/",
            "[{wait: 20s}]",
            "params.messages: the waits add up to 20s",
        ),
        (
            "url: ws://A/",
            "[{send: a, expect: {regex: '('}}]",
            "params.messages[0].expect.regex",
        ),
        (
            "url: ws://A/",
            "[{send: a, bogus: 1}]",
            "params.messages[0]: unknown field `bogus`",
        ),
    ];
    for (url, messages, needle) in cases {
        let url = url.replace('A', &a.to_string());
        let yaml = format!(
            "scenario:\n  id: bad\n  load: {{total_users: 1, iterations: 1}}\n  workflow:\n    - type: ws\n      params:\n        {url}\n        messages: {messages}\n"
        );
        let (out, report) = run(&dir, &yaml, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{needle}: {err}");
        assert!(err.contains(needle), "{err:?} lacks {needle:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(report.is_none());
    }
    assert_eq!(
        server.seen().upgrades,
        0,
        "no session before the input was valid"
    );
}

/// A report merged with itself: every ws count doubles, the round-trip
/// and handshake percentiles stay (rebuilt from their histograms).
#[test]
fn merged_reports_add_up_websocket_figures() {
    let dir = scratch("ws-merge");
    let server = WsServer::start(false);
    let steps = ws_step(
        "chat",
        &format!("ws://{}/echo", server.addr),
        "",
        &["{send: a, expect: a}", "{ping: true}", "{close: 1001}"],
        "",
    );
    let (out, report) = run(&dir, &common::workflow("ws-m", "", 2, 3, &steps), &[]);
    ok(&out);
    let one = report.unwrap();
    let path = dir.join("report.json");
    let merged = dir.join("merged.json");
    let out = common::host::cli(
        &dir,
        &[
            "merge",
            path.to_str().unwrap(),
            path.to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ],
    );
    ok(&out);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&merged).unwrap()).unwrap();
    let (a, b) = (&one["ws"], &m["ws"]);
    for key in [
        "sessions",
        "messages_sent",
        "messages_received",
        "round_trips",
    ] {
        assert_eq!(
            b[key].as_u64().unwrap(),
            2 * a[key].as_u64().unwrap(),
            "{key}"
        );
    }
    assert_eq!(b["closes"]["1001"], 12);
    assert_eq!(b["round_trip"], a["round_trip"]);
    assert_eq!(b["handshake"], a["handshake"]);
    assert_eq!(step(&m, "chat")["ws"]["sessions"], 12);
}

/// A burst of 1,500 messages during a wait, more than the session keeps
/// unread (1,024): every one is counted, and the `expect` after it still
/// finds its answer among the newest.
#[test]
fn an_expect_after_a_flood_still_finds_its_answer() {
    let dir = scratch("ws-flood");
    let server = WsServer::start(false);
    let steps = ws_step(
        "flood",
        &format!("ws://{}/echo", server.addr),
        "",
        &[
            "{send: \"burst 1500\"}",
            "{wait: 500ms}",
            "{send: after, expect: after, timeout: 2s}",
            "{send: \"burst 2\"}",
            "{receive: 2, timeout: 2s}",
        ],
        "",
    );
    let (out, report) = run(&dir, &common::workflow("ws-flood", "", 2, 1, &steps), &[]);
    ok(&out);
    let r = report.unwrap();
    assert_eq!(r["failed"], 0, "{r:#}");
    assert_eq!(r["ws"]["messages_received"], 2 * 1503, "{r:#}");
    assert_eq!(r["ws"]["round_trips"], 2);
    assert_eq!(server.seen().messages, 2 * 3);
}
