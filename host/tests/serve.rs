//! `scheduler-host serve` keeps the loopback target up on the fixed ports
//! the bundled scenarios name: every bundled scenario runs green against
//! it as written (under scheduler-host and stock wasmtime), and what the
//! server counted equals what the reports say. The only test that takes the
//! fixed ports 18080-18082 and 18443.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use test_kit::{host, invoke, num, root, step};

/// Stops the server even when the test fails, so no later run finds the
/// ports taken.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `scheduler-host serve`, once it has printed its addresses.
fn serve(ca: &Path) -> (Server, BufReader<std::process::ChildStdout>, String) {
    let mut child = Command::new(host::bin())
        .args(["serve", "--ca-out"])
        .arg(ca)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    while !banner.contains("udp ") {
        if out.read_line(&mut banner).unwrap() == 0 {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("serve stopped: {banner}{err}");
        }
    }
    (Server(child), out, banner)
}

/// `scheduler-host run SCENARIO ARGS --quiet --out OUT` from the checkout's root.
fn run(scenario: &str, out: &Path, args: &[&str]) -> Value {
    let o = Command::new(host::bin())
        .current_dir(root())
        .arg("run")
        .arg(scenario)
        .args(args)
        .args(["--quiet", "--out"])
        .arg(out)
        .output()
        .unwrap();
    host::ok(&o);
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

/// `N from {…}` after `what ` in serve's closing line.
fn seen(line: &str, what: &str) -> u64 {
    let at = line.find(&format!(" {what} ")).unwrap() + what.len() + 2;
    line[at..].split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn every_bundled_scenario_runs_green_against_serve_and_the_server_counts_what_the_reports_say() {
    let dir = host::scratch("serve");
    let ca = dir.join("ca.pem");
    let (server, mut stdout, banner) = serve(&ca);
    assert!(banner.contains("http://127.0.0.1:18080/"), "{banner}");
    assert!(banner.contains("https://127.0.0.1:18443/"), "{banner}");
    assert!(
        std::fs::read_to_string(&ca)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    let d = dir.clone();
    let out = move |name: &str| d.join(name);

    // All at once: they share the target, as users of one server do.
    let o = out.clone();
    let demo = std::thread::spawn(move || run("scenarios/demo.yaml", &o("demo.json"), &[]));
    let o = out.clone();
    let journey =
        std::thread::spawn(move || run("scenarios/journey.yaml", &o("journey.json"), &[]));
    let o = out.clone();
    // shapes.yaml's thresholds (p95, errors, dropped iterations) decide its exit code.
    let shapes = std::thread::spawn(move || run("scenarios/shapes.yaml", &o("shapes.json"), &[]));
    // loopback.yaml as written, in stock wasmtime: 5 users, 30 s, 1 s think time.
    let loopback = std::thread::spawn(|| {
        invoke(&std::fs::read_to_string(root().join("scenarios/loopback.yaml")).unwrap()).unwrap()
    });
    // `cargo xtask plain-demo`: the mission's command line, scenario on stdin.
    let plain = std::thread::spawn(|| {
        let mut child = Command::new("wasmtime")
            .args(["run", "-S", "inherit-network"])
            .arg(test_kit::wasm())
            .args(["--invoke", "run-scenario"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let yaml = std::fs::read_to_string(root().join("scenarios/demo.yaml")).unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(yaml.as_bytes())
            .unwrap();
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success());
        // Given the scenario on stdin, it prints the JSON report itself.
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    });
    // `run --help`'s first example, as printed.
    let help = Command::new(host::bin())
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let example = help
        .lines()
        .find(|l| l.trim_start().starts_with("scheduler-host run scenarios/"))
        .unwrap_or_else(|| panic!("no example in {help}"));
    let words: Vec<&str> = example.split_whitespace().skip(2).collect();
    let o = Command::new(host::bin())
        .current_dir(root())
        .arg("run")
        .args(words.iter().map(|w| {
            if *w == "report.json" {
                "target/serve-example.json"
            } else {
                w
            }
        }))
        .arg("--quiet")
        .output()
        .unwrap();
    host::ok(&o);
    let example: Value =
        serde_json::from_slice(&std::fs::read(root().join("target/serve-example.json")).unwrap())
            .unwrap();
    // HTTPS, trusting the printed CA.
    let https_yaml = format!(
        "scenario:\n  id: https\n  tls: {{ca_file: {}}}\n  load: {{total_users: 2, iterations: 5}}\n  workflow:\n    - {{id: s, type: http, params: {{url: \"https://127.0.0.1:18443/\"}}, assert_status: 200}}\n",
        ca.display()
    );
    std::fs::write(dir.join("https.yaml"), https_yaml).unwrap();
    let https = run(
        dir.join("https.yaml").to_str().unwrap(),
        &out("https.json"),
        &[],
    );

    let reports = [
        ("demo", demo.join().unwrap()),
        ("journey", journey.join().unwrap()),
        ("shapes", shapes.join().unwrap()),
        ("loopback", loopback.join().unwrap()),
        ("plain-demo", plain.join().unwrap()),
        ("help example", example),
        ("https", https.clone()),
    ];
    let mut http = 0;
    let mut tcp_udp = 0;
    for (name, r) in &reports {
        assert_eq!(num(r, "failed"), 0, "{name}: {r:#}");
        assert!(num(r, "total_requests") > 0, "{name}");
        let by_type = |t: &str| -> u64 {
            r["steps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["type"] == t)
                .map(|s| num(s, "total_requests"))
                .sum()
        };
        if *name != "https" {
            // Steps are http, tcp or udp; setup and teardown steps are http.
            let extra = ["setup", "teardown"]
                .iter()
                .map(|k| {
                    r[k].as_array().map_or(0, |a| {
                        a.iter().map(|s| num(s, "total_requests")).sum::<u64>()
                    })
                })
                .sum::<u64>();
            http += num(r, "total_requests") - by_type("tcp") - by_type("udp") + extra;
            tcp_udp += by_type("tcp") + by_type("udp");
        }
    }
    assert_eq!(num(step(&https, "s"), "total_requests"), 10);

    Command::new("kill")
        .args(["-INT", &server.0.id().to_string()])
        .status()
        .unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let line = rest
        .lines()
        .find(|l| l.starts_with("the target saw:"))
        .unwrap();
    assert_eq!(seen(line, "http"), http, "{line}");
    assert_eq!(seen(line, "https"), 10, "{line}");
    assert_eq!(seen(line, "tcp") + seen(line, "udp"), tcp_udp, "{line}");
}
