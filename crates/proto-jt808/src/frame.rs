//! One frame: delimiters, escaping, header, body and checksum; decoding it and encoding it back.
//!
//! Receive order is the standard's: unescape, verify the XOR checksum over header and body,
//! check the declared body length against the real one (which also picks the header version),
//! then parse the body. Strict by default; [`Options::lenient`] accepts a wrong checksum and a
//! wrong declared length (some terminal models get them wrong, vector V16b) and records both in
//! [`Quirks`], so even such a frame encodes back to exactly its bytes.

use std::borrow::Cow;

use serde::Serialize;
use wire::{DecodeError, ErrorKind, Reader, Writer, xor_checksum};

use crate::EncodeError;
use crate::body::{
    Authenticate, GeneralResponse, Register, RegisterResponse, RetransmitRequest, finish,
    register_layout,
};
use crate::escape::{FLAG, escape_into, escaped_offset, unescape};
use crate::header::{Header, Layout, MAX_BODY_LEN, Version};
use crate::location::{Batch, Location};

/// Message ids this codec knows by name.
pub mod msg_id {
    pub const TERMINAL_RESPONSE: u16 = 0x0001;
    pub const HEARTBEAT: u16 = 0x0002;
    pub const LOGOUT: u16 = 0x0003;
    pub const REGISTER: u16 = 0x0100;
    pub const AUTHENTICATE: u16 = 0x0102;
    pub const LOCATION: u16 = 0x0200;
    pub const BATCH: u16 = 0x0704;
    pub const PLATFORM_RESPONSE: u16 = 0x8001;
    pub const RETRANSMIT_REQUEST: u16 = 0x8003;
    pub const REGISTER_RESPONSE: u16 = 0x8100;

    /// The message's name in JSON and logs (`other` for ids this codec keeps raw).
    pub fn name(id: u16) -> &'static str {
        match id {
            TERMINAL_RESPONSE => "terminal_general_response",
            HEARTBEAT => "heartbeat",
            LOGOUT => "logout",
            REGISTER => "register",
            AUTHENTICATE => "authenticate",
            LOCATION => "location",
            BATCH => "batch_location",
            PLATFORM_RESPONSE => "platform_general_response",
            RETRANSMIT_REQUEST => "retransmit_request",
            REGISTER_RESPONSE => "register_response",
            0x0801 => "multimedia_upload",
            0x0900 => "uplink_passthrough",
            0x1205 => "av_resource_list",
            _ => "other",
        }
    }
}

/// Smallest unescaped content: a 2011/2013 header and the checksum.
pub const MIN_CONTENT_LEN: usize = 13;
/// The longest frame on the wire: the 2019 header with subpackage fields (21), the largest body
/// (1 023) and the checksum, every byte escaped, plus the two delimiters.
pub const MAX_FRAME_LEN: usize = 2 + 2 * (21 + MAX_BODY_LEN + 1);

/// The decoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// 0x0001.
    TerminalResponse(GeneralResponse),
    /// 0x8001.
    PlatformResponse(GeneralResponse),
    /// 0x0002 heartbeat and 0x0003 logout with their standard empty body.
    Empty,
    /// 0x0100.
    Register(Register),
    /// 0x8100.
    RegisterResponse(RegisterResponse),
    /// 0x0102.
    Authenticate(Authenticate),
    /// 0x0200.
    Location(Location),
    /// 0x0704.
    Batch(Batch),
    /// 0x8003.
    RetransmitRequest(RetransmitRequest),
    /// Kept as bytes: other message ids, encrypted bodies, one packet of a subpackaged message,
    /// and heartbeats/logouts with vendor bytes.
    Raw(Vec<u8>),
}

/// What a lenient decode accepted that the standard forbids, as the wire had it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Quirks {
    /// The declared body length, when it differs from the real one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_body_len: Option<u16>,
    /// The checksum byte sent, when it differs from the computed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found_checksum: Option<u8>,
}

impl Quirks {
    pub fn is_empty(&self) -> bool {
        self.declared_body_len.is_none() && self.found_checksum.is_none()
    }
}

/// One frame (or, after reassembly, one whole message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub header: Header,
    pub body: Body,
    pub quirks: Quirks,
}

/// Decoder settings, chosen per terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Accept a checksum mismatch and a declared body length that disagrees with the real one.
    pub lenient: bool,
}

/// Decodes one frame as the [`crate::Framer`] delivers it (`7E … 7E`, escaped), strictly.
/// Errors name the byte offset on the wire and the field.
pub fn decode(bytes: &[u8]) -> Result<Frame, DecodeError> {
    decode_with(bytes, Options::default())
}

