//! Sizes as scenarios write them: 1048576, "512KB", "1MB", "2GB" (binary
//! multiples: 1KB = 1024 bytes).

use serde::{Deserialize, Deserializer, de};
use std::fmt;

/// A byte count that deserializes from a number or text like "1MB".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

pub fn parse(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: u64 = num.parse().map_err(|_| bad(text))?;
    let scale: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" | "KIB" => 1 << 10,
        "MB" | "MIB" => 1 << 20,
        "GB" | "GIB" => 1 << 30,
        _ => return Err(bad(text)),
    };
    value.checked_mul(scale).ok_or_else(|| bad(text))
}

fn bad(text: &str) -> String {
    format!("invalid size {text:?}: expected bytes or a number and a unit, like 512KB, 1MB or 1GB")
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size like 512KB, 1MB or a number of bytes")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom(format!("invalid size {v}: must not be negative")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                parse(v).map(ByteSize).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_binary_multiples() {
        assert_eq!(parse("1MB"), Ok(1 << 20));
        assert_eq!(parse("512kb"), Ok(512 << 10));
        assert_eq!(parse("100"), Ok(100));
        assert_eq!(parse("2GiB"), Ok(2 << 30));
        assert!(parse("1.5MB").is_err());
        assert!(parse("MB").is_err());
        assert!(parse("99999999999GB").is_err());
    }
}
