//! `cargo xtask <command>`: the one build entry point (`cargo xtask --help`
//! lists the commands; the table is `COMMANDS`).

mod bench;
mod build;
mod demo;
mod layers;
mod shards;
mod tools;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// (command, its arguments, what it does): the help text.
const COMMANDS: &[(&str, &str, &str)] = &[
    (
        "demo",
        "[demo options]",
        "build, install scheduler-host on PATH, run `scheduler-host demo` (the loopback target and scenarios/demo.yaml)",
    ),
    (
        "install",
        "",
        "build, then `cargo install --path host` (the components embedded) into ~/.cargo/bin",
    ),
    (
        "build",
        "",
        "install build tools if missing; build the components (wasm32-wasip2) and compose scheduler-final.wasm",
    ),
    (
        "test",
        "[cargo test args]",
        "install test tools if missing; build, fmt and clippy gates, the book, every test, the no-rebuild check",
    ),
    (
        "lint",
        "",
        "the gates alone: layering, rustfmt, clippy -D warnings (native and wasm32)",
    ),
    ("docs", "", "build the book (docs/) into target/book"),
    (
        "plain-demo",
        "",
        "scenarios/demo.yaml in stock `wasmtime run` (start `scheduler-host serve` first)",
    ),
    (
        "shards",
        "N SCENARIO.yaml [run options]",
        "the Kubernetes Indexed Job on this machine: N shard processes, then the merge (target/shards/)",
    ),
    (
        "bench",
        "[soak [MINUTES] | profile [--component FILE]]",
        "scheduler-host beside oha and Goose on nginx; memory and start-up at 1,000 and 10,000 users",
    ),
    (
        "wit",
        "[OUT_DIR]",
        "write a self-contained copy of the action contracts (for third parties)",
    ),
    (
        "wave",
        "SCENARIO.yaml",
        "print the `--invoke` argument for a scenario file",
    ),
];

fn usage() -> String {
    let mut text = String::from("usage: cargo xtask COMMAND [ARGS]\n\ncommands:\n");
    for (name, args, what) in COMMANDS {
        let head = format!("{name} {args}");
        text.push_str(&format!("  {head:<52} {what}\n"));
    }
    text
}

fn is_help(a: &str) -> bool {
    matches!(a, "-h" | "--help" | "help")
}

