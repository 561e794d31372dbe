//! The engine's own figures: users per instance swept (CPU per request,
//! memory and start-up), full memory reservations against bounds checks,
//! plain mode under stock wasmtime, and 100,000 users on this machine.

use super::measure::{self, Cmd, thousands};
use super::nginx::Nginx;
use super::{Bench, Memory, Run, SECS, Throughput, USERS, get_step, path};
use anyhow::{Context, Result};
use std::path::Path;
use std::time::{Duration, Instant};

/// Users per instance tried at 50 users (kept alive) and at 10,000 (thinking).
const K_FAST: [u32; 4] = [1, 7, 25, 50];
const K_MANY: [u32; 3] = [1, 100, 1000];
/// The 100,000-user run: think time, length, source addresses.
const HUGE: u32 = 100_000;
const HUGE_SECS: u32 = 20;
const HUGE_SOURCES: &str = "127.0.0.1-127.0.0.8";
/// The users start over this many seconds (all at once, 100,000 connects
/// overflow nginx's accept queues: SYNs are dropped and retried a second
/// later, and connects time out).
const HUGE_RAMP_SECS: u32 = 5;
/// Local shards of the 100,000 users (each under this machine's 20,000
/// open files per process).
const SHARDS: u32 = 6;

/// What `all` adds to the tables.
pub(super) struct Engine {
    pub(super) fast: Vec<(u32, Throughput)>,
    pub(super) checked: Throughput,
    pub(super) plain: Throughput,
    pub(super) many: Vec<(u32, Memory)>,
    /// The 100,000-user run, or why it failed (a non-zero exit among them).
    pub(super) huge: Result<Huge, String>,
}

/// The 100,000-user run (every shard exited 0: `huge` fails otherwise).
pub(super) struct Huge {
    pub(super) wall: f64,
    pub(super) ready: Option<f64>,
    pub(super) requests: u64,
    pub(super) failed: u64,
    pub(super) served: u64,
    pub(super) peak_rss: u64,
}

