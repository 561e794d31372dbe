//! User journeys: variables, extraction, checks, test data, setup and
//! teardown, asserted against what the shop (`common::shop`) saw.

use test_kit as common;

use common::host::{ok, run, scratch};
use common::{num, shop, step};
use serde_json::Value;

/// Login → cart → order for `vus` users, with setup and teardown; `{addr}`
/// is the shop, `{mode}` the users' data mode.
const JOURNEY: &str = r#"
id: shop
data:
  users: {file: users.csv, mode: per-vu}
setup:
  - id: tenant
    type: http
    params: {method: POST, url: "http://{addr}/tenant", headers: {X-Admin: "${env.ADMIN}"}}
    assert_status: 201
    extract:
      tenant: {json: /tenant}
teardown:
  - id: drop-tenant
    type: http
    params: {method: DELETE, url: "http://{addr}/tenant/${setup.tenant}", headers: {X-Tenant: "${setup.tenant}"}}
    assert_status: 204
scenarios:
  shoppers:
    executor: per-vu-iterations
    vus: {vus}
    iterations: 2
    workflow:
      - id: login
        type: http
        params:
          method: POST
          url: "http://{addr}/login"
          headers: {X-Vu: "${vu}", X-Tenant: "${setup.tenant}"}
          json: {user: "${users.name}", password: "${users.password}"}
        extract:
          token: {json: /auth/token}
          code: {status: true}
        expect_header: {Content-Type: application/json}
        expect_json: {/status: ok}
      - id: cart
        type: http
        params:
          url: "http://{addr}/cart?user=${users.name}"
          headers: {Authorization: "Bearer ${token}", X-Tenant: "${setup.tenant}"}
        extract:
          csrf: {regex: 'name="csrf" value="([^"]+)"'}
        max_latency: 5s
      - id: order
        type: http
        params:
          method: POST
          url: "http://{addr}/order"
          headers: {Authorization: "Bearer ${token}", X-Tenant: "${setup.tenant}", X-Code: "${code}"}
          form: {csrf: "${csrf}", item: "7"}
        expect_json: {/items/0/id: 7}
"#;

const ROWS: usize = 20;

fn journey(shop: &shop::Shop, vus: u32) -> String {
    JOURNEY
        .replace("{addr}", &shop.addr.to_string())
        .replace("{vus}", &vus.to_string())
}

/// What the shop saw of a journey run by `vus` users × 2 iterations with
/// per-vu rows over `ROWS` accounts.
fn assert_shop_saw_the_journey(shop: &shop::Shop, vus: usize) {
    let l = shop.ledger.lock().unwrap();
    assert_eq!(
        (l.tenants_created, l.tenants_deleted),
        (1, 1),
        "setup and teardown ran once: {l:?}"
    );
    assert_eq!(l.wrong_tenant, 0, "every request carried setup's tenant");
    assert_eq!(l.bad_logins, 0);
    assert_eq!(l.logins.len(), vus * 2);
    // per-vu: user n logs in as row n mod rows, every iteration.
    for (user, vu) in &l.logins {
        let vu = vu.expect("X-Vu sent");
        assert_eq!(
            *user,
            format!("user{}", vu as usize % ROWS),
            "user {vu}'s row"
        );
    }
    // Each cart carried the token issued to the user it names, with its cookie.
    assert_eq!((l.carts_ok, l.carts_refused), (vus * 2, 0));
    // Each order carried the CSRF value its cart page held.
    assert_eq!((l.orders_ok, l.orders_refused), (vus * 2, 0));
}

#[test]
fn fifty_users_log_in_and_order_with_their_own_token_and_row() {
    let shop = shop::start(ROWS);
    let dir = scratch("journey");
    std::fs::write(dir.join("users.csv"), shop::users_csv(ROWS)).unwrap();
    let (out, report) = run(&dir, &journey(&shop, 50), &["--env", "ADMIN=secret"]);
    ok(&out);
    assert_shop_saw_the_journey(&shop, 50);
    let r = report.unwrap();
    common::schema::check(&r);
    // The load's own requests: setup's and teardown's are reported apart.
    assert_eq!(num(&r, "total_requests"), 300, "{r:#}");
    assert_eq!(num(&r, "failed"), 0, "{:#}", r["errors"]);
    assert_eq!(r["setup"][0]["total_requests"], 1);
    assert_eq!(r["teardown"][0]["total_requests"], 1);
    // Per check: login 3 (status, header, json), cart 2, order 2.
    assert_eq!(num(step(&r, "login"), "checks_passed"), 300);
    assert_eq!(num(step(&r, "cart"), "checks_passed"), 200);
    assert_eq!(num(&r, "checks_passed"), 700);
    assert_eq!(num(&r, "checks_failed"), 0);
}

