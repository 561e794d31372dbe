use super::*;
use std::collections::VecDeque;

type Read = Result<Response, ReadError>;

/// `super::read` over a scripted source, which never waits.
fn read(src: &mut impl Source, head: bool, keep: Keep<'_>, n: &mut u64) -> Read {
    action_support::task::now(super::read(src, head, keep, n))
}

/// Scripted chunks; EOF once they run out.
struct Script(VecDeque<Vec<u8>>);

impl Source for Script {
    async fn read(&mut self, max: u32) -> Result<Vec<u8>, NetError> {
        let Some(mut chunk) = self.0.pop_front() else {
            return Ok(Vec::new());
        };
        if chunk.len() > max as usize {
            let rest = chunk.split_off(max as usize);
            self.0.push_front(rest);
        }
        Ok(chunk)
    }
}

/// Records what each read asked for.
struct Asked(Script, Vec<u32>);

impl Source for Asked {
    async fn read(&mut self, max: u32) -> Result<Vec<u8>, NetError> {
        self.1.push(max);
        self.0.read(max).await
    }
}

#[test]
fn reads_start_small_and_grow_while_they_come_back_full() {
    let body = vec![b'x'; 200_000];
    let mut wire =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    wire.extend_from_slice(&body);
    let mut src = Asked(Script(vec![wire].into()), Vec::new());
    let mut received = 0;
    let Ok(r) = read(&mut src, false, Keep::body(0), &mut received) else {
        panic!("the response did not parse")
    };
    assert_eq!(r.body_len, 200_000);
    assert_eq!(&src.1[..4], &[4096, 16384, 65536, 65536]);
    // A small response: one read of 4 KiB.
    let mut src = Asked(
        Script(vec![b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()].into()),
        Vec::new(),
    );
    assert!(read(&mut src, false, Keep::body(0), &mut received).is_ok());
    assert_eq!(src.1, [4096]);
}

fn parse_chunks(chunks: Vec<Vec<u8>>, head_only: bool) -> Result<(Response, u64), ReadError> {
    let (keep, mut n) = (Keep::body(1 << 20), 0);
    let r = read(&mut Script(chunks.into()), head_only, keep, &mut n)?;
    Ok((r, n))
}

/// Parses `wire` whole, split at every byte boundary, and one byte at a
/// time; every way must give the same response.
fn parse_every_split(wire: &[u8]) -> Response {
    let (whole, n) =
        parse_chunks(vec![wire.to_vec()], false).unwrap_or_else(|e| panic!("{}", why(&e)));
    assert_eq!(n, wire.len() as u64);
    for i in 1..wire.len() {
        let (r, _) = parse_chunks(vec![wire[..i].to_vec(), wire[i..].to_vec()], false)
            .unwrap_or_else(|e| panic!("split at {i}: {}", why(&e)));
        assert_eq!(
            (r.status, r.keep_alive, &r.body),
            (whole.status, whole.keep_alive, &whole.body),
            "split at {i}"
        );
    }
    let bytes = wire.iter().map(|b| vec![*b]).collect();
    let (r, _) = parse_chunks(bytes, false).unwrap_or_else(|e| panic!("bytewise: {}", why(&e)));
    assert_eq!(
        (r.status, r.keep_alive, &r.body),
        (whole.status, whole.keep_alive, &whole.body)
    );
    whole
}

fn why(e: &ReadError) -> String {
    match e {
        ReadError::NothingReceived { reset } => format!("nothing received (reset: {reset})"),
        ReadError::Net(n) => format!("net: {n:?}"),
        ReadError::Protocol(p) => format!("protocol: {p}"),
    }
}

fn protocol_error(wire: &[u8]) -> String {
    match parse_chunks(vec![wire.to_vec()], false) {
        Err(ReadError::Protocol(p)) => p,
        Err(e) => panic!("expected a protocol error, got {}", why(&e)),
        Ok(r) => panic!("expected a protocol error, got status {}", r.0.status),
    }
}

