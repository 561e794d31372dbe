//! The HTTP client against a server not written here (nginx), as a new user
//! would try it: what nginx logged is compared with the report, and what it
//! answered shows what it received.

use test_kit as common;

use common::host::{ok, run, scratch};
use common::nginx::Nginx;
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
