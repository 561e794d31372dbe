//! Installs what a command needs, only when it is missing. The build (and so
//! the demo): the wasm32-wasip2 target, Debian's clang (`ring`, inside
//! core-libs' TLS, compiles C and assembly for wasm32 with it) and a pinned
//! wac-cli. Only the tests: rustfmt and clippy (the gates), Debian's chromium
//! (the HTML report's tests render pages in it), kubernetes-validate with pip
//! (the deploy manifests' test), a pinned wasmtime-cli (plain mode, also
//! `plain-demo`), mdbook for the book, and Node.js/npm and Python's venv
//! (the scripts' compilers, which scheduler-host installs with them).

use anyhow::{Context, Result, bail};
use std::process::Command;

/// (binary, crate, version, what `--version` prints, more `cargo install` arguments)
type Tool = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// Composes the parts: the build needs it.
const WAC: Tool = ("wac", "wac-cli", "0.12.0", "wac-cli 0.12.0", &[]);
/// Stock wasmtime: plain mode's tests and `plain-demo`.
const WASMTIME: Tool = ("wasmtime", "wasmtime-cli", "48.0.8", "wasmtime 48.0.8", &[]);
/// Builds the book (`docs/`); without its default features (the live
/// `serve`/`watch` server), which `mdbook build` does not need.
const MDBOOK: Tool = (
    "mdbook",
    "mdbook",
    "0.4.52",
    "mdbook v0.4.52",
    &["--no-default-features"],
);

/// Installs mdbook when missing: what `cargo xtask docs` and `test` need.
pub fn ensure_mdbook() -> Result<()> {
    ensure_tool(MDBOOK)
}

/// Validates deploy/kubernetes/ against the Kubernetes schemas it ships.
const KUBERNETES_VALIDATE: &str = "1.31.0";

/// What the build (and the demo) needs.
pub fn ensure_build() -> Result<()> {
    let targets = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if !targets.lines().any(|l| l.trim() == "wasm32-wasip2") {
        run(Command::new("rustup").args(["target", "add", "wasm32-wasip2"]))?;
    }
    if output(Command::new("clang").arg("--version")).is_err() {
        eprintln!("xtask: installing Debian's clang (ring builds its wasm32 code with it)");
        debian(&["clang"])?;
    }
    ensure_tool(WAC)
}

/// Stock wasmtime, for plain mode.
pub fn ensure_wasmtime() -> Result<()> {
    ensure_tool(WASMTIME)
}

/// What only the tests need, on top of the build's.
pub fn ensure_test() -> Result<()> {
    let components = output(Command::new("rustup").args(["component", "list", "--installed"]))?;
    for component in ["rustfmt", "clippy"] {
        if !components.lines().any(|l| l.starts_with(component)) {
            run(Command::new("rustup").args(["component", "add", component]))?;
        }
    }
    if output(Command::new("chromium").arg("--version")).is_err() {
        eprintln!("xtask: installing Debian's chromium (the HTML report's tests render it)");
        debian(&["chromium"])?;
    }
    if output(Command::new("nginx").arg("-v")).is_err() {
        eprintln!("xtask: installing Debian's nginx-light (the HTTP client's conformance tests)");
        debian(&["nginx-light"])?;
    }
    if output(Command::new("kubernetes-validate").arg("--version")).is_err() {
        eprintln!(
            "xtask: installing kubernetes-validate {KUBERNETES_VALIDATE} with pip (the deploy manifests' test)"
        );
        run(Command::new("python3").args([
            "-m",
            "pip",
            "install",
            "--quiet",
            &format!("kubernetes-validate=={KUBERNETES_VALIDATE}"),
        ]))?;
    }
    // Scripts' tests build JavaScript and Python journeys: scheduler-host
    // installs componentize-js with npm and componentize-py into a venv.
    if output(Command::new("npm").arg("--version")).is_err() {
        eprintln!("xtask: installing Debian's nodejs and npm (JavaScript scripts' compiler)");
        debian(&["nodejs", "npm"])?;
    }
    if !Command::new("python3")
        // Debian's python3 has venv without ensurepip: creating one fails.
        .args(["-c", "import ensurepip, venv"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("xtask: installing Debian's python3-venv (Python scripts' compiler)");
        debian(&["python3-venv"])?;
    }
    ensure_wasmtime()?;
    ensure_mdbook()
}

fn ensure_tool((bin, krate, version, banner, more): Tool) -> Result<()> {
    let have = output(Command::new(bin).arg("--version")).unwrap_or_default();
    if !have.starts_with(banner) {
        eprintln!(
            "xtask: installing {krate} {version} (have: {:?})",
            have.trim()
        );
        run(Command::new("cargo")
            .args(["install", "--locked", krate, "--version", version])
            .args(more))?;
    }
    Ok(())
}

/// `apt-get install -y PACKAGES` (with sudo when not root).
pub fn debian(packages: &[&str]) -> Result<()> {
    let root = output(Command::new("id").arg("-u")).is_ok_and(|u| u.trim() == "0");
    let mut cmd = if root {
        Command::new("apt-get")
    } else {
        let mut c = Command::new("sudo");
        c.arg("apt-get");
        c
    };
    cmd.env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "-q"])
        .args(packages);
    run(&mut cmd).with_context(|| format!("installing {} with apt-get", packages.join(" ")))
}

pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
