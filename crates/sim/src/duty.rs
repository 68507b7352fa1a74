//! Fleet vehicles on duty: what a city's buses, taxis, port trucks and service vans do over a
//! day on the Tianjin roads of [`crate::roads`], as a JT/T 808 terminal would see it.
//!
//! - buses run their line (out and back, or round) from the depot, stopping at stops, with a
//!   layover at the depot after each run, from about 05:30 to 23:00;
//! - taxis roam between districts: a fare to some place, a wait there, the next fare; most
//!   stand at home between about 02:00 and 06:00;
//! - heavy trucks shuttle containers between the port's container terminals and an inland
//!   logistics park, loading and unloading at each end, day and night;
//! - logistics and postal vans make delivery rounds from their depot in working hours;
//! - sanitation vehicles sweep a round of their district at walking pace, stopping often.
//!
//! Ignition is off (ACC off, speed 0) while a vehicle stands at a depot, loads, delivers or is
//! off duty; it stays on in traffic, at bus stops and while a taxi waits briefly. The odometer
//! advances by exactly the distance driven, and vehicles that burn fuel (ICE and hybrids) use
//! it while driving and idling, refuelling when low. Movement follows the same kinematics as
//! [`crate::vehicle`]: bounded acceleration, braking for every stop, the distance of a step
//! from the trapezoid of its speeds, so the track never jumps.
//!
//! Service hours follow the vehicle's own clock in Beijing time, so a fleet started at night
//! looks like a fleet at night. Everything random comes from the vehicle's seeded generator.

use std::collections::VecDeque;
use std::sync::OnceLock;

use model::Timestamp;

use crate::rng::Rng;
use crate::roads::{District, Path, network};

/// Identities (category, powertrain, duty) are drawn from this family, not from the run's seed,
/// so that a terminal number always names the same vehicle (the fleet registry stays valid).
pub const IDENTITY_SEED: u64 = 0x4A54_3830_3800_0001;

const BEIJING_OFFSET_S: f64 = 8.0 * 3600.0;
const DAY_S: f64 = 86_400.0;
const MAX_SUBSTEP: f64 = 1.0;
const COMFORT_DECEL: f64 = 1.2;
const MAX_DECEL: f64 = 3.5;
/// Sweepers work at walking pace.
const SWEEP_KMH: f64 = 12.0;
/// Below this share of the tank a vehicle refuels at its next stop.
const REFUEL_BELOW: f64 = 0.25;

/// What a vehicle is for (DESIGN.md §4 `vehicles.category`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Taxi,
    Bus,
    Logistics,
    HeavyTruck,
    Sanitation,
    Postal,
}

use Category::{Bus, HeavyTruck, Logistics, Postal, Sanitation, Taxi};

/// Categories by terminal number: 8 taxis (40 %), 5 buses (25 %), 3 logistics vans (15 %),
/// 2 heavy trucks (10 %), 1 sanitation vehicle and 1 postal van (5 % each) in every twenty,
/// interleaved so that even a small fleet is mixed.
const PATTERN: [Category; 20] = [
    Taxi, Bus, Logistics, Taxi, HeavyTruck, Bus, Taxi, Sanitation, Logistics, Taxi, Bus, Postal,
    Taxi, HeavyTruck, Bus, Taxi, Logistics, Taxi, Bus, Taxi,
];

impl Category {
    pub const ALL: [Self; 6] = [Taxi, Bus, Logistics, HeavyTruck, Sanitation, Postal];

    /// The category of terminal number `n` (1 is the first): `PATTERN[(n − 1) mod 20]`.
    pub fn for_number(n: u64) -> Self {
        PATTERN[(n.wrapping_sub(1) % PATTERN.len() as u64) as usize]
    }

