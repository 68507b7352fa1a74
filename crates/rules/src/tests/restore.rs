//! Restart: alarms restored from storage, warm-up with `observe`, and `kind_from_str`; plus the
//! order of one sample's events.

use model::alarm_flags::{FLAG_NAMES_2016, FLAG_NAMES_2025};

use super::support::*;
use crate::{Engine, RulesConfig, kind_from_str};

const INS: &str = "insulation_low";

#[test]
fn restore_and_observe_timelines() {
    check(vec![
        timeline(
            "restored alarms close after clear samples, flags before derived kinds",
            vec![
                at(10),
                at(11).vin(B),
                at(20),
                at(21).vin(B),
                at(30).closes("soc_jump", 1).closes("temperature_high", 3),
                at(31).vin(B).closes("battery_high_temperature", 2),
            ],
        )
        .restore(A, "temperature_high", 3)
        .restore(A, "soc_jump", 1)
        .restore(A, "no_such_kind", 2)
        .restore(B, "battery_high_temperature", 2),
        timeline(
            "a restored alarm whose condition holds at another level changes level",
            vec![at(10).insulation(170.0).changes(INS, 3, 2)],
        )
        .restore(A, INS, 3),
        timeline(
            "a restored offline closes on the next sample, not on ticks",
            vec![tick(100), tick(10_000), at(10_000).closes("offline", 2)],
        )
        .restore(A, "offline", 2),
        timeline(
            "observe never emits and never opens",
            vec![
                at(10).insulation(30.0).observed(),
                at(20)
                    .insulation(30.0)
                    .flags(Some(3), Some(1 << 1))
                    .observed(),
                at(30).insulation(30.0).opens(INS, 3),
            ],
        ),
        timeline(
            "observe never counts towards closing a restored alarm",
            vec![
                at(10).observed(),
                at(20).observed(),
                at(30).observed(),
                at(40).observed(),
                at(50),
                at(60),
                at(70).closes(INS, 2),
            ],
        )
        .restore(A, INS, 2),
        timeline(
            "observe moves memory on: previous SOC",
            vec![
                at(10).with(|s| s.soc_pct = Some(60.0)).observed(),
                at(20)
                    .with(|s| s.soc_pct = Some(75.0))
                    .opens("soc_jump_observed", 1),
            ],
        ),
        timeline(
            "observe moves memory on: consecutive deviating samples",
            vec![
                at(10).cell(17, 3.800).observed(),
                at(20).cell(17, 3.800).observed(),
                at(30).cell(17, 3.800).opens("cell_voltage_deviation", 2),
            ],
        ),
        timeline(
            "observe moves memory on: reception times for offline",
            vec![
                at(0).observed(),
                at(10).observed(),
                at(20).observed(),
                at(30).observed(),
                tick(61),
                tick(62).opens("offline", 2),
            ],
        ),
        timeline(
            "observe moves memory on: the newest device time",
            vec![at(100).observed(), at(50).insulation(30.0)],
        ),
    ]);
}

#[test]
fn restore_counts_known_kinds_once() {
    let mut engine = Engine::new(RulesConfig::default());
    let a = vin(A);
    engine.restore(&[
        (a.clone(), "insulation_low".to_owned(), 2),
        (a.clone(), "insulation_low".to_owned(), 3),
        (a.clone(), "thermal_event".to_owned(), 4),
        (a.clone(), "made_up".to_owned(), 1),
    ]);
    assert_eq!(engine.open_count(), 2);
    assert_eq!(
        engine.open_alarms(&a),
        [("insulation_low", 3), ("thermal_event", 4)]
    );
}

#[test]
fn kind_from_str_knows_every_kind_the_engine_emits() {
    for kind in FLAG_NAMES_2016.iter().chain(FLAG_NAMES_2025.iter()) {
        assert_eq!(kind_from_str(kind), Some(*kind));
    }
    for kind in [
        "offline",
        "clock_ahead",
        "cell_voltage_spread",
        "cell_voltage_deviation",
        "temperature_high",
        "temperature_rise",
        "temperature_spread",
        "insulation_low",
        "soc_jump_observed",
        "odometer_backwards",
        "position_jump",
        "data_quality",
    ] {
        assert_eq!(kind_from_str(kind), Some(kind));
    }
    assert_eq!(kind_from_str("Offline"), None);
    assert_eq!(kind_from_str(""), None);
}

#[test]
fn one_samples_events_come_in_the_documented_order() {
    check(vec![timeline(
        "offline closed, flags, then derived rules in their order",
        vec![
            at(0),
            at(10),
            at(20),
            at(30),
            tick(62).opens("offline", 2),
            at(70)
                .flags(Some(3), Some(1 << 1))
                .warm(35.0)
                .insulation(30.0)
                .with(|s| s.soc_pct = Some(80.0))
                .closes("offline", 2)
                .opens("battery_high_temperature", 3)
                .opens("temperature_high", 3)
                .opens("temperature_rise", 3)
                .opens(INS, 3)
                .opens("soc_jump_observed", 1),
        ],
    )]);
}
