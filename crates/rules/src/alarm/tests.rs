//! Table-driven timelines for [`AlarmTracker`]: each step is a sample and the events it must cause.

use model::{Timestamp, VehicleSample, Vin};

use super::{AlarmChange, AlarmEvent, AlarmTracker};

const A: &str = "LTESTVIN000000001";
const B: &str = "LTESTVIN000000002";

const HIGH_TEMP: u32 = 1 << 1; // battery_high_temperature
const INSULATION: u32 = 1 << 11;
const THERMAL: u32 = 1 << 23; // thermal_event, 2025 only

/// One sample of a timeline and the events it must cause (`at` is always the step's `ts`).
struct Step {
    vin: &'static str,
    ts: i64,
    edition_2025: bool,
    reissue: bool,
    level: Option<u8>,
    flags: Option<u32>,
    flag_levels: &'static [(u8, u8)],
    expect: Vec<(&'static str, &'static str, u8, AlarmChange)>,
}

fn s16(vin: &'static str, ts: i64, level: Option<u8>, flags: Option<u32>) -> Step {
    Step {
        vin,
        ts,
        edition_2025: false,
        reissue: false,
        level,
        flags,
        flag_levels: &[],
        expect: Vec::new(),
    }
}

fn s25(vin: &'static str, ts: i64, level: Option<u8>, flags: Option<u32>) -> Step {
    Step {
        edition_2025: true,
        ..s16(vin, ts, level, flags)
    }
}

impl Step {
    fn reissue(mut self) -> Self {
        self.reissue = true;
        self
    }
    fn levels(mut self, flag_levels: &'static [(u8, u8)]) -> Self {
        self.flag_levels = flag_levels;
        self
    }
    fn opens(mut self, vin: &'static str, kind: &'static str, level: u8) -> Self {
        self.expect.push((vin, kind, level, AlarmChange::Opened));
        self
    }
    fn closes(mut self, vin: &'static str, kind: &'static str, level: u8) -> Self {
        self.expect.push((vin, kind, level, AlarmChange::Closed));
        self
    }
    fn changes(mut self, vin: &'static str, kind: &'static str, from: u8, to: u8) -> Self {
        self.expect
            .push((vin, kind, to, AlarmChange::LevelChanged { from }));
        self
    }

    fn sample(&self) -> VehicleSample {
        let source = if self.edition_2025 {
            "gbt32960-2025"
        } else {
            "gbt32960-2016"
        };
        let ts = Timestamp::from_secs(self.ts);
        let received_at = Timestamp::from_secs(self.ts + 1);
        let mut s = VehicleSample::new(
            self.vin.parse::<Vin>().unwrap(),
            ts,
            received_at,
            source,
            self.reissue,
        );
        s.alarm_level = self.level;
        s.alarm_flags = self.flags;
        s
    }

    fn expected(&self) -> Vec<AlarmEvent> {
        self.expect
            .iter()
            .map(|&(vin, kind, level, change)| AlarmEvent {
                vin: vin.parse().unwrap(),
                kind,
                level,
                critical: level >= 3,
                at: Timestamp::from_secs(self.ts),
                change,
            })
            .collect()
    }
}

