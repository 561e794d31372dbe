//! The compilers `script build` runs, installed when missing: the pinned
//! componentize-js from npm into the cache, componentize-py from PyPI into
//! a virtual environment there. One already on PATH at the pinned version
//! is used as it is.

use crate::error::Failure;
use std::path::PathBuf;
use std::process::Command;

const COMPONENTIZE_JS: &str = "@bytecodealliance/componentize-js@0.23";
const COMPONENTIZE_PY: &str = "componentize-py==0.25.*";
const PY_VERSION: &str = "componentize-py 0.25.";

/// componentize-js's command.
pub fn componentize_js() -> Result<PathBuf, Failure> {
    let dir = cache().join("componentize-js");
    let bin = dir.join("node_modules/.bin/componentize-js");
    if bin.exists() {
        return Ok(bin);
    }
    std::fs::create_dir_all(&dir).map_err(|e| Failure::internal(e.into()))?;
    eprintln!("installing {COMPONENTIZE_JS} into {} (once)", dir.display());
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .arg(COMPONENTIZE_JS))?;
    Ok(bin)
}

/// componentize-py's command.
pub fn componentize_py() -> Result<PathBuf, Failure> {
    let on_path = Command::new("componentize-py").arg("--version").output();
    if let Ok(o) = on_path
        && String::from_utf8_lossy(&o.stdout).starts_with(PY_VERSION)
    {
        return Ok(PathBuf::from("componentize-py"));
    }
    let venv = cache().join("componentize-py");
    let bin = venv.join("bin/componentize-py");
    if bin.exists() {
        return Ok(bin);
    }
    eprintln!(
        "installing {COMPONENTIZE_PY} into {} (once)",
        venv.display()
    );
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", COMPONENTIZE_PY]))?;
    Ok(bin)
}

fn run(cmd: &mut Command) -> Result<(), Failure> {
    let out = cmd.output().map_err(|e| {
        Failure::input(format!(
            "cannot run {:?} ({e}): install Node.js and npm, and Python 3 with venv, to build scripts",
            cmd.get_program()
        ))
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(Failure::input(format!(
            "installing with {:?} failed: {last}",
            cmd.get_program()
        )));
    }
    Ok(())
}

/// Where tools are installed: `$XDG_CACHE_HOME/scheduler-host/tools` (or
/// `~/.cache/scheduler-host/tools`).
fn cache() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("scheduler-host/tools")
}
