//! The JT/T 808 fleet moves like a city fleet: a day of 10 s reports for vehicles of every
//! category stays inside Tianjin, never jumps, keeps its odometer consistent with the distance
//! covered, stands with the ignition off when it stands at a depot or off duty, burns fuel only
//! if it has a tank, and does what its category does (buses off the road at night, taxis across
//! districts, port trucks between the port and an inland park, sweepers at walking pace).

use std::collections::{BTreeSet, HashMap};

use model::Timestamp;
use sim::duty::{Activity, Category, Duty, FleetVehicle, Powertrain};
use sim::roads::network;
use sim::routes::{TIANJIN_BOX, haversine_m};

/// 2026-11-18 00:00 Beijing time.
const MIDNIGHT_BEIJING: i64 = 1_794_931_200;
const STEP_S: f64 = 10.0;

#[derive(Debug, Clone, Copy)]
struct Sample {
    hour: f64,
    pos: (f64, f64),
    speed_kmh: f64,
    acc: bool,
    odometer_km: f64,
    fuel_l: Option<f64>,
    activity: Activity,
    at_base: bool,
}

fn sample(v: &FleetVehicle) -> Sample {
    let secs = v.time().as_secs() - MIDNIGHT_BEIJING;
    Sample {
        hour: (secs.rem_euclid(86_400)) as f64 / 3600.0,
        pos: v.position(),
        speed_kmh: v.speed_kmh(),
        acc: v.acc_on(),
        odometer_km: v.odometer_km(),
        fuel_l: v.fuel_l(),
        activity: v.activity(),
        at_base: v.place().1,
    }
}

/// A day of 10 s reports from `start_hour`, checking the invariants every report must keep.
fn day(n: u64, seed: u64, start_hour: f64) -> (FleetVehicle, Vec<Sample>) {
    let category = Category::for_number(n);
    let powertrain = Powertrain::for_vehicle(category, n);
    let start = Timestamp::from_secs(MIDNIGHT_BEIJING + (start_hour * 3600.0) as i64);
    let mut v = FleetVehicle::new(category, powertrain, n, seed, start);
    let (x0, y0, x1, y1) = TIANJIN_BOX;
    let mut out = vec![sample(&v)];
    let mut path_km = 0.0;
    for _ in 0..(86_400.0 / STEP_S) as usize {
        v.step(STEP_S);
        let s = sample(&v);
        let prev = *out.last().unwrap();
        let what = format!("terminal {n} ({category:?}) at {:.2} h", s.hour);
        assert!(
            (x0..=x1).contains(&s.pos.0) && (y0..=y1).contains(&s.pos.1),
            "{what}: left Tianjin at {:?}",
            s.pos
        );
        let moved = haversine_m(prev.pos, s.pos);
        assert!(moved <= 1_000.0, "{what}: jumped {moved} m in 10 s");
        let odo = (s.odometer_km - prev.odometer_km) * 1000.0;
        assert!(odo >= 0.0, "{what}: odometer went back");
        assert!(
            moved <= odo + 0.5,
            "{what}: moved {moved} m, odometer {odo} m"
        );
        path_km += moved / 1000.0;
        if !s.acc {
            assert_eq!(s.speed_kmh, 0.0, "{what}: moving with the ignition off");
            assert_eq!(s.activity, Activity::Halted, "{what}");
        }
        if s.activity == Activity::Halted && prev.activity == Activity::Halted {
            assert_eq!(s.pos, prev.pos, "{what}: moved while standing");
        }
        assert!(s.speed_kmh <= 101.0, "{what}: {} km/h", s.speed_kmh);
        match (prev.fuel_l, s.fuel_l) {
            (None, None) => assert!(!powertrain.burns_fuel()),
            (Some(a), Some(b)) => {
                // Only a stop at a place refuels.
                assert!(
                    b <= a + 1e-9 || s.activity == Activity::Halted,
                    "{what}: fuel {a} → {b} while driving"
                );
                assert!(b >= 0.0);
            }
            _ => panic!("{what}: fuel item came and went"),
        }
        out.push(s);
    }
    // The odometer is the path driven: straight lines between reports cut corners only a little.
    let odo_km = out.last().unwrap().odometer_km - out[0].odometer_km;
    assert!(
        odo_km <= path_km * 1.03 + 0.2,
        "terminal {n}: odometer {odo_km} km for {path_km} km of track"
    );
    (v, out)
}

