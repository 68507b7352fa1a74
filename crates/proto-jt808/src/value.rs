//! Field types that keep the bytes as sent: the BCD terminal number, GBK text, BCD times.
//!
//! Messages store raw wire values so that a decoded frame encodes back to exactly its bytes; the
//! readable value (digits, text, instant) is computed on demand.

use std::fmt;

use model::{BEIJING_OFFSET_SECS, CivilTime, Timestamp};
use serde::{Serialize, Serializer};

/// The terminal's "phone number": BCD[6] in 2011/2013 headers, BCD[10] in 2019 headers.
///
/// It is often not a phone number at all (V4 and V19 carry an IMEI). Its canonical text form,
/// [`Phone::terminal_id`], is the terminal's key everywhere in Haihe.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Phone {
    bcd: [u8; 10],
    len: u8,
}

impl Phone {
    /// From the raw BCD bytes of a header: 6 or 10 of them (anything longer is cut to 10).
    pub fn from_bcd(bytes: &[u8]) -> Self {
        let n = bytes.len().min(10);
        let mut bcd = [0u8; 10];
        bcd[..n].copy_from_slice(&bytes[..n]);
        Self { bcd, len: n as u8 }
    }

    /// `digits` (decimal, at most `2 * len`) left-padded with zeros into `len` BCD bytes; `None`
    /// if `digits` is not decimal or too long.
    pub fn from_digits(digits: &str, len: usize) -> Option<Self> {
        if len > 10 || digits.len() > 2 * len || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut nibbles = vec![0u8; 2 * len - digits.len()];
        nibbles.extend(digits.bytes().map(|b| b - b'0'));
        let bytes: Vec<u8> = nibbles.chunks(2).map(|p| (p[0] << 4) | p[1]).collect();
        Some(Self::from_bcd(&bytes))
    }

    /// The BCD bytes as sent.
    pub fn bcd(&self) -> &[u8] {
        &self.bcd[..usize::from(self.len)]
    }

    /// Every nibble as a character: `0`–`9`, and `A`–`F` for the non-decimal nibbles some
    /// devices put there (kept, so that no two numbers collapse into one).
    pub fn digits(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut s = String::with_capacity(2 * self.bcd().len());
        for &b in self.bcd() {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0x0F)]));
        }
        s
    }

    /// The canonical terminal id: [`Phone::digits`] without leading zeros, `"0"` if all are
    /// zero. So `013345678906` (BCD[6]) and `00000013345678906`-style BCD[10] numbers name the
    /// same terminal, and an IMEI in a BCD[10] field is the bare 15-digit IMEI.
    pub fn terminal_id(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let nibbles = self.bcd().iter().flat_map(|&b| [b >> 4, b & 0x0F]);
        let mut s = String::with_capacity(20);
        for n in nibbles.skip_while(|&n| n == 0) {
            s.push(char::from(HEX[usize::from(n)]));
        }
        if s.is_empty() {
            s.push('0');
        }
        s
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.digits())
    }
}

/// A run of bytes that is text in GBK (STRING and BYTE[n] fields: plates, models, auth codes).
/// Kept byte for byte, including NUL padding; [`Text::text`] is the readable form.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Text(pub Vec<u8>);

impl Text {
    /// GBK text as bytes (unmappable characters become `?`, as GBK encoders do).
    pub fn new(text: &str) -> Self {
        let (bytes, _, _) = encoding_rs::GBK.encode(text);
        Self(bytes.into_owned())
    }

