//! The stored form: one T/CEC 102 message an operator pushed to us (a request's decrypted
//! `Data`) or answered to our poll (a response's decrypted `Data`), with the operator and the
//! interface it belongs to. This is what the gateway writes into the write-ahead log and what
//! the platform maps to charging events again on replay ([`crate::to_events`]).
//!
//! It is on-disk data: old records must stay readable, so it starts with a format byte and
//! changes only by adding formats.
//!
//! Format 1:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | format = 1 |
//! | 1 | origin: 0 push, 1 poll |
//! | 1 | length of the operator id, 0–255 |
//! | n | the operator id, UTF-8 |
//! | 1 | length of the interface name, 0–255 |
//! | n | the interface name, UTF-8 |
//! | rest | `Data`: the decrypted JSON exactly as the peer encrypted it |
//!
//! The form is deterministic and `encode_stored(decode_stored(b)) == b` for every `b` that
//! decodes.

use crate::error::Error;

/// The format byte this code writes.
pub const STORED_FORMAT: u8 = 1;

/// The largest `Data` a stored record may hold (16 MiB): far above the 1 MiB request bodies
/// the server accepts and the answer bodies the poller reads.
pub const MAX_STORED_DATA: usize = 16 << 20;

/// Whether the operator pushed the message or answered our query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A `notification_*` request the operator sent us: `data` is its decrypted `Data`.
    Push,
    /// The answer to a `query_*` call we made: `data` is the response's decrypted `Data`.
    Poll,
}

impl Origin {
    const fn code(self) -> u8 {
        match self {
            Origin::Push => 0,
            Origin::Poll => 1,
        }
    }
}

/// One message, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The `OperatorID` of the peer that sent or answered (the authenticated one).
    pub operator_id: String,
    /// The interface name, e.g. `notification_stationStatus` or `query_stations_info`.
    pub interface: String,
    pub origin: Origin,
    /// The decrypted JSON bytes, never re-serialized.
    pub data: Vec<u8>,
}

/// Cuts `s` to at most 255 bytes at a character boundary. Operator ids are at most 32 bytes
/// and interface names are short, so this never bites real records.
fn short(s: &str) -> &[u8] {
    let mut end = s.len().min(255);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s.as_bytes()[..end]
}

/// The stored form of `stored` (see the module documentation). Operator ids and interface
/// names longer than 255 bytes are cut there.
pub fn encode_stored(stored: &Stored) -> Vec<u8> {
    let operator = short(&stored.operator_id);
    let interface = short(&stored.interface);
    let mut out = Vec::with_capacity(4 + operator.len() + interface.len() + stored.data.len());
    out.push(STORED_FORMAT);
    out.push(stored.origin.code());
    out.push(operator.len() as u8);
    out.extend_from_slice(operator);
    out.push(interface.len() as u8);
    out.extend_from_slice(interface);
    out.extend_from_slice(&stored.data);
    out
}

fn bad(reason: impl Into<String>) -> Error {
    Error::Field {
        field: "stored",
        reason: reason.into(),
    }
}

fn text<'a>(rest: &'a [u8], what: &str) -> Result<(String, &'a [u8]), Error> {
    let (&len, rest) = rest
        .split_first()
        .ok_or_else(|| bad(format!("ends before the length of the {what}")))?;
    let (bytes, rest) = rest
        .split_at_checked(usize::from(len))
        .ok_or_else(|| bad(format!("ends inside the {what} ({len} bytes announced)")))?;
    let s = std::str::from_utf8(bytes).map_err(|_| bad(format!("the {what} is not UTF-8")))?;
    Ok((s.to_owned(), rest))
}

/// Decodes a stored message.
pub fn decode_stored(bytes: &[u8]) -> Result<Stored, Error> {
    let [format, origin, rest @ ..] = bytes else {
        return Err(bad("shorter than its 2-byte header"));
    };
    if *format != STORED_FORMAT {
        return Err(bad(format!("unknown stored format {format}")));
    }
    let origin = match origin {
        0 => Origin::Push,
        1 => Origin::Poll,
        other => return Err(bad(format!("unknown origin {other}"))),
    };
    let (operator_id, rest) = text(rest, "operator id")?;
    let (interface, data) = text(rest, "interface name")?;
    if data.len() > MAX_STORED_DATA {
        return Err(bad(format!(
            "Data of {} bytes is over the {MAX_STORED_DATA}-byte limit",
            data.len()
        )));
    }
    Ok(Stored {
        operator_id,
        interface,
        origin,
        data: data.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn origin() -> impl Strategy<Value = Origin> {
        prop_oneof![Just(Origin::Push), Just(Origin::Poll)]
    }

    proptest! {
        #[test]
        fn stored_round_trips(
            operator_id in "[A-Za-z0-9]{0,40}",
            interface in "\\PC{0,60}",
            origin in origin(),
            data in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let s = Stored { operator_id, interface, origin, data };
            let bytes = encode_stored(&s);
            let back = decode_stored(&bytes).unwrap();
            prop_assert_eq!(&back, &s);
            prop_assert_eq!(encode_stored(&back), bytes);
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_reencode_exactly(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            if let Ok(s) = decode_stored(&bytes) {
                prop_assert_eq!(encode_stored(&s), bytes);
            }
        }
    }

    #[test]
    fn format_1_layout_is_fixed() {
        let s = Stored {
            operator_id: "MA01H3BQ2".into(),
            interface: "notification_stationStatus".into(),
            origin: Origin::Push,
            data: b"{}".to_vec(),
        };
        let mut expected = vec![1u8, 0, 9];
        expected.extend_from_slice(b"MA01H3BQ2");
        expected.push(26);
        expected.extend_from_slice(b"notification_stationStatus");
        expected.extend_from_slice(b"{}");
        assert_eq!(encode_stored(&s), expected);
    }

    #[test]
    fn damaged_records_are_refused_with_a_reason() {
        let cases: [(&[u8], &str); 5] = [
            (&[], "header"),
            (&[2, 0, 0, 0], "unknown stored format 2"),
            (&[1, 7, 0, 0], "unknown origin 7"),
            (&[1, 0, 5, b'a'], "ends inside the operator id"),
            (&[1, 1, 1, 0xFF, 0], "operator id is not UTF-8"),
        ];
        for (bytes, want) in cases {
            let e = decode_stored(bytes).unwrap_err().to_string();
            assert!(e.contains(want), "{bytes:?}: {e}");
        }
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        let s = Stored {
            operator_id: "充".repeat(100),
            interface: "x".into(),
            origin: Origin::Poll,
            data: vec![],
        };
        let back = decode_stored(&encode_stored(&s)).unwrap();
        assert_eq!(back.operator_id, "充".repeat(85));
    }
}