    /// The registry's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Taxi => "taxi",
            Bus => "bus",
            Logistics => "logistics",
            HeavyTruck => "heavy_truck",
            Sanitation => "sanitation",
            Postal => "postal",
        }
    }

    /// The organisation that runs vehicles of this category.
    pub fn owner_org(self) -> &'static str {
        match self {
            Taxi => "tianjin-taxi",
            Bus => "tianjin-bus",
            Logistics => "city-logistics",
            HeavyTruck => "port-logistics",
            Sanitation => "tianjin-sanitation",
            Postal => "china-post-tianjin",
        }
    }

    /// Large vehicles carry large-vehicle plates (yellow; NEV letter at the end).
    pub fn is_large(self) -> bool {
        matches!(self, Bus | HeavyTruck | Sanitation)
    }

    /// Whether its load matters (status bits 8–9).
    pub fn carries_load(self) -> bool {
        matches!(self, HeavyTruck | Logistics | Postal)
    }

    fn max_speed_kmh(self) -> f64 {
        match self {
            Taxi => 100.0,
            Bus => 60.0,
            Logistics | Postal => 90.0,
            HeavyTruck => 80.0,
            Sanitation => 50.0,
        }
    }

    fn max_accel(self) -> f64 {
        match self {
            Taxi | Logistics | Postal => 2.0,
            Bus | Sanitation => 1.0,
            HeavyTruck => 0.6,
        }
    }

    /// Diesel or petrol per 100 km for the combustion version.
    fn litres_per_100km(self) -> f64 {
        match self {
            Taxi => 8.0,
            Bus => 32.0,
            Logistics => 13.0,
            HeavyTruck => 34.0,
            Sanitation => 28.0,
            Postal => 10.0,
        }
    }

    fn idle_litres_per_h(self) -> f64 {
        match self {
            Taxi | Postal | Logistics => 0.8,
            Bus | Sanitation => 2.5,
            HeavyTruck => 3.0,
        }
    }

    fn tank_l(self) -> f64 {
        match self {
            Taxi => 50.0,
            Bus => 250.0,
            Logistics => 80.0,
            HeavyTruck => 500.0,
            Sanitation => 200.0,
            Postal => 60.0,
        }
    }

    fn odometer_km_range(self) -> (f64, f64) {
        match self {
            Taxi => (80_000.0, 450_000.0),
            Bus => (100_000.0, 600_000.0),
            Logistics => (20_000.0, 250_000.0),
            HeavyTruck => (150_000.0, 900_000.0),
            Sanitation => (30_000.0, 300_000.0),
            Postal => (20_000.0, 200_000.0),
        }
    }

    /// Service hours, Beijing time (seconds of the day, start and end; the end may be past
    /// midnight); `None`: always.
    fn service(self) -> Option<(f64, f64)> {
        let h = |x: f64| x * 3600.0;
        match self {
            Bus => Some((h(5.5), h(23.0))),
            Taxi => Some((h(6.0), h(2.0))),
            HeavyTruck => None,
            Logistics => Some((h(7.0), h(20.0))),
            Postal => Some((h(7.5), h(18.5))),
            Sanitation => Some((h(4.5), h(18.0))),
        }
    }
}

/// What moves the vehicle (DESIGN.md §4 `vehicles.powertrain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Powertrain {
    Bev,
    Phev,
    Fcev,
    MethanolHybrid,
    Ice,
}

impl Powertrain {
    pub const ALL: [Self; 5] = [
        Self::Bev,
        Self::Phev,
        Self::Fcev,
        Self::MethanolHybrid,
        Self::Ice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bev => "bev",
            Self::Phev => "phev",
            Self::Fcev => "fcev",
            Self::MethanolHybrid => "methanol_hybrid",
            Self::Ice => "ice",
        }
    }

    /// Whether the vehicle has a fuel tank (and its terminal reports item 0x02).
    pub fn burns_fuel(self) -> bool {
        matches!(self, Self::Phev | Self::MethanolHybrid | Self::Ice)
    }

    /// New-energy vehicles carry green plates with a D (battery-electric) or F (other).
    pub fn is_new_energy(self) -> bool {
        matches!(self, Self::Bev | Self::Phev | Self::Fcev)
    }

    /// Litres of fuel per litre the combustion version would burn: a plug-in hybrid drives
    /// mostly on its battery; methanol holds about half the energy of diesel, which the hybrid
    /// drive partly makes up for.
    fn fuel_factor(self) -> f64 {
        match self {
            Self::Ice => 1.0,
            Self::Phev => 0.35,
            Self::MethanolHybrid => 1.3,
            Self::Bev | Self::Fcev => 0.0,
        }
    }

    /// The powertrain of terminal number `n` of `category`: mostly battery-electric buses and
    /// taxis, a mix for heavy trucks (percentages in the table below), drawn from
    /// [`IDENTITY_SEED`] so it depends on the number only.
    pub fn for_vehicle(category: Category, n: u64) -> Self {
        use Powertrain::{Bev, Fcev, Ice, MethanolHybrid, Phev};
        let weights: &[(Self, u32)] = match category {
            Taxi => &[(Bev, 75), (Phev, 10), (Ice, 15)],
            Bus => &[(Bev, 85), (Fcev, 5), (Phev, 5), (Ice, 5)],
            Logistics => &[(Bev, 60), (Phev, 10), (Ice, 30)],
            HeavyTruck => &[
                (Ice, 50),
                (Bev, 25),
                (Fcev, 10),
                (MethanolHybrid, 10),
                (Phev, 5),
            ],
            Sanitation => &[(Bev, 70), (Ice, 30)],
            Postal => &[(Bev, 75), (Ice, 25)],
        };
        let mut roll = Rng::derive(IDENTITY_SEED, n).below(100) as u32;
        for &(p, w) in weights {
            if roll < w {
                return p;
            }
            roll -= w;
        }
        weights[0].0
    }
}

