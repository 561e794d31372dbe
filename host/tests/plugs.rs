//! scheduler-host: Third-party actions: plugged with --action, from the YAML, or composed with wac for stock wasmtime.

use test_kit as common;

use common::host::{bin, line_ping, ok, run, scratch};
use common::{num, scenario, target};
use std::process::Command;

const LINE_PING: &str = "scenario:\n  id: lp\n  load: {total_users: 3, iterations: 4}\n  workflow:\n    - {type: line-ping, params: {server: '{tcp}', line: hello}}\n";

#[test]
fn third_party_action_plugs_in_with_the_action_flag() {
    let t = target();
    let dir = scratch("lp-flag");
    let plug = format!("line-ping={}", line_ping().display());
    let (out, r) = run(&dir, &scenario(LINE_PING, &t), &["--action", &plug]);
    ok(&out);
    let r = r.unwrap();
    assert_eq!(num(&r, "successful"), 12, "{r:#}");
    assert_eq!(r["steps"][0]["type"], "line-ping");
    assert_eq!(t.tcp_seen.requests(), 12);
    // Without the plug, the same scenario is rejected before any load.
    let (out, _) = run(&dir, &scenario(LINE_PING, &t), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown step type \"line-ping\""));
    assert_eq!(t.tcp_seen.requests(), 12);
}

#[test]
fn third_party_action_plugs_in_from_the_yaml() {
    let t = target();
    let dir = scratch("lp-yaml");
    let yaml = format!(
        "{}  components:\n    line-ping: {}\n",
        scenario(LINE_PING, &t),
        line_ping().display()
    );
    let (out, r) = run(&dir, &yaml, &[]);
    ok(&out);
    assert_eq!(num(&r.unwrap(), "successful"), 12);
}

#[test]
fn third_party_action_plugs_in_with_wac_for_stock_wasmtime() {
    let t = target();
    let dir = scratch("lp-wac");
    let out_wasm = dir.join("with-line-ping.wasm");
    let mut wac = Command::new("wac");
    wac.current_dir(test_kit::root())
        .args(["compose", "compositions/scheduler-with-extension.wac", "-o"])
        .arg(&out_wasm)
        .args(["--deps-dir", scheduler_host::parts::DIR]);
    wac.arg("--dep")
        .arg(format!("component:extension={}", line_ping().display()));
    let st = wac.status().unwrap();
    assert!(st.success());
    let r = common::invoke_file(&out_wasm, &scenario(LINE_PING, &t)).unwrap();
    assert_eq!(num(&r, "successful"), 12, "{r:#}");
    // Plain mode validates the extension's params the same way.
    let bad = scenario(LINE_PING, &t).replace("line: hello", "lien: hello");
    let err = common::invoke_file(&out_wasm, &bad).unwrap_err();
    assert!(
        err.contains("scenario.workflow[0].params: unknown param \"lien\""),
        "{err}"
    );
    assert_eq!(t.tcp_seen.requests(), 12);
}

#[test]
fn an_extensions_bad_params_fail_validation_with_its_own_message() {
    let t = target();
    let dir = scratch("lp-bad-params");
    let yaml = scenario(
        "scenario:\n  id: bad\n  load: {total_users: 2, iterations: 2}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n    - {type: line-ping, params: {server: '{tcp}', lien: hello}}\n",
        &t,
    );
    let plug = format!("line-ping={}", line_ping().display());
    let want = "scenario field scenario.workflow[1].params: unknown param \"lien\"";
    let (out, report) = run(&dir, &yaml, &["--action", &plug]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(want), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(report.is_none());
    // `validate` rejects it the same way, before anything is sent.
    let out = Command::new(bin())
        .arg("validate")
        .arg(dir.join("scenario.yaml"))
        .args(["--action", &plug])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(want));
    assert_eq!(t.http_seen.requests() + t.tcp_seen.connections(), 0);
}

#[test]
fn the_extension_declares_where_its_steps_send() {
    // line-ping names its server in `server`, a param the host knows nothing
    // about: the egress allow-list comes from the component's `destinations`.
    let t = target();
    let dir = scratch("lp-destinations");
    let yaml = scenario(LINE_PING, &t);
    let plug = format!("line-ping={}", line_ping().display());
    std::fs::write(dir.join("v.yaml"), &yaml).unwrap();
    let out = Command::new(bin())
        .arg("validate")
        .arg(dir.join("v.yaml"))
        .args(["--action", &plug])
        .output()
        .unwrap();
    ok(&out);
    let plan = String::from_utf8_lossy(&out.stdout);
    let egress = plan.lines().find(|l| l.contains("egress:")).unwrap();
    assert!(egress.contains(&t.tcp.to_string()), "{plan}");
    // Denied, the declared server is never reached.
    let deny = t.tcp.to_string();
    let (out, r) = run(&dir, &yaml, &["--action", &plug, "--deny", &deny]);
    ok(&out);
    let r = r.unwrap();
    assert_eq!(r["errors"]["egress-denied"]["count"], 12, "{r:#}");
    assert!(
        r["errors"]["egress-denied"]["samples"][0]
            .as_str()
            .unwrap()
            .contains(&deny),
        "the denial names the address: {r:#}"
    );
    assert_eq!(t.tcp_seen.connections(), 0);
}

#[test]
fn a_plug_for_a_kind_the_component_does_not_declare_lists_its_kinds() {
    let t = target();
    let dir = scratch("lp-kinds");
    let yaml = scenario(
        "scenario:\n  id: k\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n",
        &t,
    );
    let plug = format!("redis={}", line_ping().display());
    let (out, report) = run(&dir, &yaml, &["--action", &plug]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: --action redis="), "{err}");
    assert!(
        err.contains("handles the step types [line-ping], not \"redis\""),
        "{err}"
    );
    assert!(report.is_none());
    assert_eq!(t.http_seen.requests(), 0);
}

#[test]
fn a_plug_that_is_not_a_component_is_named_by_its_flag() {
    let t = target();
    let dir = scratch("lp-not-component");
    let yaml = scenario(LINE_PING, &t);
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "not wasm at all").unwrap();
    let module = dir.join("module.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
    let cases = [
        (
            notes.display().to_string(),
            "is not a WebAssembly component",
        ),
        (
            module.display().to_string(),
            "a core WebAssembly module, not a WebAssembly component",
        ),
        (
            "/nonexistent/lp.wasm".to_string(),
            "cannot read /nonexistent/lp.wasm",
        ),
    ];
    for (file, needle) in cases {
        let flag = format!("line-ping={file}");
        let (out, report) = run(&dir, &yaml, &["--action", &flag]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.starts_with(&format!("error: --action {flag}: ")),
            "{err}"
        );
        assert!(err.contains(needle), "{err:?} lacks {needle:?}");
        assert!(!err.contains("package `component:"), "wac internals: {err}");
        assert!(report.is_none());
    }
    assert_eq!(t.tcp_seen.connections(), 0);
}
