//! The scenario parser and validator: the issue's scenario exactly as
//! written, and one clear error per kind of bad input.

use scenario::executor::{Budget, ExecutorKind, Model};
use scenario::model::{Call, ReadMode};
use scenario::{ScenarioError, parse};
use std::time::Duration;

/// The foundation issue's scenario, verbatim. Never run: its URL and pool are
/// not on this machine; it only has to parse and validate.
const ISSUE_SCENARIO: &str = r#"scenario:
  id: test-001
  description: Simple HTTP load test
  load:
    total_users: 5
    ramp_duration: 5s
    test_duration: 30s
    ip_pool:
      - 192.168.1.100
      - 192.168.1.101
  workflow:
    - id: step1
      type: http
      name: Get Request
      params:
        method: GET
        url: http://httpbin.org/get
        headers:
          User-Agent: WasmScheduler/1.0
      think_time: 1s
"#;

#[test]
fn issue_scenario_parses_as_written() {
    let s = parse(ISSUE_SCENARIO, &[]).unwrap();
    assert_eq!(s.id, "test-001");
    assert_eq!(s.description, "Simple HTTP load test");
    assert_eq!(s.max_vus(), 5);
    assert_eq!(s.workloads.len(), 1);
    let w = &s.workloads[0];
    assert_eq!(w.name, "default");
    assert_eq!(w.kind, ExecutorKind::RampingVus);
    assert_eq!(w.duration(), Duration::from_secs(30));
    assert_eq!(s.pool.0.len(), 2);
    assert_eq!(s.pool.for_vu(3).unwrap().to_string(), "192.168.1.101");
    assert_eq!(s.workflow.len(), 1);
    let step = &s.workflow[0];
    assert_eq!(
        (step.id.as_str(), step.name.as_str(), step.kind.as_str()),
        ("step1", "Get Request", "http")
    );
    assert_eq!(
        step.think_time,
        scenario::think::Think::Fixed(Duration::from_secs(1))
    );
    let Call::Http(h) = &step.call else {
        panic!("not http: {:?}", step.call)
    };
    assert_eq!(h.method, "GET");
    assert_eq!(h.url, "http://httpbin.org/get");
    assert_eq!(
        h.headers,
        vec![("User-Agent".to_string(), "WasmScheduler/1.0".to_string())]
    );
    assert!(!s.workloads[0].weighted);
    assert_eq!(
        s.builtin_destinations(),
        vec![scenario::Endpoint {
            host: "httpbin.org".into(),
            port: 80
        }]
    );
    // Ramp: user i of 5 starts at 5s * i / 5, and runs to the end.
    let Model::Closed(c) = &w.model else {
        panic!("the original form is a closed model")
    };
    let i3 = c.vus.intervals(3);
    assert_eq!(i3.len(), 1);
    assert!((i3[0].0.as_secs_f64() - 3.0).abs() < 1e-9, "{i3:?}");
    assert_eq!(i3[0].1, Duration::from_secs(30));
}

#[test]
fn tcp_udp_weights_and_extension_kinds() {
    let yaml = r#"
scenario:
  id: mix
  load: { total_users: 2, iterations: 3, seed: 7 }
  workflow:
    - { id: a, type: tcp, weight: 3, params: { target: "127.0.0.1:9", payload_hex: "50 49", read_bytes: 2 } }
    - { id: b, type: udp, weight: 1, timeout: 250ms, params: { target: "[::1]:9", payload: x, expect: y } }
    - { id: c, type: redis-ping, params: { key: v, n: 3 } }
"#;
    let s = parse(yaml, &["redis-ping".to_string()]).unwrap();
    assert!(s.workloads[0].weighted);
    let Model::Closed(c) = &s.workloads[0].model else {
        panic!("closed")
    };
    assert_eq!(c.budget, Some(Budget::PerVu(3)));
    assert_eq!(s.workloads[0].duration(), scenario::model::UNTIL_DONE);
    let Call::Tcp(t) = &s.workflow[0].call else {
        panic!()
    };
    assert_eq!(t.payload, b"PI");
    assert_eq!(t.read, ReadMode::Bytes(2));
    assert_eq!(s.workflow[1].timeout, Duration::from_millis(250));
    let Call::Extension { kind, params_json } = &s.workflow[2].call else {
        panic!()
    };
    assert_eq!(kind, "redis-ping");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(params_json).unwrap(),
        serde_json::json!({"key": "v", "n": 3})
    );
}

