//! Latency histograms as text: HDR's V2 format, deflated, then base64 (the
//! form HdrHistogram's own tools read), for the report and the timeline.

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    // Serializing into a Vec only fails on a histogram too large to index.
    let _ = V2DeflateSerializer::new().serialize(h, &mut bytes);
    STANDARD.encode(bytes)
}

/// The histogram `encode` wrote, auto-resizing like the ones it was made
/// from (a deserialized histogram is fixed-range, and adding a wider one to
/// it would fail).
pub fn decode(text: &str) -> Result<Histogram<u64>> {
    let bytes = STANDARD
        .decode(text)
        .context("a latency histogram is not base64")?;
    let mut h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| anyhow::anyhow!("a latency histogram is not HDR V2: {e:?}"))?;
    h.auto(true);
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_survives_the_round_trip() {
        let mut h = stats::histogram();
        for v in [1, 250, 999, 1_000_001, 37] {
            h.record(v).unwrap();
        }
        let back = decode(&encode(&h)).unwrap();
        assert_eq!(back, h);
        // A decoded histogram takes a wider one's counts.
        let mut narrow = decode(&encode(&h)).unwrap();
        let mut wide = stats::histogram();
        wide.record(60_000_000_000).unwrap();
        narrow.add(&wide).unwrap();
        assert_eq!(narrow.len(), 6);
        assert!(decode("not base64!").is_err());
        assert!(decode("aGVsbG8=").is_err());
    }
}
