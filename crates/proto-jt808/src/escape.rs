//! The 0x7E/0x7D transparency of JT/T 808: what lies between the two 0x7E delimiters is escaped
//! so that 0x7E never appears inside a frame.
//!
//! `0x7E` is sent as `7D 02` and `0x7D` as `7D 01`; everything else as itself. The sender escapes
//! after computing the checksum, so the checksum byte is escaped too (vector V11).

use std::borrow::Cow;

use wire::{DecodeError, ErrorKind};

/// The frame delimiter.
pub const FLAG: u8 = 0x7E;
/// The escape byte.
pub const ESCAPE: u8 = 0x7D;

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `v` is zero (the classic SWAR test: exact, no false positives when used
/// only to pick the chunk that is then searched bytewise).
fn has_zero_byte(v: u64) -> bool {
    v.wrapping_sub(LOW_BITS) & !v & HIGH_BITS != 0
}

/// The first index of `a` or `b` in `bytes`, eight bytes at a time: this scan runs over every
/// byte received, so it is worth not going byte by byte.
pub(crate) fn find2(bytes: &[u8], a: u8, b: u8) -> Option<usize> {
    let (wa, wb) = (LOW_BITS * u64::from(a), LOW_BITS * u64::from(b));
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let v = u64::from_le_bytes(chunk.try_into().expect("chunk of 8"));
        if has_zero_byte(v ^ wa) || has_zero_byte(v ^ wb) {
            break;
        }
        base += 8;
    }
    bytes[base..]
        .iter()
        .position(|&x| x == a || x == b)
        .map(|i| base + i)
}

/// Appends `content` escaped to `out`.
pub fn escape_into(content: &[u8], out: &mut Vec<u8>) {
    let mut rest = content;
    // Copy runs without special bytes in one go: most frames have none at all.
    while let Some(i) = find2(rest, FLAG, ESCAPE) {
        out.extend_from_slice(&rest[..i]);
        out.push(ESCAPE);
        out.push(if rest[i] == FLAG { 0x02 } else { 0x01 });
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

/// The unescaped form of the bytes between the delimiters. Borrows when there is nothing to
/// unescape (the common case). `base` is the wire offset of `inner[0]`, for error messages.
pub fn unescape(inner: &[u8], base: usize) -> Result<Cow<'_, [u8]>, DecodeError> {
    let Some(first) = find2(inner, FLAG, ESCAPE) else {
        return Ok(Cow::Borrowed(inner));
    };
    let mut out = Vec::with_capacity(inner.len());
    out.extend_from_slice(&inner[..first]);
    let mut i = first;
    while i < inner.len() {
        match inner[i] {
            FLAG => {
                return Err(DecodeError::new(
                    base + i,
                    "frame",
                    ErrorKind::Invalid("0x7E inside a frame (it must be sent as 7D 02)"),
                ));
            }
            ESCAPE => {
                match inner.get(i + 1) {
                    Some(0x01) => out.push(ESCAPE),
                    Some(0x02) => out.push(FLAG),
                    _ => {
                        return Err(DecodeError::new(
                            base + i,
                            "escape",
                            ErrorKind::Invalid("0x7D must be followed by 0x01 or 0x02"),
                        ));
                    }
                }
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(Cow::Owned(out))
}

/// The offset within `inner` (escaped bytes) of the unescaped byte at `pos`. Used to turn an
/// error position in the unescaped content into the byte an operator sees in a capture. `inner`
/// must be valid escaped content; a position past the end maps past the end.
pub(crate) fn escaped_offset(inner: &[u8], pos: usize) -> usize {
    let mut seen = 0usize;
    let mut i = 0usize;
    while i < inner.len() {
        if seen == pos {
            return i;
        }
        i += if inner[i] == ESCAPE { 2 } else { 1 };
        seen += 1;
    }
    i + (pos - seen.min(pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standards_example() {
        // JT/T 808 §4.4.1: content 30 7E 08 7D 55 is sent as 7E 30 7D 02 08 7D 01 55 7E.
        let mut out = Vec::new();
        escape_into(&[0x30, 0x7E, 0x08, 0x7D, 0x55], &mut out);
        assert_eq!(out, [0x30, 0x7D, 0x02, 0x08, 0x7D, 0x01, 0x55]);
        assert_eq!(
            unescape(&out, 1).unwrap().as_ref(),
            [0x30, 0x7E, 0x08, 0x7D, 0x55]
        );
        assert_eq!(escaped_offset(&out, 0), 0);
        assert_eq!(escaped_offset(&out, 2), 3);
        assert_eq!(escaped_offset(&out, 4), 6);
        assert_eq!(escaped_offset(&out, 5), 7);
    }

    #[test]
    fn find2_agrees_with_a_bytewise_search() {
        for len in 0..40usize {
            for at in 0..=len {
                let mut v: Vec<u8> = (0..len).map(|i| (i * 7 + 1) as u8 & 0x3F).collect();
                if at < len {
                    v[at] = if at % 2 == 0 { FLAG } else { ESCAPE };
                }
                let slow = v.iter().position(|&b| b == FLAG || b == ESCAPE);
                assert_eq!(find2(&v, FLAG, ESCAPE), slow, "len {len} at {at}");
            }
        }
        assert_eq!(
            find2(&[0xFF, 0x7F, 0x7E, 0, 0, 0, 0, 0, 0], FLAG, FLAG),
            Some(2)
        );
    }

    #[test]
    fn plain_content_is_borrowed_and_bad_escapes_are_located() {
        assert!(matches!(unescape(&[1, 2, 3], 1).unwrap(), Cow::Borrowed(_)));
        let err = unescape(&[1, 0x7D, 0x03], 1).unwrap_err();
        assert_eq!(err.offset, 2);
        assert_eq!(err.field, "escape");
        let err = unescape(&[1, 2, 0x7D], 1).unwrap_err();
        assert_eq!(err.offset, 3);
        let err = unescape(&[0x7D, 0x01, 0x7E], 1).unwrap_err();
        assert_eq!(err.offset, 3);
        assert_eq!(err.field, "frame");
    }
}
