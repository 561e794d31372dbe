//! scheduler-host: load shapes against their arithmetic, counted by the
//! server: arrival rates, ramps, iteration budgets, pacing, start times,
//! dropped iterations, and coordinated omission under a stalling server.

use test_kit as common;

use common::host::{ok, run, scratch};
use common::scenario_named;
use common::timed::{Behaviour, Timed};
use std::collections::BTreeSet;
use std::time::Duration;

#[test]
fn constant_arrival_rate_starts_rate_times_duration() {
    let server = Timed::start(Behaviour::default());
    let dir = scratch("car");
    let yaml = format!(
        "scenarios:\n  api:\n    executor: constant-arrival-rate\n    rate: 200\n    time_unit: 1s\n    duration: 5s\n    pre_allocated_vus: 20\n    max_vus: 50\n    workflow: [{{type: http, params: {{url: 'http://{}/api'}}}}]\n",
        server.addr
    );
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = report.unwrap();
    let seen = server.count("/api") as i64;
    // 200/s for 5 s: 1000 starts, within 1%.
    assert!((seen - 1000).abs() <= 10, "the server saw {seen} requests");
    let api = scenario_named(&r, "api");
    assert_eq!(api["iterations"].as_i64().unwrap(), seen);
    assert_eq!(api["dropped_iterations"], 0);
    assert_eq!(api["executor"], "constant-arrival-rate");
    // Open model: service time is reported beside the latency.
    assert!(r["service_time_p99_ms"].as_f64().is_some(), "{r}");
    // Evenly spread: every whole second of the run saw about 200.
    let hits = server.hits();
    let t0 = hits.iter().map(|h| h.at).min().unwrap();
    for s in 0..5u32 {
        let n = hits
            .iter()
            .filter(|h| (h.at - t0).as_secs() == u64::from(s))
            .count();
        assert!((180..=220).contains(&n), "second {s}: {n} requests");
    }
}

#[test]
fn ramping_vus_users_follow_the_stages_as_the_server_sees_them() {
    let server = Timed::start(Behaviour::default());
    let dir = scratch("rvus");
    // 0 → 6 users over 2 s, 6 for 1 s, 6 → 0 over 2 s; a request every 50 ms.
    let yaml = format!(
        "scenarios:\n  browse:\n    executor: ramping-vus\n    start_vus: 0\n    stages: [{{duration: 2s, target: 6}}, {{duration: 1s, target: 6}}, {{duration: 2s, target: 0}}]\n    graceful_ramp_down: 1s\n    workflow: [{{type: http, think_time: 50ms, params: {{url: 'http://{}/'}}}}]\n",
        server.addr
    );
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    let hits = server.hits();
    let t0 = hits.iter().map(|h| h.at).min().unwrap();
    // Each user keeps one connection: distinct peers in a half second are
    // the users active in it.
    let users_in = |from_ms: u64| {
        hits.iter()
            .filter(|h| {
                let t = (h.at - t0).as_millis() as u64;
                t >= from_ms && t < from_ms + 500
            })
            .map(|h| h.peer)
            .collect::<BTreeSet<_>>()
            .len()
    };
    let curve: Vec<usize> = (0..10).map(|i| users_in(i * 500)).collect();
    // User i starts at i/3 s and stops at 3 + (6 - i)/3 s: the arithmetic
    // gives 2, 3, 5, 6, 6, 6, 6, 5, 3, 2 users per half second.
    let expected = [2, 3, 5, 6, 6, 6, 6, 5, 3, 2];
    for (i, (got, want)) in curve.iter().zip(expected).enumerate() {
        assert!(
            got.abs_diff(want) <= 1,
            "half second {i}: {got} users, the arithmetic says {want} (all: {curve:?})"
        );
    }
    assert_eq!(curve[4], 6, "the hold stage runs every user: {curve:?}");
    let peers: BTreeSet<_> = hits.iter().map(|h| h.peer).collect();
    assert_eq!(peers.len(), 6);
    let r = report.unwrap();
    assert_eq!(
        r["total_requests"].as_u64().unwrap(),
        hits.len() as u64,
        "the report counts what the server saw"
    );
}

