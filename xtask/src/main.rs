//! `cargo xtask <command>`: the one build entry point.
//!   build  tools, components (wasm32-wasip2), composition, validation
//!   demo   build, then `scheduler-host demo` (built-in loopback target + scenarios/demo.yaml)
//!   plain-demo  the same scenario in stock `wasmtime run` (users interleaved in one instance)
//!   test   build, then every test (unit and integration), in release
//!   bench  scheduler-host vs oha on nginx; memory and start-up at 1,000 and 10,000 users
//!   wave   print the `--invoke` argument for a scenario file

mod bench;
mod build;
mod demo;
mod tools;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<()> {
    let root = root();
    match args.first().map(String::as_str) {
        Some("build") => build::all(&root).map(drop),
        Some("demo") => {
            build::all(&root)?;
            let mut cmd = Command::new(env!("CARGO"));
            cmd.current_dir(&root).args([
                "run",
                "--quiet",
                "--release",
                "-p",
                "scheduler-host",
                "--",
                "demo",
            ]);
            tools::run(cmd.args(&args[1..]))
        }
        Some("bench") => {
            build::all(&root)?;
            bench::run(&root)
        }
        Some("plain-demo") => demo::run(&root, &build::all(&root)?),
        Some("test") => {
            let wasm = build::all(&root)?;
            let mut cmd = Command::new(env!("CARGO"));
            // Release: the host's tests share the optimized wasmtime build
            // with the binary and the benchmark (one long build, not two).
            cmd.current_dir(&root)
                .args(["test", "--release", "--workspace", "--exclude", "xtask"]);
            exclude_guests(&mut cmd);
            cmd.args(&args[1..]).env("SCHEDULER_FINAL_WASM", &wasm);
            tools::run(&mut cmd)
        }
        Some("wave") => {
            let file = args
                .get(1)
                .context("usage: cargo xtask wave SCENARIO.yaml")?;
            let yaml =
                std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
            println!("{}", scheduler::wave::invocation(&yaml));
            Ok(())
        }
        _ => bail!(
            "usage: cargo xtask build | demo [demo args] | plain-demo | test [cargo test args] | wave SCENARIO.yaml"
        ),
    }
}

/// Guest crates build only for wasm32-wasip2; keep them out of native tests.
fn exclude_guests(cmd: &mut Command) {
    for (pkg, _, _) in build::COMPONENTS {
        if *pkg != "scheduler" {
            cmd.args(["--exclude", pkg]);
        }
    }
    cmd.args(["--exclude", "action-support"]);
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}
