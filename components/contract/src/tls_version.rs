//! The TLS versions a scenario can allow and a request can report.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
pub enum TlsVersion {
    #[serde(rename = "tls1.2")]
    Tls12,
    #[serde(rename = "tls1.3")]
    Tls13,
}

impl TlsVersion {
    /// The name the report uses (as OpenSSL and nginx print it).
    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        }
    }

    /// The version a report names (`name`'s inverse).
    pub fn from_name(name: &str) -> Option<TlsVersion> {
        [TlsVersion::Tls12, TlsVersion::Tls13]
            .into_iter()
            .find(|v| v.name() == name)
    }
}