/// Bus lines: the depot first, then the places the line runs through; the bus returns the
/// shortest way from the last to the depot.
const BUS_LINES: &[&[&str]] = &[
    // Water Park ↔ Meijiang through Nankai, Heping and Hexi.
    &["water_park", "meijiang"],
    // Hongqiao, the station, the Dagu bridge, and back by the north bank.
    &["hongqiao", "tianjin_station", "dagu_bridge"],
    // The airport shuttle.
    &["tianjin_station", "binhai_airport"],
    // Round Binhai: Tanggu, Yujiapu, the port gate, TEDA.
    &["tanggu", "yujiapu", "port_gate", "teda"],
    // Round Hedong and Hexi.
    &[
        "zhongshanmen",
        "shuangqiao",
        "meijiang",
        "cultural_center",
        "xiaobailou",
        "dagu_bridge",
    ],
];

/// Sweeping rounds, depot first.
const SWEEP_ROUNDS: &[&[&str]] = &[
    &["anshan_road", "binjiang_dao", "xiaobailou"],
    &["machang_dao", "cultural_center", "meijiang"],
    &["tanggu", "teda", "yujiapu"],
    &["sanchakou", "zhongshan_road", "tianjin_station"],
];

/// Where taxis take fares (the logistics parks and the container terminal are not among them).
const TAXI_PLACES: &[&str] = &[
    "water_park",
    "nankai_university",
    "anshan_road",
    "binjiang_dao",
    "xiaobailou",
    "machang_dao",
    "cultural_center",
    "meijiang",
    "tianjin_station",
    "sanchakou",
    "hongqiao",
    "zhongshan_road",
    "dagu_bridge",
    "zhongshanmen",
    "binhai_airport",
    "shuangqiao",
    "hujiayuan",
    "teda",
    "tanggu",
    "yujiapu",
];

/// Where taxi drivers live (and stand at night).
const TAXI_HOMES: &[&str] = &[
    "water_park",
    "nankai_university",
    "xiaobailou",
    "meijiang",
    "hongqiao",
    "zhongshan_road",
    "zhongshanmen",
    "shuangqiao",
    "tanggu",
];

/// The inland logistics parks: depots of logistics vans, ends of the port trucks' shuttles.
const LOGISTICS_PARKS: &[&str] = &[
    "airport_logistics_park",
    "junliangcheng",
    "jinnan_logistics_park",
];

const POSTAL_DEPOTS: &[&str] = &["tianjin_station", "tanggu"];

/// Delivery addresses in the city, and in Binhai.
const CITY_AREA: &[&str] = &[
    "water_park",
    "nankai_university",
    "anshan_road",
    "binjiang_dao",
    "xiaobailou",
    "machang_dao",
    "cultural_center",
    "meijiang",
    "tianjin_station",
    "sanchakou",
    "hongqiao",
    "zhongshan_road",
    "dagu_bridge",
    "zhongshanmen",
    "shuangqiao",
];
const BINHAI_AREA: &[&str] = &["hujiayuan", "teda", "tanggu", "yujiapu", "port_gate"];

/// The part a vehicle plays, fixed by its terminal number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Duty {
    /// Runs bus line `line` from its depot.
    Line { line: usize },
    /// Takes fares anywhere; stands at `home` at night.
    Fares { home: usize },
    /// Shuttles between the container terminal `port` and the logistics park `park`.
    Shuttle { port: usize, park: usize },
    /// Delivery rounds from `depot`.
    Rounds { depot: usize },
    /// Sweeps round `round`.
    Sweep { round: usize },
}

impl Duty {
    /// The duty of terminal number `n` of `category`, from [`IDENTITY_SEED`].
    pub fn for_vehicle(category: Category, n: u64) -> Self {
        let net = network();
        let mut r = Rng::derive(IDENTITY_SEED ^ 0xD07, n);
        let pick = |r: &mut Rng, list: &[&str]| net.place(list[r.below(list.len())]);
        match category {
            Bus => Self::Line {
                line: r.below(BUS_LINES.len()),
            },
            Taxi => Self::Fares {
                home: pick(&mut r, TAXI_HOMES),
            },
            HeavyTruck => Self::Shuttle {
                port: net.place("port_container_terminal"),
                park: pick(&mut r, LOGISTICS_PARKS),
            },
            Logistics => Self::Rounds {
                depot: pick(&mut r, LOGISTICS_PARKS),
            },
            Postal => Self::Rounds {
                depot: pick(&mut r, POSTAL_DEPOTS),
            },
            Sanitation => Self::Sweep {
                round: r.below(SWEEP_ROUNDS.len()),
            },
        }
    }