fn timelines() -> Vec<(&'static str, Vec<Step>)> {
    vec![
        (
            "open then close",
            vec![
                s16(A, 10, Some(0), Some(0)),
                s16(A, 20, Some(2), Some(HIGH_TEMP)).opens(A, "battery_high_temperature", 2),
                s16(A, 30, Some(0), Some(0)).closes(A, "battery_high_temperature", 2),
            ],
        ),
        (
            "a flag that stays set does not reopen",
            vec![
                s16(A, 10, Some(1), Some(HIGH_TEMP)).opens(A, "battery_high_temperature", 1),
                s16(A, 20, Some(1), Some(HIGH_TEMP)),
                s16(A, 20, Some(1), Some(HIGH_TEMP)),
                s16(A, 30, Some(1), Some(HIGH_TEMP | INSULATION)).opens(A, "insulation", 1),
                s16(A, 40, Some(1), Some(INSULATION)).closes(A, "battery_high_temperature", 1),
                s16(A, 50, Some(1), Some(HIGH_TEMP))
                    .opens(A, "battery_high_temperature", 1)
                    .closes(A, "insulation", 1),
            ],
        ),
        (
            "level change of an open alarm, critical from level 3",
            vec![
                s16(A, 10, Some(1), Some(HIGH_TEMP)).opens(A, "battery_high_temperature", 1),
                s16(A, 20, Some(3), Some(HIGH_TEMP)).changes(A, "battery_high_temperature", 1, 3),
                s16(A, 30, Some(2), Some(HIGH_TEMP)).changes(A, "battery_high_temperature", 3, 2),
                // An invalid max level says nothing about the level: it stays.
                s16(A, 40, None, Some(HIGH_TEMP)),
                s16(A, 50, Some(0), Some(0)).closes(A, "battery_high_temperature", 2),
            ],
        ),
        (
            "2025 per-flag levels, max level as fallback",
            vec![
                s25(A, 10, Some(3), Some(HIGH_TEMP | INSULATION))
                    .levels(&[(1, 2)])
                    .opens(A, "battery_high_temperature", 2)
                    .opens(A, "insulation", 3),
                s25(A, 20, Some(3), Some(HIGH_TEMP | INSULATION))
                    .levels(&[(1, 4), (11, 1)])
                    .changes(A, "battery_high_temperature", 2, 4)
                    .changes(A, "insulation", 3, 1),
                // 2016 ignores per-flag levels even if a caller passes them.
                s16(B, 10, Some(1), Some(HIGH_TEMP))
                    .levels(&[(1, 4)])
                    .opens(B, "battery_high_temperature", 1),
            ],
        ),
        (
            "thermal event is always level 4 and critical",
            vec![
                s25(A, 10, Some(1), Some(THERMAL))
                    .levels(&[(23, 1)])
                    .opens(A, "thermal_event", 4),
                s25(A, 20, Some(2), Some(THERMAL)).levels(&[(23, 2)]),
                s25(A, 30, Some(0), Some(0)).closes(A, "thermal_event", 4),
                // In 2016, bit 23 is reserved: no kind, no alarm.
                s16(B, 10, Some(3), Some(THERMAL)),
            ],
        ),
        (
            "reissued and out-of-order samples are history, not live state",
            vec![
                s16(A, 100, Some(2), Some(HIGH_TEMP)).opens(A, "battery_high_temperature", 2),
                // A reissued all-clear, even a newer one, does not close.
                s16(A, 90, Some(0), Some(0)).reissue(),
                s16(A, 110, Some(0), Some(0)).reissue(),
                // A reissued alarm does not open or change levels.
                s16(A, 95, Some(3), Some(HIGH_TEMP | INSULATION)).reissue(),
                // A late live sample does not close or open either.
                s16(A, 50, Some(0), Some(0)),
                s16(A, 60, Some(1), Some(INSULATION)),
                // Reissues did not move the clock: 105 is newer than 100 and is live.
                s16(A, 105, Some(0), Some(0)).closes(A, "battery_high_temperature", 2),
            ],
        ),
        (
            "two vehicles are independent",
            vec![
                s16(A, 10, Some(1), Some(HIGH_TEMP)).opens(A, "battery_high_temperature", 1),
                s16(B, 5, Some(2), Some(HIGH_TEMP)).opens(B, "battery_high_temperature", 2),
                s16(B, 20, Some(0), Some(0)).closes(B, "battery_high_temperature", 2),
                s16(A, 15, Some(1), Some(HIGH_TEMP)),
                s16(A, 25, Some(0), Some(0)).closes(A, "battery_high_temperature", 1),
            ],
        ),
        (
            "no alarm block changes nothing",
            vec![
                s16(A, 10, Some(2), Some(HIGH_TEMP)).opens(A, "battery_high_temperature", 2),
                s16(A, 20, None, None),
                s16(A, 30, Some(3), None),
                // A vehicle whose first sample has no alarm block has nothing open.
                s16(B, 10, None, None),
                s16(A, 40, Some(0), Some(0)).closes(A, "battery_high_temperature", 2),
            ],
        ),
        (
            "an edition switch closes kinds the new edition names differently",
            vec![
                s16(A, 10, Some(1), Some(1 << 5 | HIGH_TEMP))
                    .opens(A, "battery_high_temperature", 1)
                    .opens(A, "cell_over_voltage", 1),
                s25(A, 20, Some(1), Some(1 << 5 | HIGH_TEMP))
                    .opens(A, "unit_over_voltage", 1)
                    .closes(A, "cell_over_voltage", 1),
            ],
        ),
    ]
}

#[test]
fn timelines_give_the_expected_events() {
    for (name, steps) in timelines() {
        let mut tracker = AlarmTracker::new();
        for (i, step) in steps.iter().enumerate() {
            let got = tracker.on_sample(&step.sample(), step.flag_levels);
            assert_eq!(got, step.expected(), "timeline {name:?}, step {i}");
        }
    }
}

#[test]
fn open_alarms_reflect_the_events() {
    let mut tracker = AlarmTracker::new();
    let a: Vin = A.parse().unwrap();
    let step = s25(A, 10, Some(2), Some(THERMAL | INSULATION));
    tracker.on_sample(&step.sample(), &[]);
    assert_eq!(
        tracker.open_alarms(&a),
        [("insulation", 2), ("thermal_event", 4)]
    );
    assert!(tracker.open_alarms(&B.parse().unwrap()).is_empty());
}

#[test]
fn unknown_source_is_ignored() {
    let mut tracker = AlarmTracker::new();
    let mut sample = s16(A, 10, Some(3), Some(HIGH_TEMP)).sample();
    sample.source = "jt808".to_owned();
    assert!(tracker.on_sample(&sample, &[]).is_empty());
    assert!(tracker.open_alarms(&sample.vin).is_empty());
}
