//! `cargo xtask bench`: scheduler-host against oha on the same nginx, in the
//! same run, each pinned to its own CPU, over HTTP and HTTPS (kept-alive,
//! and a new TLS connection per request); then memory per user and
//! instance start time at 1,000 and 10,000 users, and the parts' sizes. Prints a Markdown table (also
//! written to target/bench.md) for the README.

use crate::tools;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PORT: u16 = 18090;
/// HTTPS, kept alive.
const TLS_PORT: u16 = 18443;
/// HTTPS with `keepalive_timeout 0`: every request is a new connection and
/// handshake (resumed, when the client keeps sessions).
const TLS_CLOSE_PORT: u16 = 18444;
/// oha as the peer, pinned like the tools.
const OHA: (&str, &str) = ("oha", "1.16.0");

pub fn run(root: &Path) -> Result<()> {
    ensure_peers()?;
    let mut cargo = Command::new(env!("CARGO"));
    tools::run(
        cargo
            .current_dir(root)
            .args(["build", "--release", "-p", "scheduler-host"]),
    )?;
    let host = root.join("target/release/scheduler-host");
    let work = root.join("target/bench");
    std::fs::create_dir_all(&work)?;
    // 10,000 instances need more memory mappings than Linux's default 65530.
    let _ = std::fs::write("/proc/sys/vm/max_map_count", "1048576");

    let nginx = Nginx::start(&work)?;
    let url = format!("http://127.0.0.1:{PORT}/");
    let scenario = work.join("bench.yaml");
    std::fs::write(
        &scenario,
        format!(
            "scenario:\n  id: bench\n  load: {{total_users: 50, test_duration: 5s}}\n  workflow:\n    - {{type: http, params: {{url: '{url}'}}}}\n"
        ),
    )?;
    // Warm the compile cache so the timed run measures load, not compilation.
    measure(
        &host,
        &["run", path(&scenario), "--quiet", "--duration", "1s"],
    )?;

    let (h, report) = host_run(&host, &scenario, &work.join("host.json"))?;
    let host_requests = report["total_requests"]
        .as_f64()
        .context("total_requests")?;
    let host_rps = report["throughput_rps"]
        .as_f64()
        .context("throughput_rps")?;
    let host_failed = report["failed"].as_u64().unwrap_or(0);
    let (oha, o) = oha_run(&url, &[])?;
    let (oha_rps, oha_requests) = oha.rates()?;

    // The same request written as a journey step: a templated URL and
    // header, an extraction and two checks answered by the action.
    let journey = work.join("journey.yaml");
    std::fs::write(
        &journey,
        format!(
            "scenario:\n  id: bench-journey\n  load: {{total_users: 50, test_duration: 5s}}\n  workflow:\n    - type: http\n      params: {{url: '{url}?u=${{vu}}&i=${{iteration}}', headers: {{X-Request: '${{uuid}}', X-Vu: '${{vu}}'}}}}\n      extract: {{code: {{status: true}}, server: {{header: Server}}}}\n      expect_header: {{Content-Type: text/plain}}\n"
        ),
    )?;
    let (j, jr) = host_run(&host, &journey, &work.join("journey.json"))?;
    let journey_requests = jr["total_requests"].as_f64().context("total_requests")?;
    let journey_rps = jr["throughput_rps"].as_f64().unwrap_or(0.0);
    let journey_failed = jr["failed"].as_u64().unwrap_or(0);

    let ca = work.join("nginx/ca.pem");
    let mut tls_rows = Vec::new();
    for (what, port) in [
        ("HTTPS kept alive", TLS_PORT),
        ("HTTPS, new connection per request", TLS_CLOSE_PORT),
    ] {
        let url = format!("https://127.0.0.1:{port}/");
        let s = work.join(format!("tls{port}.yaml"));
        std::fs::write(
            &s,
            format!(
                "scenario:\n  id: bench-tls\n  tls: {{ca_file: '{}'}}\n  load: {{total_users: 50, test_duration: 5s}}\n  workflow:\n    - {{type: http, params: {{url: '{url}'}}}}\n",
                ca.display()
            ),
        )?;
        let (h, r) = host_run(&host, &s, &work.join(format!("tls{port}.json")))?;
        let requests = r["total_requests"].as_f64().context("total_requests")?;
        let tls = &r["steps"][0]["tls"];
        let handshakes = (
            tls["handshakes"].as_u64().unwrap_or(0),
            tls["resumed_handshakes"].as_u64().unwrap_or(0),
        );
        let mut extra = vec!["--cacert", path(&ca)];
        if port == TLS_CLOSE_PORT {
            extra.push("--disable-keepalive");
        }
        let (oj, o) = oha_run(&url, &extra)?;
        let (o_rps, o_requests) = oj.rates()?;
        tls_rows.push(Row {
            what,
            host_rps: r["throughput_rps"].as_f64().unwrap_or(0.0),
            host_cpu_per_req: h.cpu_secs / requests,
            oha_rps: o_rps,
            oha_cpu_per_req: o.cpu_secs / o_requests,
            failed: r["failed"].as_u64().unwrap_or(0),
            handshakes,
        });
    }
    drop(nginx);

    // Memory per user and start-up: users that mostly think (1 s), ramp 0 so
    // all instances start at once; long enough for 10,000 to all start.
    let nginx = Nginx::start(&work)?;
    let mut mem = Vec::new();
    for vus in [1u32, 1000, 10_000] {
        let s = work.join(format!("mem{vus}.yaml"));
        std::fs::write(
            &s,
            format!(
                "scenario:\n  id: mem\n  load: {{total_users: {vus}, test_duration: 15s}}\n  workflow:\n    - {{type: http, think_time: 1s, params: {{url: '{url}'}}}}\n"
            ),
        )?;
        let out = work.join(format!("mem{vus}.json"));
        let (rss, pss) = peak_memory(&host, &["run", path(&s), "--quiet", "--out", path(&out)])?;
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out)?)?;
        let ready = r["instances_ready_seconds"].as_f64();
        mem.push((
            vus,
            rss,
            pss,
            ready,
            r["failed"].as_u64().unwrap_or(0),
            r["total_requests"].as_u64().unwrap_or(0),
        ));
    }
    drop(nginx);

    let (base_rss, base_pss) = (mem[0].1 as f64, mem[0].2 as f64);
    let mut md = String::new();
    md += &format!(
        "| measure (nginx 1 worker on CPU 0; load generator on CPU 1; 50 connections, 5 s) | scheduler-host | oha {} | ratio |\n|---|---|---|---|\n",
        OHA.1
    );
    md += &format!(
        "| requests/s | {host_rps:.0} | {oha_rps:.0} | {:.2}× |\n",
        host_rps / oha_rps
    );
    md += &format!(
        "| CPU s per 1,000 requests | {:.3} | {:.3} | {:.2}× |\n",
        h.cpu_secs / host_requests * 1000.0,
        o.cpu_secs / oha_requests * 1000.0,
        (h.cpu_secs / host_requests) / (o.cpu_secs / oha_requests)
    );
    md += &format!(
        "| failed requests | {host_failed} | {} | |\n",
        oha.0["summary"]["successRate"]
            .as_f64()
            .map(|s| format!("success rate {s:.4}"))
            .unwrap_or_default()
    );
    md += &format!(
        "| journey step (templated URL and headers, 2 extractions, 2 checks): requests/s | {journey_rps:.0} | | {:.2}× the fixed step |\n| journey step: CPU µs per request | {:.1} | | {:.2}× the fixed step |\n| journey step: failed | {journey_failed} | | |\n",
        journey_rps / host_rps,
        j.cpu_secs / journey_requests * 1e6,
        (j.cpu_secs / journey_requests) / (h.cpu_secs / host_requests)
    );
    for t in &tls_rows {
        md += &format!(
            "| {}: requests/s | {:.0} | {:.0} | {:.2}× |\n| {}: CPU µs per request | {:.1} | {:.1} | {:.2}× |\n| {}: handshakes (resumed), failed | {} ({}), {} failed | | |\n",
            t.what,
            t.host_rps,
            t.oha_rps,
            t.host_rps / t.oha_rps,
            t.what,
            t.host_cpu_per_req * 1e6,
            t.oha_cpu_per_req * 1e6,
            t.host_cpu_per_req / t.oha_cpu_per_req,
            t.what,
            t.handshakes.0,
            t.handshakes.1,
            t.failed,
        );
    }
    md += "\n| part (`target/parts/component`) | size |\n|---|---|\n";
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
    md += "\n| users (1 s think time, 15 s, no ramp, both CPUs) | peak RSS | RSS per user (over 1 user) | peak PSS | PSS per user | init phase (all instances ready) | requests / failed |\n|---|---|---|---|---|---|---|\n";
    for (vus, rss, pss, ready, failed, total) in &mem {
        let per = |v: u64, base: f64| {
            if *vus > 1 {
                format!("{:.0} KB", (v as f64 - base) / f64::from(vus - 1))
            } else {
                "(baseline)".into()
            }
        };
        let ready = ready.map(|r| format!("{r:.3} s")).unwrap_or("never".into());
        md += &format!(
            "| {vus} | {:.1} MB | {} | {:.1} MB | {} | {ready} | {total} / {failed} |\n",
            *rss as f64 / 1024.0,
            per(*rss, base_rss),
            *pss as f64 / 1024.0,
            per(*pss, base_pss)
        );
    }
    println!("{md}");
    std::fs::write(root.join("target/bench.md"), &md)?;
    Ok(())
}

