//! `cargo xtask plain-demo`: scenarios/demo.yaml in stock wasmtime (plain
//! mode: users interleaved in one instance). A server must already listen on
//! 127.0.0.1:18080-18082, e.g. `scheduler-host demo` runs its own instead.

use anyhow::{Context, Result, bail};
use scheduler::wave;
use std::path::Path;
use std::process::Command;

pub fn run(root: &Path, wasm: &Path) -> Result<()> {
    let yaml =
        std::fs::read_to_string(root.join("scenarios/demo.yaml")).context("scenarios/demo.yaml")?;
    eprintln!(
        "xtask: wasmtime run -S inherit-network --invoke 'run-scenario(…scenarios/demo.yaml…)' {}",
        wasm.display()
    );
    let out = Command::new("wasmtime")
        .args([
            "run",
            "-S",
            "inherit-network",
            "--invoke",
            &wave::invocation(&yaml),
        ])
        .arg(wasm)
        .output()
        .context("cannot start wasmtime")?;
    if !out.status.success() {
        bail!(
            "wasmtime failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    match wave::result(&String::from_utf8_lossy(&out.stdout)).map_err(anyhow::Error::msg)? {
        Ok(json) => println!("{json}"),
        Err(e) => bail!("run-scenario: {e}"),
    }
    Ok(())
}
