//! An HTTP/2 server in test code (`h2`'s server side, plain TCP: h2c with
//! prior knowledge) that counts what it saw: connections, and requests per
//! connection. Routes: `/reset` → the stream is reset (RST_STREAM,
//! INTERNAL_ERROR); `/hang` → never answered (the stream stays open);
//! anything else → 200 "hello h2". With `goaway_after`,
//! each connection says GOAWAY after that many requests (graceful: what it
//! began it finishes), as servers do when they recycle connections.

use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Seen {
    /// Requests answered (or reset) per connection, in accept order.
    per_connection: Vec<u64>,
    resets: u64,
}

pub struct H2Server {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
}

impl H2Server {
    /// Serves on a port of 127.0.0.1 until the test process ends.
    pub fn start(goaway_after: Option<u64>) -> H2Server {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Arc::clone(&seen);
        let addr = crate::serve_tokio(move |listener| async move {
            let local = tokio::task::LocalSet::new();
            local
                .run_until(async move {
                    while let Ok((socket, _)) = listener.accept().await {
                        let seen = Arc::clone(&shared);
                        tokio::task::spawn_local(serve(socket, seen, goaway_after));
                    }
                })
                .await;
        });
        H2Server { addr, seen }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.seen.lock().unwrap().per_connection.len()
    }

    /// Requests received, over all connections.
    pub fn requests(&self) -> u64 {
        self.seen.lock().unwrap().per_connection.iter().sum()
    }

    /// The most requests any one connection carried.
    pub fn most_on_one_connection(&self) -> u64 {
        let seen = self.seen.lock().unwrap();
        seen.per_connection.iter().copied().max().unwrap_or(0)
    }

    /// Streams the server reset.
    pub fn resets(&self) -> u64 {
        self.seen.lock().unwrap().resets
    }
}

async fn serve(socket: tokio::net::TcpStream, seen: Arc<Mutex<Seen>>, goaway_after: Option<u64>) {
    let index = {
        let mut s = seen.lock().unwrap();
        s.per_connection.push(0);
        s.per_connection.len() - 1
    };
    let Ok(mut conn) = h2::server::handshake(socket).await else {
        return;
    };
    let mut served = 0u64;
    let mut hung = Vec::new();
    while let Some(Ok((request, mut respond))) = conn.accept().await {
        served += 1;
        seen.lock().unwrap().per_connection[index] += 1;
        if request.uri().path() == "/reset" {
            seen.lock().unwrap().resets += 1;
            respond.send_reset(h2::Reason::INTERNAL_ERROR);
        } else if request.uri().path() == "/hang" {
            // Kept, unanswered, for the connection's life.
            hung.push(respond);
        } else {
            let response = http::Response::builder().status(200).body(()).unwrap();
            if let Ok(mut body) = respond.send_response(response, false) {
                let _ = body.send_data(Bytes::from_static(b"hello h2\n"), true);
            }
        }
        if goaway_after.is_some_and(|n| served >= n) {
            conn.graceful_shutdown();
        }
    }
}
