//! HTTPS and TCP+TLS against rustls servers on loopback, with certificates
//! made at test time: the report's TLS counts equal what the server saw.

use test_kit as common;

use common::host::{ok, run, scratch};
use common::web::{Ca, Options, Seen, Web, trusted, write};
use common::{plain_file, step};
use serde_json::Value;

/// A scenario around `steps`, with the scenario-level `tls:` block `tls`.
fn scenario(tls: &str, users: u32, iterations: u32, steps: &str) -> String {
    common::workflow("tls", tls, users, iterations, steps)
}

fn error_samples(step: &Value, kind: &str) -> String {
    step["errors"][kind]["samples"].to_string()
}

const CA_BLOCK: &str = "  tls:\n    ca_file: ca.pem\n";

#[test]
fn https_with_ca_file_counts_handshakes_as_the_server_accepted_them() {
    let (web, dir) = trusted(&["localhost", "127.0.0.1"], "tls-ok");
    let steps = format!(
        "    - {{id: get, type: http, params: {{url: \"https://localhost:{}/\", expect_body: hello}}}}\n",
        web.addr.port()
    );
    let (out, report) = run(&dir, &scenario(CA_BLOCK, 2, 5, &steps), &[]);
    ok(&out);
    let r = report.unwrap();
    let get = step(&r, "get");
    assert_eq!(get["successful"], 10, "{get:#}");
    assert_eq!(web.seen.requests(), 10);
    // Keep-alive: one connection, one handshake per user, as the server saw.
    let accepted = Seen::get(&web.seen.connections);
    assert_eq!(accepted, 2);
    assert_eq!(Seen::get(&web.seen.handshakes), accepted);
    assert_eq!(get["tls"]["handshakes"], accepted);
    assert_eq!(get["tls"]["tls_versions"]["TLSv1.3"], 10);
    // SNI is the URL's host name.
    assert!(
        web.seen
            .sni
            .lock()
            .unwrap()
            .iter()
            .all(|n| n.as_deref() == Some("localhost"))
    );
    // ALPN: the client offers h2 and http/1.1; this server speaks HTTP/1.1
    // only, so that is what each handshake agreed.
    assert_eq!(
        *web.seen.alpn.lock().unwrap(),
        vec![Some("http/1.1".to_string()); 2]
    );
    // Phases: 8 of 10 requests reused a connection, so the median
    // connecting and handshaking are 0, the maximum is not.
    let t = &get["timings"];
    for phase in ["connecting", "tls_handshaking"] {
        assert_eq!(t[phase]["p50_ms"], 0.0, "{t:#}");
        assert!(t[phase]["max_ms"].as_f64().unwrap() > 0.0, "{t:#}");
    }
    assert!(t["waiting"]["max_ms"].as_f64().unwrap() > 0.0, "{t:#}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("tls_handshaking"),
        "summary shows phases: {text}"
    );
}

#[test]
fn reconnects_of_one_user_resume_its_session() {
    let (web, dir) = trusted(&["127.0.0.1"], "tls-resume");
    // `/close` ends every connection: each request needs a new handshake.
    let steps = format!(
        "    - {{id: get, type: http, params: {{url: \"https://127.0.0.1:{}/close\"}}}}\n",
        web.addr.port()
    );
    let (out, report) = run(&dir, &scenario(CA_BLOCK, 3, 4, &steps), &[]);
    ok(&out);
    let get = step(report.as_ref().unwrap(), "get");
    assert_eq!(get["successful"], 12);
    assert_eq!(Seen::get(&web.seen.handshakes), 12);
    assert_eq!(get["tls"]["handshakes"], 12);
    // Each user's first handshake is full, its later ones resume; a user
    // never resumes another's session (3 users → 3 full handshakes).
    assert_eq!(Seen::get(&web.seen.resumed), 9);
    assert_eq!(get["tls"]["resumed_handshakes"], 9);
}

