//! Reading one response: headers with `httparse`, then the body framed by
//! Content-Length, chunked encoding (`httparse::parse_chunk_size`) or close.

use action_support::net::NetError;

/// Headers a response may carry; more is a protocol error.
const MAX_HEADERS: usize = 100;
/// Header block size limit.
const MAX_HEAD: usize = 64 * 1024;
/// A response's first read asks for this much: the runtime allocates and
/// zeroes what a read asks for, and most responses are small.
const FIRST_READ: u32 = 4 * 1024;
/// Reads that come back full ask for 4× more, up to this.
const MAX_READ: u32 = 64 * 1024;

/// In `Keep::headers`: keep every header, as received.
pub const ALL_HEADERS: &str = "*";

/// What of a response to keep besides its framing.
#[derive(Clone, Copy)]
pub struct Keep<'a> {
    /// Body bytes (the rest streams through, counted).
    pub body: usize,
    /// Headers to keep the first value of (any case).
    pub headers: &'a [String],
}

#[cfg(test)]
impl Keep<'static> {
    pub fn body(body: usize) -> Self {
        Keep { body, headers: &[] }
    }
}

pub struct Response {
    pub status: u16,
    /// The headers `Keep::headers` asked for that came: (as asked, value).
    pub headers: Vec<(String, String)>,
    pub keep_alive: bool,
    /// The body's first `keep` bytes (what the caller asked to keep).
    pub body: Vec<u8>,
    /// Body bytes received in all; more than `body.len()` when truncated.
    pub body_len: u64,
    /// The headers the client acts on: redirects, cookies, decoding.
    pub location: Option<String>,
    /// The first `WWW-Authenticate: Digest …` challenge.
    pub digest_challenge: Option<String>,
    pub set_cookies: Vec<String>,
    pub content_encoding: Option<String>,
}

impl Response {
    /// Part of the body was counted and discarded.
    pub fn truncated(&self) -> bool {
        self.body_len > self.body.len() as u64
    }
}

pub use action_support::h2::Failed;

pub enum ReadError {
    /// The connection closed (or reset) before a single byte arrived: on a
    /// reused connection this means the server dropped it while idle.
    NothingReceived {
        reset: bool,
    },
    Net(NetError),
    Protocol(String),
}

/// Where response bytes come from: a connection with the step's budget
/// (`crate::Wire`), or a test's scripted chunks.
pub trait Source {
    /// Up to `max` bytes as soon as any arrive; empty at EOF.
    async fn read(&mut self, max: u32) -> Result<Vec<u8>, NetError>;
}

/// Buffered reads from a source, counting bytes received.
struct Reader<'a, S: Source> {
    source: &'a mut S,
    buf: Vec<u8>,
    received: &'a mut u64,
    /// What the next read asks for.
    chunk: u32,
}

impl<S: Source> Reader<'_, S> {
    /// Reads more bytes; false at EOF.
    async fn fill(&mut self) -> Result<bool, ReadError> {
        match self.source.read(self.chunk).await {
            Ok(chunk) if chunk.is_empty() => Ok(false),
            Ok(chunk) => {
                if chunk.len() >= self.chunk as usize {
                    self.chunk = (self.chunk * 4).min(MAX_READ);
                }
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

    async fn fill_or(&mut self, what: &str) -> Result<(), ReadError> {
        if self.fill().await? {
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
    location: Option<String>,
    digest_challenge: Option<String>,
    set_cookies: Vec<String>,
    content_encoding: Option<String>,
    kept: Vec<(String, String)>,
}

/// A `WWW-Authenticate` value that is a Digest challenge.
pub fn is_digest(value: &str) -> bool {
    value
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("digest "))
}

fn head_too_big() -> ReadError {
    ReadError::Protocol("response head over 64 KiB".into())
}

fn parse_head(buf: &[u8], wanted: &[String]) -> Result<Option<Head>, ReadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        // The limit holds whether the head came in one read or many.
        Ok(httparse::Status::Complete(n)) if n > MAX_HEAD => return Err(head_too_big()),
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
        location: None,
        digest_challenge: None,
        set_cookies: Vec::new(),
        content_encoding: None,
        kept: Vec::new(),
    };
    // "*": every header, as received (a traced request's).
    let all = wanted.iter().any(|w| w == ALL_HEADERS);
    for h in resp.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if all {
            head.kept.push((h.name.to_string(), value.to_string()));
        } else if let Some(w) = wanted.iter().find(|w| w.eq_ignore_ascii_case(h.name))
            && !head.kept.iter().any(|(k, _)| k == w)
        {
            head.kept.push((w.clone(), value.to_string()));
        }
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
        } else if h.name.eq_ignore_ascii_case("location") {
            head.location = Some(value.to_string());
        } else if h.name.eq_ignore_ascii_case("www-authenticate")
            && head.digest_challenge.is_none()
            && is_digest(value)
        {
            head.digest_challenge = Some(value.to_string());
        } else if h.name.eq_ignore_ascii_case("set-cookie") {
            head.set_cookies.push(value.to_string());
        } else if h.name.eq_ignore_ascii_case("content-encoding") {
            head.content_encoding = Some(value.to_ascii_lowercase());
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                head.close |= token.eq_ignore_ascii_case("close");
                head.keep_alive_header |= token.eq_ignore_ascii_case("keep-alive");
            }
        }
    }
    Ok(Some(head))
}

