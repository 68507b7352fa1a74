//! Tianjin-area routes that simulated vehicles drive along, and the geometry to move on them.
//!
//! The waypoints follow real corridors closely enough for a map to look right (WGS-84, to about
//! a hundred metres): the old town of Heping, Nankai and Hexi, the Haihe banks, the Jinbin
//! expressway out to TEDA, and the port at Tanggu. Distances use a local equirectangular
//! projection centred on the area, which is within 0.3 % of the great-circle distance here.

use std::sync::OnceLock;

/// Every route stays inside this box (lon min, lat min, lon max, lat max).
pub const TIANJIN_BOX: (f64, f64, f64, f64) = (117.1, 38.9, 117.8, 39.2);

/// Metres per degree of latitude (mean Earth radius 6 371 008.8 m).
const M_PER_DEG_LAT: f64 = 111_195.08;
/// Latitude of the projection's centre.
const LAT0: f64 = 39.05;

/// A named polyline with the speed its traffic usually allows.
#[derive(Debug)]
pub struct Route {
    pub name: &'static str,
    pub speed_limit_kmh: f64,
    /// (longitude, latitude) waypoints, WGS-84 degrees.
    pub points: &'static [(f64, f64)],
    /// Distance from the first waypoint to each waypoint, metres.
    cumulative_m: Vec<f64>,
}

/// Name, usual speed (km/h) and waypoints of a route.
type RouteDef = (&'static str, f64, &'static [(f64, f64)]);

const DEFS: &[RouteDef] = &[
    (
        // Water Park → Nankai/Tianjin universities → Anshan Rd → Binjiang Dao → Xiaobailou →
        // Machang Dao → Youyi Rd (Cultural Center) → Meijiang.
        "nankai-heping-hexi",
        50.0,
        &[
            (117.1580, 39.0920),
            (117.1660, 39.1000),
            (117.1720, 39.1060),
            (117.1860, 39.1160),
            (117.1990, 39.1230),
            (117.2070, 39.1160),
            (117.2090, 39.1050),
            (117.2080, 39.0900),
            (117.2150, 39.0700),
            (117.2240, 39.0580),
        ],
    ),
    (
        // Down the Haihe from Sanchakou (Tianjin Eye) past the Jingang, Shizilin, Jiefang and
        // Dagu bridges towards Dongli and Shuangqiao.
        "haihe-riverside",
        60.0,
        &[
            (117.1810, 39.1540),
            (117.1920, 39.1480),
            (117.2000, 39.1420),
            (117.2050, 39.1340),
            (117.2100, 39.1270),
            (117.2230, 39.1180),
            (117.2380, 39.1090),
            (117.2560, 39.0960),
            (117.2800, 39.0800),
            (117.3100, 39.0650),
        ],
    ),
    (
        // Zhongshanmen onto the Jinbin expressway, past Junliangcheng and Hujiayuan to TEDA.
        "jinbin-expressway-teda",
        100.0,
        &[
            (117.2600, 39.1080),
            (117.3000, 39.1000),
            (117.3600, 39.0880),
            (117.4300, 39.0750),
            (117.5100, 39.0600),
            (117.5900, 39.0500),
            (117.6500, 39.0450),
            (117.7000, 39.0450),
            (117.7150, 39.0520),
        ],
    ),
    (
        // Tanggu → Yujiapu → along the Xingang road to the container terminals of the port.
        "tanggu-port",
        60.0,
        &[
            (117.6480, 39.0250),
            (117.6700, 39.0170),
            (117.6950, 39.0070),
            (117.7200, 39.0030),
            (117.7450, 38.9980),
            (117.7700, 38.9900),
            (117.7880, 38.9780),
        ],
    ),
    (
        // Tianjin railway station east through Hedong and Dongli to Binhai airport.
        "station-hedong-airport",
        70.0,
        &[
            (117.2110, 39.1360),
            (117.2350, 39.1300),
            (117.2700, 39.1250),
            (117.3100, 39.1230),
            (117.3460, 39.1240),
        ],
    ),
    (
        // Hongqiao through Hebei district to the railway station.
        "hongqiao-hebei-station",
        50.0,
        &[
            (117.1450, 39.1750),
            (117.1650, 39.1650),
            (117.1850, 39.1600),
            (117.2050, 39.1650),
            (117.2150, 39.1550),
            (117.2110, 39.1400),
        ],
    ),
    (
        // Dongli south through Jinnan to the Haihe education park.
        "dongli-jinnan",
        70.0,
        &[
            (117.2560, 39.0960),
            (117.3000, 39.0400),
            (117.3500, 39.0100),
            (117.3900, 38.9950),
        ],
    ),
];

