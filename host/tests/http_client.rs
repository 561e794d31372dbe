//! The HTTP client as people expect it from k6, curl or Locust: redirects
//! counted hop by hop, a cookie jar per user sent in RFC 6265 order, bodies
//! checked decoded, URLs percent-encoded on the wire. The server's own
//! counts are compared with the report's.

use test_kit as common;

use common::host::{ok, run, scratch};
use common::step;
use common::web::{Seen, Web};

fn scenario(users: u32, iterations: u32, extra: &str, steps: &str) -> String {
    common::workflow("client", extra, users, iterations, steps)
}

#[test]
fn redirects_are_requests_of_their_own_and_a_loop_stops() {
    let web = Web::plain();
    let dir = scratch("redirects");
    let a = web.addr;
    let steps = format!(
        "    - {{id: chain, type: http, params: {{url: \"http://{a}/redirect/3\", expect_body: arrived}}}}\n    - {{id: loop, type: http, params: {{url: \"http://{a}/loop\", max_redirects: 4}}}}\n    - {{id: off, type: http, assert_status: 302, params: {{url: \"http://{a}/redirect/1\", max_redirects: 0}}}}\n"
    );
    let (out, report) = run(&dir, &scenario(2, 2, "", &steps), &[]);
    ok(&out);
    let r = report.unwrap();
    // 3 redirects then the 200, for 2 users × 2 iterations.
    let chain = step(&r, "chain");
    assert_eq!(chain["total_requests"], 16, "{chain:#}");
    assert_eq!(chain["status_codes"]["302"], 12);
    assert_eq!(chain["status_codes"]["200"], 4);
    assert_eq!(chain["failed"], 0);
    assert_eq!(web.seen.path("/redirect/0"), 4);
    // A loop: the first request and 4 redirects, then it stops as an error.
    let lp = step(&r, "loop");
    assert_eq!(lp["total_requests"], 20, "{lp:#}");
    assert_eq!(lp["errors"]["too-many-redirects"]["count"], 4);
    assert_eq!(web.seen.path("/loop"), 20);
    // max_redirects: 0 returns the 302 itself.
    let off = step(&r, "off");
    assert_eq!(off["successful"], 4, "{off:#}");
    // Every request the report counts, the server served.
    assert_eq!(r["total_requests"], web.seen.requests());
}

#[test]
fn each_user_sends_only_the_cookies_it_was_given() {
    let web = Web::plain();
    let dir = scratch("cookies");
    let a = web.addr;
    let steps = format!(
        "    - {{id: login, type: http, params: {{url: \"http://{a}/login\"}}}}\n    - {{id: whoami, type: http, params: {{url: \"http://{a}/whoami\", expect_body: \"session=\"}}}}\n"
    );
    let (out, report) = run(&dir, &scenario(4, 3, "", &steps), &[]);
    ok(&out);
    assert_eq!(report.unwrap()["failed"], 0);
    let seen = web.seen.whoami.lock().unwrap().clone();
    assert_eq!(seen.len(), 12);
    // Each /whoami carried exactly the session its own user's last /login
    // set (one user per kept-alive connection), never another user's.
    for (set, sent) in &seen {
        let set = set.as_ref().expect("a login on this connection first");
        assert_eq!(sent.as_deref(), Some(format!("session={set}").as_str()));
    }

    // `cookies: false`: the jar is off, nothing is sent.
    let web = Web::plain();
    let a = web.addr;
    let steps = format!(
        "    - {{id: login, type: http, params: {{url: \"http://{a}/login\"}}}}\n    - {{id: whoami, type: http, params: {{url: \"http://{a}/whoami\"}}}}\n"
    );
    let (out, _) = run(&dir, &scenario(2, 1, "  cookies: false\n", &steps), &[]);
    ok(&out);
    let seen = web.seen.whoami.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|(_, sent)| sent.is_none()), "{seen:?}");
}

#[test]
fn gzip_br_and_zstd_bodies_are_checked_decoded_as_the_response_declares() {
    let web = Web::plain();
    let dir = scratch("encodings");
    let a = web.addr;
    // No step sends Accept-Encoding: the server encodes anyway, and the
    // client decodes what the response declares (as k6 does).
    let steps = format!(
        "    - {{id: gzip, type: http, params: {{url: \"http://{a}/gzip\", expect_body: \"gzip-compressed greeting\"}}}}\n    - {{id: br, type: http, params: {{url: \"http://{a}/br\", expect_body: \"brotli-compressed greeting\"}}}}\n    - {{id: zstd, type: http, params: {{url: \"http://{a}/zstd\", expect_body: \"zstd-compressed greeting\"}}}}\n"
    );
    let (out, report) = run(&dir, &scenario(1, 2, "", &steps), &[]);
    ok(&out);
    let r = report.unwrap();
    for id in ["gzip", "br", "zstd"] {
        let s = step(&r, id);
        assert_eq!(s["successful"], 2, "{s:#}");
        // Bytes on the wire are counted, not the decoded size.
        assert!(s["bytes_received"].as_u64().unwrap() > 0);
        assert_eq!(web.seen.path(&format!("/{id}")), 2);
    }
}

