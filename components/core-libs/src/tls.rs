//! TLS over a core-libs TCP connection: rustls (sans-IO) pumped over the
//! connection's own non-blocking queue and reads; the blocking forms wait
//! on the connection with the call's deadline.

use crate::CoreLibs;
use crate::deadline::Deadline;
use crate::exports::scheduler::core_libs::tcp::ConnectionBorrow;
use crate::exports::scheduler::core_libs::tls::{
    Client, ClientBorrow, ClientConfig as Config, Guest, GuestClient, Session,
};
use crate::exports::scheduler::core_libs::types::{
    Duration, NetError, ProtocolVersion, TlsError, TlsReason,
};
use crate::stream::TcpConnection;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    AlertDescription, CertificateError, CipherSuite, ClientConnection, DigitallySignedStruct,
    Error, HandshakeKind, RootCertStore, SignatureScheme,
};
use std::io::{Read, Write};
use std::sync::Arc;

/// TLS records are at most 16 KiB plus overhead; read a little more.
const RECORD_READ: u32 = 18 * 1024;

/// One configuration and its session cache (rustls keeps resumption
/// tickets in the `ClientConfig`, so resumption works across the
/// connections of one client, and never across clients).
pub struct TlsClient {
    config: Arc<rustls::ClientConfig>,
    server_name: Option<String>,
    id: u64,
}

thread_local! {
    static NEXT_ID: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

impl GuestClient for TlsClient {
    fn create(config: Config) -> Result<Client, String> {
        let id = NEXT_ID.with(|n| {
            n.set(n.get() + 1);
            n.get()
        });
        Ok(Client::new(TlsClient {
            config: Arc::new(build(&config)?),
            server_name: config.server_name,
            id,
        }))
    }

    fn id(&self) -> u64 {
        self.id
    }

    fn share(&self) -> Client {
        Client::new(TlsClient {
            config: Arc::clone(&self.config),
            server_name: self.server_name.clone(),
            id: self.id,
        })
    }
}

/// ring's provider with ChaCha20-Poly1305 offered first: wasm has no AES
/// instructions, and ring's constant-time software AES is slower there
/// than ChaCha20 (BoringSSL orders them so on hardware without AES). A
/// server that insists on its own order still gets AES-GCM.
fn provider() -> CryptoProvider {
    let mut p = ring::default_provider();
    p.cipher_suites.sort_by_key(|s| {
        !matches!(
            s.suite(),
            CipherSuite::TLS13_CHACHA20_POLY1305_SHA256
                | CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
                | CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        )
    });
    p
}

fn build(c: &Config) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(provider());
    let mut versions = Vec::new();
    if c.versions.is_empty() || c.versions.contains(&ProtocolVersion::Tls13) {
        versions.push(&rustls::version::TLS13);
    }
    if c.versions.is_empty() || c.versions.contains(&ProtocolVersion::Tls12) {
        versions.push(&rustls::version::TLS12);
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| format!("versions: {e}"))?;
    let builder = if c.skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
    } else {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(pem) = &c.extra_roots_pem {
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| format!("ca_file: {e}"))?;
                roots.add(cert).map_err(|e| format!("ca_file: {e}"))?;
                added += 1;
            }
            if added == 0 {
                return Err("ca_file: no PEM certificate in it".into());
            }
        }
        builder.with_root_certificates(roots)
    };
    match (&c.client_cert_pem, &c.client_key_pem) {
        (None, None) => Ok(builder.with_no_client_auth()),
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("client_cert: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("client_key: {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("client_cert/client_key: {e}"))
        }
        _ => Err("client_cert and client_key go together".into()),
    }
}

impl Guest for CoreLibs {
    type Client = TlsClient;

    fn handshake(
        conn: ConnectionBorrow<'_>,
        client: ClientBorrow<'_>,
        host: String,
        alpn: Vec<String>,
        timeout: Duration,
    ) -> Result<Session, NetError> {
        let deadline = Deadline::after(timeout);
        let conn: &TcpConnection = conn.get();
        begin(conn, client.get(), &host, alpn)?;
        loop {
            if let Some(session) = step(conn)? {
                return Ok(session);
            }
            conn.wait(&deadline)?;
        }
    }

    fn start_handshake(
        conn: ConnectionBorrow<'_>,
        client: ClientBorrow<'_>,
        host: String,
        alpn: Vec<String>,
    ) -> Result<(), NetError> {
        begin(conn.get(), client.get(), &host, alpn)
    }

    fn handshake_step(conn: ConnectionBorrow<'_>) -> Result<Option<Session>, NetError> {
        step(conn.get())
    }
}

/// Makes `conn` a TLS connection in its handshake, for `host` (or the
/// client's `server-name`), offering `alpn`.
fn begin(
    conn: &TcpConnection,
    client: &TlsClient,
    host: &str,
    alpn: Vec<String>,
) -> Result<(), NetError> {
    let name = client.server_name.as_deref().unwrap_or(host);
    let name = ServerName::try_from(name.trim_start_matches('[').trim_end_matches(']'))
        .map_err(|e| NetError::InvalidArgument(format!("TLS server name {name:?}: {e}")))?
        .to_owned();
    let alpn = alpn.into_iter().map(String::into_bytes).collect();
    let mut tls = ClientConnection::new_with_alpn(Arc::clone(&client.config), name, alpn)
        .map_err(tls_error)?;
    // Every write is taken whole and queued (the contract's `send` never
    // refuses bytes); the socket's own permit paces them.
    tls.set_buffer_limit(None);
    *conn.tls.borrow_mut() = Some(Box::new(tls));
    Ok(())
}

