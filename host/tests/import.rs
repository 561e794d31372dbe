//! `scheduler-host import`: a recorded session (HAR 1.2, as Chromium's
//! DevTools writes it) becomes a scenario that runs against the live
//! service, whose tokens differ from the recording's: the shop in test code
//! issues a fresh token at each login and a fresh CSRF value per cart, and
//! counts what it authorized.

use serde_json::{Value, json};
use test_kit::host::{cli as host, ok, scratch};
use test_kit::shop;

fn entry(at: &str, ms: f64, request: Value, status: u16, response: Value) -> Value {
    json!({
        "startedDateTime": at,
        "time": ms,
        "request": request,
        "response": {"status": status, "statusText": "", "httpVersion": "HTTP/1.1",
                     "cookies": [], "headersSize": -1, "bodySize": -1, "redirectURL": "",
                     "headers": response["headers"], "content": response["content"]},
        "cache": {},
        "timings": {"send": 0, "wait": ms, "receive": 0}
    })
}

fn h(pairs: &[(&str, &str)]) -> Value {
    pairs
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect()
}

/// A login, a cart, an order, recorded against the shop with the tokens of
/// that day; plus a logo (static) and a call to another origin.
fn recording(shop: &str) -> Value {
    let get = |url: String, headers: Value| {
        json!({"method": "GET", "url": url, "httpVersion": "HTTP/1.1", "headers": headers,
               "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0})
    };
    let post = |url: String, headers: Value, mime: &str, text: &str| {
        json!({"method": "POST", "url": url, "httpVersion": "HTTP/1.1", "headers": headers,
               "queryString": [], "cookies": [], "headersSize": -1, "bodySize": text.len(),
               "postData": {"mimeType": mime, "text": text}})
    };
    let body = |mime: &str, text: &str| json!({"headers": [], "content": {"size": text.len(), "mimeType": mime, "text": text}});
    json!({"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
    "pages": [],
    "entries": [
        entry("2026-12-01T10:00:00.000Z", 20.0,
            post(format!("http://{shop}/login"),
                 h(&[(":authority", shop), ("X-Tenant", "t-1"), ("Content-Type", "application/json"), ("Connection", "keep-alive")]),
                 "application/json", r#"{"user": "user0", "password": "pw0"}"#),
            200,
            json!({"headers": h(&[("Set-Cookie", "session=s-user0; Path=/"), ("Content-Type", "application/json")]),
                   "content": {"size": 60, "mimeType": "application/json",
                               "text": r#"{"status": "ok", "auth": {"token": "tok-user0-41"}}"#}})),
        entry("2026-12-01T10:00:01.020Z", 5.0,
            get(format!("http://{shop}/logo.png"), h(&[])), 200, body("image/png", "")),
        entry("2026-12-01T10:00:01.520Z", 30.0,
            get(format!("http://{shop}/cart?user=user0"),
                h(&[("X-Tenant", "t-1"), ("Authorization", "Bearer tok-user0-41"), ("Cookie", "session=s-user0"), ("If-None-Match", "\"abc\"")])),
            200,
            body("text/html", "<html><form><input type=\"hidden\" name=\"csrf\" value=\"c12x41\"><li id=\"item-7\">tea</li></form></html>")),
        entry("2026-12-01T10:00:01.600Z", 10.0,
            get("https://cdn.other.test/app.js".into(), h(&[])), 200, body("application/javascript", "")),
        entry("2026-12-01T10:00:02.050Z", 15.0,
            post(format!("http://{shop}/order"),
                 h(&[("X-Tenant", "t-1"), ("Authorization", "Bearer tok-user0-41"), ("Content-Type", "application/x-www-form-urlencoded")]),
                 "application/x-www-form-urlencoded", "csrf=c12x41&item=7"),
            200, body("application/json", r#"{"status": "ok", "items": [{"id": 7}]}"#)),
    ]}})
}

#[test]
fn an_imported_session_runs_against_the_live_service_with_fresh_tokens() {
    let shop = shop::start(1);
    let dir = scratch("import");
    let a = shop.addr.to_string();
    std::fs::write(dir.join("session.har"), recording(&a).to_string()).unwrap();
    let out = host(
        &dir,
        &[
            "import",
            "session.har",
            "--host",
            &a,
            "--skip-static",
            "-o",
            "shop.yaml",
        ],
    );
    ok(&out);
    let told = String::from_utf8_lossy(&out.stderr);
    assert!(told.contains("imported 3 requests"), "{told}");
    assert!(
        told.contains(&format!("{a}: 4")) && told.contains("cdn.other.test: 1"),
        "{told}"
    );
    let yaml = std::fs::read_to_string(dir.join("shop.yaml")).unwrap();
    // The recording's values are gone from the requests, extracted instead.
    assert!(yaml.contains("token: {json: \"/auth/token\"}"), "{yaml}");
    assert!(yaml.contains("\"Bearer ${token}\""), "{yaml}");
    assert!(yaml.contains("\"csrf\": \"${csrf}\""), "{yaml}");
    assert!(
        yaml.contains(
            "recorded \"tok-user0-41\" in JSON /auth/token; sent by get_cart, post_order"
        ),
        "{yaml}"
    );
    assert!(
        !yaml.contains("If-None-Match") && !yaml.contains("Cookie") && !yaml.contains(":authority"),
        "{yaml}"
    );
    assert!(
        !yaml.contains("logo.png") && !yaml.contains("app.js"),
        "{yaml}"
    );
    // The recorded gaps: login's end to the cart (the skipped logo between
    // them is part of the user's pause), the cart's end to the order.
    assert!(
        yaml.contains("think_time: 1500ms") && yaml.contains("think_time: 500ms"),
        "{yaml}"
    );
    ok(&host(&dir, &["validate", "shop.yaml"]));
    let out = host(&dir, &["run", "shop.yaml", "--quiet", "--out", "r.json"]);
    ok(&out);
    let r: Value = serde_json::from_slice(&std::fs::read(dir.join("r.json")).unwrap()).unwrap();
    assert_eq!(r["failed"], 0, "{r:#}");
    let l = shop.ledger.lock().unwrap();
    // The shop's own account: a fresh login, and the cart and the order
    // authorized with what that login and that cart handed out.
    assert_eq!(l.logins.len(), 1);
    assert_eq!((l.carts_ok, l.carts_refused), (1, 0));
    assert_eq!((l.orders_ok, l.orders_refused), (1, 0));
    assert_eq!(l.wrong_tenant, 0);
}

#[test]
fn a_file_that_is_not_har_or_leaves_nothing_is_exit_2_in_one_line() {
    let dir = scratch("import-bad");
    std::fs::write(dir.join("notes.har"), "this is not json").unwrap();
    std::fs::write(dir.join("empty.har"), recording("127.0.0.1:9").to_string()).unwrap();
    for (args, needle) in [
        (
            vec!["import", "notes.har"],
            "notes.har: not a HAR 1.2 file: expected ident at line 1 column 2",
        ),
        (vec!["import", "missing.har"], "missing.har: cannot read it"),
        (
            vec!["import", "empty.har", "--host", "nowhere.test"],
            "no requests left to import (origins in the recording: 127.0.0.1:9 (4), cdn.other.test (1))",
        ),
    ] {
        let out = host(&dir, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
    }
}
