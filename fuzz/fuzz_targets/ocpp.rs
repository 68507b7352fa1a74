//! Fuzz target for OCPP-J: no input may make the framer or the dispatcher of either version panic,
//! a parsed frame encodes to text that parses back to the same frame, and any CALLERROR the
//! framer owes is itself a valid frame. No bytes may make the stored form's decoder or
//! `to_events` panic, and stored bytes that decode encode back to exactly themselves (the format
//! is deterministic, see `proto_ocpp::stored`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::Timestamp;
use proto_ocpp::{
    DEFAULT_MAX_MESSAGE_LEN, Stored, Version, decode_stored, encode_stored, parse, receive,
    to_events,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let received = Timestamp::from_secs(1_795_766_700);
    for version in [Version::V16, Version::V201] {
        let _ = receive(version, &text, DEFAULT_MAX_MESSAGE_LEN);
        match parse(&text, DEFAULT_MAX_MESSAGE_LEN) {
            Ok(frame) => {
                let again = parse(&frame.encode(), DEFAULT_MAX_MESSAGE_LEN)
                    .expect("an encoded frame parses");
                assert_eq!(again, frame, "frame does not survive encoding");
            }
            Err(e) => {
                if let Some(reply) = e.reply(version) {
                    parse(&reply, DEFAULT_MAX_MESSAGE_LEN).expect("an owed CALLERROR parses");
                }
            }
        }
        // The text as a stored CALL, with and without what the CSMS knew.
        for known in [None, Some(1)] {
            let stored = Stored {
                charge_point: "CP-1".to_owned(),
                version,
                station_id: "site-1".to_owned(),
                transaction_id: known,
                connector: known,
                text: text.clone().into_owned(),
            };
            let _ = to_events(&stored, received);
        }
    }

    // The bytes as a stored record: decoding is exact, mapping is total.
    if let Ok(stored) = decode_stored(data) {
        let again = encode_stored(&stored).expect("a decoded record encodes");
        assert_eq!(again, data, "stored bytes do not re-encode exactly");
        let _ = to_events(&stored, received);
    }
});
