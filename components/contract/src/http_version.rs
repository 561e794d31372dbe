//! The HTTP versions a step can ask for and a request can report.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
pub enum HttpVersion {
    /// HTTP/1.1 (a 1.0 response is not told apart).
    #[serde(rename = "1.1")]
    Http11,
    #[serde(rename = "2")]
    Http2,
}

impl HttpVersion {
    /// The report's name (as k6 and curl print it).
    pub fn name(self) -> &'static str {
        match self {
            HttpVersion::Http11 => "HTTP/1.1",
            HttpVersion::Http2 => "HTTP/2",
        }
    }

    /// The version a report names (`name`'s inverse).
    pub fn from_name(name: &str) -> Option<HttpVersion> {
        [HttpVersion::Http11, HttpVersion::Http2]
            .into_iter()
            .find(|v| v.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::HttpVersion;

    #[test]
    fn a_version_is_read_back_from_its_report_name() {
        for v in [HttpVersion::Http11, HttpVersion::Http2] {
            assert_eq!(HttpVersion::from_name(v.name()), Some(v));
        }
        assert_eq!(HttpVersion::from_name("HTTP/3"), None);
    }
}
