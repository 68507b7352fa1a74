//! `offline` on clock ticks: after 3 usual periods (and at least 30 s) of silence of a driving or
//! charging vehicle; never for a parked one or after a logout; closed when the vehicle is heard.
//!
//! Baseline samples are received one second after their device time.

use super::support::*;

const OFF: &str = "offline";

/// Samples of a driving vehicle every `period` seconds from 0 to `last`.
fn driving(period: i64, last: i64) -> Vec<Step> {
    (0..=last / period).map(|i| at(i * period)).collect()
}

fn then(mut steps: Vec<Step>, more: Vec<Step>) -> Vec<Step> {
    steps.extend(more);
    steps
}

#[test]
fn offline_timelines() {
    check(vec![
        timeline(
            "a driving vehicle goes silent: opened after 3 periods on a tick, once; closed when heard",
            then(
                driving(10, 30), // last received at 31, period 10 s
                vec![
                    tick(40),
                    tick(61), // silent 30 s: not longer than 3 periods
                    tick(62).opens(OFF, 2),
                    tick(100),
                    tick(1000),
                    at(2000).closes(OFF, 2),
                    tick(2001),
                ],
            ),
        ),
        timeline(
            "after a platform restart, silence counts from the restart, not from the last sample",
            then(
                driving(10, 30), // last received at 31, period 10 s
                vec![
                    resume(500),
                    tick(520), // would open without the resume
                    tick(530),
                    tick(531).opens(OFF, 2),
                ],
            ),
        ),
        timeline(
            "the usual period is the median interval: 20 s gives 60 s",
            then(
                driving(20, 60), // last received at 61
                vec![tick(121), tick(122).opens(OFF, 2)],
            ),
        ),
        timeline(
            "the period is the median, not the last interval",
            vec![
                at(0),
                at(20),
                at(40),
                at(60),
                at(65), // intervals 20, 20, 20, 5: median 20
                tick(126),
                tick(127).opens(OFF, 2),
            ],
        ),
        timeline(
            "a fast reporter still gets offline_min_secs (30 s)",
            then(
                driving(2, 6), // last received at 7, period 2 s
                vec![tick(20), tick(36), tick(37).opens(OFF, 2)],
            ),
        ),
        timeline(
            "intervals over 10 minutes are the vehicle being off, not its period",
            vec![
                at(0),
                at(10),
                at(1000),
                at(2000),
                at(2010), // intervals 10, (990), (1000), 10: median 10
                tick(2041),
                tick(2042).opens(OFF, 2),
            ],
        ),
        timeline(
            "a parked vehicle that goes silent has been switched off",
            then(
                driving(10, 20),
                vec![at(30).parked(), tick(62), tick(10_000)],
            ),
        ),
        timeline(
            "a charging vehicle that goes silent is offline",
            then(
                driving(10, 20),
                vec![
                    at(30)
                        .parked()
                        .with(|s| s.charging_status = Some("parked_charging".into())),
                    tick(62).opens(OFF, 2),
                    at(70).closes(OFF, 2),
                ],
            ),
        ),
        timeline(
            "a sample without any status keeps the last word (driving)",
            then(
                driving(10, 20),
                vec![
                    at(30).with(|s| {
                        s.vehicle_status = None;
                        s.charging_status = None;
                    }),
                    tick(62).opens(OFF, 2),
                ],
            ),
        ),
        timeline(
            "a logout is not an outage, until the vehicle drives again",
            then(
                driving(10, 30),
                vec![
                    logout(33),
                    tick(62),
                    tick(5000),
                    at(5000),
                    at(5010),
                    tick(5041),
                    tick(5042).opens(OFF, 2),
                ],
            ),
        ),
        timeline(
            "a logout while offline is open closes it on the next tick, at the logout's time",
            then(
                driving(10, 30),
                vec![
                    tick(62).opens(OFF, 2),
                    logout(80),
                    tick(90).closes(OFF, 2).dated(80),
                    tick(500),
                ],
            ),
        ),
        timeline(
            "a reissued or late sample does not end an outage",
            then(
                driving(10, 30),
                vec![
                    tick(62).opens(OFF, 2),
                    at(40).reissue(),
                    at(20),
                    tick(100),
                    at(90).closes(OFF, 2),
                ],
            ),
        ),
        timeline(
            "ticks report vehicles in VIN order",
            vec![
                at(0).vin(B),
                at(10).vin(B),
                at(0),
                at(10),
                tick(42).opens(OFF, 2).of(A).opens(OFF, 2).of(B),
            ],
        ),
        timeline(
            "a vehicle never heard cannot be offline",
            vec![tick(0), tick(100_000)],
        ),
    ]);
}

#[test]
fn the_detail_gives_silence_and_period() {
    let events = last_events(then(driving(10, 30), vec![tick(62)]));
    assert_eq!(
        events[0].detail,
        "no data for 31 s > 3 × usual period 10 s; last seen driving"
    );
}
