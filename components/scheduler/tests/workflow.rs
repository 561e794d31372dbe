//! Workflow semantics and statistics, with a fake action slot.

use contract::{ErrorKind, Outcome, Sample, SampleError};
use scenario::checks::Query;
use scenario::grpc::GrpcCall;
use scenario::model::{HttpCall, TcpCall, UdpCall};
use scenario::parse;
use scenario::ws::WsCall;
use scheduler::reactor::block_on;
use scheduler::script::{Run, Turn};
use scheduler::{Actions, CallContext, Reactor, Vu, local};
use stats::Stats;
use std::borrow::Cow;
use std::rc::Rc;
use std::time::Duration;

/// Answers every call with a fixed outcome and records who called.
#[derive(Default)]
struct Fake {
    calls: std::cell::RefCell<Vec<(String, Option<String>)>>,
    status: u16,
}

impl Reactor for Fake {}

impl Actions for Fake {
    async fn http(&self, c: &CallContext, call: Cow<'_, HttpCall>, _: &[Query]) -> Outcome {
        self.calls.borrow_mut().push((call.url.clone(), ip(c)));
        Outcome {
            status: Some(self.status),
            bytes_sent: 10,
            bytes_received: 20,
            error: None,
            earlier: if call.url.contains("/redirect") {
                vec![hop(301, 1_000), hop(302, 2_000)]
            } else {
                Vec::new()
            },
            http_version: Some(contract::HttpVersion::Http11),
            // A body of 5,000 bytes of which the step kept max_body: no
            // answer to any query.
            body_cut: call.url.contains("/cut").then_some(5_000),
            answers: vec![None; if call.url.contains("/cut") { 1 } else { 0 }],
            ..Outcome::default()
        }
    }
    async fn tcp(&self, c: &CallContext, call: Cow<'_, TcpCall>) -> Outcome {
        self.calls
            .borrow_mut()
            .push((call.target.to_string(), ip(c)));
        Outcome::default()
    }
    async fn grpc(&self, c: &CallContext, call: Cow<'_, GrpcCall>, _: &[Query]) -> Outcome {
        self.calls.borrow_mut().push((call.method.clone(), ip(c)));
        Outcome::default()
    }
    async fn ws(&self, c: &CallContext, call: Cow<'_, WsCall>, _: &[Query]) -> Outcome {
        self.calls.borrow_mut().push((call.url.clone(), ip(c)));
        Outcome::default()
    }
    async fn script(&self, _: Turn) -> Run {
        Run::default()
    }
    async fn udp(&self, c: &CallContext, call: Cow<'_, UdpCall>) -> Outcome {
        self.calls
            .borrow_mut()
            .push((call.target.to_string(), ip(c)));
        let error = Some(SampleError {
            kind: ErrorKind::Timeout,
            message: "no reply".into(),
        });
        Outcome {
            error,
            ..Outcome::default()
        }
    }
    async fn extension(&self, _: &CallContext, kind: &str, _: &str, _: &[Query]) -> Outcome {
        self.calls.borrow_mut().push((kind.into(), None));
        Outcome::default()
    }
}

fn ip(c: &CallContext) -> Option<String> {
    c.source_ip.map(|ip| ip.to_string())
}

fn scenario(load: &str, steps: &str) -> scenario::Scenario {
    parse(
        &format!("scenario:\n  id: t\n  load: {load}\n  workflow:\n{steps}"),
        &[],
    )
    .unwrap()
}

const ORDERED: &str = "    - {id: a, type: http, params: {url: 'http://127.0.0.1:1/a'}}\n    - {id: b, type: tcp, params: {target: '127.0.0.1:2'}}\n    - {id: c, type: udp, params: {target: '127.0.0.1:3'}}\n";

