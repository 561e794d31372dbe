//! Reading one response: headers with `httparse`, then the body framed by
//! Content-Length, chunked encoding (`httparse::parse_chunk_size`) or close.

use crate::net::Connection;
use action_support::Budget;
use action_support::net::NetError;

/// Headers a response may carry; more is a protocol error.
const MAX_HEADERS: usize = 100;
/// Header block size limit.
const MAX_HEAD: usize = 64 * 1024;
/// Body bytes kept for `expect_body` checks; the rest is only counted.
const MAX_KEPT_BODY: usize = 1024 * 1024;
/// Per read call; the host allocates this much per call, so keep it modest.
const READ_CHUNK: u32 = 16 * 1024;

pub struct Response {
    pub status: u16,
    pub keep_alive: bool,
    /// The body, if the caller asked to keep it (capped).
    pub body: Vec<u8>,
}

pub enum ReadError {
    /// The connection closed (or reset) before a single byte arrived: on a
    /// reused connection this means the server dropped it while idle.
    NothingReceived {
        reset: bool,
    },
    Net(NetError),
    Protocol(String),
}

/// Buffered reads from a connection, counting bytes received.
struct Reader<'a> {
    conn: &'a Connection,
    budget: &'a Budget,
    buf: Vec<u8>,
    received: &'a mut u64,
}

impl Reader<'_> {
    /// Reads more bytes; false at EOF.
    fn fill(&mut self) -> Result<bool, ReadError> {
        match self.conn.read(READ_CHUNK, self.budget.left_ms()) {
            Ok(chunk) if chunk.is_empty() => Ok(false),
            Ok(chunk) => {
                *self.received += chunk.len() as u64;
                self.buf.extend_from_slice(&chunk);
                Ok(true)
            }
            Err(NetError::ConnectionReset) if *self.received == 0 => {
                Err(ReadError::NothingReceived { reset: true })
            }
            Err(e) => Err(ReadError::Net(e)),
        }
    }

    fn fill_or(&mut self, what: &str) -> Result<(), ReadError> {
        if self.fill()? {
            Ok(())
        } else {
            Err(ReadError::Protocol(format!("connection closed {what}")))
        }
    }
}

struct Head {
    status: u16,
    len: usize,
    version: u8,
    content_length: Option<u64>,
    chunked: bool,
    close: bool,
    keep_alive_header: bool,
}

fn parse_head(buf: &[u8]) -> Result<Option<Head>, ReadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(ReadError::Protocol(format!("bad response head: {e}"))),
    };
    let mut head = Head {
        status: resp.code.unwrap_or(0),
        len,
        version: resp.version.unwrap_or(1),
        content_length: None,
        chunked: false,
        close: false,
        keep_alive_header: false,
    };
    for h in resp.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse()
                .map_err(|_| ReadError::Protocol(format!("bad Content-Length {value:?}")))?;
            if head.content_length.is_some_and(|c| c != n) {
                return Err(ReadError::Protocol(
                    "conflicting Content-Length headers".into(),
                ));
            }
            head.content_length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value
                .to_ascii_lowercase()
                .split(',')
                .any(|t| t.trim() == "chunked");
        } else if h.name.eq_ignore_ascii_case("connection") {
            let v = value.to_ascii_lowercase();
            head.close |= v.split(',').any(|t| t.trim() == "close");
            head.keep_alive_header |= v.split(',').any(|t| t.trim() == "keep-alive");
        }
    }
    Ok(Some(head))
}

