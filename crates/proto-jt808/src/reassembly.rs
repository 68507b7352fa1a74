//! Subpackage reassembly: the packets of a long message (attribute bit 13) back into one
//! message, in any arrival order, with duplicates tolerated, bounded memory, and a timeout
//! driven by the caller's `now`.
//!
//! A message is keyed by (terminal id, message id, serial of its first packet); the first
//! serial of packet `i` is `serial - (i - 1)` (serials are consecutive, V20b/V21). When a
//! message has waited `timeout` since its last new packet, [`Reassembler::poll`] reports the
//! missing packet indexes once (the session turns that into 0x8003); after a second `timeout`
//! without completion the message is dropped and counted.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use model::Timestamp;
use wire::DecodeError;

use crate::EncodeError;
use crate::frame::{Body, Frame, decode_body};
use crate::header::{Header, MAX_BODY_LEN, Package};

/// Memory charged per held packet besides its bytes, and per message.
const PART_OVERHEAD: usize = 64;
const ENTRY_OVERHEAD: usize = 256;

/// Bounds of a [`Reassembler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes held for one terminal (all its incomplete messages).
    pub max_bytes_per_terminal: usize,
    /// Bytes held in all.
    pub max_bytes_total: usize,
    /// The largest packet total a message may declare.
    pub max_packages: u16,
    /// Wait for missing packets this long before asking for them, and as long again before
    /// giving up.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes_per_terminal: 4 << 20,
            max_bytes_total: 256 << 20,
            max_packages: 8192,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why a packet was not stored; each has a metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// The packet total is over [`Limits::max_packages`].
    TooManyPackages,
    /// The terminal's share of memory is used up.
    TerminalFull,
    /// The reassembler's memory is used up.
    Full,
    /// The packet's total differs from the other packets of its message.
    Inconsistent,
}

impl Refusal {
    pub fn label(self) -> &'static str {
        match self {
            Self::TooManyPackages => "subpackage_too_many_packets",
            Self::TerminalFull => "subpackage_terminal_full",
            Self::Full => "subpackage_full",
            Self::Inconsistent => "subpackage_inconsistent",
        }
    }
}

/// A reassembled message and the serials of its packets (each packet is owed an answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub frame: Frame,
    pub serials: Vec<u16>,
}

/// What became of one frame pushed into the reassembler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push {
    /// Not a packet of a subpackaged message: handle it as it is.
    Whole(Frame),
    /// Held; the message is not complete yet.
    Pending,
    /// This packet is already held (a resend); ignored.
    Duplicate,
    /// The last missing packet arrived.
    Complete(Merged),
    /// Every packet arrived but the merged body does not decode.
    Malformed {
        header: Header,
        serials: Vec<u16>,
        error: DecodeError,
    },
    /// Not held.
    Refused(Refusal),
}

/// Missing packets of a message that timed out: what a 0x8003 asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The message's header as the first packet held had it (version, phone, message id), with
    /// the first packet's serial.
    pub header: Header,
    pub first_serial: u16,
    /// Packet indexes (from 1) not received, ascending.
    pub indexes: Vec<u16>,
}

/// Counters, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReassemblyStats {
    pub completed: u64,
    pub duplicates: u64,
    pub refused: u64,
    /// Retransmission requests issued.
    pub requested: u64,
    /// Messages dropped after the second timeout.
    pub expired: u64,
}

#[derive(Debug)]
struct Entry {
    header: Header,
    total: u16,
    parts: BTreeMap<u16, Vec<u8>>,
    bytes: usize,
    deadline: Timestamp,
    requested: bool,
}

/// Messages completed lately are remembered this many per terminal, so that a packet resent
/// after its message completed is a duplicate, not the start of a new message.
const RECENT: usize = 16;

#[derive(Debug, Default)]
struct TerminalState {
    bytes: usize,
    /// By (message id, first serial).
    entries: HashMap<(u16, u16), Entry>,
    /// (message id, first serial) of messages completed lately, with when.
    recent: VecDeque<((u16, u16), Timestamp)>,
}