/// (what is wrong, scenario, text the one-line error must contain)
const BAD: &[(&str, &str, &[&str])] = &[
    (
        "yaml syntax",
        "scenario:\n  id: x\n   load: {total_users: 1}\n",
        &["scenario YAML", "line 3 column"],
    ),
    (
        "unknown step type",
        "scenario:\n  id: x\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {type: ftp, params: {}}\n",
        &["scenario.workflow[0].type", "unknown step type \"ftp\""],
    ),
    (
        "missing url",
        "scenario:\n  id: x\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {type: http, params: {method: GET}}\n",
        &["scenario.workflow[0].params", "url"],
    ),
    (
        "bad duration",
        "scenario:\n  id: x\n  load:\n    total_users: 1\n    test_duration: 5x\n  workflow:\n    - {type: http, params: {url: 'http://127.0.0.1/'}}\n",
        &["test_duration", "invalid duration \"5x\"", "line 5"],
    ),
    (
        "bad ip",
        "scenario:\n  id: x\n  load:\n    total_users: 1\n    iterations: 1\n    ip_pool: [127.0.0.300]\n  workflow:\n    - {type: http, params: {url: 'http://127.0.0.1/'}}\n",
        &["ip_pool", "127.0.0.300", "line 6"],
    ),
    (
        "empty workflow",
        "scenario:\n  id: x\n  load: {total_users: 1, iterations: 1}\n  workflow: []\n",
        &["scenario.workflow", "at least one step"],
    ),
    (
        "negative users",
        "scenario:\n  id: x\n  load: {total_users: -5, iterations: 1}\n  workflow:\n    - {type: http, params: {url: 'http://127.0.0.1/'}}\n",
        &["total_users", "-5", "line 3"],
    ),
    (
        "zero users",
        "scenario:\n  id: x\n  load: {total_users: 0, iterations: 1}\n  workflow:\n    - {type: http, params: {url: 'http://127.0.0.1/'}}\n",
        &["scenario.load.total_users", "at least 1"],
    ),
    (
        "misspelled field",
        "scenario:\n  id: x\n  load: {total_users: 1, iterations: 1, think: 1s}\n  workflow:\n    - {type: http, params: {url: 'http://127.0.0.1/'}}\n",
        &["unknown field `think`", "line 3"],
    ),
    (
        "bad url",
        "scenario:\n  id: x\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {type: http, params: {url: 'ftp//nope'}}\n",
        &["scenario.workflow[0].params.url", "ftp//nope"],
    ),
    (
        "no stop condition",
        "scenario:\n  id: x\n  load: {total_users: 1}\n  workflow:\n    - {type: http, params: {url: 'http://127.0.0.1/'}}\n",
        &["scenario.load", "test_duration"],
    ),
    (
        "tcp target without port",
        "scenario:\n  id: x\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {type: tcp, params: {target: '127.0.0.1'}}\n",
        &["scenario.workflow[0].params.target", "host:port"],
    ),
    (
        "duplicate ids",
        "scenario:\n  id: x\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {id: a, type: udp, params: {target: '127.0.0.1:9'}}\n    - {id: a, type: udp, params: {target: '127.0.0.1:9'}}\n",
        &["scenario.workflow[1].id", "duplicate"],
    ),
    (
        "unknown http version on a step",
        "scenario:\n  id: x\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {type: http, params: {url: 'http://127.0.0.1/', http_version: 3}}\n",
        &[
            "scenario.workflow[0].params.http_version",
            "\"1.1\" or \"2\"",
            "found 3",
        ],
    ),
    (
        "unknown http version for the scenario",
        "scenario:\n  id: x\n  http_version: h2\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {type: http, params: {url: 'http://127.0.0.1/'}}\n",
        &["scenario.http_version", "found h2"],
    ),
];

