//! `run --har FILE --har-user N`: the trace is valid HAR 1.2 (the
//! vendored schema), it holds exactly the requests the server saw from
//! that user's source address, in order, as they were sent, and headless
//! Chromium reads it. With a `seed`, two runs trace the same requests.

use test_kit as common;

use common::host::{ok, run, scratch};
use common::timed::{Behaviour, Timed};
use serde_json::Value;
use std::path::Path;

/// 2 users from 127.0.0.2 and 127.0.0.3, three kinds of request (with
/// `weights`, each iteration is one weighted pick of them).
fn scenario(addr: &str, extra: &str, iterations: u32, weights: [&str; 3]) -> String {
    let [w1, w2, w3] = weights;
    let steps = format!(
        "    - {{id: get, type: http,{w1} params: {{url: \"http://{addr}/a?x=1&vu=${{vu}}\", headers: {{X-Trace: yes}}}}}}\n    - {{id: post, type: http,{w2} params: {{method: POST, url: \"http://{addr}/b\", json: {{n: \"${{iteration}}\"}}}}}}\n    - {{id: pick, type: http,{w3} params: {{url: \"http://{addr}/c/${{random_int(1,1000)}}\"}}}}\n"
    );
    format!(
        "scenario:\n  id: har\n  load:\n    total_users: 2\n    iterations: {iterations}\n    ip_pool: [127.0.0.2, 127.0.0.3]\n{extra}  workflow:\n{steps}"
    )
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn entries(har: &Value) -> &Vec<Value> {
    har["log"]["entries"].as_array().unwrap()
}

#[test]
fn a_users_har_trace_is_what_the_server_saw_from_it_and_valid_har() {
    let dir = scratch("har");
    let server = Timed::start(Behaviour::default());
    let yaml = scenario(&server.addr.to_string(), "", 3, ["", "", ""]);
    let har = dir.join("user1.har");
    let path = har.to_str().unwrap();
    let (out, report) = run(&dir, &yaml, &["--har", path, "--har-user", "1"]);
    ok(&out);
    assert_eq!(report.unwrap()["failed"], 0);
    let doc = read(&har);
    assert_eq!(common::har::problems(&doc), Vec::<String>::new());
    // User 1 sends from the pool's second address: exactly its requests.
    let hits: Vec<_> = server
        .hits()
        .into_iter()
        .filter(|h| h.peer.ip().to_string() == "127.0.0.3")
        .collect();
    let e = entries(&doc);
    assert_eq!(hits.len(), 9);
    assert_eq!(e.len(), hits.len(), "{doc:#}");
    for (entry, hit) in e.iter().zip(&hits) {
        let req = &entry["request"];
        assert_eq!(req["method"], hit.method);
        let url = req["url"].as_str().unwrap();
        assert!(url.ends_with(&hit.path), "{url} vs {}", hit.path);
        let body = req["postData"]["text"].as_str().unwrap_or("");
        assert_eq!(body.as_bytes(), hit.body.as_slice());
        // The headers as sent: the step's and the client's own.
        let names: Vec<&str> = req["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap())
            .collect();
        for (name, _) in &hit.headers {
            assert!(
                names.iter().any(|n| n.eq_ignore_ascii_case(name)),
                "{name} not in {names:?}"
            );
        }
        assert_eq!(entry["response"]["status"], 200);
        assert_eq!(entry["serverIPAddress"], "127.0.0.1");
        for phase in ["send", "wait", "receive"] {
            assert!(entry["timings"][phase].as_f64().unwrap() >= 0.0);
        }
    }
    assert_eq!(e[0]["request"]["queryString"][1]["value"], "1", "vu=1");
    let posted = &e[1]["request"]["postData"];
    assert_eq!(posted["mimeType"], "application/json");
    assert_eq!(posted["text"], "{\"n\":\"0\"}");
    // One kept-alive connection, made by the first request.
    let connections: std::collections::BTreeSet<&str> = e
        .iter()
        .map(|x| x["connection"].as_str().unwrap())
        .collect();
    assert_eq!(connections.len(), 1);
    assert!(e[0]["timings"]["connect"].as_f64().unwrap() >= 0.0);
    assert_eq!(e[1]["timings"]["connect"], -1.0);
    // Entries in the order the requests started.
    let times: Vec<&str> = e
        .iter()
        .map(|x| x["startedDateTime"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    chromium_reads(&dir, &doc, e.len());
    // A user the scenario does not have is bad input.
    std::fs::write(dir.join("s.yaml"), &yaml).unwrap();
    let out = common::host::cli(
        &dir,
        &["run", "s.yaml", "--har", "x.har", "--har-user", "2"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--har-user 2: the scenario has 2 users (0 to 1)"),
        "{err}"
    );
}

/// Headless Chromium parses the file as DevTools' HAR import does: JSON,
/// each entry's start a date and its URL a URL (the page says so).
fn chromium_reads(dir: &Path, har: &Value, n: usize) {
    let page = dir.join("har.html");
    let script = r#"
const log = HAR.log;
const ok = log.version === "1.2" && log.entries.every(e =>
  !isNaN(new Date(e.startedDateTime)) && new URL(e.request.url).protocol === "http:" &&
  typeof e.response.status === "number" && e.timings.wait >= 0);
document.body.textContent = ok ? "HAR OK " + log.entries.length : "HAR BAD";
"#;
    let html = format!("<!doctype html><body><script>const HAR = {har};\n{script}</script></body>");
    std::fs::write(&page, html).unwrap();
    let dom = common::chromium::dom(&page);
    assert!(dom.contains(&format!("HAR OK {n}")), "{dom}");
}

/// What a trace says user 1 sent: (method, URL, body) per request.
fn sent(dir: &Path, name: &str, yaml: &str) -> Vec<(String, String, String)> {
    let path = dir.join(name);
    let (out, _) = run(
        dir,
        yaml,
        &["--har", path.to_str().unwrap(), "--har-user", "1"],
    );
    ok(&out);
    entries(&read(&path))
        .iter()
        .map(|e| {
            let r = &e["request"];
            (
                r["method"].as_str().unwrap().to_string(),
                r["url"].as_str().unwrap().to_string(),
                r["postData"]["text"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// A seed makes every random choice a user makes reproducible (weighted
/// picks, `random_int`): two runs, the same trace; another seed, another.
#[test]
fn the_same_seed_gives_a_user_the_same_requests_in_its_har_trace() {
    let dir = scratch("har-seed");
    let server = Timed::start(Behaviour::default());
    let a = server.addr.to_string();
    // Weighted: each iteration is one step, drawn by weight.
    let weights = [" weight: 2,", " weight: 1,", " weight: 3,"];
    let yaml = scenario(&a, "    seed: 7\n", 6, weights);
    let first = sent(&dir, "a.har", &yaml);
    let second = sent(&dir, "b.har", &yaml);
    assert_eq!(first.len(), 6, "{first:?}");
    assert_eq!(first, second);
    let other = sent(&dir, "c.har", &yaml.replace("seed: 7", "seed: 8"));
    assert_ne!(first, other);
}

/// Each redirect followed is an entry of its own, with its status and
/// where it pointed; the entries' URLs follow the chain.
#[test]
fn a_redirect_chain_is_one_entry_per_request() {
    let dir = scratch("har-redirects");
    let web = common::web::Web::plain();
    let steps = format!(
        "    - {{id: hop, type: http, params: {{url: \"http://{}/redirect/2\"}}}}\n",
        web.addr
    );
    let har = dir.join("r.har");
    let yaml = common::workflow("redirects", "", 1, 1, &steps);
    let (out, _) = run(&dir, &yaml, &["--har", har.to_str().unwrap()]);
    ok(&out);
    let doc = read(&har);
    assert_eq!(common::har::problems(&doc), Vec::<String>::new());
    let e = entries(&doc);
    assert_eq!(e.len() as u64, web.seen.requests(), "{doc:#}");
    let statuses: Vec<u64> = e
        .iter()
        .map(|x| x["response"]["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [302, 302, 200]);
    let urls: Vec<&str> = e
        .iter()
        .map(|x| x["request"]["url"].as_str().unwrap())
        .collect();
    for (i, url) in urls.iter().enumerate() {
        assert!(url.ends_with(&format!("/redirect/{}", 2 - i)), "{urls:?}");
    }
    assert_eq!(e[0]["response"]["redirectURL"], "/redirect/1");
    assert_eq!(e[2]["response"]["content"]["text"], "arrived");
}

/// With shards, the shard that runs the user writes the trace; the other
/// says so and writes none.
#[test]
fn only_the_shard_that_runs_the_user_writes_its_trace() {
    let dir = scratch("har-shards");
    let server = Timed::start(Behaviour::default());
    let yaml = scenario(&server.addr.to_string(), "", 2, ["", "", ""]);
    let (other, mine) = (dir.join("other.har"), dir.join("mine.har"));
    let args = |path: &Path, shard: &'static str| {
        vec![
            "--har".to_string(),
            path.to_str().unwrap().to_string(),
            "--har-user".into(),
            "1".into(),
            "--shard".into(),
            shard.into(),
        ]
    };
    let a = args(&other, "0/2");
    let (out, _) = run(
        &dir,
        &yaml,
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("user 1 runs in another shard"), "{err}");
    assert!(!other.exists());
    let b = args(&mine, "1/2");
    let (out, _) = run(
        &dir,
        &yaml,
        &b.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    ok(&out);
    let from_user_1 = server
        .hits()
        .iter()
        .filter(|h| h.peer.ip().to_string() == "127.0.0.3")
        .count();
    assert_eq!(from_user_1, 6);
    assert_eq!(entries(&read(&mine)).len(), from_user_1);
}
