//! The stored form: one CALL a charger made, as the CSMS persists it in the write-ahead log and the
//! platform decodes it again on replay. It is on-disk data: old records must stay readable, so it
//! starts with a format byte and changes only by adding formats.
//!
//! The CALL text is kept exactly as received (for audit and so that decoding on replay gives what
//! decoding live gave), together with what the text alone does not say: who sent it, which site
//! the charger belongs to, and what the CSMS decided when it answered.
//!
//! Format 1 (integers big-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 1 | format = 1 |
//! | 1 | version: 1 = `ocpp1.6`, 2 = `ocpp2.0.1` |
//! | 1 | flags: bit 0 = a transaction id follows, bit 1 = a connector follows; other bits 0 |
//! | 4 | (bit 0) the transaction id the CSMS assigned (1.6 `StartTransaction`), i32 |
//! | 4 | (bit 1) the connector (1.6) or EVSE (2.0.1) the CSMS knows the call is about, i32 |
//! | 1 + n | charge point id, UTF-8, n ≤ 255 |
//! | 1 + n | station (site) id, UTF-8, n ≤ 255 |
//! | 4 + n | the CALL text, UTF-8, n ≤ [`MAX_STORED_TEXT`] |
//!
//! Nothing may follow the text. The form is deterministic: `encode_stored(decode_stored(b)) == b`
//! for every `b` that decodes.

use crate::Version;

/// The format byte this code writes.
pub const STORED_FORMAT: u8 = 1;

/// The longest CALL text stored: well above the CSMS's message bound, so a bound raised in the
/// configuration still fits, and low enough that a damaged length cannot ask for gigabytes.
pub const MAX_STORED_TEXT: usize = 1 << 20;

/// The longest charge point or station id stored, in bytes.
pub const MAX_STORED_ID: usize = 255;

const FLAG_TRANSACTION: u8 = 1;
const FLAG_CONNECTOR: u8 = 2;

/// One CALL a charger made, with what the CSMS knew and decided when it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The charge point id from the connection URL.
    pub charge_point: String,
    pub version: Version,
    /// The charger's site (the `station_id` of the charging model).
    pub station_id: String,
    /// What the CSMS assigned in its answer to a 1.6 `StartTransaction`.
    pub transaction_id: Option<i32>,
    /// The connector (1.6) or EVSE (2.0.1) of the call's transaction when the message itself
    /// does not name it (1.6 `StopTransaction`, 2.0.1 `TransactionEvent` without `evse`) and the
    /// CSMS knew it from the transaction's start.
    pub connector: Option<i32>,
    /// The CALL exactly as received.
    pub text: String,
}

/// Why stored bytes do not decode: the offset and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored OCPP record, offset {offset}, {field}: {reason}")]
pub struct StoredError {
    pub offset: usize,
    pub field: &'static str,
    pub reason: String,
}

/// Why a record cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("{field} of {len} bytes exceeds {max}")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
}

fn version_code(v: Version) -> u8 {
    match v {
        Version::V16 => 1,
        Version::V201 => 2,
    }
}