#[test]
fn ordered_workflow_runs_steps_in_order_and_flags_iteration_end() {
    let s = Rc::new(scenario("{total_users: 1, iterations: 1}", ORDERED));
    let mut vu = Vu::new(s, 0, None);
    let fake = Fake {
        status: 200,
        ..Default::default()
    };
    let flags: Vec<bool> = (0..6)
        .map(|_| block_on(&fake, vu.next_step(&fake)).iteration_done)
        .collect();
    assert_eq!(flags, [false, false, true, false, false, true]);
    let calls = fake.calls.borrow();
    let order: Vec<&str> = calls.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        order[..3],
        ["http://127.0.0.1:1/a", "127.0.0.1:2", "127.0.0.1:3"]
    );
}

#[test]
fn status_checks_belong_to_the_scheduler() {
    let steps = "    - {type: http, params: {url: 'http://127.0.0.1:1/'}}\n    - {type: http, assert_status: [404], params: {url: 'http://127.0.0.1:1/'}}\n";
    let s = Rc::new(scenario("{total_users: 1, iterations: 1}", steps));
    let fake = Fake {
        status: 404,
        ..Default::default()
    };
    let mut vu = Vu::new(s, 0, None);
    let default_check = block_on(&fake, vu.next_step(&fake)).samples.remove(0);
    assert_eq!(default_check.error.unwrap().kind, ErrorKind::CheckFailed);
    assert!(
        block_on(&fake, vu.next_step(&fake)).samples[0]
            .error
            .is_none(),
        "404 is asserted"
    );
}

#[test]
fn weighted_choice_follows_weights_and_seed() {
    let steps = "    - {id: a, type: tcp, weight: 3, params: {target: '127.0.0.1:1'}}\n    - {id: b, type: tcp, weight: 1, params: {target: '127.0.0.1:2'}}\n";
    let s = Rc::new(scenario("{total_users: 1, iterations: 1, seed: 42}", steps));
    let picks = |index| {
        let mut vu = Vu::new(Rc::clone(&s), index, None);
        let fake = Fake::default();
        (0..4000)
            .map(|_| block_on(&fake, vu.next_step(&fake)).samples[0].step)
            .collect::<Vec<u32>>()
    };
    let run = picks(0);
    assert_eq!(run, picks(0), "same seed and user → same choices");
    assert_ne!(run, picks(1), "users draw different sequences");
    let a = run.iter().filter(|s| **s == 0).count() as f64 / run.len() as f64;
    assert!((0.72..0.78).contains(&a), "weight 3:1 gave {a:.3} for a");
}

#[test]
fn plain_run_interleaves_users_and_counts_per_source_ip() {
    let s = scenario(
        "{total_users: 4, iterations: 5, ip_pool: [127.0.0.2, 127.0.0.3]}",
        ORDERED,
    );
    let fake = Fake {
        status: 200,
        ..Default::default()
    };
    let report = local::run(s, &fake, &Default::default());
    assert_eq!(report.metrics.total_requests, 4 * 5 * 3);
    assert_eq!(report.iterations, 20);
    assert_eq!(report.metrics.failed, 20, "every udp step timed out");
    assert_eq!(report.metrics.errors[&ErrorKind::Timeout].count, 20);
    assert_eq!(
        report.metrics.errors[&ErrorKind::Timeout].samples,
        ["no reply"]
    );
    assert_eq!(report.metrics.status_codes["200"], 20);
    assert_eq!(report.source_ips["127.0.0.2"], 30);
    assert_eq!(report.source_ips["127.0.0.3"], 30);
    assert_eq!(
        report
            .steps
            .iter()
            .map(|s| s.metrics.total_requests)
            .collect::<Vec<_>>(),
        [20, 20, 20]
    );
    let by_user: Vec<Option<String>> = fake
        .calls
        .borrow()
        .iter()
        .take(4)
        .map(|c| c.1.clone())
        .collect();
    let want = ["127.0.0.2", "127.0.0.3", "127.0.0.2", "127.0.0.3"].map(|s| Some(s.to_string()));
    assert_eq!(by_user, want, "first step of each user, in user order");
}