/// A step's `http_version` wins over the scenario's; without either, none
/// (negotiated).
#[test]
fn http_version_is_the_steps_else_the_scenarios() {
    use contract::HttpVersion;
    let s = parse(
        "scenario:\n  id: x\n  http_version: 2\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {type: http, params: {url: 'http://127.0.0.1/'}}\n    - {type: http, params: {url: 'http://127.0.0.1/', http_version: '1.1'}}\n",
        &[],
    )
    .unwrap();
    let versions: Vec<_> = s
        .workflow
        .iter()
        .map(|st| match &st.call {
            Call::Http(h) => h.http_version,
            _ => None,
        })
        .collect();
    assert_eq!(
        versions,
        [Some(HttpVersion::Http2), Some(HttpVersion::Http11)]
    );
    let none = parse(
        "scenario:\n  id: x\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {type: http, params: {url: 'http://127.0.0.1/'}}\n",
        &[],
    )
    .unwrap();
    assert!(matches!(&none.workflow[0].call, Call::Http(h) if h.http_version.is_none()));
}

#[test]
fn bad_input_gets_one_line_errors_naming_the_field() {
    for (what, yaml, needles) in BAD {
        let err = parse(yaml, &[]).expect_err(what).to_string();
        assert!(!err.contains('\n'), "{what}: error spans lines: {err}");
        for n in *needles {
            assert!(err.contains(n), "{what}: {err:?} lacks {n:?}");
        }
    }
}

#[test]
fn yaml_errors_are_yaml_variant() {
    assert!(matches!(
        parse("scenario: [", &[]),
        Err(ScenarioError::Yaml(_))
    ));
}

#[test]
fn the_json_form_parses_like_the_yaml() {
    let from_yaml = parse(ISSUE_SCENARIO, &[]).unwrap();
    let v: serde_json::Value = serde_yaml::from_str(ISSUE_SCENARIO).unwrap();
    let from_json = parse(&serde_json::to_string(&v).unwrap(), &[]).unwrap();
    assert_eq!(format!("{from_yaml:?}"), format!("{from_json:?}"));
    let err = parse(
        r#"{"scenario": {"id": "x", "load": {"total_users": 1, "iterations": 1}}}"#,
        &[],
    )
    .unwrap_err();
    assert!(err.to_string().contains("workflow"), "{err}");
}

fn field_error(yaml: &str) -> (String, String) {
    match parse(yaml, &[]) {
        Err(ScenarioError::Field { field, message }) => (field, message),
        other => panic!("expected a field error, got {other:?}"),
    }
}

/// Steps that share TLS settings share one configuration; a step's block
/// overrides the scenario's field by field; a plain http:// step that
/// cannot redirect needs none.
#[test]
fn tls_settings_merge_and_are_shared_by_steps_that_agree() {
    let s = parse(
        r#"
scenario:
  id: t
  tls: {ca_file: ca.pem, versions: [tls1.3]}
  load: {total_users: 1, iterations: 1}
  workflow:
    - {id: a, type: http, params: {url: "https://a.test/"}}
    - {id: b, type: http, params: {url: "https://b.test/"}}
    - {id: c, type: http, params: {url: "https://c.test/", tls: {server_name: c.internal}}}
    - {id: d, type: http, params: {url: "http://d.test/", max_redirects: 0}}
    - {id: e, type: tcp, params: {target: "e.test:443", tls: true}}
    - {id: f, type: tcp, params: {target: "f.test:7"}}
"#,
        &[],
    )
    .unwrap();
    let tls: Vec<Option<usize>> = s
        .workflow
        .iter()
        .map(|st| match &st.call {
            Call::Http(h) => h.tls,
            Call::Tcp(t) => t.tls,
            _ => None,
        })
        .collect();
    assert_eq!(tls, [Some(0), Some(0), Some(1), None, Some(0), None]);
    assert_eq!(s.tls.len(), 2);
    assert_eq!(s.tls[1].server_name.as_deref(), Some("c.internal"));
    assert_eq!(s.tls[1].ca_file.as_deref(), Some("ca.pem"));
    assert_eq!(s.files(), ["ca.pem"]);
    assert!(!s.skips_tls_verification());
}

