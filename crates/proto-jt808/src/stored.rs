//! The stored form: one complete message (a frame, or a reassembled message of any body
//! length) as the gateway persists it in the write-ahead log and the platform decodes it again
//! on replay. It is on-disk data: old records must stay readable, so it starts with a format
//! byte and changes only by adding formats.
//!
//! Format 1 (all integers big-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 1 | format = 1 |
//! | 1 | version: 11 (2011), 13 (2013) or 19 (2019) |
//! | 1 | quirk flags: bit 0 = a declared body length follows, bit 1 = a checksum byte follows; other bits 0 |
//! | 2 | (bit 0) the declared body length the wire had, when it was wrong (lenient decode) |
//! | 1 | (bit 1) the checksum byte the wire had, when it was wrong (lenient decode) |
//! | 4 | body length |
//! | 12 or 17 (+4) | the header exactly as the wire layout of `version` has it (+4 when attribute bit 13 is set), except that attribute bits 0–9 (body length) are 0 |
//! | n | the body, unescaped |
//!
//! Nothing may follow the body. The form is deterministic: a frame has exactly one stored form,
//! and `encode_stored(decode_stored(b)) == b` for every `b` that decodes.

use wire::{DecodeError, ErrorKind, Reader, Writer};

use crate::EncodeError;
use crate::frame::{Frame, Quirks, decode_body};
use crate::header::{Header, MAX_BODY_LEN, Version};

/// The format byte this code writes.
pub const STORED_FORMAT: u8 = 1;

const QUIRK_DECLARED: u8 = 1;
const QUIRK_CHECKSUM: u8 = 2;

/// The stored form of a whole message (see the module documentation for the layout).
pub fn encode_stored(frame: &Frame) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(64);
    out.put_u8(STORED_FORMAT);
    out.put_u8(frame.header.version.code());
    let q = frame.quirks;
    let flags = if q.declared_body_len.is_some() {
        QUIRK_DECLARED
    } else {
        0
    } | if q.found_checksum.is_some() {
        QUIRK_CHECKSUM
    } else {
        0
    };
    out.put_u8(flags);
    if let Some(d) = q.declared_body_len {
        if usize::from(d) > MAX_BODY_LEN {
            return Err(EncodeError::Invalid("declared body length over 10 bits"));
        }
        out.put_u16(d);
    }
    if let Some(c) = q.found_checksum {
        out.put_u8(c);
    }
    let len_at = out.len();
    out.put_u32(0);
    frame.header.write(0, &mut out)?;
    let body_at = out.len();
    frame.write_body(&mut out)?;
    let body_len = u32::try_from(out.len() - body_at)
        .map_err(|_| EncodeError::TooLong(out.len() - body_at))?;
    out[len_at..len_at + 4].copy_from_slice(&body_len.to_be_bytes());
    Ok(out)
}

/// Decodes a stored message. Errors name the offset within `bytes` and the field.
pub fn decode_stored(bytes: &[u8]) -> Result<Frame, DecodeError> {
    let mut r = Reader::new(bytes, 0);
    let at = r.offset();
    let format = r.u8("stored.format")?;
    if format != STORED_FORMAT {
        let kind = ErrorKind::OutOfRange {
            value: u64::from(format),
            expected: "stored format 1",
        };
        return Err(DecodeError::new(at, "stored.format", kind));
    }
    let at = r.offset();
    let code = r.u8("stored.version")?;
    let version = Version::from_code(code).ok_or(DecodeError::new(
        at,
        "stored.version",
        ErrorKind::OutOfRange {
            value: u64::from(code),
            expected: "11, 13 or 19",
        },
    ))?;
    let at = r.offset();
    let flags = r.u8("stored.quirks")?;
    if flags & !(QUIRK_DECLARED | QUIRK_CHECKSUM) != 0 {
        return Err(DecodeError::new(
            at,
            "stored.quirks",
            ErrorKind::Invalid("unknown quirk flags"),
        ));
    }
    let mut quirks = Quirks::default();
    if flags & QUIRK_DECLARED != 0 {
        let at = r.offset();
        let d = r.u16("stored.declared_body_len")?;
        if usize::from(d) > MAX_BODY_LEN {
            let kind = ErrorKind::OutOfRange {
                value: u64::from(d),
                expected: "0..=1023",
            };
            return Err(DecodeError::new(at, "stored.declared_body_len", kind));
        }
        quirks.declared_body_len = Some(d);
    }
    if flags & QUIRK_CHECKSUM != 0 {
        quirks.found_checksum = Some(r.u8("stored.checksum")?);
    }
    let at = r.offset();
    let body_len = r.u32("stored.body_len")? as usize;
    let start = r.offset();
    let rest = r.rest();
    let mut header = Header::read(rest, version).map_err(|mut e| {
        e.offset += start;
        e
    })?;
    if rest[2..4] != header.attributes(0).to_be_bytes() {
        return Err(DecodeError::new(
            start + 2,
            "stored.attributes",
            ErrorKind::Invalid("the stored header's body length bits must be 0"),
        ));
    }
    let body = &rest[header.len()..];
    if body.len() != body_len {
        let kind = ErrorKind::LengthMismatch {
            declared: body_len,
            actual: body.len(),
        };
        return Err(DecodeError::new(at, "stored.body_len", kind));
    }
    let base = start + header.len();
    let body = decode_body(&mut header, body, base, false)?;
    Ok(Frame {
        header,
        body,
        quirks,
    })
}
