//! Builds the guest components (the parts in compositions/parts.toml), lays
//! them out for `wac compose --deps-dir`, and composes scheduler-final.wasm.

use crate::tools;
use anyhow::{Result, anyhow, bail};
use parts_table::Part;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The third-party example: built on its own, from the WIT alone.
pub const EXAMPLE: &str = "components/examples/line-ping/Cargo.toml";

pub fn parts(root: &Path) -> Result<Vec<Part>> {
    parts_table::read(root).map_err(|e| anyhow!(e))
}

/// `cargo SUBCOMMAND --target wasm32-wasip2 -p PART…` over every part, in
/// `root`: the build, the no-rebuild check and the guests' clippy.
pub fn guests(root: &Path, subcommand: &str) -> Result<Command> {
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(root)
        .args([subcommand, "--target", "wasm32-wasip2"]);
    for part in parts(root)? {
        cargo.args(["-p", &part.krate]);
    }
    Ok(cargo)
}

/// `target/parts`: `component/<name>.wasm` for every part.
pub fn parts_dir(root: &Path) -> PathBuf {
    parts_table::parts_dir(&root.join("target"))
}

/// Everything, in order; returns the path of scheduler-final.wasm.
pub fn all(root: &Path) -> Result<PathBuf> {
    tools::ensure_build()?;
    let parts = parts(root)?;
    tools::run(guests(root, "build")?.args(["--profile", "wasm"]))?;
    let built = root.join("target/wasm32-wasip2/wasm");
    let dir = parts_dir(root);
    std::fs::create_dir_all(dir.join("component"))?;
    for part in &parts {
        // Copied only when changed, so the host's build script (which
        // embeds these) reruns only when a part really changed.
        let (from, to) = (built.join(part.built_file()), part.laid_out(&dir));
        let bytes = std::fs::read(&from)?;
        if std::fs::read(&to).ok().as_deref() != Some(&bytes[..]) {
            std::fs::write(&to, bytes)?;
        }
    }
    let mut example = Command::new(env!("CARGO"));
    example.current_dir(root).args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--manifest-path",
        EXAMPLE,
    ]);
    tools::run(&mut example)?;

    let out = root.join("target/scheduler-final.wasm");
    let mut wac = Command::new("wac");
    wac.current_dir(root)
        .args(["compose", "compositions/scheduler.wac", "--deps-dir"])
        .arg(&dir)
        .arg("-o")
        .arg(&out);
    tools::run(&mut wac)?;

    // The composition must be exactly the published world (nothing else imported).
    tools::run(
        Command::new("wac")
            .current_dir(root)
            .args(["targets", "--wit", "wit/main", "--world", "scheduler-final"])
            .arg(&out),
    )?;
    eprintln!("xtask: built {}", out.display());
    Ok(out)
}

/// Fails when building again, with nothing changed, would compile anything:
/// after the host is built as a user builds it, the components' build, the
/// tests' build and the host's build again must all be no-ops. Their
/// feature sets differ (the tests unify more features) and must not
/// invalidate each other's artifacts.
pub fn assert_fresh(root: &Path) -> Result<()> {
    let cargo = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO"));
        c.current_dir(root).args(args);
        c
    };
    tools::run(&mut cargo(&[
        "build",
        "--quiet",
        "--release",
        "-p",
        "scheduler-host",
    ]))?;
    let mut wasm = guests(root, "build")?;
    wasm.args(["--profile", "wasm"]);
    let tests = cargo(&[
        "test",
        "--release",
        "--workspace",
        "--exclude",
        "xtask",
        "--no-run",
    ]);
    let host = cargo(&["build", "--release", "-p", "scheduler-host"]);
    for (what, mut cmd) in [
        ("components", wasm),
        ("tests", tests),
        ("scheduler-host", host),
    ] {
        let out = cmd.arg("--message-format=json").output()?;
        if !out.status.success() {
            bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let stale: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["fresh"] == false)
            .map(|m| m["target"]["name"].as_str().unwrap_or("?").to_string())
            .collect();
        if !stale.is_empty() {
            bail!(
                "a no-change rebuild of the {what} compiled {} (feature unification between builds?)",
                stale.join(", ")
            );
        }
    }
    eprintln!("xtask: a no-change rebuild compiles nothing");
    Ok(())
}
