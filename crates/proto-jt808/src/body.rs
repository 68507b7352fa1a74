//! The bodies of the session messages: general responses, register and its response,
//! authentication, and the subpackage retransmission request.

use serde::Serialize;
use wire::{DecodeError, ErrorKind, Reader, Writer};

use crate::EncodeError;
use crate::header::Version;
use crate::value::Text;

/// 0x0001 (terminal) and 0x8001 (platform) general response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GeneralResponse {
    /// The serial of the message answered.
    pub ack_serial: u16,
    /// The id of the message answered.
    #[serde(serialize_with = "msg_id_hex")]
    pub ack_msg_id: u16,
    /// 0 success/ack, 1 failure, 2 message error, 3 unsupported, 4 alarm handling confirmed
    /// (platform only).
    pub result: u8,
}

impl GeneralResponse {
    pub const SUCCESS: u8 = 0;
    pub const FAILURE: u8 = 1;
    pub const MESSAGE_ERROR: u8 = 2;
    pub const UNSUPPORTED: u8 = 3;
    pub const ALARM_CONFIRMED: u8 = 4;

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            ack_serial: r.u16("response.ack_serial")?,
            ack_msg_id: r.u16("response.ack_msg_id")?,
            result: r.u8("response.result")?,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.put_u16(self.ack_serial);
        out.put_u16(self.ack_msg_id);
        out.put_u8(self.result);
    }

    /// The result's name.
    pub fn result_name(&self) -> &'static str {
        match self.result {
            0 => "success",
            1 => "failure",
            2 => "message_error",
            3 => "unsupported",
            4 => "alarm_confirmed",
            _ => "unknown",
        }
    }
}

pub(crate) fn msg_id_hex<S: serde::Serializer>(id: &u16, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("0x{id:04X}"))
}

/// Widths of the fixed text fields of 0x0100 per version: maker, model, terminal id.
pub(crate) fn register_widths(version: Version) -> (usize, usize, usize) {
    match version {
        Version::V2011 => (5, 8, 7),
        Version::V2013 => (5, 20, 7),
        Version::V2019 => (11, 30, 30),
    }
}

/// Bytes of a 0x0100 body before the plate: province, city, maker, model, terminal id, colour.
pub(crate) fn register_fixed_len(version: Version) -> usize {
    let (m, d, t) = register_widths(version);
    4 + m + d + t + 1
}

/// Which layout a 2011/2013-header register body has. Only the length and the plate colour
/// byte tell: a body shorter than the 2013 fixed part is 2011; a longer one is 2013 unless the
/// 2013 reading puts a non-colour byte (> 9, e.g. a VIN character of a 2011 plate) where the
/// colour goes while the 2011 reading finds a colour code there.
pub(crate) fn register_layout(body: &[u8]) -> Version {
    let fixed_2013 = register_fixed_len(Version::V2013);
    if body.len() < fixed_2013 {
        return Version::V2011;
    }
    let colour_2013 = body[fixed_2013 - 1];
    let colour_2011 = body[register_fixed_len(Version::V2011) - 1];
    if colour_2013 > 9 && colour_2011 <= 9 {
        Version::V2011
    } else {
        Version::V2013
    }
}

/// 0x0100 terminal registration. The text fields keep their full fixed width (padding
/// included); [`Text::text`] gives the readable value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Register {
    /// GB/T 2260 province code.
    pub province: u16,
    /// GB/T 2260 city/county code.
    pub city: u16,
    /// BYTE[5] (2019: BYTE[11]).
    pub maker: Text,
    /// BYTE[8] (2013: BYTE[20], 2019: BYTE[30]).
    pub model: Text,
    /// BYTE[7] (2019: BYTE[30]).
    pub terminal_id: Text,
    /// 0 unplated, 1 blue, 2 yellow, 3 black, 4 white, 9 other.
    pub plate_color: u8,
    /// The plate in GBK (the VIN when the vehicle has no plate).
    pub plate: Text,
}

impl Register {
    pub(crate) fn read(r: &mut Reader<'_>, version: Version) -> Result<Self, DecodeError> {
        let (m, d, t) = register_widths(version);
        Ok(Self {
            province: r.u16("register.province")?,
            city: r.u16("register.city")?,
            maker: Text(r.bytes(m, "register.maker")?.to_vec()),
            model: Text(r.bytes(d, "register.model")?.to_vec()),
            terminal_id: Text(r.bytes(t, "register.terminal_id")?.to_vec()),
            plate_color: r.u8("register.plate_color")?,
            plate: Text(r.rest().to_vec()),
        })
    }

    /// Writes the body for `version`; shorter text fields are padded with NUL, longer ones are
    /// an error.
    pub(crate) fn write(&self, version: Version, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let (m, d, t) = register_widths(version);
        out.put_u16(self.province);
        out.put_u16(self.city);
        write_fixed(out, &self.maker, m, "register maker")?;
        write_fixed(out, &self.model, d, "register model")?;
        write_fixed(out, &self.terminal_id, t, "register terminal id")?;
        out.put_u8(self.plate_color);
        out.put_slice(&self.plate.0);
        Ok(())
    }
}

fn write_fixed(
    out: &mut Vec<u8>,
    text: &Text,
    width: usize,
    what: &'static str,
) -> Result<(), EncodeError> {
    if text.0.len() > width {
        return Err(EncodeError::FieldTooLong { what, max: width });
    }
    out.put_slice(&text.0);
    out.resize(out.len() + width - text.0.len(), 0);
    Ok(())
}

