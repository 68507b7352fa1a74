//! The frame: start bytes, header, data unit and BCC; decoding one frame and encoding it back.

use serde::Serialize;
use wire::{DecodeError, ErrorKind, Reader, Writer, xor_checksum};

use crate::EncodeError;
use crate::body::{
    Activation, ActivationResponse, KeyExchange, Logout, ParamList, ParamQuery, PlatformLogin,
    TerminalControl, VehicleLogin2016, VehicleLogin2025,
};
use crate::report::{Report, Report2016, Report2025};
use crate::value::{Encryption, FixedStr, Time, code, hex_bytes};

/// Header (24 bytes) + BCC (1 byte).
pub const OVERHEAD: usize = 25;
/// The largest data unit the standard allows.
pub const MAX_DATA_LEN: usize = 65_531;
/// The largest frame.
pub const MAX_FRAME_LEN: usize = OVERHEAD + MAX_DATA_LEN;

/// `##` marks the 2016 edition, `$$` the 2025 edition; a reply uses the start it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Edition {
    #[serde(rename = "2016")]
    V2016,
    #[serde(rename = "2025")]
    V2025,
}

impl Edition {
    pub fn from_start(b: u8) -> Option<Self> {
        match b {
            b'#' => Some(Self::V2016),
            b'$' => Some(Self::V2025),
            _ => None,
        }
    }

    pub fn start_byte(self) -> u8 {
        match self {
            Self::V2016 => b'#',
            Self::V2025 => b'$',
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2016 => "2016",
            Self::V2025 => "2025",
        }
    }
}

code!(
    /// Command identifier (§3 of the research note).
    Command {
        0x01 => "vehicle_login", 0x02 => "realtime", 0x03 => "reissue", 0x04 => "vehicle_logout",
        0x05 => "platform_login", 0x06 => "platform_logout", 0x07 => "heartbeat",
        0x08 => "time_sync", 0x09 => "activation", 0x0A => "activation_response",
        0x0B => "key_exchange", 0x80 => "param_query", 0x81 => "param_set",
        0x82 => "terminal_control",
    }
);

impl Command {
    pub const VEHICLE_LOGIN: Self = Self(0x01);
    pub const REALTIME: Self = Self(0x02);
    pub const REISSUE: Self = Self(0x03);
    pub const VEHICLE_LOGOUT: Self = Self(0x04);
    pub const PLATFORM_LOGIN: Self = Self(0x05);
    pub const PLATFORM_LOGOUT: Self = Self(0x06);
    pub const HEARTBEAT: Self = Self(0x07);
    pub const TIME_SYNC: Self = Self(0x08);
    pub const ACTIVATION: Self = Self(0x09);
    pub const ACTIVATION_RESPONSE: Self = Self(0x0A);
    pub const KEY_EXCHANGE: Self = Self(0x0B);
    pub const PARAM_QUERY: Self = Self(0x80);
    pub const PARAM_SET: Self = Self(0x81);
    pub const TERMINAL_CONTROL: Self = Self(0x82);

    /// Commands 0xC0–0xFE are left to platforms and vendors.
    pub fn is_vendor(self) -> bool {
        (0xC0..=0xFE).contains(&self.0)
    }

    /// The name used in JSON and logs: the standard name, `vendor` or `reserved`.
    pub fn label(self) -> &'static str {
        match self.value_name() {
            Some(n) => n,
            None if self.is_vendor() => "vendor",
            None => "reserved",
        }
    }
}

code!(
    /// Response flag: 0xFE marks a command; anything else is a reply. 0x04–0x07 are 2025 only.
    Response {
        0x01 => "success", 0x02 => "error", 0x03 => "vin_duplicate", 0x04 => "vin_not_exist",
        0x05 => "signature_error", 0x06 => "structure_error", 0x07 => "decryption_error",
    }
);

impl Response {
    pub const SUCCESS: Self = Self(0x01);
    pub const ERROR: Self = Self(0x02);
    pub const VIN_DUPLICATE: Self = Self(0x03);
    pub const VIN_NOT_EXIST: Self = Self(0x04);
    pub const SIGNATURE_ERROR: Self = Self(0x05);
    pub const STRUCTURE_ERROR: Self = Self(0x06);
    pub const DECRYPTION_ERROR: Self = Self(0x07);
    pub const COMMAND: Self = Self(0xFE);

    pub fn is_command(self) -> bool {
        self == Self::COMMAND
    }

    pub fn label(self) -> &'static str {
        match self.0 {
            0xFE => "command",
            _ => self.value_name().unwrap_or("unknown"),
        }
    }
}

/// The 22 bytes after the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub edition: Edition,
    pub command: Command,
    pub response: Response,
    /// The VIN, or a platform's own identifier; kept byte for byte.
    pub vin: FixedStr<17>,
    pub encryption: Encryption,
}

