//! What the integration tests share: the test servers written for them
//! (`web`: HTTP and TLS, `shop`: a journey's API, `hostile`: misbehaving
//! peers, `timed`: a server that counts when requests arrive, `grpc`,
//! `ws`: gRPC and WebSocket servers that count what they saw), running
//! scheduler-host (`host`) and stock wasmtime (here) as a user would, and
//! readers of what a report holds (`schema`, `histogram`, `step`, …).

pub mod chromium;
pub mod grpc;
pub mod h2server;
pub mod har;
pub mod host;
pub mod hostile;
pub mod nginx;
pub mod proxy;
pub mod schema;
pub mod shop;
pub mod timed;
pub mod web;
pub mod ws;

use scenario::wave;
use scheduler_host::loopback::LoopbackTarget;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// The checkout's root (test-kit sits in it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One fenced block of a Markdown page.
pub struct Fence {
    /// Its opening line, 1-based.
    pub line: usize,
    /// The line before the opening one, trimmed (where a page marks a block).
    pub before: String,
    pub body: String,
}

/// The page's blocks fenced as ```` ```lang ````, in order.
pub fn fenced(page: &str, lang: &str) -> Vec<Fence> {
    let lines: Vec<&str> = page.lines().collect();
    let open = format!("```{lang}");
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_start() == open {
            let start = i;
            let mut body = String::new();
            i += 1;
            while i < lines.len() && lines[i].trim_start() != "```" {
                body.push_str(lines[i]);
                body.push('\n');
                i += 1;
            }
            let before = start.checked_sub(1).map_or("", |b| lines[b]).trim();
            out.push(Fence {
                line: start + 1,
                before: before.to_string(),
                body,
            });
        }
        i += 1;
    }
    out
}

/// Binds a port of 127.0.0.1 and serves it from a thread of its own, on a
/// current-thread tokio runtime (I/O and timers), until the test process
/// ends: what the tokio-based test servers (h2, gRPC, WebSocket) share.
pub fn serve_tokio<F, Fut>(serve: F) -> std::net::SocketAddr
where
    F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            serve(listener).await;
        });
    });
    addr
}

/// Built by `cargo xtask build` (the README's test command builds it first).
pub fn wasm() -> PathBuf {
    let path = std::env::var_os("SCHEDULER_FINAL_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/scheduler-final.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask test` (it builds it first)",
        path.display()
    );
    path
}

/// A loopback target on 127.0.0.1 with free ports.
pub fn target() -> LoopbackTarget {
    LoopbackTarget::start([127, 0, 0, 1].into(), 0, 0, 0).expect("loopback target")
}

/// A histogram as a report or a timeline row carries it (HDR V2, deflated,
/// base64), read with the hdrhistogram crate itself.
pub fn histogram(text: &str) -> hdrhistogram::Histogram<u64> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64");
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .expect("an HDR V2 histogram")
}

/// Fills {http}, {tcp}, {udp} with the target's addresses.
pub fn scenario(template: &str, t: &LoopbackTarget) -> String {
    template
        .replace("{http}", &t.http.to_string())
        .replace("{tcp}", &t.tcp.to_string())
        .replace("{udp}", &t.udp.to_string())
}

/// `wasmtime run -S inherit-network --invoke 'run-scenario("…")' scheduler-final.wasm`.
pub fn invoke(yaml: &str) -> Result<Value, String> {
    invoke_file(&wasm(), yaml)
}

/// The same with another composed file.
pub fn invoke_file(wasm: &std::path::Path, yaml: &str) -> Result<Value, String> {
    let out = Command::new("wasmtime")
        .args([
            "run",
            "-S",
            "inherit-network",
            "--invoke",
            &wave::invocation(yaml),
        ])
        .arg(wasm)
        .output()
        .expect("wasmtime is installed by `cargo xtask test`");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "wasmtime failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = wave::result(&stdout).expect("a WAVE result")?;
    Ok(serde_json::from_str(&json).expect("run-scenario returns JSON"))
}

/// `wasmtime run -S inherit-network --dir DIR scheduler-final.wasm DIR/FILE`:
/// the component reads the scenario (and the files it names) itself.
pub fn plain_file(dir: &std::path::Path, file: &str) -> std::process::Output {
    Command::new("wasmtime")
        .args(["run", "-S", "inherit-network", "--dir"])
        .arg(dir)
        .arg(wasm())
        .arg(dir.join(file))
        .output()
        .expect("wasmtime is installed by `cargo xtask test`")
}

/// A scenario `id` of `users` × `iterations` around `steps` (workflow lines),
/// with `extra` scenario-level lines (e.g. a `tls:` block) before `load`.
pub fn workflow(id: &str, extra: &str, users: u32, iterations: u32, steps: &str) -> String {
    format!(
        "scenario:\n  id: {id}\n{extra}  load: {{total_users: {users}, iterations: {iterations}}}\n  workflow:\n{steps}"
    )
}

/// The report's named scenario `name`.
pub fn scenario_named<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == name)
        .unwrap_or_else(|| panic!("no scenario {name} in {report:#}"))
}

/// The report's step `id`.
pub fn step<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {report:#}"))
}

pub fn num(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing in {v:#}"))
}
