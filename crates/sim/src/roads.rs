//! The Tianjin road network that fleet vehicles drive on: named places joined by roads, the
//! shortest way between two places, and [`Path`]s to move along.
//!
//! The places are real ones (the old town, the Haihe bridges, the railway station, Binhai
//! airport, the logistics parks of Dongli and Jinnan, TEDA, Tanggu, Yujiapu and the container
//! terminals of Tianjin port) and the roads follow the real corridors closely enough for a map to
//! look right: the Jinbin expressway to Binhai, the southern corridor from Jinnan to the port,
//! the riverside roads. Every point lies inside [`crate::routes::TIANJIN_BOX`]. A vehicle moves
//! continuously along a path, so its track never jumps.
//!
//! Each place belongs to a district, whose GB/T 2260 code a JT/T 808 terminal registers with
//! (province 12, then the district's last four digits).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::OnceLock;

use crate::routes::haversine_m;

/// A district of Tianjin (GB/T 2260: province 12, city 01, then the district).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum District {
    Heping,
    Hedong,
    Hexi,
    Nankai,
    Hebei,
    Hongqiao,
    Dongli,
    Jinnan,
    Binhai,
}

impl District {
    /// The province part of the administrative code: Tianjin is 12.
    pub const PROVINCE: u16 = 12;

    /// The last four digits of the six-digit GB/T 2260 code (`120101` → 101), the city/county
    /// field of a JT/T 808 registration.
    pub fn code(self) -> u16 {
        match self {
            Self::Heping => 101,
            Self::Hedong => 102,
            Self::Hexi => 103,
            Self::Nankai => 104,
            Self::Hebei => 105,
            Self::Hongqiao => 106,
            Self::Dongli => 110,
            Self::Jinnan => 112,
            Self::Binhai => 116,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Heping => "heping",
            Self::Hedong => "hedong",
            Self::Hexi => "hexi",
            Self::Nankai => "nankai",
            Self::Hebei => "hebei",
            Self::Hongqiao => "hongqiao",
            Self::Dongli => "dongli",
            Self::Jinnan => "jinnan",
            Self::Binhai => "binhai",
        }
    }
}

/// A named place where roads meet.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub name: &'static str,
    pub lon: f64,
    pub lat: f64,
    pub district: District,
}

impl Place {
    pub fn point(&self) -> (f64, f64) {
        (self.lon, self.lat)
    }
}

/// A road between two places, as a polyline from `a` to `b`.
#[derive(Debug, Clone)]
pub struct Road {
    pub a: usize,
    pub b: usize,
    /// The speed its traffic usually allows, km/h.
    pub speed_kmh: f64,
    /// City streets have traffic lights; expressways have none.
    pub urban: bool,
    /// From `a` to `b`, both included.
    pub points: Vec<(f64, f64)>,
    pub length_m: f64,
}

use District::{Binhai, Dongli, Hebei, Hedong, Heping, Hexi, Hongqiao, Jinnan, Nankai};

const PLACES: &[(&str, f64, f64, District)] = &[
    ("water_park", 117.1580, 39.0920, Nankai),
    ("nankai_university", 117.1720, 39.1060, Nankai),
    ("anshan_road", 117.1860, 39.1160, Heping),
    ("binjiang_dao", 117.1990, 39.1230, Heping),
    ("xiaobailou", 117.2070, 39.1160, Heping),
    ("machang_dao", 117.2090, 39.1050, Hexi),
    ("cultural_center", 117.2080, 39.0900, Hexi),
    ("meijiang", 117.2240, 39.0580, Hexi),
    ("tianjin_station", 117.2110, 39.1360, Hedong),
    ("sanchakou", 117.1810, 39.1540, Hebei),
    ("hongqiao", 117.1450, 39.1750, Hongqiao),
    ("zhongshan_road", 117.2050, 39.1600, Hebei),
    ("dagu_bridge", 117.2230, 39.1180, Hedong),
    ("zhongshanmen", 117.2600, 39.1080, Hedong),
    ("binhai_airport", 117.3460, 39.1240, Dongli),
    ("airport_logistics_park", 117.3850, 39.1500, Dongli),
    ("junliangcheng", 117.4300, 39.0750, Dongli),
    ("shuangqiao", 117.3100, 39.0650, Jinnan),
    ("jinnan_logistics_park", 117.3900, 38.9950, Jinnan),
    ("hujiayuan", 117.5900, 39.0500, Binhai),
    ("teda", 117.7000, 39.0450, Binhai),
    ("tanggu", 117.6480, 39.0250, Binhai),
    ("yujiapu", 117.6950, 39.0070, Binhai),
    ("port_gate", 117.7450, 38.9980, Binhai),
    ("port_container_terminal", 117.7880, 38.9780, Binhai),
];

