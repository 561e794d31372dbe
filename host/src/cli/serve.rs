//! `scheduler-host serve`: the built-in loopback target, kept up on fixed
//! ports until Ctrl-C, so the bundled scenarios (which name these ports),
//! `cargo xtask plain-demo` and a first experiment have something to hit.

use crate::error::Failure;
use crate::loopback::LoopbackTarget;
use clap::Args;
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Args)]
pub struct ServeArgs {
    /// The loopback address to listen on (127.0.0.0/8 or ::1)
    #[arg(long, default_value = "127.0.0.1")]
    pub ip: IpAddr,
    /// HTTP/1.1 port (routes: / /chunked /echo /status/N /delay/MS /close)
    #[arg(long, default_value_t = 18080)]
    pub http_port: u16,
    /// TCP echo port
    #[arg(long, default_value_t = 18081)]
    pub tcp_port: u16,
    /// UDP echo port
    #[arg(long, default_value_t = 18082)]
    pub udp_port: u16,
    /// HTTPS port: the HTTP routes over TLS, with a certificate from a CA made at start
    #[arg(long, default_value_t = 18443)]
    pub https_port: u16,
    /// Write the CA (PEM) here, for a scenario's `tls: {ca_file: …}` (default: serve-ca.pem in the temporary directory)
    #[arg(long, value_name = "FILE.pem")]
    pub ca_out: Option<PathBuf>,
}

pub async fn main(a: ServeArgs) -> Result<u8, Failure> {
    if !a.ip.is_loopback() {
        return Err(Failure::input(format!(
            "--ip: {} is not a loopback address (127.0.0.0/8 or ::1)",
            a.ip
        )));
    }
    let t = LoopbackTarget::start(a.ip, a.http_port, a.tcp_port, a.udp_port)
        .and_then(|t| t.with_https(a.https_port))
        .map_err(|e| {
            Failure::input(format!(
                "serve: {e} (is another `scheduler-host serve` running? choose other ports with --http-port …)"
            ))
        })?;
    let https = t.https.as_ref().expect("started with https");
    let ca = a
        .ca_out
        .unwrap_or_else(|| std::env::temp_dir().join("serve-ca.pem"));
    crate::atomic::write_atomically(&ca, https.ca_pem.as_bytes())
        .map_err(|e| Failure::input(format!("--ca-out {}: {e}", ca.display())))?;
    println!("scheduler-host serve: the loopback target is up until Ctrl-C");
    println!(
        "  http   http://{}/  (/ /chunked /echo /status/N /delay/MS /close)",
        t.http
    );
    println!(
        "  https  https://{}/  (trust its CA with tls: {{ca_file: {}}})",
        https.addr,
        ca.display()
    );
    println!("  tcp    {}  (echo)", t.tcp);
    println!("  udp    {}  (echo)", t.udp);
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Failure::internal(e.into()))?;
    println!(
        "\nthe target saw: http {}; https {}; tcp {}; udp {}",
        t.http_seen, https.seen, t.tcp_seen, t.udp_seen
    );
    Ok(0)
}
