//! `data_quality`: at least 3 invalid fields on 5 consecutive samples.

use model::quality::{INSULATION, SOC, SPEED, TOTAL_VOLTAGE};

use super::support::*;

const DQ: &str = "data_quality";

fn poor(step: Step) -> Step {
    step.with(|s| {
        s.quality = SPEED | SOC | INSULATION;
        s.speed_kmh = None;
        s.soc_pct = None;
        s.insulation_kohm = None;
    })
}

#[test]
fn data_quality_timelines() {
    check(vec![
        timeline(
            "4 poor samples, a good one, then 5 poor open; 3 good close",
            vec![
                poor(at(10)),
                poor(at(20)),
                poor(at(30)),
                poor(at(40)),
                at(50),
                poor(at(60)),
                poor(at(70)),
                poor(at(80)),
                poor(at(90)),
                poor(at(100)).opens(DQ, 1),
                poor(at(110)),
                at(120),
                at(130),
                at(140).closes(DQ, 1),
            ],
        ),
        timeline(
            "2 invalid fields, however long, are not poor",
            (1..=10)
                .map(|i| at(i * 10).with(|s| s.quality = SOC | TOTAL_VOLTAGE))
                .collect(),
        ),
    ]);
}

#[test]
fn the_detail_names_the_fields() {
    let events = last_events((1..=5).map(|i| poor(at(i * 10))).collect());
    assert_eq!(
        events[0].detail,
        "5 consecutive samples with ≥ 3 invalid fields; latest: speed_kmh, soc_pct, insulation_kohm"
    );
}
