//! scheduler-host: Bad input: one line, exit 2, before any load; and what validate prints.

use test_kit as common;

use common::host::{bin, line_ping, ok, run, run_under, scratch};
use common::{scenario, target};
use std::process::Command;

#[test]
fn bad_input_is_one_line_and_exit_2_before_any_load() {
    let t = target();
    let dir = scratch("bad");
    let good = scenario(
        "scenario:\n  id: b\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n",
        &t,
    );
    let lp = line_ping().display().to_string();
    let core_libs = format!("{}/component/core-libs.wasm", scheduler_host::parts::DIR);
    let cases: Vec<(String, Vec<String>, &str)> = vec![
        (
            good.replace("url: 'http://", "nourl: 'http://"),
            vec![],
            "unknown field `nourl`",
        ),
        (
            good.replace("type: http", "type: ftp"),
            vec![],
            "unknown step type \"ftp\"",
        ),
        (
            good.replace("iterations: 1}", "iterations: 1, ip_pool: [192.0.2.7]}"),
            vec![],
            "192.0.2.7 is not an address of this machine",
        ),
        (
            good.clone(),
            vec!["--action".into(), "Bad Slot=x.wasm".into()],
            "unknown action slot",
        ),
        (
            good.clone(),
            vec!["--action".into(), format!("http={lp}")],
            "does not fit the http slot",
        ),
        (
            good.clone(),
            vec!["--action".into(), format!("tcp={core_libs}")],
            "does not export scheduler:actions/tcp@0.9.0",
        ),
        (
            good.clone(),
            vec!["--action".into(), "udp=/nonexistent/u.wasm".into()],
            "cannot read /nonexistent/u.wasm",
        ),
        (
            good.clone(),
            vec!["--component".into(), "/nonexistent/c.wasm".into()],
            "cannot read component",
        ),
        (
            good.clone(),
            vec!["--deny".into(), "not-an-ip".into()],
            "--deny",
        ),
        (
            good.replace("total_users: 1", "total_users: 0"),
            vec![],
            "total_users",
        ),
    ];
    for (yaml, args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (out, report) = run(&dir, &yaml, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{needle}: {err}");
        assert!(err.contains(needle), "{err:?} lacks {needle:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(
            err.starts_with("error: ") && !err.contains("panicked"),
            "{err}"
        );
        assert!(report.is_none(), "{needle}: a report was written");
    }
    let missing = Command::new(bin())
        .args(["run", "/nonexistent/s.yaml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("cannot read scenario file /nonexistent/s.yaml")
    );
    assert_eq!(
        t.http_seen.requests(),
        0,
        "no load before the input was valid"
    );
}

/// Inside a fresh network namespace (only a downed loopback) a lookup
/// fails at once and no query leaves the machine.
#[test]
fn a_target_that_does_not_resolve_is_exit_2_before_any_load() {
    let dir = scratch("no-dns");
    let yaml = "scenario:\n  id: dns\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {type: http, params: {url: 'http://no-such-host.invalid/'}}\n";
    let (out, report) = run_under(&["unshare", "--net"], &dir, yaml, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("unshare:"),
        "unshare failed (needs root or user namespaces): {stderr}"
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("target no-such-host.invalid:80 does not resolve"),
        "{stderr}"
    );
    assert!(report.is_none(), "no load, no report");
}

#[test]
fn validate_prints_the_plan() {
    let t = target();
    let dir = scratch("validate");
    let file = dir.join("v.yaml");
    std::fs::write(&file, scenario("scenario:\n  id: v\n  load: {total_users: 7, test_duration: 1m, ip_pool: [127.0.0.2]}\n  workflow:\n    - {id: home, type: http, params: {url: 'http://{http}/'}}\n", &t)).unwrap();
    let out = Command::new(bin())
        .arg("validate")
        .arg(&file)
        .output()
        .unwrap();
    ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "users:      at most 7",
        "scenario default: constant-vus, users 0..7",
        "127.0.0.2",
        "home (http",
        &t.http.to_string(),
        "is valid",
    ] {
        assert!(text.contains(needle), "{text} lacks {needle}");
    }
    std::fs::write(&file, "scenario: [").unwrap();
    let out = Command::new(bin())
        .arg("validate")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn every_bundled_scenario_validates() {
    let dir = test_kit::root().join("scenarios");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let out = Command::new(bin())
            .arg("validate")
            .arg(&path)
            .output()
            .unwrap();
        ok(&out);
        seen += 1;
    }
    assert!(seen >= 3, "{seen} scenarios");
}