/// 0x8100 register response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterResponse {
    pub ack_serial: u16,
    /// 0 success, 1 vehicle already registered, 2 vehicle not in the database, 3 terminal
    /// already registered, 4 terminal not in the database.
    pub result: u8,
    /// The auth code (sent only with result 0; kept as whatever follows the result).
    pub auth_code: Text,
}

impl RegisterResponse {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            ack_serial: r.u16("register_response.ack_serial")?,
            result: r.u8("register_response.result")?,
            auth_code: Text(r.rest().to_vec()),
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.put_u16(self.ack_serial);
        out.put_u8(self.result);
        out.put_slice(&self.auth_code.0);
    }

    pub fn result_name(&self) -> &'static str {
        match self.result {
            0 => "success",
            1 => "vehicle_already_registered",
            2 => "vehicle_not_in_database",
            3 => "terminal_already_registered",
            4 => "terminal_not_in_database",
            _ => "unknown",
        }
    }
}

/// 0x0102 authentication. 2011/2013: the body is the auth code. 2019: code length BYTE, code,
/// IMEI BYTE[15], software version BYTE[20]; a 2019 body that does not have that shape is read
/// as a bare code (terminals that kept their 2013 habit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authenticate {
    pub code: Text,
    /// 2019 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imei: Option<Text>,
    /// 2019 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_version: Option<Text>,
}

const IMEI_LEN: usize = 15;
const SOFTWARE_VERSION_LEN: usize = 20;

impl Authenticate {
    pub(crate) fn read(r: &mut Reader<'_>, version: Version) -> Result<Self, DecodeError> {
        if version == Version::V2019
            && let Some(n) = r.peek_u8()
            && r.remaining() == 1 + usize::from(n) + IMEI_LEN + SOFTWARE_VERSION_LEN
        {
            r.u8("authenticate.code_len")?;
            return Ok(Self {
                code: Text(r.bytes(usize::from(n), "authenticate.code")?.to_vec()),
                imei: Some(Text(r.bytes(IMEI_LEN, "authenticate.imei")?.to_vec())),
                software_version: Some(Text(
                    r.bytes(SOFTWARE_VERSION_LEN, "authenticate.software_version")?
                        .to_vec(),
                )),
            });
        }
        Ok(Self {
            code: Text(r.rest().to_vec()),
            imei: None,
            software_version: None,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match (&self.imei, &self.software_version) {
            (None, None) => out.put_slice(&self.code.0),
            (Some(imei), Some(sw)) => {
                let n = u8::try_from(self.code.0.len()).map_err(|_| EncodeError::FieldTooLong {
                    what: "auth code",
                    max: 255,
                })?;
                out.put_u8(n);
                out.put_slice(&self.code.0);
                write_fixed(out, imei, IMEI_LEN, "IMEI")?;
                write_fixed(out, sw, SOFTWARE_VERSION_LEN, "software version")?;
            }
            _ => {
                return Err(EncodeError::Invalid(
                    "a 2019 authentication carries both IMEI and software version",
                ));
            }
        }
        Ok(())
    }
}

/// 0x8003 retransmission request: the platform asks for the missing packets of a subpackaged
/// message. The count is a BYTE in 2011/2013 and a WORD in 2019 (SmallChi's 0x8003 model says
/// "2013 byte, 2019 ushort"; the research note leaves it unverified).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetransmitRequest {
    /// The serial of the first packet of the message.
    pub first_serial: u16,
    /// The packet indexes (from 1) to send again.
    pub indexes: Vec<u16>,
}

impl RetransmitRequest {
    /// The most indexes one request can carry in `version` (count width and the body limit).
    pub fn max_indexes(version: Version) -> usize {
        match version {
            Version::V2019 => (crate::header::MAX_BODY_LEN - 4) / 2,
            _ => 255,
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>, version: Version) -> Result<Self, DecodeError> {
        let first_serial = r.u16("retransmit.first_serial")?;
        let count = if version == Version::V2019 {
            usize::from(r.u16("retransmit.count")?)
        } else {
            usize::from(r.u8("retransmit.count")?)
        };
        r.expect_items(count, 2, "retransmit.indexes")?;
        let mut indexes = Vec::with_capacity(count);
        for _ in 0..count {
            indexes.push(r.u16("retransmit.indexes")?);
        }
        Ok(Self {
            first_serial,
            indexes,
        })
    }

    pub(crate) fn write(&self, version: Version, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_u16(self.first_serial);
        let n = self.indexes.len();
        let too_many = EncodeError::TooMany {
            what: "retransmission indexes",
            count: n,
        };
        if version == Version::V2019 {
            out.put_u16(u16::try_from(n).map_err(|_| too_many)?);
        } else {
            out.put_u8(u8::try_from(n).map_err(|_| too_many)?);
        }
        for &i in &self.indexes {
            out.put_u16(i);
        }
        Ok(())
    }
}

/// Fails when bytes are left after the last field of a body.
pub(crate) fn finish(r: &Reader<'_>, field: &'static str) -> Result<(), DecodeError> {
    if r.is_empty() {
        Ok(())
    } else {
        Err(r.error(
            field,
            ErrorKind::Invalid("bytes left over after the last field of the body"),
        ))
    }
}
