//! The message header of the three versions, and telling them apart.
//!
//! 2011 and 2013: `msg_id WORD | attributes WORD | phone BCD[6] | serial WORD` (12 bytes).
//! 2019: `msg_id WORD | attributes WORD | protocol_version BYTE | phone BCD[10] | serial WORD`
//! (17 bytes). Either is followed by `total WORD | index WORD` when attribute bit 13 (subpackage)
//! is set. Attributes: bits 0–9 body length, 10–12 encryption, 13 subpackage, 14 version flag,
//! 15 reserved.

use serde::Serialize;
use wire::{DecodeError, ErrorKind, Reader, Writer};

use crate::EncodeError;
use crate::value::Phone;

/// The protocol version of a frame. 2011 and 2013 share the header and differ only in some
/// bodies (0x0100's field widths), so a frame is 2011 only when its register body says so;
/// every other 2011/2013-header frame is reported as 2013.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Version {
    #[serde(rename = "2011")]
    V2011,
    #[serde(rename = "2013")]
    V2013,
    #[serde(rename = "2019")]
    V2019,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2011 => "2011",
            Self::V2013 => "2013",
            Self::V2019 => "2019",
        }
    }

    /// The `source` column of the records this version produces.
    pub fn source(self) -> &'static str {
        match self {
            Self::V2011 => "jt808-2011",
            Self::V2013 => "jt808-2013",
            Self::V2019 => "jt808-2019",
        }
    }

    /// The byte that names the version in the stored form: 11, 13 or 19.
    pub fn code(self) -> u8 {
        match self {
            Self::V2011 => 11,
            Self::V2013 => 13,
            Self::V2019 => 19,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            11 => Some(Self::V2011),
            13 => Some(Self::V2013),
            19 => Some(Self::V2019),
            _ => None,
        }
    }

    /// Header length without the subpackage fields.
    pub fn header_len(self) -> usize {
        match self {
            Self::V2019 => 17,
            _ => 12,
        }
    }

    /// BCD bytes of the phone field.
    pub fn phone_len(self) -> usize {
        match self {
            Self::V2019 => 10,
            _ => 6,
        }
    }
}

/// Attribute bit 13's companion fields: this frame is packet `index` (from 1) of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Package {
    pub total: u16,
    pub index: u16,
}

/// The largest body one frame can carry (10 length bits).
pub const MAX_BODY_LEN: usize = 0x3FF;

const SUBPACKAGE: u16 = 1 << 13;
const VERSION_FLAG: u16 = 1 << 14;
const RESERVED: u16 = 1 << 15;

/// A message header. The body length is not stored: the encoder writes the real one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub msg_id: u16,
    pub version: Version,
    /// Attribute bits 10–12: 0 = plain, bit 10 = RSA.
    pub encryption: u8,
    /// Attribute bit 14 as sent: set by every 2019 header, and by some 2013 terminals (V22).
    pub version_flag: bool,
    /// Attribute bit 15 (reserved) as sent.
    pub reserved_bit: bool,
    /// The 2019 protocol version byte (0 for 2011/2013).
    pub protocol_version: u8,
    pub phone: Phone,
    pub serial: u16,
    pub package: Option<Package>,
}

impl Header {
    /// A plain header in the standard's form for `version` (2019: version flag and protocol
    /// version 1). `phone` must have the version's length (6 or 10 BCD bytes).
    pub fn new(version: Version, msg_id: u16, phone: Phone, serial: u16) -> Self {
        Self {
            msg_id,
            version,
            encryption: 0,
            version_flag: version == Version::V2019,
            reserved_bit: false,
            protocol_version: u8::from(version == Version::V2019),
            phone,
            serial,
            package: None,
        }
    }

    /// Header length on the wire (unescaped).
    pub fn len(&self) -> usize {
        self.version.header_len() + if self.package.is_some() { 4 } else { 0 }
    }

    /// Never true; here because `len` is.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The terminal id (the canonical form of the phone field, see [`Phone::terminal_id`]).
    pub fn terminal_id(&self) -> String {
        self.phone.terminal_id()
    }

