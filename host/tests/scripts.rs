//! `scheduler-host script build`: JavaScript and Python journeys compiled
//! to components of the `scheduler:script` world (the tools installed when
//! missing), and scripts that do not build named by file and line.

use test_kit as common;

use common::host::{cli, ok, run, scratch};
use common::{num, step};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The world a built component targets: its imports and exports by name.
fn world(path: &Path) -> (Vec<String>, Vec<String>) {
    let bytes = std::fs::read(path).unwrap();
    let wit_component::DecodedWasm::Component(resolve, world) =
        wit_component::decode(&bytes).unwrap()
    else {
        panic!("not a component");
    };
    let names = |items: &indexmap::IndexMap<wit_parser::WorldKey, wit_parser::WorldItem>| {
        items
            .keys()
            .map(|k| resolve.name_world_key(k))
            .collect::<Vec<_>>()
    };
    let w = &resolve.worlds[world];
    (names(&w.imports), names(&w.exports))
}

/// The example journey in `lang` ("js", "python", "rust"), built once per
/// test process: JavaScript and Python by `scheduler-host script build`
/// (which installs the compilers when missing), Rust by cargo.
fn built(lang: &str) -> PathBuf {
    static BUILT: Mutex<Vec<(String, PathBuf)>> = Mutex::new(Vec::new());
    let mut done = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, p)) = done.iter().find(|(l, _)| l == lang) {
        return p.clone();
    }
    let dir = common::root().join("target/scripts");
    std::fs::create_dir_all(&dir).unwrap();
    let wasm = match lang {
        "rust" => {
            let out = std::process::Command::new(env!("CARGO"))
                .current_dir(common::root().join("examples/scripts/rust"))
                .args(["build", "--release", "--target", "wasm32-wasip2"])
                .env("CARGO_TARGET_DIR", &dir)
                .output()
                .unwrap();
            ok(&out);
            dir.join("wasm32-wasip2/release/journey.wasm")
        }
        _ => {
            let source = match lang {
                "js" => "examples/scripts/js/journey.js",
                _ => "examples/scripts/python/journey.py",
            };
            let wasm = dir.join(format!("{lang}.wasm"));
            let source = common::root().join(source);
            ok(&cli(
                &dir,
                &[
                    "script",
                    "build",
                    source.to_str().unwrap(),
                    "-o",
                    wasm.to_str().unwrap(),
                ],
            ));
            wasm
        }
    };
    done.push((lang.to_string(), wasm.clone()));
    wasm
}

/// Each example journey is a component that imports the SDK and exports
/// the journey (nothing else of ours, and no wasi:http: its requests go
/// through the SDK).
#[test]
fn the_example_journeys_build_to_script_components() {
    for lang in ["js", "python", "rust"] {
        let (imports, exports) = world(&built(lang));
        assert!(
            imports.contains(&"scheduler:script/sdk@0.1.0".to_string()),
            "{lang}: {imports:?}"
        );
        let ours: Vec<&String> = exports
            .iter()
            .filter(|e| e.starts_with("scheduler:"))
            .collect();
        assert_eq!(
            ours,
            ["scheduler:script/journey@0.1.0"],
            "{lang}: {exports:?}"
        );
        assert!(
            !imports.iter().any(|i| i.starts_with("wasi:http")),
            "{lang}: {imports:?}"
        );
    }
}