impl Bench {
    pub(super) fn engine(
        &self,
        nginx: &Nginx,
        fixed: &Path,
        wasmtime: &Path,
        wasm: &Path,
    ) -> Result<Engine> {
        let runs = super::RUNS;
        let mut fast = Vec::new();
        for k in K_FAST {
            let ks = k.to_string();
            let mut r = Vec::new();
            for _ in 0..runs {
                r.push(nginx.count(|| {
                    self.host_run_with(fixed, &["--users-per-instance", &ks], Vec::new())
                })?);
            }
            fast.push((k, Throughput::new(&r)));
        }
        // The same with 64 MiB memories and bounds checks (as when instances
        // are too many for full reservations).
        let mut r = Vec::new();
        for _ in 0..runs {
            let env = vec![("SCHEDULER_HOST_BOUNDS_CHECKS", "1".to_string())];
            r.push(nginx.count(|| self.host_run_with(fixed, &[], env))?);
        }
        let checked = Throughput::new(&r);
        // Plain mode: stock wasmtime, one instance, the same scenario.
        let mut r = Vec::new();
        let dir = fixed.parent().context("scenario dir")?;
        for _ in 0..runs {
            let cmd = Cmd {
                bin: wasmtime,
                args: vec![
                    "run".into(),
                    "-S".into(),
                    "inherit-network".into(),
                    "--dir".into(),
                    path(dir),
                    path(wasm),
                    path(fixed),
                ],
                env: Vec::new(),
            };
            r.push(nginx.count(|| {
                let m = measure::pinned(&cmd)?;
                let report: serde_json::Value =
                    serde_json::from_str(&m.stdout).context("plain mode's report")?;
                Ok(Run::of_report(m.cpu_secs, &report))
            })?);
        }
        let plain = Throughput::new(&r);
        let mut many = Vec::new();
        for k in K_MANY {
            let s = self.scenario(&format!("many{k}"), 10_000, 15, &get_step(Some("1s")), "")?;
            let report = self.work.join(format!("many{k}.json"));
            let ks = k.to_string();
            let cmd = self.host_cmd(&s, &["--out", &path(&report), "--users-per-instance", &ks]);
            let ((rss, pss), served) = nginx
                .count(|| measure::peak_memory(&cmd, Duration::from_secs(2), &mut Vec::new()))?;
            let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report)?)?;
            many.push((
                k,
                Memory {
                    tool: "scheduler-host",
                    users: 10_000,
                    rss,
                    pss,
                    ready: r["instances_ready_seconds"].as_f64(),
                    served,
                    failed: r["failed"].as_u64().unwrap_or(0),
                },
            ));
        }
        let huge = Err(String::new());
        Ok(Engine {
            fast,
            checked,
            plain,
            many,
            huge,
        })
    }

    /// 100,000 users, 5 s think time, for HUGE_SECS, from 8 loopback
    /// addresses, the host's default users per instance. A process may
    /// open 20,000 files here (a hard limit that cannot be raised without
    /// CAP_SYS_RESOURCE), so the run is SHARDS local shards started
    /// together and merged exactly (`scheduler-host merge`), against an
    /// nginx of 8 workers; peak RSS is the shards' peaks added up.
    pub(super) fn huge(&self) -> Result<Huge> {
        let nginx = Nginx::start_with(&self.work, 8)?;
        let s = self.scenario("huge", HUGE, HUGE_SECS, &get_step(Some("5s")), "")?;
        let text = std::fs::read_to_string(&s)?.replace(
            &format!("test_duration: {HUGE_SECS}s}}"),
            &format!(
                "test_duration: {HUGE_SECS}s, ramp_duration: {HUGE_RAMP_SECS}s, ip_pool: ['{HUGE_SOURCES}']}}"
            ),
        );
        std::fs::write(&s, text)?;
        let began = Instant::now();
        let (outs, served) = nginx.count(|| {
            let children: Vec<_> = (0..SHARDS)
                .map(|i| {
                    let out = self.work.join(format!("huge{i}.json"));
                    std::process::Command::new("/usr/bin/time")
                        .args(["-f", "TIME %M"])
                        .arg(&self.host)
                        .args(["run", &path(&s), "--quiet", "--out", &path(&out)])
                        .args(["--shard", &format!("{i}/{SHARDS}"), "--start-at", "+5s"])
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::piped())
                        .spawn()
                        .map(|c| (c, out))
                })
                .collect::<std::io::Result<_>>()?;
            let mut outs = Vec::new();
            for (child, out) in children {
                let o = child.wait_with_output()?;
                let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
                if !o.status.success() {
                    anyhow::bail!("a shard exited {:?}: {stderr}", o.status.code());
                }
                let kb: u64 = stderr
                    .lines()
                    .rev()
                    .find_map(|l| l.strip_prefix("TIME "))
                    .and_then(|v| v.trim().parse().ok())
                    .context("no /usr/bin/time line")?;
                outs.push((out, kb));
            }
            Ok(outs)
        })?;
        let wall = began.elapsed().as_secs_f64();
        let merged = self.work.join("huge.json");
        let status = std::process::Command::new(&self.host)
            .arg("merge")
            .args(outs.iter().map(|(o, _)| o))
            .args(["--out", &path(&merged)])
            .stdout(std::process::Stdio::null())
            .status()?;
        anyhow::ensure!(status.success(), "merging the shards failed");
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&merged).context("the merged report")?)?;
        let ready = outs
            .iter()
            .filter_map(|(o, _)| {
                let r: serde_json::Value = serde_json::from_slice(&std::fs::read(o).ok()?).ok()?;
                r["instances_ready_seconds"].as_f64()
            })
            .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))));
        Ok(Huge {
            wall,
            ready,
            requests: r["total_requests"].as_u64().unwrap_or(0),
            failed: r["failed"].as_u64().unwrap_or(0),
            served,
            peak_rss: outs.iter().map(|(_, kb)| kb).sum(),
        })
    }
}

/// The engine's tables.
pub(super) fn tables(e: &Engine, goose_cpu_us: f64, oha_cpu_us: f64) -> String {
    let mut md = format!(
        "Users per instance at {USERS} users kept alive ({SECS} s, pinned as above, median of {} runs; the default is users over cores, at most 100: 25 here):\n\n| users per instance | instances | requests/s (nginx) | CPU µs per request | vs Goose (requests per CPU-second) | vs oha (CPU per request) |\n|---|---|---|---|---|---|\n",
        super::RUNS
    );
    for (k, t) in &e.fast {
        md += &format!(
            "| {k} | {} | {} | {} | {:.2}× | {:.2}× |\n",
            USERS.div_ceil(*k),
            t.rps.show(0),
            t.cpu_us.show(1),
            goose_cpu_us / t.cpu_us.median,
            t.cpu_us.median / oha_cpu_us
        );
    }
    md += &format!(
        "| default, 64 MiB memories with bounds checks | | {} | {} | {:.2}× | {:.2}× |\n| plain mode (stock wasmtime, one instance) | 1 | {} | {} | {:.2}× | {:.2}× |\n\n",
        e.checked.rps.show(0),
        e.checked.cpu_us.show(1),
        goose_cpu_us / e.checked.cpu_us.median,
        e.checked.cpu_us.median / oha_cpu_us,
        e.plain.rps.show(0),
        e.plain.cpu_us.show(1),
        goose_cpu_us / e.plain.cpu_us.median,
        e.plain.cpu_us.median / oha_cpu_us,
    );
    md += "10,000 users, 1 s think time, 15 s, by users per instance (both CPUs):\n\n| users per instance | peak RSS | RSS per user | peak PSS | PSS per user | init phase | requests (nginx) / failed |\n|---|---|---|---|---|---|---|\n";
    for (k, m) in &e.many {
        md += &format!(
            "| {k} | {} MiB | {:.1} KB | {} MiB | {:.1} KB | {} | {} / {} |\n",
            m.rss / 1024,
            m.rss as f64 / 10_000.0,
            m.pss / 1024,
            m.pss as f64 / 10_000.0,
            m.ready.map_or("-".into(), |t| format!("{t:.2} s")),
            thousands(m.served as f64, 0),
            m.failed
        );
    }
    md += "\n";
    md += &huge_table(&e.huge);
    md
}