#[test]
fn urls_bodyless_posts_and_cookies_go_on_the_wire_as_curl_sends_them() {
    let web = Web::plain();
    let dir = scratch("wire");
    let a = web.addr;
    // `/head/…` answers with the request head as the server read it.
    let steps = format!(
        "    - {{id: cookies, type: http, params: {{url: \"http://{a}/cookies\"}}}}\n    - {{id: url, type: http, params: {{url: \"http://{a}/head/ü x?q=${{urlencode(env.Q)}}\", expect_body: \"GET /head/%C3%BC%20x?q=a%20b%26c%2F HTTP/1.1\"}}}}\n    - {{id: post, type: http, params: {{method: POST, url: \"http://{a}/head/post\", expect_body: \"Content-Length: 0\"}}}}\n    - {{id: order, type: http, params: {{url: \"http://{a}/head/order\", expect_body: \"Cookie: deep=2; z=1; a=3\\r\"}}}}\n    - {{id: headers, type: http, params: {{url: \"http://{a}/head/headers\", headers: {{X-Zeta: z, X-Alpha: a}}, expect_body: \"X-Zeta: z\\r\\nX-Alpha: a\\r\"}}}}\n    - {{id: name, type: http, extract: {{v: {{regex: '(.+)'}}}}, params: {{method: POST, url: \"http://{a}/echo\", body: \"a b/ü\"}}}}\n    - {{id: runtime, type: http, params: {{url: \"http://{a}/head/${{v}}/${{urlencode(v)}}\"}}}}\n"
    );
    let (out, report) = run(&dir, &scenario(2, 2, "", &steps), &["--env", "Q=a b&c/"]);
    ok(&out);
    let r = report.unwrap();
    assert_eq!(r["failed"], 0, "{r:#}");
    // The server's own count of each path as it arrived.
    assert_eq!(web.seen.path("/head/%C3%BC%20x?q=a%20b%26c%2F"), 4);
    assert_eq!(web.seen.path("/head/post"), 4);
    assert_eq!(web.seen.path("/head/order"), 4);
    // Headers in the order the step writes them.
    assert_eq!(web.seen.path("/head/headers"), 4);
    // A value known only at run time: encoded on the wire too (the path's
    // `/` kept as written, `urlencode` encoding it).
    assert_eq!(web.seen.path("/head/a%20b/%C3%BC/a%20b%2F%C3%BC"), 4);
}

#[test]
fn json_form_query_and_basic_auth_reach_the_server_as_written() {
    let web = Web::plain();
    let dir = scratch("conveniences");
    let a = web.addr;
    let steps = format!(
        "    - {{id: json, type: http, params: {{method: POST, url: \"http://{a}/echo\", json: {{name: ada, n: 1}}, expect_body: '{{\"n\":1,\"name\":\"ada\"}}'}}}}\n    - {{id: form, type: http, params: {{method: POST, url: \"http://{a}/echo\", form: {{q: \"a b&c\"}}, expect_body: \"q=a+b%26c\"}}}}\n    - {{id: query, type: http, params: {{url: \"http://{a}/\", query: {{x: \"1 2\"}}, basic_auth: {{user: u, password: p}}}}}}\n"
    );
    let (out, report) = run(&dir, &scenario(1, 1, "", &steps), &[]);
    ok(&out);
    let r = report.unwrap();
    assert_eq!(r["failed"], 0, "{r:#}");
    assert_eq!(web.seen.path("/echo"), 2);
    assert_eq!(web.seen.path("/?x=1+2"), 1);
    // "u:p" in base64.
    assert_eq!(*web.seen.authorization.lock().unwrap(), ["Basic dTpw"]);
}