fn sample(step: u32, latency_us: u64, status: Option<u16>, error: Option<ErrorKind>) -> Sample {
    Sample {
        step,
        latency: Duration::from_micros(latency_us),
        status,
        bytes_sent: 1,
        bytes_received: 2,
        error: error.map(|k| SampleError {
            kind: k,
            message: format!("{k} happened"),
        }),
        phases: None,
        tls: None,
        http_version: None,
        grpc: None,
        ws: None,
        trace: None,
        checks_passed: 0,
        checks_failed: 0,
        name: None,
        points: Vec::new(),
    }
}

#[test]
fn merge_equals_pushing_everything_into_one() {
    let samples: Vec<Sample> = (1..=1000u64)
        .map(|i| {
            let mut s = sample(
                (i % 2) as u32,
                i * 100,
                Some(if i % 10 == 0 { 500 } else { 200 }),
                (i % 50 == 0).then_some(ErrorKind::Timeout),
            );
            // Every 4th request went over TLS, with phases; every 8th made
            // a new connection, every 16th resumed a session.
            if i % 4 == 0 {
                s.phases = Some(contract::Phases {
                    connecting: Duration::from_micros(if i % 8 == 0 { 50 } else { 0 }),
                    tls_handshaking: Duration::from_micros(if i % 8 == 0 { 400 } else { 0 }),
                    sending: Duration::from_micros(5),
                    waiting: Duration::from_micros(i * 10),
                    receiving: Duration::from_micros(7),
                });
                s.tls = Some(contract::TlsUse {
                    version: if i % 3 == 0 {
                        contract::TlsVersion::Tls12
                    } else {
                        contract::TlsVersion::Tls13
                    },
                    handshake: i % 8 == 0,
                    resumed: i % 16 == 0,
                });
            }
            s
        })
        .collect();
    let s = scenario(
        "{total_users: 1, iterations: 1}",
        "    - {type: tcp, params: {target: '127.0.0.1:1'}}\n    - {type: tcp, params: {target: '127.0.0.1:1'}}\n",
    );
    let mut one = Stats::new(&s);
    let (mut left, mut right) = (Stats::new(&s), Stats::new(&s));
    for (i, s) in samples.iter().enumerate() {
        let ip: std::net::IpAddr = if i % 3 == 0 {
            [127, 0, 0, 2]
        } else {
            [127, 0, 0, 3]
        }
        .into();
        one.push(s, Some(ip));
        if i < 400 {
            left.push(s, Some(ip))
        } else {
            right.push(s, Some(ip))
        }
    }
    left.merge(&right);
    let d = std::time::Duration::from_secs(2);
    assert_eq!(left.report(&s, d), one.report(&s, d));
    let r = one.report(&s, d);
    assert_eq!(r.metrics.total_requests, 1000);
    assert_eq!(r.metrics.failed, 20);
    assert_eq!(r.metrics.throughput_rps, 500.0);
    assert_eq!(r.metrics.status_codes["500"], 100);
    let tls = r.metrics.tls.as_ref().unwrap();
    assert_eq!((tls.handshakes, tls.resumed_handshakes), (125, 62));
    assert_eq!(
        tls.tls_versions["TLSv1.2"] + tls.tls_versions["TLSv1.3"],
        250
    );
    let timings = r.metrics.timings.as_ref().unwrap();
    // Half the TLS requests reused a connection: the median connect is 0.
    assert_eq!(timings["connecting"].p50_ms, 0.0);
    assert_eq!(timings["tls_handshaking"].max_ms, 0.4);
    // 3 significant digits: 10 ms is recorded within 0.1%.
    assert!((timings["waiting"].max_ms - 10.0).abs() < 0.01);
    // Latencies 0.1ms..100ms uniform: p50 ≈ 50ms, p99 ≈ 99ms, max 100ms (3 significant digits).
    assert!(
        (r.metrics.latency_p50_ms - 50.0).abs() < 0.1,
        "{}",
        r.metrics.latency_p50_ms
    );
    assert!(
        (r.metrics.latency_p99_ms - 99.0).abs() < 0.1,
        "{}",
        r.metrics.latency_p99_ms
    );
    assert!(
        (r.metrics.latency_max_ms - 100.0).abs() < 0.1,
        "{}",
        r.metrics.latency_max_ms
    );
    assert_eq!(r.source_ips.values().sum::<u64>(), 1000);
}

