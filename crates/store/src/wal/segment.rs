//! Segment files: their names, how to find them, and how to read records back from them.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use super::error::{Damage, WalError};
use super::frame::{HEADER_LEN, Header};

const SUFFIX: &str = ".wal";
/// `u64::MAX` has 20 decimal digits; zero-padding to that width makes names sort like LSNs.
const DIGITS: usize = 20;

/// The file name of the segment whose first record has LSN `first_lsn`.
pub(crate) fn file_name(first_lsn: u64) -> String {
    format!("{first_lsn:0DIGITS$}{SUFFIX}")
}

/// The first LSN encoded in a segment's file name, or `None` for any other file.
pub(crate) fn parse_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A segment found on disk.
#[derive(Debug, Clone)]
pub(crate) struct SegmentFile {
    pub(crate) first_lsn: u64,
    pub(crate) path: PathBuf,
}

/// All segments in `dir`, oldest first. Files with other names are left alone.
pub(crate) fn list(dir: &Path) -> Result<Vec<SegmentFile>, WalError> {
    let io_err = |source| WalError::Io {
        op: "list directory",
        path: dir.to_path_buf(),
        source,
    };
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name();
        if let Some(first_lsn) = name.to_str().and_then(parse_file_name) {
            segments.push(SegmentFile {
                first_lsn,
                path: entry.path(),
            });
        }
    }
    segments.sort_by_key(|s| s.first_lsn);
    Ok(segments)
}

/// Makes a directory's entries (created or removed files) durable.
///
/// A new segment's records are only durable once the directory entry pointing at the file is,
/// so the writer calls this after every rollover before acknowledging anything in the new file.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), WalError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| WalError::Io {
                op: "fsync directory",
                path: dir.to_path_buf(),
                source,
            })
    }
    // Other platforms cannot open a directory as a file; their file systems journal metadata.
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Reads records sequentially from one segment, up to a length fixed when it was opened.
///
/// The length bound matters for the newest segment: the writer keeps appending to it while a
/// replay reads it, and the replay must stop at the records that existed when the log was opened.
#[derive(Debug)]
pub(crate) struct SegmentReader {
    path: PathBuf,
    reader: BufReader<File>,
    offset: u64,
    len: u64,
    next_lsn: u64,
}

/// Why a segment could not be read further.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The bytes at `offset` are not a valid record.
    Damaged {
        offset: u64,
        damage: Damage,
    },
    Io(WalError),
}

