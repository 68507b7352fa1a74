//! Splits a TCP byte stream into JT/T 808 frames.
//!
//! A frame is whatever lies between two 0x7E bytes; escaping guarantees 0x7E appears nowhere
//! else. Frames may share a delimiter (`7E a 7E b 7E`) or not (`7E a 7E 7E b 7E`), and a
//! stream joined mid-frame starts with the tail of a frame. So the closing 0x7E of a frame is
//! never consumed with it: it is kept as the possible opening of the next one, and an empty
//! frame (`7E 7E`) simply moves the start forward. This resynchronises after any garbage
//! without losing the frame that follows it; garbage between frames comes out as one candidate
//! that the decoder rejects (and the gateway counts).
//!
//! The framer checks only the delimiters and the size; escaping, checksum and lengths are the
//! decoder's, because whether a bad checksum is acceptable depends on the terminal.

use wire::{DecodeError, ErrorKind};

use crate::escape::{FLAG, find2};
use crate::frame::MAX_FRAME_LEN;

/// Buffers stream bytes and yields whole frames (with both delimiters, still escaped). Holds
/// at most one maximal frame plus whatever was pushed in one call.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
    /// Start of the unconsumed part of `buf`; when a frame is in progress, its opening 0x7E.
    pos: usize,
    /// How far past `pos` the search for the closing 0x7E has already looked.
    scanned: usize,
    discarded: u64,
}

impl Framer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        // Compact before growing so the buffer does not creep forward without bound.
        if self.pos > 0 && (self.pos == self.buf.len() || self.pos >= self.buf.len() / 2) {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes dropped: garbage before a frame start, and over-long frames.
    pub fn discarded_bytes(&self) -> u64 {
        self.discarded
    }

    /// Bytes waiting for the rest of their frame (a lone trailing 0x7E counts: it may open the
    /// next frame).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next frame, an error for an over-long one (the stream goes on after it), or `None`
    /// when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, DecodeError>> {
        loop {
            let data = &self.buf[self.pos..];
            if data.first() != Some(&FLAG) {
                // Outside a frame: skip to the next delimiter.
                let found = find2(data, FLAG, FLAG);
                self.skip(found.unwrap_or(data.len()));
                found?;
                continue;
            }
            let from = self.scanned.max(1);
            let Some(end) = find2(&data[from..], FLAG, FLAG).map(|i| from + i) else {
                if data.len() >= MAX_FRAME_LEN {
                    // No closing delimiter within the longest possible frame: drop what we
                    // have; the next 0x7E is taken as a start.
                    let n = data.len();
                    self.skip(n);
                    return Some(Err(too_long(n)));
                }
                self.scanned = data.len();
                return None;
            };
            self.scanned = 0;
            if end == 1 {
                // `7E 7E`: the second one opens the next frame.
                self.pos += 1;
                continue;
            }
            let total = end + 1;
            if total > MAX_FRAME_LEN {
                self.skip(end);
                return Some(Err(too_long(total)));
            }
            let frame = data[..total].to_vec();
            // Keep the closing delimiter: it may be the next frame's opening one.
            self.pos += end;
            return Some(Ok(frame));
        }
    }

    fn skip(&mut self, n: usize) {
        self.pos += n;
        self.scanned = 0;
        self.discarded += n as u64;
    }
}

fn too_long(n: usize) -> DecodeError {
    let kind = ErrorKind::TooLong {
        declared: n,
        max: MAX_FRAME_LEN,
    };
    DecodeError::new(0, "frame", kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    // V10 of shared/vectors/jt808.md (heartbeat) and V11 (heartbeat whose checksum is escaped).
    const V10: &str = "7E00020000012345678900000A817E";
    const V11: &str = "7E00020000040021679287002B7D027E";

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    fn drain(f: &mut Framer) -> Vec<Result<Vec<u8>, DecodeError>> {
        std::iter::from_fn(|| f.next_frame()).collect()
    }

    #[test]
    fn partial_joined_and_shared_delimiters() {
        let mut f = Framer::new();
        let two = [h(V10), h(V11)].concat();
        f.push(&two[..5]);
        assert!(drain(&mut f).is_empty());
        f.push(&two[5..20]);
        assert_eq!(drain(&mut f), vec![Ok(h(V10))]);
        f.push(&two[20..]);
        assert_eq!(drain(&mut f), vec![Ok(h(V11))]);
        assert_eq!(f.discarded_bytes(), 0);
        assert_eq!(f.buffered(), 1, "the last 0x7E may open a frame");

        // One delimiter between two frames.
        let mut f = Framer::new();
        let v10 = h(V10);
        f.push(&[&v10[..v10.len() - 1], &h(V11)[..]].concat());
        let shared_b = [&[FLAG][..], &h(V11)[1..]].concat();
        assert_eq!(drain(&mut f), vec![Ok(v10), Ok(shared_b)]);
    }

    #[test]
    fn joining_mid_frame_and_garbage_lose_no_frame() {
        // The tail of a frame, then two good frames.
        let mut f = Framer::new();
        f.push(&[&h(V10)[6..], &h(V10)[..], &h(V11)[..]].concat());
        let out = drain(&mut f);
        assert_eq!(out, vec![Ok(h(V10)), Ok(h(V11))]);
        // Garbage with a 0x7E in it between frames: one bad candidate, both frames intact.
        let mut f = Framer::new();
        f.push(&[&h(V10)[..], b"junk\x7Emore junk", &h(V11)[..]].concat());
        let out = drain(&mut f);
        assert_eq!(out.len(), 4);
        assert_eq!(out[0], Ok(h(V10)));
        assert_eq!(out[3], Ok(h(V11)));
        assert!(crate::decode(out[1].as_ref().unwrap()).is_err());
        assert!(crate::decode(out[2].as_ref().unwrap()).is_err());
    }

    #[test]
    fn over_long_frames_are_refused_and_the_next_one_read() {
        let mut f = Framer::new();
        let mut long = vec![FLAG];
        long.resize(MAX_FRAME_LEN + 10, 0x30);
        f.push(&long);
        let out = drain(&mut f);
        assert_eq!(out.len(), 1);
        let err = out[0].clone().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "byte 0, frame: length {} exceeds the maximum 2092",
                MAX_FRAME_LEN + 10
            )
        );
        f.push(&[0x30; 50]);
        f.push(&h(V10));
        assert_eq!(drain(&mut f), vec![Ok(h(V10))]);

        // Over-long with its closing delimiter in the same read.
        let mut f = Framer::new();
        let mut long = vec![FLAG; 1];
        long.resize(MAX_FRAME_LEN, 0x31);
        long.push(FLAG);
        f.push(&[long, h(V11)].concat());
        let out = drain(&mut f);
        assert!(out[0].is_err());
        assert_eq!(out[1], Ok(h(V11)));
    }

    #[test]
    fn memory_stays_bounded_under_endless_garbage() {
        let mut f = Framer::new();
        for i in 0..1000 {
            let byte = if i % 2 == 0 { 0x55 } else { FLAG };
            f.push(&[byte; 4096]);
            while f.next_frame().is_some() {}
            assert!(f.buf.len() <= 2 * 4096 + MAX_FRAME_LEN, "{}", f.buf.len());
        }
    }

    #[test]
    fn a_frame_fed_byte_by_byte_is_scanned_once() {
        let mut f = Framer::new();
        let v = h(V11);
        for (i, b) in v.iter().enumerate() {
            f.push(&[*b]);
            let out = drain(&mut f);
            if i + 1 == v.len() {
                assert_eq!(out, vec![Ok(v.clone())]);
            } else {
                assert!(out.is_empty());
            }
        }
    }
}
