//! `cargo xtask plain-demo`: scenarios/demo.yaml in stock wasmtime (plain
//! mode: users interleaved in one instance), started the way the project is
//! meant to be used: `wasmtime run -S inherit-network scheduler-final.wasm
//! --invoke run-scenario < scenarios/demo.yaml`, against the target that
//! `scheduler-host serve` keeps up on 127.0.0.1:18080-18082.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::{Command, Stdio};

pub fn run(root: &Path, wasm: &Path) -> Result<()> {
    let scenario = root.join("scenarios/demo.yaml");
    eprintln!(
        "xtask: wasmtime run -S inherit-network {} --invoke run-scenario < scenarios/demo.yaml",
        wasm.display()
    );
    let up = std::net::TcpStream::connect(("127.0.0.1", 18080)).is_ok();
    if !up {
        bail!(
            "nothing listens on 127.0.0.1:18080: start `scheduler-host serve` in another terminal first"
        );
    }
    let input = std::fs::File::open(&scenario).context("scenarios/demo.yaml")?;
    let status = Command::new("wasmtime")
        .args(["run", "-S", "inherit-network"])
        .arg(wasm)
        .args(["--invoke", "run-scenario"])
        .stdin(Stdio::from(input))
        .status()
        .context("cannot start wasmtime")?;
    if !status.success() {
        bail!("wasmtime failed ({status})");
    }
    Ok(())
}
