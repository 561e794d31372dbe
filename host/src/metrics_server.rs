//! The `--metrics ADDR` listener: answers `GET /metrics` with the latest
//! exposition and anything else with 404. It binds only the address it is
//! given, serves one request per connection, and stops with the run.

use crate::error::Failure;
use crate::metrics::Exposition;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request head larger than this is refused.
const MAX_HEAD: usize = 8 * 1024;

pub struct Listener {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `addr` now (a taken or foreign address is bad input) and serves
/// `exposition` until dropped.
pub async fn start(addr: SocketAddr, exposition: Arc<Exposition>) -> Result<Listener, Failure> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::input(format!("--metrics {addr}: cannot listen: {e}")))?;
    let task = tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let exposition = Arc::clone(&exposition);
            tokio::spawn(async move {
                let _ = tokio::time::timeout(
                    std::time::Duration::from_secs(10),
                    serve(conn, &exposition),
                )
                .await;
            });
        }
    });
    Ok(Listener { task })
}

async fn serve(mut conn: TcpStream, exposition: &Exposition) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let path = loop {
        let n = conn.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&head) {
            Ok(httparse::Status::Complete(_)) => {
                break (req.method == Some("GET")).then(|| req.path.unwrap_or("").to_string());
            }
            Ok(httparse::Status::Partial) if head.len() < MAX_HEAD => continue,
            _ => break None,
        }
    };
    let response = match path.as_deref().map(|p| p.split('?').next().unwrap_or(p)) {
        Some("/metrics") => {
            let body = exposition.text();
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        _ => "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 26\r\nConnection: close\r\n\r\nonly GET /metrics is here\n"
            .to_string(),
    };
    conn.write_all(response.as_bytes()).await?;
    conn.shutdown().await
}
