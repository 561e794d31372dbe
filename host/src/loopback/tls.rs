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

/// A certificate authority made now, and the leaves it signs: `serve`'s,
/// and the TLS tests' (test-kit's servers use this one).
pub struct Ca {
    key: KeyPair,
    cert: rcgen::Certificate,
    /// Its certificate (PEM), for a scenario's `tls: {ca_file: …}`.
    pub pem: String,
}

/// A leaf certificate and its key.
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Ca {
    pub fn new(name: &str) -> anyhow::Result<Ca> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key)?;
        let pem = cert.pem();
        Ok(Ca { key, cert, pem })
    }

    /// A certificate for `names` (DNS names; one that parses as an IP
    /// address becomes an IP SAN), valid now or, with `expired`, only in 2020.
    pub fn leaf(&self, names: &[&str], expired: bool) -> anyhow::Result<Leaf> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        for n in names {
            params.subject_alt_names.push(match n.parse() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*n).try_into()?),
            });
        }
        params
            .distinguished_name
            .push(DnType::CommonName, names.first().copied().unwrap_or("leaf"));
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = params.signed_by(&key, &self.cert, &self.key)?;
        Ok(Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
            key_der: key.serialize_der(),
        })
    }

    /// A root store holding only this CA.
    pub fn roots(&self) -> rustls::RootCertStore {
        let mut roots = rustls::RootCertStore::empty();
        // Its own freshly made certificate always parses.
        let _ = roots.add(self.cert.der().clone());
        roots
    }
}

impl Leaf {
    /// The chain a server presents: the leaf alone.
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        vec![self.der.clone()]
    }

    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

/// A CA, a leaf for `localhost` and `addr`'s IP signed by it, and the
/// server configuration (TLS 1.2 and 1.3, `http/1.1` by ALPN).
fn config(addr: SocketAddr) -> anyhow::Result<(ServerConfig, String)> {
    let ca = Ca::new("scheduler-host serve CA")?;
    let ip = addr.ip().to_string();
    let leaf = ca.leaf(&["localhost", &ip], false)?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(leaf.chain(), leaf.key())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((config, ca.pem))
}
