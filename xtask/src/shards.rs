//! `cargo xtask shards N SCENARIO.yaml [RUN ARGS]`: the Kubernetes Indexed
//! Job, simulated on this machine. N `scheduler-host run --shard auto`
//! processes, each given JOB_COMPLETION_INDEX exactly as Kubernetes sets it
//! and one absolute --start-at, then `scheduler-host merge` of their
//! reports, as the merge Job does. Everything lands in target/shards/.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

/// How long the shards get to create their users before the common start.
const START_AFTER: Duration = Duration::from_secs(5);

/// Runs the shards and the merge; returns the merge's exit code (0, or 99
/// when a threshold failed on the whole run).
pub fn simulate(
    host: &Path,
    n: u32,
    scenario: &Path,
    out: &Path,
    run_args: &[String],
) -> Result<i32> {
    if n == 0 {
        bail!("shards: N must be at least 1");
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let start_at = humantime::format_rfc3339_seconds(SystemTime::now() + START_AFTER).to_string();
    eprintln!(
        "xtask: {n} shards of {}, starting together at {start_at}",
        scenario.display()
    );
    let mut children = Vec::new();
    let mut reports = Vec::new();
    for i in 0..n {
        let report = out.join(format!("shard-{i}.json"));
        let _ = std::fs::remove_file(&report);
        let log = std::fs::File::create(out.join(format!("shard-{i}.log")))?;
        let child = Command::new(host)
            .arg("run")
            .arg(scenario)
            .args([
                "--quiet",
                "--shard",
                "auto",
                "--start-at",
                &start_at,
                "--out",
            ])
            .arg(&report)
            .args(run_args)
            .env("JOB_COMPLETION_INDEX", i.to_string())
            .env("SHARDS", n.to_string())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("cannot start {}", host.display()))?;
        children.push((i, child));
        reports.push(report);
    }
    for (i, mut child) in children {
        let status = child.wait()?;
        // 99: the shard's slice failed a threshold; the merge judges the
        // whole run (the shard Job's pods exit 0 on it too).
        if !matches!(status.code(), Some(0 | 99)) {
            bail!(
                "shard {i}/{n} failed ({status}); its log is {}",
                out.join(format!("shard-{i}.log")).display()
            );
        }
    }
    let status = Command::new(host)
        .arg("merge")
        .args(&reports)
        .arg("--out")
        .arg(out.join("run.json"))
        .arg("--html")
        .arg(out.join("run.html"))
        .status()
        .with_context(|| format!("cannot start {}", host.display()))?;
    eprintln!(
        "xtask: merged report in {} (and run.html, each shard's report and log)",
        out.display()
    );
    status.code().context("the merge was killed")
}

/// `N SCENARIO.yaml`, checked before anything is built.
pub fn args(args: &[String]) -> Result<(u32, PathBuf)> {
    let usage = "usage: cargo xtask shards N SCENARIO.yaml [run options]";
    let n: u32 = args
        .first()
        .context(usage)?
        .parse()
        .map_err(|_| anyhow::anyhow!("shards: N must be a whole number of shards\n{usage}"))?;
    if n == 0 {
        bail!("shards: N must be at least 1");
    }
    let scenario = PathBuf::from(args.get(1).context(usage)?);
    if !scenario.is_file() {
        bail!("shards: no scenario file {}", scenario.display());
    }
    Ok((n, scenario))
}

/// `cargo xtask shards N SCENARIO [RUN ARGS]` after the build.
pub fn run(root: &Path, n: u32, scenario: &Path, run_args: &[String]) -> Result<i32> {
    crate::tools::run(Command::new(env!("CARGO")).current_dir(root).args([
        "build",
        "--quiet",
        "--release",
        "-p",
        "scheduler-host",
    ]))?;
    let out = root.join("target/shards");
    clear(&out)?;
    simulate(
        &root.join("target/release/scheduler-host"),
        n,
        scenario,
        &out,
        run_args,
    )
}

/// Removes an earlier run's shard reports and logs, so a listing of the
/// folder (or a `merge shard-*.json`) never mixes two runs.
fn clear(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("shard-") || name.starts_with("run.") {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked_before_anything_is_built() {
        let a = |v: &[&str]| args(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let e = a(&["two", "scenarios/demo.yaml"]).unwrap_err().to_string();
        assert!(e.contains("N must be a whole number"), "{e}");
        let e = a(&["0", "x.yaml"]).unwrap_err().to_string();
        assert!(e.contains("at least 1"), "{e}");
        let e = a(&["2", "no-such.yaml"]).unwrap_err().to_string();
        assert!(e.contains("no scenario file no-such.yaml"), "{e}");
        assert!(a(&["2"]).is_err());
    }

    #[test]
    fn an_earlier_runs_shard_files_are_removed() {
        let dir = std::env::temp_dir().join(format!("xtask-clear-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for f in [
            "shard-0.json",
            "shard-7.json",
            "shard-7.log",
            "run.json",
            "notes.txt",
        ] {
            std::fs::write(dir.join(f), "x").unwrap();
        }
        clear(&dir).unwrap();
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, ["notes.txt"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A loopback HTTP server that counts the requests it answers.
    fn server() -> (String, Arc<AtomicU64>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(AtomicU64::new(0));
        let count = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let count = Arc::clone(&count);
                std::thread::spawn(move || {
                    let mut conn = conn;
                    let mut buf = [0u8; 4096];
                    let mut pending = Vec::new();
                    while let Ok(n) = conn.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        pending.extend_from_slice(&buf[..n]);
                        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            pending.drain(..end + 4);
                            count.fetch_add(1, Ordering::Relaxed);
                            let _ =
                                conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                        }
                    }
                });
            }
        });
        (addr, seen)
    }

    #[test]
    fn three_simulated_pods_merge_to_what_the_server_saw() {
        let host =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/scheduler-host");
        assert!(
            host.exists(),
            "{} is missing: run `cargo xtask test`",
            host.display()
        );
        let (addr, seen) = server();
        let dir = std::env::temp_dir().join(format!("xtask-shards-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let scenario = dir.join("s.yaml");
        std::fs::write(
            &scenario,
            format!(
                "scenario:\n  id: sim\n  load: {{total_users: 7, iterations: 5}}\n  workflow:\n    - {{id: home, type: http, params: {{url: 'http://{addr}/'}}}}\n"
            ),
        )
        .unwrap();
        let code = simulate(&host, 3, &scenario, &dir.join("out"), &[]).unwrap();
        assert_eq!(code, 0);
        let merged: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("out/run.json")).unwrap()).unwrap();
        assert_eq!(seen.load(Ordering::Relaxed), 35);
        assert_eq!(merged["total_requests"], 35);
        assert_eq!(merged["iterations"], 35);
        assert!(
            merged["shard"].is_null(),
            "the merged report is the whole run"
        );
        for i in 0..3 {
            let shard: serde_json::Value = serde_json::from_slice(
                &std::fs::read(dir.join(format!("out/shard-{i}.json"))).unwrap(),
            )
            .unwrap();
            assert_eq!(shard["shard"], format!("{i}/3"));
        }
    }
}
