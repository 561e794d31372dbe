//! gRPC's length-prefixed messages on an HTTP/2 stream: a flag byte (1:
//! compressed), a 4-byte big-endian length, the message.

/// `message` framed.
pub fn encode(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + message.len());
    out.push(0);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out
}

/// Reply messages read from a stream's data as it arrives. Every message
/// is counted; its bytes are kept while the kept total stays within
/// `keep` (the step's `max_body`).
pub struct Decoder {
    buf: Vec<u8>,
    keep: u64,
    kept_bytes: u64,
    pub kept: Vec<Vec<u8>>,
    pub count: u32,
    /// Messages whose bytes were dropped (past `keep`).
    pub dropped: u32,
}

impl Decoder {
    pub fn new(keep: u64) -> Self {
        Decoder {
            buf: Vec::new(),
            keep,
            kept_bytes: 0,
            kept: Vec::new(),
            count: 0,
            dropped: 0,
        }
    }

    /// Takes `data`; `Err` when a message is compressed (this client asks
    /// for no compression, so a server must not send one).
    pub fn push(&mut self, data: &[u8]) -> Result<(), String> {
        self.buf.extend_from_slice(data);
        let mut at = 0;
        while self.buf.len() - at >= 5 {
            let head = &self.buf[at..at + 5];
            let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
            if head[0] != 0 {
                return Err("the server sent a compressed message (none was asked for)".into());
            }
            if self.buf.len() - at - 5 < len {
                break;
            }
            let message = &self.buf[at + 5..at + 5 + len];
            self.count += 1;
            if self.kept_bytes + len as u64 <= self.keep {
                self.kept_bytes += len as u64;
                self.kept.push(message.to_vec());
            } else {
                self.dropped += 1;
            }
            at += 5 + len;
        }
        self.buf.drain(..at);
        Ok(())
    }

    /// Bytes of a message that never arrived whole.
    pub fn partial(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_anywhere_are_read_whole_and_counted() {
        let mut wire = encode(b"hello");
        wire.extend(encode(b""));
        wire.extend(encode(&[7; 300]));
        for split in [1, 3, 5, 6, 11, 200, wire.len()] {
            let mut d = Decoder::new(1_000);
            for chunk in wire.chunks(split) {
                d.push(chunk).unwrap();
            }
            assert_eq!(d.count, 3, "split {split}");
            assert_eq!(d.kept[0], b"hello");
            assert_eq!(d.kept[2].len(), 300);
            assert_eq!(d.partial(), 0);
        }
        let mut d = Decoder::new(10);
        d.push(&wire).unwrap();
        assert_eq!((d.count, d.kept.len(), d.dropped), (3, 2, 1));
        let mut compressed = encode(b"x");
        compressed[0] = 1;
        assert!(Decoder::new(10).push(&compressed).is_err());
    }
}
