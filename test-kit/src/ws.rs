//! A WebSocket server in test code (tokio-tungstenite on a current-thread
//! runtime), plain or TLS, that counts what it saw: upgrades, data
//! messages received, pings, close frames by code, `Authorization`
//! headers and the callers' source addresses.
//!
//! Behaviour by path:
//! - `/chat?room=R`: sends `{"type":"welcome","room":"R"}` first, then as
//!   `/echo`.
//! - `/echo`: echoes each data message; the text `burst N` is answered by
//!   N messages `tick 1` … `tick N` instead.
//! - `/silent`: upgrades, then never reads or answers (held for 30 s).
//! - `/huge`: answers the first message with one of 16 MiB.
//! - `/drop`: drops the connection (no close frame) at the first message.
//! - `/badtext`: answers the first message with a text frame that is not
//!   UTF-8 (then reads on, to count the client's close).
//! - `/reject`: closes with 1011 (internal error) at the first message.

use futures_util::{SinkExt, StreamExt};
use scheduler_host::loopback::Ca;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};

/// What the server saw.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// Upgrades that succeeded.
    pub upgrades: u64,
    /// Data messages (text and binary) received.
    pub messages: u64,
    pub binary: u64,
    pub pings: u64,
    /// Close frames received from clients, by code.
    pub closes: BTreeMap<u16, u64>,
    /// `Authorization` header values, with counts.
    pub authorizations: BTreeMap<String, u64>,
    /// The subprotocols clients offered (as sent).
    pub offered: BTreeMap<String, u64>,
    pub sources: BTreeMap<IpAddr, u64>,
    /// Upgrades by request target (path and query).
    pub paths: BTreeMap<String, u64>,
}

pub struct WsServer {
    pub addr: SocketAddr,
    /// With TLS: the CA (PEM) its certificate (for 127.0.0.1) chains to.
    pub ca_pem: Option<String>,
    seen: Arc<Mutex<Seen>>,
}

impl WsServer {
    /// Serves on a port of 127.0.0.1 until the test process ends.
    pub fn start(tls: bool) -> WsServer {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Arc::clone(&seen);
        let (ca_pem, acceptor) = match tls {
            false => (None, None),
            true => {
                let ca = Ca::new("ws test CA").unwrap();
                let leaf = ca.leaf(&["127.0.0.1"], false).unwrap();
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let mut config = rustls::ServerConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .unwrap()
                    .with_no_client_auth()
                    .with_single_cert(leaf.chain(), leaf.key())
                    .unwrap();
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
                (Some(ca.pem.clone()), Some(acceptor))
            }
        };
        let addr = crate::serve_tokio(move |listener| async move {
            loop {
                let Ok((tcp, peer)) = listener.accept().await else {
                    continue;
                };
                // Replies go out at once (no Nagle delay in the round trips).
                let _ = tcp.set_nodelay(true);
                let seen = Arc::clone(&shared);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let serve = async {
                        match acceptor {
                            None => session(tcp, peer.ip(), seen).await,
                            Some(a) => {
                                if let Ok(tls) = a.accept(tcp).await {
                                    session(tls, peer.ip(), seen).await;
                                }
                            }
                        }
                    };
                    let _ = tokio::time::timeout(Duration::from_secs(30), serve).await;
                });
            }
        });
        WsServer { addr, ca_pem, seen }
    }

    pub fn seen(&self) -> Seen {
        self.seen.lock().unwrap().clone()
    }
}

/// One connection: the upgrade (noting its headers), then the path's
/// behaviour.
async fn session<S>(stream: S, ip: IpAddr, seen: Arc<Mutex<Seen>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut path = String::new();
    let noted = Arc::clone(&seen);
    // The error type is tungstenite's (`Callback`), not ours to box.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, mut resp: Response| {
        path = req.uri().to_string();
        let mut seen = noted.lock().unwrap();
        if let Some(a) = req.headers().get("authorization") {
            let a = a.to_str().unwrap_or("?").to_string();
            *seen.authorizations.entry(a).or_default() += 1;
        }
        if let Some(p) = req.headers().get("sec-websocket-protocol") {
            let offered = p.to_str().unwrap_or("?").to_string();
            *seen.offered.entry(offered.clone()).or_default() += 1;
            // Picks the first one offered.
            let first = offered.split(',').next().unwrap_or("").trim().to_string();
            resp.headers_mut().insert(
                "sec-websocket-protocol",
                HeaderValue::from_str(&first).unwrap(),
            );
        }
        Ok(resp)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    {
        let mut s = seen.lock().unwrap();
        s.upgrades += 1;
        *s.sources.entry(ip).or_default() += 1;
        *s.paths.entry(path.clone()).or_default() += 1;
    }
    let (route, query) = path.split_once('?').unwrap_or((path.as_str(), ""));
    match route {
        "/silent" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        "/chat" => {
            let room = query.strip_prefix("room=").unwrap_or("none");
            let hello = format!(r#"{{"type":"welcome","room":"{room}"}}"#);
            if ws.send(Message::text(hello)).await.is_err() {
                return;
            }
        }
        _ => {}
    }
    while let Some(Ok(msg)) = ws.next().await {
        let reply = match msg {
            Message::Text(t) => {
                seen.lock().unwrap().messages += 1;
                if let Some(n) = t.as_str().strip_prefix("burst ") {
                    let n: u32 = n.trim().parse().unwrap_or(0);
                    for i in 1..=n {
                        if ws.feed(Message::text(format!("tick {i}"))).await.is_err() {
                            return;
                        }
                    }
                    if ws.flush().await.is_err() {
                        return;
                    }
                    continue;
                }
                Message::Text(t)
            }
            Message::Binary(b) => {
                let mut s = seen.lock().unwrap();
                s.messages += 1;
                s.binary += 1;
                Message::Binary(b)
            }
            Message::Ping(_) => {
                // tungstenite queues the pong itself.
                seen.lock().unwrap().pings += 1;
                continue;
            }
            Message::Close(frame) => {
                let code = frame.map_or(1005, |f| u16::from(f.code));
                *seen.lock().unwrap().closes.entry(code).or_default() += 1;
                // The reply goes out as the stream drives the close.
                continue;
            }
            _ => continue,
        };
        match route {
            "/huge" => {
                let big = vec![b'x'; 16 << 20];
                let _ = ws.send(Message::binary(big)).await;
            }
            // Dropped without a close frame.
            "/drop" => return,
            "/badtext" => {
                let text = OpCode::Data(Data::Text);
                let bad = Frame::message(vec![0xff, 0xfe, 0x41], text, true);
                if ws.send(Message::Frame(bad)).await.is_err() {
                    return;
                }
            }
            "/reject" => {
                let frame = CloseFrame {
                    code: CloseCode::Error,
                    reason: "going wrong".into(),
                };
                let _ = ws.close(Some(frame)).await;
                return;
            }
            _ => {
                if ws.send(reply).await.is_err() {
                    return;
                }
            }
        }
    }
}