impl Header {
    /// Whether the data unit is ciphertext (RSA, AES, SM2, SM4); 0x01 and the sentinels are not.
    pub fn is_encrypted(&self) -> bool {
        (0x02..=0x05).contains(&self.encryption.0)
    }
}

/// The decoded data unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Body {
    VehicleLogin2016(VehicleLogin2016),
    VehicleLogin2025(VehicleLogin2025),
    /// Realtime (0x02) or reissue (0x03), by the header's command.
    Report(Report),
    /// Vehicle (0x04) or platform (0x06) logout.
    Logout(Logout),
    PlatformLogin(PlatformLogin),
    Activation(Activation),
    ActivationResponse(ActivationResponse),
    KeyExchange(KeyExchange),
    ParamQuery(ParamQuery),
    /// A parameter set command, or a terminal's reply to a query.
    Params(ParamList),
    TerminalControl(TerminalControl),
    /// Empty data unit: heartbeat, time-sync request, or a reply without a body.
    Empty,
    /// A reply carrying only a time: the request's (the standard reply) or the platform's (a
    /// time-sync reply).
    Time {
        time: Time,
    },
    /// Data units kept as bytes: vendor and reserved commands, encrypted data units.
    Raw(#[serde(serialize_with = "hex_bytes")] Vec<u8>),
}

impl Body {
    /// The time the data unit starts with, where it has one.
    pub fn time(&self) -> Option<Time> {
        Some(match self {
            Self::VehicleLogin2016(b) => b.time,
            Self::VehicleLogin2025(b) => b.time,
            Self::Report(r) => r.time(),
            Self::Logout(b) => b.time,
            Self::PlatformLogin(b) => b.time,
            Self::Activation(b) => b.time,
            Self::ParamQuery(b) => b.time,
            Self::Params(b) => b.time,
            Self::TerminalControl(b) => b.time,
            Self::Time { time } => *time,
            Self::ActivationResponse(_) | Self::KeyExchange(_) | Self::Empty | Self::Raw(_) => {
                return None;
            }
        })
    }
}

/// One whole frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub header: Header,
    pub body: Body,
}

/// Decodes one complete frame (as the [`crate::Framer`] delivers them): start, length, BCC,
/// header, data unit. Errors name the byte offset and the field.
pub fn decode(bytes: &[u8]) -> Result<Frame, DecodeError> {
    let edition = match bytes {
        [a, b, ..] if a == b => Edition::from_start(*a),
        _ => None,
    }
    .ok_or(DecodeError::new(0, "start", ErrorKind::BadStart))?;
    if bytes.len() < OVERHEAD {
        let kind = ErrorKind::Truncated {
            needed: OVERHEAD,
            available: bytes.len(),
        };
        return Err(DecodeError::new(0, "header", kind));
    }
    let declared = usize::from(u16::from_be_bytes([bytes[22], bytes[23]]));
    if declared > MAX_DATA_LEN {
        return Err(DecodeError::new(
            22,
            "data_length",
            ErrorKind::TooLong {
                declared,
                max: MAX_DATA_LEN,
            },
        ));
    }
    if bytes.len() != OVERHEAD + declared {
        let kind = ErrorKind::LengthMismatch {
            declared,
            actual: bytes.len() - OVERHEAD,
        };
        return Err(DecodeError::new(22, "data_length", kind));
    }
    let last = bytes.len() - 1;
    let expected = xor_checksum(&bytes[2..last]);
    if expected != bytes[last] {
        let kind = ErrorKind::Checksum {
            expected,
            found: bytes[last],
        };
        return Err(DecodeError::new(last, "bcc", kind));
    }
    let header = Header {
        edition,
        command: Command(bytes[2]),
        response: Response(bytes[3]),
        vin: FixedStr(bytes[4..21].try_into().expect("17 bytes")),
        encryption: Encryption(bytes[21]),
    };
    let body = decode_body(&header, &bytes[24..last])?;
    Ok(Frame { header, body })
}

