//! `soc_jump_observed`, `odometer_backwards` and `position_jump`: steps between consecutive
//! samples. (The baseline drives east at about 31 km/h: 0.0001° of longitude a second.)

use super::support::*;

const SOC: &str = "soc_jump_observed";
const ODO: &str = "odometer_backwards";
const POS: &str = "position_jump";

fn soc(step: Step, pct: Option<f64>) -> Step {
    step.with(|s| s.soc_pct = pct)
}

fn odometer(step: Step, km: f64) -> Step {
    step.with(|s| s.odometer_km = Some(km))
}

/// `deg` degrees of longitude (about 86 km per degree here) off the baseline track.
fn east(step: Step, deg: f64) -> Step {
    step.with(|s| s.lon = s.lon.map(|lon| lon + deg))
}

#[test]
fn soc_timelines() {
    check(vec![
        timeline(
            "9.5 points is fine, 11 opens; steady afterwards closes it",
            vec![
                soc(at(0), Some(60.0)),
                soc(at(10), Some(50.5)),
                soc(at(20), Some(61.5)).opens(SOC, 1),
                soc(at(30), Some(61.5)),
                soc(at(40), Some(61.5)),
                soc(at(50), Some(61.5)).closes(SOC, 1),
            ],
        ),
        timeline(
            "more than 300 s apart is not judged (it neither opens nor counts as clear)",
            vec![
                soc(at(0), Some(60.0)),
                soc(at(301), Some(90.0)),
                soc(at(310), Some(70.0)).opens(SOC, 1),
                soc(at(611), Some(70.0)),
                soc(at(620), Some(70.0)),
                soc(at(630), Some(70.0)),
                soc(at(640), Some(70.0)).closes(SOC, 1),
            ],
        ),
        timeline(
            "a NULL SOC is skipped over, not read as zero",
            vec![
                soc(at(0), Some(60.0)),
                soc(at(10), None),
                soc(at(20), Some(61.0)),
                soc(at(30), None),
                soc(at(40), Some(75.0)).opens(SOC, 1),
            ],
        ),
        timeline(
            "the vehicle's own soc_jump flag is a different kind",
            vec![
                at(0).flags(Some(1), Some(1 << 8)).opens("soc_jump", 1),
                soc(at(10), Some(80.0))
                    .flags(Some(1), Some(1 << 8))
                    .opens(SOC, 1),
            ],
        ),
    ]);
}

#[test]
fn odometer_timelines() {
    check(vec![timeline(
        "back 0.8 km is fine, back 2.3 km opens; forward again closes",
        vec![
            at(10),                  // 1000.1 km
            odometer(at(20), 999.3), // back 0.8
            at(30),                  // 1000.3
            odometer(at(40), 998.0).opens(ODO, 1),
            at(50),
            at(60),
            at(70).closes(ODO, 1),
            at(80).with(|s| s.odometer_km = None),
            odometer(at(90), 990.0).opens(ODO, 1),
        ],
    )]);
}

#[test]
fn position_timelines() {
    check(vec![
        timeline(
            "4.3 km in 10 s opens; the way back holds it; on track it closes",
            vec![
                at(10),
                east(at(20), 0.05).opens(POS, 1),
                at(30),
                at(40),
                at(50),
                at(60).closes(POS, 1),
            ],
        ),
        timeline(
            "near misses: 0.87 km in 1 s (too short), 2.0 km in 30 s (238 km/h)",
            vec![
                at(10),
                east(at(11), 0.01),
                at(12),
                at(42),
                east(at(72), 0.02),
            ],
        ),
        timeline(
            "invalid fixes are skipped: the next valid one is compared with the last valid one",
            vec![
                at(10),
                east(at(20), 5.0).with(|s| s.position_valid = Some(false)),
                east(at(30), 5.0).with(|s| s.position_valid = None),
                at(40),
                east(at(50), 1.0).opens(POS, 1),
            ],
        ),
        timeline(
            "two valid positions at the same device time, 2 km apart",
            vec![at(10), east(at(10), 0.025).opens(POS, 1)],
        ),
    ]);
}
