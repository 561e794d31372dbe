//! Answers to a step's queries (its extraction rules and checks), read from
//! the last response here, so the body never leaves the action.

use crate::response::Response;
use action_support::types::Query;
use std::cell::RefCell;
use std::collections::HashMap;

/// Compiled patterns seen so far; a workflow has few, used over and over.
const MAX_CACHED: usize = 256;

thread_local! {
    static PATTERNS: RefCell<HashMap<String, Option<regex_lite::Regex>>> =
        RefCell::new(HashMap::new());
}

/// One answer per query, in order.
pub fn answer(queries: &[Query], resp: &Response, body: &[u8]) -> Vec<Option<String>> {
    if queries.is_empty() {
        return Vec::new();
    }
    // Parsed once for all of the step's JSON queries.
    let mut json: Option<Option<serde_json::Value>> = None;
    queries
        .iter()
        .map(|q| match q {
            Query::Status => Some(resp.status.to_string()),
            Query::Header(name) => resp
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone()),
            Query::Json(pointer) => json
                .get_or_insert_with(|| serde_json::from_slice(body).ok())
                .as_ref()
                .and_then(|doc| doc.pointer(pointer))
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                }),
            Query::Regex(pattern) => regex(pattern, &String::from_utf8_lossy(body)),
        })
        .collect()
}

fn regex(pattern: &str, text: &str) -> Option<String> {
    PATTERNS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.contains_key(pattern) {
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            // The scheduler validated it; a pattern that still fails matches nothing.
            cache.insert(pattern.to_string(), regex_lite::Regex::new(pattern).ok());
        }
        let re = cache.get(pattern)?.as_ref()?;
        let caps = re.captures(text)?;
        caps.get(1)
            .or_else(|| caps.get(0))
            .map(|m| m.as_str().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp() -> Response {
        Response {
            status: 201,
            headers: vec![("X-Session".into(), "s1".into())],
            keep_alive: true,
            body: Vec::new(),
            body_len: 0,
            location: None,
            digest_challenge: None,
            set_cookies: Vec::new(),
            content_encoding: None,
        }
    }

    #[test]
    fn every_kind_of_query() {
        let body = br#"{"auth": {"token": "t-1", "n": 3}, "html": "name=\"csrf\" value=\"c9\""}"#;
        let q = [
            Query::Json("/auth/token".into()),
            Query::Json("/auth/n".into()),
            Query::Json("/auth/none".into()),
            Query::Regex(r#"value=\\"([^\\]+)\\""#.into()),
            Query::Header("x-session".into()),
            Query::Header("X-Other".into()),
            Query::Status,
        ];
        let a = answer(&q, &resp(), body);
        let want = [
            Some("t-1"),
            Some("3"),
            None,
            Some("c9"),
            Some("s1"),
            None,
            Some("201"),
        ];
        assert_eq!(a, want.map(|w| w.map(str::to_string)));
        assert_eq!(
            answer(&[Query::Json("/a".into())], &resp(), b"not json"),
            [None]
        );
    }
}