impl TerminalState {
    fn is_idle(&self) -> bool {
        self.entries.is_empty() && self.recent.is_empty()
    }
}

/// Holds packets until their message is complete. Sans-IO: time comes in as `now`.
#[derive(Debug)]
pub struct Reassembler {
    limits: Limits,
    terminals: HashMap<String, TerminalState>,
    bytes: usize,
    last_sweep: Timestamp,
    stats: ReassemblyStats,
}

fn after(t: Timestamp, d: Duration) -> Timestamp {
    let micros = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    Timestamp::from_micros(t.as_micros().saturating_add(micros))
}

impl Reassembler {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            terminals: HashMap::new(),
            bytes: 0,
            last_sweep: Timestamp::from_micros(i64::MIN),
            stats: ReassemblyStats::default(),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn stats(&self) -> ReassemblyStats {
        self.stats
    }

    /// Bytes held now (with the per-packet and per-message overhead).
    pub fn held_bytes(&self) -> usize {
        self.bytes
    }

    /// Incomplete messages held now.
    pub fn pending_messages(&self) -> usize {
        self.terminals.values().map(|t| t.entries.len()).sum()
    }

    /// Takes one decoded frame.
    pub fn push(&mut self, frame: Frame, now: Timestamp) -> Push {
        let Some(Package { total, index }) = frame.header.package else {
            return Push::Whole(frame);
        };
        if now >= after(self.last_sweep, self.limits.timeout) {
            self.sweep(now);
        }
        if total > self.limits.max_packages {
            self.stats.refused += 1;
            return Push::Refused(Refusal::TooManyPackages);
        }
        let Body::Raw(bytes) = frame.body else {
            // decode_body keeps every packet raw; anything else is not ours to merge.
            self.stats.refused += 1;
            return Push::Refused(Refusal::Inconsistent);
        };
        let terminal = frame.header.terminal_id();
        let first_serial = frame.header.serial.wrapping_sub(index - 1);
        let key = (frame.header.msg_id, first_serial);
        let cost = bytes.len() + PART_OVERHEAD;
        let timeout = self.limits.timeout;
        let recently_done = self.terminals.get(&terminal).is_some_and(|s| {
            s.recent
                .iter()
                .any(|(k, at)| *k == key && now < after(*at, timeout))
        });
        if recently_done {
            self.stats.duplicates += 1;
            return Push::Duplicate;
        }
        let held = self.terminals.get(&terminal).map_or(0, |s| s.bytes);
        let existing = self
            .terminals
            .get(&terminal)
            .and_then(|s| s.entries.get(&key));
        match existing {
            Some(e) if e.total != total => {
                self.stats.refused += 1;
                return Push::Refused(Refusal::Inconsistent);
            }
            Some(e) if e.parts.contains_key(&index) => {
                self.stats.duplicates += 1;
                return Push::Duplicate;
            }
            _ => {}
        }
        let cost = cost
            + if existing.is_none() {
                ENTRY_OVERHEAD
            } else {
                0
            };
        if held + cost > self.limits.max_bytes_per_terminal {
            self.stats.refused += 1;
            return Push::Refused(Refusal::TerminalFull);
        }
        if self.bytes + cost > self.limits.max_bytes_total {
            self.stats.refused += 1;
            return Push::Refused(Refusal::Full);
        }
        let state = self.terminals.entry(terminal).or_default();
        state.bytes += cost;
        self.bytes += cost;
        let deadline = after(now, self.limits.timeout);
        let entry = state.entries.entry(key).or_insert_with(|| {
            let mut header = frame.header;
            header.package = None;
            header.serial = first_serial;
            Entry {
                header,
                total,
                parts: BTreeMap::new(),
                bytes: 0,
                deadline,
                requested: false,
            }
        });
        entry.parts.insert(index, bytes);
        entry.bytes += cost;
        entry.deadline = deadline;
        if entry.parts.len() < usize::from(total) {
            return Push::Pending;
        }
        let entry = state.entries.remove(&key).expect("entry just used");
        state.bytes -= entry.bytes;
        self.bytes -= entry.bytes;
        if state.recent.len() == RECENT {
            state.recent.pop_front();
        }
        state.recent.push_back((key, now));
        self.stats.completed += 1;
        let serials = (0..total).map(|i| first_serial.wrapping_add(i)).collect();
        let body: Vec<u8> = entry.parts.into_values().flatten().collect();
        let mut header = entry.header;
        match decode_body(&mut header, &body, 0, true) {
            Ok(body) => Push::Complete(Merged {
                frame: Frame::new(header, body),
                serials,
            }),
            Err(error) => Push::Malformed {
                header,
                serials,
                error,
            },
        }
    }

