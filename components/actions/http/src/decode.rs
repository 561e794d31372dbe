//! Bodies decoded for checks and extraction as the response's
//! `Content-Encoding` declares them (gzip, deflate, br, zstd; a list is
//! undone last first), whether or not the step asked for an encoding, as
//! k6 does. All pure Rust, built for wasm32-wasip2. The wire bytes are what
//! is counted.

use flate2::read::{DeflateDecoder, GzDecoder, ZlibDecoder};
use std::io::Read;

/// The decoded body, at most `max` bytes, or `None` when an encoding is
/// not one this client decodes. A body cut short (by `max_body`) decodes
/// as far as it goes.
pub fn decode(encodings: &str, body: &[u8], max: u64) -> Option<Vec<u8>> {
    let mut layers: Vec<&str> = encodings
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty() && *e != "identity")
        .collect();
    layers.reverse();
    let mut out = std::borrow::Cow::Borrowed(body);
    for layer in layers {
        out = std::borrow::Cow::Owned(one(layer, &out, max)?);
    }
    Some(out.into_owned())
}

fn one(encoding: &str, body: &[u8], max: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match encoding {
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
        "br" => {
            let _ = brotli_decompressor::Decompressor::new(body, 4096)
                .take(max)
                .read_to_end(&mut out);
        }
        "zstd" => {
            let Ok(d) = ruzstd::decoding::StreamingDecoder::new(body) else {
                return Some(out);
            };
            let _ = d.take(max).read_to_end(&mut out);
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

    fn text() -> Vec<u8> {
        b"hello hello hello hello".repeat(10)
    }

    fn gzip(b: &[u8]) -> Vec<u8> {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(b).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn gzip_and_zlib_deflate_round_trip_and_obey_max() {
        let gz = gzip(&text());
        assert_eq!(decode("gzip", &gz, 1 << 20).unwrap(), text());
        assert_eq!(decode("gzip", &gz, 5).unwrap(), b"hello");
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(&text()).unwrap();
        assert_eq!(
            decode("deflate", &z.finish().unwrap(), 1 << 20).unwrap(),
            text()
        );
        assert_eq!(decode("compress", &gz, 10), None);
    }

    #[test]
    fn br_and_zstd_round_trip_and_obey_max() {
        let mut br = Vec::new();
        brotli::BrotliCompress(&mut &text()[..], &mut br, &Default::default()).unwrap();
        assert_eq!(decode("br", &br, 1 << 20).unwrap(), text());
        assert_eq!(decode("br", &br, 5).unwrap(), b"hello");
        let zstd = ruzstd::encoding::compress_to_vec(
            &text()[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        assert_eq!(decode("zstd", &zstd, 1 << 20).unwrap(), text());
        assert_eq!(decode("zstd", &zstd, 5).unwrap(), b"hello");
    }

    #[test]
    fn a_list_of_encodings_is_undone_last_first() {
        let zstd = ruzstd::encoding::compress_to_vec(
            &text()[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let both = gzip(&zstd);
        assert_eq!(decode("zstd, gzip", &both, 1 << 20).unwrap(), text());
        assert_eq!(decode("identity", b"plain", 10).unwrap(), b"plain");
    }
}
