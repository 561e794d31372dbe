//! Running the scheduler-host binary as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `scheduler-host ARGS` in `dir`.
pub fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// The scheduler-host binary cargo built beside the running test (tests
/// run from `target/<profile>/deps/`; the binary is in `target/<profile>/`).
pub fn bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = dir.join("scheduler-host");
    assert!(
        bin.exists(),
        "{} is missing: run the host's tests with cargo (it builds the binary first)",
        bin.display()
    );
    bin
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

/// What `run_measured` saw.
pub struct Measured {
    pub out: Output,
    pub report: Option<serde_json::Value>,
    pub wall: std::time::Duration,
    /// Peak resident memory of the scheduler-host process (VmHWM), in KiB.
    pub peak_rss_kib: u64,
}

/// Like `run`, timing the process and reading its peak RSS while it runs.
pub fn run_measured(dir: &Path, yaml: &str, args: &[&str]) -> Measured {
    use std::io::Read;
    let file = dir.join("scenario.yaml");
    let out_file = dir.join("report.json");
    let _ = std::fs::remove_file(&out_file);
    std::fs::write(&file, yaml).unwrap();
    let began = std::time::Instant::now();
    let mut child = Command::new(bin())
        .arg("run")
        .arg(&file)
        .args(["--quiet", "--out"])
        .arg(&out_file)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_rss_kib = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        {
            peak_rss_kib = kib;
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            began.elapsed() < std::time::Duration::from_secs(60),
            "scheduler-host ran for a minute"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let wall = began.elapsed();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    let report = std::fs::read(&out_file)
        .ok()
        .map(|b| serde_json::from_slice(&b).expect("report is JSON"));
    Measured {
        out: Output {
            status,
            stdout,
            stderr,
        },
        report,
        wall,
        peak_rss_kib,
    }
}