/// All routes, built once.
pub fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        DEFS.iter()
            .map(|&(name, speed_limit_kmh, points)| {
                let mut cumulative_m = Vec::with_capacity(points.len());
                let mut total = 0.0;
                cumulative_m.push(0.0);
                for w in points.windows(2) {
                    total += local_distance_m(w[0], w[1]);
                    cumulative_m.push(total);
                }
                Route {
                    name,
                    speed_limit_kmh,
                    points,
                    cumulative_m,
                }
            })
            .collect()
    })
}

impl Route {
    pub fn length_m(&self) -> f64 {
        *self.cumulative_m.last().unwrap_or(&0.0)
    }

    /// The point `s` metres along the route (clamped to its ends) and the heading of travel in
    /// the direction of increasing `s`, degrees clockwise from north.
    pub fn locate(&self, s: f64) -> (f64, f64, f64) {
        let s = s.clamp(0.0, self.length_m());
        // The segment whose end is the first waypoint at or beyond `s`.
        let i = self
            .cumulative_m
            .partition_point(|&c| c < s)
            .clamp(1, self.points.len() - 1);
        let (a, b) = (self.points[i - 1], self.points[i]);
        let (c0, c1) = (self.cumulative_m[i - 1], self.cumulative_m[i]);
        let t = if c1 > c0 { (s - c0) / (c1 - c0) } else { 0.0 };
        let lon = a.0 + (b.0 - a.0) * t;
        let lat = a.1 + (b.1 - a.1) * t;
        let (dx, dy) = project_delta(a, b);
        let heading = dx.atan2(dy).to_degrees().rem_euclid(360.0);
        (lon, lat, heading)
    }
}

/// East and north metres from `a` to `b` in the local projection.
fn project_delta(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    let m_per_deg_lon = M_PER_DEG_LAT * LAT0.to_radians().cos();
    ((b.0 - a.0) * m_per_deg_lon, (b.1 - a.1) * M_PER_DEG_LAT)
}

fn local_distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = project_delta(a, b);
    dx.hypot(dy)
}

/// Great-circle distance in metres between two (lon, lat) points.
pub fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    const R: f64 = 6_371_008.8;
    let (lat1, lat2) = (a.1.to_radians(), b.1.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.0 - a.0).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_inside_tianjin_and_long_enough() {
        let (x0, y0, x1, y1) = TIANJIN_BOX;
        for r in routes() {
            assert!(r.points.len() >= 2, "{}", r.name);
            for &(lon, lat) in r.points {
                assert!(
                    (x0..=x1).contains(&lon) && (y0..=y1).contains(&lat),
                    "{}",
                    r.name
                );
            }
            assert!(r.length_m() > 5_000.0, "{} is {} m", r.name, r.length_m());
            let direct: f64 = r.points.windows(2).map(|w| haversine_m(w[0], w[1])).sum();
            assert!((direct - r.length_m()).abs() < direct * 0.005, "{}", r.name);
        }
    }

    #[test]
    fn locate_interpolates_along_segments() {
        let r = &routes()[2];
        let (lon, lat, _) = r.locate(0.0);
        assert_eq!((lon, lat), r.points[0]);
        let (lon, lat, _) = r.locate(r.length_m() + 100.0);
        assert_eq!((lon, lat), *r.points.last().unwrap());
        // Half-way along the first segment.
        let half = r.cumulative_m[1] / 2.0;
        let (lon, lat, heading) = r.locate(half);
        let mid = (
            (r.points[0].0 + r.points[1].0) / 2.0,
            (r.points[0].1 + r.points[1].1) / 2.0,
        );
        assert!(haversine_m((lon, lat), mid) < 0.01);
        // The expressway runs east-south-east.
        assert!((90.0..135.0).contains(&heading), "{heading}");
    }
}
