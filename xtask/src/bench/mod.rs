//! `cargo xtask bench`: scheduler-host against oha and Goose on the same
//! nginx in the same run, each pinned to CPU 1 (nginx on CPU 0), every
//! throughput figure the median of 3 runs with its range; then memory per
//! user and start-up at 1, 1,000 and 10,000 users for scheduler-host and
//! Goose. `cargo xtask bench huge` runs only the 100,000 users, `cargo
//! xtask bench h2` only HTTP/2 against oha's, `cargo xtask bench scripts`
//! only scripted users' cost per language.
//! `cargo xtask bench soak` holds 2,000 users for 10 minutes and
//! follows their memory; `cargo xtask bench profile` records where a
//! request's CPU goes. Prints Markdown tables (also written to
//! target/bench.md, target/soak.md, target/profile.md) for the book's
//! Performance chapter.

mod engine;
mod http2;
mod measure;
mod nginx;
mod peers;
mod profile;
mod scripts;
mod soak;

use anyhow::{Context, Result, bail};
use measure::{Cmd, Spread, thousands};
use nginx::{Nginx, PORT, TLS_CLOSE_PORT, TLS_PORT};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The Goose peer's manifest (not a workspace member: its lock file pins Goose).
pub const GOOSE_PEER: &str = "bench/goose-peer/Cargo.toml";

/// Runs per throughput figure (the median and range are shown).
const RUNS: usize = 3;
/// Users (connections) and seconds of every throughput run.
const USERS: u32 = 50;
const SECS: u32 = 5;

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let goose = peers::ensure(root)?;
    crate::tools::run(Command::new(env!("CARGO")).current_dir(root).args([
        "build",
        "--release",
        "-p",
        "scheduler-host",
    ]))?;
    let host = root.join("target/release/scheduler-host");
    let work = root.join("target/bench");
    std::fs::create_dir_all(&work)?;
    // 10,000 instances need more memory mappings than Linux's default 65530.
    let _ = std::fs::write("/proc/sys/vm/max_map_count", "1048576");
    let bench = Bench {
        host,
        goose,
        work: work.clone(),
    };
    match args.first().map(String::as_str) {
        None => bench.all(root),
        Some("soak") => {
            let minutes = match args.get(1) {
                Some(m) => m
                    .parse()
                    .context("usage: cargo xtask bench soak [MINUTES]")?,
                None => 10,
            };
            soak::run(&bench, root, minutes)
        }
        Some("profile") => {
            let component = match args.get(1..) {
                Some([flag, file]) if flag == "--component" => Some(PathBuf::from(file)),
                Some([]) | None => None,
                _ => bail!("usage: cargo xtask bench profile [--component FILE.wasm]"),
            };
            profile::run(&bench, root, component.as_deref())
        }
        Some("scripts") => {
            let nginx = Nginx::start(&bench.work)?;
            let md = bench.scripts(root, &nginx)?;
            println!("{md}");
            Ok(())
        }
        Some("h2") => {
            let nginx = Nginx::start(&bench.work)?;
            let md = versus_table("HTTP/2, kept alive", &http2::rows(&bench, &nginx)?);
            println!("{md}");
            Ok(())
        }
        Some("huge") => {
            let md = engine::huge_table(&bench.huge().map_err(|e| format!("{e:#}")));
            println!("{md}");
            Ok(())
        }
        Some(other) => {
            bail!(
                "unknown bench {other:?}; usage: cargo xtask bench [soak | profile | huge | h2 | scripts]"
            )
        }
    }
}

pub struct Bench {
    host: PathBuf,
    goose: PathBuf,
    work: PathBuf,
}

/// One throughput run: what the tool used and said.
struct Run {
    cpu_secs: f64,
    /// The tool's own requests per second.
    own_rps: Option<f64>,
    failed: u64,
}

impl Run {
    /// A run's CPU and a scheduler-host report's own figures (the host's
    /// `--out`, or plain mode's stdout).
    fn of_report(cpu_secs: f64, report: &serde_json::Value) -> Run {
        Run {
            cpu_secs,
            own_rps: report["throughput_rps"].as_f64(),
            failed: report["failed"].as_u64().unwrap_or(0),
        }
    }
}

