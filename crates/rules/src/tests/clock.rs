//! Time honesty: a device clock far ahead is flagged, its own alarm flags still count, and it is
//! otherwise ignored (and does not make later samples look out of order); reissued and late samples change nothing, not even memory.

use super::support::*;

const AHEAD: &str = "clock_ahead";
const HT: &str = "battery_high_temperature";

#[test]
fn clock_ahead_timelines() {
    check(vec![
        timeline(
            "a sample 600 s ahead opens clock_ahead and its flags at its receive time, and feeds no derived rule",
            vec![
                at(10),
                at(20)
                    .ahead(600)
                    .warm(40.0)
                    .insulation(1.0)
                    .flags(Some(3), Some(1 << 1))
                    .with(|s| s.soc_pct = Some(95.0))
                    .opens(AHEAD, 1)
                    .dated(21)
                    .opens(HT, 3)
                    .dated(21),
                at(25).ahead(900),
                // Not out of order although device time 921 was seen; SOC 60 is no jump.
                at(30),
                at(40).closes(HT, 3),
                at(50).closes(AHEAD, 1),
            ],
        ),
        timeline("exactly 300 s ahead is tolerated", vec![at(10).ahead(300)]),
        timeline(
            "samples far ahead keep a vehicle online, and one ends an outage",
            vec![
                at(0),
                at(10),
                at(20),
                at(30),
                at(40).ahead(3600).opens(AHEAD, 1).dated(41),
                at(50).ahead(3600),
                at(60).ahead(3600),
                tick(90),
                tick(92).opens("offline", 2),
                at(100).ahead(3600).closes("offline", 2).dated(101),
            ],
        ),
    ]);
}

#[test]
fn history_timelines() {
    check(vec![
        timeline(
            "reissued samples neither fire nor feed memory",
            vec![
                at(10),
                at(15)
                    .reissue()
                    .with(|s| s.soc_pct = Some(95.0))
                    .insulation(1.0)
                    .flags(Some(3), Some(1 << 1)),
                at(20),
                at(30).flags(Some(2), Some(1 << 1)).opens(HT, 2),
                at(35)
                    .reissue()
                    .with(|s| s.ts = model::Timestamp::from_secs(1000)),
                at(40),
                at(50),
                at(60).closes(HT, 2),
            ],
        ),
        timeline(
            "late live samples neither fire nor feed memory",
            vec![
                at(100),
                at(50).with(|s| s.soc_pct = Some(95.0)).insulation(1.0),
                at(110),
            ],
        ),
    ]);
}