impl SegmentReader {
    /// Opens `segment` for reading its first `len` bytes (all of it when `len` is `None`).
    pub(crate) fn open(segment: &SegmentFile, len: Option<u64>) -> Result<Self, WalError> {
        let io_err = |op| {
            move |source| WalError::Io {
                op,
                path: segment.path.clone(),
                source,
            }
        };
        let file = File::open(&segment.path).map_err(io_err("open"))?;
        let len = match len {
            Some(len) => len,
            None => file.metadata().map_err(io_err("stat"))?.len(),
        };
        Ok(SegmentReader {
            path: segment.path.clone(),
            reader: BufReader::with_capacity(256 * 1024, file),
            offset: 0,
            len,
            next_lsn: segment.first_lsn,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Byte offset of the next record, which is also the length of the valid prefix read so far.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// LSN the next record must carry; after the last record, the first LSN of the next segment.
    pub(crate) fn next_lsn(&self) -> u64 {
        self.next_lsn
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Reads the next record's payload into `payload` and returns its LSN, or `None` at the end.
    ///
    /// Every length is checked against the bytes left in the file before anything is allocated,
    /// so a damaged header cannot make us allocate more than the segment's size.
    pub(crate) fn read_into(&mut self, payload: &mut Vec<u8>) -> Result<Option<u64>, ReadError> {
        let available = self.len - self.offset;
        if available == 0 {
            return Ok(None);
        }
        let damaged = |damage| ReadError::Damaged {
            offset: self.offset,
            damage,
        };
        if available < HEADER_LEN as u64 {
            return Err(damaged(Damage::ShortHeader { available }));
        }
        let mut header = [0u8; HEADER_LEN];
        self.reader
            .read_exact(&mut header)
            .map_err(|e| self.io("read", e))?;
        let header = Header::parse(&header);
        let after_header = available - HEADER_LEN as u64;
        if u64::from(header.len) > after_header {
            return Err(damaged(Damage::LengthBeyondEnd {
                len: header.len,
                available: after_header,
            }));
        }
        payload.clear();
        payload.resize(header.len as usize, 0);
        self.reader
            .read_exact(payload)
            .map_err(|e| self.io("read", e))?;
        if !header.matches(payload) {
            return Err(damaged(Damage::ChecksumMismatch));
        }
        if header.lsn != self.next_lsn {
            return Err(damaged(Damage::UnexpectedLsn {
                found: header.lsn,
                expected: self.next_lsn,
            }));
        }
        self.offset += (HEADER_LEN + payload.len()) as u64;
        self.next_lsn += 1;
        Ok(Some(header.lsn))
    }

    fn io(&self, op: &'static str, source: io::Error) -> ReadError {
        ReadError::Io(WalError::Io {
            op,
            path: self.path.clone(),
            source,
        })
    }
}

/// What recovery cut off the end of the newest segment.
///
/// This is the expected result of a crash during a write: those records were never acknowledged.
/// It is reported so that the caller can log it; it is not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment that was truncated.
    pub path: PathBuf,
    /// The new length of the file: the end of the last valid record.
    pub offset: u64,
    /// How many bytes were removed.
    pub dropped_bytes: u64,
    /// What was wrong with the first invalid record.
    pub damage: Damage,
}

/// Result of checking the newest segment when the log is opened.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// Length of the valid prefix, which is now the file's length.
    pub(crate) len: u64,
    /// The LSN the next appended record gets.
    pub(crate) next_lsn: u64,
    pub(crate) torn_tail: Option<TornTail>,
}

/// Validates the newest segment and cuts off a torn tail so that appends continue cleanly.
///
/// A record with a bad checksum, a header cut short or a length past the end of the file is what
/// a crash in the middle of a write leaves behind; none of those records was acknowledged,
/// because acknowledgement waits for fsync. A record with a valid checksum but a wrong LSN is
/// not a torn write and is reported as corruption instead.
pub(crate) fn recover_last(segment: &SegmentFile) -> Result<Recovered, WalError> {
    let mut reader = SegmentReader::open(segment, None)?;
    let mut scratch = Vec::new();
    let damage = loop {
        match reader.read_into(&mut scratch) {
            Ok(Some(_)) => {}
            Ok(None) => break None,
            Err(ReadError::Io(e)) => return Err(e),
            Err(ReadError::Damaged { offset, damage }) if damage.is_torn_write() => {
                debug_assert_eq!(offset, reader.offset());
                break Some(damage);
            }
            Err(ReadError::Damaged { offset, damage }) => {
                return Err(WalError::Corrupt {
                    path: segment.path.clone(),
                    offset,
                    damage,
                });
            }
        }
    };
    let len = reader.offset();
    let torn_tail = match damage {
        None => None,
        Some(damage) => {
            // The truncation is synced before any new record is appended behind it; otherwise a
            // crash could bring the old garbage back after the new records' end.
            OpenOptions::new()
                .write(true)
                .open(&segment.path)
                .and_then(|f| f.set_len(len).and_then(|()| f.sync_all()))
                .map_err(|source| WalError::Io {
                    op: "truncate torn tail of",
                    path: segment.path.clone(),
                    source,
                })?;
            Some(TornTail {
                path: segment.path.clone(),
                offset: len,
                dropped_bytes: reader.len() - len,
                damage,
            })
        }
    };
    Ok(Recovered {
        len,
        next_lsn: reader.next_lsn(),
        torn_tail,
    })
}

/// One record read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub lsn: u64,
    pub payload: Vec<u8>,
}

/// The records that were on disk when the log was opened, oldest first.
///
/// Segments are read lazily, one at a time, so replaying a large log does not hold it in memory.
/// Older segments are checked as they are read: damage in any of them, or records missing
/// between two of them, is yielded as [`WalError::Corrupt`] naming the file and offset, after
/// which the iterator ends. The newest segment was already checked (and its torn tail, if any,
/// cut off) when the log was opened.
///
/// Do not call [`Wal::truncate_before`](super::Wal::truncate_before) beyond what the replay has
/// consumed while it is still running: a segment deleted before the replay opens it is reported
/// as an I/O error.
#[derive(Debug)]
pub struct Replay {
    segments: std::vec::IntoIter<SegmentFile>,
    /// Length of the newest segment after recovery; the replay reads no further than this.
    last_len: u64,
    /// First LSN of the segment after the current one, or `None` while reading the newest.
    current: Option<(SegmentReader, Option<u64>)>,
    torn_tail: Option<TornTail>,
    next_lsn: u64,
    done: bool,
}

impl Replay {
    pub(crate) fn new(
        segments: Vec<SegmentFile>,
        last_len: u64,
        next_lsn: u64,
        torn_tail: Option<TornTail>,
    ) -> Self {
        Replay {
            segments: segments.into_iter(),
            last_len,
            current: None,
            torn_tail,
            next_lsn,
            done: false,
        }
    }

