//! A bounds-checked big-endian reader over one frame, and its writing counterpart.

use crate::{DecodeError, ErrorKind};

/// Reads big-endian integers and byte runs, failing with the field's name and offset instead of
/// panicking when the input is short.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// `base` is the offset of `buf[0]` within the whole frame, used in error messages.
    pub fn new(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    /// Offset of the next byte within the whole frame.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Position of the next byte within this reader's buffer.
    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos == self.buf.len()
    }

    pub fn peek_u8(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// An error located at the next byte.
    pub fn error(&self, field: &'static str, kind: ErrorKind) -> DecodeError {
        DecodeError::new(self.offset(), field, kind)
    }

    pub fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let available = self.remaining();
        if n > available {
            return Err(self.error(
                field,
                ErrorKind::Truncated {
                    needed: n,
                    available,
                },
            ));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let b = self.bytes(N, field)?;
        Ok(b.try_into().expect("slice of N bytes"))
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
        out
    }

    /// Checks that `count` items of `item_size` bytes can follow before a list is allocated, so a
    /// forged count cannot make the decoder reserve more memory than the frame holds.
    pub fn expect_items(
        &self,
        count: usize,
        item_size: usize,
        field: &'static str,
    ) -> Result<(), DecodeError> {
        let needed = count.saturating_mul(item_size);
        let available = self.remaining();
        if needed > available {
            return Err(self.error(field, ErrorKind::Truncated { needed, available }));
        }
        Ok(())
    }
}

/// Big-endian writing helpers over a `Vec<u8>`.
pub trait Writer {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_slice(&mut self, v: &[u8]);
}

impl Writer for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_slice(&mut self, v: &[u8]) {
        self.extend_from_slice(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_and_reports_short_input_with_offset() {
        let mut r = Reader::new(&[0x12, 0x34, 0x56, 0x78, 0x9A], 24);
        assert_eq!(r.u16("a").unwrap(), 0x1234);
        assert_eq!(r.offset(), 26);
        let err = r.u32("speed").unwrap_err();
        assert_eq!(err.offset, 26);
        assert_eq!(err.field, "speed");
        assert_eq!(
            err.kind,
            ErrorKind::Truncated {
                needed: 4,
                available: 3
            }
        );
        assert_eq!(
            err.to_string(),
            "byte 26, speed: needs 4 bytes but only 3 remain"
        );
        assert_eq!(r.u8("b").unwrap(), 0x56);
        assert_eq!(r.rest(), &[0x78, 0x9A]);
        assert!(r.is_empty());
    }

    #[test]
    fn forged_counts_are_refused_before_allocation() {
        let r = Reader::new(&[0; 10], 0);
        assert!(r.expect_items(5, 2, "cells").is_ok());
        assert!(r.expect_items(6, 2, "cells").is_err());
        assert!(r.expect_items(usize::MAX, 2, "cells").is_err());
    }

    #[test]
    fn writer_is_big_endian() {
        let mut v = Vec::new();
        v.put_u8(1);
        v.put_u16(0x0203);
        v.put_u32(0x0405_0607);
        v.put_slice(&[8]);
        assert_eq!(v, [1, 2, 3, 4, 5, 6, 7, 8]);
    }
}
