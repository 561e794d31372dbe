//! scheduler-host: Many users, and the init phase that creates their instances before the clock starts.

use test_kit as common;

use common::host::{ok, run, scratch};
use common::{num, scenario, target};
use std::time::Instant;

#[test]
fn a_thousand_users_run() {
    let t = target();
    let dir = scratch("thousand");
    let yaml = scenario(
        "scenario:\n  id: k\n  load: {total_users: 1000, iterations: 2, ramp_duration: 1s}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n",
        &t,
    );
    let (out, r) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = r.unwrap();
    assert_eq!(num(&r, "total_requests"), 2000);
    assert_eq!(num(&r, "failed"), 0, "{:#}", r["errors"]);
    assert_eq!(t.http_seen.requests(), 2000);
    assert_eq!(t.http_seen.connections(), 1000);
    // Every instance is created in the init phase, before the clock starts.
    assert!(
        r["instances_ready_seconds"].as_f64().unwrap() > 0.0,
        "{r:#}"
    );
}

#[test]
fn the_init_phase_is_not_part_of_the_measured_duration() {
    let t = target();
    let dir = scratch("init-phase");
    // 2,000 users in an instance each take a measurable init phase (about
    // 0.35 s here; in the default cells of 1,000, a few milliseconds); each
    // sends one datagram and thinks past the 1 s end.
    let yaml = scenario(
        "scenario:\n  id: init\n  load: {total_users: 2000, test_duration: 1s}\n  workflow:\n    - {type: udp, params: {target: '{udp}', payload: x, await_reply: false}, think_time: 5s}\n",
        &t,
    );
    let began = Instant::now();
    let (out, r) = run(&dir, &yaml, &["--users-per-instance", "1"]);
    ok(&out);
    let r = r.unwrap();
    let init = r["instances_ready_seconds"].as_f64().unwrap();
    let measured = r["duration_seconds"].as_f64().unwrap();
    assert!(init >= 0.2, "the init phase is too short to tell: {init} s");
    // Counted, the init phase would make the run last 1 s + init.
    assert!(
        (1.0..1.0 + init / 2.0).contains(&measured),
        "measured {measured} s with an init phase of {init} s"
    );
    assert!(init + measured <= began.elapsed().as_secs_f64());
    assert_eq!(num(&r, "total_requests"), 2000, "{:#}", r["errors"]);
    assert_eq!(t.udp_seen.requests(), 2000);
}