/// Drives the handshake as far as it goes without waiting.
fn step(conn: &TcpConnection) -> Result<Option<Session>, NetError> {
    let mut slot = conn.tls.borrow_mut();
    let Some(tls) = slot.as_deref_mut() else {
        return Err(NetError::InvalidArgument(
            "handshake-step on a connection without start-handshake".into(),
        ));
    };
    loop {
        flush(conn, tls)?;
        if !tls.is_handshaking() {
            // TLS 1.3's client Finished may still be queued: it goes out
            // ahead of the first request's bytes.
            return Ok(Some(Session {
                version: match tls.protocol_version() {
                    Some(rustls::ProtocolVersion::TLSv1_2) => ProtocolVersion::Tls12,
                    _ => ProtocolVersion::Tls13,
                },
                alpn: tls
                    .alpn_protocol()
                    .map(|p| String::from_utf8_lossy(p).into_owned()),
                resumed: matches!(tls.handshake_kind(), Some(HandshakeKind::Resumed)),
            }));
        }
        if !tls.wants_read() || !pull(conn, tls)? {
            return Ok(None);
        }
    }
}

/// Encrypts `data` and queues the records (never refuses bytes).
pub fn send(conn: &TcpConnection, tls: &mut ClientConnection, data: &[u8]) -> Result<(), NetError> {
    tls.writer()
        .write_all(data)
        .map_err(|e| NetError::Other(format!("TLS write: {e}")))?;
    flush(conn, tls).map(drop)
}

/// Up to `max` bytes of plaintext if any have arrived; empty at EOF (with
/// or without the peer's close_notify: HTTP bodies delimited by close are
/// often ended without one); none if nothing has arrived yet.
pub fn try_read(
    conn: &TcpConnection,
    tls: &mut ClientConnection,
    max: u32,
) -> Result<Option<Vec<u8>>, NetError> {
    loop {
        // Sized to the plaintext rustls holds, not to `max`: most responses
        // are far smaller than a read's limit.
        let ready = tls
            .process_new_packets()
            .map_err(tls_error)?
            .plaintext_bytes_to_read();
        let mut buf = vec![0; ready.clamp(1, max.max(1) as usize)];
        match tls.reader().read(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if !pull(conn, tls)? {
                    flush(conn, tls)?;
                    return Ok(None);
                }
                // Post-handshake messages (key updates) may need an answer.
                flush(conn, tls)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(Some(Vec::new())),
            Err(e) => return Err(NetError::Other(format!("TLS read: {e}"))),
        }
    }
}

/// Queues whatever records rustls has and hands the socket what it takes;
/// true once nothing is queued.
pub fn flush(conn: &TcpConnection, tls: &mut ClientConnection) -> Result<bool, NetError> {
    if tls.wants_write() {
        let mut queued = conn.queued.borrow_mut();
        while tls.wants_write() {
            tls.write_tls(&mut *queued)
                .map_err(|e| NetError::Other(format!("TLS: {e}")))?;
        }
    }
    conn.try_flush()
}

/// Feeds rustls what has arrived and processes it; false when nothing has
/// arrived yet. At EOF, tells rustls (the reader then reports it), or fails
/// a handshake. A TLS error is sent to the peer as an alert first.
fn pull(conn: &TcpConnection, tls: &mut ClientConnection) -> Result<bool, NetError> {
    let held = std::mem::take(&mut *conn.unread.borrow_mut());
    let bytes = if held.is_empty() {
        match conn.try_receive(RECORD_READ)? {
            Some(bytes) => bytes,
            None => return Ok(false),
        }
    } else {
        held
    };
    if bytes.is_empty() {
        if tls.is_handshaking() {
            return Err(NetError::Tls(TlsError {
                reason: TlsReason::HandshakeFailure,
                message: "the server closed the connection during the handshake".into(),
            }));
        }
        let _ = tls.read_tls(&mut &[][..]);
        return Ok(true);
    }
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        if let Err(e) = tls.read_tls(&mut rest) {
            // rustls holds as much plaintext as it will (a fast sender's
            // records): the rest waits until the reader has taken some.
            if tls
                .process_new_packets()
                .map_err(tls_error)?
                .plaintext_bytes_to_read()
                > 0
            {
                conn.unread.borrow_mut().extend_from_slice(rest);
                return Ok(true);
            }
            return Err(NetError::Other(format!("TLS: {e}")));
        }
        if let Err(e) = tls.process_new_packets() {
            let _ = flush(conn, tls);
            return Err(tls_error(e));
        }
    }
    Ok(true)
}

/// A rustls error in the terms a user fixes it by.
fn tls_error(e: Error) -> NetError {
    use AlertDescription as A;
    use CertificateError as C;
    let reason = match &e {
        Error::InvalidCertificate(C::UnknownIssuer) => TlsReason::UnknownIssuer,
        Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            TlsReason::NameMismatch
        }
        Error::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        ) => TlsReason::Expired,
        Error::PeerIncompatible(_) | Error::AlertReceived(A::ProtocolVersion) => {
            TlsReason::ProtocolVersion
        }
        Error::AlertReceived(
            A::CertificateRequired | A::BadCertificate | A::UnknownCA | A::CertificateUnknown,
        ) => TlsReason::ClientCertificate,
        _ => TlsReason::HandshakeFailure,
    };
    NetError::Tls(TlsError {
        reason,
        message: e.to_string(),
    })
}

/// `insecure_skip_verify`: any certificate for any name is accepted, but
/// the handshake's signatures are still checked (the connection is
/// encrypted, just not authenticated).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
