//! The shared lifecycle, shown with `insulation_low` (stateless, so only the lifecycle acts):
//! hysteresis on clear, flapping, immediate close, unevaluated samples, independence.

use super::support::*;

const INS: &str = "insulation_low";

#[test]
fn lifecycle_timelines() {
    check(vec![
        timeline(
            "opens once, closes on the third consecutive clear sample",
            vec![
                at(0),
                at(10).insulation(170.0).opens(INS, 2),
                at(20).insulation(170.0),
                at(30),
                at(40),
                at(50).closes(INS, 2),
                at(60),
            ],
        ),
        timeline(
            "a condition toggling every sample never closes and never reopens",
            vec![
                at(10).insulation(170.0).opens(INS, 2),
                at(20),
                at(30).insulation(170.0),
                at(40),
                at(50),
                at(60).insulation(170.0),
                at(70),
                at(80),
                at(90).insulation(170.0),
                at(100),
                at(110),
                at(120).closes(INS, 2),
            ],
        ),
        timeline(
            "clear_after_samples = 1 closes at once",
            vec![
                at(10).insulation(170.0).opens(INS, 2),
                at(20).closes(INS, 2),
                at(30).insulation(170.0).opens(INS, 2),
            ],
        )
        .config(|c| c.clear_after_samples = 1),
        timeline(
            "clear_after_samples = 0 is read as 1",
            vec![
                at(10).insulation(170.0).opens(INS, 2),
                at(20).closes(INS, 2),
            ],
        )
        .config(|c| c.clear_after_samples = 0),
        timeline(
            "a sample the rule cannot evaluate neither counts as clear nor breaks the count",
            vec![
                at(10).insulation(170.0).opens(INS, 2),
                at(20),
                at(30).with(|s| s.insulation_kohm = None),
                at(40).with(|s| s.total_voltage_v = None),
                at(50),
                at(60).closes(INS, 2),
            ],
        ),
        timeline(
            "a level change restarts the clear count",
            vec![
                at(10).insulation(170.0).opens(INS, 2),
                at(20),
                at(30),
                at(40).insulation(30.0).changes(INS, 2, 3),
                at(50),
                at(60),
                at(70).closes(INS, 3),
            ],
        ),
        timeline(
            "vehicles are independent",
            vec![
                at(10).insulation(170.0).opens(INS, 2),
                at(12).vin(B).insulation(30.0).opens(INS, 3),
                at(20),
                at(22).vin(B),
                at(30),
                at(32).vin(B),
                at(40).closes(INS, 2),
                at(42).vin(B).closes(INS, 3),
            ],
        ),
    ]);
}

#[test]
fn open_alarms_are_listed_by_name() {
    let engine = run(&timeline(
        "two alarms",
        vec![
            at(10)
                .insulation(30.0)
                .flags(Some(2), Some(1 << 1))
                .opens("battery_high_temperature", 2)
                .opens(INS, 3),
        ],
    ));
    assert_eq!(
        engine.open_alarms(&vin(A)),
        [("battery_high_temperature", 2), (INS, 3)]
    );
    assert!(engine.open_alarms(&vin(B)).is_empty());
    assert_eq!(engine.open_count(), 2);
}