    /// The messages of `terminal` whose packets stopped coming: each is reported once with its
    /// missing indexes, then dropped after another timeout.
    pub fn poll(&mut self, terminal: &str, now: Timestamp) -> Vec<Missing> {
        let mut out = Vec::new();
        let Some(state) = self.terminals.get_mut(terminal) else {
            return out;
        };
        let timeout = self.limits.timeout;
        let mut dropped = 0usize;
        let mut expired = 0u64;
        state.entries.retain(|_, e| {
            if now < e.deadline {
                return true;
            }
            if e.requested {
                dropped += e.bytes;
                expired += 1;
                return false;
            }
            e.requested = true;
            e.deadline = after(now, timeout);
            let indexes = (1..=e.total).filter(|i| !e.parts.contains_key(i)).collect();
            out.push(Missing {
                header: e.header,
                first_serial: e.header.serial,
                indexes,
            });
            true
        });
        state.bytes -= dropped;
        state.recent.retain(|(_, at)| now < after(*at, timeout));
        if state.is_idle() {
            self.terminals.remove(terminal);
        }
        self.bytes -= dropped;
        self.stats.expired += expired;
        self.stats.requested += out.len() as u64;
        out
    }

    /// Drops messages nobody polls for (their connection went away): those past their
    /// deadline by another timeout. Called by `push` at most once per timeout.
    pub fn sweep(&mut self, now: Timestamp) {
        self.last_sweep = now;
        let timeout = self.limits.timeout;
        let mut dropped = 0usize;
        let mut expired = 0u64;
        self.terminals.retain(|_, state| {
            state.entries.retain(|_, e| {
                let keep = now < e.deadline || (!e.requested && now < after(e.deadline, timeout));
                if !keep {
                    state.bytes -= e.bytes;
                    dropped += e.bytes;
                    expired += 1;
                }
                keep
            });
            state.recent.retain(|(_, at)| now < after(*at, timeout));
            !state.is_idle()
        });
        self.bytes -= dropped;
        self.stats.expired += expired;
    }
}