/// scheduler-host running `scenario` pinned to CPU 1: its CPU, and the
/// report it wrote to `out`.
fn host_run(host: &Path, scenario: &Path, out: &Path) -> Result<(Measured, serde_json::Value)> {
    let m = measure(
        host,
        &["run", path(scenario), "--quiet", "--out", path(out)],
    )?;
    Ok((m, serde_json::from_slice(&std::fs::read(out)?)?))
}

/// oha's JSON summary.
struct Oha(serde_json::Value);

impl Oha {
    /// Requests per second, and requests in all.
    fn rates(&self) -> Result<(f64, f64)> {
        let rps = self.0["summary"]["requestsPerSec"]
            .as_f64()
            .context("oha requestsPerSec")?;
        Ok((
            rps,
            rps * self.0["summary"]["total"].as_f64().unwrap_or(5.0),
        ))
    }
}

/// oha with 50 connections for 5 s against `url` (and `extra` options),
/// pinned to CPU 1.
fn oha_run(url: &str, extra: &[&str]) -> Result<(Oha, Measured)> {
    let mut args = vec![
        "-c",
        "50",
        "-z",
        "5s",
        "--no-tui",
        "--output-format",
        "json",
    ];
    args.extend(extra);
    args.push(url);
    let m = measure(Path::new(OHA.0), &args)?;
    let summary = serde_json::from_str(&m.stdout).context("oha --output-format json")?;
    Ok((Oha(summary), m))
}