/// From, to, usual speed (km/h), urban, and the bends between.
type RoadDef = (&'static str, &'static str, f64, bool, &'static [(f64, f64)]);

const ROADS: &[RoadDef] = &[
    // The old town: Nankai, Heping, Hexi.
    (
        "water_park",
        "nankai_university",
        50.0,
        true,
        &[(117.1660, 39.1000)],
    ),
    ("nankai_university", "anshan_road", 50.0, true, &[]),
    ("anshan_road", "binjiang_dao", 40.0, true, &[]),
    ("binjiang_dao", "xiaobailou", 40.0, true, &[]),
    ("xiaobailou", "machang_dao", 50.0, true, &[]),
    ("machang_dao", "cultural_center", 50.0, true, &[]),
    (
        "cultural_center",
        "meijiang",
        60.0,
        true,
        &[(117.2150, 39.0700)],
    ),
    // Across the Haihe to the station (Jiefang bridge), and the north bank.
    (
        "binjiang_dao",
        "tianjin_station",
        50.0,
        true,
        &[(117.2050, 39.1340)],
    ),
    (
        "sanchakou",
        "tianjin_station",
        50.0,
        true,
        &[(117.1920, 39.1480), (117.2000, 39.1420)],
    ),
    ("hongqiao", "sanchakou", 50.0, true, &[(117.1650, 39.1650)]),
    (
        "sanchakou",
        "zhongshan_road",
        50.0,
        true,
        &[(117.1950, 39.1600)],
    ),
    (
        "zhongshan_road",
        "tianjin_station",
        50.0,
        true,
        &[(117.2150, 39.1550)],
    ),
    (
        "tianjin_station",
        "dagu_bridge",
        50.0,
        true,
        &[(117.2100, 39.1270)],
    ),
    ("xiaobailou", "dagu_bridge", 50.0, true, &[]),
    // Down the river to Hedong and Jinnan.
    (
        "dagu_bridge",
        "zhongshanmen",
        60.0,
        true,
        &[(117.2380, 39.1090)],
    ),
    (
        "zhongshanmen",
        "shuangqiao",
        60.0,
        true,
        &[(117.2560, 39.0960), (117.2800, 39.0800)],
    ),
    ("meijiang", "shuangqiao", 60.0, true, &[(117.2650, 39.0600)]),
    (
        "shuangqiao",
        "jinnan_logistics_park",
        70.0,
        true,
        &[(117.3500, 39.0200)],
    ),
    // East to the airport and its logistics park.
    (
        "tianjin_station",
        "binhai_airport",
        70.0,
        true,
        &[
            (117.2350, 39.1300),
            (117.2700, 39.1250),
            (117.3100, 39.1230),
        ],
    ),
    (
        "binhai_airport",
        "airport_logistics_park",
        60.0,
        true,
        &[(117.3650, 39.1350)],
    ),
    // The Jinbin expressway to Binhai.
    (
        "zhongshanmen",
        "junliangcheng",
        100.0,
        false,
        &[(117.3000, 39.1000), (117.3600, 39.0880)],
    ),
    (
        "junliangcheng",
        "hujiayuan",
        100.0,
        false,
        &[(117.5100, 39.0600)],
    ),
    ("hujiayuan", "teda", 100.0, false, &[(117.6500, 39.0450)]),
    (
        "junliangcheng",
        "airport_logistics_park",
        80.0,
        false,
        &[(117.4100, 39.1150)],
    ),
    // Binhai: Tanggu, TEDA, Yujiapu and the port.
    ("hujiayuan", "tanggu", 60.0, true, &[]),
    ("teda", "tanggu", 60.0, true, &[]),
    ("tanggu", "yujiapu", 60.0, true, &[(117.6700, 39.0170)]),
    ("yujiapu", "port_gate", 60.0, true, &[(117.7200, 39.0030)]),
    ("teda", "port_gate", 60.0, true, &[(117.7400, 39.0200)]),
    (
        "port_gate",
        "port_container_terminal",
        40.0,
        true,
        &[(117.7700, 38.9900)],
    ),
    // The southern corridor from the Jinnan parks to the port.
    (
        "jinnan_logistics_park",
        "port_gate",
        80.0,
        false,
        &[
            (117.4800, 38.9700),
            (117.5800, 38.9650),
            (117.6800, 38.9750),
        ],
    ),
];

/// Places and roads, with each place's roads.
#[derive(Debug)]
pub struct Network {
    pub places: Vec<Place>,
    pub roads: Vec<Road>,
    /// For each place: (road, the place at its other end).
    adjacent: Vec<Vec<(usize, usize)>>,
}

/// The network, built once.
pub fn network() -> &'static Network {
    static NETWORK: OnceLock<Network> = OnceLock::new();
    NETWORK.get_or_init(Network::build)
}