    /// The attributes word with `body_len` in bits 0–9.
    pub fn attributes(&self, body_len: u16) -> u16 {
        let mut a = body_len & MAX_BODY_LEN as u16;
        a |= u16::from(self.encryption & 0x07) << 10;
        if self.package.is_some() {
            a |= SUBPACKAGE;
        }
        if self.version_flag {
            a |= VERSION_FLAG;
        }
        if self.reserved_bit {
            a |= RESERVED;
        }
        a
    }

    /// Writes the header with `body_len` in the length bits.
    pub(crate) fn write(&self, body_len: u16, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.phone.bcd().len() != self.version.phone_len() {
            return Err(EncodeError::Invalid(
                "the phone field has the wrong length for the version",
            ));
        }
        if self.encryption > 0x07 {
            return Err(EncodeError::Invalid("encryption takes 3 bits"));
        }
        out.put_u16(self.msg_id);
        out.put_u16(self.attributes(body_len));
        if self.version == Version::V2019 {
            out.put_u8(self.protocol_version);
        } else if self.protocol_version != 0 {
            return Err(EncodeError::Invalid(
                "only 2019 headers carry a protocol version",
            ));
        }
        out.put_slice(self.phone.bcd());
        out.put_u16(self.serial);
        if let Some(p) = self.package {
            out.put_u16(p.total);
            out.put_u16(p.index);
        }
        Ok(())
    }

    /// Reads a header of `version` from the start of `content` (offsets are content offsets).
    pub(crate) fn read(content: &[u8], version: Version) -> Result<Self, DecodeError> {
        let mut r = Reader::new(content, 0);
        let msg_id = r.u16("header.msg_id")?;
        let attr = r.u16("header.attributes")?;
        let protocol_version = if version == Version::V2019 {
            r.u8("header.protocol_version")?
        } else {
            0
        };
        let phone = Phone::from_bcd(r.bytes(version.phone_len(), "header.phone")?);
        let serial = r.u16("header.serial")?;
        let package = if attr & SUBPACKAGE != 0 {
            let at = r.offset();
            let total = r.u16("header.package_total")?;
            let index = r.u16("header.package_index")?;
            if total == 0 || index == 0 || index > total {
                return Err(DecodeError::new(
                    at,
                    "header.package",
                    ErrorKind::Invalid("packet index must be between 1 and the packet total"),
                ));
            }
            Some(Package { total, index })
        } else {
            None
        };
        Ok(Self {
            msg_id,
            version,
            encryption: ((attr >> 10) & 0x07) as u8,
            version_flag: attr & VERSION_FLAG != 0,
            reserved_bit: attr & RESERVED != 0,
            protocol_version,
            phone,
            serial,
            package,
        })
    }
}

/// What the attributes word says about the frame's layout.
pub(crate) struct Layout {
    pub(crate) declared: usize,
    pub(crate) version_flag: bool,
    pub(crate) subpackage: bool,
}

impl Layout {
    pub(crate) fn of(attr: u16) -> Self {
        Self {
            declared: usize::from(attr) & MAX_BODY_LEN,
            version_flag: attr & VERSION_FLAG != 0,
            subpackage: attr & SUBPACKAGE != 0,
        }
    }

    /// Header length for a header of `version` with these attributes.
    pub(crate) fn header_len(&self, version: Version) -> usize {
        version.header_len() + if self.subpackage { 4 } else { 0 }
    }

    /// The header version of a frame whose header and body (without the checksum) are `n`
    /// bytes long. Bit 14 means 2019, except when only the 2013 header makes the declared body
    /// length come out right (vector V22: a 2013 terminal that sets bit 14). `None` when no
    /// layout matches the declared length (the caller decides whether that is an error).
    pub(crate) fn version(&self, n: usize) -> Option<Version> {
        let fits = |v: Version| self.header_len(v) + self.declared == n;
        if self.version_flag && fits(Version::V2019) {
            Some(Version::V2019)
        } else if fits(Version::V2013) {
            Some(Version::V2013)
        } else {
            None
        }
    }

    /// The version to assume when the declared length matches no layout (lenient mode): the
    /// flag's, unless the frame is too short for a 2019 header.
    pub(crate) fn fallback_version(&self, n: usize) -> Version {
        if self.version_flag && n >= self.header_len(Version::V2019) {
            Version::V2019
        } else {
            Version::V2013
        }
    }
}
