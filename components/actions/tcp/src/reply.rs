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
}

/// Reads per `mode` from `read` (up to `max` bytes per call, empty at EOF),
/// appending to `got` and counting into `received`.
pub fn read(
    mode: &ReadMode,
    mut read: impl FnMut(u32) -> Result<Vec<u8>, NetError>,
    got: &mut Vec<u8>,
    received: &mut u64,
) -> Result<Ended, NetError> {
    while !done(mode, got) {
        let chunk = read(READ_CHUNK)?;
        if chunk.is_empty() {
            return Ok(Ended::Closed);
        }
        *received += chunk.len() as u64;
        got.extend_from_slice(&chunk);
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
    use std::collections::VecDeque;

    fn run(mode: ReadMode, chunks: &[&[u8]]) -> (Result<Ended, NetError>, Vec<u8>, u64, usize) {
        let mut script: VecDeque<Vec<u8>> = chunks.iter().map(|c| c.to_vec()).collect();
        let mut calls = 0;
        let (mut got, mut received) = (Vec::new(), 0);
        let r = read(
            &mode,
            |_| {
                calls += 1;
                Ok(script.pop_front().unwrap_or_default())
            },
            &mut got,
            &mut received,
        );
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
    fn a_socket_error_is_returned_with_what_was_counted() {
        let mut calls = 0;
        let (mut got, mut received) = (Vec::new(), 0);
        let r = read(
            &ReadMode::UntilClose,
            |_| {
                calls += 1;
                if calls == 1 {
                    Ok(b"xy".to_vec())
                } else {
                    Err(NetError::Timeout)
                }
            },
            &mut got,
            &mut received,
        );
        assert!(matches!(r, Err(NetError::Timeout)));
        assert_eq!(received, 2);
    }
}