impl Frame {
    /// Splits this message into packets of at most `max_body` body bytes (1–1 023), with
    /// consecutive serials from `first_serial`: how a long message goes out, and how the tests
    /// make packets.
    pub fn split(&self, max_body: usize, first_serial: u16) -> Result<Vec<Frame>, EncodeError> {
        if max_body == 0 || max_body > MAX_BODY_LEN {
            return Err(EncodeError::Invalid("packet size must be 1 to 1 023 bytes"));
        }
        let body = self.body_bytes()?;
        let chunks: Vec<&[u8]> = if body.is_empty() {
            vec![&[]]
        } else {
            body.chunks(max_body).collect()
        };
        let total = u16::try_from(chunks.len()).map_err(|_| EncodeError::TooMany {
            what: "packets",
            count: chunks.len(),
        })?;
        Ok(chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| {
                let i = i as u16;
                let mut header = self.header;
                header.serial = first_serial.wrapping_add(i);
                header.package = Some(Package {
                    total,
                    index: i + 1,
                });
                Frame::new(header, Body::Raw(chunk.to_vec()))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::Version;
    use crate::value::Phone;

    fn message(len: usize) -> Frame {
        let phone = Phone::from_digits("13800000001", 6).unwrap();
        let header = Header::new(Version::V2013, 0x0801, phone, 100);
        Frame::new(header, Body::Raw((0..len).map(|i| i as u8).collect()))
    }

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_secs(1_800_000_000 + secs)
    }

    #[test]
    fn out_of_order_with_duplicates() {
        let msg = message(2500);
        let parts = msg.split(1000, 100).unwrap();
        assert_eq!(parts.len(), 3);
        let mut r = Reassembler::new(Limits::default());
        assert_eq!(r.push(parts[2].clone(), t(0)), Push::Pending);
        assert_eq!(r.push(parts[2].clone(), t(0)), Push::Duplicate);
        assert_eq!(r.push(parts[0].clone(), t(1)), Push::Pending);
        assert!(r.held_bytes() > 1500);
        let Push::Complete(m) = r.push(parts[1].clone(), t(2)) else {
            panic!("complete")
        };
        assert_eq!(m.frame, msg);
        assert_eq!(m.serials, [100, 101, 102]);
        assert_eq!(r.held_bytes(), 0);
        assert_eq!(r.pending_messages(), 0);
        assert_eq!(
            r.push(parts[0].clone(), t(3)),
            Push::Duplicate,
            "late resend"
        );
        assert_eq!(r.held_bytes(), 0);
        assert_eq!(r.stats().duplicates, 2);
        // Long after, the same serials are a new message (serials wrap).
        assert_eq!(r.push(parts[0].clone(), t(40)), Push::Pending);
    }

    #[test]
    fn a_timeout_asks_once_for_the_missing_packets_then_gives_up() {
        let parts = message(3500).split(1000, 65534).unwrap();
        let mut r = Reassembler::new(Limits::default());
        r.push(parts[1].clone(), t(0));
        r.push(parts[3].clone(), t(0));
        let terminal = "13800000001";
        assert!(r.poll(terminal, t(29)).is_empty());
        let missing = r.poll(terminal, t(30));
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].first_serial, 65534, "serials wrap");
        assert_eq!(missing[0].indexes, [1, 3]);
        assert!(r.poll(terminal, t(45)).is_empty(), "asked once");
        assert!(r.poll(terminal, t(60)).is_empty());
        assert_eq!(r.held_bytes(), 0, "given up");
        assert_eq!(r.stats().expired, 1);
        assert_eq!(r.stats().requested, 1);
    }

    #[test]
    fn memory_is_capped_per_terminal_and_in_total() {
        let limits = Limits {
            max_bytes_per_terminal: 3000,
            max_bytes_total: 4500,
            ..Limits::default()
        };
        let mut r = Reassembler::new(limits);
        let parts = message(5000).split(1000, 1).unwrap();
        assert_eq!(r.push(parts[0].clone(), t(0)), Push::Pending);
        assert_eq!(r.push(parts[1].clone(), t(0)), Push::Pending);
        assert_eq!(
            r.push(parts[2].clone(), t(0)),
            Push::Refused(Refusal::TerminalFull)
        );
        let mut other = message(5000);
        other.header.phone = Phone::from_digits("13800000002", 6).unwrap();
        let parts = other.split(1000, 1).unwrap();
        assert_eq!(r.push(parts[0].clone(), t(0)), Push::Pending);
        assert_eq!(r.push(parts[1].clone(), t(0)), Push::Refused(Refusal::Full));
        assert!(r.held_bytes() <= 4500);
        let mut forged = parts[0].clone();
        forged.header.package = Some(Package {
            total: 60000,
            index: 1,
        });
        assert_eq!(
            r.push(forged, t(0)),
            Push::Refused(Refusal::TooManyPackages)
        );
        // Abandoned messages are swept even when nobody polls.
        r.sweep(t(61));
        assert_eq!(r.held_bytes(), 0);
    }
}
