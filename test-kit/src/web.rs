//! A small HTTP/1.1 server for the TLS and client-behaviour tests, over TLS
//! (rustls) or plain TCP, that counts what it saw: connections, handshakes
//! (full and resumed), SNI, versions, client certificates, requests by path
//! and the cookies each connection sent. Certificates come from the host's
//! loopback `Ca` (rcgen).
//!
//! Routes: `/` → 200 "hello"; `/close` → 200 with `Connection: close`;
//! `/redirect/N` → 302 to `/redirect/N-1`, `/redirect/0` → 200 "arrived";
//! `/loop` → 302 to itself; `/login` → 200 with `Set-Cookie: session=<n>`
//! (unique per response); `/whoami` → 200, echoing the Cookie header;
//! `/gzip`, `/br`, `/zstd` → an encoded body (whatever the request
//! accepts); `/echo` → the request body; `/upload` → "stored", keeping the
//! body and its Content-Type; `/head/…` → the request's head as
//! it arrived (request line and headers); `/cookies` → three cookies, two
//! for `/` and one for `/head`; `/digest` → 401 with a Digest challenge
//! (SHA-256) unless the request answers it for ada/secret.

use rustls::server::WebPkiClientVerifier;
use rustls::{HandshakeKind, ServerConfig, ServerConnection, StreamOwned};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The test certificate authority and its leaves: the host's own
/// (`serve` makes its CA with it too).
pub use scheduler_host::loopback::{Ca, Leaf};

/// How the server speaks.
pub struct Options<'a> {
    pub leaf: &'a Leaf,
    /// Only TLS 1.2 (default: 1.2 and 1.3).
    pub tls12_only: bool,
    /// Require a client certificate signed by this CA.
    pub client_ca: Option<&'a Ca>,
}

impl<'a> Options<'a> {
    /// TLS 1.2 and 1.3, no client certificate asked for.
    pub fn new(leaf: &'a Leaf) -> Self {
        Options {
            leaf,
            tls12_only: false,
            client_ca: None,
        }
    }
}

/// An HTTPS server with a certificate for `names` from a fresh CA, and a
/// scratch directory `dir` holding that CA as `ca.pem`.
pub fn trusted(names: &[&str], dir: &str) -> (Web, std::path::PathBuf) {
    let ca = Ca::new("test CA").unwrap();
    let web = Web::tls(Options::new(&ca.leaf(names, false).unwrap()));
    let dir = super::host::scratch(dir);
    write(&dir, "ca.pem", &ca.pem);
    (web, dir)
}

/// What the server saw.
#[derive(Default)]
pub struct Seen {
    pub connections: AtomicU64,
    /// Completed handshakes, and those that resumed a session.
    pub handshakes: AtomicU64,
    pub resumed: AtomicU64,
    /// Handshakes that failed (the client rejected us, or we it).
    pub failed_handshakes: AtomicU64,
    pub client_certs: AtomicU64,
    pub sni: Mutex<Vec<Option<String>>>,
    /// The ALPN protocol each handshake agreed on.
    pub alpn: Mutex<Vec<Option<String>>>,
    pub versions: Mutex<BTreeMap<String, u64>>,
    pub paths: Mutex<BTreeMap<String, u64>>,
    /// (session set on this connection, Cookie header of a /whoami on it).
    pub whoami: Mutex<Vec<(Option<String>, Option<String>)>>,
    /// Authorization headers received.
    pub authorization: Mutex<Vec<String>>,
    /// Each `/upload`: its Content-Type header and body.
    pub uploads: Mutex<Vec<(Option<String>, Vec<u8>)>>,
    /// `/digest` requests whose Digest answer was right for ada/secret.
    pub digest_ok: AtomicU64,
    session: AtomicU64,
}

impl Seen {
    pub fn get(n: &AtomicU64) -> u64 {
        n.load(Ordering::SeqCst)
    }

    pub fn path(&self, p: &str) -> u64 {
        self.paths.lock().unwrap().get(p).copied().unwrap_or(0)
    }

    pub fn requests(&self) -> u64 {
        self.paths.lock().unwrap().values().sum()
    }
}