#[test]
fn certificate_failures_are_tls_errors_that_say_why() {
    let ca = Ca::new("test CA").unwrap();
    let stranger = Ca::new("another CA").unwrap();
    let unknown = stranger.leaf(&["127.0.0.1"], false).unwrap();
    let mismatch = ca.leaf(&["other.example"], false).unwrap();
    let expired = ca.leaf(&["127.0.0.1"], true).unwrap();
    let servers: Vec<Web> = [&unknown, &mismatch, &expired]
        .into_iter()
        .map(|leaf| Web::tls(Options::new(leaf)))
        .collect();
    let dir = scratch("tls-fail");
    write(&dir, "ca.pem", &ca.pem);
    let steps: String = ["unknown", "mismatch", "expired"]
        .iter()
        .zip(&servers)
        .map(|(id, w)| {
            format!(
                "    - {{id: {id}, type: http, params: {{url: \"https://127.0.0.1:{}/\"}}}}\n",
                w.addr.port()
            )
        })
        .collect();
    let (out, report) = run(&dir, &scenario(CA_BLOCK, 1, 2, &steps), &[]);
    ok(&out);
    let r = report.unwrap();
    for (id, reason) in [
        ("unknown", "unknown issuer"),
        ("mismatch", "name mismatch"),
        ("expired", "expired certificate"),
    ] {
        let s = step(&r, id);
        assert_eq!(s["errors"]["tls"]["count"], 2, "{id}: {s:#}");
        assert!(error_samples(s, "tls").contains(reason), "{id}: {s:#}");
    }
    // No request got through: the servers counted failed handshakes only.
    for w in &servers {
        assert_eq!(w.seen.requests(), 0);
        assert_eq!(Seen::get(&w.seen.handshakes), 0);
    }

    // insecure_skip_verify accepts the stranger's certificate, with a warning.
    let steps = format!(
        "    - {{id: any, type: http, params: {{url: \"https://127.0.0.1:{}/\"}}}}\n",
        servers[0].addr.port()
    );
    let block = "  tls:\n    insecure_skip_verify: true\n";
    let (out, report) = run(&dir, &scenario(block, 1, 3, &steps), &[]);
    ok(&out);
    assert_eq!(step(report.as_ref().unwrap(), "any")["successful"], 3);
    assert_eq!(servers[0].seen.requests(), 3);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("insecure_skip_verify"), "{text}");
}

#[test]
fn server_name_is_sent_as_sni_and_verified() {
    let ca = Ca::new("test CA").unwrap();
    let leaf = ca.leaf(&["api.internal"], false).unwrap();
    let web = Web::tls(Options {
        tls12_only: true,
        ..Options::new(&leaf)
    });
    let dir = scratch("tls-sni");
    write(&dir, "ca.pem", &ca.pem);
    let block = "  tls:\n    ca_file: ca.pem\n    server_name: api.internal\n";
    let steps = format!(
        "    - {{id: get, type: http, params: {{url: \"https://127.0.0.1:{}/\"}}}}\n",
        web.addr.port()
    );
    let (out, report) = run(&dir, &scenario(block, 2, 2, &steps), &[]);
    ok(&out);
    let get = step(report.as_ref().unwrap(), "get");
    assert_eq!(get["successful"], 4, "{get:#}");
    let sni = web.seen.sni.lock().unwrap().clone();
    assert_eq!(sni, vec![Some("api.internal".to_string()); 2]);
    // A TLS-1.2-only server: both sides say 1.2.
    assert_eq!(get["tls"]["tls_versions"]["TLSv1.2"], 4);
    assert_eq!(web.seen.versions.lock().unwrap()["TLSv1_2"], 2);

    // Offering only 1.3 to it fails as a protocol-version error.
    let block =
        "  tls:\n    ca_file: ca.pem\n    server_name: api.internal\n    versions: [tls1.3]\n";
    let (out, report) = run(&dir, &scenario(block, 1, 1, &steps), &[]);
    ok(&out);
    let get = step(report.as_ref().unwrap(), "get");
    assert!(
        error_samples(get, "tls").contains("protocol version"),
        "{get:#}"
    );
}

#[test]
fn mtls_server_rejects_a_user_without_a_client_certificate() {
    let ca = Ca::new("test CA").unwrap();
    let leaf = ca.leaf(&["127.0.0.1"], false).unwrap();
    let client = ca.leaf(&["user-1"], false).unwrap();
    let web = Web::tls(Options {
        client_ca: Some(&ca),
        ..Options::new(&leaf)
    });
    let dir = scratch("tls-mtls");
    write(&dir, "ca.pem", &ca.pem);
    write(&dir, "client.pem", &client.cert_pem);
    write(&dir, "client.key", &client.key_pem);
    let url = format!("https://127.0.0.1:{}/", web.addr.port());
    let steps = format!(
        "    - {{id: anonymous, type: http, params: {{url: \"{url}\"}}}}\n    - {{id: known, type: http, params: {{url: \"{url}\", tls: {{client_cert: client.pem, client_key: client.key}}}}}}\n"
    );
    let (out, report) = run(&dir, &scenario(CA_BLOCK, 1, 2, &steps), &[]);
    ok(&out);
    let r = report.unwrap();
    let anonymous = step(&r, "anonymous");
    assert_eq!(anonymous["errors"]["tls"]["count"], 2, "{anonymous:#}");
    assert!(
        error_samples(anonymous, "tls").contains("client certificate"),
        "{anonymous:#}"
    );
    assert_eq!(step(&r, "known")["successful"], 2);
    assert_eq!(web.seen.path("/"), 2);
    assert_eq!(Seen::get(&web.seen.client_certs), 1);
}

