//! Durations as scenarios write them: "500ms", "5s", "1.5s", "2m", "1h".

use serde::{Deserialize, Deserializer, de};
use std::fmt;
use std::time::Duration;

/// A `std::time::Duration` that deserializes from text like "500ms".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| bad(text))?;
    let scale = match unit.trim() {
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad(text)),
    };
    Duration::try_from_secs_f64(value * scale).map_err(|_| bad(text))
}

/// `d` as a scenario writes it, exactly to the microsecond (`parse`'s
/// inverse): "1500ms", "250us".
pub fn text(d: Duration) -> String {
    if d.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}us", d.as_micros())
    }
}

/// What a number written without a unit is told (`5` for `5s`), wherever a
/// duration is read (`Dur`, think times).
pub(crate) fn unsigned_without_unit(v: u64) -> String {
    format!("invalid duration {v}: add a unit, like {v}s or {v}ms")
}

pub(crate) fn signed_without_unit(v: i64) -> String {
    format!("invalid duration {v}: expected a positive value with a unit, like 5s")
}

pub(crate) fn float_without_unit(v: f64) -> String {
    format!("invalid duration {v}: add a unit, like {v}s")
}

fn bad(text: &str) -> String {
    format!("invalid duration {text:?}: expected a number and a unit, like 500ms, 5s, 2m or 1h")
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration like 500ms, 5s, 2m or 1h")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse(v).map(Dur).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                Err(E::custom(unsigned_without_unit(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                Err(E::custom(signed_without_unit(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                Err(E::custom(float_without_unit(v)))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse("250us").unwrap(), Duration::from_micros(250));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "5", "s", "5x", "-1s", "1.2.3s", "ms5"] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