#[test]
fn iteration_budgets_run_exact_counts() {
    let server = Timed::start(Behaviour::default());
    let dir = scratch("budgets");
    let yaml = format!(
        "scenarios:\n  each:\n    executor: per-vu-iterations\n    vus: 3\n    iterations: 4\n    workflow: [{{type: http, params: {{url: 'http://{0}/each'}}}}]\n  shared:\n    executor: shared-iterations\n    vus: 3\n    iterations: 10\n    workflow: [{{type: http, params: {{url: 'http://{0}/shared'}}}}]\n",
        server.addr
    );
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    assert_eq!(server.count("/each"), 12);
    assert_eq!(server.count("/shared"), 10);
    let r = report.unwrap();
    assert_eq!(scenario_named(&r, "each")["iterations"], 12);
    assert_eq!(scenario_named(&r, "shared")["iterations"], 10);
    assert_eq!(r["iterations"], 22);
    common::schema::check(&r);
}

#[test]
fn pacing_starts_an_iteration_every_period() {
    let server = Timed::start(Behaviour::default());
    let dir = scratch("pacing");
    let yaml = format!(
        "scenarios:\n  paced:\n    executor: constant-vus\n    vus: 1\n    duration: 1s\n    pacing: 200ms\n    workflow: [{{type: http, params: {{url: 'http://{}/'}}}}]\n",
        server.addr
    );
    let (out, _) = run(&dir, &yaml, &[]);
    ok(&out);
    let hits = server.hits();
    assert!((4..=6).contains(&hits.len()), "{} iterations", hits.len());
    for w in hits.windows(2) {
        let gap = w[1].at - w[0].at;
        assert!(gap >= Duration::from_millis(180), "gap {gap:?}");
    }
}

#[test]
fn a_later_scenario_waits_for_its_start_time() {
    let server = Timed::start(Behaviour::default());
    let dir = scratch("start-time");
    let yaml = format!(
        "scenarios:\n  early:\n    executor: constant-vus\n    vus: 1\n    duration: 2s\n    workflow: [{{type: http, think_time: 50ms, params: {{url: 'http://{0}/early'}}}}]\n  late:\n    executor: constant-vus\n    vus: 1\n    duration: 500ms\n    start_time: 1s\n    workflow: [{{type: http, think_time: 50ms, params: {{url: 'http://{0}/late'}}}}]\n",
        server.addr
    );
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    let hits = server.hits();
    let first = |p: &str| {
        hits.iter()
            .filter(|h| h.path == p)
            .map(|h| h.at)
            .min()
            .unwrap()
    };
    let last = |p: &str| {
        hits.iter()
            .filter(|h| h.path == p)
            .map(|h| h.at)
            .max()
            .unwrap()
    };
    let offset = first("/late") - first("/early");
    assert!(
        offset >= Duration::from_millis(950) && offset <= Duration::from_millis(1200),
        "late started {offset:?} after early"
    );
    let span = last("/late") - first("/late");
    assert!(span <= Duration::from_millis(550), "late ran {span:?}");
    let r = report.unwrap();
    assert_eq!(
        scenario_named(&r, "late")["iterations"].as_u64().unwrap(),
        server.count("/late") as u64
    );
    assert_eq!(
        scenario_named(&r, "early")["iterations"].as_u64().unwrap(),
        server.count("/early") as u64
    );
}

#[test]
fn an_arrival_with_no_free_user_is_dropped_not_started_late() {
    // Answers take 175 ms; an iteration is due every 50 ms; 2 users: each
    // serves every 4th arrival (0, 200, 400 … ms and 50, 250 …), so the
    // other half find no free user.
    let server = Timed::start(Behaviour {
        delay: Duration::from_millis(175),
        ..Behaviour::default()
    });
    let dir = scratch("dropped");
    let yaml = format!(
        "scenarios:\n  api:\n    executor: constant-arrival-rate\n    rate: 20\n    duration: 2s\n    pre_allocated_vus: 2\n    max_vus: 2\n    workflow: [{{type: http, params: {{url: 'http://{}/'}}}}]\nthresholds:\n  dropped_iterations: ['count==0']\n",
        server.addr
    );
    let (out, report) = run(&dir, &yaml, &[]);
    assert_eq!(out.status.code(), Some(99), "a failed threshold exits 99");
    let r = report.unwrap();
    assert_eq!(server.hits().len(), 20);
    assert_eq!(r["iterations"], 20);
    assert_eq!(r["dropped_iterations"], 20);
    assert_eq!(scenario_named(&r, "api")["dropped_iterations"], 20);
    let t = &r["thresholds"][0];
    assert_eq!(
        (t["ok"].as_bool(), t["value"].as_f64()),
        (Some(false), Some(20.0))
    );
    // Never late: each served iteration's latency is its 175 ms answer.
    assert!(r["latency_max_ms"].as_f64().unwrap() < 260.0, "{r}");
}