/// The 100,000-user run's line.
pub(super) fn huge_table(huge: &Result<Huge, String>) -> String {
    let mut md = String::new();
    match huge {
        Ok(h) => {
            md += &format!(
                "100,000 users (started over {HUGE_RAMP_SECS} s), 5 s think time, {HUGE_SECS} s, from 8 loopback addresses ({HUGE_SOURCES}), default users per instance, {SHARDS} local shards merged exactly: every shard exited 0, {:.1} s wall, init {}, {} requests ({} failed, {:.3}%), nginx counted {}, peak RSS {:.2} GiB.\n\n",
                h.wall,
                h.ready.map_or("-".into(), |t| format!("{t:.2} s")),
                thousands(h.requests as f64, 0),
                h.failed,
                100.0 * h.failed as f64 / h.requests.max(1) as f64,
                thousands(h.served as f64, 0),
                h.peak_rss as f64 / (1024.0 * 1024.0),
            )
        }
        Err(why) => md += &format!("100,000 users: the run failed: {why}\n\n"),
    }
    md
}

/// Each of issue 24's targets: met or not, with the figure.
pub(super) fn targets_table(
    host: &Throughput,
    oha: &Throughput,
    oha_paced: &Throughput,
    goose: &Throughput,
    mem: &[Memory],
    engine: &Engine,
) -> String {
    let per = |tool: &str, users: u32| {
        mem.iter()
            .find(|m| m.tool == tool && m.users == users)
            .and_then(|m| m.per_user(mem))
    };
    let ready = mem
        .iter()
        .find(|m| m.tool == "scheduler-host" && m.users == 10_000)
        .and_then(|m| m.ready);
    let mut md = "| target (issue 24) | measured | met |\n|---|---|---|\n".to_string();
    let mut row = |what: &str, value: String, met: bool| {
        md += &format!(
            "| {what} | {value} | {} |\n",
            if met { "yes" } else { "no" }
        );
    };
    let g = goose.cpu_us.median / host.cpu_us.median;
    row(
        "requests per CPU-second ≥ 1.0× Goose's (moonshot 1.5×)",
        format!("{g:.2}×"),
        g >= 1.0,
    );
    let c = host.cpu_us.median / oha_paced.cpu_us.median;
    row(
        "CPU per request ≤ 1.5× oha's at the same rate",
        format!("{c:.2}×"),
        c <= 1.5,
    );
    let r = host.rps.median / oha.rps.median;
    row(
        "requests/s ≥ 0.8× oha's at 50 users",
        format!("{r:.2}×"),
        r >= 0.8,
    );
    for users in [1000, 10_000] {
        if let (Some(h), Some(g)) = (per("scheduler-host", users), per("Goose", users)) {
            row(
                &format!(
                    "RSS per user below Goose's at {}",
                    thousands(f64::from(users), 0)
                ),
                format!("{:.0} KB against {:.0} KB", h.0, g.0),
                h.0 < g.0,
            );
        }
    }
    if let Some(h) = per("scheduler-host", 10_000) {
        row(
            "PSS per user ≤ 40 KB at 10,000",
            format!("{:.1} KB", h.1),
            h.1 <= 40.0,
        );
    }
    if let Some(t) = ready {
        row("10,000 users ready ≤ 0.5 s", format!("{t:.2} s"), t <= 0.5);
    }
    match &engine.huge {
        Ok(h) => {
            let failed = h.failed as f64 / h.requests.max(1) as f64;
            let gib = h.peak_rss as f64 / (1024.0 * 1024.0);
            row(
                "100,000 users: exit 0, ≤ 0.1% failed, nginx's count = the report's, peak RSS ≤ 12 GB",
                format!(
                    "exit 0, {:.3}% failed, {} vs {}, {gib:.2} GiB",
                    100.0 * failed,
                    h.served,
                    h.requests
                ),
                failed <= 0.001 && h.served == h.requests && gib <= 12.0 * 0.931,
            );
        }
        Err(why) => row("100,000 users", format!("failed: {why}"), false),
    }
    md + "\n"
}
