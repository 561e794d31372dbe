//! Step checks the scheduler owns: which status codes count as success.

use serde::{Deserialize, Deserializer, de};
use std::fmt;

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
