//! Splits a TCP byte stream into GB/T 32960 frames.
//!
//! Frames have no end marker and no escaping: they are delimited by the start bytes and the
//! length field only. So after garbage the framer scans for the next `##`/`$$` whose header is
//! plausible (a known response flag and encryption byte, a printable identifier) and takes the
//! frame from there; a frame whose BCC is wrong is reported and skipped whole.

use wire::{DecodeError, ErrorKind, xor_checksum};

use crate::frame::{MAX_DATA_LEN, OVERHEAD};

/// Buffers stream bytes and yields whole frames. Holds at most one maximal frame plus whatever
/// was pushed in one call, so its memory is bounded by the caller's read size.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
    /// Start of the unconsumed part of `buf`.
    pos: usize,
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

    /// Bytes dropped while searching for a frame start (garbage between frames).
    pub fn discarded_bytes(&self) -> u64 {
        self.discarded
    }

    /// Bytes waiting for the rest of their frame.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next complete frame, an error for a frame that cannot be accepted (over-long, wrong
    /// BCC; the stream continues after it), or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, DecodeError>> {
        loop {
            let data = &self.buf[self.pos..];
            let Some(start) = find_start(data) else {
                // Keep a last start byte: its twin may be in the next read.
                let keep = usize::from(matches!(data.last(), Some(b'#' | b'$')));
                self.skip(data.len() - keep);
                return None;
            };
            if start > 0 {
                self.skip(start);
                continue;
            }
            if data.len() < 24 {
                // Judge plausibility as soon as the bytes are there, so garbage does not wait.
                if !plausible_prefix(data) {
                    self.skip(1);
                    continue;
                }
                return None;
            }
            if !plausible_prefix(&data[..24]) {
                self.skip(1);
                continue;
            }
            let declared = usize::from(u16::from_be_bytes([data[22], data[23]]));
            if declared > MAX_DATA_LEN {
                self.skip(2);
                let kind = ErrorKind::TooLong {
                    declared,
                    max: MAX_DATA_LEN,
                };
                return Some(Err(DecodeError::new(22, "data_length", kind)));
            }
            let total = OVERHEAD + declared;
            if data.len() < total {
                return None;
            }
            let frame = &data[..total];
            let expected = xor_checksum(&frame[2..total - 1]);
            let found = frame[total - 1];
            if expected != found {
                self.pos += total;
                let kind = ErrorKind::Checksum { expected, found };
                return Some(Err(DecodeError::new(total - 1, "bcc", kind)));
            }
            let out = frame.to_vec();
            self.pos += total;
            return Some(Ok(out));
        }
    }

    fn skip(&mut self, n: usize) {
        self.pos += n;
        self.discarded += n as u64;
    }
}

fn find_start(data: &[u8]) -> Option<usize> {
    data.windows(2)
        .position(|w| w[0] == w[1] && matches!(w[0], b'#' | b'$'))
}

/// Checks the header bytes present so far: response flag 0x01–0x07 or 0xFE; identifier bytes
/// NUL or printable ASCII; encryption 0x01–0x05, 0xFE or 0xFF.
fn plausible_prefix(h: &[u8]) -> bool {
    if let Some(&ack) = h.get(3)
        && !matches!(ack, 0x01..=0x07 | 0xFE)
    {
        return false;
    }
    let vin_end = h.len().min(21);
    if h.len() > 4
        && !h[4..vin_end]
            .iter()
            .all(|&b| b == 0 || (0x20..0x7F).contains(&b))
    {
        return false;
    }
    if let Some(&enc) = h.get(21)
        && !matches!(enc, 0x01..=0x05 | 0xFE | 0xFF)
    {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEARTBEAT: &str = "232307FE4838323230363530303030303030303030010000BB";

    fn hb() -> Vec<u8> {
        hex::decode(HEARTBEAT).unwrap()
    }

    fn drain(f: &mut Framer) -> Vec<Result<Vec<u8>, DecodeError>> {
        std::iter::from_fn(|| f.next_frame()).collect()
    }

    #[test]
    fn partial_and_concatenated_frames() {
        let mut f = Framer::new();
        let two = [hb(), hb()].concat();
        f.push(&two[..10]);
        assert!(drain(&mut f).is_empty());
        f.push(&two[10..30]);
        assert_eq!(drain(&mut f), vec![Ok(hb())]);
        f.push(&two[30..]);
        assert_eq!(drain(&mut f), vec![Ok(hb())]);
        assert_eq!(f.buffered(), 0);
        assert_eq!(f.discarded_bytes(), 0);
    }

    #[test]
    fn resyncs_after_garbage_including_fake_starts() {
        let mut f = Framer::new();
        let garbage = b"xx##\x99\x99garbage$$\x01\x01\x80\x80\x80".to_vec();
        f.push(&[garbage.clone(), hb()].concat());
        assert_eq!(drain(&mut f), vec![Ok(hb())]);
        assert_eq!(f.discarded_bytes(), garbage.len() as u64);
    }

    #[test]
    fn bad_bcc_is_reported_and_the_next_frame_still_read() {
        let mut bad = hb();
        *bad.last_mut().unwrap() ^= 0xFF;
        let mut f = Framer::new();
        f.push(&[bad, hb()].concat());
        let out = drain(&mut f);
        assert_eq!(out.len(), 2);
        let err = out[0].clone().unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::Checksum {
                expected: 0xBB,
                found: 0x44
            }
        );
        assert_eq!(
            err.to_string(),
            "byte 24, bcc: checksum mismatch: expected 0xBB, found 0x44"
        );
        assert_eq!(out[1], Ok(hb()));
    }

    #[test]
    fn over_long_length_is_refused_without_buffering() {
        let mut long = hb();
        long[22] = 0xFF;
        long[23] = 0xFC; // 65 532
        let mut f = Framer::new();
        f.push(&long);
        let out = drain(&mut f);
        assert!(matches!(
            out[0],
            Err(DecodeError {
                kind: ErrorKind::TooLong {
                    declared: 65_532,
                    ..
                },
                ..
            })
        ));
        f.push(&hb());
        assert_eq!(drain(&mut f), vec![Ok(hb())]);
    }

    #[test]
    fn memory_stays_bounded_under_endless_garbage() {
        let mut f = Framer::new();
        for _ in 0..1000 {
            f.push(&[0x55; 4096]);
            assert!(f.next_frame().is_none());
            assert!(f.buf.len() <= 2 * 4096);
        }
        assert_eq!(f.discarded_bytes(), 4096 * 1000);
    }
}
