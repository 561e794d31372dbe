//! A script step: each request the script made is a step of its own in
//! the report, its exception one more, its custom metrics the report's.

use contract::{ErrorKind, Outcome};
use scenario::checks::Query;
use scenario::grpc::GrpcCall;
use scenario::model::{HttpCall, TcpCall, UdpCall};
use scenario::parse;
use scenario::ws::WsCall;
use scheduler::reactor::block_on;
use scheduler::script::{Request, Run, Turn};
use scheduler::{Actions, CallContext, Reactor, Vu};
use stats::Stats;
use std::borrow::Cow;
use std::rc::Rc;
use std::time::Duration;

/// Only scripts: every other slot answers nothing.
#[derive(Default)]
struct Fake;

impl Reactor for Fake {}

fn hop(status: u16, latency_us: u64) -> contract::Hop {
    contract::Hop {
        status,
        bytes_sent: 5,
        bytes_received: 7,
        latency: Duration::from_micros(latency_us),
        phases: None,
        tls: None,
        http_version: None,
        trace: None,
    }
}

impl Actions for Fake {
    async fn http(&self, _: &CallContext, _: Cow<'_, HttpCall>, _: &[Query]) -> Outcome {
        Outcome::default()
    }
    async fn tcp(&self, _: &CallContext, _: Cow<'_, TcpCall>) -> Outcome {
        Outcome::default()
    }
    async fn udp(&self, _: &CallContext, _: Cow<'_, UdpCall>) -> Outcome {
        Outcome::default()
    }
    async fn grpc(&self, _: &CallContext, _: Cow<'_, GrpcCall>, _: &[Query]) -> Outcome {
        Outcome::default()
    }
    async fn ws(&self, _: &CallContext, _: Cow<'_, WsCall>, _: &[Query]) -> Outcome {
        Outcome::default()
    }
    async fn extension(&self, _: &CallContext, _: &str, _: &str, _: &[Query]) -> Outcome {
        Outcome::default()
    }
    /// A script's iteration: "login" (after one redirect) and "me", a
    /// check failed on the second iteration, an exception on the third,
    /// a counter and a trend point each time.
    async fn script(&self, turn: Turn) -> Run {
        let ok = |status| Outcome {
            status: Some(status),
            bytes_sent: 10,
            bytes_received: 20,
            ..Outcome::default()
        };
        let mut login = ok(200);
        login.earlier = vec![hop(302, 1_000)];
        let n = turn.iteration;
        Run {
            requests: vec![
                Request {
                    name: "login".into(),
                    latency: Duration::from_millis(5),
                    outcome: login,
                    checks_passed: 1,
                    checks_failed: 0,
                },
                Request {
                    name: "me".into(),
                    latency: Duration::from_millis(3),
                    outcome: ok(200),
                    checks_passed: u32::from(n != 1),
                    checks_failed: u32::from(n == 1),
                },
            ],
            points: vec![
                contract::MetricPoint {
                    name: "items".into(),
                    trend: false,
                    value: 2.0,
                },
                contract::MetricPoint {
                    name: "cart_ms".into(),
                    trend: true,
                    value: (n + 1) as f64 * 10.0,
                },
            ],
            error: (n == 2).then(|| format!("Error: no cart for user {}", turn.vu)),
            values: Vec::new(),
        }
    }
}

#[test]
fn a_script_step_reports_each_named_request_as_a_step_and_its_exception_apart() {
    let yaml = "scenario:\n  id: s\n  load: {total_users: 1, iterations: 3}\n  script: journey.wasm\n  destinations: ['127.0.0.1:8080']\nthresholds:\n  'latency{step:me}': ['p(95)<1000']\n";
    let s = Rc::new(parse(yaml, &[]).unwrap());
    assert_eq!(
        s.components.get("script").map(String::as_str),
        Some("journey.wasm")
    );
    let fake = Fake;
    let mut vu = Vu::new(Rc::clone(&s), 0, None);
    let mut stats = Stats::new(&s);
    for _ in 0..3 {
        let r = block_on(&fake, vu.next_step(&fake));
        assert!(r.iteration_done, "a script's iteration is one step");
        stats.push_step(&r.samples, None, None);
        stats.add_iteration(0);
    }
    let report = stats.report(&s, Duration::from_secs(1));
    let steps: Vec<(&str, u64, u64)> = report
        .steps
        .iter()
        .map(|st| (st.id.as_str(), st.metrics.total_requests, st.metrics.failed))
        .collect();
    // login: 3 redirects + 3 requests; me: 3; the exception: 1.
    assert_eq!(
        steps,
        vec![("login", 6, 0), ("me", 3, 0), ("(iteration threw)", 1, 1)]
    );
    let me = &report.steps[1].metrics;
    assert_eq!((me.checks_passed, me.checks_failed), (2, 1));
    assert_eq!(
        report.metrics.errors[&ErrorKind::ScriptError].samples,
        vec!["Error: no cart for user 0"]
    );
    assert_eq!(
        (report.custom["items"].sum, report.custom["cart_ms"].p50),
        (6.0, 20.0)
    );
    // The threshold on a script's request name reads that request's step.
    let t = stats.tally(&s.thresholds[0].filter);
    assert_eq!(t.bucket.metrics(1.0).total_requests, 3);
}