    /// Where the vehicle is based (its depot, home or port).
    pub fn home(self) -> usize {
        match self {
            Self::Line { line } => network().place(BUS_LINES[line][0]),
            Self::Fares { home } => home,
            Self::Shuttle { port, .. } => port,
            Self::Rounds { depot } => depot,
            Self::Sweep { round } => network().place(SWEEP_ROUNDS[round][0]),
        }
    }

    /// The district of its base.
    pub fn district(self) -> District {
        network().places[self.home()].district
    }
}

fn line_paths() -> &'static [Path] {
    static PATHS: OnceLock<Vec<Path>> = OnceLock::new();
    PATHS.get_or_init(|| {
        let net = network();
        BUS_LINES
            .iter()
            .map(|l| {
                let stops: Vec<usize> = l.iter().map(|p| net.place(p)).collect();
                net.path(&stops, true)
            })
            .collect()
    })
}

fn sweep_paths() -> &'static [Path] {
    static PATHS: OnceLock<Vec<Path>> = OnceLock::new();
    PATHS.get_or_init(|| {
        let net = network();
        SWEEP_ROUNDS
            .iter()
            .map(|l| {
                let stops: Vec<usize> = l.iter().map(|p| net.place(p)).collect();
                net.path(&stops, true)
            })
            .collect()
    })
}

/// How a leg is driven: where the vehicle stops on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// Traffic lights on city streets.
    Traffic,
    /// Bus stops (and the line's intermediate termini).
    Bus,
    /// Sweeping: walking pace, a stop every few hundred metres.
    Sweep,
}

#[derive(Debug, Clone, Copy)]
struct Stop {
    at_m: f64,
    dwell_s: f64,
}

/// One drive from a place to a place along a path.
#[derive(Debug, Clone)]
struct Leg {
    path: Path,
    pos_m: f64,
    stops: VecDeque<Stop>,
    to: usize,
    sweeping: bool,
}

/// Whether the vehicle is on the road or standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// On a leg (including stops at lights and bus stops, ignition on).
    Driving,
    /// Standing at a place: a wait, loading, a delivery, a layover or off duty.
    Halted,
}

/// One fleet vehicle. Advance it with [`FleetVehicle::step`]; read what its terminal would
/// report with the accessors.
#[derive(Debug, Clone)]
pub struct FleetVehicle {
    category: Category,
    powertrain: Powertrain,
    duty: Duty,
    rng: Rng,
    /// Seconds since the Unix epoch (UTC).
    clock_s: f64,
    /// Service hours, Beijing seconds of the day; `None`: always in service.
    service: Option<(f64, f64)>,
    /// The place last reached (where the vehicle stands when halted).
    place: usize,
    leg: Option<Leg>,
    halt_left_s: f64,
    halt_acc: bool,
    speed_mps: f64,
    accel_mps2: f64,
    heading_deg: f64,
    position: (f64, f64),
    cruise_factor: f64,
    cruise_left_s: f64,
    /// Time left standing at a stop on the way (ignition on).
    dwell_s: f64,
    odometer_m: f64,
    fuel_l: f64,
    tank_l: f64,
    loaded: bool,
    /// Delivery addresses left on the current round.
    tour: VecDeque<usize>,
    altitude_m: f64,
}

