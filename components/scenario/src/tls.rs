//! TLS settings as a scenario writes them (scenario-level `tls:`, a step's
//! `params.tls` over it), the distinct configurations steps use, and the
//! files they name: read by whoever has a filesystem (scheduler-host, or
//! the component in plain mode through a preopened `--dir`), checked here.

use crate::error::ScenarioError;
pub use contract::TlsVersion;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

/// A `tls:` block as written; every field optional so a step's block can
/// override only what it names.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsBlock {
    #[serde(default)]
    pub ca_file: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: Option<bool>,
    #[serde(default)]
    pub server_name: Option<String>,
    #[serde(default)]
    pub client_cert: Option<String>,
    #[serde(default)]
    pub client_key: Option<String>,
    #[serde(default)]
    pub versions: Option<Vec<TlsVersion>>,
}

/// A tcp step's `tls`: `true` (the scenario's settings) or its own block.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum TcpTls {
    On(bool),
    Block(TlsBlock),
}

/// One resolved configuration: what a TLS client is built from.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TlsConfig {
    pub ca_file: Option<String>,
    pub insecure_skip_verify: bool,
    pub server_name: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    /// Never empty: both versions unless the scenario narrows it.
    pub versions: Vec<TlsVersion>,
}

impl TlsConfig {
    /// The scenario's block with the step's block over it; `at` names the
    /// step's block for errors.
    pub fn merge(
        scenario: Option<&TlsBlock>,
        step: Option<&TlsBlock>,
        at: &str,
    ) -> Result<TlsConfig, ScenarioError> {
        let pick = |f: fn(&TlsBlock) -> &Option<String>| {
            step.and_then(|b| f(b).clone())
                .or_else(|| scenario.and_then(|b| f(b).clone()))
        };
        let versions = step
            .and_then(|b| b.versions.clone())
            .or_else(|| scenario.and_then(|b| b.versions.clone()));
        let mut versions = versions.unwrap_or_else(|| vec![TlsVersion::Tls12, TlsVersion::Tls13]);
        versions.sort();
        versions.dedup();
        let config = TlsConfig {
            ca_file: pick(|b| &b.ca_file),
            insecure_skip_verify: step
                .and_then(|b| b.insecure_skip_verify)
                .or_else(|| scenario.and_then(|b| b.insecure_skip_verify))
                .unwrap_or(false),
            server_name: pick(|b| &b.server_name),
            client_cert: pick(|b| &b.client_cert),
            client_key: pick(|b| &b.client_key),
            versions,
        };
        if config.versions.is_empty() {
            return Err(field(
                format!("{at}.versions"),
                "must name tls1.2, tls1.3 or both",
            ));
        }
        if config.client_cert.is_some() != config.client_key.is_some() {
            return Err(field(at, "client_cert and client_key go together"));
        }
        if let Some(name) = config
            .server_name
            .as_ref()
            .filter(|n| n.is_empty() || n.contains(['/', ' ']))
        {
            return Err(field(
                format!("{at}.server_name"),
                format!("{name:?} is not a host name"),
            ));
        }
        Ok(config)
    }

    /// The files this configuration reads, as written.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        [&self.ca_file, &self.client_cert, &self.client_key]
            .into_iter()
            .filter_map(|f| f.as_deref())
    }
}

fn field(at: impl Into<String>, message: impl Into<String>) -> ScenarioError {
    ScenarioError::Field {
        field: at.into(),
        message: message.into(),
    }
}

/// What a TLS client is built from: a configuration with its files' bytes.
#[derive(Clone, Debug, Default)]
pub struct TlsMaterial {
    pub config: TlsConfig,
    pub ca_pem: Option<Vec<u8>>,
    pub client_cert_pem: Option<Vec<u8>>,
    pub client_key_pem: Option<Vec<u8>>,
}

impl TlsMaterial {
    /// Each file holds what its field needs: PEM certificates for
    /// `ca_file`/`client_cert`, a PEM private key for `client_key`.
    pub fn check(&self) -> Result<(), FileError> {
        let c = &self.config;
        for (path, bytes, what) in [
            (&c.ca_file, &self.ca_pem, Pem::Certificates("ca_file")),
            (
                &c.client_cert,
                &self.client_cert_pem,
                Pem::Certificates("client_cert"),
            ),
            (&c.client_key, &self.client_key_pem, Pem::Key),
        ] {
            if let (Some(path), Some(bytes)) = (path, bytes) {
                what.check(bytes).map_err(|message| FileError {
                    path: path.clone(),
                    message,
                })?;
            }
        }
        Ok(())
    }
}