/// A tool's throughput over RUNS runs, counted by nginx.
struct Throughput {
    /// Requests per second as nginx counted them.
    rps: Spread,
    own_rps: Spread,
    /// The tool's CPU per request nginx served.
    cpu_us: Spread,
    failed: u64,
}

impl Throughput {
    fn new(runs: &[(Run, u64)]) -> Throughput {
        let rps: Vec<f64> = runs
            .iter()
            .map(|(_, n)| *n as f64 / f64::from(SECS))
            .collect();
        let own: Vec<f64> = runs.iter().filter_map(|(r, _)| r.own_rps).collect();
        let cpu: Vec<f64> = runs
            .iter()
            .map(|(r, n)| r.cpu_secs / *n as f64 * 1e6)
            .collect();
        Throughput {
            rps: Spread::of(&rps),
            own_rps: Spread::of(&own),
            cpu_us: Spread::of(&cpu),
            failed: runs.iter().map(|(r, _)| r.failed).sum(),
        }
    }
}

impl Bench {
    fn all(&self, root: &Path) -> Result<()> {
        let nginx = Nginx::start(&self.work)?;
        let http = format!("http://127.0.0.1:{PORT}/");
        let fixed = self.scenario("bench", USERS, SECS, &get_step(None), "")?;
        let journey = self.scenario(
            "journey",
            USERS,
            SECS,
            &format!("    - type: http\n      params: {{url: '{http}?u=${{vu}}&i=${{iteration}}', headers: {{X-Request: '${{uuid}}', X-Vu: '${{vu}}'}}}}\n      extract: {{code: {{status: true}}, server: {{header: Server}}}}\n      expect_header: {{Content-Type: text/plain}}\n"),
            "",
        )?;
        // Warm the compile cache so timed runs measure load, not compilation.
        measure::pinned(&self.host_cmd(&fixed, &["--duration", "1s"]))?;

        // Round-robin, so drift on this shared machine touches every tool alike.
        let mut runs: [Vec<(Run, u64)>; 4] = Default::default();
        for _ in 0..RUNS {
            runs[0].push(nginx.count(|| self.host_run(&fixed))?);
            runs[1].push(nginx.count(|| oha_run(&http, &[]))?);
            runs[2].push(nginx.count(|| self.goose_run(USERS, SECS, 0, None))?);
            runs[3].push(nginx.count(|| self.host_run(&journey))?);
        }
        let [host, oha, goose, journey] = runs.map(|r| Throughput::new(&r));

        // The peers held to scheduler-host's rate: a server that idles
        // between requests must be woken for each (an interrupt to its CPU,
        // charged to the sender), so CPU per request depends on the rate.
        let rate = host.rps.median.round() as u32;
        let (mut o, mut g) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let q = rate.to_string();
            o.push(nginx.count(|| oha_run(&http, &["-q", &q]))?);
            g.push(nginx.count(|| self.goose_run(USERS, SECS, 0, Some(rate)))?);
        }
        let paced = (rate, Throughput::new(&o), Throughput::new(&g));

        let ca = nginx.ca();
        let ca = ca.to_str().context("utf-8 path")?;
        let mut tls = Vec::new();
        for (what, port) in [
            ("HTTPS kept alive", TLS_PORT),
            ("HTTPS, a new connection per request", TLS_CLOSE_PORT),
        ] {
            let url = format!("https://127.0.0.1:{port}/");
            let s = self.scenario(
                &format!("tls{port}"),
                USERS,
                SECS,
                &format!("    - {{type: http, params: {{url: '{url}'}}}}\n"),
                &format!("  tls: {{ca_file: '{ca}'}}\n"),
            )?;
            let mut extra = vec!["--cacert", ca];
            if port == TLS_CLOSE_PORT {
                extra.push("--disable-keepalive");
            }
            let (mut h, mut o) = (Vec::new(), Vec::new());
            for _ in 0..RUNS {
                h.push(nginx.count(|| self.host_run(&s))?);
                o.push(nginx.count(|| oha_run(&url, &extra))?);
            }
            tls.push((what, Throughput::new(&h), Throughput::new(&o)));
        }
        let h2 = http2::rows(self, &nginx)?;
        let scripts = self.scripts(root, &nginx)?;
        let wasm = root.join("target/scheduler-final.wasm");
        let mut engine = self.engine(&nginx, &fixed, Path::new("wasmtime"), &wasm)?;
        drop(nginx);
        engine.huge = self.huge().map_err(|e| format!("{e:#}"));