impl FleetVehicle {
    /// Terminal number `n`'s vehicle in the fleet of `seed`, starting at `start`: in service it
    /// starts somewhere along its work (mostly driving), out of service it stands at its base.
    pub fn new(
        category: Category,
        powertrain: Powertrain,
        n: u64,
        seed: u64,
        start: Timestamp,
    ) -> Self {
        let duty = Duty::for_vehicle(category, n);
        let mut rng = Rng::derive(seed, n);
        let jitter = |r: &mut Rng| r.range(-1800.0, 1800.0);
        let service = category.service().map(|(s, e)| {
            (
                (s + jitter(&mut rng)).rem_euclid(DAY_S),
                (e + jitter(&mut rng)).rem_euclid(DAY_S),
            )
        });
        let tank_l = category.tank_l();
        let (lo, hi) = category.odometer_km_range();
        let home = duty.home();
        let mut v = Self {
            category,
            powertrain,
            duty,
            clock_s: start.as_micros() as f64 / 1e6,
            service,
            place: home,
            leg: None,
            halt_left_s: 0.0,
            halt_acc: false,
            speed_mps: 0.0,
            accel_mps2: 0.0,
            heading_deg: rng.range(0.0, 360.0),
            position: network().places[home].point(),
            cruise_factor: rng.range(0.65, 0.95),
            cruise_left_s: rng.range(20.0, 90.0),
            dwell_s: 0.0,
            odometer_m: rng.range(lo, hi) * 1000.0,
            fuel_l: if powertrain.burns_fuel() {
                tank_l * rng.range(0.35, 0.95)
            } else {
                0.0
            },
            tank_l,
            loaded: false,
            tour: VecDeque::new(),
            altitude_m: rng.range(2.0, 8.0).round(),
            rng,
        };
        if v.in_service() {
            // Somewhere along its work: taxis anywhere, trucks at either end.
            match duty {
                Duty::Fares { .. } => {
                    v.place = network().place(TAXI_PLACES[v.rng.below(TAXI_PLACES.len())]);
                }
                Duty::Shuttle { park, .. } if v.rng.chance(0.5) => v.place = park,
                _ => {}
            }
            v.position = network().places[v.place].point();
            if v.rng.chance(0.2) {
                v.arrive_at_place();
            } else {
                v.depart();
                if let Some(leg) = v.leg.as_mut() {
                    let s = v.rng.range(0.0, 0.9) * leg.path.length_m();
                    leg.pos_m = s;
                    while leg.stops.front().is_some_and(|st| st.at_m <= s) {
                        leg.stops.pop_front();
                    }
                    let (lon, lat, heading) = leg.path.locate(s);
                    v.position = (lon, lat);
                    v.heading_deg = heading;
                }
            }
        } else {
            v.off_duty();
        }
        v
    }

    /// Advances the vehicle by `dt` seconds (in steps of at most one second).
    pub fn step(&mut self, dt: f64) {
        let mut left = dt.max(0.0);
        while left > 1e-9 {
            let h = left.min(MAX_SUBSTEP);
            if self.leg.is_some() {
                self.drive(h);
            } else {
                self.halt(h);
            }
            self.clock_s += h;
            left -= h;
        }
    }

    /// Seconds of the day in Beijing time.
    fn seconds_of_day(&self) -> f64 {
        (self.clock_s + BEIJING_OFFSET_S).rem_euclid(DAY_S)
    }

    fn in_service(&self) -> bool {
        let Some((start, end)) = self.service else {
            return true;
        };
        let t = self.seconds_of_day();
        if start <= end {
            (start..end).contains(&t)
        } else {
            t >= start || t < end
        }
    }

    /// Seconds until service starts again.
    fn until_service(&self) -> f64 {
        match self.service {
            None => 0.0,
            Some((start, _)) => (start - self.seconds_of_day()).rem_euclid(DAY_S),
        }
    }

    fn halt(&mut self, h: f64) {
        if self.halt_acc {
            self.burn(0.0, h);
        }
        self.halt_left_s -= h;
        if self.halt_left_s <= 0.0 {
            self.depart();
        }
    }

    fn stand(&mut self, seconds: f64, acc: bool) {
        self.leg = None;
        self.speed_mps = 0.0;
        self.accel_mps2 = 0.0;
        self.dwell_s = 0.0;
        self.halt_left_s = seconds.max(30.0);
        self.halt_acc = acc;
    }

    /// Stands at its base, ignition off, until service starts again.
    fn off_duty(&mut self) {
        let wait = self.until_service() + self.rng.range(0.0, 300.0);
        self.stand(wait.max(60.0), false);
    }

    /// A leg has ended at `self.place`: what the vehicle does there.
    fn arrive_at_place(&mut self) {
        if self.powertrain.burns_fuel() && self.fuel_l < self.tank_l * REFUEL_BELOW {
            self.fuel_l = self.tank_l * self.rng.range(0.9, 1.0);
        }
        let home = self.duty.home();
        let at_home = self.place == home;
        let r = &mut self.rng;
        let (seconds, acc) = match self.duty {
            Duty::Line { .. } => (r.range(240.0, 600.0), false),
            Duty::Fares { .. } => {
                // Waiting for the next fare: a short wait with the engine running, a long one
                // with it off.
                let s = r.range(120.0, 1_500.0);
                (s, s < 300.0)
            }
            Duty::Shuttle { port, .. } => {
                if self.place == port {
                    (r.range(1_800.0, 3_600.0), false)
                } else {
                    (r.range(1_200.0, 2_700.0), false)
                }
            }
            Duty::Rounds { .. } if at_home => (r.range(1_800.0, 3_600.0), false),
            Duty::Rounds { .. } => (r.range(300.0, 1_200.0), false),
            Duty::Sweep { .. } => (r.range(1_200.0, 3_600.0), false),
        };
        self.stand(seconds, acc);
    }

