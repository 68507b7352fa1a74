//! Fuzz target for JT/T 808: no input may make the framer, the decoder (strict or lenient), the
//! encoder, the reassembler or the stored form panic, and whatever decodes encodes back to
//! exactly its bytes.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use model::Timestamp;
use proto_jt808::{
    Framer, Limits, Options, Push, Reassembler, decode_stored, decode_with, encode_stored,
    peek_header,
};

fuzz_target!(|data: &[u8]| {
    // The whole input as one frame, and as one stored message.
    decode_and_encode(data, false);
    if let Ok(frame) = decode_stored(data) {
        let again = encode_stored(&frame).expect("a decoded stored message encodes");
        assert_eq!(again, data, "stored form is not byte-faithful");
    }

    // The same input as a stream, cut into chunks whose size comes from the first byte, with
    // every frame fed to a small reassembler whose clock advances with each frame.
    let Some(&first) = data.first() else { return };
    let chunk_len = 1 + usize::from(first % 64);
    let lenient = first & 0x80 != 0;
    let mut framer = Framer::new();
    let mut reassembler = Reassembler::new(Limits {
        max_bytes_per_terminal: 16 << 10,
        max_bytes_total: 32 << 10,
        max_packages: 64,
        timeout: Duration::from_secs(5),
    });
    let mut now = Timestamp::from_secs(1_800_000_000);
    for chunk in data.chunks(chunk_len) {
        framer.push(chunk);
        while let Some(item) = framer.next_frame() {
            let Ok(bytes) = item else { continue };
            let _ = peek_header(&bytes);
            let Some(frame) = decode_and_encode(&bytes, lenient) else {
                continue;
            };
            let terminal = frame.terminal_id();
            now = Timestamp::from_micros(now.as_micros() + 1_000_000);
            match reassembler.push(frame, now) {
                Push::Complete(merged) => {
                    let stored = encode_stored(&merged.frame).expect("merged message stores");
                    let back = decode_stored(&stored).expect("stored form decodes");
                    assert_eq!(back, merged.frame, "stored form changed the message");
                }
                Push::Whole(_)
                | Push::Pending
                | Push::Duplicate
                | Push::Malformed { .. }
                | Push::Refused(_) => {}
            }
            for missing in reassembler.poll(&terminal, now) {
                assert!(!missing.indexes.is_empty());
            }
        }
    }
});

/// Decodes one frame and, if that succeeds, encodes it again: errors are fine, panics are not,
/// and a frame that decodes must encode back to exactly its bytes (nothing silently dropped).
fn decode_and_encode(bytes: &[u8], lenient: bool) -> Option<proto_jt808::Frame> {
    let frame = decode_with(bytes, Options { lenient }).ok()?;
    let encoded = frame.encode().expect("a decoded frame encodes");
    assert_eq!(encoded, bytes, "decode/encode is not byte-faithful");
    let stored = encode_stored(&frame).expect("a decoded frame stores");
    assert_eq!(decode_stored(&stored).expect("stored form decodes"), frame);
    Some(frame)
}