        let mem = self.memory()?;

        let mut md = throughput_table(&host, &oha, &goose, &journey);
        md += &paced_table(&host, &paced);
        md += &versus_table("HTTPS (ECDSA P-256)", &tls);
        md += &versus_table("HTTP/2, kept alive", &h2);
        md += &memory_table(&mem);
        md += &scripts;
        md += &engine::tables(&engine, goose.cpu_us.median, paced.1.cpu_us.median);
        md += &engine::targets_table(&host, &oha, &paced.1, &goose, &mem, &engine);
        md += &parts_table(root)?;
        println!("{md}");
        std::fs::write(root.join("target/bench.md"), &md)?;
        Ok(())
    }

    /// Writes `target/bench/NAME.yaml`: `users` users for `secs` seconds
    /// running `workflow`, with `extra` scenario fields.
    fn scenario(
        &self,
        name: &str,
        users: u32,
        secs: u32,
        workflow: &str,
        extra: &str,
    ) -> Result<PathBuf> {
        let path = self.work.join(format!("{name}.yaml"));
        std::fs::write(
            &path,
            format!(
                "scenario:\n  id: bench-{name}\n{extra}  load: {{total_users: {users}, test_duration: {secs}s}}\n  workflow:\n{workflow}"
            ),
        )?;
        Ok(path)
    }

    fn host_cmd(&self, scenario: &Path, extra: &[&str]) -> Cmd<'_> {
        let mut args = vec!["run".to_string(), path(scenario), "--quiet".into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        Cmd {
            bin: &self.host,
            args,
            env: Vec::new(),
        }
    }

    fn host_run(&self, scenario: &Path) -> Result<Run> {
        self.host_run_with(scenario, &[], Vec::new())
    }

    /// One pinned run of scheduler-host with `extra` arguments and `env`.
    fn host_run_with(
        &self,
        scenario: &Path,
        extra: &[&str],
        env: Vec<(&'static str, String)>,
    ) -> Result<Run> {
        let out = self.work.join("host.json");
        let mut cmd = self.host_cmd(scenario, &["--out", &path(&out)]);
        cmd.args.extend(extra.iter().map(|s| s.to_string()));
        cmd.env = env;
        let m = measure::pinned(&cmd)?;
        let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&out)?)?;
        Ok(Run::of_report(m.cpu_secs, &report))
    }

    /// Goose, held to `rate` requests per second when given.
    fn goose_cmd(
        &self,
        users: u32,
        secs: u32,
        think_ms: u32,
        rate: Option<u32>,
        report: &Path,
    ) -> Cmd<'_> {
        let mut cmd = Cmd {
            bin: &self.goose,
            args: vec![
                "--host".into(),
                format!("http://127.0.0.1:{PORT}"),
                "--users".into(),
                users.to_string(),
                // Every user at once, as scheduler-host's users (no ramp).
                "--increase-rate".into(),
                users.to_string(),
                "--run-time".into(),
                format!("{secs}s"),
                "--quiet".into(),
                "--no-print-metrics".into(),
                "--report-file".into(),
                path(report),
            ],
            env: vec![("THINK_MS", think_ms.to_string())],
        };
        if let Some(rate) = rate {
            cmd.args
                .extend(["--throttle-requests".into(), rate.to_string()]);
        }
        cmd
    }

    fn goose_run(&self, users: u32, secs: u32, think_ms: u32, rate: Option<u32>) -> Result<Run> {
        let report = self.work.join("goose.json");
        let m = measure::pinned(&self.goose_cmd(users, secs, think_ms, rate, &report))?;
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&report).context("Goose's report")?)?;
        let figures = peers::goose_figures(&json);
        Ok(Run {
            cpu_secs: m.cpu_secs,
            own_rps: figures.map(|f| f.0),
            failed: figures.map_or(0, |f| f.1),
        })
    }

    /// Peak memory and start-up at 1, 1,000 and 10,000 users that mostly
    /// think (1 s), all started at once, for scheduler-host and Goose.
    fn memory(&self) -> Result<Vec<Memory>> {
        let nginx = Nginx::start(&self.work)?;
        let mut out = Vec::new();
        for users in [1u32, 1000, 10_000] {
            let s = self.scenario(&format!("mem{users}"), users, 15, &get_step(Some("1s")), "")?;
            let report = self.work.join(format!("mem{users}.json"));
            let cmd = self.host_cmd(&s, &["--out", &path(&report)]);
            let ((rss, pss), served) = nginx
                .count(|| measure::peak_memory(&cmd, Duration::from_secs(2), &mut Vec::new()))?;
            let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report)?)?;
            out.push(Memory {
                tool: "scheduler-host",
                users,
                rss,
                pss,
                ready: r["instances_ready_seconds"].as_f64(),
                served,
                failed: r["failed"].as_u64().unwrap_or(0),
            });
            let report = self.work.join(format!("goose-mem{users}.json"));
            let cmd = self.goose_cmd(users, 15, 1000, None, &report);
            let ((rss, pss), served) = nginx
                .count(|| measure::peak_memory(&cmd, Duration::from_secs(2), &mut Vec::new()))?;
            out.push(Memory {
                tool: "Goose",
                users,
                rss,
                pss,
                ready: None,
                served,
                failed: 0,
            });
        }
        Ok(out)
    }
}