    /// What recovery cut off the newest segment, if anything.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn_tail.as_ref()
    }

    /// The LSN that the first record appended after opening got (or will get).
    pub fn end_lsn(&self) -> u64 {
        self.next_lsn
    }

    fn advance(&mut self) -> Result<Option<Record>, WalError> {
        loop {
            if self.current.is_none() {
                let Some(segment) = self.segments.next() else {
                    return Ok(None);
                };
                let next_first = self.segments.as_slice().first().map(|s| s.first_lsn);
                let len = if next_first.is_none() {
                    Some(self.last_len)
                } else {
                    None
                };
                self.current = Some((SegmentReader::open(&segment, len)?, next_first));
            }
            let (reader, next_first) = self.current.as_mut().expect("set above");
            let mut payload = Vec::new();
            match reader.read_into(&mut payload) {
                Ok(Some(lsn)) => return Ok(Some(Record { lsn, payload })),
                Ok(None) => {
                    // Segments are only ever deleted from the front, so a gap between two
                    // remaining segments means acknowledged records are gone.
                    match *next_first {
                        Some(next_first) if reader.next_lsn() != next_first => {
                            return Err(WalError::Corrupt {
                                path: reader.path().to_path_buf(),
                                offset: reader.offset(),
                                damage: Damage::MissingRecords {
                                    next_lsn: reader.next_lsn(),
                                    next_segment_starts_at: next_first,
                                },
                            });
                        }
                        _ => {}
                    }
                    self.current = None;
                }
                Err(ReadError::Io(e)) => return Err(e),
                Err(ReadError::Damaged { offset, damage }) => {
                    return Err(WalError::Corrupt {
                        path: reader.path().to_path_buf(),
                        offset,
                        damage,
                    });
                }
            }
        }
    }
}

impl Iterator for Replay {
    type Item = Result<Record, WalError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.advance().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
            self.current = None;
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_like_lsns_and_parse_back() {
        assert_eq!(file_name(1), "00000000000000000001.wal");
        assert_eq!(file_name(u64::MAX), "18446744073709551615.wal");
        for lsn in [0, 1, 9, 10, 12_345, u64::MAX] {
            assert_eq!(parse_file_name(&file_name(lsn)), Some(lsn));
        }
        assert!(file_name(9) < file_name(10));
    }

    #[test]
    fn other_files_are_not_segments() {
        for name in [
            "1.wal",
            "00000000000000000001.wal.tmp",
            "0000000000000000000a.wal",
            "99999999999999999999.wal", // more than u64::MAX
            "00000000000000000001.log",
        ] {
            assert_eq!(parse_file_name(name), None, "{name}");
        }
    }
}
