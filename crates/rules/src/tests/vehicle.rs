//! The vehicle's own GB/T 32960 flags: levels per edition, the thermal event, per-flag levels,
//! hysteresis on clear, history, no alarm block, reserved bits, edition switch, fault codes.

use super::support::*;
use crate::FrameAlarms;

const HIGH_TEMP: u32 = 1 << 1; // battery_high_temperature
const INSULATION: u32 = 1 << 11;
const THERMAL: u32 = 1 << 23; // thermal_event, 2025 only
const HT: &str = "battery_high_temperature";

fn levels(flag_levels: &[(u8, u8)]) -> FrameAlarms {
    FrameAlarms {
        flag_levels: flag_levels.to_vec(),
        fault_codes: Vec::new(),
    }
}

#[test]
fn vehicle_flag_timelines() {
    check(vec![
        timeline(
            "a flag opens, and closes on the third consecutive clear sample",
            vec![
                at(10),
                at(20).flags(Some(2), Some(HIGH_TEMP)).opens(HT, 2),
                at(30),
                at(40),
                at(50).closes(HT, 2),
            ],
        ),
        timeline(
            "a flag that stays set does not reopen; a flag cleared once stays open",
            vec![
                at(10).flags(Some(1), Some(HIGH_TEMP)).opens(HT, 1),
                at(20).flags(Some(1), Some(HIGH_TEMP)),
                at(20).flags(Some(1), Some(HIGH_TEMP)),
                at(30)
                    .flags(Some(1), Some(HIGH_TEMP | INSULATION))
                    .opens("insulation", 1),
                at(40).flags(Some(1), Some(INSULATION)),
                at(50).flags(Some(1), Some(HIGH_TEMP)),
                at(60),
                at(70).closes("insulation", 1),
                at(80).closes(HT, 1),
            ],
        ),
        timeline(
            "level change of an open alarm, critical from level 3",
            vec![
                at(10).flags(Some(1), Some(HIGH_TEMP)).opens(HT, 1),
                at(20).flags(Some(3), Some(HIGH_TEMP)).changes(HT, 1, 3),
                at(30).flags(Some(2), Some(HIGH_TEMP)).changes(HT, 3, 2),
                // An invalid max level says nothing about the level: it stays.
                at(40).flags(None, Some(HIGH_TEMP)),
                at(50),
                at(60),
                at(70).closes(HT, 2),
                // Unknown level on a new alarm: level 0 rather than an invented one.
                at(80).flags(None, Some(HIGH_TEMP)).opens(HT, 0),
                at(90).flags(Some(2), Some(HIGH_TEMP)).changes(HT, 0, 2),
            ],
        ),
        timeline(
            "2025 per-flag levels, max level as fallback; 2016 ignores them",
            vec![
                at(10)
                    .ed2025()
                    .flags(Some(3), Some(HIGH_TEMP | INSULATION))
                    .frame(levels(&[(1, 2)]))
                    .opens(HT, 2)
                    .opens("insulation", 3),
                at(20)
                    .ed2025()
                    .flags(Some(3), Some(HIGH_TEMP | INSULATION))
                    .frame(levels(&[(1, 4), (11, 1)]))
                    .changes(HT, 2, 4)
                    .changes("insulation", 3, 1),
                at(10)
                    .vin(B)
                    .flags(Some(1), Some(HIGH_TEMP))
                    .frame(levels(&[(1, 4)]))
                    .opens(HT, 1),
            ],
        ),
        timeline(
            "the 2025 thermal event is always level 4 and critical; bit 23 is reserved in 2016",
            vec![
                at(10)
                    .ed2025()
                    .flags(Some(1), Some(THERMAL))
                    .frame(levels(&[(23, 1)]))
                    .opens("thermal_event", 4),
                at(20)
                    .ed2025()
                    .flags(Some(2), Some(THERMAL))
                    .frame(levels(&[(23, 2)])),
                at(30).ed2025(),
                at(40).ed2025(),
                at(50).ed2025().closes("thermal_event", 4),
                at(10).vin(B).flags(Some(3), Some(THERMAL)),
            ],
        ),
        timeline(
            "reissued and out-of-order samples are history, not live state",
            vec![
                at(100).flags(Some(2), Some(HIGH_TEMP)).opens(HT, 2),
                // Reissued all-clears, even newer ones, do not count towards closing.
                at(90).reissue(),
                at(110).reissue(),
                at(111).reissue(),
                // A reissued alarm does not open or change levels.
                at(95)
                    .reissue()
                    .flags(Some(3), Some(HIGH_TEMP | INSULATION)),
                // A late live sample does not count or open either.
                at(50),
                at(60).flags(Some(1), Some(INSULATION)),
                // Reissues did not move the clock: 105 is newer than 100 and is live.
                at(105),
                at(106),
                at(107).closes(HT, 2),
            ],
        ),
        timeline(
            "no alarm block is no opinion",
            vec![
                at(10).flags(Some(2), Some(HIGH_TEMP)).opens(HT, 2),
                at(20).flags(None, None),
                at(30).flags(Some(3), None),
                at(40),
                at(50).flags(None, None),
                at(60),
                at(70).closes(HT, 2),
                at(10).vin(B).flags(None, None),
            ],
        ),
        timeline(
            "an edition switch closes at once the kinds the new edition does not name",
            vec![
                at(10)
                    .flags(Some(1), Some(1 << 5 | HIGH_TEMP))
                    .opens(HT, 1)
                    .opens("cell_over_voltage", 1),
                at(20)
                    .ed2025()
                    .flags(Some(1), Some(1 << 5 | HIGH_TEMP))
                    .opens("unit_over_voltage", 1)
                    .closes("cell_over_voltage", 1),
            ],
        ),
        timeline(
            "reserved bits are ignored",
            vec![at(10).flags(Some(3), Some(1 << 19 | 1 << 31))],
        ),
    ]);
}

#[test]
fn unknown_source_is_ignored() {
    let engine = run(&timeline(
        "jt808",
        vec![
            at(10)
                .flags(Some(3), Some(HIGH_TEMP))
                .with(|s| s.source = "jt808".to_owned()),
        ],
    ));
    assert!(engine.open_alarms(&vin(A)).is_empty());
}

#[test]
fn the_detail_carries_level_and_fault_codes() {
    let frame = FrameAlarms {
        flag_levels: Vec::new(),
        fault_codes: vec![("ress", 0x1001), ("ress", 0x2), ("other", 0x0008_0002)],
    };
    let events = last_events(vec![at(10).flags(Some(3), Some(HIGH_TEMP)).frame(frame)]);
    assert_eq!(
        events[0].detail,
        "level 3; ress faults 0x00001001, 0x00000002; other faults 0x00080002"
    );
    let events = last_events(vec![at(10).ed2025().flags(Some(1), Some(THERMAL))]);
    assert_eq!(events[0].detail, "thermal event: level 4 by the standard");
}
