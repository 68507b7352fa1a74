//! UTC instants in microseconds, and the conversion from the civil (calendar) times devices send.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// GB/T 32960 and JT/T 808 devices send Beijing time, UTC+8, on the wire.
pub const BEIJING_OFFSET_SECS: i32 = 8 * 3600;

const MICROS_PER_SEC: i64 = 1_000_000;

/// An instant in UTC, in microseconds since the Unix epoch: the storage type of every time column.
///
/// It serializes as RFC 3339 in Beijing time (`2026-07-07T06:55:15+08:00`), the offset the
/// platform's users read; the instant is the same whatever the offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    pub const fn from_secs(secs: i64) -> Self {
        Self(secs * MICROS_PER_SEC)
    }

    pub const fn as_micros(self) -> i64 {
        self.0
    }

    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(MICROS_PER_SEC)
    }

    /// The civil time at `offset_secs` east of UTC, to the second.
    pub fn to_civil(self, offset_secs: i32) -> CivilTime {
        let secs = self.as_secs() + i64::from(offset_secs);
        let days = secs.div_euclid(86_400);
        let of_day = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        CivilTime {
            year,
            month,
            day,
            hour: (of_day / 3600) as u8,
            minute: (of_day / 60 % 60) as u8,
            second: (of_day % 60) as u8,
        }
    }

    /// RFC 3339 with the given offset, e.g. `2026-07-07T06:55:15+08:00`; sub-second digits only
    /// when the instant has them.
    pub fn to_rfc3339(self, offset_secs: i32) -> String {
        let c = self.to_civil(offset_secs);
        let frac = self.0.rem_euclid(MICROS_PER_SEC);
        let sign = if offset_secs < 0 { '-' } else { '+' };
        let off = offset_secs.unsigned_abs();
        let mut s = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        );
        if frac != 0 {
            s.push_str(&format!(".{frac:06}"));
        }
        if offset_secs == 0 {
            s.push('Z');
        } else {
            s.push_str(&format!("{sign}{:02}:{:02}", off / 3600, off / 60 % 60));
        }
        s
    }

    /// Parses RFC 3339 (`2026-07-07T06:55:15+08:00`, `…Z`, optional fraction) or a plain integer of
    /// seconds since the epoch: the two forms API users send in `from=`/`to=`.
    pub fn parse(text: &str) -> Option<Self> {
        if let Ok(secs) = text.parse::<i64>() {
            return secs.checked_mul(MICROS_PER_SEC).map(Self);
        }
        let b = text.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> { text.get(r)?.parse().ok() };
        let civil = CivilTime {
            year: num(0..4)? as i32,
            month: num(5..7)? as u8,
            day: num(8..10)? as u8,
            hour: num(11..13)? as u8,
            minute: num(14..16)? as u8,
            second: num(17..19)? as u8,
        };
        let mut rest = &text[19..];
        let mut micros = 0i64;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let kept = &frac[..digits.min(6)];
            micros = kept.parse::<i64>().ok()? * 10i64.pow(6 - kept.len() as u32);
            rest = &frac[digits..];
        }
        let offset = match rest {
            "Z" | "z" => 0,
            _ => {
                let sign = match rest.as_bytes().first()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                    return None;
                }
                let h: i32 = rest[1..3].parse().ok()?;
                let m: i32 = rest[4..6].parse().ok()?;
                sign * (h * 3600 + m * 60)
            }
        };
        Some(Self(civil.to_timestamp(offset)?.0 + micros))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339(BEIJING_OFFSET_SECS))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {text:?}")))
    }
}

/// A calendar date and time of day without an offset, as devices send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl CivilTime {
    /// Whether every field is in its calendar range (including the month's length).
    pub fn is_valid(&self) -> bool {
        let days_in_month = match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if is_leap(self.year) => 29,
            2 => 28,
            _ => return false,
        };
        (1..=days_in_month).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
    }

    /// The instant this civil time names at `offset_secs` east of UTC; `None` when it is not a
    /// real date (a device with an unset clock sends month 0).
    pub fn to_timestamp(&self, offset_secs: i32) -> Option<Timestamp> {
        if !self.is_valid() {
            return None;
        }
        let days = days_from_civil(self.year, self.month, self.day);
        let secs = days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(offset_secs);
        Some(Timestamp::from_secs(secs))
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

// Days since 1970-01-01 of a proleptic Gregorian date, after Howard Hinnant's published
// derivation of the era/day-of-era arithmetic.
fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i32, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn civil(year: i32, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> CivilTime {
        CivilTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        }
    }

    #[test]
    fn beijing_civil_time_maps_to_utc_instant() {
        // 2026-07-07 06:55:15 in Beijing is 2026-07-06 22:55:15 UTC = 1 783 378 515 s.
        let ts = civil(2026, 7, 7, 6, 55, 15)
            .to_timestamp(BEIJING_OFFSET_SECS)
            .unwrap();
        assert_eq!(ts.as_secs(), 1_783_378_515);
        assert_eq!(
            ts.to_rfc3339(BEIJING_OFFSET_SECS),
            "2026-07-07T06:55:15+08:00"
        );
        assert_eq!(ts.to_rfc3339(0), "2026-07-06T22:55:15Z");
        assert_eq!(
            ts.to_civil(BEIJING_OFFSET_SECS),
            civil(2026, 7, 7, 6, 55, 15)
        );
    }

    #[test]
    fn invalid_dates_have_no_instant() {
        for c in [
            civil(2026, 0, 1, 0, 0, 0),
            civil(2026, 2, 29, 0, 0, 0),
            civil(2026, 1, 1, 24, 0, 0),
        ] {
            assert_eq!(c.to_timestamp(0), None, "{c:?}");
        }
        assert!(civil(2024, 2, 29, 23, 59, 59).to_timestamp(0).is_some());
    }

    #[test]
    fn days_round_trip_over_centuries() {
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn parse_accepts_rfc3339_and_epoch_seconds() {
        let a = Timestamp::parse("2026-07-07T06:55:15+08:00").unwrap();
        assert_eq!(Timestamp::parse("2026-07-06T22:55:15Z"), Some(a));
        assert_eq!(Timestamp::parse("1783378515"), Some(a));
        let b = Timestamp::parse("2026-07-06T22:55:15.25Z").unwrap();
        assert_eq!(b.as_micros() - a.as_micros(), 250_000);
        assert_eq!(b.to_rfc3339(0), "2026-07-06T22:55:15.250000Z");
        for bad in [
            "",
            "2026-07-07",
            "2026-13-01T00:00:00Z",
            "2026-07-07T06:55:15+8",
            "x",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }
}
