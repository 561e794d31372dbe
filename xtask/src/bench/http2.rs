//! HTTP/2 kept alive, scheduler-host against oha's HTTP/2 mode on the same
//! nginx (h2c on plain TCP, and h2 by ALPN over TLS), each pinned to CPU 1:
//! one connection per user (oha: per `-c` connection, one request in
//! flight on it), requests/s as nginx counted them.

use super::nginx::{H2_TLS_PORT, H2C_PORT, Nginx};
use super::{Bench, RUNS, SECS, Throughput, USERS, oha_run};
use anyhow::{Context, Result};

/// One row per transport: (what, scheduler-host, oha).
pub fn rows(bench: &Bench, nginx: &Nginx) -> Result<Vec<(&'static str, Throughput, Throughput)>> {
    let ca = nginx.ca();
    let ca = ca.to_str().context("utf-8 path")?.to_string();
    let mut rows = Vec::new();
    for (what, url, tls) in [
        (
            "HTTP/2 cleartext (h2c)",
            format!("http://127.0.0.1:{H2C_PORT}/"),
            false,
        ),
        (
            "HTTP/2 over TLS (h2)",
            format!("https://127.0.0.1:{H2_TLS_PORT}/"),
            true,
        ),
    ] {
        let extra = if tls {
            format!("  tls: {{ca_file: '{ca}'}}\n")
        } else {
            String::new()
        };
        let s = bench.scenario(
            &format!("h2-{}", if tls { "tls" } else { "c" }),
            USERS,
            SECS,
            &format!("    - {{type: http, params: {{url: '{url}', http_version: '2'}}}}\n"),
            &extra,
        )?;
        let mut oha = vec!["--http-version", "2"];
        if tls {
            oha.extend(["--cacert", ca.as_str()]);
        }
        let (mut h, mut o) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            h.push(nginx.count(|| bench.host_run(&s))?);
            o.push(nginx.count(|| oha_run(&url, &oha))?);
        }
        rows.push((what, Throughput::new(&h), Throughput::new(&o)));
    }
    Ok(rows)
}
