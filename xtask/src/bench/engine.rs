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

/// What `all` adds to the tables.
pub(super) struct Engine {
    pub(super) fast: Vec<(u32, Throughput)>,
    pub(super) checked: Throughput,
    pub(super) plain: Throughput,
    pub(super) many: Vec<(u32, Memory)>,
    /// The 100,000-user run, or why it failed (a non-zero exit among them).
    pub(super) huge: Result<Huge, String>,
}

/// The 100,000-user run (it exited 0: `peak_memory` fails otherwise).
pub(super) struct Huge {
    pub(super) wall: f64,
    pub(super) ready: Option<f64>,
    pub(super) requests: u64,
    pub(super) failed: u64,
    pub(super) served: u64,
    pub(super) peak_rss: u64,
}

impl Bench {
    fn host_run_with(
        &self,
        scenario: &Path,
        extra: &[&str],
        env: Vec<(&'static str, String)>,
    ) -> Result<Run> {
        let out = self.work.join("host.json");
        let mut args = vec!["--out".to_string(), path(&out)];
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut cmd = self.host_cmd(scenario, &[]);
        cmd.args.extend(args);
        cmd.env = env;
        let m = measure::pinned(&cmd)?;
        let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&out)?)?;
        Ok(Run {
            cpu_secs: m.cpu_secs,
            own_rps: report["throughput_rps"].as_f64(),
            failed: report["failed"].as_u64().unwrap_or(0),
        })
    }

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
                Ok(Run {
                    cpu_secs: m.cpu_secs,
                    own_rps: report["throughput_rps"].as_f64(),
                    failed: report["failed"].as_u64().unwrap_or(0),
                })
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
        let huge = self.huge(nginx).map_err(|e| format!("{e:#}"));
        Ok(Engine {
            fast,
            checked,
            plain,
            many,
            huge,
        })
    }

    /// 100,000 users, 5 s think time, for HUGE_SECS, from 8 loopback
    /// addresses; both CPUs, the host's default users per instance.
    fn huge(&self, nginx: &Nginx) -> Result<Huge> {
        let s = self.scenario(
            "huge",
            HUGE,
            HUGE_SECS,
            &get_step(Some("5s")),
            &format!("  ip_pool: [{HUGE_SOURCES}]\n"),
        )?;
        // ip_pool sits under load: in this scenario form it is a load field.
        let text = std::fs::read_to_string(&s)?
            .replace(&format!("  ip_pool: [{HUGE_SOURCES}]\n"), "")
            .replace(
                &format!("test_duration: {HUGE_SECS}s}}"),
                &format!("test_duration: {HUGE_SECS}s, ip_pool: ['{HUGE_SOURCES}']}}"),
            );
        std::fs::write(&s, text)?;
        let report = self.work.join("huge.json");
        let cmd = self.host_cmd(&s, &["--out", &path(&report)]);
        let began = Instant::now();
        let mut samples = Vec::new();
        let ((peak_rss, _), served) =
            nginx.count(|| measure::peak_memory(&cmd, Duration::from_secs(5), &mut samples))?;
        let _ = samples;
        let wall = began.elapsed().as_secs_f64();
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&report).context("the 100,000-user report")?)?;
        Ok(Huge {
            wall,
            ready: r["instances_ready_seconds"].as_f64(),
            requests: r["total_requests"].as_u64().unwrap_or(0),
            failed: r["failed"].as_u64().unwrap_or(0),
            served,
            peak_rss,
        })
    }
}

/// The engine's tables.
pub(super) fn tables(e: &Engine, goose_cpu_us: f64, oha_cpu_us: f64) -> String {
    let mut md = format!(
        "Users per instance at {USERS} users kept alive ({SECS} s, pinned as above, median of {} runs; default: 7 here):\n\n| users per instance | instances | requests/s (nginx) | CPU µs per request | vs Goose (requests per CPU-second) | vs oha (CPU per request) |\n|---|---|---|---|---|---|\n",
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
    match &e.huge {
        Ok(h) => {
            md += &format!(
                "100,000 users, 5 s think time, {HUGE_SECS} s, from 8 loopback addresses ({HUGE_SOURCES}), default users per instance: exit 0, {:.1} s wall, init {}, {} requests ({} failed, {:.3}%), nginx counted {}, peak RSS {:.2} GiB.\n\n",
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
