//! Step checks the scheduler owns (which status codes count as success,
//! expected headers and JSON values, a latency bound) and the queries that
//! read values out of a response: the action answers them, so a body never
//! crosses a component boundary.

use crate::template::Template;
use serde::{Deserialize, Deserializer, de};
use std::fmt;
use std::time::Duration;

/// Where a value is read from in a response; the action answers each.
#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    /// A JSON pointer (RFC 6901) into the body: a string comes back
    /// without quotes, any other value as its JSON text.
    Json(String),
    /// The first capture group of a regex over the body (the whole match
    /// when it has no group).
    Regex(String),
    /// A response header's (first) value.
    Header(String),
    /// The status code as decimal text.
    Status,
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Query::Json(p) => write!(f, "json {p}"),
            Query::Regex(r) => write!(f, "regex {r:?}"),
            Query::Header(h) => write!(f, "header {h}"),
            Query::Status => f.write_str("status"),
        }
    }
}

/// `extract: {NAME: RULE}` as written: exactly one of the fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    #[serde(default)]
    pub json: Option<String>,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default)]
    pub header: Option<String>,
    #[serde(default)]
    pub status: Option<bool>,
}

impl RawRule {
    pub fn query(self) -> Result<Query, String> {
        match (self.json, self.regex, self.header, self.status) {
            (Some(p), None, None, None) => pointer(p).map(Query::Json),
            (None, Some(r), None, None) => regex(r).map(Query::Regex),
            (None, None, Some(h), None) if !h.trim().is_empty() => Ok(Query::Header(h)),
            (None, None, None, Some(true)) => Ok(Query::Status),
            _ => Err("set exactly one of json (a pointer), regex, header, status: true".into()),
        }
    }
}

/// A JSON pointer: empty (the whole document) or starting with `/`.
pub fn pointer(p: String) -> Result<String, String> {
    if p.is_empty() || p.starts_with('/') {
        Ok(p)
    } else {
        Err(format!("{p:?} is not a JSON pointer (write /a/0/b)"))
    }
}

pub(crate) fn regex(r: String) -> Result<String, String> {
    regex_lite::Regex::new(&r)
        .map_err(|e| format!("regex {r:?}: {}", e.to_string().replace('\n', " ")))?;
    Ok(r)
}

/// A variable a step sets from one of its queries' answers.
#[derive(Clone, Debug, PartialEq)]
pub struct Extract {
    pub name: String,
    /// Slot in `Scenario::variables`.
    pub slot: usize,
    /// Index into the step's queries.
    pub query: usize,
}

/// The checks on a response besides the status: each counts as one check.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expect {
    /// (header name, expected value, query index)
    pub headers: Vec<(String, Template, usize)>,
    /// (pointer, expected value, query index)
    pub json: Vec<(String, Template, usize)>,
    pub max_latency: Option<Duration>,
}

impl Expect {
    pub fn count(&self) -> u32 {
        (self.headers.len() + self.json.len() + usize::from(self.max_latency.is_some())) as u32
    }
}

/// A header check passes on the same value, or on a media type followed by
/// its parameters (`application/json` matches `application/json; charset=utf-8`).
pub fn header_matches(got: &str, want: &str) -> bool {
    let got = got.trim();
    got == want
        || got
            .strip_prefix(want)
            .is_some_and(|rest| rest.trim_start().starts_with(';'))
}

/// `assert_status: 200` or `assert_status: [200, 204]`. Without it, HTTP
/// statuses 200-399 succeed (4xx/5xx fail, as k6's `http_req_failed`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatusSet(pub Vec<u16>);

impl StatusSet {
    /// Why `status` fails this check, or `None` when it passes.
    pub fn check(&self, status: Option<u16>) -> Option<String> {
        let status = status?;
        if self.0.is_empty() {
            return (!(200..400).contains(&status))
                .then(|| format!("status {status} is not 2xx/3xx"));
        }
        (!self.0.contains(&status))
            .then(|| format!("status {status} is not in assert_status {:?}", self.0))
    }
}

impl<'de> Deserialize<'de> for StatusSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = StatusSet;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a status code (100-599) or a list of them")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusSet, E> {
                code(v).map(|c| StatusSet(vec![c]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusSet, E> {
                Err(E::custom(format!(
                    "invalid status code {v}: expected 100-599"
                )))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<StatusSet, A::Error> {
                let mut codes = Vec::new();
                while let Some(v) = seq.next_element::<u64>()? {
                    codes.push(code(v)?);
                }
                if codes.is_empty() {
                    return Err(de::Error::custom("assert_status list is empty"));
                }
                Ok(StatusSet(codes))
            }
        }
        d.deserialize_any(V)
    }
}

fn code<E: de::Error>(v: u64) -> Result<u16, E> {
    u16::try_from(v)
        .ok()
        .filter(|c| (100..=599).contains(c))
        .ok_or_else(|| E::custom(format!("invalid status code {v}: expected 100-599")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_accepts_2xx_3xx_only() {
        let s = StatusSet::default();
        assert_eq!(s.check(Some(204)), None);
        assert_eq!(s.check(Some(301)), None);
        assert!(s.check(Some(404)).is_some());
        assert_eq!(s.check(None), None);
    }

    #[test]
    fn explicit_set() {
        let s = StatusSet(vec![404]);
        assert_eq!(s.check(Some(404)), None);
        assert!(s.check(Some(200)).unwrap().contains("404"));
    }
}
