//! scheduler-host: `--shard I/N` runs one slice of a scenario; N slices run
//! together are the scenario (the server's own count says so), with the
//! run-wide user numbers, and `--start-at` lines their seconds up.

use test_kit as common;

use common::host::{bin, scratch};
use common::{num, scenario, scenario_named, step, target};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

fn shard(file: &Path, out: &Path, args: &[&str]) -> Child {
    Command::new(bin())
        .arg("run")
        .arg(file)
        .arg("--quiet")
        .arg("--out")
        .arg(out)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child, out: &Path) -> Value {
    let result = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{err}");
    assert!(
        !err.contains("--start-at was"),
        "a shard started late: {err}"
    );
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

#[test]
fn three_shards_together_run_the_scenario_exactly() {
    let t = target();
    let dir = scratch("shards");
    let file = dir.join("s.yaml");
    std::fs::write(
        &file,
        scenario(
            "id: shards\nscenarios:\n  a_each:\n    executor: per-vu-iterations\n    vus: 5\n    iterations: 4\n    workflow: [{id: each, type: http, params: {url: 'http://{http}/'}}]\n  b_shared:\n    executor: shared-iterations\n    vus: 3\n    iterations: 20\n    workflow: [{id: shared, type: http, params: {url: 'http://{http}/status/201'}}]\n  c_rate:\n    executor: constant-arrival-rate\n    rate: 50\n    time_unit: 1s\n    duration: 2s\n    pre_allocated_vus: 4\n    max_vus: 10\n    workflow: [{id: rate, type: http, params: {url: 'http://{http}/status/202'}}]\n",
            &t,
        ),
    )
    .unwrap();
    // One start time for all three, far enough ahead for each to get ready.
    let start = "+10s";
    let outs: Vec<_> = (0..3)
        .map(|i| dir.join(format!("shard-{i}.json")))
        .collect();
    let children: Vec<Child> = (0..3)
        .map(|i| {
            let s = format!("{i}/3");
            shard(&file, &outs[i], &["--shard", &s, "--start-at", start])
        })
        .collect();
    let reports: Vec<Value> = children
        .into_iter()
        .zip(&outs)
        .map(|(c, o)| finish(c, o))
        .collect();

    // Together: exactly the scenario, by the server's own count.
    assert_eq!(t.http_seen.requests(), 5 * 4 + 20 + 100);
    let sum = |id: &str| -> u64 {
        reports
            .iter()
            .map(|r| num(step(r, id), "total_requests"))
            .sum()
    };
    assert_eq!(sum("each"), 20);
    assert_eq!(sum("shared"), 20);
    assert_eq!(sum("rate"), 100);
    for r in &reports {
        common::schema::check(r);
        assert_eq!(num(r, "failed"), 0);
        assert_eq!(num(r, "dropped_iterations"), 0);
    }
    // Each shard its slice: users 0,3 / 1,4 / 2 of five run 4 iterations
    // each; the shared 20 split 7/7/6; the 100 arrivals 34/33/33.
    let per = |name: &str| -> Vec<u64> {
        reports
            .iter()
            .map(|r| num(scenario_named(r, name), "iterations"))
            .collect()
    };
    assert_eq!(per("a_each"), [8, 8, 4]);
    assert_eq!(per("b_shared"), [7, 7, 6]);
    assert_eq!(per("c_rate"), [34, 33, 33]);
    let shards: Vec<&str> = reports
        .iter()
        .map(|r| r["shard"].as_str().unwrap())
        .collect();
    assert_eq!(shards, ["0/3", "1/3", "2/3"]);
    // Started together: the same second 0, to a few ms (within 100 ms,
    // however the starts fall across a tenth of a second).
    let started: BTreeSet<std::time::SystemTime> = reports
        .iter()
        .map(|r| humantime::parse_rfc3339(r["started_at"].as_str().unwrap()).unwrap())
        .collect();
    let (first, last) = (started.first().unwrap(), started.last().unwrap());
    let spread = last.duration_since(*first).unwrap();
    assert!(spread < Duration::from_millis(100), "{started:?}");
}

#[test]
fn shards_keep_the_run_wide_user_numbers_and_source_addresses() {
    let t = target();
    let dir = scratch("shards-pool");
    let file = dir.join("s.yaml");
    std::fs::write(
        &file,
        scenario(
            "scenario:\n  id: pool\n  load: {total_users: 5, iterations: 2, ip_pool: [127.0.0.2, 127.0.0.3, 127.0.0.4, 127.0.0.5, 127.0.0.6]}\n  workflow:\n    - {id: home, type: http, params: {url: 'http://{http}/'}}\n",
            &t,
        ),
    )
    .unwrap();
    let mut seen = Vec::new();
    for i in 0..2 {
        let out = dir.join(format!("shard-{i}.json"));
        // --shard auto reads the index Kubernetes sets.
        let child = Command::new(bin())
            .arg("run")
            .arg(&file)
            .args(["--quiet", "--shard", "auto", "--shards", "2", "--out"])
            .arg(&out)
            .env("JOB_COMPLETION_INDEX", i.to_string())
            .output()
            .unwrap();
        assert!(child.status.success(), "{child:?}");
        let r: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let sources: BTreeSet<String> = r["source_ips"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        seen.push(sources);
    }
    // User n sends from pool[n]: shard 0 has users 0, 2, 4; shard 1 has 1, 3.
    let want = |ips: &[&str]| ips.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(seen[0], want(&["127.0.0.2", "127.0.0.4", "127.0.0.6"]));
    assert_eq!(seen[1], want(&["127.0.0.3", "127.0.0.5"]));
    let by_source = t.http_seen.by_source();
    assert_eq!(by_source.len(), 5);
    assert!(by_source.values().all(|n| *n == 2), "{by_source:?}");
}

#[test]
fn bad_shard_options_are_named() {
    let dir = scratch("shards-bad");
    let file = dir.join("s.yaml");
    std::fs::write(
        &file,
        "scenario:\n  id: bad\n  load: {total_users: 1, test_duration: 1s}\n  workflow:\n    - {type: http, params: {url: 'http://127.0.0.1:1/'}}\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(bin())
            .arg("run")
            .arg(&file)
            .args(args)
            .env_remove("JOB_COMPLETION_INDEX")
            .env_remove("SHARDS")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--shard", "3/3"]);
    assert_eq!(code, Some(2));
    assert!(
        err.starts_with("error: --shard: \"3/3\": expected I/N"),
        "{err}"
    );
    let (code, err) = run(&["--shard", "auto"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("JOB_COMPLETION_INDEX"), "{err}");
    // A shard needs only its own slice of the pool on this machine: with
    // two users, shard 0/2 sends from 127.0.0.2 alone, so a foreign address
    // for user 1 fails shard 1/2 only.
    let pooled = std::fs::read_to_string(&file).unwrap().replace(
        "total_users: 1,",
        "total_users: 2, ip_pool: [127.0.0.2, 192.0.2.7],",
    );
    std::fs::write(&file, pooled).unwrap();
    let (code, err) = run(&["--shard", "1/2"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("192.0.2.7 is not an address of this machine"),
        "{err}"
    );
    let (code, err) = run(&["--shard", "0/2", "--quiet"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = run(&["--start-at", "tomorrow"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--start-at"), "{err}");
}
