//! gRPC steps against a tonic server in test code: what the server
//! counted (calls, NOT_FOUND answers, streamed ticks, metadata,
//! connections) is compared with the report's `grpc_statuses` and
//! `grpc_messages`. The .proto is read at run time, with its import.

use test_kit as common;

use common::grpc::GrpcServer;
use common::host::{cli, ok, run, scratch};
use common::step;
use std::path::Path;

/// The test server's protos (scenarios/protos), copied beside the
/// scenario (`protos/…`).
fn protos(dir: &Path) {
    let from = common::root().join("scenarios/protos");
    std::fs::create_dir_all(dir.join("protos/common")).unwrap();
    for f in ["greeter.proto", "common/meta.proto"] {
        std::fs::copy(from.join(f), dir.join("protos").join(f)).unwrap();
    }
}

fn grpc_step(id: &str, target: &str, method: &str, rest: &str) -> String {
    format!(
        "    - id: {id}\n      type: grpc\n      params:\n        target: {target}\n        proto: protos/greeter.proto\n        method: bar.greeter.v1.Greeter/{method}\n{rest}"
    )
}

/// Unary calls with templates, metadata and extraction, an expected
/// NOT_FOUND, and a server-streaming call, over h2c: the server's counts
/// are the report's, and each user's calls share one connection.
#[test]
fn the_servers_counts_of_grpc_calls_equal_the_reports() {
    let dir = scratch("grpc-h2c");
    protos(&dir);
    let server = GrpcServer::start(false);
    let a = server.addr.to_string();
    let steps = [
        grpc_step(
            "hello",
            &a,
            "SayHello",
            "        message: {name: \"vu${vu}\", times: 2, tags: [a, b], meta: {source: yaml}}\n        metadata: {x-tenant: \"${env.TENANT}\"}\n      extract: {serial: {json: /serial}}\n      expect_json: {/message: \"hello vu${vu}hello vu${vu}\", /tenant: acme}\n",
        ),
        grpc_step(
            "again",
            &a,
            "SayHello",
            "        message: {name: \"s${serial}\"}\n      expect_json: {/tags: \"[]\"}\n",
        ),
        grpc_step(
            "missing",
            &a,
            "SayHello",
            "        message: {name: missing}\n      expect_grpc_status: NOT_FOUND\n",
        ),
        grpc_step(
            "countdown",
            &a,
            "Countdown",
            "        message: {from: 4}\n        expect_messages: 4\n      expect_json: {/0/left: 4, /3/left: 1}\n",
        ),
    ]
    .concat();
    let yaml = common::workflow("grpc", "", 2, 3, &steps);
    let (out, report) = run(&dir, &yaml, &["--env", "TENANT=acme"]);
    ok(&out);
    let r = report.unwrap();
    assert_eq!(r["failed"], 0, "{r:#}");
    let seen = server.seen();
    // The server's counts.
    assert_eq!(seen.hello, 12, "{seen:?}");
    assert_eq!(seen.not_found, 6);
    assert_eq!(seen.countdowns, 6);
    assert_eq!(seen.ticks, 24);
    assert_eq!(seen.tenants.get("acme"), Some(&6), "{seen:?}");
    // The report's, the same.
    assert_eq!(
        r["grpc_statuses"]["OK"],
        seen.hello + seen.countdowns,
        "{r:#}"
    );
    assert_eq!(r["grpc_statuses"]["NOT_FOUND"], seen.not_found);
    assert_eq!(r["grpc_messages"], seen.hello + seen.ticks);
    assert_eq!(step(&r, "countdown")["grpc_messages"], 24);
    assert_eq!(step(&r, "missing")["grpc_statuses"]["NOT_FOUND"], 6);
    assert_eq!(r["http_versions"]["HTTP/2"], 24);
    // Templates, the imported message type and the extracted serial
    // reached the server.
    let names: Vec<&str> = seen.names.iter().map(|(n, ..)| n.as_str()).collect();
    for vu in 0..2 {
        assert_eq!(names.iter().filter(|n| **n == format!("vu{vu}")).count(), 3);
    }
    assert!(
        seen.names
            .iter()
            .filter(|(n, ..)| n.starts_with("vu"))
            .all(|(_, tags, source)| tags == &["a", "b"] && source == "yaml"),
        "{seen:?}"
    );
    let serials = names.iter().filter(|n| n.starts_with('s')).count();
    assert_eq!(serials, 6, "{names:?}");
    // One connection per user, every call a stream of it.
    assert_eq!(seen.connections, 2, "{seen:?}");
    assert_eq!(seen.sources.values().sum::<u64>(), 24);
}

/// TLS (ALPN h2) with the scenario's CA, as an https step would.
#[test]
fn grpc_over_tls_uses_the_scenarios_ca_and_one_handshake_per_user() {
    let dir = scratch("grpc-tls");
    protos(&dir);
    let server = GrpcServer::start(true);
    std::fs::write(dir.join("ca.pem"), server.ca_pem.as_ref().unwrap()).unwrap();
    let steps = grpc_step(
        "hello",
        &server.addr.to_string(),
        "SayHello",
        "        message: {name: tls}\n        tls: true\n      expect_json: {/message: hello tls}\n",
    );
    let yaml = common::workflow("grpc-tls", "  tls:\n    ca_file: ca.pem\n", 2, 3, &steps);
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = report.unwrap();
    assert_eq!(r["failed"], 0, "{r:#}");
    assert_eq!(server.seen().hello, 6);
    assert_eq!(r["grpc_statuses"]["OK"], 6);
    assert_eq!(step(&r, "hello")["tls"]["handshakes"], 2, "{r:#}");
    assert_eq!(server.seen().connections, 2);
}

