//! How long the TCP action reads after sending: the read modes, over any
//! byte source (a connection, or a test's scripted chunks).

use action_support::contains;
use action_support::net::NetError;
use action_support::types::ReadMode;

/// Largest read per call; replies past this still count, in more calls.
pub const READ_CHUNK: u32 = 64 * 1024;

/// How reading ended.
#[derive(Debug, PartialEq)]
pub enum Ended {
    /// The mode was satisfied (or asks for no reading).
    Done,
    /// The peer closed first; for `until-close` that is the normal end.
    Closed,
    /// `max_read` bytes arrived and the delimiter (or byte count) was not
    /// reached: reading stops rather than grow without bound.
    Full,
}

/// Reads per `mode` from `read` (up to `max` bytes per call, empty at EOF),
/// keeping at most `max_read` bytes in `got` and counting all into `received`.
/// `until-close` drops what does not fit and reads on to the end.
pub async fn read(
    mode: &ReadMode,
    max_read: usize,
    mut read: impl AsyncFnMut(u32) -> Result<Vec<u8>, NetError>,
    got: &mut Vec<u8>,
    received: &mut u64,
) -> Result<Ended, NetError> {
    while !done(mode, got) {
        if got.len() >= max_read && !matches!(mode, ReadMode::UntilClose) {
            return Ok(Ended::Full);
        }
        let chunk = read(READ_CHUNK).await?;
        if chunk.is_empty() {
            return Ok(Ended::Closed);
        }
        *received += chunk.len() as u64;
        let room = max_read.saturating_sub(got.len());
        got.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(Ended::Done)
}

fn done(mode: &ReadMode, got: &[u8]) -> bool {
    match mode {
        ReadMode::None => true,
        ReadMode::Bytes(n) => got.len() >= *n as usize,
        ReadMode::Delimiter(d) => contains(got, d),
        ReadMode::UntilClose => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use action_support::task::now;
    use std::collections::VecDeque;

    fn run(mode: ReadMode, chunks: &[&[u8]]) -> (Result<Ended, NetError>, Vec<u8>, u64, usize) {
        let mut script: VecDeque<Vec<u8>> = chunks.iter().map(|c| c.to_vec()).collect();
        let mut calls = 0;
        let (mut got, mut received) = (Vec::new(), 0);
        let r = now(read(
            &mode,
            1 << 20,
            async |_| {
                calls += 1;
                Ok(script.pop_front().unwrap_or_default())
            },
            &mut got,
            &mut received,
        ));
        (r, got, received, calls)
    }

    #[test]
    fn none_reads_nothing() {
        let (r, got, n, calls) = run(ReadMode::None, &[b"ignored"]);
        assert_eq!((r.unwrap(), got.len(), n, calls), (Ended::Done, 0, 0, 0));
    }

    #[test]
    fn bytes_stops_once_enough_arrived() {
        let (r, got, n, calls) = run(ReadMode::Bytes(5), &[b"ab", b"cde", b"never read"]);
        assert_eq!(
            (r.unwrap(), got, n, calls),
            (Ended::Done, b"abcde".to_vec(), 5, 2)
        );
        let (r, got, _, _) = run(ReadMode::Bytes(5), &[b"abc"]);
        assert_eq!((r.unwrap(), got), (Ended::Closed, b"abc".to_vec()));
    }

    #[test]
    fn delimiter_split_across_reads_is_found() {
        let (r, got, _, calls) = run(
            ReadMode::Delimiter(b"\r\n".to_vec()),
            &[b"PONG\r", b"\n", b"more"],
        );
        assert_eq!(
            (r.unwrap(), got, calls),
            (Ended::Done, b"PONG\r\n".to_vec(), 2)
        );
        let (r, _, _, _) = run(ReadMode::Delimiter(b"END".to_vec()), &[b"no end here"]);
        assert_eq!(r.unwrap(), Ended::Closed);
    }

    #[test]
    fn until_close_reads_everything() {
        let (r, got, n, _) = run(ReadMode::UntilClose, &[b"a", b"bc", b"def"]);
        assert_eq!((r.unwrap(), got, n), (Ended::Closed, b"abcdef".to_vec(), 6));
    }

    #[test]
    fn max_read_bounds_what_is_kept() {
        let big = vec![b'x'; 64 * 1024];
        let mut calls = 0;
        let (mut got, mut received) = (Vec::new(), 0);
        let r = now(read(
            &ReadMode::Delimiter(b"END".to_vec()),
            100_000,
            async |_| {
                calls += 1;
                Ok(big.clone())
            },
            &mut got,
            &mut received,
        ));
        assert_eq!(r.unwrap(), Ended::Full);
        assert_eq!((got.len(), calls), (100_000, 2));
        // until-close counts everything and keeps max_read.
        let mut left = 50;
        let (mut got, mut received) = (Vec::new(), 0);
        let r = now(read(
            &ReadMode::UntilClose,
            1000,
            async |_| {
                left -= 1;
                Ok(if left > 0 { big.clone() } else { Vec::new() })
            },
            &mut got,
            &mut received,
        ));
        assert_eq!(r.unwrap(), Ended::Closed);
        assert_eq!((got.len(), received), (1000, 49 * 64 * 1024));
    }

    #[test]
    fn a_socket_error_is_returned_with_what_was_counted() {
        let mut calls = 0;
        let (mut got, mut received) = (Vec::new(), 0);
        let r = now(read(
            &ReadMode::UntilClose,
            1 << 20,
            async |_| {
                calls += 1;
                if calls == 1 {
                    Ok(b"xy".to_vec())
                } else {
                    Err(NetError::Timeout)
                }
            },
            &mut got,
            &mut received,
        ));
        assert!(matches!(r, Err(NetError::Timeout)));
        assert_eq!(received, 2);
    }
}
