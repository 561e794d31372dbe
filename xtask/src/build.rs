//! Builds the guest components and composes scheduler-final.wasm.

use crate::tools;
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (cargo package, built file, package name in compositions/scheduler.wac)
pub const COMPONENTS: &[(&str, &str, &str)] = &[
    ("core-libs", "core_libs.wasm", "component:core-libs"),
    ("action-http", "action_http.wasm", "component:http"),
    ("action-tcp", "action_tcp.wasm", "component:tcp"),
    ("action-udp", "action_udp.wasm", "component:udp"),
    (
        "action-no-extension",
        "action_no_extension.wasm",
        "component:no-extension",
    ),
    ("scheduler", "scheduler.wasm", "component:scheduler"),
];

/// Everything, in order; returns the path of scheduler-final.wasm.
pub fn all(root: &Path) -> Result<PathBuf> {
    tools::ensure()?;
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(root)
        .args(["build", "--target", "wasm32-wasip2", "--profile", "wasm"]);
    for (pkg, _, _) in COMPONENTS {
        cargo.args(["-p", pkg]);
    }
    tools::run(&mut cargo)?;
    // The third-party example builds on its own, from the WIT alone.
    let mut example = Command::new(env!("CARGO"));
    example.current_dir(root).args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--manifest-path",
        "components/examples/line-ping/Cargo.toml",
    ]);
    tools::run(&mut example)?;

    let built = root.join("target/wasm32-wasip2/wasm");
    let out = root.join("target/scheduler-final.wasm");
    let mut wac = Command::new("wac");
    wac.current_dir(root)
        .args(["compose", "compositions/scheduler.wac", "-o"])
        .arg(&out);
    for (_, file, name) in COMPONENTS {
        wac.arg("--dep")
            .arg(format!("{name}={}", built.join(file).display()));
    }
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