    /// A halt has ended: the next leg, or off duty.
    fn depart(&mut self) {
        let net = network();
        let home = self.duty.home();
        let in_service = self.in_service();
        match self.duty {
            Duty::Line { line } => {
                if in_service && self.place == home {
                    self.start_leg(line_paths()[line].clone(), home, Style::Bus, false);
                } else if self.place == home {
                    self.off_duty();
                } else {
                    self.go(home, Style::Traffic);
                }
            }
            Duty::Fares { home } => {
                if in_service {
                    // Most fares stay in the city; some go out to Binhai.
                    let places = if self.rng.chance(0.85) {
                        CITY_AREA
                    } else {
                        TAXI_PLACES
                    };
                    let to = loop {
                        let p = net.place(places[self.rng.below(places.len())]);
                        if p != self.place {
                            break p;
                        }
                    };
                    self.go(to, Style::Traffic);
                } else if self.place == home {
                    self.off_duty();
                } else {
                    self.go(home, Style::Traffic);
                }
            }
            Duty::Shuttle { port, park } => {
                // Imports go inland full; the trucks come back empty.
                self.loaded = self.place == port;
                let to = if self.place == port { park } else { port };
                self.go(to, Style::Traffic);
            }
            Duty::Rounds { depot } => {
                if !in_service {
                    self.tour.clear();
                    self.loaded = false;
                    if self.place == depot {
                        self.off_duty();
                    } else {
                        self.go(depot, Style::Traffic);
                    }
                    return;
                }
                if self.tour.is_empty() && self.place == depot {
                    let area = if net.places[depot].district == District::Binhai {
                        BINHAI_AREA
                    } else {
                        CITY_AREA
                    };
                    let candidates = area.iter().filter(|&&p| net.place(p) != depot).count();
                    let stops = (3 + self.rng.below(3)).min(candidates);
                    while self.tour.len() < stops {
                        let p = net.place(area[self.rng.below(area.len())]);
                        if p != depot && !self.tour.contains(&p) {
                            self.tour.push_back(p);
                        }
                    }
                }
                self.loaded = !self.tour.is_empty();
                let to = self.tour.pop_front().unwrap_or(depot);
                self.go(to, Style::Traffic);
            }
            Duty::Sweep { round } => {
                if in_service && self.place == home {
                    self.start_leg(sweep_paths()[round].clone(), home, Style::Sweep, true);
                } else if self.place == home {
                    self.off_duty();
                } else {
                    self.go(home, Style::Traffic);
                }
            }
        }
    }

    fn go(&mut self, to: usize, style: Style) {
        let path = network().path(&[self.place, to], false);
        self.start_leg(path, to, style, false);
    }

    fn start_leg(&mut self, path: Path, to: usize, style: Style, sweeping: bool) {
        if path.length_m() < 1.0 {
            // Already there.
            self.place = to;
            self.arrive_at_place();
            return;
        }
        let stops = self.plan_stops(&path, style);
        self.leg = Some(Leg {
            path,
            pos_m: 0.0,
            stops,
            to,
            sweeping,
        });
        self.dwell_s = 0.0;
    }

    /// Where a leg stops on the way: lights on city streets, bus stops, sweeping stops, and
    /// for buses the line's intermediate termini.
    fn plan_stops(&mut self, path: &Path, style: Style) -> VecDeque<Stop> {
        let length = path.length_m();
        let (lo, hi) = match style {
            Style::Traffic => (300.0, 900.0),
            Style::Bus => (250.0, 700.0),
            Style::Sweep => (150.0, 400.0),
        };
        let mut stops: Vec<Stop> = Vec::new();
        let mut next = self.rng.range(lo, hi);
        for (a, b, seg) in path.segments() {
            while next < b {
                if seg.urban && next >= a && next < length - 30.0 {
                    let dwell_s = match style {
                        // A red light half the time.
                        Style::Traffic => self.rng.range(-50.0, 60.0).max(0.0),
                        Style::Bus => self.rng.range(10.0, 50.0),
                        Style::Sweep => self.rng.range(20.0, 90.0),
                    };
                    if dwell_s > 5.0 {
                        stops.push(Stop {
                            at_m: next,
                            dwell_s,
                        });
                    }
                }
                next += self.rng.range(lo, hi);
            }
        }
        if style == Style::Bus {
            let marks = path.marks();
            for &(at_m, _) in &marks[1..marks.len().saturating_sub(1)] {
                if at_m > 30.0 && at_m < length - 30.0 {
                    let dwell_s = self.rng.range(60.0, 180.0);
                    stops.push(Stop { at_m, dwell_s });
                }
            }
            stops.sort_by(|x, y| x.at_m.total_cmp(&y.at_m));
            stops.dedup_by(|later, earlier| later.at_m - earlier.at_m < 20.0);
        }
        stops.into()
    }