/// Why a file the scenario names cannot be used (exit 2 naming it).
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{path}: {message}")]
pub struct FileError {
    pub path: String,
    pub message: String,
}

/// Builds each configuration's material, reading its files with `read`
/// (the path as written → bytes). Checking them is `TlsMaterial::check`'s,
/// done once where the files are first read, not in every user's `init`.
pub fn load(
    configs: &[TlsConfig],
    read: &mut dyn FnMut(&str) -> Result<Vec<u8>, String>,
) -> Result<Vec<TlsMaterial>, FileError> {
    let mut fetch = |path: &Option<String>| -> Result<Option<Vec<u8>>, FileError> {
        let Some(path) = path else { return Ok(None) };
        read(path).map(Some).map_err(|message| FileError {
            path: path.clone(),
            message,
        })
    };
    configs
        .iter()
        .map(|c| {
            Ok(TlsMaterial {
                config: c.clone(),
                ca_pem: fetch(&c.ca_file)?,
                client_cert_pem: fetch(&c.client_cert)?,
                client_key_pem: fetch(&c.client_key)?,
            })
        })
        .collect()
}

/// Reads and checks every configuration's files.
pub fn load_checked(
    configs: &[TlsConfig],
    read: &mut dyn FnMut(&str) -> Result<Vec<u8>, String>,
) -> Result<Vec<TlsMaterial>, FileError> {
    let material = load(configs, read)?;
    material.iter().try_for_each(TlsMaterial::check)?;
    Ok(material)
}

#[derive(Clone, Copy)]
enum Pem {
    Certificates(&'static str),
    Key,
}

impl Pem {
    fn check(self, bytes: &[u8]) -> Result<(), String> {
        match self {
            Pem::Certificates(field) => {
                let mut n = 0;
                for cert in CertificateDer::pem_slice_iter(bytes) {
                    cert.map_err(|e| format!("{field}: not a PEM certificate file ({e})"))?;
                    n += 1;
                }
                if n == 0 {
                    return Err(format!(
                        "{field}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it"
                    ));
                }
                Ok(())
            }
            Pem::Key => PrivateKeyDer::from_pem_slice(bytes)
                .map(|_| ())
                .map_err(|e| format!("client_key: no PEM private key in it ({e})")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_block_overrides_the_scenario_block_field_by_field() {
        let scenario = TlsBlock {
            ca_file: Some("ca.pem".into()),
            server_name: Some("api.internal".into()),
            ..Default::default()
        };
        let step = TlsBlock {
            server_name: Some("other.internal".into()),
            versions: Some(vec![TlsVersion::Tls13, TlsVersion::Tls13]),
            ..Default::default()
        };
        let c = TlsConfig::merge(Some(&scenario), Some(&step), "x").unwrap();
        assert_eq!(c.ca_file.as_deref(), Some("ca.pem"));
        assert_eq!(c.server_name.as_deref(), Some("other.internal"));
        assert_eq!(c.versions, [TlsVersion::Tls13]);
        let none = TlsConfig::merge(None, None, "x").unwrap();
        assert_eq!(none.versions, [TlsVersion::Tls12, TlsVersion::Tls13]);
    }

    #[test]
    fn files_are_checked_for_what_their_field_needs() {
        let config = TlsConfig {
            ca_file: Some("ca.pem".into()),
            versions: vec![TlsVersion::Tls13],
            ..Default::default()
        };
        let err = load_checked(
            std::slice::from_ref(&config),
            &mut |_| Ok(b"hello".to_vec()),
        )
        .unwrap_err();
        assert_eq!(err.path, "ca.pem");
        assert!(err.message.contains("no PEM certificate"), "{err}");
        let err = load_checked(&[config], &mut |p| Err(format!("cannot read {p}"))).unwrap_err();
        assert_eq!(err.to_string(), "ca.pem: cannot read ca.pem");
    }
}