    /// The text without trailing NUL padding, decoded as GBK; bytes that are not GBK become
    /// U+FFFD, so this never fails.
    pub fn text(&self) -> String {
        let end = self.0.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        let (text, _) = encoding_rs::GBK.decode_without_bom_handling(&self.0[..end]);
        text.into_owned()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text())
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

/// `YYMMDDhhmmss` in BCD, Beijing time (UTC+8), as the location report sends it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BcdTime(pub [u8; 6]);

impl BcdTime {
    /// The calendar time, if every nibble is a digit (years 2000–2099).
    pub fn civil(&self) -> Option<CivilTime> {
        let mut v = [0u8; 6];
        for (out, &b) in v.iter_mut().zip(&self.0) {
            let (hi, lo) = (b >> 4, b & 0x0F);
            if hi > 9 || lo > 9 {
                return None;
            }
            *out = hi * 10 + lo;
        }
        Some(CivilTime {
            year: 2000 + i32::from(v[0]),
            month: v[1],
            day: v[2],
            hour: v[3],
            minute: v[4],
            second: v[5],
        })
    }

    /// The instant, if the time is a real calendar time.
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.civil()?.to_timestamp(BEIJING_OFFSET_SECS)
    }

    /// The Beijing time of `t`, for building messages.
    pub fn from_timestamp(t: Timestamp) -> Self {
        let c = t.to_civil(BEIJING_OFFSET_SECS);
        let bcd = |v: u32| ((v / 10 % 10) << 4 | (v % 10)) as u8;
        Self([
            bcd(c.year.rem_euclid(100) as u32),
            bcd(u32::from(c.month)),
            bcd(u32::from(c.day)),
            bcd(u32::from(c.hour)),
            bcd(u32::from(c.minute)),
            bcd(u32::from(c.second)),
        ])
    }
}

impl fmt::Debug for BcdTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BcdTime({})", HexDisplay(&self.0))
    }
}

impl Serialize for BcdTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.timestamp() {
            Some(t) => t.serialize(s),
            None => s.serialize_none(),
        }
    }
}

/// Lower-case hex of a byte run, for JSON and debug output.
pub struct HexDisplay<'a>(pub &'a [u8]);

impl fmt::Display for HexDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for HexDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_id_drops_leading_zeros_and_keeps_imeis() {
        let p = Phone::from_bcd(&[0x01, 0x33, 0x45, 0x67, 0x89, 0x06]);
        assert_eq!(p.digits(), "013345678906");
        assert_eq!(p.terminal_id(), "13345678906");
        let imei = Phone::from_bcd(&[0, 0, 0x08, 0x66, 0x49, 0x60, 0x77, 0x58, 0x21, 0x64]);
        assert_eq!(imei.terminal_id(), "866496077582164");
        assert_eq!(Phone::from_bcd(&[0; 6]).terminal_id(), "0");
        assert_eq!(
            Phone::from_bcd(&[0x1A, 0, 0, 0, 0, 0]).terminal_id(),
            "1A0000000000"
        );
        let p = Phone::from_digits("13345678906", 6).unwrap();
        assert_eq!(p.bcd(), [0x01, 0x33, 0x45, 0x67, 0x89, 0x06]);
        assert_eq!(Phone::from_digits("1234567890123", 6), None);
        assert_eq!(Phone::from_digits("12a", 6), None);
    }

    #[test]
    fn gbk_plates_and_padding() {
        let plate = Text(vec![0xD4, 0xC1, b'B', b'8', b'8', b'8', b'8', b'8']);
        assert_eq!(plate.text(), "粤B88888");
        assert_eq!(Text::new("粤B88888"), plate);
        assert_eq!(Text(b"CHI123\0\0\0".to_vec()).text(), "CHI123");
        assert_eq!(Text(vec![0xFF, 0x30]).text(), "\u{FFFD}0");
    }

    #[test]
    fn bcd_time_is_beijing_time() {
        let t = BcdTime([0x18, 0x10, 0x15, 0x10, 0x10, 0x10]);
        let ts = t.timestamp().unwrap();
        assert_eq!(ts.to_string(), "2018-10-15T10:10:10+08:00");
        assert_eq!(BcdTime::from_timestamp(ts), t);
        assert_eq!(BcdTime([0x18, 0x13, 0x15, 0, 0, 0]).timestamp(), None);
        assert_eq!(BcdTime([0x1A, 0x10, 0x15, 0, 0, 0]).civil(), None);
    }
}