#[test]
fn a_multipart_form_uploads_text_fields_and_a_file_byte_for_byte() {
    use scenario::multipart::BOUNDARY;
    let web = Web::plain();
    let dir = scratch("multipart");
    let a = web.addr;
    std::fs::create_dir_all(dir.join("files")).unwrap();
    let file: Vec<u8> = (0..=255u8).chain(*b"\r\n--end").collect();
    std::fs::write(dir.join("files/blob.bin"), &file).unwrap();
    let steps = format!(
        "    - {{id: upload, type: http, params: {{method: POST, url: \"http://{a}/upload\", multipart: {{name: \"ada ${{vu}}\", blob: {{file: files/blob.bin, content_type: application/x-test}}}}, expect_body: stored}}}}\n"
    );
    let (out, report) = run(&dir, &scenario(2, 2, "", &steps), &[]);
    ok(&out);
    let r = report.unwrap();
    assert_eq!(r["failed"], 0, "{r:#}");
    let uploads = web.seen.uploads.lock().unwrap().clone();
    assert_eq!(uploads.len(), 4);
    for (content_type, body) in &uploads {
        assert_eq!(
            content_type.as_deref(),
            Some(format!("multipart/form-data; boundary={BOUNDARY}").as_str())
        );
        // What the server received, part by part.
        let want = |vu: u32| {
            let mut b = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nada {vu}\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"blob\"; filename=\"blob.bin\"\r\nContent-Type: application/x-test\r\n\r\n").into_bytes();
            b.extend_from_slice(&file);
            b.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
            b
        };
        assert!(
            *body == want(0) || *body == want(1),
            "{}",
            body.escape_ascii()
        );
    }
    // A missing file is bad input, named, before anything is sent.
    let steps = format!(
        "    - {{id: upload, type: http, params: {{method: POST, url: \"http://{a}/upload\", multipart: {{blob: {{file: files/none.bin}}}}}}}}\n"
    );
    let (out, _) = run(&dir, &scenario(1, 1, "", &steps), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("files/none.bin"), "{err}");
    assert_eq!(web.seen.uploads.lock().unwrap().len(), 4);
}

/// Digest authentication (RFC 7616, SHA-256 here): the 401's challenge is
/// answered once, the server recomputes the answer and lets it in; the 401
/// is a request of its own in the report, as a redirect's hop is.
#[test]
fn a_digest_challenge_is_answered_and_the_server_accepts_the_answer() {
    let web = Web::plain();
    let dir = scratch("digest");
    let a = web.addr;
    let steps = format!(
        "    - {{id: in, type: http, params: {{url: \"http://{a}/digest\", digest_auth: {{user: ada, password: secret}}, expect_body: welcome}}}}\n    - {{id: wrong, type: http, assert_status: 401, params: {{url: \"http://{a}/digest\", digest_auth: {{user: ada, password: nope}}}}}}\n"
    );
    let (out, report) = run(&dir, &scenario(2, 3, "", &steps), &[]);
    ok(&out);
    let r = report.unwrap();
    assert_eq!(r["failed"], 0, "{r:#}");
    // 6 answered right; the wrong password gets its second 401 and stops.
    assert_eq!(Seen::get(&web.seen.digest_ok), 6);
    assert_eq!(step(&r, "in")["status_codes"]["401"], 6, "{r:#}");
    assert_eq!(step(&r, "in")["status_codes"]["200"], 6);
    assert_eq!(step(&r, "wrong")["status_codes"]["401"], 12);
    assert_eq!(web.seen.path("/digest"), 24);
}

/// A check or an extraction that finds nothing in a body cut at `max_body`
/// says the body was cut, and how much of it was kept (the value sat past
/// the cut).
#[test]
fn a_check_or_extraction_past_max_body_says_the_body_was_cut() {
    let web = Web::plain();
    let dir = scratch("body-cut");
    let a = web.addr;
    let padding = "x".repeat(2000);
    let steps = format!(
        "    - {{id: check, type: http, expect_json: {{/z: \"1\"}}, params: {{method: POST, url: \"http://{a}/echo\", json: {{a: \"{padding}\", z: \"1\"}}, max_body: 100}}}}\n    - {{id: take, type: http, extract: {{z: {{json: /z}}}}, params: {{method: POST, url: \"http://{a}/echo\", json: {{a: \"{padding}\", z: \"1\"}}, max_body: 100}}}}\n"
    );
    let (out, report) = run(&dir, &scenario(1, 1, "", &steps), &[]);
    ok(&out);
    let r = report.unwrap();
    for (id, kind) in [("check", "check-failed"), ("take", "extract-failed")] {
        let message = step(&r, id)["errors"][kind]["samples"][0]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            message.ends_with("(the body was cut: the first 100 of 2016 bytes kept, max_body)"),
            "{id}: {message}"
        );
    }
}
