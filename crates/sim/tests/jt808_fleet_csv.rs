//! The fleet registry CSV (`haihe simulate --fleet-csv`), in the format `haihe fleet import`
//! reads: the header `vin,terminal_id,plate,category,powertrain,owner_org`, one row per
//! terminal, values the registry accepts, the documented category mix, and the same rows for
//! any seed or version choice (so a registry imported once fits every run).

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use sim::jt808::{Config, Version, Versions, write_csv};

const CATEGORIES: [&str; 6] = [
    "taxi",
    "bus",
    "logistics",
    "heavy_truck",
    "sanitation",
    "postal",
];
const POWERTRAINS: [&str; 5] = ["bev", "phev", "fcev", "methanol_hybrid", "ice"];

fn csv(c: &Config) -> String {
    let mut out = Vec::new();
    write_csv(&mut out, &c.fleet().unwrap()).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_fleet_csv_is_the_registry_format() {
    let mut c = Config::new("127.0.0.1:6808", 100, Duration::from_secs(10));
    c.first_terminal = 41;
    let text = csv(&c);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("vin,terminal_id,plate,category,powertrain,owner_org")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 100);
    let (mut vins, mut plates) = (HashSet::new(), HashSet::new());
    let mut categories: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        let [vin, terminal, plate, category, powertrain, org] = row[..] else {
            panic!("row {i}: {row:?}")
        };
        assert_eq!(vin.len(), 17);
        assert!(vin.starts_with("LJ808") && vin.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(vins.insert(vin));
        assert_eq!(terminal, format!("138{:08}", 41 + i));
        assert!(plate.starts_with('津'), "{plate}");
        assert!((7..=8).contains(&plate.chars().count()), "{plate}");
        assert!(plates.insert(plate));
        assert!(CATEGORIES.contains(&category), "{category}");
        assert!(POWERTRAINS.contains(&powertrain), "{powertrain}");
        assert!(!org.is_empty() && org.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
        *categories.entry(category).or_default() += 1;
        // New-energy vehicles carry a D or F plate.
        let nev = matches!(powertrain, "bev" | "phev" | "fcev");
        assert_eq!(
            nev,
            plate.contains('D') || plate.contains('F'),
            "{plate} {powertrain}"
        );
    }
    let expected = [
        ("bus", 25),
        ("heavy_truck", 10),
        ("logistics", 15),
        ("postal", 5),
        ("sanitation", 5),
        ("taxi", 40),
    ];
    assert_eq!(categories, expected.into_iter().collect());
    // Owners by category.
    let org = |cat: &str| rows.iter().find(|r| r[3] == cat).unwrap()[5];
    assert_eq!(org("bus"), "tianjin-bus");
    assert_eq!(org("taxi"), "tianjin-taxi");
    assert_eq!(org("heavy_truck"), "port-logistics");
}

#[test]
fn the_registry_depends_on_the_terminal_numbers_only() {
    let mut a = Config::new("127.0.0.1:6808", 30, Duration::from_secs(10));
    a.first_terminal = 7;
    let mut b = a.clone();
    b.seed = 99;
    b.versions = Versions::Only(Version::V2019);
    assert_eq!(csv(&a), csv(&b));
    // Terminal 10 is terminal 10 whether a run starts at 1 or at 7.
    let mut whole = a.clone();
    whole.first_terminal = 1;
    whole.terminals = 36;
    let row = |text: &str, id: &str| {
        text.lines()
            .find(|l| l.contains(&format!(",{id},")))
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        row(&csv(&a), "13800000010"),
        row(&csv(&whole), "13800000010")
    );
    // The VIN prefix is the caller's.
    let mut p = a.clone();
    p.vin_prefix = "LTJ".into();
    assert!(
        csv(&p)
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("LTJ00000000000007,")
    );
    // Past the last eight-digit number is refused.
    let mut far = a;
    far.first_terminal = 99_999_990;
    assert!(far.fleet().is_err());
}