#[test]
fn a_stalling_server_shows_in_the_open_model_tail_not_the_closed() {
    // The server holds every answer in the first second of every two.
    let stall = Behaviour {
        stall: Some((Duration::from_secs(1), Duration::from_secs(2))),
        ..Behaviour::default()
    };
    let url = |s: &Timed| format!("http://{}/", s.addr);
    let closed_server = Timed::start(stall);
    let dir = scratch("stall-closed");
    let closed = format!(
        "scenarios:\n  closed:\n    executor: constant-vus\n    vus: 2\n    duration: 4s\n    workflow: [{{type: http, params: {{url: '{}'}}}}]\n",
        url(&closed_server)
    );
    let (out, report) = run(&dir, &closed, &[]);
    ok(&out);
    let closed = report.unwrap();
    let open_server = Timed::start(stall);
    let dir = scratch("stall-open");
    let open = format!(
        "scenarios:\n  open:\n    executor: constant-arrival-rate\n    rate: 100\n    duration: 4s\n    pre_allocated_vus: 150\n    max_vus: 300\n    workflow: [{{type: http, params: {{url: '{}'}}}}]\n",
        url(&open_server)
    );
    let (out, report) = run(&dir, &open, &[]);
    ok(&out);
    let open = report.unwrap();
    // Closed: each user waits out a stall once per period, then sends
    // thousands of fast requests: the stalls are a few samples of
    // thousands, below p99 (coordinated omission hides them).
    let closed_p99 = closed["latency_p99_ms"].as_f64().unwrap();
    assert!(
        closed["total_requests"].as_u64().unwrap() > 1000,
        "{closed}"
    );
    assert!(closed_p99 < 100.0, "closed p99 {closed_p99} ms");
    // Open: half the arrivals land in a stall, each waiting for its rest:
    // P(latency > x) = (1 s - x) / 2 s, so p99 = 1 s - 0.01 · 2 s = 980 ms.
    let open_p99 = open["latency_p99_ms"].as_f64().unwrap();
    assert!(
        (850.0..=1100.0).contains(&open_p99),
        "open p99 {open_p99} ms, the arithmetic says 980"
    );
    assert_eq!(open["dropped_iterations"], 0);
    assert_eq!(
        open["total_requests"].as_u64().unwrap(),
        open_server.hits().len() as u64
    );
    let service_p99 = open["service_time_p99_ms"].as_f64().unwrap();
    eprintln!(
        "stall 1 s in 2 s: closed p99 {closed_p99} ms over {} requests; open p99 {open_p99} ms (service time p99 {service_p99} ms), p50 {} ms",
        closed["total_requests"], open["latency_p50_ms"]
    );
    assert!(service_p99 <= open_p99, "{service_p99} > {open_p99}");
}

