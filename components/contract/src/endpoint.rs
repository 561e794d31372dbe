//! Destinations as a scenario names them: `host:port` (IPv6 in brackets) or
//! an http(s) URL. The one parser of that text form; what crosses the WIT is
//! the typed `endpoint` record.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    /// A host name or an IP literal, IPv6 without brackets.
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// "host:port", "1.2.3.4:80" or "[::1]:53".
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        let bad = || format!("{text:?}: expected host:port, like 127.0.0.1:9000 or [::1]:9000");
        let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        let host = match host.strip_prefix('[') {
            Some(v6) => v6
                .strip_suffix(']')
                .filter(|h| h.parse::<std::net::Ipv6Addr>().is_ok())
                .ok_or_else(bad)?,
            // An unbracketed ':' would make the port ambiguous.
            None if host.contains(':') => return Err(bad()),
            None => host,
        };
        if host.is_empty() || port == 0 {
            return Err(bad());
        }
        Ok(Endpoint {
            host: host.to_string(),
            port,
        })
    }

    /// The host and port of an absolute http:// or https:// URL (default
    /// ports filled in); none for anything else.
    pub fn from_url(url: &str) -> Option<Endpoint> {
        let uri: http::Uri = crate::url::wire(url).parse().ok()?;
        let port = match (uri.scheme_str()?, uri.port_u16()) {
            ("http" | "https", Some(p)) => p,
            ("http", None) => 80,
            ("https", None) => 443,
            _ => return None,
        };
        let host = uri.host().filter(|h| !h.is_empty())?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Some(Endpoint {
            host: host.to_string(),
            port,
        })
    }
}

impl Endpoint {
    /// The host and port of a `ws://` or `wss://` URL (80 and 443 by
    /// default, as for HTTP: the upgrade is an HTTP request).
    pub fn from_ws_url(url: &str) -> Option<Endpoint> {
        let (scheme, rest) = url.split_once("://")?;
        let http = match scheme.to_ascii_lowercase().as_str() {
            "ws" => "http",
            "wss" => "https",
            _ => return None,
        };
        Endpoint::from_url(&format!("{http}://{rest}"))
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(host: &str, port: u16) -> Endpoint {
        Endpoint {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_names_v4_and_bracketed_v6() {
        assert_eq!(Endpoint::parse("localhost:80"), Ok(ep("localhost", 80)));
        assert_eq!(Endpoint::parse("127.0.0.1:9000"), Ok(ep("127.0.0.1", 9000)));
        assert_eq!(Endpoint::parse("[::1]:53"), Ok(ep("::1", 53)));
        for bad in [
            "::1:53",
            "host",
            "host:0",
            ":80",
            "host:99999",
            "[::1:53",
            "[x]:1",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["localhost:80", "[::1]:53", "10.0.0.1:7"] {
            assert_eq!(Endpoint::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn urls_give_their_endpoint() {
        assert_eq!(
            Endpoint::from_url("http://a.test/x"),
            Some(ep("a.test", 80))
        );
        assert_eq!(
            Endpoint::from_url("https://a.test/"),
            Some(ep("a.test", 443))
        );
        assert_eq!(
            Endpoint::from_url("http://[::1]:8080/"),
            Some(ep("::1", 8080))
        );
        assert_eq!(Endpoint::from_url("ftp://a.test/"), None);
        assert_eq!(Endpoint::from_url("/relative"), None);
    }
}