#[test]
fn a_missing_or_unparsable_tls_file_is_exit_2_naming_it() {
    let dir = scratch("tls-files");
    let steps = "    - {id: get, type: http, params: {url: \"https://127.0.0.1:1/\"}}\n";
    let (out, _) = run(&dir, &scenario(CA_BLOCK, 1, 1, steps), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ca.pem") && err.contains("cannot read"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    write(&dir, "ca.pem", "not a certificate\n");
    let (out, _) = run(&dir, &scenario(CA_BLOCK, 1, 1, steps), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ca.pem") && err.contains("PEM"), "{err}");

    let block = "  tls:\n    client_cert: ca.pem\n";
    let (out, _) = run(&dir, &scenario(block, 1, 1, steps), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("client_key"), "{err}");

    // Both files are PEM, but the key is not the certificate's: rustls
    // refuses the pair when the client is built, which validation does once.
    let ca = Ca::new("test CA").unwrap();
    let one = ca.leaf(&["user-1"], false).unwrap();
    let other = ca.leaf(&["user-2"], false).unwrap();
    write(&dir, "client.pem", &one.cert_pem);
    write(&dir, "client.key", &other.key_pem);
    let block = "  tls:\n    client_cert: client.pem\n    client_key: client.key\n";
    let (out, _) = run(&dir, &scenario(block, 1, 1, steps), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("client.pem") && err.contains("client.key"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // Plain mode checks the same, before any step.
    write(&dir, "s.yaml", &scenario(block, 1, 1, steps));
    let out = plain_file(&dir, "s.yaml");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no report");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("client.key") && err.contains("KeyMismatch"),
        "{err}"
    );
}

#[test]
fn a_tcp_step_with_tls_speaks_inside_the_tunnel() {
    let (web, dir) = trusted(&["localhost"], "tls-tcp");
    let steps = format!(
        "    - {{id: raw, type: tcp, params: {{target: \"localhost:{}\", tls: true, payload: \"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\", read_until: hello}}}}\n",
        web.addr.port()
    );
    let (out, report) = run(&dir, &scenario(CA_BLOCK, 1, 3, &steps), &[]);
    ok(&out);
    let raw = step(report.as_ref().unwrap(), "raw");
    assert_eq!(raw["successful"], 3, "{raw:#}");
    assert_eq!(raw["tls"]["handshakes"], 3);
    assert_eq!(Seen::get(&web.seen.handshakes), 3);
    assert_eq!(web.seen.path("/"), 3);
    // A tcp step offers no ALPN protocol.
    assert!(web.seen.alpn.lock().unwrap().iter().all(Option::is_none));
}

#[test]
fn stock_wasmtime_runs_the_same_https_scenario() {
    let (web, dir) = trusted(&["127.0.0.1"], "tls-plain");
    // `/close`: every request a new connection, so sessions get resumed.
    let steps = format!(
        "    - {{id: get, type: http, params: {{url: \"https://127.0.0.1:{}/close\", expect_body: bye}}}}\n",
        web.addr.port()
    );
    write(&dir, "s.yaml", &scenario(CA_BLOCK, 2, 3, &steps));
    let out = plain_file(&dir, "s.yaml");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let get = step(&r, "get");
    assert_eq!(get["successful"], 6, "{get:#}");
    assert_eq!(web.seen.requests(), 6);
    // Users interleave in one instance, yet each has its own session
    // cache: 2 full handshakes (one per user), 4 resumed. A shared cache
    // would have resumed the second user's first handshake too.
    assert_eq!(get["tls"]["handshakes"], 6);
    assert_eq!(Seen::get(&web.seen.handshakes), 6);
    assert_eq!(Seen::get(&web.seen.resumed), 4);
    assert_eq!(get["tls"]["resumed_handshakes"], 4);
}

#[test]
fn without_a_tls_block_only_the_mozilla_roots_are_trusted() {
    let ca = Ca::new("test CA").unwrap();
    let leaf = ca.leaf(&["127.0.0.1"], false).unwrap();
    let web = Web::tls(Options::new(&leaf));
    let dir = scratch("tls-default");
    let steps = format!(
        "    - {{id: get, type: http, params: {{url: \"https://127.0.0.1:{}/\"}}}}\n",
        web.addr.port()
    );
    let (out, report) = run(&dir, &scenario("", 1, 2, &steps), &[]);
    ok(&out);
    let get = step(report.as_ref().unwrap(), "get");
    assert_eq!(get["errors"]["tls"]["count"], 2, "{get:#}");
    assert!(
        error_samples(get, "tls").contains("unknown issuer"),
        "{get:#}"
    );
    assert_eq!(web.seen.requests(), 0);
}

#[test]
fn a_body_larger_than_the_tls_buffers_goes_through_both_ways() {
    let (web, dir) = trusted(&["127.0.0.1"], "tls-big");
    // 300 KB out (rustls takes 64 KiB of plaintext at a time), echoed back.
    let body = format!("{}THE-END", "x".repeat(300_000));
    let steps = format!(
        "    - {{id: echo, type: http, params: {{method: POST, url: \"https://127.0.0.1:{}/echo\", body: {body}, expect_body: THE-END}}}}\n",
        web.addr.port()
    );
    let (out, report) = run(&dir, &scenario(CA_BLOCK, 1, 2, &steps), &[]);
    ok(&out);
    let echo = step(report.as_ref().unwrap(), "echo");
    assert_eq!(echo["successful"], 2, "{echo:#}");
    assert!(echo["bytes_received"].as_u64().unwrap() > 600_000);
    assert_eq!(web.seen.path("/echo"), 2);
}