/// A status other than the expected one is a failed check, counted under
/// its status; the reply's message is in the error.
#[test]
fn an_unexpected_grpc_status_is_a_failed_check() {
    let dir = scratch("grpc-status");
    protos(&dir);
    let server = GrpcServer::start(false);
    let steps = grpc_step(
        "missing",
        &server.addr.to_string(),
        "SayHello",
        "        message: {name: missing}\n",
    );
    let yaml = common::workflow("grpc-status", "", 1, 2, &steps);
    let (_, report) = run(&dir, &yaml, &[]);
    let r = report.unwrap();
    assert_eq!(server.seen().not_found, 2);
    assert_eq!(r["failed"], 2, "{r:#}");
    assert_eq!(r["grpc_statuses"]["NOT_FOUND"], 2);
    let e = &r["errors"]["check-failed"];
    assert_eq!(e["count"], 2);
    assert_eq!(
        e["samples"][0],
        "grpc-status NOT_FOUND (\"no user named missing\"), expected OK"
    );
    // The summary says it too.
    std::fs::write(dir.join("status.yaml"), &yaml).unwrap();
    let out = cli(&dir, &["run", "status.yaml", "--out", "again.json"]);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("grpc statuses: NOT_FOUND: 2\n"),
        "{summary}"
    );
}

/// A bad proto, an unknown method and a message that does not fit are bad
/// input: exit 2, one line naming the file and the field, nothing sent.
#[test]
fn a_bad_proto_method_or_message_is_exit_2_naming_the_field() {
    let dir = scratch("grpc-bad");
    protos(&dir);
    std::fs::write(
        dir.join("protos/broken.proto"),
        "syntax = \"proto3\";\nmessage A {\n  string name = 1\n}\n",
    )
    .unwrap();
    let server = GrpcServer::start(false);
    let a = server.addr.to_string();
    let cases = [
        (
            "    - id: p\n      type: grpc\n      params: {target: \"A\", proto: protos/broken.proto, method: a.B/C}\n".replace("A\"", &format!("{a}\"")),
            "scenario field scenario.workflow[0].params.proto: protos/broken.proto:4:1: expected ';'",
        ),
        (
            grpc_step("m", &a, "Wave", ""),
            "scenario field scenario.workflow[0].params.method: no method Wave in service bar.greeter.v1.Greeter (it has: SayHello, Countdown)",
        ),
        (
            grpc_step("f", &a, "SayHello", "        message: {nmae: x}\n"),
            "scenario field scenario.workflow[0].params.message.nmae: no field nmae in bar.greeter.v1.HelloRequest",
        ),
        (
            grpc_step("t", &a, "SayHello", "        message: {times: many}\n"),
            "scenario field scenario.workflow[0].params.message.times: invalid digit found in string\n",
        ),
        (
            grpc_step("n", &a, "SayHello", "        message: {meta: {sauce: x}}\n"),
            "scenario field scenario.workflow[0].params.message.meta.sauce: no field sauce in bar.common.v1.Meta",
        ),
        (
            grpc_step("d", &a, "SayHello", "        message: {meta: {source: [1]}}\n"),
            "scenario field scenario.workflow[0].params.message.meta.source: invalid type: sequence, expected a string\n",
        ),
        (
            "    - {id: x, type: grpc, params: {target: \"T\", proto: protos/none.proto, method: a.B/C}}\n".replace("T\"", &format!("{a}\"")),
            "scenario file protos/none.proto: cannot read it",
        ),
    ];
    for (steps, want) in cases {
        let yaml = common::workflow("bad", "", 1, 1, &steps);
        std::fs::write(dir.join("bad.yaml"), &yaml).unwrap();
        for command in ["validate", "run"] {
            let out = cli(&dir, &[command, "bad.yaml"]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command}: {err}\n{yaml}");
            assert!(err.contains(want), "{command}: {err}\nwanted: {want}");
            // Named in the file, as a parse error is.
            assert!(err.starts_with("error: bad.yaml: "), "{err}");
            assert_eq!(err.trim().lines().count(), 1, "{err}");
        }
    }
    // A template in a typed field passes validation (the run fills it in).
    let steps = grpc_step(
        "t",
        &a,
        "SayHello",
        "        message: {name: x, times: \"${vu}\"}\n",
    );
    std::fs::write(
        dir.join("ok.yaml"),
        common::workflow("ok", "", 1, 1, &steps),
    )
    .unwrap();
    ok(&cli(&dir, &["validate", "ok.yaml"]));
    assert_eq!(server.seen().names.len(), 0, "nothing was sent");
}

/// Stock `wasmtime run`, the proto read through `--dir`.
#[test]
fn grpc_runs_in_stock_wasmtime() {
    let dir = scratch("grpc-plain");
    protos(&dir);
    let server = GrpcServer::start(false);
    let steps = grpc_step(
        "hello",
        &server.addr.to_string(),
        "Countdown",
        "        message: {from: 3}\n        expect_messages: 3\n",
    );
    std::fs::write(
        dir.join("plain.yaml"),
        common::workflow("plain", "", 2, 2, &steps),
    )
    .unwrap();
    let out = common::plain_file(&dir, "plain.yaml");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = server.seen();
    assert_eq!((seen.countdowns, seen.ticks), (4, 12), "{seen:?}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["grpc_messages"], 12, "{r:#}");
    assert_eq!(r["grpc_statuses"]["OK"], 4);
}
