//! A hostile server for the fault tests: each mode misbehaves in one way.
//! Every connection gets a thread that stops when the client goes away or
//! after 30 s, whichever comes first.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// Reads the request, never answers.
    Silent,
    /// Headers promising 1000 bytes, 10 of them, then nothing.
    StalledBody,
    /// A chunked body that never ends, as fast as the client reads.
    EndlessChunked,
    /// `Content-Length: 2 GiB`, streamed as fast as the client reads.
    HugeLength,
    /// A valid response, one byte every 100 ms.
    Slowloris,
    /// 100 KB of headers.
    BigHeaders,
    /// 10,000 `100 Continue` responses, then `200 OK`.
    Continues,
    /// A 50 MB TCP reply without a newline, then close.
    TcpFlood,
}

/// A running hostile server.
pub struct Hostile {
    pub addr: SocketAddr,
    /// Connections accepted.
    pub connections: Arc<AtomicU64>,
}

impl Hostile {
    pub fn start(mode: Mode) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicU64::new(0));
        let count = Arc::clone(&connections);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                count.fetch_add(1, Ordering::Relaxed);
                std::thread::spawn(move || {
                    let _ = serve(mode, conn);
                });
            }
        });
        Hostile { addr, connections }
    }

    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
}

const LIMIT: Duration = Duration::from_secs(30);

fn serve(mode: Mode, mut conn: TcpStream) -> std::io::Result<()> {
    let began = Instant::now();
    conn.set_read_timeout(Some(LIMIT))?;
    conn.set_write_timeout(Some(LIMIT))?;
    // The request (or the TCP step's payload): whatever arrives first.
    let mut buf = [0u8; 4096];
    let _ = conn.read(&mut buf)?;
    let forever = |conn: &mut TcpStream, chunk: &[u8]| -> std::io::Result<()> {
        while began.elapsed() < LIMIT {
            conn.write_all(chunk)?;
        }
        Ok(())
    };
    match mode {
        Mode::Silent => {
            // Hold the connection until the client closes it.
            while conn.read(&mut buf)? > 0 {}
        }
        Mode::StalledBody => {
            conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")?;
            while conn.read(&mut buf)? > 0 {}
        }
        Mode::EndlessChunked => {
            conn.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")?;
            let mut chunk = b"4000\r\n".to_vec();
            chunk.extend(std::iter::repeat_n(b'x', 0x4000));
            chunk.extend_from_slice(b"\r\n");
            forever(&mut conn, &chunk)?;
        }
        Mode::HugeLength => {
            conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2147483648\r\n\r\n")?;
            forever(&mut conn, &[b'x'; 64 * 1024])?;
        }
        Mode::Slowloris => {
            for b in b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" {
                conn.write_all(&[*b])?;
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Mode::BigHeaders => {
            let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
            // 50 headers of 2 KB: past the 64 KiB head limit, under 100 headers.
            let line = format!("X-Padding: {}\r\n", "a".repeat(2000));
            while head.len() < 100_000 {
                head.extend_from_slice(line.as_bytes());
            }
            head.extend_from_slice(b"Content-Length: 0\r\n\r\n");
            conn.write_all(&head)?;
        }
        Mode::Continues => {
            let one = b"HTTP/1.1 100 Continue\r\n\r\n";
            let mut all = Vec::with_capacity(one.len() * 10_000);
            for _ in 0..10_000 {
                all.extend_from_slice(one);
            }
            all.extend_from_slice(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
            );
            conn.write_all(&all)?;
        }
        Mode::TcpFlood => {
            let chunk = [b'x'; 64 * 1024];
            for _ in 0..(50 << 20) / chunk.len() {
                conn.write_all(&chunk)?;
            }
        }
    }
    Ok(())
}