    fn drive(&mut self, h: f64) {
        let category = self.category;
        let leg = self.leg.as_mut().expect("driving needs a leg");
        let length = leg.path.length_m();
        let stop_at = |leg: &Leg| {
            let next = leg.stops.front().map_or(length, |s| s.at_m.min(length));
            (next - leg.pos_m).max(0.0)
        };
        let ahead = stop_at(leg);
        let v = self.speed_mps;
        let a = if self.dwell_s > 0.0 {
            self.dwell_s -= h;
            0.0
        } else if ahead <= 2.0 {
            // At the stop line: stop as fast as the brakes allow.
            -(v / h).min(MAX_DECEL)
        } else {
            self.cruise_left_s -= h;
            if self.cruise_left_s <= 0.0 {
                self.cruise_factor = self.rng.range(0.65, 0.95);
                self.cruise_left_s = self.rng.range(20.0, 90.0);
            }
            let mut limit = leg
                .path
                .segment_at(leg.pos_m)
                .speed_kmh
                .min(category.max_speed_kmh());
            if leg.sweeping {
                limit = limit.min(SWEEP_KMH);
            }
            let cruise = limit / 3.6 * self.cruise_factor;
            // Brake for the stop once that needs a comfortable deceleration (two metres short).
            let needed = v * v / (2.0 * (ahead - 2.0));
            if needed >= COMFORT_DECEL {
                -needed.min(MAX_DECEL)
            } else {
                ((cruise - v) / h).clamp(-COMFORT_DECEL, category.max_accel())
            }
        };
        let v_new = (v + a * h).max(0.0);
        // The trapezoid: distance always agrees with the speeds before and after.
        let d = (v + v_new) / 2.0 * h;
        self.accel_mps2 = (v_new - v) / h;
        self.speed_mps = v_new;
        let before = leg.pos_m;
        leg.pos_m = (leg.pos_m + d).min(length);
        let moved = leg.pos_m - before;
        let (lon, lat, heading) = leg.path.locate(leg.pos_m);
        self.position = (lon, lat);
        if moved > 0.0 {
            self.heading_deg = heading;
        }
        self.odometer_m += moved;
        let mut arrived = false;
        if v_new == 0.0 && self.dwell_s <= 0.0 && stop_at(leg) < 2.5 {
            match leg.stops.front() {
                Some(s) if s.at_m < length - 2.5 => {
                    self.dwell_s = s.dwell_s;
                    leg.stops.pop_front();
                }
                _ if leg.pos_m >= length - 2.5 => arrived = true,
                _ => {
                    leg.stops.pop_front();
                }
            }
        }
        // Arriving a metre or two short of the place, it rolls the rest of the way.
        let end = arrived.then(|| (leg.to, leg.path.locate(length), length - leg.pos_m));
        let moved = moved + end.map_or(0.0, |e| e.2);
        self.odometer_m += end.map_or(0.0, |e| e.2);
        self.burn(moved, h);
        if let Some((to, (lon, lat, _), _)) = end {
            self.position = (lon, lat);
            self.place = to;
            self.leg = None;
            self.arrive_at_place();
        }
    }

    /// Fuel for `moved` metres, plus idling when standing with the ignition on.
    fn burn(&mut self, moved: f64, h: f64) {
        let factor = self.powertrain.fuel_factor();
        if factor == 0.0 {
            return;
        }
        let mut litres = moved / 100_000.0 * self.category.litres_per_100km() * factor;
        if self.speed_mps == 0.0 {
            litres += self.category.idle_litres_per_h() * factor * h / 3600.0;
        }
        self.fuel_l = (self.fuel_l - litres).max(0.0);
    }

    pub fn category(&self) -> Category {
        self.category
    }

    pub fn powertrain(&self) -> Powertrain {
        self.powertrain
    }

    pub fn duty(&self) -> Duty {
        self.duty
    }

    pub fn activity(&self) -> Activity {
        if self.leg.is_some() {
            Activity::Driving
        } else {
            Activity::Halted
        }
    }

    /// The vehicle's clock.
    pub fn time(&self) -> Timestamp {
        Timestamp::from_micros((self.clock_s * 1e6).round() as i64)
    }