/// One HTTPS measurement against oha.
struct Row {
    what: &'static str,
    host_rps: f64,
    host_cpu_per_req: f64,
    oha_rps: f64,
    oha_cpu_per_req: f64,
    failed: u64,
    /// (handshakes, resumed) as the report counts them.
    handshakes: (u64, u64),
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Runs `bin args` (not pinned: starting 10,000 instances needs both cores;
/// nginx stays on CPU 0). Peak RSS (kB) from getrusage via /usr/bin/time;
/// peak PSS (kB) from /proc/PID/smaps_rollup every 2 s (reading it walks all
/// mappings under the process's lock, so more often would slow the run).
/// PSS divides pages shared between instances (compiled code,
/// copy-on-write memory images) among them.
fn peak_memory(bin: &Path, args: &[&str]) -> Result<(u64, u64)> {
    let mut child = Command::new("/usr/bin/time")
        .args(["-f", "TIME %M"])
        .arg(bin)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let children = format!("/proc/{0}/task/{0}/children", child.id());
    let mut pss = 0u64;
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        let host = std::fs::read_to_string(&children)
            .ok()
            .and_then(|c| c.split_whitespace().next().map(String::from));
        if let Some(text) =
            host.and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok())
        {
            let kb = text
                .lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
            pss = pss.max(kb.unwrap_or(0));
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    let out = child.wait_with_output()?;
    let rss = time_fields(bin, args, &out)?[0] as u64;
    Ok((rss, pss))
}

/// The numbers of /usr/bin/time's `TIME …` line, after checking the run succeeded.
fn time_fields(bin: &Path, args: &[&str], out: &std::process::Output) -> Result<Vec<f64>> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("{} {args:?} failed: {stderr}", bin.display());
    }
    let line = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("TIME "))
        .context("no /usr/bin/time line")?;
    Ok(line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect())
}

