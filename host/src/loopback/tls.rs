//! The loopback HTTP routes over TLS (rustls), with a certificate for
//! `localhost` and the listening address from a certificate authority made
//! at start: a scenario trusts it with `tls: {ca_file: …}` (its PEM is
//! `Https::ca_pem`), as it would a private CA.

use super::{Counters, http};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// The HTTPS server: where it listens, what it saw, the CA to trust.
pub struct Https {
    pub addr: SocketAddr,
    pub seen: Arc<Counters>,
    /// The certificate authority that signed the server's certificate (PEM).
    pub ca_pem: String,
}

pub fn serve(addr: SocketAddr, stop: Arc<AtomicBool>) -> io::Result<Https> {
    let (config, ca_pem) = config(addr).map_err(io::Error::other)?;
    let config = Arc::new(config);
    let seen = Arc::new(Counters::default());
    let handle = move |conn: TcpStream, seen: &Counters| {
        let peer = http::prepare(&conn)?;
        let tls = ServerConnection::new(Arc::clone(&config)).map_err(io::Error::other)?;
        http::connection(StreamOwned::new(tls, conn), peer, seen)
    };
    let addr = super::accept_loop(addr, Arc::clone(&seen), stop, Arc::new(handle))?;
    Ok(Https { addr, seen, ca_pem })
}

/// A CA, a leaf for `localhost` and `addr`'s IP signed by it, and the
/// server configuration (TLS 1.2 and 1.3, `http/1.1` by ALPN).
fn config(addr: SocketAddr) -> anyhow::Result<(ServerConfig, String)> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "scheduler-host serve CA");
    let ca = ca.self_signed(&ca_key)?;

    let key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()])?;
    leaf.subject_alt_names.push(SanType::IpAddress(addr.ip()));
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let leaf = leaf.signed_by(&key, &ca, &ca_key)?;

    let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((config, ca.pem()))
}
