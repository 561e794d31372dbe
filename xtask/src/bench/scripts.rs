//! What a scripted user costs, per language, in the same run: the same
//! journey (one GET of nginx's `/` and a check, `examples/scripts/bench`)
//! as a YAML step and as a Rust, JavaScript and Python script. CPU per
//! request: USERS users, no think time, SECS s, pinned to CPU 1, the
//! median of RUNS runs. Memory per user: peak RSS at 1 and MANY users
//! thinking 1 s (each script user has its own instance; the YAML users
//! share cells).

use super::measure::{self, thousands};
use super::nginx::{Nginx, PORT};
use super::{Bench, RUNS, Run, SECS, Throughput, USERS, get_step, path, ratio};
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Users of the memory run.
const MANY: u32 = 200;
/// Users per instance of the paced memory run.
const SHARED: u32 = 20;

/// One language's figures.
struct Cost {
    lang: &'static str,
    size_kb: u64,
    throughput: Throughput,
    /// Peak RSS (kB) at 1 and at MANY users.
    rss: (u64, u64),
    /// Peak RSS (kB) of MANY users paced at 1 s, SHARED per instance.
    shared: Option<u64>,
    failed: u64,
}

impl Bench {
    /// The component of `lang`'s bench journey (none for YAML).
    fn bench_script(&self, root: &Path, lang: &str) -> Result<Option<PathBuf>> {
        let dir = root.join("examples/scripts/bench");
        let out = self.work.join(format!("get-{lang}.wasm"));
        match lang {
            "yaml" => return Ok(None),
            "rust" => {
                let target = root.join("target/scripts");
                crate::tools::run(
                    Command::new(env!("CARGO"))
                        .current_dir(dir.join("rust"))
                        .args(["build", "--release", "--target", "wasm32-wasip2"])
                        .env("CARGO_TARGET_DIR", &target),
                )?;
                std::fs::copy(target.join("wasm32-wasip2/release/bench_get.wasm"), &out)?;
            }
            _ => {
                let source = dir.join(if lang == "js" { "get.js" } else { "get.py" });
                crate::tools::run(Command::new(&self.host).args([
                    "script",
                    "build",
                    &path(&source),
                    "-o",
                    &path(&out),
                ]))?;
            }
        }
        Ok(Some(out))
    }

    /// `users` users running `lang`'s journey for `secs` s.
    fn script_scenario(
        &self,
        lang: &str,
        wasm: Option<&Path>,
        users: u32,
        secs: u32,
    ) -> Result<PathBuf> {
        let name = format!("script-{lang}-{users}");
        match wasm {
            None => self.scenario(&name, users, secs, &get_step(None), ""),
            Some(wasm) => {
                let file = self.work.join(format!("{name}.yaml"));
                std::fs::write(
                    &file,
                    format!(
                        "scenario:\n  id: bench-{name}\n  load: {{total_users: {users}, test_duration: {secs}s}}\n  script: {}\n  destinations: [\"127.0.0.1:{PORT}\"]\n",
                        path(wasm)
                    ),
                )?;
                Ok(file)
            }
        }
    }