#[test]
fn a_failed_setup_runs_no_load_and_exits_97() {
    let shop = shop::start(ROWS);
    let dir = scratch("journey-setup");
    std::fs::write(dir.join("users.csv"), shop::users_csv(ROWS)).unwrap();
    // The shop refuses a wrong admin key (403): setup's assert_status fails.
    let (out, report) = run(&dir, &journey(&shop, 5), &["--env", "ADMIN=wrong"]);
    assert_eq!(
        out.status.code(),
        Some(97),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report.expect("the report is still written");
    common::schema::check(&r);
    assert!(
        r["setup_failed"]
            .as_str()
            .unwrap()
            .contains("setup step \"tenant\" failed: check-failed"),
        "{r:#}"
    );
    assert_eq!(num(&r, "total_requests"), 0);
    assert_eq!(r["setup"][0]["failed"], 1);
    let l = shop.ledger.lock().unwrap();
    assert_eq!(
        (l.logins.len(), l.tenants_deleted),
        (0, 0),
        "no load, no teardown"
    );
}

#[test]
fn the_same_journey_runs_in_stock_wasmtime() {
    let shop = shop::start(ROWS);
    let dir = scratch("journey-plain");
    std::fs::write(dir.join("users.csv"), shop::users_csv(ROWS)).unwrap();
    std::fs::write(dir.join("scenario.yaml"), journey(&shop, 5)).unwrap();
    let out = std::process::Command::new("wasmtime")
        .args([
            "run",
            "-S",
            "inherit-network",
            "--env",
            "ADMIN=secret",
            "--dir",
        ])
        .arg(&dir)
        .arg(common::wasm())
        .arg(dir.join("scenario.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("the JSON report");
    assert_shop_saw_the_journey(&shop, 5);
    assert_eq!(num(&r, "total_requests"), 30);
    assert_eq!(num(&r, "checks_passed"), 70);
}

#[test]
fn unique_rows_are_used_once_and_then_users_stop() {
    let shop = shop::start(30);
    let dir = scratch("journey-unique");
    std::fs::write(dir.join("users.csv"), shop::users_csv(30)).unwrap();
    let yaml = format!(
        r#"
data:
  users: {{file: users.csv, mode: unique}}
scenario:
  id: unique
  load: {{total_users: 10, iterations: 10}}
  workflow:
    - id: login
      type: http
      params:
        method: POST
        url: "http://{addr}/login"
        headers: {{X-Tenant: t-1}}
        json: {{user: "${{users.name}}", password: "${{users.password}}"}}
"#,
        addr = shop.addr
    );
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    let l = shop.ledger.lock().unwrap();
    let mut names: Vec<&String> = l.logins.iter().map(|(u, _)| u).collect();
    assert_eq!(names.len(), 30, "every row once");
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 30, "no row twice");
    let r = report.unwrap();
    assert_eq!(num(&r, "total_requests"), 30);
    // Each of the 10 users stopped once, when no row was left.
    assert_eq!(num(&r, "out_of_data"), 10, "{r:#}");
}

#[test]
fn failed_extractions_missing_variables_and_checks_are_counted_by_kind() {
    let shop = shop::start(2);
    let dir = scratch("journey-errors");
    let yaml = format!(
        r#"
scenario:
  id: errors
  load: {{total_users: 1, iterations: 2}}
  workflow:
    - id: early
      type: http
      params:
        url: "http://{addr}/cart?user=${{name}}"
        headers: {{X-Tenant: t-1}}
      assert_status: 401
    - id: login
      type: http
      params:
        method: POST
        url: "http://{addr}/login"
        headers: {{X-Tenant: t-1}}
        json: {{user: user1, password: pw1}}
      extract:
        name: {{regex: 'tok-(user[0-9]+)'}}
        nothing: {{json: /auth/missing}}
      expect_header: {{Content-Type: text/html}}
      expect_json: {{/status: ok}}
"#,
        addr = shop.addr
    );
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = report.unwrap();
    let early = step(&r, "early");
    // Iteration 1: ${{name}} is not set yet (not sent); iteration 2 has it.
    let (count, message) = first_error(early, "missing-variable");
    assert_eq!(count, 1, "{early:#}");
    assert!(message.contains("${name}"));
    assert_eq!(num(early, "checks_passed"), 1, "the second iteration's 401");
    let login = step(&r, "login");
    // The header check fails (named), the status and JSON checks pass.
    let (count, message) = first_error(login, "check-failed");
    assert_eq!(count, 2, "{login:#}");
    assert!(message.contains("expect_header.Content-Type"));
    assert_eq!(
        (num(login, "checks_passed"), num(login, "checks_failed")),
        (4, 2)
    );
    // The server saw the one request that could be sent of `early`.
    assert_eq!(shop.ledger.lock().unwrap().carts_refused, 1);

    // A step whose only failure is an extraction: extract-failed, naming it.
    let yaml = yaml.replace("Content-Type: text/html", "Content-Type: application/json");
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    let login = step(report.as_ref().unwrap(), "login");
    let (count, message) = first_error(login, "extract-failed");
    assert_eq!(count, 2, "{login:#}");
    assert!(message.contains("nothing (json /auth/missing)"));
}

/// How many errors of `kind` a step report counts, and its first message.
fn first_error<'a>(step: &'a Value, kind: &str) -> (u64, &'a str) {
    let e = &step["errors"][kind];
    let count = e["count"].as_u64().unwrap_or(0);
    (count, e["samples"][0].as_str().unwrap_or_default())
}

#[test]
fn bad_templates_and_data_files_exit_2_naming_file_line_and_field() {
    let dir = scratch("journey-bad");
    std::fs::write(dir.join("ragged.csv"), "name,password\nann,a\nbob\n").unwrap();
    std::fs::write(dir.join("users.csv"), "name,password\nann,a\n").unwrap();
    let step = |params: &str| {
        format!(
            "data:\n  users: {{file: users.csv, mode: random}}\nscenario:\n  id: bad\n  load: {{total_users: 1, iterations: 1}}\n  workflow:\n    - type: http\n      params: {params}\n"
        )
    };
    let cases = [
        (
            step("{url: 'http://127.0.0.1:1/${nope}'}"),
            "scenario field scenario.workflow[0].params.url: ${nope}: no step extracts nope",
        ),
        (
            step("{url: 'http://127.0.0.1:1/${users.nmae}'}"),
            "data users (users.csv line 1) has no field nmae (its fields: name, password)",
        ),
        (
            step("{url: 'http://127.0.0.1:1/', body: '${unclosed'}"),
            "params.body: \"${unclosed\": `${` without a closing `}`",
        ),
        (
            step("{url: 'http://${env.HOST}:1/'}"),
            "HOST is not set: pass --env HOST=VALUE",
        ),
        (
            step("{url: 'http://127.0.0.1:${port}/'}")
                .replace("- type", "- extract: {port: {status: true}}\n      type"),
            "whose scheme, host and port use no variable but ${env.NAME}",
        ),
        (
            step("{url: 'http://127.0.0.1:1/'}").replace("users.csv", "ragged.csv"),
            "scenario field data.users.file: data file ragged.csv: line 3: 1 fields, the header has 2",
        ),
        (
            step("{url: 'http://127.0.0.1:1/'}").replace("users.csv", "gone.csv"),
            "scenario field data.users.file: data file gone.csv: cannot read it",
        ),
    ];
    for (yaml, want) in cases {
        let (out, _) = run(&dir, &yaml, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{yaml}\n{err}");
        assert!(err.contains(want), "{yaml}\nwant {want:?}\ngot {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
}

/// scenarios/journey.yaml, as bundled, against the built-in loopback
/// target: its /echo returns what each user sent, so the token a user
/// extracts is the one it made, and its checks all pass.
#[test]
fn the_bundled_journey_runs_against_the_loopback_target() {
    let t = common::target();
    let dir = scratch("journey-bundled");
    let root = test_kit::root().join("scenarios");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::copy(root.join("data/users.csv"), dir.join("data/users.csv")).unwrap();
    let yaml = std::fs::read_to_string(root.join("journey.yaml"))
        .unwrap()
        .replace("127.0.0.1:18080", &t.http.to_string());
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    // validate describes the data and the hooks.
    let plan = std::process::Command::new(common::host::bin())
        .arg("validate")
        .arg(dir.join("scenario.yaml"))
        .output()
        .unwrap();
    ok(&plan);
    let plan = String::from_utf8_lossy(&plan.stdout);
    assert!(
        plan.contains("data users:    data/users.csv (per-vu, 3 rows; fields name, password)"),
        "{plan}"
    );
    assert!(plan.contains("setup:      tenant (once)"), "{plan}");
    assert!(plan.contains("teardown:   drop-tenant (once)"), "{plan}");
    let r = report.unwrap();
    common::schema::check(&r);
    // 6 users × 5 iterations × 2 steps, every check passed (the threshold too).
    assert_eq!(num(&r, "total_requests"), 60, "{r:#}");
    assert_eq!(num(&r, "failed"), 0, "{:#}", r["errors"]);
    assert_eq!(num(&r, "checks_passed"), 60 + 30 + 30);
    assert_eq!(r["thresholds"][0]["ok"], true);
    assert_eq!(r["setup"][0]["successful"], 1);
    assert_eq!(r["teardown"][0]["successful"], 1);
}
