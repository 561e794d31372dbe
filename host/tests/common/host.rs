//! Running the scheduler-host binary as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scheduler-host"))
}

/// The third-party example, built by `cargo xtask build`.
pub fn line_ping() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../components/examples/line-ping/target/wasm32-wasip2/release/line_ping.wasm");
    assert!(
        p.exists(),
        "{} is missing: run `cargo xtask test` (it builds it first)",
        p.display()
    );
    p
}

/// A scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("host-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `scheduler-host run FILE --quiet --out DIR/report.json ARGS…`; returns
/// the output and the parsed report (if one was written).
pub fn run(dir: &Path, yaml: &str, args: &[&str]) -> (Output, Option<serde_json::Value>) {
    run_under(&[], dir, yaml, args)
}

/// The same, started by `wrapper` (e.g. `unshare --net`) when it is not empty.
pub fn run_under(
    wrapper: &[&str],
    dir: &Path,
    yaml: &str,
    args: &[&str],
) -> (Output, Option<serde_json::Value>) {
    let file = dir.join("scenario.yaml");
    let out_file = dir.join("report.json");
    let _ = std::fs::remove_file(&out_file);
    std::fs::write(&file, yaml).unwrap();
    let mut cmd = match wrapper.split_first() {
        Some((program, wrapper_args)) => {
            let mut c = Command::new(program);
            c.args(wrapper_args).arg(bin());
            c
        }
        None => Command::new(bin()),
    };
    let out = cmd
        .arg("run")
        .arg(&file)
        .args(["--quiet", "--out"])
        .arg(&out_file)
        .args(args)
        .output()
        .unwrap();
    let report = std::fs::read(&out_file)
        .ok()
        .map(|b| serde_json::from_slice(&b).expect("report is JSON"));
    (out, report)
}

/// Asserts the command succeeded, showing its stderr if not.
pub fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Source address → count, from text.
pub fn sources(list: &[(&str, u64)]) -> std::collections::BTreeMap<std::net::IpAddr, u64> {
    list.iter()
        .map(|(ip, n)| (ip.parse().unwrap(), *n))
        .collect()
}
