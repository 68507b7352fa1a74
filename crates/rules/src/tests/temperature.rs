//! `temperature_high`, `temperature_rise` and `temperature_spread`.

use super::support::*;

const HIGH: &str = "temperature_high";
const RISE: &str = "temperature_rise";
const SPREAD: &str = "temperature_spread";

/// Baseline samples every 10 s from `from` to `to`, warmed by `rate` °C per 10 s from `from`
/// (the hottest probe starts at 28 °C).
fn ramp(from: i64, to: i64, rate: f64) -> Vec<Step> {
    (0..=(to - from) / 10)
        .map(|i| at(from + i * 10).warm(rate * i as f64))
        .collect()
}

#[test]
fn temperature_high_timelines() {
    check(vec![
        timeline(
            "60 °C is fine, 60.5 °C opens at level 3; it closes after 3 clear samples",
            vec![
                at(0).warm(32.0),
                at(100).warm(32.5).opens(HIGH, 3),
                at(200).warm(32.5),
                at(300),
                at(400),
                at(500).closes(HIGH, 3),
            ],
        ),
        timeline(
            "without probes, max_temp_c is used",
            vec![
                at(0)
                    .with(|s| {
                        s.probe_temps_c.clear();
                        s.max_temp_c = Some(65.0);
                        s.min_temp_c = Some(60.0);
                    })
                    .opens(HIGH, 3),
            ],
        ),
    ]);
}

#[test]
fn temperature_rise_timelines() {
    check(vec![
        timeline("2.4 °C/min for two minutes is fine", ramp(0, 120, 0.4)),
        timeline(
            "4.2 °C/min opens once 30 s of history exist; it closes once the last minute is calm",
            vec![
                at(0),
                at(10).warm(0.7),
                at(20).warm(1.4),
                at(30).warm(2.1).opens(RISE, 3), // vs 0 s: 2.1 °C in 30 s
                at(40).warm(2.8),
                at(50).warm(3.5),
                at(60).warm(4.2),
                // Flat at 32.2 °C from here.
                at(70).warm(4.2), // vs 10 s: 3.5 °C/min
                at(80).warm(4.2), // vs 20 s: 2.8 °C/min
                at(90).warm(4.2),
                at(100).warm(4.2).closes(RISE, 3),
            ],
        ),
        timeline(
            "no judgement before the oldest point is window/2 old",
            vec![
                at(0),
                at(10).warm(10.0),
                at(20).warm(20.0),
                at(30).warm(27.0).opens(RISE, 3),
            ],
        ),
        timeline(
            "after a long silence the window starts afresh",
            vec![
                at(0),
                at(10),
                at(20),
                at(30),
                at(1000).warm(2.0),
                at(1010).warm(12.0),
                at(1020).warm(22.0),
                at(1030).warm(27.0).opens(RISE, 3),
            ],
        ),
        timeline(
            "a reporter every second: the ring still spans the window",
            (0..=90)
                .map(|i| {
                    let step = at(i).warm(0.06 * i as f64);
                    if i == 30 { step.opens(RISE, 3) } else { step }
                })
                .collect(),
        ),
    ]);
}

#[test]
fn temperature_spread_timelines() {
    check(vec![timeline(
        "14.9 °C is fine, 15.5 °C opens at level 2",
        vec![
            at(0).probe(3, 39.9),
            at(10).probe(3, 40.5).opens(SPREAD, 2),
            at(20),
            at(30),
            at(40).closes(SPREAD, 2),
        ],
    )]);
}

#[test]
fn the_details_give_the_rate() {
    let events = last_events(ramp(0, 30, 0.7));
    assert_eq!(
        events[0].detail,
        "max temperature rose 28.0 → 30.1 °C in 30 s: 4.2 °C/min > 3.0 °C/min"
    );
}
