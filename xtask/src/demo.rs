//! `cargo xtask demo`: scenarios/demo.yaml against the built-in loopback
//! target, in stock wasmtime (plain mode: users interleaved in one instance).

use anyhow::{Context, Result, bail};
use scheduler_host::target::LoopbackTarget;
use scheduler_host::wave;
use std::path::Path;
use std::process::Command;

/// The ports scenarios/demo.yaml points at.
const PORTS: (u16, u16, u16) = (18080, 18081, 18082);

pub fn run(root: &Path, wasm: &Path) -> Result<()> {
    let yaml =
        std::fs::read_to_string(root.join("scenarios/demo.yaml")).context("scenarios/demo.yaml")?;
    let target = LoopbackTarget::start([127, 0, 0, 1].into(), PORTS.0, PORTS.1, PORTS.2)
        .context("starting the loopback target on 127.0.0.1:18080-18082")?;
    eprintln!(
        "xtask: loopback target: http {} tcp {} udp {}",
        target.http, target.tcp, target.udp
    );
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
    let seen =
        |c: &scheduler_host::target::Counters| format!("{} from {:?}", c.requests(), c.by_source());
    eprintln!(
        "xtask: the target saw: http {}; tcp {}; udp {}",
        seen(&target.http_seen),
        seen(&target.tcp_seen),
        seen(&target.udp_seen)
    );
    Ok(())
}
