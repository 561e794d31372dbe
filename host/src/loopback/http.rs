//! A small HTTP/1.1 server with keep-alive. Routes:
//! `/` and anything else → 200 "hello world\n" (Content-Length);
//! `/chunked` → the same body in chunks; `/status/N` → status N;
//! `/close` → 200 with `Connection: close`; `/silent-close` → 200, then
//! close without saying so; `/garbage` → non-HTTP bytes;
//! `/echo` → the request body; `/delay/MS` → 200 after MS milliseconds.

use super::Counters;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Longest request head accepted.
const MAX_HEAD: usize = 64 * 1024;

pub fn serve(
    addr: SocketAddr,
    seen: Arc<Counters>,
    stop: Arc<AtomicBool>,
) -> io::Result<SocketAddr> {
    super::accept_loop(addr, seen, stop, Arc::new(plain))
}

fn plain(conn: TcpStream, seen: &Counters) -> io::Result<()> {
    let peer = prepare(&conn)?;
    connection(conn, peer, seen)
}

/// Readies an accepted connection; returns the client's address.
pub fn prepare(conn: &TcpStream) -> io::Result<IpAddr> {
    conn.set_nodelay(true)?;
    // An idle client is dropped, like a real server's keep-alive timeout.
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    Ok(conn.peer_addr()?.ip())
}

/// Serves requests on `conn` (plain TCP or TLS) until the client closes.
pub fn connection(mut conn: impl Read + Write, peer: IpAddr, seen: &Counters) -> io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 16 * 1024];
    loop {
        // Read until one full request (head + Content-Length body) is buffered.
        let (head_len, method, path, body_len) = loop {
            if let Some(parsed) = parse(&buf)? {
                break parsed;
            }
            if buf.len() > MAX_HEAD {
                return Err(io::Error::other("request head too large"));
            }
            let n = conn.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        while buf.len() < head_len + body_len {
            let n = conn.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body: Vec<u8> = buf[head_len..head_len + body_len].to_vec();
        buf.drain(..head_len + body_len);
        seen.hit(peer);
        let mut out = Vec::with_capacity(256);
        let keep = respond(&mut out, &path, &body)?;
        if method == "HEAD" {
            // Same head, no body (RFC 9110 §9.3.2).
            let end = out
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(out.len(), |p| p + 4);
            out.truncate(end);
        }
        conn.write_all(&out)?;
        conn.flush()?;
        if !keep {
            return Ok(());
        }
    }
}

/// (head length, method, path, body length) once a whole head is buffered.
fn parse(buf: &[u8]) -> io::Result<Option<(usize, String, String, usize)>> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => {
            let body_len = req
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                .unwrap_or(0);
            Ok(Some((
                n,
                req.method.unwrap_or("GET").to_string(),
                req.path.unwrap_or("/").to_string(),
                body_len,
            )))
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(io::Error::other(e)),
    }
}

/// Writes the response; false when the connection must close.
fn respond(conn: &mut Vec<u8>, path: &str, body: &[u8]) -> io::Result<bool> {
    const HELLO: &str = "hello world\n";
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    match (parts.next().unwrap_or(""), parts.next()) {
        ("chunked", _) => {
            conn.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n")?;
            conn.write_all(b"6\r\nhello \r\n6;ext=1\r\nworld\n\r\n0\r\nX-Trailer: yes\r\n\r\n")?;
        }
        ("status", Some(code)) => {
            let code: u16 = code.parse().unwrap_or(400);
            write!(conn, "HTTP/1.1 {code} Status\r\nContent-Length: 0\r\n\r\n")?;
        }
        ("close", _) => {
            write!(
                conn,
                "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{HELLO}",
                HELLO.len()
            )?;
            return Ok(false);
        }
        ("silent-close", _) => {
            // Looks kept-alive, then closes: like a server's idle timeout.
            write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{HELLO}",
                HELLO.len()
            )?;
            return Ok(false);
        }
        ("garbage", _) => {
            conn.write_all(b"\x00\x01 this is not http \xff\r\n\r\n")?;
            return Ok(false);
        }
        ("echo", _) => {
            write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )?;
            conn.write_all(body)?;
        }
        ("delay", Some(ms)) => {
            std::thread::sleep(Duration::from_millis(
                ms.parse::<u64>().unwrap_or(0).min(10_000),
            ));
            write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{HELLO}",
                HELLO.len()
            )?;
        }
        _ => {
            write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{HELLO}",
                HELLO.len()
            )?;
        }
    }
    Ok(true)
}