pub struct Web {
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
}

impl Web {
    /// An HTTPS server.
    pub fn tls(o: Options) -> Web {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = if o.tls12_only {
            &[&rustls::version::TLS12]
        } else {
            &[&rustls::version::TLS13, &rustls::version::TLS12]
        };
        let builder = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap();
        let builder = match o.client_ca {
            Some(ca) => builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder(Arc::new(ca.roots()))
                    .build()
                    .unwrap(),
            ),
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(o.leaf.chain(), o.leaf.key())
            .unwrap();
        // It speaks HTTP/1.1 only, so that is all it agrees to (the client
        // offers h2 too).
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self::start(Some(Arc::new(config)))
    }

    /// A plain HTTP server with the same routes and counts.
    pub fn plain() -> Web {
        Self::start(None)
    }

    fn start(tls: Option<Arc<ServerConfig>>) -> Web {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Seen::default());
        let s = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                s.connections.fetch_add(1, Ordering::SeqCst);
                let (s, tls) = (Arc::clone(&s), tls.clone());
                std::thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
                    let _ = conn.set_write_timeout(Some(Duration::from_secs(30)));
                    match tls {
                        Some(config) => {
                            let Some(stream) = handshake(config, conn, &s) else {
                                return;
                            };
                            let _ = serve(BufReader::new(stream), &s);
                        }
                        None => {
                            let _ = serve(BufReader::new(conn), &s);
                        }
                    }
                });
            }
        });
        Web { addr, seen }
    }
}

fn handshake(
    config: Arc<ServerConfig>,
    mut tcp: TcpStream,
    seen: &Seen,
) -> Option<StreamOwned<ServerConnection, TcpStream>> {
    let mut conn = ServerConnection::new(config).unwrap();
    while conn.is_handshaking() {
        if conn.complete_io(&mut tcp).is_err() {
            seen.failed_handshakes.fetch_add(1, Ordering::SeqCst);
            return None;
        }
    }
    seen.handshakes.fetch_add(1, Ordering::SeqCst);
    if conn.handshake_kind() == Some(HandshakeKind::Resumed) {
        seen.resumed.fetch_add(1, Ordering::SeqCst);
    }
    if conn.peer_certificates().is_some() {
        seen.client_certs.fetch_add(1, Ordering::SeqCst);
    }
    seen.sni
        .lock()
        .unwrap()
        .push(conn.server_name().map(str::to_string));
    seen.alpn.lock().unwrap().push(
        conn.alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
    );
    let version = format!("{:?}", conn.protocol_version().unwrap());
    *seen.versions.lock().unwrap().entry(version).or_default() += 1;
    Some(StreamOwned::new(conn, tcp))
}

