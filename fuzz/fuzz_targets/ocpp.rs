//! Fuzz target for OCPP-J: no input may make the framer or the dispatcher of either version panic,
//! a parsed frame encodes to text that parses back to the same frame, and any CALLERROR the
//! framer owes is itself a valid frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto_ocpp::{DEFAULT_MAX_MESSAGE_LEN, Version, parse, receive};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
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
    }
});
