//! The HTTP client against a server not written here (nginx), as a new user
//! would try it: what nginx logged is compared with the report, and what it
//! answered shows what it received.

use test_kit as common;

use common::host::{ok, run, scratch};
use common::nginx::Nginx;
use common::proxy::Proxy;
use common::step;

#[test]
fn nginx_gets_encoded_urls_a_length_on_empty_posts_and_cookies_in_rfc_order() {
    let dir = scratch("conformance");
    let nginx = Nginx::start(
        &dir.join("nginx"),
        r#"
    gzip on;
    gzip_min_length 1;
    location = /login {
      add_header Set-Cookie "z=1; Path=/";
      add_header Set-Cookie "deep=2; Path=/echo";
      add_header Set-Cookie "a=3; Path=/";
      return 200 "in\n";
    }
    location = /echo/cookie { return 200 "cookie=[$http_cookie]\n"; }
    location = /post { return 200 "posted [$http_content_length]\n"; }
"#,
    );
    // A file whose name needs encoding: raw, the space would end nginx's
    // request line (400).
    nginx.file(
        "files/ü x.txt",
        b"a file named with a space and an umlaut\n",
    );
    let a = nginx.addr;
    let steps = format!(
        "    - {{id: file, type: http, params: {{url: \"http://{a}/files/ü x.txt\", headers: {{Accept-Encoding: gzip}}, expect_body: \"named with a space\"}}}}\n    - {{id: login, type: http, params: {{url: \"http://{a}/login\"}}}}\n    - {{id: cookie, type: http, params: {{url: \"http://{a}/echo/cookie\", expect_body: \"cookie=[deep=2; z=1; a=3]\"}}}}\n    - {{id: post, type: http, params: {{method: POST, url: \"http://{a}/post\", expect_body: \"posted [0]\"}}}}\n"
    );
    let yaml = common::workflow("conformance", "", 2, 3, &steps);
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = report.unwrap();
    assert_eq!(r["failed"], 0, "{r:#}");
    assert_eq!(step(&r, "file")["status_codes"]["200"], 6);
    // nginx's own log: every request the report counts, each answered 200,
    // the file's name percent-encoded on the wire.
    let log = nginx.log();
    assert_eq!(log.len() as u64, r["total_requests"].as_u64().unwrap());
    assert!(log.iter().all(|l| l.starts_with("200 ")), "{log:#?}");
    let file_lines = log
        .iter()
        .filter(|l| l.contains("\"GET /files/%C3%BC%20x.txt HTTP/1.1\""))
        .count();
    assert_eq!(file_lines, 6, "{log:#?}");
}

/// Through an HTTP proxy that wants credentials (`http://u:p@…`): plain
/// HTTP as absolute-form requests (nginx logs the whole URL), HTTPS through
/// a CONNECT tunnel (and HTTP/2 inside it, by ALPN), one proxy connection
/// per user and origin; the host's egress rules allow only the proxy, so
/// nothing reaches nginx around it. A step through another proxy without
/// the credentials gets that proxy's 407.
#[test]
fn a_proxy_carries_http_in_absolute_form_and_https_through_a_tunnel() {
    let dir = scratch("proxy");
    let locations = "    location = /who { return 200 \"[$server_protocol]\\n\"; }\n";
    let plain = Nginx::start(&dir.join("nginx"), locations);
    let secure = Nginx::h2_tls(&dir, &dir.join("nginx-tls"), locations);
    let proxy = Proxy::start(Some("u:p"));
    let strict = Proxy::start(Some("u:p"));
    let (p, s, x, y) = (plain.addr, secure.addr, proxy.addr, strict.addr);
    let steps = format!(
        "    - {{id: plain, type: http, params: {{url: \"http://{p}/who\", expect_body: \"[HTTP/1.1]\"}}}}\n    - {{id: tunnel, type: http, params: {{url: \"https://{s}/who\", expect_body: \"[HTTP/2.0]\"}}}}\n    - {{id: nocreds, type: http, assert_status: 407, params: {{url: \"http://{p}/who\", proxy: \"http://{y}\"}}}}\n"
    );
    let extra = format!("  proxy: \"http://u:p@{x}\"\n  tls:\n    ca_file: ca.pem\n");
    let yaml = common::workflow("proxy", &extra, 2, 3, &steps);
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = report.unwrap();
    assert_eq!(r["failed"], 0, "{r:#}");
    let log = plain.log();
    assert_eq!(log.len(), 6, "{log:#?}");
    let absolute = format!("200 \"GET http://{p}/who HTTP/1.1\"");
    assert!(log.iter().all(|l| *l == absolute), "{log:#?}");
    assert_eq!(secure.log().len(), 6);
    assert_eq!(proxy.connects(), 2, "one tunnel per user");
    assert_eq!(proxy.refused(), 0);
    // Per user: one kept-alive connection for plain HTTP, and one tunnel.
    assert_eq!(proxy.connections(), 2 + 2);
    // Without credentials: refused, each on its own connection (the proxy
    // closes after a 407).
    assert_eq!(strict.refused(), 6);
    assert_eq!(strict.connections(), 6);
    assert_eq!(step(&r, "tunnel")["http_versions"]["HTTP/2"], 6);
}