/// [`decode`] with per-terminal options.
pub fn decode_with(bytes: &[u8], options: Options) -> Result<Frame, DecodeError> {
    if bytes.first() != Some(&FLAG) {
        return Err(DecodeError::new(0, "start", ErrorKind::BadStart));
    }
    if bytes.len() > MAX_FRAME_LEN {
        let kind = ErrorKind::TooLong {
            declared: bytes.len(),
            max: MAX_FRAME_LEN,
        };
        return Err(DecodeError::new(0, "frame", kind));
    }
    let last = bytes.len() - 1;
    if last == 0 || bytes[last] != FLAG {
        let kind = ErrorKind::Invalid("a frame ends with 0x7E");
        return Err(DecodeError::new(last, "end", kind));
    }
    let inner = &bytes[1..last];
    let content = unescape(inner, 1)?;
    decode_content(&content, options).map_err(|mut e| {
        e.offset = 1 + escaped_offset(inner, e.offset);
        e
    })
}

/// Decodes unescaped content (header, body, checksum); offsets are content offsets.
pub(crate) fn decode_content(content: &[u8], options: Options) -> Result<Frame, DecodeError> {
    let n = content.len();
    if n < MIN_CONTENT_LEN {
        let kind = ErrorKind::Truncated {
            needed: MIN_CONTENT_LEN,
            available: n,
        };
        return Err(DecodeError::new(0, "header", kind));
    }
    let (data, found) = (&content[..n - 1], content[n - 1]);
    let mut quirks = Quirks::default();
    let expected = xor_checksum(data);
    if expected != found {
        if !options.lenient {
            let kind = ErrorKind::Checksum { expected, found };
            return Err(DecodeError::new(n - 1, "checksum", kind));
        }
        quirks.found_checksum = Some(found);
    }
    let layout = Layout::of(u16::from_be_bytes([data[2], data[3]]));
    let version = match layout.version(data.len()) {
        Some(v) => v,
        None => {
            let v = layout.fallback_version(data.len());
            let header_len = layout.header_len(v);
            if data.len() < header_len {
                let kind = ErrorKind::Truncated {
                    needed: header_len,
                    available: data.len(),
                };
                return Err(DecodeError::new(0, "header", kind));
            }
            if !options.lenient {
                let kind = ErrorKind::LengthMismatch {
                    declared: layout.declared,
                    actual: data.len() - header_len,
                };
                return Err(DecodeError::new(2, "header.body_length", kind));
            }
            let actual = data.len() - header_len;
            if actual > MAX_BODY_LEN {
                // Not even a lenient terminal sends a body the length field cannot describe.
                let kind = ErrorKind::TooLong {
                    declared: actual,
                    max: MAX_BODY_LEN,
                };
                return Err(DecodeError::new(header_len, "body", kind));
            }
            quirks.declared_body_len = Some(layout.declared as u16);
            v
        }
    };
    let mut header = Header::read(data, version)?;
    let start = header.len();
    let body = decode_body(&mut header, &data[start..], start, true)?;
    Ok(Frame {
        header,
        body,
        quirks,
    })
}

/// Decodes the body of a message with `header`; `base` is the body's offset for errors. With
/// `detect`, a 2011/2013 register body also settles which of the two the header is (the stored
/// form names the version itself).
pub(crate) fn decode_body(
    header: &mut Header,
    body: &[u8],
    base: usize,
    detect: bool,
) -> Result<Body, DecodeError> {
    if header.package.is_some() || header.encryption != 0 {
        return Ok(Body::Raw(body.to_vec()));
    }
    let mut r = Reader::new(body, base);
    let out = match header.msg_id {
        msg_id::TERMINAL_RESPONSE => Body::TerminalResponse(GeneralResponse::read(&mut r)?),
        msg_id::PLATFORM_RESPONSE => Body::PlatformResponse(GeneralResponse::read(&mut r)?),
        msg_id::HEARTBEAT | msg_id::LOGOUT if body.is_empty() => Body::Empty,
        msg_id::REGISTER => {
            if detect && header.version != Version::V2019 {
                header.version = register_layout(body);
            }
            Body::Register(Register::read(&mut r, header.version)?)
        }
        msg_id::REGISTER_RESPONSE => Body::RegisterResponse(RegisterResponse::read(&mut r)?),
        msg_id::AUTHENTICATE => Body::Authenticate(Authenticate::read(&mut r, header.version)?),
        msg_id::LOCATION => Body::Location(Location::read(&mut r)?),
        msg_id::BATCH => Body::Batch(Batch::read(&mut r)?),
        msg_id::RETRANSMIT_REQUEST => {
            Body::RetransmitRequest(RetransmitRequest::read(&mut r, header.version)?)
        }
        _ => Body::Raw(r.rest().to_vec()),
    };
    finish(&r, "body")?;
    Ok(out)
}

impl Frame {
    /// A frame without quirks.
    pub fn new(header: Header, body: Body) -> Self {
        Self {
            header,
            body,
            quirks: Quirks::default(),
        }
    }

    /// The terminal id of the header (see [`crate::Phone::terminal_id`]).
    pub fn terminal_id(&self) -> String {
        self.header.terminal_id()
    }

