//! An HTTP/1.1 keep-alive server for load-shape tests that records, per
//! request, when it arrived (from the server's start), from which peer, and
//! what it was (method, path, headers, a Content-Length body); it answers
//! after a fixed delay, or holds every answer during stall windows (`stall`
//! of every `period`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Default)]
pub struct Behaviour {
    /// Every answer waits this long.
    pub delay: Duration,
    /// (stall, period): in the first `stall` of every `period` since the
    /// server started, answers wait until the stall ends.
    pub stall: Option<(Duration, Duration)>,
    /// The first this many requests are answered 500.
    pub fail_first: usize,
}

/// One request the server saw.
#[derive(Clone, Debug)]
pub struct Hit {
    pub at: Duration,
    pub peer: SocketAddr,
    pub method: String,
    pub path: String,
    /// (name in lower case, value), in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Hit {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct Timed {
    pub addr: SocketAddr,
    pub started: Instant,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Timed {
    pub fn start(b: Behaviour) -> Timed {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let started = Instant::now();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let h = Arc::clone(&hits);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let h = Arc::clone(&h);
                std::thread::spawn(move || serve(conn, b, started, h));
            }
        });
        Timed {
            addr,
            started,
            hits,
        }
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    pub fn count(&self, path: &str) -> usize {
        self.hits().iter().filter(|h| h.path == path).count()
    }
}

fn serve(conn: TcpStream, b: Behaviour, started: Instant, hits: Arc<Mutex<Vec<Hit>>>) {
    let peer = conn.peer_addr().unwrap();
    let mut out = conn.try_clone().unwrap();
    let mut r = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut words = line.split_whitespace();
        let method = words.next().unwrap_or("GET").to_string();
        let path = words.next().unwrap_or("/").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" || h == "\n" {
                break;
            }
            if let Some((name, value)) = h.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let at = started.elapsed();
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap_or(0));
        let mut body = vec![0; length];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let nth = {
            let mut h = hits.lock().unwrap();
            h.push(Hit {
                at,
                peer,
                method,
                path,
                headers,
                body,
            });
            h.len()
        };
        let mut wait = b.delay;
        if let Some((stall, period)) = b.stall {
            let into = Duration::from_nanos((at.as_nanos() % period.as_nanos()) as u64);
            if into < stall {
                wait = wait.max(stall - into);
            }
        }
        std::thread::sleep(wait);
        let answer: &[u8] = if nth <= b.fail_first {
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\nno"
        } else {
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        };
        if out.write_all(answer).is_err() {
            return;
        }
    }
}
