//! `cargo xtask <command>`: the one build entry point.
//!   build  tools, components (wasm32-wasip2), composition, validation
//!   demo   build, then `scheduler-host demo` (built-in loopback target + scenarios/demo.yaml)
//!   plain-demo  the same scenario in stock `wasmtime run` (users interleaved in one instance)
//!   shards N SCENARIO  the Kubernetes Indexed Job simulated here: N shard processes, then the merge
//!   test   build, fmt and clippy gates, then every test (unit and integration), in release
//!   docs   build the book (docs/) into target/book with mdbook
//!   wit    write a self-contained copy of the action contracts (for third parties)
//!   bench  scheduler-host vs oha and Goose on nginx; memory and start-up at 1,000 and 10,000 users
//!          (`bench soak [MINUTES]`: memory over a long run; `bench profile`: where a request's CPU goes)
//!   wave   print the `--invoke` argument for a scenario file

mod bench;
mod build;
mod demo;
mod layers;
mod shards;
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
        Some("bench") => {
            build::all(&root)?;
            bench::run(&root, &args[1..])
        }
        Some("shards") => {
            build::all(&root)?;
            let code = shards::run(&root, &args[1..])?;
            if code != 0 {
                std::process::exit(code);
            }
            Ok(())
        }
        Some("plain-demo") => demo::run(&root, &build::all(&root)?),
        Some("test") => {
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
            // xtask's own unit tests (the bench's statistics), in the dev
            // profile: a release build would replace this running binary.
            if args.len() == 1 {
                tools::run(
                    Command::new(env!("CARGO"))
                        .current_dir(&root)
                        .args(["test", "-p", "xtask"]),
                )?;
            }
            Ok(())
        }
        Some("lint") => lint(&root),
        Some("docs") => docs(&root),
        Some("wit") => {
            let out = args
                .get(1)
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("target/wit"));
            wit(&root, &out)
        }
        Some("wave") => {
            let file = args
                .get(1)
                .context("usage: cargo xtask wave SCENARIO.yaml")?;
            let yaml =
                std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
            println!("{}", scenario::wave::invocation(&yaml));
            Ok(())
        }
        _ => bail!(
            "usage: cargo xtask build | demo [demo args] | plain-demo | shards N SCENARIO.yaml [run args] | test [cargo test args] | lint | docs | bench [soak [MINUTES] | profile [--component FILE]] | wit [OUT_DIR] | wave SCENARIO.yaml"
        ),
    }
}

/// The gates CI enforces: rustfmt, and clippy with warnings as errors on
/// the workspace (natively, every target), on the guests as wasm32-wasip2
/// (their component glue compiles only there) and on the example action.
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
    let mut guests = cargo();
    guests.args(["clippy", "--target", "wasm32-wasip2"]);
    for part in build::parts(root)? {
        guests.args(["-p", &part.krate]);
    }
    tools::run(guests.args(["--", "-D", "warnings"]))?;
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
    for (from, to) in [
        ("wit/actions/actions.wit", out.join("actions.wit")),
        ("wit/core-libs/core-libs.wit", deps.join("core-libs.wit")),
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
