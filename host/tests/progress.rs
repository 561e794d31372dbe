//! scheduler-host: live progress when stderr is not a terminal (CI logs):
//! a plain per-step table every 5 s, none for a run shorter than that.

use test_kit as common;

use common::host::{bin, scratch};
use common::{num, scenario, step, target};
use std::process::Command;

#[test]
fn a_log_gets_a_plain_per_step_table_every_five_seconds() {
    let t = target();
    let dir = scratch("progress");
    let file = dir.join("s.yaml");
    let report = dir.join("r.json");
    std::fs::write(
        &file,
        scenario(
            "scenario:\n  id: progress\n  load: {total_users: 2, test_duration: 6s}\n  workflow:\n    - {id: home, type: http, think_time: 20ms, params: {url: 'http://{http}/'}}\n    - {id: gone, type: http, params: {url: 'http://{http}/status/404'}}\n",
            &t,
        ),
    )
    .unwrap();
    let out = Command::new(bin())
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(&report)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    // One block, at 5 s: the scenario line, a header, the total and each step.
    let at = lines
        .iter()
        .position(|l| l.starts_with("5s/6s | default: 2 VUs"))
        .unwrap_or_else(|| panic!("no 5 s line in {err}"));
    assert_eq!(lines.len(), at + 5, "{err}");
    let header: Vec<&str> = lines[at + 1].split_whitespace().collect();
    assert_eq!(header, ["step", "requests", "rps", "errors", "p95", "(ms)"]);
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let row = |i: usize| -> Vec<String> {
        lines[at + i]
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(row(2)[0], "total");
    for (i, id) in [(3, "home"), (4, "gone")] {
        let cells = row(i);
        assert_eq!(cells[0], id);
        let requests: u64 = cells[1].parse().unwrap();
        let errors: u64 = cells[3].parse().unwrap();
        let s = step(&r, id);
        // Five seconds of six: most of the run's requests, never more.
        assert!(requests <= num(s, "total_requests"), "{id}: {cells:?}");
        assert!(
            requests * 10 >= num(s, "total_requests") * 6,
            "{id}: {cells:?}"
        );
        if id == "gone" {
            assert_eq!(errors, requests, "every 404 fails its check");
        } else {
            assert_eq!(errors, 0);
        }
    }

    // A run shorter than 5 s prints no progress at all.
    let short = std::fs::read_to_string(&file)
        .unwrap()
        .replace("test_duration: 6s", "test_duration: 2s");
    std::fs::write(&file, short).unwrap();
    let out = Command::new(bin()).arg("run").arg(&file).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
