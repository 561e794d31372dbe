//! A script scenario: `script:` in place of `workflow:`, `destinations:`,
//! and what they may not be combined with.

use scenario::{ScenarioError, parse};

fn field_error(yaml: &str) -> (String, String) {
    match parse(yaml, &[]) {
        Err(ScenarioError::Field { field, message }) => (field, message),
        other => panic!("expected a field error, got {other:?}"),
    }
}

/// `script:` in place of `workflow:`: one step that runs the script's
/// iteration, its setup and teardown as hooks, `destinations:` as the
/// egress list, and every misuse named by its field.
#[test]
fn a_script_scenario_runs_its_script_and_declares_its_destinations() {
    let s = parse(
        "scenario:\n  id: s\n  load: {total_users: 2, iterations: 1}\n  script: j.wasm\n  destinations: ['127.0.0.1:8080', 'api.test:443']\nthresholds:\n  'latency{step:login}': ['p(95)<100']\n",
        &[],
    )
    .unwrap();
    let script = s.script.as_ref().unwrap();
    assert_eq!(script.file, "j.wasm");
    assert_eq!(
        s.components.get("script").map(String::as_str),
        Some("j.wasm")
    );
    assert_eq!(s.builtin_destinations().len(), 2);
    assert_eq!(s.workflow.len(), 3, "iteration, setup, teardown");
    assert!(s.setup.is_some() && s.teardown.is_some());
    assert_eq!(
        s.thresholds[0].filter.names.as_deref(),
        Some(&["login".to_string()][..]),
        "a script's request names are matched as it runs"
    );
    let base = "scenario:\n  id: s\n  load: {total_users: 1, iterations: 1}\n";
    for (extra, field, needle) in [
        (
            "  script: j.wasm\n",
            "scenario.destinations",
            "egress allow-list",
        ),
        (
            "  script: j.wasm\n  destinations: ['nope']\n",
            "scenario.destinations[0]",
            "",
        ),
        (
            "  script: j.wasm\n  destinations: ['127.0.0.1:1']\n  workflow: [{type: http, params: {url: 'http://127.0.0.1:1/'}}]\n",
            "scenario.script",
            "not both",
        ),
        (
            "  workflow: [{type: http, params: {url: 'http://127.0.0.1:1/'}}]\n  destinations: ['127.0.0.1:1']\n",
            "scenario.destinations",
            "only a script scenario",
        ),
        (
            "  workflow: [{type: script}]\n",
            "scenario.workflow[0].type",
            "unknown step type",
        ),
    ] {
        let (f, m) = field_error(&format!("{base}{extra}"));
        assert_eq!(f, field, "{extra}: {m}");
        assert!(m.contains(needle), "{extra}: {m}");
    }
    let (f, m) = field_error(&format!(
        "{base}  script: j.wasm\n  destinations: ['127.0.0.1:1']\nsetup: [{{type: http, params: {{url: 'http://127.0.0.1:1/'}}}}]\n"
    ));
    assert_eq!(
        (f.as_str(), m.contains("the script's own `setup`")),
        ("setup", true),
        "{m}"
    );
}

/// In a script scenario a threshold may name a custom metric (k6's
/// `my_trend: ["p(95)<200"]`), judged over the whole run; elsewhere an
/// unknown metric is still an error.
#[test]
fn a_script_scenario_may_hold_thresholds_on_its_custom_metrics() {
    let head = "scenario:\n  id: s\n  load: {total_users: 1, iterations: 1}\n  script: j.wasm\n  destinations: ['127.0.0.1:1']\nthresholds:\n";
    let s = parse(&format!("{head}  cart_ms: ['p(95)<200', 'count>0']\n"), &[]).unwrap();
    assert_eq!(s.thresholds[0].filter.custom.as_deref(), Some("cart_ms"));
    for (rule, field, needle) in [
        (
            "  'cart_ms{step:a}': ['count>0']\n",
            "thresholds.cart_ms{step:a}",
            "no step or scenario",
        ),
        (
            "  cart_ms: [{threshold: 'count>0', window: 10s}]\n",
            "thresholds.cart_ms[0].window",
            "whole run",
        ),
    ] {
        let (f, m) = field_error(&format!("{head}{rule}"));
        assert_eq!(f, field, "{m}");
        assert!(m.contains(needle), "{m}");
    }
    let (f, m) = field_error(
        "scenario:\n  id: s\n  load: {total_users: 1, iterations: 1}\n  workflow: [{type: http, params: {url: 'http://127.0.0.1:1/'}}]\nthresholds:\n  cart_ms: ['count>0']\n",
    );
    assert_eq!(f, "thresholds.cart_ms");
    assert!(m.contains("unknown metric"), "{m}");
}