impl Network {
    fn build() -> Self {
        let places: Vec<Place> = PLACES
            .iter()
            .map(|&(name, lon, lat, district)| Place {
                name,
                lon,
                lat,
                district,
            })
            .collect();
        let index = |name: &str| {
            places
                .iter()
                .position(|p| p.name == name)
                .unwrap_or_else(|| panic!("road to unknown place {name}"))
        };
        let mut adjacent = vec![Vec::new(); places.len()];
        let roads: Vec<Road> = ROADS
            .iter()
            .enumerate()
            .map(|(i, &(from, to, speed_kmh, urban, via))| {
                let (a, b) = (index(from), index(to));
                let mut points = vec![places[a].point()];
                points.extend_from_slice(via);
                points.push(places[b].point());
                let length_m = points.windows(2).map(|w| haversine_m(w[0], w[1])).sum();
                adjacent[a].push((i, b));
                adjacent[b].push((i, a));
                Road {
                    a,
                    b,
                    speed_kmh,
                    urban,
                    points,
                    length_m,
                }
            })
            .collect();
        Self {
            places,
            roads,
            adjacent,
        }
    }

    /// The index of the place called `name`; the names are this module's constants, so an
    /// unknown one is a bug.
    pub fn place(&self, name: &str) -> usize {
        self.places
            .iter()
            .position(|p| p.name == name)
            .unwrap_or_else(|| panic!("no place called {name}"))
    }

    /// The roads of the shortest way from `from` to `to`, each with whether it is driven from
    /// its `a` to its `b`. Empty when `from == to`.
    pub fn route(&self, from: usize, to: usize) -> Vec<(usize, bool)> {
        // Dijkstra over whole metres; the network has a few dozen places.
        let mut best = vec![u64::MAX; self.places.len()];
        let mut via: Vec<Option<(usize, usize)>> = vec![None; self.places.len()];
        let mut heap = BinaryHeap::new();
        best[from] = 0;
        heap.push(Reverse((0u64, from)));
        while let Some(Reverse((d, p))) = heap.pop() {
            if p == to {
                break;
            }
            if d > best[p] {
                continue;
            }
            for &(road, q) in &self.adjacent[p] {
                let nd = d + self.roads[road].length_m.round() as u64;
                if nd < best[q] {
                    best[q] = nd;
                    via[q] = Some((road, p));
                    heap.push(Reverse((nd, q)));
                }
            }
        }
        let mut out = Vec::new();
        let mut at = to;
        while at != from {
            let Some((road, prev)) = via[at] else {
                // Unreachable: the network is connected (a test checks it).
                return Vec::new();
            };
            out.push((road, self.roads[road].a == prev));
            at = prev;
        }
        out.reverse();
        out
    }

    /// The path through `stops` in order (by the shortest way between each two), back to the
    /// first when `closed`.
    pub fn path(&self, stops: &[usize], closed: bool) -> Path {
        let mut b = PathBuilder::default();
        let Some(&first) = stops.first() else {
            return b.finish();
        };
        b.start(self.places[first].point(), first);
        let mut legs: Vec<(usize, usize)> = stops.windows(2).map(|w| (w[0], w[1])).collect();
        if closed && stops.len() > 1 {
            legs.push((stops[stops.len() - 1], first));
        }
        for (from, to) in legs {
            for (road, forward) in self.route(from, to) {
                let r = &self.roads[road];
                let pts: Vec<(f64, f64)> = if forward {
                    r.points.clone()
                } else {
                    r.points.iter().rev().copied().collect()
                };
                for &p in &pts[1..] {
                    b.push(p, r.speed_kmh, r.urban);
                }
            }
            b.mark(to);
        }
        b.finish()
    }
}

#[derive(Debug, Default)]
struct PathBuilder {
    points: Vec<(f64, f64)>,
    cumulative_m: Vec<f64>,
    segments: Vec<Segment>,
    marks: Vec<(f64, usize)>,
}

impl PathBuilder {
    fn start(&mut self, p: (f64, f64), place: usize) {
        self.points.push(p);
        self.cumulative_m.push(0.0);
        self.marks.push((0.0, place));
    }

    fn push(&mut self, p: (f64, f64), speed_kmh: f64, urban: bool) {
        let last = *self.points.last().expect("started");
        let d = haversine_m(last, p);
        if d < 0.5 {
            return;
        }
        let total = self.cumulative_m.last().copied().unwrap_or(0.0) + d;
        self.points.push(p);
        self.cumulative_m.push(total);
        self.segments.push(Segment { speed_kmh, urban });
    }

    fn mark(&mut self, place: usize) {
        let at = self.cumulative_m.last().copied().unwrap_or(0.0);
        self.marks.push((at, place));
    }

    fn finish(self) -> Path {
        Path {
            points: self.points,
            cumulative_m: self.cumulative_m,
            segments: self.segments,
            marks: self.marks,
        }
    }
}