#[test]
fn content_length_body_keeps_the_connection() {
    let r = parse_every_split(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello world");
    assert!(r.keep_alive);
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\nX-Other: 1\r\n\r\n";
    let r = parse_every_split(wire);
    assert_eq!(r.body, b"hello world");
    assert!(
        r.keep_alive,
        "a complete chunked body leaves the connection reusable"
    );
}

#[test]
fn close_delimited_body_reads_to_eof_and_drops_the_connection() {
    let r = parse_every_split(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
    assert_eq!(r.body, b"until the end");
    assert!(!r.keep_alive);
    let r = parse_every_split(b"HTTP/1.0 200 OK\r\n\r\nold style");
    assert_eq!(r.body, b"old style");
    assert!(!r.keep_alive);
}

#[test]
fn interim_1xx_responses_are_skipped() {
    let r = parse_every_split(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.body, b"ok");
}

#[test]
fn head_204_and_304_have_no_body() {
    let (r, _) = parse_chunks(
        vec![b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n".to_vec()],
        true,
    )
    .ok()
    .unwrap();
    assert!(r.body.is_empty() && r.keep_alive);
    let r = parse_every_split(b"HTTP/1.1 204 No Content\r\n\r\n");
    assert_eq!(r.status, 204);
    assert!(r.keep_alive);
    let r = parse_every_split(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");
    assert!(r.body.is_empty() && r.keep_alive);
}

#[test]
fn extra_bytes_after_the_response_forbid_reuse() {
    let (r, _) = parse_chunks(
        vec![b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naEXTRA".to_vec()],
        false,
    )
    .ok()
    .unwrap();
    assert_eq!(r.body, b"a");
    assert!(!r.keep_alive);
}

#[test]
fn malformed_responses_are_protocol_errors() {
    assert!(protocol_error(b"garbage\r\n\r\n").contains("bad response head"));
    assert!(
        protocol_error(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
            .contains("conflicting")
    );
    assert!(
        protocol_error(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").contains("Content-Length")
    );
    assert!(
        protocol_error(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
            .contains("inside the body")
    );
    assert!(
        protocol_error(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
            .contains("chunk size")
    );
    assert!(
        protocol_error(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX")
            .contains("CRLF")
    );
    assert!(protocol_error(b"HTTP/1.1 200 OK\r\nContent-").contains("inside the response head"));
}

#[test]
fn a_body_past_keep_is_counted_and_dropped_as_it_streams() {
    let chunk = vec![b'x'; 64 * 1024];
    let head = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
    let mut script = vec![head];
    script.extend(std::iter::repeat_n(chunk, 100));
    let mut received = 0;
    let r = read(
        &mut Script(script.into()),
        false,
        Keep::body(1000),
        &mut received,
    )
    .ok()
    .unwrap();
    assert_eq!(r.body.len(), 1000);
    assert_eq!(r.body_len, 100 * 64 * 1024);
    assert!(r.truncated());
    let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789".to_vec();
    let r = read(
        &mut Script(vec![wire].into()),
        false,
        Keep::body(4),
        &mut received,
    )
    .ok()
    .unwrap();
    assert_eq!(
        (r.body.as_slice(), r.body_len, r.keep_alive),
        (&b"0123"[..], 10, true)
    );
    let r = read(
        &mut Script(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc".to_vec()].into()),
        false,
        Keep::body(0),
        &mut received,
    )
    .ok()
    .unwrap();
    assert!(
        r.body.is_empty() && r.truncated(),
        "nothing kept without a check"
    );
}

#[test]
fn nothing_received_is_told_apart() {
    assert!(matches!(
        parse_chunks(vec![], false),
        Err(ReadError::NothingReceived { reset: false })
    ));
}

#[test]
fn a_head_over_64_kib_is_refused_even_when_its_last_read_completes_it() {
    let mut wire = b"HTTP/1.1 200 OK\r\n".to_vec();
    let line = format!("X-Padding: {}\r\n", "a".repeat(2000));
    while wire.len() < 100_000 {
        wire.extend_from_slice(line.as_bytes());
    }
    wire.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    // 60,000 bytes (under the limit, still partial), then a read that
    // completes the head at 100 KB: the limit must still hold.
    let rest = wire.split_off(60_000);
    let Err(ReadError::Protocol(m)) = parse_chunks(vec![wire, rest], false) else {
        panic!("a 100 KB head parsed")
    };
    assert!(m.contains("64 KiB"), "{m}");
}
