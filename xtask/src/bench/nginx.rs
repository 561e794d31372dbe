//! The target every tool is measured against: nginx, one worker pinned to
//! CPU 0, access log off (or nginx itself becomes the bottleneck), answering
//! `hello world\n` on HTTP and HTTPS, and counting what it served with
//! `stub_status` on a listener of its own.

use crate::tools;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const PORT: u16 = 18090;
/// HTTPS, kept alive.
pub const TLS_PORT: u16 = 18443;
/// HTTPS with `keepalive_timeout 0`: every request is a new connection and
/// handshake (resumed, when the client keeps sessions).
pub const TLS_CLOSE_PORT: u16 = 18444;
/// HTTP/2 on plain TCP (h2c, prior knowledge).
pub const H2C_PORT: u16 = 18092;
/// HTTP/2 over TLS (ALPN h2), kept alive.
pub const H2_TLS_PORT: u16 = 18445;
/// `stub_status`, apart from the measured listeners.
const STATUS_PORT: u16 = 18091;

pub struct Nginx(Child, PathBuf);

impl Nginx {
    /// One worker pinned to CPU 0: the throughput runs' target.
    pub fn start(work: &Path) -> Result<Self> {
        Self::start_with(work, 1)
    }

    /// `workers` worker processes on any CPU, each accepting its share of
    /// connections (`reuseport`): 100,000 kept-alive connections need more
    /// file descriptors than one process may have here.
    pub fn start_with(work: &Path, workers: u32) -> Result<Self> {
        let prefix = work.join("nginx");
        std::fs::create_dir_all(prefix.join("logs"))?;
        certificates(&prefix)?;
        let conf = prefix.join("nginx.conf");
        let hello = "location / { return 200 \"hello world\\n\"; }";
        std::fs::write(
            &conf,
            format!(
                "worker_processes {workers};\ndaemon off;\nerror_log {p}/logs/error.log;\npid {p}/nginx.pid;\nevents {{ worker_connections 120000; }}\nworker_rlimit_nofile 250000;\nhttp {{\n  access_log off;\n  keepalive_requests 10000000;\n  keepalive_timeout 120s;\n  server {{\n    listen 127.0.0.1:{PORT} backlog=4096{reuse};\n    {hello}\n  }}\n  server {{\n    listen 127.0.0.1:{STATUS_PORT};\n    location / {{ stub_status; }}\n  }}\n  ssl_certificate {p}/server.pem;\n  ssl_certificate_key {p}/server.key;\n  ssl_session_cache shared:SSL:10m;\n  server {{\n    listen 127.0.0.1:{TLS_PORT} ssl backlog=4096;\n    {hello}\n  }}\n  server {{\n    listen 127.0.0.1:{TLS_CLOSE_PORT} ssl backlog=4096;\n    keepalive_timeout 0;\n    {hello}\n  }}\n  server {{\n    listen 127.0.0.1:{H2C_PORT} http2 backlog=4096;\n    {hello}\n  }}\n  server {{\n    listen 127.0.0.1:{H2_TLS_PORT} ssl http2 backlog=4096;\n    {hello}\n  }}\n}}\n",
                p = prefix.display(),
                reuse = if workers > 1 { " reuseport" } else { "" },
            ),
        )?;
        let cpus = if workers > 1 { "0-1" } else { "0" };
        let child = Command::new("taskset")
            .args(["-c", cpus, "nginx", "-p"])
            .arg(&prefix)
            .arg("-c")
            .arg(&conf)
            .stderr(Stdio::null())
            .spawn()
            .context("starting nginx")?;
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", STATUS_PORT)).is_ok() {
                return Ok(Nginx(child, prefix));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!(
            "nginx did not start on 127.0.0.1:{STATUS_PORT} (is another bench's nginx still running? see {}/logs/error.log)",
            prefix.display()
        )
    }

    /// Requests nginx has served since it started, by its own count (this
    /// status request included).
    pub fn served(&self) -> Result<u64> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", STATUS_PORT))?;
        s.write_all(b"GET / HTTP/1.0\r\nHost: status\r\n\r\n")?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        // "server accepts handled requests\n A H R\n"
        let counts = text
            .lines()
            .skip_while(|l| !l.contains("accepts handled requests"))
            .nth(1)
            .context("stub_status: no counts line")?;
        counts
            .split_whitespace()
            .nth(2)
            .and_then(|n| n.parse().ok())
            .context("stub_status: no request count")
    }

    /// Runs `f` and returns what it returned with the requests nginx served
    /// meanwhile (not counting the status requests).
    pub fn count<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<(T, u64)> {
        let before = self.served()?;
        let out = f()?;
        let after = self.served()?;
        Ok((out, after.saturating_sub(before + 1)))
    }

    pub fn ca(&self) -> PathBuf {
        self.1.join("ca.pem")
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-QUIT", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// A CA (`ca.pem`) and a certificate for 127.0.0.1 signed by it, with openssl.
fn certificates(dir: &Path) -> Result<()> {
    if dir.join("server.pem").exists() {
        return Ok(());
    }
    let sh = format!(
        "cd '{}' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 3650 -subj /CN=bench-ca && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 && printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 3650 -extfile san.ext",
        dir.display()
    );
    tools::run(Command::new("sh").args(["-c", &sh]).stderr(Stdio::null()))
}
