//! Byte helpers shared by Haihe's protocol codecs: a bounded big-endian reader that knows its
//! offset in the frame, a writer, checksums, BCD, and the one decode error type all codecs use.
//!
//! Every length that comes off the wire is checked against the bytes actually present before
//! anything is read or allocated; errors name the byte offset and the field.

mod bcd;
mod error;
mod reader;

pub use bcd::{bcd_to_digits, bcd_to_u64, u64_to_bcd};
pub use error::{DecodeError, ErrorKind};
pub use reader::{Reader, Writer};

/// XOR of all bytes: the block check character of GB/T 32960 and the checksum of JT/T 808.
pub fn xor_checksum(bytes: &[u8]) -> u8 {
    // Folding eight bytes at a time lets the compiler use wide registers; XOR is associative.
    let mut chunks = bytes.chunks_exact(8);
    let mut acc = 0u64;
    for chunk in &mut chunks {
        acc ^= u64::from_ne_bytes(chunk.try_into().expect("chunk of 8"));
    }
    let folded = acc.to_ne_bytes().iter().fold(0u8, |a, b| a ^ b);
    chunks.remainder().iter().fold(folded, |a, b| a ^ b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xor_checksum_matches_bytewise_xor() {
        for len in 0..40usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let slow = data.iter().fold(0u8, |a, b| a ^ b);
            assert_eq!(xor_checksum(&data), slow, "len {len}");
        }
    }
}