/// `cargo xtask --help`, and `cargo xtask CMD --help` for any command:
/// help, never a build or a folder named `--help`.
fn help(args: &[String]) -> Option<String> {
    if !args.is_empty() && !args.iter().any(|a| is_help(a)) {
        return None;
    }
    let cmd = args.first().filter(|a| !is_help(a));
    Some(
        match cmd.and_then(|c| COMMANDS.iter().find(|(n, ..)| n == c)) {
            Some((name, a, what)) => format!("usage: cargo xtask {name} {a}\n\n{what}\n"),
            None => usage(),
        },
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(text) = help(&args) {
        print!("{text}");
        return if args.is_empty() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<()> {
    let root = root();
    match args[0].as_str() {
        "build" => build::all(&root).map(drop),
        "install" => install(&root).map(drop),
        "demo" => {
            let host = install(&root)?;
            let mut cmd = Command::new(host);
            cmd.current_dir(&root).arg("demo");
            // The main job leaves a report to look at, unless told otherwise.
            let told = |flag: &str| args.iter().any(|a| a.starts_with(flag));
            if !told("--out") && !told("--html") {
                let dir = root.join("target/demo");
                std::fs::create_dir_all(&dir)?;
                cmd.arg("--out")
                    .arg(dir.join("report.json"))
                    .arg("--html")
                    .arg(dir.join("report.html"));
                eprintln!(
                    "xtask: the demo's report goes to target/demo/report.html and report.json"
                );
            }
            tools::run(cmd.args(&args[1..]))
        }
        "bench" => {
            build::all(&root)?;
            bench::run(&root, &args[1..])
        }
        "shards" => {
            // The arguments first: a typo costs no build.
            let (n, scenario) = shards::args(&args[1..])?;
            build::all(&root)?;
            let code = shards::run(&root, n, &scenario, &args[3..])?;
            if code != 0 {
                std::process::exit(code);
            }
            Ok(())
        }
        "plain-demo" => {
            tools::ensure_wasmtime()?;
            demo::run(&root, &build::all(&root)?)
        }
        "test" => {
            tools::ensure_test()?;
            let wasm = build::all(&root)?;
            lint(&root)?;
            docs(&root)?;
            let mut cmd = Command::new(env!("CARGO"));
            // Release: the host's tests share the optimized wasmtime build
            // with the binary and the benchmark (one long build, not two).
            // Guest crates run their unit tests natively (their WIT imports
            // are never called there).
            cmd.current_dir(&root)
                .args(["test", "--release", "--workspace", "--exclude", "xtask"]);
            cmd.args(&args[1..]).env("SCHEDULER_FINAL_WASM", &wasm);
            tools::run(&mut cmd)?;
            if args.len() == 1 {
                // The guarantees again with every workload's users in one
                // instance (their small runs default to an instance per
                // user): isolation and every promise hold at both.
                tools::run(
                    Command::new(env!("CARGO"))
                        .current_dir(&root)
                        .args([
                            "test",
                            "--release",
                            "-p",
                            "scheduler-host",
                            "--test",
                            "guarantees",
                        ])
                        .env("SCHEDULER_FINAL_WASM", &wasm)
                        .env("SCHEDULER_USERS_PER_INSTANCE", "1000"),
                )?;
                // xtask's own unit tests (the bench's statistics), in the
                // dev profile: a release build would replace this binary.
                tools::run(
                    Command::new(env!("CARGO"))
                        .current_dir(&root)
                        .args(["test", "-p", "xtask"]),
                )?;
                // After all of that, building again must do nothing, and
                // the install must work as the README says.
                build::assert_fresh(&root)?;
                check_install(&root)?;
            }
            Ok(())
        }
        "lint" => {
            tools::ensure_test()?;
            lint(&root)
        }
        "docs" => docs(&root),
        "wit" => {
            let out = args
                .get(1)
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("target/wit"));
            wit(&root, &out)
        }
        "wave" => {
            let file = args
                .get(1)
                .context("usage: cargo xtask wave SCENARIO.yaml")?;
            let yaml =
                std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
            println!("{}", scenario::wave::invocation(&yaml));
            Ok(())
        }
        other => bail!("unknown command {other:?}\n{}", usage()),
    }
}

/// Builds everything, then installs scheduler-host (with the parts
/// embedded) into cargo's bin directory, which rustup puts on PATH.
fn install(root: &Path) -> Result<PathBuf> {
    build::all(root)?;
    let bin = install_into(root, None)?;
    eprintln!("xtask: installed {}", bin.display());
    Ok(bin)
}

/// `cargo install --path host` into `into` (default: cargo's home), sharing
/// target/ with every other build, so nothing is built twice; returns the
/// installed binary.
fn install_into(root: &Path, into: Option<&Path>) -> Result<PathBuf> {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(root)
        .args([
            "install",
            "--quiet",
            "--locked",
            "--path",
            "host",
            "--target-dir",
        ])
        .arg(root.join("target"));
    if let Some(dir) = into {
        cmd.arg("--root").arg(dir);
    }
    tools::run(&mut cmd)?;
    let home = match into {
        Some(dir) => dir.to_path_buf(),
        None => std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
            .context("neither CARGO_HOME nor HOME is set")?,
    };
    Ok(home.join("bin/scheduler-host"))
}

/// The installed binary works on its own, from anywhere: the components
/// are embedded, nothing is read from the checkout but the scenario given.
fn check_install(root: &Path) -> Result<()> {
    let dir = root.join("target/install-check");
    let bin = install_into(root, Some(&dir))?;
    let out = Command::new(&bin)
        .current_dir(std::env::temp_dir())
        .arg("validate")
        .arg(root.join("scenarios/demo.yaml"))
        .output()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "the installed {} cannot validate scenarios/demo.yaml: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    eprintln!("xtask: `cargo install --path host` gives a working scheduler-host");
    Ok(())
}

/// `mdbook build docs`: the book into target/book (a broken link to a
/// chapter or a missing file fails it).
fn docs(root: &Path) -> Result<()> {
    tools::ensure_mdbook()?;
    tools::run(Command::new("mdbook").arg("build").arg(root.join("docs")))?;
    eprintln!(
        "xtask: the book is in {}",
        root.join("target/book/index.html").display()
    );
    Ok(())
}

/// The gates CI enforces: rustfmt, and clippy with warnings as errors on
/// the workspace (natively, every target), on the guests as wasm32-wasip2
/// (their component glue compiles only there) and on the example action.
fn lint(root: &Path) -> Result<()> {
    let cargo = || {
        let mut c = Command::new(env!("CARGO"));
        c.current_dir(root);
        c
    };
    layers::check(root)?;
    tools::run(cargo().args(["fmt", "--all", "--check"]))?;
    tools::run(cargo().args(["fmt", "--check", "--manifest-path", build::EXAMPLE]))?;
    tools::run(cargo().args(["fmt", "--check", "--manifest-path", bench::GOOSE_PEER]))?;
    // The bench's Goose peer: its own lock file, checked as it is built.
    tools::run(cargo().args([
        "clippy",
        "--locked",
        "--manifest-path",
        bench::GOOSE_PEER,
        "--",
        "-D",
        "warnings",
    ]))?;
    tools::run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    tools::run(build::guests(root, "clippy")?.args(["--", "-D", "warnings"]))?;
    tools::run(cargo().args([
        "clippy",
        "--target",
        "wasm32-wasip2",
        "--manifest-path",
        build::EXAMPLE,
        "--",
        "-D",
        "warnings",
    ]))
}

/// A self-contained copy of `wit/actions` (its `deps/` symlinks resolved):
/// all a third party needs for `wit_bindgen::generate!`.
fn wit(root: &Path, out: &Path) -> Result<()> {
    let deps = out.join("deps/core-libs");
    std::fs::create_dir_all(&deps).with_context(|| format!("cannot create {}", deps.display()))?;
    let wasi = out.join("deps");
    for (from, to) in [
        ("wit/actions/actions.wit", out.join("actions.wit")),
        ("wit/core-libs/core-libs.wit", deps.join("core-libs.wit")),
        ("wit/wasi/io.wit", wasi.join("wasi-io.wit")),
        ("wit/wasi/clocks.wit", wasi.join("wasi-clocks.wit")),
    ] {
        std::fs::copy(root.join(from), &to)
            .with_context(|| format!("cannot copy {from} to {}", to.display()))?;
    }
    println!("{}", out.display());
    Ok(())
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn help_lists_every_command_and_a_commands_help_is_only_help() {
        let all = help(&strings(&["--help"])).unwrap();
        for (name, ..) in COMMANDS {
            assert!(
                all.contains(&format!("  {name} ")),
                "{name} missing:\n{all}"
            );
        }
        // `wit --help` used to create a folder named `--help`.
        let wit = help(&strings(&["wit", "--help"])).unwrap();
        assert!(wit.starts_with("usage: cargo xtask wit [OUT_DIR]"), "{wit}");
        assert!(help(&strings(&["shards", "-h"])).is_some());
        assert!(help(&strings(&["wit", "out"])).is_none());
        assert!(help(&[]).is_some());
    }
}