    /// Encodes the frame for the wire (`7E`, escaped content, `7E`); a decoded frame encodes
    /// back to the bytes it came from.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(64);
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the encoded frame to `out` (on error `out` is left as it was).
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let content = self.content()?;
        out.reserve(content.len() + content.len() / 8 + 2);
        out.push(FLAG);
        escape_into(&content, out);
        out.push(FLAG);
        Ok(())
    }

    /// The unescaped content: header, body and checksum.
    pub fn content(&self) -> Result<Vec<u8>, EncodeError> {
        let mut content = Vec::with_capacity(64);
        self.header.write(0, &mut content)?;
        let start = content.len();
        self.write_body(&mut content)?;
        let body_len = content.len() - start;
        if body_len > MAX_BODY_LEN {
            return Err(EncodeError::TooLong(body_len));
        }
        let declared = self.quirks.declared_body_len.unwrap_or(body_len as u16);
        if usize::from(declared) > MAX_BODY_LEN {
            return Err(EncodeError::Invalid("declared body length over 10 bits"));
        }
        content[2..4].copy_from_slice(&self.header.attributes(declared).to_be_bytes());
        let checksum = self
            .quirks
            .found_checksum
            .unwrap_or_else(|| xor_checksum(&content));
        content.put_u8(checksum);
        Ok(content)
    }

    /// The body bytes (any length: a reassembled message may be longer than one frame).
    pub fn body_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(64);
        self.write_body(&mut out)?;
        Ok(out)
    }

    pub(crate) fn write_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let h = &self.header;
        let v = h.version;
        match (&self.body, h.msg_id) {
            (Body::Raw(b), _) => out.put_slice(b),
            (Body::Empty, msg_id::HEARTBEAT | msg_id::LOGOUT) => {}
            (Body::TerminalResponse(b), msg_id::TERMINAL_RESPONSE)
            | (Body::PlatformResponse(b), msg_id::PLATFORM_RESPONSE) => b.write(out),
            (Body::Register(b), msg_id::REGISTER) => b.write(v, out)?,
            (Body::RegisterResponse(b), msg_id::REGISTER_RESPONSE) => b.write(out),
            (Body::Authenticate(b), msg_id::AUTHENTICATE) => {
                if v != Version::V2019 && b.imei.is_some() {
                    return Err(EncodeError::Invalid(
                        "only 2019 authentication carries IMEI and software version",
                    ));
                }
                b.write(out)?;
            }
            (Body::Location(b), msg_id::LOCATION) => b.write(out)?,
            (Body::Batch(b), msg_id::BATCH) => b.write(out)?,
            (Body::RetransmitRequest(b), msg_id::RETRANSMIT_REQUEST) => b.write(v, out)?,
            _ => {
                return Err(EncodeError::Invalid(
                    "the body does not belong to this message id",
                ));
            }
        }
        Ok(())
    }
}

/// The unescaped content of a wire frame, for callers that look at the header before decoding
/// (e.g. to pick the terminal's options). `None` if it is not a well-formed frame.
pub(crate) fn unescaped(bytes: &[u8]) -> Option<Cow<'_, [u8]>> {
    let inner = bytes.strip_prefix(&[FLAG])?.strip_suffix(&[FLAG])?;
    unescape(inner, 1).ok()
}

/// The header of a wire frame, read without checking checksum or length, for answering a
/// frame whose body does not decode and for picking per-terminal options. `None` when there is
/// not even a header.
pub fn peek_header(bytes: &[u8]) -> Option<Header> {
    let content = unescaped(bytes)?;
    let data = content.get(..content.len().checked_sub(1)?)?;
    let attr = u16::from_be_bytes([*data.get(2)?, *data.get(3)?]);
    let layout = Layout::of(attr);
    let version = layout
        .version(data.len())
        .unwrap_or_else(|| layout.fallback_version(data.len()));
    Header::read(data, version).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Phone;

    /// Found by the fuzzer: lenient decoding must not accept a body the 10-bit length field
    /// cannot describe (such a frame could never be encoded again).
    #[test]
    fn lenient_mode_still_refuses_bodies_over_1023_bytes() {
        let phone = Phone::from_digits("13800000001", 6).unwrap();
        let mut f = Frame::new(
            Header::new(Version::V2013, 0x0900, phone, 1),
            Body::Raw(vec![0x11; 1000]),
        );
        let mut bytes = f.encode().unwrap();
        // Splice 100 more body bytes in before the checksum, leaving the declared length.
        let at = bytes.len() - 2;
        bytes.splice(at..at, [0x22; 100]);
        let err = decode_with(&bytes, Options { lenient: true }).unwrap_err();
        assert_eq!(err.field, "body");
        assert!(matches!(
            err.kind,
            ErrorKind::TooLong { declared: 1100, .. }
        ));
        // Within the limit, the same damage is accepted and kept.
        f.body = Body::Raw(vec![0x11; 10]);
        let mut bytes = f.encode().unwrap();
        let at = bytes.len() - 2;
        bytes.splice(at..at, [0x22; 5]);
        let g = decode_with(&bytes, Options { lenient: true }).unwrap();
        assert_eq!(g.quirks.declared_body_len, Some(10));
        assert!(g.quirks.found_checksum.is_some());
        assert_eq!(g.encode().unwrap(), bytes);
    }
}