fn put_short(out: &mut Vec<u8>, field: &'static str, s: &str) -> Result<(), StoreError> {
    let len = s.len();
    let short = u8::try_from(len).map_err(|_| StoreError::TooLong {
        field,
        len,
        max: MAX_STORED_ID,
    })?;
    out.push(short);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// The stored form of `stored` (see the module documentation for the layout).
pub fn encode_stored(stored: &Stored) -> Result<Vec<u8>, StoreError> {
    if stored.text.len() > MAX_STORED_TEXT {
        return Err(StoreError::TooLong {
            field: "text",
            len: stored.text.len(),
            max: MAX_STORED_TEXT,
        });
    }
    let mut out = Vec::with_capacity(
        16 + stored.charge_point.len() + stored.station_id.len() + stored.text.len(),
    );
    out.push(STORED_FORMAT);
    out.push(version_code(stored.version));
    let flags = if stored.transaction_id.is_some() {
        FLAG_TRANSACTION
    } else {
        0
    } | if stored.connector.is_some() {
        FLAG_CONNECTOR
    } else {
        0
    };
    out.push(flags);
    if let Some(tx) = stored.transaction_id {
        out.extend_from_slice(&tx.to_be_bytes());
    }
    if let Some(c) = stored.connector {
        out.extend_from_slice(&c.to_be_bytes());
    }
    put_short(&mut out, "charge_point", &stored.charge_point)?;
    put_short(&mut out, "station_id", &stored.station_id)?;
    out.extend_from_slice(&(stored.text.len() as u32).to_be_bytes());
    out.extend_from_slice(stored.text.as_bytes());
    Ok(out)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn err(&self, field: &'static str, reason: impl Into<String>) -> StoredError {
        StoredError {
            offset: self.at,
            field,
            reason: reason.into(),
        }
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], StoredError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                self.err(
                    field,
                    format!("needs {n} bytes, {} left", self.bytes.len() - self.at),
                )
            })?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, StoredError> {
        Ok(self.take(1, field)?[0])
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, StoredError> {
        let b = self.take(4, field)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn text(&mut self, len: usize, field: &'static str) -> Result<String, StoredError> {
        let at = self.at;
        let b = self.take(len, field)?;
        String::from_utf8(b.to_vec()).map_err(|e| StoredError {
            offset: at + e.utf8_error().valid_up_to(),
            field,
            reason: "not UTF-8".into(),
        })
    }
}

/// Decodes a stored record. Errors name the offset within `bytes` and the field.
pub fn decode_stored(bytes: &[u8]) -> Result<Stored, StoredError> {
    let mut c = Cursor { bytes, at: 0 };
    let format = c.u8("format")?;
    if format != STORED_FORMAT {
        c.at = 0;
        return Err(c.err("format", format!("unknown format {format}")));
    }
    let version = match c.u8("version")? {
        1 => Version::V16,
        2 => Version::V201,
        other => {
            c.at -= 1;
            return Err(c.err("version", format!("unknown version code {other}")));
        }
    };
    let flags = c.u8("flags")?;
    if flags & !(FLAG_TRANSACTION | FLAG_CONNECTOR) != 0 {
        c.at -= 1;
        return Err(c.err("flags", format!("unknown flags {flags:#04x}")));
    }
    let transaction_id = if flags & FLAG_TRANSACTION != 0 {
        Some(c.i32("transaction_id")?)
    } else {
        None
    };
    let connector = if flags & FLAG_CONNECTOR != 0 {
        Some(c.i32("connector")?)
    } else {
        None
    };
    let n = usize::from(c.u8("charge_point.len")?);
    let charge_point = c.text(n, "charge_point")?;
    let n = usize::from(c.u8("station_id.len")?);
    let station_id = c.text(n, "station_id")?;
    let len_at = c.at;
    let b = c.take(4, "text.len")?;
    let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    if n > MAX_STORED_TEXT {
        c.at = len_at;
        return Err(c.err("text.len", format!("{n} exceeds {MAX_STORED_TEXT}")));
    }
    let text = c.text(n, "text")?;
    if c.at != bytes.len() {
        return Err(c.err(
            "end",
            format!("{} bytes after the text", bytes.len() - c.at),
        ));
    }
    Ok(Stored {
        charge_point,
        version,
        station_id,
        transaction_id,
        connector,
        text,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn sample() -> Stored {
        Stored {
            charge_point: "CP-0001".into(),
            version: Version::V16,
            station_id: "depot-1".into(),
            transaction_id: Some(42),
            connector: None,
            text: r#"[2,"1","StartTransaction",{"connectorId":1,"idTag":"A","meterStart":0,"timestamp":"2026-11-27T08:00:00Z"}]"#.into(),
        }
    }

    #[test]
    fn layout_is_fixed() {
        let s = Stored {
            charge_point: "C".into(),
            version: Version::V201,
            station_id: "S".into(),
            transaction_id: None,
            connector: Some(2),
            text: "[]".into(),
        };
        assert_eq!(
            encode_stored(&s).unwrap(),
            [
                1, 2, 2, 0, 0, 0, 2, 1, b'C', 1, b'S', 0, 0, 0, 2, b'[', b']'
            ]
        );
    }

    #[test]
    fn round_trip() {
        let s = sample();
        let b = encode_stored(&s).unwrap();
        assert_eq!(decode_stored(&b).unwrap(), s);
    }

    #[test]
    fn errors_name_offset_and_field() {
        let b = encode_stored(&sample()).unwrap();
        let e = decode_stored(&b[..b.len() - 1]).unwrap_err();
        assert_eq!(e.field, "text");
        let mut extra = b.clone();
        extra.push(0);
        assert_eq!(decode_stored(&extra).unwrap_err().field, "end");
        let mut bad = b.clone();
        bad[0] = 9;
        assert_eq!(decode_stored(&bad).unwrap_err().field, "format");
        let mut bad = b.clone();
        bad[1] = 3;
        let e = decode_stored(&bad).unwrap_err();
        assert_eq!((e.field, e.offset), ("version", 1));
        let mut bad = b;
        bad[2] = 0x80;
        assert_eq!(decode_stored(&bad).unwrap_err().field, "flags");
        // A length far beyond the bound is refused before anything is allocated.
        let huge = [1, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(decode_stored(&huge).unwrap_err().field, "text.len");
        assert!(decode_stored(&[]).is_err());
    }

    #[test]
    fn over_long_fields_are_refused() {
        let mut s = sample();
        s.charge_point = "x".repeat(256);
        assert!(encode_stored(&s).is_err());
        let mut s = sample();
        s.text = "x".repeat(MAX_STORED_TEXT + 1);
        assert!(encode_stored(&s).is_err());
    }

    proptest! {
        #[test]
        fn any_record_round_trips(
            cp in "[A-Za-z0-9\\-充]{0,60}",
            site in ".{0,40}",
            tx in proptest::option::of(any::<i32>()),
            conn in proptest::option::of(any::<i32>()),
            v201 in any::<bool>(),
            text in ".{0,200}",
        ) {
            let s = Stored {
                charge_point: cp,
                version: if v201 { Version::V201 } else { Version::V16 },
                station_id: site,
                transaction_id: tx,
                connector: conn,
                text,
            };
            let b = encode_stored(&s).unwrap();
            prop_assert_eq!(decode_stored(&b).unwrap(), s);
        }

        #[test]
        fn decode_never_panics_and_reencodes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(s) = decode_stored(&bytes) {
                prop_assert_eq!(encode_stored(&s).unwrap(), bytes);
            }
        }
    }
}