    /// (longitude, latitude), WGS-84 degrees.
    pub fn position(&self) -> (f64, f64) {
        self.position
    }

    /// Direction of travel (the last one, when standing), degrees clockwise from north.
    pub fn heading_deg(&self) -> f64 {
        self.heading_deg
    }

    pub fn altitude_m(&self) -> f64 {
        self.altitude_m
    }

    pub fn speed_kmh(&self) -> f64 {
        self.speed_mps * 3.6
    }

    /// Ignition: on while on a leg (lights, stops included) and during short waits.
    pub fn acc_on(&self) -> bool {
        self.leg.is_some() || self.halt_acc
    }

    /// Braking: slowing down, or held at a stop.
    pub fn braking(&self) -> bool {
        self.leg.is_some() && (self.accel_mps2 < -0.5 || self.dwell_s > 0.0)
    }

    /// Between dusk and dawn (headlights on).
    pub fn dark(&self) -> bool {
        let t = self.seconds_of_day() / 3600.0;
        !(6.0..18.5).contains(&t)
    }

    pub fn odometer_km(&self) -> f64 {
        self.odometer_m / 1000.0
    }

    /// Litres in the tank, for vehicles that burn fuel.
    pub fn fuel_l(&self) -> Option<f64> {
        self.powertrain.burns_fuel().then_some(self.fuel_l)
    }

    /// Whether it carries a load, for categories whose load matters.
    pub fn loaded(&self) -> Option<bool> {
        self.category.carries_load().then_some(self.loaded)
    }

    /// The place last reached and whether it is the vehicle's base.
    pub fn place(&self) -> (usize, bool) {
        (self.place, self.place == self.duty.home())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_category_mix_is_the_documented_one() {
        let mut counts = std::collections::BTreeMap::new();
        for n in 1..=1000 {
            *counts.entry(Category::for_number(n)).or_insert(0) += 1;
        }
        assert_eq!(counts[&Taxi], 400);
        assert_eq!(counts[&Bus], 250);
        assert_eq!(counts[&Logistics], 150);
        assert_eq!(counts[&HeavyTruck], 100);
        assert_eq!(counts[&Sanitation], 50);
        assert_eq!(counts[&Postal], 50);
        // The first ten are already mixed.
        let first: std::collections::HashSet<_> = (1..=10).map(Category::for_number).collect();
        assert!(first.len() >= 5, "{first:?}");
    }

    #[test]
    fn buses_and_taxis_are_mostly_electric_trucks_mixed() {
        let share = |c: Category, p: Powertrain| {
            let all: Vec<u64> = (1..20_000)
                .filter(|&n| Category::for_number(n) == c)
                .collect();
            let k = all
                .iter()
                .filter(|&&n| Powertrain::for_vehicle(c, n) == p)
                .count();
            k as f64 / all.len() as f64
        };
        assert!(share(Bus, Powertrain::Bev) > 0.8);
        assert!(share(Taxi, Powertrain::Bev) > 0.7);
        for p in Powertrain::ALL {
            assert!(share(HeavyTruck, p) > 0.03, "{p:?}");
        }
    }

    #[test]
    fn every_depot_and_line_works_a_day() {
        // One vehicle of each duty there is (depots with few addresses around them included).
        let mut seen = std::collections::HashSet::new();
        let morning = Timestamp::from_secs(1_794_931_200 + 6 * 3600);
        for n in 1..5_000 {
            let c = Category::for_number(n);
            let duty = Duty::for_vehicle(c, n);
            if !seen.insert(duty) {
                continue;
            }
            let mut v = FleetVehicle::new(c, Powertrain::Ice, n, 3, morning);
            let odo = v.odometer_km();
            for _ in 0..24 * 60 {
                v.step(60.0);
            }
            assert!(v.odometer_km() > odo + 10.0, "{duty:?} stood all day");
        }
        assert!(seen.len() >= 20, "{}", seen.len());
    }

    #[test]
    fn a_bus_out_of_hours_stands_at_its_depot_with_the_ignition_off() {
        // 03:00 Beijing time.
        let night = Timestamp::from_secs(1_795_000_000 - 1_795_000_000 % 86_400 + 19 * 3600);
        let n = (1..100).find(|&n| Category::for_number(n) == Bus).unwrap();
        let v = FleetVehicle::new(Bus, Powertrain::Bev, n, 1, night);
        assert_eq!(v.activity(), Activity::Halted);
        assert!(!v.acc_on());
        assert_eq!(v.speed_kmh(), 0.0);
        assert!(v.place().1);
        assert_eq!(v.fuel_l(), None);
    }
}
