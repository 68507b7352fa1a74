//! Refusing old and repeated requests, which T/CEC 102 itself does not do: a `TimeStamp`
//! window around the injected `now`, and a bounded memory of what was accepted inside it.

use std::collections::BTreeSet;

use model::{BEIJING_OFFSET_SECS, CivilTime, Timestamp};

use crate::error::Error;

/// Parses a `TimeStamp` (`yyyyMMddHHmmss`, Beijing time, no offset on the wire).
pub fn parse_time_stamp(text: &str) -> Result<Timestamp, Error> {
    let bad = |reason: &str| Error::Field {
        field: "TimeStamp",
        reason: format!("{text:?} {reason}"),
    };
    let b = text.as_bytes();
    if b.len() != 14 || !b.iter().all(u8::is_ascii_digit) {
        return Err(bad("is not 14 digits yyyyMMddHHmmss"));
    }
    let num = |range: std::ops::Range<usize>| {
        b[range]
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
    };
    let civil = CivilTime {
        year: num(0..4) as i32,
        month: num(4..6) as u8,
        day: num(6..8) as u8,
        hour: num(8..10) as u8,
        minute: num(10..12) as u8,
        second: num(12..14) as u8,
    };
    civil
        .to_timestamp(BEIJING_OFFSET_SECS)
        .ok_or_else(|| bad("is not a calendar time"))
}

/// Formats an instant as a `TimeStamp` (`yyyyMMddHHmmss`, Beijing time).
pub fn format_time_stamp(at: Timestamp) -> String {
    let c = at.to_civil(BEIJING_OFFSET_SECS);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// Checks a `Seq`: four digits, `0001` to `9999`.
pub fn check_seq(seq: &str) -> Result<(), Error> {
    if seq.len() == 4 && seq.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::Field {
            field: "Seq",
            reason: format!("{seq:?} is not 4 digits"),
        })
    }
}

/// Refuses a request whose `TimeStamp` is outside `now ± window`, or whose
/// (`OperatorID`, `TimeStamp`, `Seq`) it accepted before.
///
/// Why the key includes `TimeStamp`: many operators restart `Seq` at `0001` every second (the
/// standard's own examples all use `0001`), so a `Seq` alone repeats legitimately. A replayed
/// request carries the same `TimeStamp` and `Seq` (changing either breaks its signature), so
/// this key still refuses every replay while the `TimeStamp` is inside the window, and an entry
/// can be forgotten once its `TimeStamp` has left it — memory is bounded by the request rate
/// times the window, and by `max_entries` on top. When full of live entries the guard refuses
/// new requests (busy) rather than forget one, which would open a replay hole.
#[derive(Debug, Clone)]
pub struct ReplayGuard {
    window_secs: u32,
    max_entries: usize,
    // (TimeStamp as Unix seconds, OperatorID, Seq): ordered by time so expiry is a split.
    seen: BTreeSet<(i64, String, String)>,
}

impl Default for ReplayGuard {
    fn default() -> Self {
        Self::new(Self::DEFAULT_WINDOW_SECS, Self::DEFAULT_MAX_ENTRIES)
    }
}

impl ReplayGuard {
    /// ±5 minutes, as the platforms that check timestamps use.
    pub const DEFAULT_WINDOW_SECS: u32 = 300;
    pub const DEFAULT_MAX_ENTRIES: usize = 100_000;

    pub fn new(window_secs: u32, max_entries: usize) -> Self {
        Self {
            window_secs,
            max_entries,
            seen: BTreeSet::new(),
        }
    }

    pub fn window_secs(&self) -> u32 {
        self.window_secs
    }

    /// How many accepted requests are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Checks one request and, if it is fresh and new, remembers it. Call it only for requests
    /// whose signature was verified, so forged requests cannot fill the memory.
    pub fn check(
        &mut self,
        operator_id: &str,
        time_stamp: &str,
        seq: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        let at = parse_time_stamp(time_stamp)?.as_secs();
        check_seq(seq)?;
        let now = now.as_secs();
        let window = i64::from(self.window_secs);
        let skew = at - now;
        if skew.abs() > window {
            return Err(Error::StaleTimestamp {
                time_stamp: time_stamp.to_owned(),
                skew_secs: skew,
                window_secs: self.window_secs,
            });
        }
        // Forget what can no longer come back inside the window.
        let keep = self
            .seen
            .split_off(&(now - window, String::new(), String::new()));
        self.seen = keep;
        let key = (at, operator_id.to_owned(), seq.to_owned());
        if self.seen.contains(&key) {
            return Err(Error::ReplayedSeq {
                operator_id: operator_id.to_owned(),
                time_stamp: time_stamp.to_owned(),
                seq: seq.to_owned(),
            });
        }
        if self.seen.len() >= self.max_entries {
            return Err(Error::ReplayGuardFull(self.seen.len()));
        }
        self.seen.insert(key);
        Ok(())
    }
}
