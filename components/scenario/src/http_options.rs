//! The scenario-wide HTTP settings a step may override: `http_version`
//! and `proxy`, checked where they are written.

use crate::error::{ScenarioError, field};

/// An `http_version` as written: `"1.1"` or `"2"` (a YAML number works too).
pub fn version(
    v: Option<&serde_yaml::Value>,
    at: &str,
) -> Result<Option<contract::HttpVersion>, ScenarioError> {
    use contract::HttpVersion;
    let Some(v) = v else { return Ok(None) };
    let text = match v {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    match text.as_str() {
        "1.1" => Ok(Some(HttpVersion::Http11)),
        "2" | "2.0" => Ok(Some(HttpVersion::Http2)),
        _ => Err(field(
            at,
            format!(
                "expected \"1.1\" or \"2\", found {}",
                serde_yaml::to_string(v).unwrap_or_default().trim()
            ),
        )),
    }
}

/// A `proxy` as written: `http://[user:password@]host:port` (an HTTPS
/// proxy is not supported: the connection to the proxy is plain, a tunnel
/// through it carries the TLS).
pub fn proxy(v: Option<&str>, at: &str) -> Result<Option<String>, ScenarioError> {
    let Some(v) = v else { return Ok(None) };
    let bad = |why: &str| Err(field(at, format!("{v:?}: {why}")));
    let Some(rest) = v.strip_prefix("http://") else {
        return bad(
            "expected http://[user:password@]host:port (the proxy is spoken to in plain HTTP)",
        );
    };
    let path = rest.split_once('/').map_or("", |(_, p)| p);
    if !path.is_empty() || contract::Endpoint::from_url(v).is_none() {
        return bad("expected http://[user:password@]host:port");
    }
    Ok(Some(v.trim_end_matches('/').to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_proxy_is_a_plain_http_authority() {
        let ok = |v| super::proxy(Some(v), "proxy").unwrap().unwrap();
        assert_eq!(ok("http://127.0.0.1:3128"), "http://127.0.0.1:3128");
        assert_eq!(
            ok("http://u:p@proxy.test:8080/"),
            "http://u:p@proxy.test:8080"
        );
        for bad in [
            "https://127.0.0.1:3128",
            "127.0.0.1:3128",
            "http://127.0.0.1:3128/x",
        ] {
            let e = super::proxy(Some(bad), "scenario.proxy")
                .unwrap_err()
                .to_string();
            assert!(e.contains("scenario.proxy") && e.contains("http://"), "{e}");
        }
    }
}
