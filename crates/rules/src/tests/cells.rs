//! `cell_voltage_spread` and `cell_voltage_deviation`.

use super::support::*;

const SPREAD: &str = "cell_voltage_spread";
const DEV: &str = "cell_voltage_deviation";

/// Half the pack at `low`, half at `high`: a wide spread without any single outlier.
fn split(step: Step, low: f64, high: f64) -> Step {
    step.with(|s| {
        for (i, c) in s.cell_voltages_v.iter_mut().enumerate() {
            *c = Some(if i % 2 == 0 { low } else { high });
        }
    })
}

#[test]
fn cell_spread_timelines() {
    check(vec![
        timeline(
            "a spread of 0.299 V is fine, 0.350 V opens; it closes after 3 clear samples",
            vec![
                split(at(10), 3.700, 3.999),
                split(at(20), 3.700, 4.050).opens(SPREAD, 2),
                split(at(30), 3.700, 4.050),
                at(40),
                at(50),
                at(60).closes(SPREAD, 2),
            ],
        ),
        timeline(
            "without a cell list the extreme columns are used",
            vec![
                at(10)
                    .with(|s| {
                        s.cell_voltages_v.clear();
                        s.max_cell_voltage_v = Some(4.1);
                        s.min_cell_voltage_v = Some(3.7);
                    })
                    .opens(SPREAD, 2),
                at(20).with(|s| s.cell_voltages_v.clear()),
                // No list and no columns: not evaluated, so not clear either.
                at(30).with(|s| {
                    s.cell_voltages_v.clear();
                    s.max_cell_voltage_v = None;
                }),
                at(40),
                at(50).closes(SPREAD, 2),
            ],
        ),
    ]);
}

#[test]
fn cell_deviation_timelines() {
    check(vec![
        timeline(
            "the same cell out on 3 consecutive samples opens; back in, it closes after 3",
            vec![
                at(10).cell(17, 3.800),
                at(20).cell(17, 3.800),
                at(30).cell(17, 3.800).opens(DEV, 2),
                at(40).cell(17, 3.800),
                at(50),
                at(60),
                at(70).closes(DEV, 2),
            ],
        ),
        timeline(
            "two samples out, one in, two out: never three in a row",
            vec![
                at(10).cell(17, 3.800),
                at(20).cell(17, 3.800),
                at(30),
                at(40).cell(17, 3.800),
                at(50).cell(17, 3.800),
                at(60),
            ],
        ),
        timeline(
            "different cells taking turns are not the same cell",
            vec![
                at(10).cell(17, 3.800),
                at(20).cell(40, 3.800),
                at(30).cell(17, 3.800),
                at(40).cell(40, 3.800),
            ],
        ),
        timeline(
            "many σ out but within 0.05 V is not a deviation",
            vec![
                at(10).with(flat).cell(3, 3.860),
                at(20).with(flat).cell(3, 3.860),
                at(30).with(flat).cell(3, 3.860),
                at(40).with(flat).cell(3, 3.860),
            ],
        ),
        timeline(
            "0.06 V out in a flat pack is a deviation",
            vec![
                at(10).with(flat).cell(3, 3.840),
                at(20).with(flat).cell(3, 3.840),
                at(30).with(flat).cell(3, 3.840).opens(DEV, 2),
            ],
        ),
        timeline(
            "over 0.05 V but under 4 σ in a noisy pack is not a deviation",
            vec![
                at(10).with(noisy).cell(0, 3.800),
                at(20).with(noisy).cell(0, 3.800),
                at(30).with(noisy).cell(0, 3.800),
                at(40).with(noisy).cell(0, 3.800),
            ],
        ),
        timeline(
            "a sample without cells neither breaks nor extends the run",
            vec![
                at(10).cell(17, 3.800),
                at(20).cell(17, 3.800),
                at(30).with(|s| s.cell_voltages_v.clear()),
                at(40).cell(17, 3.800).opens(DEV, 2),
            ],
        ),
        timeline(
            "a NULL cell does not deviate: it ends that cell's run",
            vec![
                at(10).cell(17, 3.800),
                at(20).cell(17, 3.800),
                at(30).with(|s| s.cell_voltages_v[17] = None),
                at(40).cell(17, 3.800),
                at(50).cell(17, 3.800),
                at(60).cell(17, 3.800).opens(DEV, 2),
            ],
        ),
    ]);
}

/// Every cell at exactly 3.900 V.
fn flat(s: &mut model::VehicleSample) {
    for c in &mut s.cell_voltages_v {
        *c = Some(3.900);
    }
}

/// Cells spread ±0.04 V around 3.9 V (σ about 0.03 V).
fn noisy(s: &mut model::VehicleSample) {
    for (i, c) in s.cell_voltages_v.iter_mut().enumerate() {
        *c = Some(3.860 + 0.080 * f64::from(u8::try_from(i % 9).unwrap()) / 8.0);
    }
}

#[test]
fn the_details_name_values_and_the_cell() {
    let events = last_events(vec![split(at(10), 3.700, 4.112)]);
    assert_eq!(
        events[0].detail,
        "max−min cell voltage 0.412 V > 0.300 V (max 4.112 V, min 3.700 V)"
    );
    let events = last_events(vec![
        at(10).with(flat).cell(17, 3.800),
        at(20).with(flat).cell(17, 3.800),
        at(30).with(flat).cell(17, 3.800),
    ]);
    assert!(
        events[0]
            .detail
            .starts_with("cell 18 at 3.800 V deviates -0.099 V from the pack mean 3.899 V"),
        "{}",
        events[0].detail
    );
}
