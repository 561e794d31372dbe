//! `cargo xtask bench profile [--component FILE.wasm]`: where a request's
//! CPU goes. The fixed-step throughput run under `perf record` (wasmtime
//! writes a perf map, so guest code is attributed), its samples summed into
//! the layers of the request path, each shown as a share and as µs of the
//! CPU per request measured without perf in the same run.

use super::measure::{self, Spread};
use super::nginx::Nginx;
use super::{Bench, SECS, USERS, get_step, path};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Does a sample's (library, symbol) belong to a layer?
type Test = fn(&str, &str) -> bool;

/// Layers, in the order shown; the first whose test matches a sample takes it.
const LAYERS: [(&str, Test); 8] = [
    ("kernel (sockets, loopback, scheduling)", |_, s| {
        s.starts_with("[k]")
    }),
    (
        "guest code (scheduler, action, core-libs, adapters)",
        |d, s| d.ends_with(".cwasm") || s.contains("wasm[") || s.contains("trampoline"),
    ),
    ("WASI implementation (wasmtime-wasi)", |_, s| {
        s.contains("wasmtime_wasi")
    }),
    (
        "wasmtime runtime (calls, lifting and lowering, resources, fibers)",
        |_, s| s.contains("wasmtime"),
    ),
    (
        "tokio and mio (the host's I/O reactor and tasks)",
        |_, s| s.contains("tokio") || s.contains("mio::"),
    ),
    (
        "host: users, statistics (scheduler-host, scenario, stats, hdrhistogram)",
        |_, s| {
            [
                "scheduler_host",
                "scheduler::",
                "scenario::",
                "stats::",
                "hdrhistogram",
            ]
            .iter()
            .any(|name| s.contains(name))
        },
    ),
    ("libc: allocator, memcpy, clock, syscalls", |d, _| {
        d.starts_with("libc") || d.contains("vdso")
    }),
    ("other", |_, _| true),
];

pub fn run(bench: &Bench, root: &Path, component: Option<&Path>) -> Result<()> {
    let nginx = Nginx::start(&bench.work)?;
    let s = bench.scenario("profile", USERS, SECS, &get_step(None), "")?;
    let mut extra = Vec::new();
    if let Some(c) = component {
        extra = vec!["--component".to_string(), path(c)];
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    // Warm the compile cache, then CPU per request without perf.
    measure::pinned(&bench.host_cmd(&s, &[&["--duration", "1s"], &extra[..]].concat()))?;
    let mut cpu = Vec::new();
    for _ in 0..3 {
        let (m, served) = nginx.count(|| measure::pinned(&bench.host_cmd(&s, &extra)))?;
        cpu.push(m.cpu_secs / served as f64 * 1e6);
    }
    let cpu = Spread::of(&cpu);
    let data = bench.work.join("perf.data");
    let mut cmd = bench.host_cmd(&s, &extra);
    let mut args = vec![
        "-c".to_string(),
        "1".into(),
        "perf".into(),
        "record".into(),
        "-F".into(),
        "2000".into(),
        "-o".into(),
        path(&data),
        "--".into(),
        path(cmd.bin),
    ];
    args.append(&mut cmd.args);
    crate::tools::run(
        Command::new("taskset")
            .args(&args)
            .env("SCHEDULER_HOST_PERFMAP", "1"),
    )?;
    let report = Command::new("perf")
        .args([
            "report",
            "--stdio",
            "--no-children",
            "-g",
            "none",
            "--sort",
            "dso,sym",
            "-i",
        ])
        .arg(&data)
        .output()
        .context("perf report")?;
    let text = String::from_utf8_lossy(&report.stdout);
    let mut shares: BTreeMap<usize, f64> = BTreeMap::new();
    let mut top = Vec::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(pct), Some(dso)) = (f.next(), f.next()) else {
            continue;
        };
        let Some(Ok(pct)) = pct.strip_suffix('%').map(str::parse::<f64>) else {
            continue;
        };
        let sym: String = f.collect::<Vec<_>>().join(" ");
        let layer = LAYERS
            .iter()
            .position(|(_, test)| test(dso, &sym))
            .unwrap_or(LAYERS.len() - 1);
        *shares.entry(layer).or_default() += pct;
        if top.len() < 15 {
            top.push((pct, sym));
        }
    }
    let what = component.map_or("target/scheduler-final.wasm".to_string(), path);
    let mut md = format!(
        "Profile of the fixed step ({what}; {USERS} users, {SECS} s, pinned to CPU 1): CPU per request without perf {} µs (median of 3, min–max).\n\n| layer | share of samples | µs per request |\n|---|---|---|\n",
        cpu.show(1)
    );
    for (i, (name, _)) in LAYERS.iter().enumerate() {
        let share = shares.get(&i).copied().unwrap_or(0.0);
        md += &format!(
            "| {name} | {share:.1}% | {:.1} |\n",
            share / 100.0 * cpu.median
        );
    }
    md += "\nHottest symbols:\n\n| share | symbol |\n|---|---|\n";
    for (pct, sym) in top {
        md += &format!(
            "| {pct:.2}% | `{}` |\n",
            sym.chars().take(110).collect::<String>()
        );
    }
    println!("{md}");
    std::fs::write(root.join("target/profile.md"), &md)?;
    Ok(())
}