#[test]
fn each_report_names_the_step_the_next_call_runs() {
    // Ordered and weighted (seeded) workflows: the announced step is the one
    // that runs next, so a host can attribute a trap to it.
    let weighted = "    - {type: http, weight: 1, params: {url: 'http://127.0.0.1:1/a'}}\n    - {type: tcp, weight: 2, params: {target: '127.0.0.1:2'}}\n    - {type: udp, weight: 3, params: {target: '127.0.0.1:3'}}\n";
    for (load, steps) in [
        ("{total_users: 1, iterations: 1}", ORDERED),
        ("{total_users: 1, iterations: 1, seed: 7}", weighted),
    ] {
        let mut vu = Vu::new(Rc::new(scenario(load, steps)), 0, None);
        let fake = Fake::default();
        let mut announced = vu.upcoming_step();
        let mut seen = [0u32; 3];
        for _ in 0..60 {
            let r = block_on(&fake, vu.next_step(&fake));
            assert_eq!(r.samples[0].step, announced, "{steps}");
            seen[r.samples[0].step as usize] += 1;
            announced = r.next_step;
        }
        assert!(seen.iter().all(|&n| n > 0), "every step ran: {seen:?}");
    }
}

fn hop(status: u16, latency_us: u64) -> contract::Hop {
    contract::Hop {
        status,
        bytes_sent: 5,
        bytes_received: 7,
        latency: Duration::from_micros(latency_us),
        phases: None,
        tls: None,
        http_version: Some(contract::HttpVersion::Http2),
        trace: None,
    }
}

/// A step that followed redirects reports one sample per request: the hops
/// with their own latencies and statuses, then the last request, carrying
/// the step's check and the rest of the measured time.
#[test]
fn redirects_become_one_sample_per_request() {
    let yaml = r#"
scenario:
  id: r
  load: {total_users: 1, iterations: 1}
  workflow:
    - {id: a, type: http, assert_status: 201, params: {url: "http://127.0.0.1:1/redirect"}}
"#;
    let scenario = std::rc::Rc::new(scenario::parse(yaml, &[]).unwrap());
    let mut vu = Vu::new(scenario, 0, None);
    let fake = Fake {
        status: 200,
        calls: Default::default(),
    };
    let r = block_on(&fake, vu.next_step(&fake));
    let statuses: Vec<_> = r.samples.iter().map(|s| s.status).collect();
    assert_eq!(statuses, [Some(301), Some(302), Some(200)]);
    let versions: Vec<_> = r.samples.iter().map(|s| s.http_version).collect();
    use contract::HttpVersion::{Http2, Http11};
    assert_eq!(versions, [Some(Http2), Some(Http2), Some(Http11)]);
    assert_eq!(r.samples[0].latency, Duration::from_micros(1_000));
    assert_eq!(r.samples[1].latency, Duration::from_micros(2_000));
    assert!(r.samples[..2].iter().all(|s| s.error.is_none()));
    // Only the last request is judged against assert_status.
    assert_eq!(
        r.samples[2].error.as_ref().map(|e| e.kind),
        Some(ErrorKind::CheckFailed)
    );
}

/// Refuses every connect until told otherwise.
struct Refusing {
    refuse: bool,
}

impl Reactor for Refusing {}