/// Peak memory of one run.
struct Memory {
    tool: &'static str,
    users: u32,
    rss: u64,
    pss: u64,
    /// scheduler-host: how long the init phase took (every instance ready).
    ready: Option<f64>,
    served: u64,
    failed: u64,
}

impl Memory {
    /// kB per user over the same tool's 1-user run: (RSS, PSS).
    fn per_user(&self, all: &[Memory]) -> Option<(f64, f64)> {
        let base = all.iter().find(|m| m.tool == self.tool && m.users == 1)?;
        (self.users > 1).then(|| {
            let n = f64::from(self.users - 1);
            (
                (self.rss as f64 - base.rss as f64) / n,
                (self.pss as f64 - base.pss as f64) / n,
            )
        })
    }
}

/// oha with USERS connections for SECS seconds against `url` (and `extra`).
fn oha_run(url: &str, extra: &[&str]) -> Result<Run> {
    let mut args: Vec<String> = [
        "-c",
        &USERS.to_string(),
        "-z",
        &format!("{SECS}s"),
        "--no-tui",
        "--output-format",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(url.into());
    let m = measure::pinned(&Cmd {
        bin: Path::new(peers::OHA.0),
        args,
        env: Vec::new(),
    })?;
    let summary: serde_json::Value =
        serde_json::from_str(&m.stdout).context("oha --output-format json")?;
    let success = summary["summary"]["successRate"].as_f64().unwrap_or(1.0);
    let rps = summary["summary"]["requestsPerSec"].as_f64();
    Ok(Run {
        cpu_secs: m.cpu_secs,
        own_rps: rps,
        failed: ((1.0 - success) * rps.unwrap_or(0.0) * f64::from(SECS)).round() as u64,
    })
}

/// A workflow of one GET of nginx's HTTP listener, with `think` time.
fn get_step(think: Option<&str>) -> String {
    let think = think.map_or(String::new(), |t| format!("think_time: {t}, "));
    format!("    - {{type: http, {think}params: {{url: 'http://127.0.0.1:{PORT}/'}}}}\n")
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn ratio(a: f64, b: f64) -> String {
    format!("{:.2}×", a / b)
}

fn throughput_table(
    host: &Throughput,
    oha: &Throughput,
    goose: &Throughput,
    journey: &Throughput,
) -> String {
    let mut md = format!(
        "HTTP kept alive: {USERS} users, no think time, {SECS} s; nginx (1 worker, access log off) on CPU 0, each tool alone on CPU 1. Median of {RUNS} runs (min–max). Requests counted by nginx's `stub_status`; CPU is the tool's user + system time over the requests nginx served.\n\n| tool | requests/s (nginx's count) | requests/s (tool's own figure) | CPU µs per request | requests per CPU-second | failed |\n|---|---|---|---|---|---|\n"
    );
    for (name, t) in [
        ("scheduler-host".to_string(), host),
        (format!("oha {}", peers::OHA.1), oha),
        (format!("Goose {}", peers::GOOSE), goose),
        ("scheduler-host, journey step¹".to_string(), journey),
    ] {
        md += &format!(
            "| {name} | {} | {} | {} | {} | {} |\n",
            t.rps.show(0),
            t.own_rps.show(0),
            t.cpu_us.show(1),
            thousands(1e6 / t.cpu_us.median, 0),
            t.failed
        );
    }
    md += &format!(
        "\nscheduler-host against oha: {} the requests/s, {} the CPU per request. Against Goose: {} the requests per CPU-second. The journey step costs {} the fixed step's CPU.\n\n¹ the same request with a templated URL (`?u=${{vu}}&i=${{iteration}}`) and headers (`${{uuid}}`, `${{vu}}`), 2 extractions (status, a header) and 2 checks.\n\n",
        ratio(host.rps.median, oha.rps.median),
        ratio(host.cpu_us.median, oha.cpu_us.median),
        ratio(goose.cpu_us.median, host.cpu_us.median),
        ratio(journey.cpu_us.median, host.cpu_us.median),
    );
    md
}

fn paced_table(host: &Throughput, (rate, oha, goose): &(u32, Throughput, Throughput)) -> String {
    let mut md = format!(
        "The peers held to scheduler-host's median rate ({} requests/s: oha `-q`, Goose `--throttle-requests`), {RUNS} runs each:\n\n| tool | requests/s (nginx) | CPU µs per request | scheduler-host's CPU per request against it |\n|---|---|---|---|\n",
        thousands(f64::from(*rate), 0)
    );
    for (name, t) in [
        (format!("oha {} at that rate", peers::OHA.1), oha),
        (format!("Goose {} at that rate", peers::GOOSE), goose),
    ] {
        md += &format!(
            "| {name} | {} | {} | {} |\n",
            t.rps.show(0),
            t.cpu_us.show(1),
            ratio(host.cpu_us.median, t.cpu_us.median)
        );
    }
    md + "\n"
}

/// scheduler-host beside oha, a row group per transport.
fn versus_table(title: &str, rows: &[(&str, Throughput, Throughput)]) -> String {
    let mut md = format!(
        "| {title} ({USERS} users, {SECS} s, median of {RUNS}) | scheduler-host | oha {} | ratio |\n|---|---|---|---|\n",
        peers::OHA.1
    );
    for (what, h, o) in rows {
        md += &format!(
            "| {what}: requests/s (nginx) | {} | {} | {} |\n| {what}: CPU µs per request | {} | {} | {} |\n| {what}: failed | {} | {} | |\n",
            h.rps.show(0),
            o.rps.show(0),
            ratio(h.rps.median, o.rps.median),
            h.cpu_us.show(1),
            o.cpu_us.show(1),
            ratio(h.cpu_us.median, o.cpu_us.median),
            h.failed,
            o.failed
        );
    }
    md + "\n"
}

fn memory_table(mem: &[Memory]) -> String {
    let mut md = "| tool | users (1 s think time, 15 s, all started at once, both CPUs) | peak RSS | RSS per user | peak PSS | PSS per user | init phase (all instances ready) | requests (nginx) / failed |\n|---|---|---|---|---|---|---|---|\n".to_string();
    for m in mem {
        let (rss, pss) = m.per_user(mem).map_or(
            ("(baseline)".to_string(), "(baseline)".to_string()),
            |(r, p)| (format!("{r:.0} KB"), format!("{p:.0} KB")),
        );
        md += &format!(
            "| {} | {} | {} MB | {rss} | {} MB | {pss} | {} | {} / {} |\n",
            m.tool,
            thousands(f64::from(m.users), 0),
            thousands(m.rss as f64 / 1024.0, 1),
            thousands(m.pss as f64 / 1024.0, 1),
            m.ready.map_or("".to_string(), |r| format!("{r:.2} s")),
            thousands(m.served as f64, 0),
            m.failed
        );
    }
    md + "\n"
}

fn parts_table(root: &Path) -> Result<String> {
    let mut md = "| part (`target/parts/component`) | size |\n|---|---|\n".to_string();
    let mut parts: Vec<_> = std::fs::read_dir(root.join("target/parts/component"))?
        .filter_map(|e| e.ok())
        .collect();
    parts.sort_by_key(|e| e.file_name());
    for e in parts {
        md += &format!(
            "| {} | {} KB |\n",
            e.file_name().to_string_lossy(),
            e.metadata()?.len() / 1024
        );
    }
    Ok(md)
}
