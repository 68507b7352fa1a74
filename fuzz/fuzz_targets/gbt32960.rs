//! Fuzz target for GB/T 32960: no input may make the decoder, the framer or the encoder panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto_gbt32960::Framer;

fuzz_target!(|data: &[u8]| {
    // The whole input as one frame.
    decode_and_encode(data);

    // The same input as a stream, cut into chunks whose size comes from the first byte, so that
    // frames straddle reads the way they do on a real socket.
    let Some(&first) = data.first() else { return };
    let chunk_len = 1 + usize::from(first % 64);
    let mut framer = Framer::new();
    for chunk in data.chunks(chunk_len) {
        framer.push(chunk);
        while let Some(item) = framer.next_frame() {
            if let Ok(frame_bytes) = item {
                decode_and_encode(&frame_bytes);
            }
        }
    }
});

/// Decodes one frame and, if that succeeds, encodes it again: errors are fine, panics are not,
/// and a frame that decodes must encode back to exactly its bytes (nothing silently dropped).
fn decode_and_encode(bytes: &[u8]) {
    if let Ok(frame) = proto_gbt32960::decode(bytes) {
        let encoded = frame.encode().expect("a decoded frame encodes");
        assert_eq!(encoded, bytes, "decode/encode is not byte-faithful");
    }
}
