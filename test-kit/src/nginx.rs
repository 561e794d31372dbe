//! nginx (Debian's `nginx-light`, installed by `cargo xtask test`) as the
//! third-party server the client's conformance tests run against: a
//! server not written here, whose access log is its own count of what
//! arrived. Each instance has its own prefix, port and log, and is one
//! process (`master_process off`: no worker outlives it); it stops when
//! dropped.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Nginx {
    pub addr: SocketAddr,
    child: Child,
    prefix: PathBuf,
}

impl Nginx {
    /// nginx under `prefix`, serving `server` (the inside of one `server {}`
    /// block: its locations) and `prefix/html` as its root. The access log
    /// has one line per request: `STATUS "REQUEST LINE"`.
    pub fn start(prefix: &Path, server: &str) -> Nginx {
        Self::listening(prefix, "", server)
    }

    /// As `start`, with `listen` after the address (e.g. `ssl http2`: the
    /// server block then names its certificate).
    pub fn listening(prefix: &Path, listen: &str, server: &str) -> Nginx {
        std::fs::create_dir_all(prefix.join("logs")).unwrap();
        std::fs::create_dir_all(prefix.join("html")).unwrap();
        // A free port: taken, released, then nginx's (retried if lost).
        for _ in 0..10 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let p = prefix.display();
            let conf = format!(
                "daemon off;\nmaster_process off;\npid {p}/nginx.pid;\nerror_log {p}/logs/error.log;\nevents {{ worker_connections 1024; }}\nhttp {{\n  log_format conformance '$status \"$request\"';\n  access_log {p}/logs/access.log conformance;\n  client_body_temp_path {p}/tmp;\n  server {{\n    listen 127.0.0.1:{port} {listen};\n    root {p}/html;\n{server}\n  }}\n}}\n"
            );
            std::fs::write(prefix.join("nginx.conf"), conf).unwrap();
            let child = Command::new("nginx")
                .arg("-p")
                .arg(prefix)
                .arg("-c")
                .arg(prefix.join("nginx.conf"))
                .stderr(Stdio::null())
                .spawn()
                .expect("nginx is installed by `cargo xtask test`");
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let mut n = Nginx {
                addr,
                child,
                prefix: prefix.to_path_buf(),
            };
            let began = Instant::now();
            while began.elapsed() < Duration::from_secs(5) {
                if TcpStream::connect(addr).is_ok() {
                    return n;
                }
                if n.child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = n.child.kill();
        }
        let mut log = String::new();
        let _ = std::fs::File::open(prefix.join("logs/error.log"))
            .and_then(|mut f| f.read_to_string(&mut log));
        panic!("nginx did not start: {log}");
    }

    /// nginx over TLS with `http2` (h2 by ALPN, or HTTP/1.1), with a
    /// certificate for 127.0.0.1 from a fresh CA written to `dir/ca.pem`
    /// (for a scenario's `ca_file`).
    pub fn h2_tls(dir: &Path, prefix: &Path, locations: &str) -> Nginx {
        let ca = crate::web::Ca::new("nginx test CA").unwrap();
        let leaf = ca.leaf(&["127.0.0.1"], false).unwrap();
        std::fs::create_dir_all(prefix).unwrap();
        std::fs::write(prefix.join("cert.pem"), &leaf.cert_pem).unwrap();
        std::fs::write(prefix.join("key.pem"), &leaf.key_pem).unwrap();
        std::fs::write(dir.join("ca.pem"), &ca.pem).unwrap();
        let p = prefix.display();
        let server = format!(
            "    ssl_certificate {p}/cert.pem;\n    ssl_certificate_key {p}/key.pem;\n{locations}"
        );
        Self::listening(prefix, "ssl http2", &server)
    }

    /// `prefix/html/PATH`, for nginx to serve.
    pub fn file(&self, path: &str, bytes: &[u8]) {
        let f = self.prefix.join("html").join(path);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, bytes).unwrap();
    }

    /// The access log's lines so far: `STATUS "METHOD TARGET VERSION"`.
    pub fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.prefix.join("logs/access.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