/// What one stretch of a path allows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub speed_kmh: f64,
    pub urban: bool,
}

/// A polyline to drive along, with what each stretch allows and where the places it was built
/// through lie along it.
#[derive(Debug, Clone)]
pub struct Path {
    points: Vec<(f64, f64)>,
    cumulative_m: Vec<f64>,
    /// `segments[i]` runs from `points[i]` to `points[i + 1]`.
    segments: Vec<Segment>,
    /// (distance from the start, place) of each place the path was built through.
    marks: Vec<(f64, usize)>,
}

impl Path {
    pub fn length_m(&self) -> f64 {
        self.cumulative_m.last().copied().unwrap_or(0.0)
    }

    pub fn points(&self) -> &[(f64, f64)] {
        &self.points
    }

    /// The places the path was built through, with their distance from its start.
    pub fn marks(&self) -> &[(f64, usize)] {
        &self.marks
    }

    /// The stretches of the path: (start, end, what it allows), in order.
    pub fn segments(&self) -> impl Iterator<Item = (f64, f64, Segment)> + '_ {
        self.segments
            .iter()
            .enumerate()
            .map(|(i, s)| (self.cumulative_m[i], self.cumulative_m[i + 1], *s))
    }

    /// The index of the segment that holds `s` (the first one at a shared point).
    fn segment_index(&self, s: f64) -> usize {
        let i = self.cumulative_m.partition_point(|&c| c <= s);
        i.clamp(1, self.points.len().max(2) - 1) - 1
    }

    /// What the stretch at `s` allows.
    pub fn segment_at(&self, s: f64) -> Segment {
        self.segments
            .get(self.segment_index(s))
            .copied()
            .unwrap_or(Segment {
                speed_kmh: 30.0,
                urban: true,
            })
    }

    /// The point `s` metres along the path (clamped to its ends) and the heading of travel,
    /// degrees clockwise from north.
    pub fn locate(&self, s: f64) -> (f64, f64, f64) {
        if self.points.len() < 2 {
            let (lon, lat) = self.points.first().copied().unwrap_or((117.2, 39.1));
            return (lon, lat, 0.0);
        }
        let s = s.clamp(0.0, self.length_m());
        let i = self.segment_index(s);
        let (a, b) = (self.points[i], self.points[i + 1]);
        let (c0, c1) = (self.cumulative_m[i], self.cumulative_m[i + 1]);
        let t = if c1 > c0 { (s - c0) / (c1 - c0) } else { 0.0 };
        let lon = a.0 + (b.0 - a.0) * t;
        let lat = a.1 + (b.1 - a.1) * t;
        let east = (b.0 - a.0) * a.1.to_radians().cos();
        let north = b.1 - a.1;
        let heading = east.atan2(north).to_degrees().rem_euclid(360.0);
        (lon, lat, heading)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::TIANJIN_BOX;

    #[test]
    fn every_point_is_in_tianjin_and_every_place_reachable() {
        let net = network();
        let (x0, y0, x1, y1) = TIANJIN_BOX;
        for r in &net.roads {
            for &(lon, lat) in &r.points {
                assert!((x0..=x1).contains(&lon) && (y0..=y1).contains(&lat));
            }
            assert!(r.length_m > 300.0, "{} m", r.length_m);
            assert!(r.a != r.b);
        }
        let port = net.place("port_container_terminal");
        for p in 0..net.places.len() {
            if p != port {
                assert!(!net.route(port, p).is_empty(), "{}", net.places[p].name);
            }
        }
    }

    #[test]
    fn shortest_paths_are_continuous_and_marked() {
        let net = network();
        let from = net.place("port_container_terminal");
        let to = net.place("airport_logistics_park");
        let path = net.path(&[from, to], true);
        // About 40 km as the crow flies, out along the Jinbin corridor and back.
        assert!(
            (80_000.0..110_000.0).contains(&path.length_m()),
            "{}",
            path.length_m()
        );
        for w in path.points().windows(2) {
            assert!(haversine_m(w[0], w[1]) < 20_000.0);
        }
        let marks: Vec<usize> = path.marks().iter().map(|m| m.1).collect();
        assert_eq!(marks, [from, to, from]);
        assert_eq!(path.locate(0.0).0, net.places[from].lon);
        let (lon, lat, _) = path.locate(path.length_m());
        assert_eq!((lon, lat), net.places[from].point());
        // The expressway stretch has no traffic lights.
        assert!(
            path.segments()
                .any(|(_, _, s)| !s.urban && s.speed_kmh >= 80.0)
        );
    }

    #[test]
    fn district_codes_are_gbt2260() {
        assert_eq!(District::Heping.code(), 101);
        assert_eq!(District::Binhai.code(), 116);
        let net = network();
        assert_eq!(net.places[net.place("teda")].district, District::Binhai);
    }
}
