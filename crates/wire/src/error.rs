//! The decode error shared by every codec: where (byte offset, field) and what went wrong.

/// A frame or message that could not be decoded.
///
/// `offset` counts from the first byte of the frame as received (before any unescaping the
/// protocol does, where the codec can tell), so an operator can find the byte in a capture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}, {field}: {kind}")]
pub struct DecodeError {
    pub offset: usize,
    pub field: &'static str,
    pub kind: ErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("needs {needed} bytes but only {available} remain")]
    Truncated { needed: usize, available: usize },
    #[error("checksum mismatch: expected 0x{expected:02X}, found 0x{found:02X}")]
    Checksum { expected: u8, found: u8 },
    #[error("not a frame start")]
    BadStart,
    #[error("length {declared} exceeds the maximum {max}")]
    TooLong { declared: usize, max: usize },
    #[error("declared length {declared} but {actual} bytes present")]
    LengthMismatch { declared: usize, actual: usize },
    #[error("value {value} out of range ({expected})")]
    OutOfRange { value: u64, expected: &'static str },
    #[error("{0}")]
    Invalid(&'static str),
}

impl DecodeError {
    pub fn new(offset: usize, field: &'static str, kind: ErrorKind) -> Self {
        Self {
            offset,
            field,
            kind,
        }
    }

    /// Whether the connection can go on after this error. Every error our framers report leaves
    /// the stream at a known frame boundary (they resynchronise), so only a peer that keeps
    /// sending garbage is worth disconnecting, and that is the session's policy, not the codec's.
    pub fn can_continue(&self) -> bool {
        true
    }
}