#[test]
fn bad_tls_settings_name_the_field() {
    let base = |tls: &str| {
        format!(
            "scenario:\n  id: t\n  tls: {tls}\n  load: {{total_users: 1, iterations: 1}}\n  workflow:\n    - {{type: http, params: {{url: \"https://a.test/\"}}}}\n"
        )
    };
    let (f, m) = field_error(&base("{client_cert: c.pem}"));
    assert_eq!(f, "scenario.workflow[0].params.tls");
    assert!(m.contains("client_key"), "{m}");
    let (f, _) = field_error(&base("{versions: []}"));
    assert_eq!(f, "scenario.workflow[0].params.tls.versions");
    let err = parse(&base("{versions: [ssl3]}"), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("ssl3") && err.contains("line"), "{err}");
}

/// json, form, query and basic_auth become the request's bytes at parse time.
#[test]
fn request_conveniences_become_headers_body_and_url() {
    let s = parse(
        r#"
scenario:
  id: t
  cookies: false
  load: {total_users: 1, iterations: 1}
  workflow:
    - {type: http, params: {method: post, url: "http://a.test/x?y=1#top", json: {b: [1, 2]}, query: {q: "a b"}, basic_auth: {user: ada, password: "s:cret"}}}
    - {type: http, params: {method: post, url: "http://a.test/f", form: {k: "v&w"}}}
"#,
        &[],
    )
    .unwrap();
    let (Call::Http(j), Call::Http(f)) = (&s.workflow[0].call, &s.workflow[1].call) else {
        panic!()
    };
    assert_eq!(j.url, "http://a.test/x?y=1&q=a+b#top");
    assert_eq!(j.body.as_deref(), Some(&b"{\"b\":[1,2]}"[..]));
    assert!(
        j.headers
            .contains(&("Content-Type".into(), "application/json".into()))
    );
    assert!(
        j.headers
            .contains(&("Authorization".into(), "Basic YWRhOnM6Y3JldA==".into()))
    );
    assert!(!j.cookies);
    assert_eq!(j.max_redirects, 10);
    assert_eq!(f.body.as_deref(), Some(&b"k=v%26w"[..]));
    let (field, _) = field_error(
        "scenario:\n  id: t\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {type: http, params: {url: \"http://a/\", body: x, json: {}}}\n",
    );
    assert_eq!(field, "scenario.workflow[0].params");
}

const NAMED: &str = r#"
id: shop
scenarios:
  web:
    executor: ramping-vus
    start_vus: 0
    stages: [{duration: 10s, target: 4}, {duration: 5s, target: 0}]
    workflow: browse
  api:
    executor: constant-arrival-rate
    rate: 30
    time_unit: 1m
    duration: 1m
    pre_allocated_vus: 2
    max_vus: 5
    start_time: 5s
    workflow:
      - {id: quote, type: http, params: {url: "http://127.0.0.1:1/q"}}
  more:
    executor: shared-iterations
    vus: 2
    iterations: 9
    workflow: browse
workflows:
  browse:
    - {id: home, type: http, params: {url: "http://127.0.0.1:1/"}}
    - {id: cart, type: http, weight: 2, params: {url: "http://127.0.0.1:1/cart"}}
thresholds:
  latency: ["p(95)<200", "max<1000"]
  "latency{scenario:web,step:home}": ["p(99)<300"]
  "errors:window": {threshold: "rate<0.05", window: 30s}
"#;

