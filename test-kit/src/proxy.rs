//! A forward HTTP proxy in test code, as corporate proxies behave: a
//! `CONNECT host:port` is answered `200` and tunnelled (HTTPS through the
//! proxy); a request in absolute form (`GET http://host:port/path`) opens a
//! connection to that origin and relays both ways from then on (the origin
//! sees the absolute-form request lines, which RFC 9112 has servers
//! accept). With `auth`, a request without `Proxy-Authorization: Basic`
//! of it is answered 407. It counts connections, CONNECTs and refusals.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
struct Counts {
    connections: AtomicU64,
    connects: AtomicU64,
    refused: AtomicU64,
}

pub struct Proxy {
    pub addr: SocketAddr,
    counts: Arc<Counts>,
}

impl Proxy {
    /// `auth`: the `user:password` a client must present.
    pub fn start(auth: Option<&str>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let counts = Arc::new(Counts::default());
        let shared = Arc::clone(&counts);
        let want = auth.map(|a| {
            use base64::Engine;
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(a)
            )
        });
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let counts = Arc::clone(&shared);
                let want = want.clone();
                std::thread::spawn(move || relay(client, &counts, want.as_deref()));
            }
        });
        Proxy { addr, counts }
    }

    /// Client connections accepted.
    pub fn connections(&self) -> u64 {
        self.counts.connections.load(Ordering::SeqCst)
    }

    /// CONNECT tunnels opened.
    pub fn connects(&self) -> u64 {
        self.counts.connects.load(Ordering::SeqCst)
    }

    /// Requests answered 407 (no or wrong credentials).
    pub fn refused(&self) -> u64 {
        self.counts.refused.load(Ordering::SeqCst)
    }
}

fn relay(client: TcpStream, counts: &Counts, want: Option<&str>) {
    counts.connections.fetch_add(1, Ordering::SeqCst);
    let mut reader = BufReader::new(client.try_clone().unwrap());
    // The first request's head: where to go, and the credentials.
    let mut head = Vec::new();
    let mut auth = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("proxy-authorization")
        {
            auth = Some(v.trim().to_string());
        }
        let end = line == "\r\n";
        head.push(line);
        if end {
            break;
        }
    }
    let mut writer = client;
    if want.is_some() && auth.as_deref() != want {
        counts.refused.fetch_add(1, Ordering::SeqCst);
        let _ = writer.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        return;
    }
    let mut parts = head[0].split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let connect = method == "CONNECT";
    let authority = if connect {
        target.to_string()
    } else {
        let rest = target.split_once("://").map_or(target, |(_, r)| r);
        rest.split('/').next().unwrap_or("").to_string()
    };
    let Ok(mut origin) = TcpStream::connect(&authority) else {
        let _ = writer.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    if connect {
        counts.connects.fetch_add(1, Ordering::SeqCst);
        let _ = writer.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n");
    } else {
        // The head as it came, minus the credentials meant for the proxy.
        for line in &head {
            if !line
                .to_ascii_lowercase()
                .starts_with("proxy-authorization:")
            {
                let _ = origin.write_all(line.as_bytes());
            }
        }
    }
    // What the reader buffered past the head goes first.
    let buffered = reader.buffer().to_vec();
    let _ = origin.write_all(&buffered);
    let mut back = origin.try_clone().unwrap();
    let mut client_in = reader.into_inner();
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_in, &mut origin);
        let _ = origin.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut back, &mut writer);
    let _ = writer.shutdown(std::net::Shutdown::Both);
    let _ = up.join();
}
