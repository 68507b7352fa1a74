//! Errors of the write-ahead log.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything that can go wrong while opening, appending to, replaying or truncating the WAL.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// An operating-system call on a WAL file or on the WAL directory failed.
    #[error("WAL: cannot {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A record was refused because it is larger than `WalOptions::max_record_size`.
    #[error("WAL record of {len} bytes exceeds the maximum record size of {max} bytes")]
    RecordTooLarge { len: usize, max: usize },

    /// The log on disk is damaged somewhere other than the unsynced tail of the newest segment, so
    /// acknowledged data may be missing; replay stops here rather than silently skipping it.
    #[error("WAL segment {} is corrupt at byte offset {offset}: {damage}", path.display())]
    Corrupt {
        path: PathBuf,
        offset: u64,
        damage: Damage,
    },

    /// `WalOptions` are inconsistent; the message says which limit is wrong.
    #[error("invalid WAL options: {0}")]
    InvalidOptions(&'static str),

    /// The writer thread failed earlier (for example fsync returned an error). After a failed
    /// fsync the kernel may have dropped dirty pages, so nothing written since the last good
    /// fsync can be trusted and the log refuses further appends until it is reopened.
    #[error("WAL is unusable after an earlier failure: {0}")]
    Failed(#[source] Arc<WalError>),

    /// The writer thread panicked; this is a bug in the WAL.
    #[error("WAL writer thread panicked")]
    WriterPanicked,
}

/// What exactly is wrong with a damaged record or segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    /// Fewer than 16 bytes remain where a record header should start.
    ShortHeader { available: u64 },
    /// The header's length points past the end of the file.
    LengthBeyondEnd { len: u32, available: u64 },
    /// The CRC does not match the header and payload.
    ChecksumMismatch,
    /// A record with a valid checksum carries an LSN other than the next one expected.
    UnexpectedLsn { found: u64, expected: u64 },
    /// A segment ends before the LSN at which the next segment starts: records are missing.
    MissingRecords {
        next_lsn: u64,
        next_segment_starts_at: u64,
    },
}

impl Damage {
    /// Whether this is what an interrupted write leaves behind, as opposed to a record that was
    /// written completely and is wrong. Only the former may be cut off the newest segment.
    pub(crate) fn is_torn_write(&self) -> bool {
        matches!(
            self,
            Damage::ShortHeader { .. } | Damage::LengthBeyondEnd { .. } | Damage::ChecksumMismatch
        )
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::ShortHeader { available } => {
                write!(
                    f,
                    "only {available} bytes left where a 16-byte record header starts"
                )
            }
            Damage::LengthBeyondEnd { len, available } => write!(
                f,
                "record length {len} exceeds the {available} bytes left in the file"
            ),
            Damage::ChecksumMismatch => f.write_str("record checksum mismatch"),
            Damage::UnexpectedLsn { found, expected } => {
                write!(f, "record has LSN {found}, expected {expected}")
            }
            Damage::MissingRecords {
                next_lsn,
                next_segment_starts_at,
            } => write!(
                f,
                "segment ends before LSN {next_lsn} but the next segment starts at LSN \
                 {next_segment_starts_at}"
            ),
        }
    }
}

/// The answer of `Wal::try_append` and `Wal::try_append_with` when a record was not accepted.
#[derive(thiserror::Error)]
pub enum TryAppendError {
    /// The writer's queue already holds `WalOptions::max_queued_bytes`; the payload is handed
    /// back so that the caller can stop reading its input and retry later without copying.
    #[error("WAL append queue is full ({limit} bytes queued); retry when the writer catches up")]
    Full { payload: Vec<u8>, limit: usize },
    /// The record can never be accepted, or the log has failed.
    #[error(transparent)]
    Wal(#[from] WalError),
}

// Written by hand so that a full queue does not dump a megabyte of payload into a log line.
impl fmt::Debug for TryAppendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAppendError::Full { payload, limit } => f
                .debug_struct("Full")
                .field("payload_len", &payload.len())
                .field("limit", limit)
                .finish(),
            TryAppendError::Wal(e) => f.debug_tuple("Wal").field(e).finish(),
        }
    }
}
