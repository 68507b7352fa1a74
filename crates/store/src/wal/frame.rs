//! The on-disk framing of one WAL record: a 16-byte header and the payload.
//!
//! ```text
//! offset  size  field
//!      0     4  payload length, u32 little-endian
//!      4     4  CRC-32 (IEEE, as computed by `crc32fast`) over bytes 0..4, 8..16 and the payload
//!      8     8  LSN, u64 little-endian
//!     16     n  payload
//! ```
//!
//! The checksum covers the length and the LSN as well as the payload, so a torn or stale header
//! can never pass as a valid record of another length or another position in the log.

/// Size of the fixed header in front of every payload.
pub(crate) const HEADER_LEN: usize = 16;

/// Appends the framed record to `out`.
///
/// The caller has checked that the payload fits in a `u32`; the WAL's maximum record size is
/// validated to be far below that when the log is opened.
pub(crate) fn encode(lsn: u64, payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).expect("payload length is bounded by max_record_size");
    let len_bytes = len.to_le_bytes();
    let lsn_bytes = lsn.to_le_bytes();
    out.reserve(HEADER_LEN + payload.len());
    out.extend_from_slice(&len_bytes);
    out.extend_from_slice(&checksum(len_bytes, lsn_bytes, payload).to_le_bytes());
    out.extend_from_slice(&lsn_bytes);
    out.extend_from_slice(payload);
}

/// The parsed fixed header of a record, not yet checked against its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) len: u32,
    pub(crate) crc: u32,
    pub(crate) lsn: u64,
}

impl Header {
    pub(crate) fn parse(bytes: &[u8; HEADER_LEN]) -> Header {
        let (len, rest) = bytes.split_at(4);
        let (crc, lsn) = rest.split_at(4);
        Header {
            len: u32::from_le_bytes(len.try_into().expect("4 bytes")),
            crc: u32::from_le_bytes(crc.try_into().expect("4 bytes")),
            lsn: u64::from_le_bytes(lsn.try_into().expect("8 bytes")),
        }
    }

    /// Whether `payload` (which must be `len` bytes long) is the one this header was written for.
    pub(crate) fn matches(&self, payload: &[u8]) -> bool {
        payload.len() == self.len as usize
            && checksum(self.len.to_le_bytes(), self.lsn.to_le_bytes(), payload) == self.crc
    }
}

fn checksum(len: [u8; 4], lsn: [u8; 8], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&len);
    hasher.update(&lsn);
    hasher.update(payload);
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(frame: &[u8]) -> Option<(u64, &[u8])> {
        let header = Header::parse(frame.get(..HEADER_LEN)?.try_into().ok()?);
        let payload = frame.get(HEADER_LEN..HEADER_LEN + header.len as usize)?;
        header.matches(payload).then_some((header.lsn, payload))
    }

    #[test]
    fn layout_is_length_crc_lsn_payload_little_endian() {
        let mut out = Vec::new();
        encode(0x0102_0304_0506_0708, b"abc", &mut out);
        assert_eq!(out.len(), HEADER_LEN + 3);
        assert_eq!(&out[0..4], &[3, 0, 0, 0]);
        assert_eq!(&out[8..16], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(&out[16..], b"abc");
        // The checksum is an independent CRC-32 of length, LSN and payload in that order.
        let mut expected = crc32fast::Hasher::new();
        expected.update(&out[0..4]);
        expected.update(&out[8..]);
        assert_eq!(&out[4..8], &expected.finalize().to_le_bytes());
    }

    #[test]
    fn round_trips_including_empty_payload() {
        for payload in [&b""[..], b"x", &[0xFF; 1000]] {
            let mut out = Vec::new();
            encode(42, payload, &mut out);
            assert_eq!(decode(&out), Some((42, payload)));
        }
    }

    #[test]
    fn any_single_byte_flip_is_detected() {
        let mut clean = Vec::new();
        encode(7, b"the payload of a record", &mut clean);
        for i in 0..clean.len() {
            let mut damaged = clean.clone();
            damaged[i] ^= 0x5A;
            assert_eq!(decode(&damaged), None, "flip at byte {i} went unnoticed");
        }
    }

    #[test]
    fn consecutive_frames_are_self_delimiting() {
        let mut out = Vec::new();
        encode(1, b"first", &mut out);
        encode(2, b"", &mut out);
        encode(3, b"third one", &mut out);
        let mut rest = &out[..];
        let mut seen = Vec::new();
        while !rest.is_empty() {
            let (lsn, payload) = decode(rest).expect("valid frame");
            seen.push((lsn, payload.to_vec()));
            rest = &rest[HEADER_LEN + payload.len()..];
        }
        assert_eq!(
            seen,
            vec![
                (1, b"first".to_vec()),
                (2, Vec::new()),
                (3, b"third one".to_vec())
            ]
        );
    }
}