#[test]
fn ramping_arrival_rate_starts_the_area_under_its_stages() {
    let server = Timed::start(Behaviour::default());
    let dir = scratch("rar");
    // 0 → 100/s over 2 s (100 starts: 25 then 75), then 100/s for 1 s.
    let yaml = format!(
        "scenarios:\n  api:\n    executor: ramping-arrival-rate\n    start_rate: 0\n    stages: [{{duration: 2s, target: 100}}, {{duration: 1s, target: 100}}]\n    pre_allocated_vus: 10\n    max_vus: 40\n    workflow: [{{type: http, params: {{url: 'http://{}/'}}}}]\n",
        server.addr
    );
    let (out, report) = run(&dir, &yaml, &[]);
    ok(&out);
    let hits = server.hits();
    assert!(
        (198..=202).contains(&hits.len()),
        "{} starts, the arithmetic says 200",
        hits.len()
    );
    let t0 = hits.iter().map(|h| h.at).min().unwrap();
    let per_second: Vec<usize> = (0..3u64)
        .map(|s| hits.iter().filter(|h| (h.at - t0).as_secs() == s).count())
        .collect();
    for (got, want) in per_second.iter().zip([25usize, 75, 100]) {
        assert!(
            got.abs_diff(want) <= want / 10 + 2,
            "per second {per_second:?}, the arithmetic says [25, 75, 100]"
        );
    }
    let r = report.unwrap();
    assert_eq!(r["iterations"].as_u64().unwrap(), hits.len() as u64);
    assert_eq!(r["scenarios"][0]["executor"], "ramping-arrival-rate");
}

#[test]
fn graceful_ramp_down_lets_a_ramped_down_user_finish_its_iteration() {
    // Two users; at 1 s the curve drops to one, so user 1 stops mid-iteration
    // (a, 400 ms, b, 400 ms). With a long graceful_ramp_down it still sends
    // b; with a short one its iteration is cut after a.
    let unfinished = |grace: &str| {
        let server = Timed::start(Behaviour::default());
        let dir = scratch(&format!("grd-{grace}"));
        let yaml = format!(
            "scenarios:\n  web:\n    executor: ramping-vus\n    start_vus: 2\n    stages: [{{duration: 1s, target: 2}}, {{duration: 100ms, target: 1}}, {{duration: 1500ms, target: 1}}]\n    graceful_ramp_down: {grace}\n    workflow:\n      - {{type: http, think_time: 400ms, params: {{url: 'http://{0}/a'}}}}\n      - {{type: http, think_time: 400ms, params: {{url: 'http://{0}/b'}}}}\n",
            server.addr
        );
        let (out, _) = run(&dir, &yaml, &[]);
        ok(&out);
        let hits = server.hits();
        let peers: BTreeSet<_> = hits.iter().map(|h| h.peer).collect();
        assert_eq!(peers.len(), 2);
        // Iterations a user began and did not finish, summed over users.
        peers
            .iter()
            .map(|p| {
                let n = |path: &str| {
                    hits.iter()
                        .filter(|h| h.peer == *p && h.path == path)
                        .count()
                };
                n("/a") - n("/b")
            })
            .sum::<usize>()
    };
    assert_eq!(unfinished("2s"), 0);
    assert_eq!(unfinished("10ms"), 1);
}

/// `--vus`, `--duration` and `--iterations` rewrite named scenarios as
/// k6's shortcut options do: each becomes `shared-iterations` with
/// `--iterations` (keeping its own workflow), counted by the server.
#[test]
fn command_line_load_rewrites_named_scenarios_like_k6() {
    let server = Timed::start(Behaviour::default());
    let dir = scratch("named-overrides");
    let yaml = format!(
        "scenarios:\n  a:\n    executor: constant-arrival-rate\n    rate: 50\n    duration: 30s\n    pre_allocated_vus: 5\n    workflow: [{{type: http, params: {{url: 'http://{0}/a'}}}}]\n  b:\n    executor: ramping-vus\n    stages: [{{duration: 30s, target: 4}}]\n    workflow: [{{type: http, params: {{url: 'http://{0}/b'}}}}]\n",
        server.addr
    );
    let (out, report) = run(&dir, &yaml, &["--vus", "2", "--iterations", "7"]);
    ok(&out);
    let r = report.unwrap();
    assert_eq!(server.count("/a"), 7, "scenario a: 7 shared iterations");
    assert_eq!(server.count("/b"), 7, "scenario b: 7 shared iterations");
    for name in ["a", "b"] {
        let w = scenario_named(&r, name);
        assert_eq!(w["executor"], "shared-iterations", "{w}");
        assert_eq!(w["vus_max"], 2, "{w}");
        assert_eq!(w["iterations"], 7, "{w}");
    }
    // --vus alone cannot say how to run an arrival rate: a clear exit 2.
    let (out, _) = run(&dir, &yaml, &["--vus", "2"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("scenarios.a.executor"), "{err}");
}
