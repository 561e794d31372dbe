//! What a new user meets in the first hour: one-line mode, `--threshold`,
//! short flags on named scenarios, a run that failed saying so (and not
//! spinning on a closed port), think-time ranges, and a summary and plan
//! that read well. Each compares with what the server saw where it can.

use std::net::TcpListener;
use std::time::Duration;
use test_kit::host::{ok, scratch};
use test_kit::timed::{Behaviour, Timed};
use test_kit::{num, scenario, target};

use test_kit::host::cli as host;

fn report(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("r.json")).unwrap()).unwrap()
}

#[test]
fn a_url_runs_in_one_line_with_its_method_headers_and_body_as_written() {
    let server = Timed::start(Behaviour::default());
    let dir = scratch("one-line");
    std::fs::write(dir.join("body.json"), "{\"order\": 7}").unwrap();
    let url = format!("http://{}/orders", server.addr);
    let out = host(
        &dir,
        &[
            "run",
            &url,
            "-u",
            "2",
            "-i",
            "3",
            "-m",
            "post",
            "-H",
            "X-Test: one",
            "-H",
            "Content-Type: application/json",
            "--body",
            "@body.json",
            "--threshold",
            "p(95)<5000",
            "--quiet",
            "--out",
            "r.json",
        ],
    );
    ok(&out);
    let seen = server.hits();
    assert_eq!(seen.len(), 6, "2 users × 3 iterations");
    for s in &seen {
        assert_eq!((s.method.as_str(), s.path.as_str()), ("POST", "/orders"));
        assert_eq!(s.header("x-test"), Some("one"));
        assert_eq!(s.body, b"{\"order\": 7}");
    }
    let r = report(&dir);
    assert_eq!(num(&r, "total_requests"), 6);
    assert_eq!(r["thresholds"][0]["metric"], "latency");
    assert_eq!(r["thresholds"][0]["ok"], true);
}