#[test]
fn a_fleet_day_keeps_every_invariant_and_each_category_does_its_job() {
    let mut km_by_category: HashMap<Category, f64> = HashMap::new();
    let mut burned = 0;
    for n in 1..=40 {
        let (v, samples) = day(n, 7, 4.0);
        let net = network();
        let category = v.category();
        let km = samples.last().unwrap().odometer_km - samples[0].odometer_km;
        *km_by_category.entry(category).or_default() += km;
        if let (Some(a), Some(b)) = (samples[0].fuel_l, samples.last().unwrap().fuel_l)
            && (b < a || km > 50.0)
        {
            burned += 1;
        }
        let during =
            |from: f64, to: f64| samples.iter().filter(move |s| (from..to).contains(&s.hour));
        match (category, v.duty()) {
            (Category::Bus, Duty::Line { .. }) => {
                // Off the road, ignition off, at the depot in the small hours; running by day.
                assert!(
                    during(1.0, 4.0).all(|s| !s.acc && s.at_base && s.speed_kmh == 0.0),
                    "bus {n} at night"
                );
                assert!(during(9.0, 17.0).filter(|s| s.speed_kmh > 5.0).count() > 500);
                assert!(km > 100.0, "bus {n}: {km} km");
            }
            (Category::Taxi, Duty::Fares { .. }) => {
                let districts: BTreeSet<_> = samples
                    .iter()
                    .step_by(30)
                    .map(|s| nearest_district(s.pos))
                    .collect();
                assert!(districts.len() >= 2, "taxi {n} stayed in {districts:?}");
                assert!(km > 80.0, "taxi {n}: {km} km");
            }
            (Category::HeavyTruck, Duty::Shuttle { port, park }) => {
                let near = |s: &Sample, p: usize| haversine_m(s.pos, net.places[p].point()) < 500.0;
                assert!(
                    samples.iter().any(|s| near(s, port)),
                    "truck {n} never at the port"
                );
                assert!(
                    samples.iter().any(|s| near(s, park)),
                    "truck {n} never at its park"
                );
                // Loading and unloading with the engine off.
                assert!(samples.iter().filter(|s| !s.acc).count() > 100);
            }
            (Category::Sanitation, Duty::Sweep { .. }) => {
                let driving: Vec<_> = samples
                    .iter()
                    .filter(|s| s.activity == Activity::Driving)
                    .collect();
                let mean = driving.iter().map(|s| s.speed_kmh).sum::<f64>() / driving.len() as f64;
                assert!(mean < 15.0, "sweeper {n} averages {mean} km/h");
            }
            (Category::Logistics | Category::Postal, Duty::Rounds { .. }) => {
                // Deliveries with the ignition off in working hours, nothing at night.
                assert!(during(10.0, 17.0).any(|s| !s.acc && !s.at_base));
                assert!(during(0.0, 5.0).all(|s| !s.acc));
            }
            (c, d) => panic!("terminal {n}: {c:?} with duty {d:?}"),
        }
    }
    for c in Category::ALL {
        assert!(
            km_by_category.get(&c).copied().unwrap_or(0.0) > 20.0,
            "{c:?}"
        );
    }
    assert!(burned >= 3, "only {burned} vehicles burned fuel");
}

/// The district of the place nearest to `pos`.
fn nearest_district(pos: (f64, f64)) -> &'static str {
    let net = network();
    net.places
        .iter()
        .min_by(|a, b| haversine_m(pos, a.point()).total_cmp(&haversine_m(pos, b.point())))
        .map(|p| p.district.name())
        .unwrap()
}

#[test]
fn the_same_seed_gives_the_same_day_and_another_seed_another() {
    let run = |seed| {
        let (_, s) = day(2, seed, 8.0);
        s.iter().map(|s| s.pos).collect::<Vec<_>>()
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
}
