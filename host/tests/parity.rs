//! scheduler-host: scheduler-host and stock wasmtime count the same scenario alike.

use test_kit as common;

use common::host::{ok, run, scratch};
use common::{invoke, num, scenario, target};
use serde_json::Value;

#[test]
fn host_and_plain_wasmtime_agree_on_counts() {
    let yaml_for = |t: &scheduler_host::loopback::LoopbackTarget| {
        scenario(
            "scenario:\n  id: parity\n  load: {total_users: 1, iterations: 5}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n    - {type: http, params: {url: 'http://{http}/status/404'}}\n    - {type: tcp, params: {target: '{tcp}', payload: \"a\\n\", expect: a}}\n    - {type: udp, params: {target: '{udp}', payload: b, expect: c}}\n",
            t,
        )
    };
    let t1 = target();
    let plain = invoke(&yaml_for(&t1)).unwrap();
    let t2 = target();
    let (out, host) = run(&scratch("parity"), &yaml_for(&t2), &[]);
    ok(&out);
    let host = host.unwrap();
    for key in [
        "total_requests",
        "successful",
        "failed",
        "iterations",
        "status_codes",
    ] {
        assert_eq!(plain[key], host[key], "{key}");
    }
    let kinds = |r: &Value| {
        r["errors"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v["count"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(kinds(&plain), kinds(&host));
    assert_eq!(num(&host, "failed"), 10, "404s and udp expect mismatches");
}
