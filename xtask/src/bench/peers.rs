//! The peers, pinned: Debian's nginx, `time`, `taskset` and `openssl`; oha
//! from crates.io; Goose built from `bench/goose-peer` (its lock file pins
//! it) — each installed or built only when missing.

use crate::tools;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// oha, installed with `cargo install --locked`.
pub const OHA: (&str, &str) = ("oha", "1.16.0");
/// The Goose version `bench/goose-peer/Cargo.toml` pins (shown in the tables).
pub const GOOSE: &str = "0.19.0";

pub fn ensure(root: &Path) -> Result<PathBuf> {
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
        ("perf", "linux-perf"),
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
    let manifest = root.join(super::GOOSE_PEER);
    tools::run(Command::new(env!("CARGO")).args([
        "build",
        "--release",
        "--locked",
        "--manifest-path",
        manifest.to_str().context("utf-8 path")?,
    ]))?;
    Ok(root.join("bench/goose-peer/target/release/goose-peer"))
}

/// Goose's requests per second and failed requests, from the aggregated
/// row of its JSON report's requests table.
pub fn goose_figures(report: &serde_json::Value) -> Option<(f64, u64)> {
    let row = report
        .pointer("/raw_request_metrics")?
        .as_array()?
        .iter()
        .find(|r| r["name"] == "Aggregated")?;
    Some((
        row["requests_per_second"].as_f64()?,
        row["number_of_failures"].as_u64().unwrap_or(0),
    ))
}
