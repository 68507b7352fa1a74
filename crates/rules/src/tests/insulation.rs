//! `insulation_low`: two levels of one kind, and no judgement at low pack voltage.

use super::support::*;

const INS: &str = "insulation_low";

#[test]
fn insulation_timelines() {
    check(vec![
        timeline(
            "514 Ω/V is fine; 486 opens at 2, 86 goes to 3, 286 back to 2, then it closes",
            vec![
                at(10).insulation(180.0),
                at(20).insulation(170.0).opens(INS, 2),
                at(30).insulation(30.0).changes(INS, 2, 3),
                at(40).insulation(100.0).changes(INS, 3, 2),
                at(50),
                at(60),
                at(70).closes(INS, 2),
            ],
        ),
        timeline(
            "straight to level 3",
            vec![at(10).insulation(34.0).opens(INS, 3)],
        ),
        timeline(
            "below 50 V the ratio is not judged, either way",
            vec![
                at(10).insulation(170.0).opens(INS, 2),
                at(20)
                    .with(|s| s.total_voltage_v = Some(40.0))
                    .insulation(1.0),
                at(30).with(|s| s.total_voltage_v = Some(49.9)),
                at(40).with(|s| s.total_voltage_v = Some(0.0)),
                at(50),
                at(60),
                at(70).closes(INS, 2),
                at(80)
                    .with(|s| s.total_voltage_v = Some(40.0))
                    .insulation(1.0),
            ],
        ),
    ]);
}

#[test]
fn the_detail_gives_ratio_and_inputs() {
    let events = last_events(vec![at(10).insulation(30.0)]);
    assert_eq!(
        events[0].detail,
        "insulation 86 Ω/V < 100 Ω/V (30 kΩ at 350.0 V)"
    );
}