#[test]
fn a_threshold_flag_decides_the_exit_code_on_a_url_and_on_a_file() {
    let t = target();
    let dir = scratch("threshold-flag");
    let url = format!("http://{}/", t.http);
    let failing = host(
        &dir,
        &[
            "run",
            &url,
            "-u",
            "1",
            "-i",
            "5",
            "--threshold",
            "p(95)<0.0001",
            "--quiet",
        ],
    );
    assert_eq!(
        failing.status.code(),
        Some(99),
        "{}",
        String::from_utf8_lossy(&failing.stdout)
    );
    assert!(String::from_utf8_lossy(&failing.stdout).contains("✗ latency p(95)<0.0001"));
    // On a file: added to the file's own thresholds.
    let yaml = scenario(
        "scenario:\n  id: f\n  load: {total_users: 1, iterations: 4}\n  workflow:\n    - {id: a, type: http, params: {url: 'http://{http}/'}}\nthresholds:\n  errors: ['rate<0.01']\n",
        &t,
    );
    std::fs::write(dir.join("f.yaml"), yaml).unwrap();
    let out = host(
        &dir,
        &[
            "run",
            "f.yaml",
            "--threshold",
            "requests=count==4",
            "--quiet",
            "--out",
            "r.json",
        ],
    );
    ok(&out);
    let r = report(&dir);
    let keys: Vec<&str> = r["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["metric"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["errors", "requests"]);
    assert_eq!(t.http_seen.requests(), 5 + 4);
}

#[test]
fn rate_runs_a_constant_arrival_rate_the_server_counts_exactly() {
    let t = target();
    let dir = scratch("rate-flag");
    let url = format!("http://{}/", t.http);
    let out = host(
        &dir,
        &[
            "run", &url, "--rate", "40", "-d", "2s", "--quiet", "--out", "r.json",
        ],
    );
    ok(&out);
    let r = report(&dir);
    assert_eq!(r["scenarios"][0]["executor"], "constant-arrival-rate");
    // 40 a second for 2 s, started on schedule whatever the latency.
    assert_eq!(t.http_seen.requests(), 80);
    assert_eq!(num(&r, "total_requests"), 80);
    let bad = host(&dir, &["run", &url, "--rate", "40", "-i", "3"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn short_flags_rewrite_named_scenarios_as_k6_does() {
    let t = target();
    let dir = scratch("short-flags");
    let yaml = scenario(
        "id: named\nscenarios:\n  browse:\n    executor: ramping-vus\n    stages: [{duration: 5s, target: 9}]\n    workflow: [{id: a, type: http, params: {url: 'http://{http}/'}}]\n  api:\n    executor: constant-arrival-rate\n    rate: 50\n    duration: 5s\n    pre_allocated_vus: 5\n    workflow: [{id: b, type: http, params: {url: 'http://{http}/'}}]\n",
        &t,
    );
    std::fs::write(dir.join("s.yaml"), yaml).unwrap();
    let out = host(
        &dir,
        &[
            "run", "s.yaml", "-u", "2", "-i", "3", "--quiet", "--out", "r.json",
        ],
    );
    ok(&out);
    let r = report(&dir);
    for w in r["scenarios"].as_array().unwrap() {
        assert_eq!(w["executor"], "shared-iterations", "{w}");
    }
    assert_eq!(
        t.http_seen.requests(),
        6,
        "3 shared iterations in each scenario"
    );
}

#[test]
fn one_line_mistakes_are_one_line_errors_with_exit_2() {
    let dir = scratch("one-line-errors");
    let t = target();
    std::fs::write(dir.join("s.yaml"), scenario("scenario:\n  id: s\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {id: a, type: http, params: {url: 'http://{http}/'}}\n", &t)).unwrap();
    let url = format!("http://{}/", t.http);
    for (args, says) in [
        (
            vec!["run", url.as_str(), "-H", "no colon"],
            "-H \"no colon\": expected 'Name: value'",
        ),
        (
            vec!["run", url.as_str(), "--body", "@missing.txt"],
            "--body @missing.txt: cannot read it",
        ),
        (
            vec!["run", "s.yaml", "-m", "POST"],
            "-m/--method applies to a URL",
        ),
        (
            vec!["run", url.as_str(), "--threshold", "fast"],
            "--threshold \"fast\": expected an expression",
        ),
    ] {
        let out = host(&dir, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert_eq!(t.http_seen.requests(), 0, "nothing was sent");
}

#[test]
fn a_run_in_which_every_request_failed_says_so_and_backs_off_instead_of_spinning() {
    // A port nothing listens on: bound, then closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = scratch("all-failed");
    let url = format!("http://127.0.0.1:{port}/");
    let out = host(
        &dir,
        &[
            "run", &url, "-u", "4", "-d", "2s", "--quiet", "--out", "r.json",
        ],
    );
    // k6's rule: failed requests are data; thresholds decide the exit code.
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().unwrap();
    assert!(first.ends_with("requests, 100.00% failed"), "{first}");
    let warning = stdout.lines().nth(1).unwrap();
    assert!(
        warning.starts_with("warning: 100.00% of requests failed")
            && warning.contains("top error: connect-refused"),
        "{warning}"
    );
    let r = report(&dir);
    let n = num(&r, "total_requests");
    // Backing off 10 ms, 20 ms, … to 1 s: at most 9 tries a user in 2 s
    // (spinning made 100,000 in 3 s).
    assert!((4..=4 * 10).contains(&n), "{n} refused connects");
    assert_eq!(num(&r["errors"]["connect-refused"], "count"), n);
    // With the JSON on stdout, the warning goes to stderr.
    let out = host(&dir, &["run", &url, "-u", "1", "-i", "2", "--out", "-"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("warning: 100.00% of requests failed")
    );
}

/// Gaps between one user's consecutive requests at the server.
fn gaps(think: &str, iterations: u32) -> Vec<Duration> {
    let server = Timed::start(Behaviour::default());
    let dir = scratch("think");
    let yaml = format!(
        "scenario:\n  id: think\n  load: {{total_users: 1, iterations: {iterations}}}\n  workflow:\n    - {{id: a, type: http, think_time: {think}, params: {{url: 'http://{}/'}}}}\n",
        server.addr
    );
    std::fs::write(dir.join("s.yaml"), yaml).unwrap();
    ok(&host(&dir, &["run", "s.yaml", "--quiet"]));
    let hits = server.hits();
    assert_eq!(hits.len(), iterations as usize);
    hits.windows(2).map(|w| w[1].at - w[0].at).collect()
}

#[test]
fn think_time_ranges_and_exponential_pauses_spread_as_written() {
    let ms = Duration::from_millis;
    let uniform = gaps("50ms-150ms", 21);
    assert!(
        uniform.iter().all(|g| (ms(49)..ms(200)).contains(g)),
        "{uniform:?}"
    );
    let spread = *uniform.iter().max().unwrap() - *uniform.iter().min().unwrap();
    assert!(spread > ms(40), "a range, not a fixed pause: {uniform:?}");
    let exp = gaps("{mean: 40ms, dist: exponential}", 41);
    let mean = exp.iter().sum::<Duration>() / exp.len() as u32;
    assert!((ms(20)..ms(80)).contains(&mean), "{mean:?}");
    assert!(
        exp.iter().any(|g| *g < ms(20)) && exp.iter().any(|g| *g > ms(60)),
        "{exp:?}"
    );
}

#[test]
fn the_summary_shows_only_phases_that_happened_and_keeps_long_names_aligned() {
    let t = target();
    let dir = scratch("summary-shape");
    let yaml = scenario(
        "scenario:\n  id: shape\n  load: {total_users: 1, iterations: 3}\n  workflow:\n    - {id: a-step-name-longer-than-twenty, type: http, params: {url: 'http://{http}/'}}\n    - {id: b, type: http, params: {url: 'http://{http}/'}}\n",
        &t,
    );
    std::fs::write(dir.join("s.yaml"), yaml).unwrap();
    let out = host(&dir, &["run", "s.yaml", "--quiet"]);
    ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("tls_handshaking"),
        "plain HTTP has no TLS phase:\n{stdout}"
    );
    let table: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("step "))
        .take_while(|l| !l.starts_with("phases"))
        .collect();
    assert!(table.len() >= 4, "{stdout}");
    let width = table[0].chars().count();
    for line in &table {
        assert_eq!(
            line.chars().count(),
            width,
            "misaligned:\n{}",
            table.join("\n")
        );
    }
    // The plan: no weight on an ordered workflow, no zero think time.
    let plan = String::from_utf8_lossy(&host(&dir, &["validate", "s.yaml"]).stdout).into_owned();
    assert!(plan.contains("    - b (http, timeout 10s)"), "{plan}");
    assert!(
        !plan.contains("weight") && !plan.contains("think"),
        "{plan}"
    );
}