/// The login → token → /me journey, in each language, against the shop,
/// which checks every token: its counts are the report's.
#[test]
fn each_language_logs_in_and_the_server_counts_match_the_report() {
    for lang in ["js", "python", "rust"] {
        let shop = common::shop::start(4);
        let dir = scratch(&format!("script-run-{lang}"));
        std::fs::write(dir.join("users.csv"), common::shop::users_csv(4)).unwrap();
        std::fs::copy(built(lang), dir.join("journey.wasm")).unwrap();
        let yaml = format!(
            "scenario:\n  id: {lang}\n  load: {{total_users: 3, iterations: 4}}\n  script: journey.wasm\n  destinations: [\"{addr}\"]\ndata:\n  users: {{file: users.csv, mode: per-vu}}\nthresholds:\n  \"latency{{step:me}}\": [\"p(95)<2000\"]\n  checks: [\"rate==1\"]\n  journeys: [\"count==12\"]\n  login_ms: [\"count==12\", \"p(95)<2000\"]\n",
            addr = shop.addr
        );
        let base = format!("BASE=http://{}", shop.addr);
        let html = dir.join("report.html");
        let (out, report) = run(
            &dir,
            &yaml,
            &["--env", &base, "--html", html.to_str().unwrap()],
        );
        ok(&out);
        let r = report.unwrap();
        let page = std::fs::read_to_string(&html).unwrap();
        assert!(
            page.contains("<tr data-row=\"journeys\"><td>journeys</td><td>counter</td><td data-field=\"count\">12</td><td data-field=\"sum\">12</td>"),
            "{lang}: the HTML report's custom metrics"
        );
        let l = shop.ledger.lock().unwrap();
        let (login, me) = (step(&r, "login"), step(&r, "me"));
        assert_eq!(
            l.logins.len() as u64,
            num(login, "successful"),
            "{lang}: {r:#}"
        );
        assert_eq!(l.me_ok as u64, num(me, "successful"), "{lang}");
        assert_eq!(
            (l.logins.len(), l.me_ok, l.me_refused, l.bad_logins),
            (12, 12, 0, 0),
            "{lang}"
        );
        assert_eq!(num(&r, "iterations"), 12, "{lang}");
        assert_eq!(
            (num(me, "checks_passed"), num(me, "checks_failed")),
            (12, 0),
            "{lang}"
        );
        // per-vu rows: user i logs in as user i, every time.
        let users: std::collections::BTreeSet<&str> =
            l.logins.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(users.len(), 3, "{lang}: {:?}", l.logins);
        assert_eq!(r["custom"]["journeys"]["sum"], 12.0, "{lang}");
        assert_eq!(num(&r["custom"]["login_ms"], "count"), 12, "{lang}");
        let verdicts = r["thresholds"].as_array().unwrap();
        assert_eq!(verdicts.len(), 5, "{lang}");
        assert!(
            verdicts.iter().all(|t| t["ok"] == true),
            "{lang}: {verdicts:#?}"
        );
        let journeys = verdicts.iter().find(|v| v["metric"] == "journeys").unwrap();
        assert_eq!(
            journeys["value"], 12.0,
            "{lang}: a counter's count is its sum"
        );
    }
}