/// Reads one response, keeping at most `keep` body bytes: the rest of the
/// body streams through (counted, then dropped), whatever its size.
pub async fn read(
    source: &mut impl Source,
    head_only: bool,
    keep: Keep<'_>,
    received: &mut u64,
) -> Result<Response, ReadError> {
    let mut r = Reader {
        source,
        buf: Vec::with_capacity(FIRST_READ as usize),
        received,
        chunk: FIRST_READ,
    };
    let head = loop {
        match parse_head(&r.buf, keep.headers)? {
            // Interim 1xx responses (100 Continue, 103 Early Hints) precede the real one.
            Some(h) if (100..200).contains(&h.status) && h.status != 101 => {
                r.buf.drain(..h.len);
            }
            Some(h) => break h,
            None if r.buf.len() > MAX_HEAD => return Err(head_too_big()),
            None => {
                if !r.fill().await? {
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
    let mut body = Body {
        kept: Vec::new(),
        keep: keep.body,
        len: 0,
    };
    if no_body {
        // nothing to read
    } else if head.chunked {
        read_chunked(&mut r, &mut body).await?;
    } else if let Some(n) = head.content_length {
        consume(&mut r, n, &mut body, "inside the body").await?;
    } else {
        // Delimited by close: read to EOF; the connection cannot be reused.
        keep_alive = false;
        loop {
            body.take(&r.buf);
            r.buf.clear();
            if !r.fill().await? {
                break;
            }
        }
    }
    // Leftover bytes mean the server sent more than one response: don't reuse.
    keep_alive &= r.buf.is_empty();
    Ok(Response {
        status: head.status,
        headers: head.kept,
        keep_alive,
        body: body.kept,
        body_len: body.len,
        location: head.location,
        digest_challenge: head.digest_challenge,
        set_cookies: head.set_cookies,
        content_encoding: head.content_encoding,
    })
}

/// The body as it streams by: counted in full, kept up to `keep` bytes.
struct Body {
    kept: Vec<u8>,
    keep: usize,
    len: u64,
}

impl Body {
    fn take(&mut self, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        let room = self.keep.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

/// Consumes exactly `len` body bytes into `body`.
async fn consume(
    r: &mut Reader<'_, impl Source>,
    len: u64,
    body: &mut Body,
    what: &str,
) -> Result<(), ReadError> {
    let mut left = len;
    while left > 0 {
        if r.buf.is_empty() {
            r.fill_or(what).await?;
        }
        let take = (r.buf.len() as u64).min(left) as usize;
        body.take(&r.buf[..take]);
        r.buf.drain(..take);
        left -= take as u64;
    }
    Ok(())
}

async fn read_chunked(r: &mut Reader<'_, impl Source>, body: &mut Body) -> Result<(), ReadError> {
    loop {
        let (consumed, size) = loop {
            match httparse::parse_chunk_size(&r.buf) {
                Ok(httparse::Status::Complete(c)) => break c,
                Ok(httparse::Status::Partial) => r.fill_or("inside a chunk size").await?,
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
            return read_trailers(r).await;
        }
        consume(r, size, body, "inside a chunk").await?;
        while r.buf.len() < 2 {
            r.fill_or("after a chunk").await?;
        }
        if &r.buf[..2] != b"\r\n" {
            return Err(ReadError::Protocol("chunk not followed by CRLF".into()));
        }
        r.buf.drain(..2);
    }
}

/// After the last chunk: optional trailer lines, then an empty line.
async fn read_trailers(r: &mut Reader<'_, impl Source>) -> Result<(), ReadError> {
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
            None => r.fill_or("inside the trailers").await?,
        }
    }
}

fn head_text(buf: &[u8]) -> String {
    String::from_utf8_lossy(&buf[..buf.len().min(32)]).into_owned()
}

#[cfg(test)]
mod tests;