/// Decodes a data unit for a header. `data` starts at frame offset 24.
pub fn decode_body(header: &Header, data: &[u8]) -> Result<Body, DecodeError> {
    let mut r = Reader::new(data, 24);
    if header.is_encrypted() {
        return Ok(Body::Raw(data.to_vec()));
    }
    let v2025 = header.edition == Edition::V2025;
    let c = header.command;
    if !header.response.is_command() {
        // A reply: the standard's time-only body, an empty one, or (Annex B of 2016, and EMQX)
        // the request's body echoed with a new time; a query reply carries the parameters.
        match data.len() {
            0 => return Ok(Body::Empty),
            6 => {
                return Ok(Body::Time {
                    time: Time::read(&mut r, "reply.time")?,
                });
            }
            _ if c == Command::PARAM_QUERY => {
                let body = Body::Params(ParamList::read(&mut r, v2025)?);
                return finish(r, body);
            }
            _ => {}
        }
    }
    let body = match c {
        Command::VEHICLE_LOGIN if v2025 => Body::VehicleLogin2025(VehicleLogin2025::read(&mut r)?),
        Command::VEHICLE_LOGIN => Body::VehicleLogin2016(VehicleLogin2016::read(&mut r)?),
        Command::REALTIME | Command::REISSUE if v2025 => {
            Body::Report(Report::V2025(Report2025::read(&mut r)?))
        }
        Command::REALTIME | Command::REISSUE => {
            Body::Report(Report::V2016(Report2016::read(&mut r)?))
        }
        Command::VEHICLE_LOGOUT | Command::PLATFORM_LOGOUT => Body::Logout(Logout::read(&mut r)?),
        Command::PLATFORM_LOGIN => Body::PlatformLogin(PlatformLogin::read(&mut r)?),
        Command::HEARTBEAT | Command::TIME_SYNC => Body::Empty,
        Command::ACTIVATION => Body::Activation(Activation::read(&mut r)?),
        Command::ACTIVATION_RESPONSE => Body::ActivationResponse(ActivationResponse::read(&mut r)?),
        Command::KEY_EXCHANGE => Body::KeyExchange(KeyExchange::read(&mut r)?),
        Command::PARAM_QUERY => Body::ParamQuery(ParamQuery::read(&mut r)?),
        Command::PARAM_SET => Body::Params(ParamList::read(&mut r, v2025)?),
        Command::TERMINAL_CONTROL => Body::TerminalControl(TerminalControl::read(&mut r)?),
        _ => Body::Raw(r.rest().to_vec()),
    };
    finish(r, body)
}

fn finish(r: Reader<'_>, body: Body) -> Result<Body, DecodeError> {
    if !r.is_empty() {
        return Err(r.error(
            "data_unit",
            ErrorKind::Invalid("bytes left over after the last field of the data unit"),
        ));
    }
    Ok(body)
}

impl Frame {
    /// Encodes the frame; a decoded frame encodes back to the bytes it came from.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(256);
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the encoded frame to `out` (on error `out` is left as it was).
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        let h = &self.header;
        let s = h.edition.start_byte();
        out.put_slice(&[s, s, h.command.0, h.response.0]);
        out.put_slice(&h.vin.0);
        out.put_u8(h.encryption.0);
        out.put_u16(0);
        let result = self.write_body(out);
        let len = out.len() - start - 24;
        let result = result.and(if len > MAX_DATA_LEN {
            Err(EncodeError::TooLong(len))
        } else {
            Ok(())
        });
        if let Err(e) = result {
            out.truncate(start);
            return Err(e);
        }
        out[start + 22..start + 24].copy_from_slice(&(len as u16).to_be_bytes());
        let bcc = xor_checksum(&out[start + 2..]);
        out.put_u8(bcc);
        Ok(())
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let h = &self.header;
        let v2025 = h.edition == Edition::V2025;
        let c = h.command;
        let mismatch = || {
            Err(EncodeError::Invalid(
                "the body does not belong to this command or edition",
            ))
        };
        match &self.body {
            Body::Raw(b) => out.put_slice(b),
            Body::Empty => {}
            Body::Time { time } if !h.response.is_command() => out.put_slice(&time.0),
            Body::Time { .. } => return mismatch(),
            Body::VehicleLogin2016(b) if c == Command::VEHICLE_LOGIN && !v2025 => b.write(out)?,
            Body::VehicleLogin2025(b) if c == Command::VEHICLE_LOGIN && v2025 => b.write(out)?,
            Body::Report(Report::V2016(b)) if is_report(c) && !v2025 => b.write(out)?,
            Body::Report(Report::V2025(b)) if is_report(c) && v2025 => b.write(out)?,
            Body::Logout(b) if c == Command::VEHICLE_LOGOUT || c == Command::PLATFORM_LOGOUT => {
                b.write(out);
            }
            Body::PlatformLogin(b) if c == Command::PLATFORM_LOGIN => b.write(out),
            Body::Activation(b) if c == Command::ACTIVATION => b.write(out)?,
            Body::ActivationResponse(b) if c == Command::ACTIVATION_RESPONSE => b.write(out),
            Body::KeyExchange(b) if c == Command::KEY_EXCHANGE => b.write(out)?,
            Body::ParamQuery(b) if c == Command::PARAM_QUERY => b.write(out)?,
            Body::Params(b)
                if b.edition_2025 == v2025
                    && (c == Command::PARAM_SET
                        || (c == Command::PARAM_QUERY && !h.response.is_command())) =>
            {
                b.write(out)?;
            }
            Body::TerminalControl(b) if c == Command::TERMINAL_CONTROL => b.write(out)?,
            _ => return mismatch(),
        }
        Ok(())
    }
}

fn is_report(c: Command) -> bool {
    c == Command::REALTIME || c == Command::REISSUE
}