#[test]
fn named_scenarios_become_workloads_over_one_step_list() {
    let s = parse(NAMED, &[]).unwrap();
    assert_eq!(s.id, "shop");
    // Name order fixes the user blocks: api 0..5, more 5..7, web 7..11.
    let names: Vec<&str> = s.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["api", "more", "web"]);
    let blocks: Vec<(u32, u32)> = s
        .workloads
        .iter()
        .map(|w| (w.first_vu, w.max_vus()))
        .collect();
    assert_eq!(blocks, [(0, 5), (5, 2), (7, 4)]);
    assert_eq!(s.max_vus(), 11);
    assert_eq!(s.initial_vus(), 2 + 2 + 4);
    assert_eq!(s.workload_of(6), Some(1));
    // A shared workflow is copied per scenario: its own steps, its own statistics.
    assert_eq!(s.workflow.len(), 5);
    let more = &s.workloads[1];
    let web = &s.workloads[2];
    assert_eq!(s.workflow[more.steps.clone()][0].id, "home");
    assert_eq!(s.workflow[web.steps.clone()][0].id, "home");
    assert!(web.weighted && !s.workloads[0].weighted);
    assert!(
        s.workflow[web.steps.clone()]
            .iter()
            .all(|st| st.workload == 2)
    );
    // 30 per minute for a minute: 30 starts, two seconds apart, from 5 s.
    let Model::Open(o) = &s.workloads[0].model else {
        panic!("open")
    };
    let starts: Vec<Duration> = o.rate.arrivals().collect();
    assert_eq!(starts.len(), 30);
    assert_eq!(starts[1], Duration::from_secs(2));
    assert_eq!(s.workloads[0].start_time, Duration::from_secs(5));
    assert_eq!(s.workloads[0].end(), Duration::from_secs(5 + 60 + 30));
    let Model::Closed(c) = &more.model else {
        panic!("closed")
    };
    assert_eq!(c.budget, Some(Budget::Shared(9)));
    // Thresholds: the step tag picks web's `home` only.
    assert_eq!(s.thresholds.len(), 4);
    let tagged = s
        .thresholds
        .iter()
        .find(|t| t.key.contains("step:home"))
        .unwrap();
    assert_eq!(tagged.filter.steps.as_deref(), Some(&[web.steps.start][..]));
    assert_eq!(tagged.filter.workload, Some(2));
    let window = s.thresholds.iter().find(|t| t.window.is_some()).unwrap();
    assert_eq!(window.window, Some(Duration::from_secs(30)));
}

#[test]
fn bad_executors_and_thresholds_name_the_field() {
    let one = |executor: &str| {
        format!(
            "scenarios:\n  a:\n    {executor}\n    workflow: [{{type: http, params: {{url: 'http://127.0.0.1:1/'}}}}]\n"
        )
    };
    let cases: Vec<(String, &[&str])> = vec![
        (
            one("executor: constant-arrival-rate\n    rate: 5\n    duration: 1s\n    pre_allocated_vus: 1\n    stages: []"),
            &["scenarios.a.stages", "not a field of constant-arrival-rate"],
        ),
        (
            one("executor: constant-arrival-rate\n    rate: 5\n    duration: 1s"),
            &["scenarios.a.pre_allocated_vus", "needs it"],
        ),
        (
            one("executor: constant-arrival-rate\n    rate: 5\n    duration: 1s\n    pre_allocated_vus: 4\n    max_vus: 2"),
            &["scenarios.a.max_vus", "at least pre_allocated_vus"],
        ),
        (
            one("executor: shared-iterations\n    vus: 5\n    iterations: 3"),
            &["scenarios.a.iterations", "iterations ≥ vus"],
        ),
        (
            one("executor: ramping-vus"),
            &["scenarios.a.stages", "at least one stage"],
        ),
        (
            one("executor: constant-arrival-rate\n    rate: 5\n    duration: 1s\n    pre_allocated_vus: 1\n    pacing: 1s"),
            &["scenarios.a.pacing", "not a field"],
        ),
        (
            one("executor: steady"),
            &["unknown variant `steady`", "constant-vus"],
        ),
        (
            "scenarios:\n  a:\n    executor: constant-vus\n    duration: 1s\n    workflow: shop\n".into(),
            &["scenarios.a.workflow", "no workflow named \"shop\""],
        ),
        (
            "id: x\nscenario:\n  id: x\n  load: {total_users: 1, iterations: 1}\n  workflow: [{type: http, params: {url: 'http://127.0.0.1:1/'}}]\n".into(),
            &["scenario field id", "inside `scenario:`"],
        ),
        (
            format!("{}thresholds:\n  'latency{{step:nope}}': ['p(95)<1']\n", one("executor: constant-vus\n    duration: 1s")),
            &["thresholds.latency{step:nope}", "no step with id \"nope\""],
        ),
        (
            format!("{}thresholds:\n  'iterations{{step:step1}}': ['count>1']\n", one("executor: constant-vus\n    duration: 1s")),
            &["iterations belong to scenarios"],
        ),
        (
            format!("{}thresholds:\n  errors: [{{threshold: 'rate<0.1', window: 500ms}}]\n", one("executor: constant-vus\n    duration: 1s")),
            &["thresholds.errors[0].window", "at least 1s"],
        ),
        (
            format!("{}thresholds:\n  latency: {{p95: 200}}\n", one("executor: constant-vus\n    duration: 1s")),
            &["thresholds.latency", "unknown field `p95`", "expected an expression like \"p(95)<200\""],
        ),
        (
            "scenario:\n  id: x\n  load: {total_users: 1, iterations: 1}\n  workflow: [{type: http, params: {url: 'http://127.0.0.1:1/'}}]\n  thresholds: {errors: ['rate<0.1']}\n".into(),
            &["scenario field scenario.thresholds", "beside `scenario:`"],
        ),
        (
            format!("{}thresholds:\n  latency: [200]\n", one("executor: constant-vus\n    duration: 1s")),
            &["thresholds.latency", "200 is not a threshold", "a list of them"],
        ),
    ];
    for (yaml, needles) in cases {
        let e = parse(&yaml, &[]).expect_err(&yaml).to_string();
        assert_eq!(e.lines().count(), 1, "{e}");
        for n in needles {
            assert!(e.contains(n), "{yaml}\n→ {e}\nlacks {n}");
        }
    }
}

