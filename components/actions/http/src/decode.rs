//! `Content-Encoding: gzip`/`deflate` bodies, decoded for checks (pure
//! Rust: flate2 over miniz_oxide). The wire bytes are what is counted.

use flate2::read::{DeflateDecoder, GzDecoder, ZlibDecoder};
use std::io::Read;

/// The decoded body, at most `max` bytes, or `None` when `encoding` is not
/// one this client decodes. A body cut short (by `max_body`) decodes as far
/// as it goes.
pub fn decode(encoding: &str, body: &[u8], max: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match encoding.trim() {
        "gzip" | "x-gzip" => {
            let _ = GzDecoder::new(body).take(max).read_to_end(&mut out);
        }
        "deflate" => {
            // RFC 9110's deflate is zlib-wrapped; some servers send it raw.
            if ZlibDecoder::new(body)
                .take(max)
                .read_to_end(&mut out)
                .is_err()
                && out.is_empty()
            {
                let _ = DeflateDecoder::new(body).take(max).read_to_end(&mut out);
            }
        }
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::{GzEncoder, ZlibEncoder};
    use std::io::Write;

    #[test]
    fn gzip_and_zlib_deflate_round_trip_and_obey_max() {
        let text = b"hello hello hello hello".repeat(10);
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&text).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(decode("gzip", &gz, 1 << 20).unwrap(), text);
        assert_eq!(decode("gzip", &gz, 5).unwrap(), b"hello");
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(&text).unwrap();
        assert_eq!(
            decode("deflate", &z.finish().unwrap(), 1 << 20).unwrap(),
            text
        );
        assert_eq!(decode("br", &gz, 10), None);
    }
}