fn serve<S: Read + Write>(mut r: BufReader<S>, seen: &Seen) -> std::io::Result<()> {
    // The session this connection's /login set (one user per connection).
    let mut session: Option<String> = None;
    loop {
        let mut head = Vec::new();
        loop {
            let mut line = Vec::new();
            if r.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            let end = line == b"\r\n";
            head.extend_from_slice(&line);
            if end {
                break;
            }
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        req.parse(&head).map_err(std::io::Error::other)?;
        let path = req.path.unwrap_or("/").to_string();
        let header = |name: &str| {
            req.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).into_owned())
        };
        let cookie = header("cookie");
        let length: usize = header("content-length").map_or(0, |l| l.parse().unwrap());
        let mut body = vec![0; length];
        r.read_exact(&mut body)?;
        *seen.paths.lock().unwrap().entry(route(&path)).or_default() += 1;
        let mut extra = String::new();
        let mut close = false;
        if let Some(auth) = header("authorization") {
            seen.authorization.lock().unwrap().push(auth);
        }
        let bare = path.split('?').next().unwrap_or("/");
        let (status, reply): (&str, Vec<u8>) = match bare {
            "/" => ("200 OK", b"hello".to_vec()),
            "/close" => {
                close = true;
                ("200 OK", b"bye".to_vec())
            }
            "/redirect/0" => ("200 OK", b"arrived".to_vec()),
            p if p.starts_with("/redirect/") => {
                let n: u32 = p["/redirect/".len()..].parse().unwrap();
                extra = format!("Location: /redirect/{}\r\n", n - 1);
                ("302 Found", Vec::new())
            }
            "/loop" => {
                extra = "Location: /loop\r\n".into();
                ("302 Found", Vec::new())
            }
            "/login" => {
                let n = seen.session.fetch_add(1, Ordering::SeqCst);
                let value = format!("s{n}");
                extra = format!("Set-Cookie: session={value}; Path=/\r\n");
                session = Some(value);
                ("200 OK", b"welcome".to_vec())
            }
            "/whoami" => {
                seen.whoami
                    .lock()
                    .unwrap()
                    .push((session.clone(), cookie.clone()));
                ("200 OK", cookie.unwrap_or_default().into_bytes())
            }
            "/gzip" => {
                let mut gz =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gz.write_all(b"a gzip-compressed greeting").unwrap();
                extra = "Content-Encoding: gzip\r\n".into();
                ("200 OK", gz.finish().unwrap())
            }
            "/br" => {
                let mut br = Vec::new();
                let text = b"a brotli-compressed greeting";
                brotli::BrotliCompress(&mut &text[..], &mut br, &Default::default()).unwrap();
                extra = "Content-Encoding: br\r\n".into();
                ("200 OK", br)
            }
            "/zstd" => {
                let text = b"a zstd-compressed greeting";
                let z = ruzstd::encoding::compress_to_vec(
                    &text[..],
                    ruzstd::encoding::CompressionLevel::Fastest,
                );
                extra = "Content-Encoding: zstd\r\n".into();
                ("200 OK", z)
            }
            "/cookies" => {
                extra = "Set-Cookie: z=1; Path=/\r\nSet-Cookie: deep=2; Path=/head\r\nSet-Cookie: a=3; Path=/\r\n".into();
                ("200 OK", Vec::new())
            }
            "/upload" => {
                seen.uploads
                    .lock()
                    .unwrap()
                    .push((header("content-type"), body));
                ("200 OK", b"stored".to_vec())
            }
            "/digest" => {
                let method = req.method.unwrap_or("GET");
                if header("authorization").is_some_and(|a| digest_ok(&a, method)) {
                    seen.digest_ok.fetch_add(1, Ordering::SeqCst);
                    ("200 OK", b"welcome, digest".to_vec())
                } else {
                    extra = "WWW-Authenticate: Basic realm=\"test\"\r\nWWW-Authenticate: Digest realm=\"test\", qop=\"auth\", algorithm=SHA-256, nonce=\"n0nce\", opaque=\"0paque\"\r\n".into();
                    ("401 Unauthorized", Vec::new())
                }
            }
            "/echo" => ("200 OK", body),
            p if p.starts_with("/head/") => ("200 OK", head.clone()),
            _ => ("404 Not Found", b"no such path".to_vec()),
        };
        let connection = if close { "Connection: close\r\n" } else { "" };
        let s = r.get_mut();
        write!(
            s,
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}{connection}\r\n",
            reply.len()
        )?;
        s.write_all(&reply)?;
        s.flush()?;
        if close {
            return Ok(());
        }
    }
}

/// The client's Digest answer, recomputed here for user `ada`, password
/// `secret` (RFC 7616: the server knows the password, so it can).
fn digest_ok(authorization: &str, method: &str) -> bool {
    let Ok(sent) = digest_auth::AuthorizationHeader::parse(authorization) else {
        return false;
    };
    let mut mine = sent.clone();
    let context = digest_auth::AuthContext::new_with_method(
        "ada",
        "secret",
        sent.uri.as_str(),
        None::<&[u8]>,
        digest_auth::HttpMethod(method.into()),
    );
    mine.digest(&context);
    sent.username == "ada" && mine.response == sent.response
}

/// Paths as counted: `/redirect/N` are one route.
fn route(path: &str) -> String {
    if path.starts_with("/redirect/") && path != "/redirect/0" {
        "/redirect/N".into()
    } else {
        path.to_string()
    }
}

/// Writes `name` into `dir`.
pub fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}