/// A journey's templates: fixed parts stay as written, varying parts are
/// rendered per call; env values are folded in at parse time.
#[test]
fn journey_templates_render_per_user_and_env_is_folded_in() {
    use scenario::model::{Call, HOOK, Hook};
    use scenario::parse::Inputs;
    let yaml = r#"
data:
  users: {file: u.csv, mode: per-vu}
setup:
  - id: tenant
    type: http
    params: {url: "http://${env.HOST}/t"}
    extract: {tenant: {json: /id}}
scenario:
  id: j
  load: {total_users: 2, iterations: 1}
  workflow:
    - id: login
      type: http
      params:
        method: POST
        url: "http://${env.HOST}/login?u=${users.name}"
        headers: {X-Tenant: "${setup.tenant}", X-Fixed: plain}
        json: {user: "${users.name}", n: 3}
      extract: {token: {json: /token}, code: {status: true}}
      expect_header: {Content-Type: application/json}
      expect_json: {/user: "${users.name}"}
      max_latency: 1s
"#;
    let mut columns = |_: &str, d: &scenario::data::Decl| -> Result<Vec<String>, String> {
        assert_eq!(d.file, "u.csv");
        Ok(vec!["name".into(), "password".into()])
    };
    let mut inputs = Inputs {
        env: [("HOST".to_string(), "127.0.0.1:8080".to_string())].into(),
        columns: Some(&mut columns),
    };
    let s = scenario::parse_with(yaml, &|_| false, "", &mut inputs).unwrap();
    assert_eq!(s.variables, ["token", "code", "tenant"]);
    assert_eq!(s.workloads[0].data, [0]);
    assert_eq!(s.hook_of(1), Some(Hook::Setup));
    assert_eq!(s.workflow[1].workload, HOOK);
    let login = &s.workflow[0];
    let Call::Http(h) = &login.call else { panic!() };
    // The base call shows what varies as written; the origin is known.
    assert_eq!(h.url, "http://127.0.0.1:8080/login?u=${users.name}");
    assert_eq!(h.headers[1], ("X-Fixed".into(), "plain".into()));
    assert_eq!(
        login.queries.len(),
        4,
        "2 extractions, a header and a JSON check"
    );
    assert_eq!(login.check_count(), 4, "status, header, json, max_latency");
    assert_eq!(
        s.builtin_destinations()
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>(),
        ["127.0.0.1:8080"]
    );
    // The setup step's `${env.HOST}` folded too: nothing varies there.
    assert!(s.workflow[1].template.is_none());
}
