//! Answers to a step's queries (its extraction rules and checks), read from
//! the last response in the action, so the body never leaves it (feature
//! `answers`: the http and grpc actions share it).

use crate::types::Query;
use std::cell::RefCell;
use std::collections::HashMap;

/// Compiled patterns seen so far; a workflow has few, used over and over.
const MAX_CACHED: usize = 256;

thread_local! {
    static PATTERNS: RefCell<HashMap<String, Option<regex_lite::Regex>>> =
        RefCell::new(HashMap::new());
}

/// A response as the queries read it: its status, the headers kept for
/// them, and its body (the JSON text, for a gRPC reply).
pub struct Answered<'a> {
    pub status: u32,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// One answer per query, in order.
pub fn answer(queries: &[Query], resp: Answered<'_>) -> Vec<Option<String>> {
    let body = resp.body;
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

    fn resp<'a>(headers: &'a [(String, String)], body: &'a [u8]) -> Answered<'a> {
        Answered {
            status: 201,
            headers,
            body,
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
        let headers = [("X-Session".to_string(), "s1".to_string())];
        let a = answer(&q, resp(&headers, body));
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
            answer(&[Query::Json("/a".into())], resp(&headers, b"not json")),
            [None]
        );
    }
}