impl Actions for Refusing {
    async fn http(&self, _: &CallContext, _: Cow<'_, HttpCall>, _: &[Query]) -> Outcome {
        let error = self.refuse.then(|| SampleError {
            kind: ErrorKind::ConnectRefused,
            message: "refused".into(),
        });
        Outcome {
            status: (!self.refuse).then_some(200),
            error,
            ..Outcome::default()
        }
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
    async fn script(&self, _: Turn) -> Run {
        Run::default()
    }
}

#[test]
fn refused_connects_back_off_doubling_to_a_second_and_reset_on_success() {
    let step =
        "    - {id: a, type: http, think_time: 15ms, params: {url: 'http://127.0.0.1:1/'}}\n";
    let s = Rc::new(scenario("{total_users: 1, test_duration: 10s}", step));
    let mut vu = Vu::new(s, 0, None);
    let mut refusing = Refusing { refuse: true };
    let pauses: Vec<u128> = (0..9)
        .map(|_| {
            block_on(&refusing, vu.next_step(&refusing))
                .think_time
                .as_millis()
        })
        .collect();
    // The think time (15 ms) when it is longer than the back-off.
    assert_eq!(pauses, [15, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    refusing.refuse = false;
    assert_eq!(
        block_on(&refusing, vu.next_step(&refusing)).think_time,
        Duration::from_millis(15)
    );
    refusing.refuse = true;
    assert_eq!(
        block_on(&refusing, vu.next_step(&refusing)).think_time,
        Duration::from_millis(15)
    );

    // An arrival rate sets the pace itself: no back-off.
    let open = parse(
        &format!("scenarios:\n  api:\n    executor: constant-arrival-rate\n    rate: 5\n    duration: 1s\n    pre_allocated_vus: 1\n    workflow:\n{step}"),
        &[],
    )
    .unwrap();
    let mut vu = Vu::new(Rc::new(open), 0, None);
    for _ in 0..5 {
        assert_eq!(
            block_on(&refusing, vu.next_step(&refusing)).think_time,
            Duration::from_millis(15)
        );
    }
}

#[test]
fn a_think_time_range_is_drawn_per_step_reproducibly_with_a_seed() {
    let step = "    - {id: a, type: http, think_time: 100ms-300ms, params: {url: 'http://127.0.0.1:1/'}}\n";
    let yaml = format!(
        "scenario:\n  id: t\n  load: {{total_users: 1, iterations: 50, seed: 7}}\n  workflow:\n{step}"
    );
    let draws = || {
        let mut vu = Vu::new(Rc::new(parse(&yaml, &[]).unwrap()), 0, None);
        let ok = Refusing { refuse: false };
        (0..50)
            .map(|_| block_on(&ok, vu.next_step(&ok)).think_time)
            .collect::<Vec<_>>()
    };
    let a = draws();
    assert!(
        a.iter()
            .all(|d| (Duration::from_millis(100)..=Duration::from_millis(300)).contains(d))
    );
    assert!(
        a.iter()
            .max()
            .unwrap()
            .saturating_sub(*a.iter().min().unwrap())
            > Duration::from_millis(100)
    );
    assert_eq!(a, draws(), "the same seed draws the same pauses");
}

/// A check or an extraction that found nothing in a body the action cut at
/// `max_body` says the body was cut, and how much of it was kept.
#[test]
fn a_check_or_extraction_on_a_cut_body_says_it_was_cut() {
    for (rule, kind) in [
        ("expect_json: {/a: '1'}", ErrorKind::CheckFailed),
        ("extract: {a: {json: /a}}", ErrorKind::ExtractFailed),
    ] {
        let yaml = format!(
            "scenario:\n  id: c\n  load: {{total_users: 1, iterations: 1}}\n  workflow:\n    - {{id: a, type: http, {rule}, params: {{url: 'http://127.0.0.1:1/cut', max_body: 100}}}}\n"
        );
        let scenario = Rc::new(scenario::parse(&yaml, &[]).unwrap());
        let mut vu = Vu::new(scenario, 0, None);
        let fake = Fake {
            status: 200,
            calls: Default::default(),
        };
        let r = block_on(&fake, vu.next_step(&fake));
        let e = r.samples[0].error.as_ref().expect("the step failed");
        assert_eq!(e.kind, kind, "{rule}");
        assert!(
            e.message
                .ends_with("(the body was cut: the first 100 of 5000 bytes kept, max_body)"),
            "{rule}: {}",
            e.message
        );
    }
}