struct Measured {
    stdout: String,
    cpu_secs: f64,
}

/// Runs `bin args` pinned to CPU 1 under /usr/bin/time.
fn measure(bin: &Path, args: &[&str]) -> Result<Measured> {
    let out = Command::new("taskset")
        .args(["-c", "1", "/usr/bin/time", "-f", "TIME %U %S"])
        .arg(bin)
        .args(args)
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    let f = time_fields(bin, args, &out)?;
    Ok(Measured {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        cpu_secs: f[0] + f[1],
    })
}

/// Debian's nginx, time, taskset; oha from crates.io — installed when missing.
fn ensure_peers() -> Result<()> {
    let have = |bin: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {bin}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut apt = Vec::new();
    for (bin, pkg) in [
        ("nginx", "nginx"),
        ("/usr/bin/time", "time"),
        ("taskset", "util-linux"),
        ("openssl", "openssl"),
    ] {
        if !have(bin) {
            apt.push(pkg);
        }
    }
    if !apt.is_empty() {
        tools::run(Command::new("apt-get").arg("update").arg("-q"))?;
        tools::run(
            Command::new("apt-get")
                .args(["install", "-y", "-q"])
                .args(&apt),
        )?;
    }
    let version = Command::new(OHA.0)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if !version.contains(OHA.1) {
        tools::run(Command::new("cargo").args(["install", "--locked", "oha", "--version", OHA.1]))?;
    }
    Ok(())
}

/// nginx: one worker on CPU 0, keep-alive, `return 200 "hello world\n"`,
/// on HTTP and on HTTPS (a certificate for 127.0.0.1 from a CA made here).
struct Nginx(Child, PathBuf);

/// A CA (`ca.pem`) and a certificate for 127.0.0.1 signed by it, with openssl.
fn certificates(dir: &Path) -> Result<()> {
    if dir.join("server.pem").exists() {
        return Ok(());
    }
    let sh = format!(
        "cd '{}' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 3650 -subj /CN=bench-ca && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 && printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 3650 -extfile san.ext",
        dir.display()
    );
    tools::run(Command::new("sh").args(["-c", &sh]).stderr(Stdio::null()))
}

impl Nginx {
    fn start(work: &Path) -> Result<Self> {
        let prefix = work.join("nginx");
        std::fs::create_dir_all(prefix.join("logs"))?;
        certificates(&prefix)?;
        let conf = prefix.join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "worker_processes 1;\ndaemon off;\nerror_log {p}/logs/error.log;\npid {p}/nginx.pid;\nevents {{ worker_connections 20000; }}\nworker_rlimit_nofile 40000;\nhttp {{\n  access_log off;\n  keepalive_requests 1000000;\n  keepalive_timeout 60s;\n  server {{\n    listen 127.0.0.1:{PORT} backlog=4096;\n    location / {{ return 200 \"hello world\\n\"; }}\n  }}\n  ssl_certificate {p}/server.pem;\n  ssl_certificate_key {p}/server.key;\n  ssl_session_cache shared:SSL:10m;\n  server {{\n    listen 127.0.0.1:{TLS_PORT} ssl backlog=4096;\n    location / {{ return 200 \"hello world\\n\"; }}\n  }}\n  server {{\n    listen 127.0.0.1:{TLS_CLOSE_PORT} ssl backlog=4096;\n    keepalive_timeout 0;\n    location / {{ return 200 \"hello world\\n\"; }}\n  }}\n}}\n",
                p = prefix.display()
            ),
        )?;
        let child = Command::new("taskset")
            .args(["-c", "0", "nginx", "-p"])
            .arg(&prefix)
            .arg("-c")
            .arg(&conf)
            .spawn()
            .context("starting nginx")?;
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", PORT)).is_ok() {
                return Ok(Nginx(child, prefix));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!(
            "nginx did not start on 127.0.0.1:{PORT} (see {}/logs/error.log)",
            prefix.display()
        )
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-QUIT", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
        let _ = &self.1;
    }
}
