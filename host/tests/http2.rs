//! HTTP/2 against servers not written here (nginx with `http2`) and one in
//! test code (`h2`'s server): what the servers counted is compared with the
//! report's `http_versions`.

use test_kit as common;

use common::h2server::H2Server;
use common::host::{ok, run, scratch};
use common::nginx::Nginx;
use common::step;

/// nginx over TLS with `http2`, and a second one speaking h2c (HTTP/2 on
/// plain TCP). The same steps, as written for HTTP/1.1, go over HTTP/2 by
/// ALPN, over h2c when asked, and over HTTP/1.1 when a step says so.
#[test]
fn nginx_logs_http2_for_every_request_the_report_counts_as_http2() {
    let dir = scratch("http2-nginx");
    let locations = r#"
    location = /post { return 200 "posted [$http_content_length]\n"; }
    location = /who { return 200 "[$server_protocol]\n"; }
"#;
    let secure = Nginx::h2_tls(&dir, &dir.join("nginx-tls"), locations);
    let plain = Nginx::listening(&dir.join("nginx-h2c"), "http2", locations);
    // 300 KB: more than HTTP/2's default 64 KiB window, so the client's
    // WINDOW_UPDATEs are what let it arrive.
    let big = vec![b'x'; 300_000];
    secure.file("big.bin", &big);
    let (s, p) = (secure.addr, plain.addr);
    let steps = format!(
        "    - {{id: alpn, type: http, params: {{url: \"https://{s}/who\", expect_body: \"[HTTP/2.0]\"}}}}\n    - {{id: post, type: http, params: {{method: POST, url: \"https://{s}/post\", body: \"twelve bytes\", expect_body: \"posted [12]\"}}}}\n    - {{id: big, type: http, params: {{url: \"https://{s}/big.bin\"}}}}\n    - {{id: one, type: http, params: {{url: \"https://{s}/who\", http_version: \"1.1\", expect_body: \"[HTTP/1.1]\"}}}}\n    - {{id: h2c, type: http, params: {{url: \"http://{p}/who\", http_version: 2, expect_body: \"[HTTP/2.0]\"}}}}\n"
    );
    let yaml = common::workflow("h2", "  tls:\n    ca_file: ca.pem\n", 2, 3, &steps);
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = report.unwrap();
    assert_eq!(r["failed"], 0, "{r:#}");
    assert_eq!(r["http_versions"]["HTTP/2"], 24, "{r:#}");
    assert_eq!(r["http_versions"]["HTTP/1.1"], 6, "{r:#}");
    assert_eq!(step(&r, "alpn")["http_versions"]["HTTP/2"], 6);
    assert_eq!(step(&r, "one")["http_versions"]["HTTP/1.1"], 6);
    assert_eq!(step(&r, "h2c")["http_versions"]["HTTP/2"], 6);
    assert!(step(&r, "big")["bytes_received"].as_u64().unwrap() >= 6 * 300_000);
    // nginx's own logs: one line per request, by version.
    let (a, b) = (secure.log(), plain.log());
    let count = |log: &[String], v: &str| {
        log.iter()
            .filter(|l| l.ends_with(&format!("{v}\"")))
            .count()
    };
    assert_eq!(
        count(&a, "HTTP/2.0") + count(&b, "HTTP/2.0"),
        24,
        "{a:#?}\n{b:#?}"
    );
    assert_eq!(count(&a, "HTTP/1.1"), 6, "{a:#?}");
    assert_eq!(a.len() + b.len(), 30);
    assert!(a.iter().chain(&b).all(|l| l.starts_with("200 ")), "{a:#?}");
    // Each user's HTTP/2 requests to an origin share one connection: a
    // handshake per user for h2 (and one for the HTTP/1.1 step's own).
    let handshakes: u64 = ["alpn", "post", "big", "one"]
        .iter()
        .map(|id| step(&r, id)["tls"]["handshakes"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(handshakes, 4, "{r:#}");
}

/// An h2 server in test code: each user's requests are streams of one
/// connection (the server counts connections and requests on each).
#[test]
fn a_users_requests_are_streams_of_one_connection() {
    let dir = scratch("http2-streams");
    let server = H2Server::start(None);
    let a = server.addr;
    let steps = format!(
        "    - {{id: one, type: http, params: {{url: \"http://{a}/one\", expect_body: \"hello h2\"}}}}\n    - {{id: two, type: http, params: {{url: \"http://{a}/two\"}}}}\n"
    );
    let yaml = common::workflow("streams", "  http_version: \"2\"\n", 3, 5, &steps);
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = report.unwrap();
    assert_eq!(r["failed"], 0, "{r:#}");
    assert_eq!(r["http_versions"]["HTTP/2"], 30, "{r:#}");
    assert_eq!(server.requests(), 30);
    assert_eq!(server.connections(), 3, "one connection per user");
    assert_eq!(server.most_on_one_connection(), 10);
}

/// A server that recycles connections (GOAWAY after 3 requests each): the
/// requests it refused are sent again on a fresh connection, none fails,
/// and the server answered exactly what the report counts.
#[test]
fn goaway_mid_run_moves_requests_to_a_fresh_connection() {
    let dir = scratch("http2-goaway");
    let server = H2Server::start(Some(3));
    let a = server.addr;
    let steps = format!(
        "    - {{id: get, type: http, params: {{url: \"http://{a}/\", http_version: \"2\"}}}}\n"
    );
    let yaml = common::workflow("goaway", "", 2, 10, &steps);
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = report.unwrap();
    assert_eq!(r["failed"], 0, "{r:#}");
    assert_eq!(r["total_requests"], 20, "{r:#}");
    assert_eq!(server.requests(), 20);
    // At most 3 requests per connection: at least 4 connections per user.
    assert!(
        server.connections() >= 8,
        "{} connections",
        server.connections()
    );
    assert!(server.most_on_one_connection() <= 3);
}

/// A stream the server resets fails its step as `stream-reset`, counted
/// once per reset the server made; the connection carries on.
#[test]
fn a_reset_stream_fails_its_step_and_the_connection_goes_on() {
    let dir = scratch("http2-reset");
    let server = H2Server::start(None);
    let a = server.addr;
    let steps = format!(
        "    - {{id: before, type: http, params: {{url: \"http://{a}/\"}}}}\n    - {{id: reset, type: http, params: {{url: \"http://{a}/reset\"}}}}\n    - {{id: after, type: http, params: {{url: \"http://{a}/\"}}}}\n"
    );
    let yaml = common::workflow("reset", "  http_version: 2\n", 2, 3, &steps);
    let (out, report) = run(&dir, &yaml, &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r = report.unwrap();
    assert_eq!(server.resets(), 6);
    assert_eq!(r["errors"]["stream-reset"]["count"], 6, "{r:#}");
    assert_eq!(r["failed"], 6, "{r:#}");
    assert_eq!(step(&r, "after")["failed"], 0);
    let message = r["errors"]["stream-reset"]["samples"][0].as_str().unwrap();
    assert!(
        message.contains("reset the stream (INTERNAL_ERROR)"),
        "{message}"
    );
    assert_eq!(server.connections(), 2, "the reset closed no connection");
}

/// One-line mode speaks HTTP/2 with `--http2` (oha's flag): h2c on http://.
#[test]
fn one_line_mode_speaks_http2_with_the_flag() {
    let dir = scratch("http2-one-line");
    let server = H2Server::start(None);
    let url = format!("http://{}/", server.addr);
    let out = common::host::cli(
        &dir,
        &[
            "run", &url, "--http2", "-u", "2", "-i", "3", "--quiet", "--out", "r.json",
        ],
    );
    ok(&out);
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("r.json")).unwrap()).unwrap();
    assert_eq!(r["http_versions"]["HTTP/2"], 6, "{r:#}");
    assert_eq!(server.requests(), 6);
    assert_eq!(server.connections(), 2);
}

/// Stock wasmtime (plain mode) speaks HTTP/2 with the same component: the
/// h2 server counts the requests the report counts, on one connection per
/// user.
#[test]
fn stock_wasmtime_speaks_http2_too() {
    let server = H2Server::start(None);
    let a = server.addr;
    let yaml = format!(
        "scenario:\n  id: plain-h2\n  http_version: \"2\"\n  load: {{total_users: 2, iterations: 5}}\n  workflow:\n    - {{id: get, type: http, params: {{url: \"http://{a}/\", expect_body: \"hello h2\"}}}}\n"
    );
    let out = std::process::Command::new("wasmtime")
        .args(["run", "-S", "inherit-network"])
        .arg(common::wasm())
        .args(["--invoke", "run-scenario"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(yaml.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    ok(&out);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(r["failed"], 0, "{r:#}");
    assert_eq!(r["http_versions"]["HTTP/2"], 10, "{r:#}");
    assert_eq!(server.requests(), 10);
    assert_eq!(server.connections(), 2);
}

/// A stream the server never answers times out at the step's timeout
/// (`timeout`, not a hang); the user's next request goes on the same
/// connection and is answered.
#[test]
fn an_unanswered_stream_times_out_and_the_connection_goes_on() {
    let dir = scratch("http2-hang");
    let server = H2Server::start(None);
    let a = server.addr;
    let steps = format!(
        "    - {{id: hang, type: http, timeout: 300ms, params: {{url: \"http://{a}/hang\"}}}}\n    - {{id: after, type: http, params: {{url: \"http://{a}/\", expect_body: \"hello h2\"}}}}\n"
    );
    let yaml = common::workflow("hang", "  http_version: \"2\"\n", 2, 2, &steps);
    let started = std::time::Instant::now();
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = report.unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(step(&r, "hang")["errors"]["timeout"]["count"], 4, "{r:#}");
    assert_eq!(step(&r, "after")["failed"], 0, "{r:#}");
    assert_eq!(server.requests(), 8);
    assert_eq!(
        server.connections(),
        2,
        "a timed-out stream closed no connection"
    );
}