/// One user's script misbehaves in every way a script can: its setup's
/// values reach every user and teardown runs once; a request outside
/// `destinations` is egress-denied (the server never sees it); an
/// exception fails its iteration with the script's message, and the user
/// goes on; grouped requests are named `group/name`.
#[test]
fn a_script_that_throws_or_strays_fails_only_that_and_the_run_goes_on() {
    let shop = common::shop::start(2);
    let dir = scratch("script-faults");
    let js = r#"import { http, check, group, env } from "scheduler:script";
export function setup() {
  const r = http.post(`${env("BASE")}/tenant`, { headers: { "X-Admin": "secret" }, name: "tenant" });
  return { tenant: r.json().tenant };
}
export function iteration(ctx) {
  const h = { headers: { "X-Tenant": ctx.setup.tenant } };
  group("shop", () => {
    const r = http.post(`${env("BASE")}/login`, { ...h, json: { user: "user1", password: "pw1" } });
    check(r, { "logged in": (r) => r.status === 200 });
  });
  http.get(`${env("STRAY")}/`, { name: "stray" });
  if (ctx.iteration === 1) {
    throw new Error(`user ${ctx.vu} gives up`);
  }
}
export function teardown() {
  http.del(`${env("BASE")}/tenant/t-1`, { headers: { "X-Tenant": "t-1" }, name: "drop" });
}
"#;
    std::fs::write(dir.join("faults.js"), js).unwrap();
    ok(&cli(
        &dir,
        &["script", "build", "faults.js", "-o", "faults.wasm"],
    ));
    // A second loopback address: a listener the scenario does not list.
    let stray = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let stray_addr = stray.local_addr().unwrap();
    stray.set_nonblocking(true).unwrap();
    let yaml = format!(
        "scenarios:\n  s:\n    executor: per-vu-iterations\n    vus: 2\n    iterations: 3\n    script: faults.wasm\ndestinations: [\"{}\"]\n",
        shop.addr
    );
    let base = format!("BASE=http://{}", shop.addr);
    let stray_env = format!("STRAY=http://{stray_addr}");
    let (out, report) = run(&dir, &yaml, &["--env", &base, "--env", &stray_env]);
    let r = report.unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let l = shop.ledger.lock().unwrap();
    assert_eq!(
        (l.tenants_created, l.tenants_deleted, l.wrong_tenant),
        (1, 1, 0)
    );
    let login = step(&r, &format!("shop/POST http://{}/login", shop.addr));
    assert_eq!((l.logins.len(), num(login, "successful")), (6, 6));
    assert!(
        stray.accept().is_err(),
        "the stray request reached its server"
    );
    let strays = step(&r, "stray");
    assert_eq!(
        num(&strays["errors"]["egress-denied"], "count"),
        6,
        "{strays:#}"
    );
    let thrown = step(&r, "(iteration threw)");
    assert_eq!(num(&thrown["errors"]["script-error"], "count"), 2);
    let message = thrown["errors"]["script-error"]["samples"][0]
        .as_str()
        .unwrap();
    assert!(
        message.starts_with("Error: user ") && message.contains("gives up"),
        "{message}"
    );
    assert_eq!(num(&r, "iterations"), 6);
    assert_eq!(num(&r["setup"][0], "successful"), 1, "{:#}", r["setup"]);
    assert_eq!(r["teardown"][0]["id"], "drop");
}
/// A script that does not build, or imports what the SDK does not have,
/// is exit 2 with one line naming its file and line.
#[test]
fn a_script_that_does_not_build_is_named_by_file_and_line() {
    let dir = scratch("script-bad");
    let cases = [
        (
            "broken.js",
            "import { http } from \"scheduler:script\";\nexport function iteration() {\n  let x = ;\n}\n",
            "broken.js:3:11 SyntaxError: expected expression",
        ),
        (
            "nope.js",
            "import { nope } from \"scheduler:script\";\nexport function iteration() { nope(); }\n",
            "nope.js:1:10 SyntaxError: The requested module 'scheduler:script' doesn't provide an export named: 'nope'",
        ),
        (
            "broken.py",
            "from scheduler_script import http\n\ndef iteration(ctx)\n    pass\n",
            "broken.py:3: SyntaxError: expected ':'",
        ),
        (
            "nope.py",
            "from scheduler_script import nope\n\ndef iteration(ctx):\n    nope()\n",
            "nope.py:1: ImportError: cannot import name 'nope' from 'scheduler_script'",
        ),
        (
            "journey.rb",
            "puts 1\n",
            "journey.rb: expected a .js or .py script",
        ),
    ];
    for (file, text, want) in cases {
        std::fs::write(dir.join(file), text).unwrap();
        let out = cli(&dir, &["script", "build", file, "-o", "out.wasm"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        let last = err.trim_end().lines().last().unwrap_or_default();
        assert!(last.contains(want), "{file}: {err}\nwanted: {want}");
        assert!(
            !dir.join("out.wasm").exists(),
            "{file}: a component was written"
        );
    }
}

/// A script component that imports something the SDK does not provide
/// (here an interface of its own) is refused before any traffic, naming
/// the import; so is one built against another version of the SDK.
#[test]
fn a_script_importing_what_the_sdk_does_not_provide_is_refused_before_the_run() {
    let dir = scratch("script-imports");
    let shop = common::shop::start(1);
    for (file, import, version) in [
        ("raw.wasm", "import raw;", "0.1.0"),
        ("old.wasm", "", "0.0.9"),
    ] {
        std::fs::write(dir.join(file), script_component(import, version)).unwrap();
        let yaml = format!(
            "scenario:\n  id: i\n  load: {{total_users: 1, iterations: 1}}\n  script: {file}\n  destinations: [\"{}\"]\n",
            shop.addr
        );
        let (out, report) = run(&dir, &yaml, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(report.is_none(), "{file}");
        let want = match version {
            "0.1.0" => "imports evil:net/raw, which no script is given".to_string(),
            v => format!(
                "it does not export scheduler:script/journey@0.1.0 (it exports: scheduler:script/journey@{v})"
            ),
        };
        assert!(
            err.contains("scenario field scenario.script") && err.contains(&want),
            "{file}: {err}"
        );
    }
    assert_eq!(shop.ledger.lock().unwrap().logins.len(), 0);
}

/// A component of the script world at `version` with `import` added:
/// wit-component's dummy module (every function traps; never called).
fn script_component(import: &str, version: &str) -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    let sdk = std::fs::read_to_string(common::root().join("wit/script/script.wit"))
        .unwrap()
        .replace(
            "scheduler:script@0.1.0",
            &format!("scheduler:script@{version}"),
        );
    resolve.push_str("script.wit", &sdk).unwrap();
    let pkg = resolve
        .push_str(
            "evil.wit",
            &format!(
                "package evil:net;\ninterface raw {{ open: func() -> u32; }}\nworld w {{ {import} import scheduler:script/sdk@{version}; export scheduler:script/journey@{version}; }}\n"
            ),
        )
        .unwrap();
    let world = resolve.select_world(&[pkg], Some("w")).unwrap();
    let mut module =
        wit_component::dummy_module(&resolve, world, wit_parser::ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .unwrap();
    wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}

/// Stock wasmtime: the script composed into the slot with `wac`, the
/// scenario run by `run-scenario`; the shop sees every user's logins.
#[test]
fn a_script_composed_with_wac_runs_in_stock_wasmtime() {
    let shop = common::shop::start(3);
    let dir = scratch("script-plain");
    let js = format!(
        "import {{ http, check }} from \"scheduler:script\";\nexport function iteration(ctx) {{\n  const r = http.post(\"http://{}/login\", {{ json: {{ user: `user${{ctx.vu}}`, password: `pw${{ctx.vu}}` }}, name: \"login\" }});\n  check(r, {{ ok: (r) => r.status === 200 }});\n}}\n",
        shop.addr
    );
    std::fs::write(dir.join("plain.js"), js).unwrap();
    ok(&cli(
        &dir,
        &["script", "build", "plain.js", "-o", "plain.wasm"],
    ));
    let parts = common::root().join("target/parts");
    let composed = dir.join("with-script.wasm");
    let out = std::process::Command::new("wac")
        .arg("compose")
        .arg(common::root().join("compositions/scheduler.wac"))
        .arg("--deps-dir")
        .arg(&parts)
        .arg("--dep")
        .arg(format!(
            "component:script={}",
            dir.join("plain.wasm").display()
        ))
        .arg("-o")
        .arg(&composed)
        .output()
        .unwrap();
    ok(&out);
    let yaml = format!(
        "scenario:\n  id: p\n  load: {{total_users: 3, iterations: 2}}\n  script: plain.wasm\n  destinations: [\"{}\"]\n",
        shop.addr
    );
    let r = common::invoke_file(&composed, &yaml).unwrap();
    let login = step(&r, "login");
    let l = shop.ledger.lock().unwrap();
    assert_eq!((l.logins.len(), num(login, "successful")), (6, 6));
    assert_eq!(num(login, "checks_passed"), 6);
    let users: std::collections::BTreeSet<&str> =
        l.logins.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(users.len(), 3, "{:?}", l.logins);
}

/// Two shards of a script run merge exactly: the requests' steps by name,
/// the custom counter summed, the trend's histograms added.
#[test]
fn shards_of_a_script_run_merge_their_steps_and_custom_metrics() {
    let shop = common::shop::start(4);
    let dir = scratch("script-merge");
    std::fs::write(dir.join("users.csv"), common::shop::users_csv(4)).unwrap();
    std::fs::copy(built("js"), dir.join("journey.wasm")).unwrap();
    let yaml = format!(
        "scenario:\n  id: m\n  load: {{total_users: 4, iterations: 3}}\n  script: journey.wasm\n  destinations: [\"{}\"]\ndata:\n  users: {{file: users.csv, mode: per-vu}}\nthresholds:\n  journeys: [\"count==12\"]\n",
        shop.addr
    );
    std::fs::write(dir.join("m.yaml"), &yaml).unwrap();
    let base = format!("BASE=http://{}", shop.addr);
    let mut files = Vec::new();
    for i in 0..2 {
        let out = dir.join(format!("shard-{i}.json"));
        let shard = format!("{i}/2");
        let args = [
            "run",
            "m.yaml",
            "--quiet",
            "--env",
            &base,
            "--shard",
            &shard,
            "--out",
            out.to_str().unwrap(),
        ];
        // A shard alone counts 6 journeys: its threshold fails (99).
        assert_eq!(cli(&dir, &args).status.code(), Some(99));
        files.push(out);
    }
    let merged = dir.join("merged.json");
    let mut args = vec!["merge".to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    args.extend(["--out".to_string(), merged.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&cli(&dir, &args));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&merged).unwrap()).unwrap();
    let l = shop.ledger.lock().unwrap();
    assert_eq!((l.logins.len(), l.me_ok), (12, 12));
    assert_eq!(num(step(&r, "login"), "successful"), 12, "{r:#}");
    assert_eq!(num(step(&r, "me"), "successful"), 12);
    assert_eq!(r["custom"]["journeys"]["sum"], 12.0);
    assert_eq!(
        r["thresholds"][0]["ok"], true,
        "judged again on the merged counter: {:#}",
        r["thresholds"]
    );
    let trend = &r["custom"]["login_ms"];
    assert_eq!(num(trend, "count"), 12);
    let (p50, max) = (
        trend["p50"].as_f64().unwrap(),
        trend["max"].as_f64().unwrap(),
    );
    assert!(p50 > 0.0 && p50 <= max, "{trend:#}");
}
