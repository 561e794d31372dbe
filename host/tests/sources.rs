//! scheduler-host: Which source address each user sends from, and how many connections users make.

use test_kit as common;

use common::host::{ok, run, scratch, sources};
use common::{num, scenario, target};

#[test]
fn n_users_make_n_connections() {
    let t = target();
    let dir = scratch("n-users");
    let yaml = scenario(
        "scenario:\n  id: n\n  load: {total_users: 20, iterations: 5}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n",
        &t,
    );
    let (out, r) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = r.unwrap();
    assert_eq!(num(&r, "total_requests"), 100);
    assert_eq!(num(&r, "successful"), 100);
    assert_eq!(t.http_seen.requests(), 100);
    // One instance per user, each with its own kept-alive connection.
    assert_eq!(t.http_seen.connections(), 20);
}

#[test]
fn each_pool_address_is_used_by_exactly_its_users() {
    let t = target();
    let dir = scratch("pool");
    let yaml = scenario(
        "scenario:\n  id: pool\n  load: {total_users: 8, iterations: 3, ip_pool: [127.0.0.2-127.0.0.5]}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n    - {type: tcp, params: {target: '{tcp}', payload: \"x\\n\", expect: x}}\n",
        &t,
    );
    let (out, r) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = r.unwrap();
    // Users n and n+4 share 127.0.0.(2 + n mod 4): 2 users × 3 iterations each.
    let want = sources(&[
        ("127.0.0.2", 6),
        ("127.0.0.3", 6),
        ("127.0.0.4", 6),
        ("127.0.0.5", 6),
    ]);
    assert_eq!(t.http_seen.by_source(), want);
    assert_eq!(t.tcp_seen.by_source(), want);
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"] {
        assert_eq!(r["source_ips"][ip], 12, "{r:#}");
    }
    assert_eq!(t.http_seen.connections(), 8);
}

#[test]
fn an_ipv6_pool_binds_its_users_to_ipv6_sources() {
    let t = scheduler_host::loopback::LoopbackTarget::start("::1".parse().unwrap(), 0, 0, 0)
        .expect("an IPv6 loopback target");
    let dir = scratch("pool-v6");
    let yaml = scenario(
        "scenario:\n  id: v6\n  load: {total_users: 3, iterations: 2, ip_pool: ['::1']}\n  workflow:\n    - {type: http, params: {url: 'http://{http}/'}}\n    - {type: tcp, params: {target: '{tcp}', payload: \"x\\n\", expect: x}}\n    - {type: udp, params: {target: '{udp}', payload: ping, expect: ping}}\n",
        &t,
    );
    let (out, r) = run(&dir, &yaml, &[]);
    ok(&out);
    let r = r.unwrap();
    assert_eq!(num(&r, "failed"), 0, "{:#}", r["errors"]);
    let want = sources(&[("::1", 6)]);
    assert_eq!(t.http_seen.by_source(), want);
    assert_eq!(t.tcp_seen.by_source(), want);
    assert_eq!(t.udp_seen.by_source(), want);
    assert_eq!(r["source_ips"]["::1"], 18, "{r:#}");
}