    fn script_cost(&self, root: &Path, nginx: &Nginx, lang: &'static str) -> Result<Cost> {
        let wasm = self.bench_script(root, lang)?;
        let size_kb = wasm
            .as_ref()
            .map_or(Ok(0), |w| std::fs::metadata(w).map(|m| m.len() / 1024))?;
        let target = format!("TARGET=http://127.0.0.1:{PORT}/");
        let env = |think: &str| {
            [
                "--env".to_string(),
                target.clone(),
                "--env".into(),
                format!("THINK_MS={think}"),
            ]
        };
        let busy = self.script_scenario(lang, wasm.as_deref(), USERS, SECS)?;
        let args = env("0");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // Warm the compile cache: timed runs measure load, not compilation.
        measure::pinned(&self.host_cmd(&busy, &[&args[..], &["--duration", "1s"]].concat()))?;
        let mut runs: Vec<(Run, u64)> = Vec::new();
        for _ in 0..RUNS {
            runs.push(nginx.count(|| self.host_run_with(&busy, &args, Vec::new()))?);
        }
        let throughput = Throughput::new(&runs);
        let mut rss = (0, 0);
        for (users, slot) in [(1, &mut rss.0), (MANY, &mut rss.1)] {
            let (scenario, args) = match &wasm {
                None => {
                    let name = format!("script-yaml-think-{users}");
                    (
                        self.scenario(&name, users, 10, &get_step(Some("1s")), "")?,
                        Vec::new(),
                    )
                }
                Some(w) => (
                    self.script_scenario(lang, Some(w), users, 10)?,
                    env("1000").to_vec(),
                ),
            };
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let cmd = self.host_cmd(&scenario, &args);
            let ((peak, _), _) = nginx.count(|| {
                measure::peak_memory(&cmd, Duration::from_millis(500), &mut Vec::new())
            })?;
            *slot = peak;
        }
        // Think time as the executor's pacing (not the script's sleep, which
        // holds its instance): users that share an instance take turns.
        let shared = match &wasm {
            None => None,
            Some(w) => {
                let file = self.work.join(format!("script-{lang}-paced.yaml"));
                std::fs::write(
                    &file,
                    format!(
                        "scenarios:\n  paced:\n    executor: constant-vus\n    vus: {MANY}\n    duration: 10s\n    pacing: 1s\n    script: {}\ndestinations: [\"127.0.0.1:{PORT}\"]\nlimits: {{users_per_instance: {SHARED}}}\n",
                        path(w)
                    ),
                )?;
                let args = env("0");
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let cmd = self.host_cmd(&file, &args);
                let ((peak, _), _) = nginx.count(|| {
                    measure::peak_memory(&cmd, Duration::from_millis(500), &mut Vec::new())
                })?;
                Some(peak)
            }
        };
        Ok(Cost {
            lang,
            shared,
            size_kb,
            failed: throughput.failed,
            throughput,
            rss,
        })
    }

    /// The per-language table.
    pub fn scripts(&self, root: &Path, nginx: &Nginx) -> Result<String> {
        let mut costs = Vec::new();
        for lang in ["yaml", "rust", "js", "python"] {
            costs.push(self.script_cost(root, nginx, lang)?);
        }
        Ok(table(&costs))
    }
}

fn table(costs: &[Cost]) -> String {
    let mut md = format!(
        "Scripted users: the same journey (GET / and a check) as a YAML step and as a script. CPU: {USERS} users, no think time, {SECS} s, pinned to CPU 1, median of {RUNS} runs (min–max). Memory: peak RSS at 1 and {MANY} users thinking 1 s for 10 s (the script's `sleep`); a script user has an instance of its own, YAML users share cells. Last column: the same {MANY} users with the think time as the executor's `pacing: 1s` and `users_per_instance: {SHARED}`, so users take turns on an instance.\n\n| journey | component | requests/s (nginx) | CPU µs per request | × YAML | RSS per user | × YAML | RSS per user, {SHARED} per instance, paced | failed |\n|---|---|---|---|---|---|---|---|---|\n"
    );
    let yaml = costs.iter().find(|c| c.lang == "yaml");
    let per_user = |c: &Cost| (c.rss.1 as f64 - c.rss.0 as f64) / f64::from(MANY - 1);
    for c in costs {
        let (cpu_x, mem_x) = yaml.map_or((String::new(), String::new()), |y| {
            (
                ratio(c.throughput.cpu_us.median, y.throughput.cpu_us.median),
                ratio(per_user(c), per_user(y)),
            )
        });
        md += &format!(
            "| {} | {} | {} | {} | {cpu_x} | {} KB | {mem_x} | {} | {} |\n",
            match c.lang {
                "yaml" => "YAML step",
                "rust" => "Rust script",
                "js" => "JavaScript script",
                _ => "Python script",
            },
            if c.size_kb == 0 {
                "—".to_string()
            } else {
                format!("{} KB", thousands(c.size_kb as f64, 0))
            },
            c.throughput.rps.show(0),
            c.throughput.cpu_us.show(1),
            thousands(per_user(c), 0),
            c.shared.map_or("—".to_string(), |peak| format!(
                "{} KB",
                thousands((peak as f64 - c.rss.0 as f64) / f64::from(MANY - 1), 0)
            )),
            c.failed
        );
    }
    md + "\n"
}