pub fn read(
    conn: &Connection,
    budget: &Budget,
    head_only: bool,
    keep_body: bool,
    received: &mut u64,
) -> Result<Response, ReadError> {
    let mut r = Reader {
        conn,
        budget,
        buf: Vec::with_capacity(4096),
        received,
    };
    let head = loop {
        match parse_head(&r.buf)? {
            // Interim 1xx responses (100 Continue, 103 Early Hints) precede the real one.
            Some(h) if (100..200).contains(&h.status) && h.status != 101 => {
                r.buf.drain(..h.len);
            }
            Some(h) => break h,
            None if r.buf.len() > MAX_HEAD => {
                return Err(ReadError::Protocol("response head over 64 KiB".into()));
            }
            None => {
                if !r.fill()? {
                    return Err(if r.buf.is_empty() && *r.received == 0 {
                        ReadError::NothingReceived { reset: false }
                    } else {
                        ReadError::Protocol(format!(
                            "connection closed inside the response head ({} bytes)",
                            r.buf.len()
                        ))
                    });
                }
            }
        }
    };
    r.buf.drain(..head.len);
    let no_body = head_only || head.status == 204 || head.status == 304;
    let mut keep_alive = !head.close && (head.version == 1 || head.keep_alive_header);
    let mut body = Vec::new();
    if no_body {
        // nothing to read
    } else if head.chunked {
        read_chunked(&mut r, keep_body, &mut body)?;
    } else if let Some(n) = head.content_length {
        consume(&mut r, n, keep_body, &mut body, "inside the body")?;
    } else {
        // Delimited by close: read to EOF; the connection cannot be reused.
        keep_alive = false;
        while r.fill()? {}
        if keep_body {
            body = std::mem::take(&mut r.buf);
        }
    }
    // Leftover bytes mean the server sent more than one response: don't reuse.
    keep_alive &= r.buf.is_empty();
    Ok(Response {
        status: head.status,
        keep_alive,
        body,
    })
}

/// Consumes exactly `len` body bytes, keeping up to MAX_KEPT_BODY of them.
fn consume(
    r: &mut Reader,
    len: u64,
    keep_body: bool,
    body: &mut Vec<u8>,
    what: &str,
) -> Result<(), ReadError> {
    let mut left = len;
    while left > 0 {
        if r.buf.is_empty() {
            r.fill_or(what)?;
        }
        let take = (r.buf.len() as u64).min(left) as usize;
        if keep_body && body.len() < MAX_KEPT_BODY {
            body.extend_from_slice(&r.buf[..take.min(MAX_KEPT_BODY - body.len())]);
        }
        r.buf.drain(..take);
        left -= take as u64;
    }
    Ok(())
}

fn read_chunked(r: &mut Reader, keep_body: bool, body: &mut Vec<u8>) -> Result<(), ReadError> {
    loop {
        let (consumed, size) = loop {
            match httparse::parse_chunk_size(&r.buf) {
                Ok(httparse::Status::Complete(c)) => break c,
                Ok(httparse::Status::Partial) => r.fill_or("inside a chunk size")?,
                Err(_) => {
                    return Err(ReadError::Protocol(format!(
                        "bad chunk size line {:?}",
                        head_text(&r.buf)
                    )));
                }
            }
        };
        r.buf.drain(..consumed);
        if size == 0 {
            return read_trailers(r);
        }
        consume(r, size, keep_body, body, "inside a chunk")?;
        while r.buf.len() < 2 {
            r.fill_or("after a chunk")?;
        }
        if &r.buf[..2] != b"\r\n" {
            return Err(ReadError::Protocol("chunk not followed by CRLF".into()));
        }
        r.buf.drain(..2);
    }
}

/// After the last chunk: optional trailer lines, then an empty line.
fn read_trailers(r: &mut Reader) -> Result<(), ReadError> {
    loop {
        match r.buf.windows(2).position(|w| w == b"\r\n") {
            Some(0) => {
                r.buf.drain(..2);
                return Ok(());
            }
            Some(end) => {
                r.buf.drain(..end + 2);
            }
            None if r.buf.len() > MAX_HEAD => {
                return Err(ReadError::Protocol("trailers over 64 KiB".into()));
            }
            None => r.fill_or("inside the trailers")?,
        }
    }
}

fn head_text(buf: &[u8]) -> String {
    String::from_utf8_lossy(&buf[..buf.len().min(32)]).into_owned()
}
