//! Trips and daily mileage from one vehicle's timeline: pure functions over time-ordered points,
//! whatever protocol they came from (`fleet_reports` for JT/T 808 terminals, `vehicle_samples`
//! for GB/T 32960 vehicles). The lake reads the points (`Lake::drive_data`); everything here is
//! arithmetic, tested over hand-made timelines.
//!
//! **Trips.** A trip starts when the ignition is on (or not known to be off) and the vehicle
//! moves faster than [`MOVING_KMH`]; it begins at the report just before the first moving one
//! (the vehicle started between the two), unless that report is older than [`MAX_GAP_SECS`] or
//! had the ignition off. It ends at the first report with the ignition off, or at the first report
//! of a standstill (speed at most [`MOVING_KMH`]) that lasts longer than [`STANDSTILL_END_SECS`],
//! or at the last report before a silence longer than [`MAX_GAP_SECS`] (the platform cannot say
//! what happened then). A trip still going when the data ends is reported with
//! `complete: false`.
//!
//! **Distance.** Each report adds the distance since the previous one: the odometer's advance
//! (JT/T 808 additional item 0x01, GB/T 32960 `odometer_km`) when both reports carry it and the
//! advance is plausible, else the great-circle distance between valid positions. A step is
//! implausible when it is negative or faster than [`MAX_PLAUSIBLE_KMH`] (plus
//! [`RESOLUTION_KM`] of rounding): an odometer reset or a GPS jump. A position jump is skipped and
//! the next position is measured from the last good one; after [`REANCHOR_AFTER`] rejected
//! positions in a row the vehicle really is elsewhere (a long tunnel, a ferry) and measuring
//! starts again from there without counting the jump. GPS steps between two reports that both
//! say the vehicle stands still (below [`JITTER_KMH`]) count nothing: a parked receiver wanders.
//!
//! **Daily mileage** sums the steps of every report by the Beijing calendar day of the report
//! (a step across midnight counts for the day it ends in).

use model::{BEIJING_OFFSET_SECS, Timestamp};

/// Faster than this is moving; at most this is standing (km/h). Walking pace, above the speed
/// noise of a parked GNSS receiver.
pub const MOVING_KMH: f64 = 5.0;
/// A standstill longer than this ends a trip (seconds): longer than a red light or a bus stop.
pub const STANDSTILL_END_SECS: i64 = 5 * 60;
/// No report for longer than this ends a trip at the last report before the silence (seconds).
pub const MAX_GAP_SECS: i64 = 10 * 60;
/// Steps implying a higher speed are jumps, not driving (km/h).
pub const MAX_PLAUSIBLE_KMH: f64 = 200.0;
/// Rounding of odometers (0.1 km) and GNSS noise that every step is allowed on top (km).
pub const RESOLUTION_KM: f64 = 0.2;
/// Rejected positions in a row after which measuring restarts from the newest one.
pub const REANCHOR_AFTER: u32 = 3;
/// Below this reported speed a GPS step counts nothing (km/h).
pub const JITTER_KMH: f64 = 1.0;

const EARTH_RADIUS_KM: f64 = 6371.0088;
const MICROS_PER_SEC: i64 = 1_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// One report of a vehicle, reduced to what trips and mileage need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub ts: Timestamp,
    /// `acc_on` (JT/T 808) or `vehicle_status` started/stopped (GB/T 32960); `None` when unknown.
    pub ignition: Option<bool>,
    pub speed_kmh: Option<f64>,
    /// The vehicle's total mileage, when the report carries it.
    pub odometer_km: Option<f64>,
    /// `(lon, lat)` of a valid fix.
    pub position: Option<(f64, f64)>,
}

/// What a distance was measured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistanceSource {
    /// No step counted any distance.
    None,
    Odometer,
    Gps,
    /// Some steps from the odometer, some from positions.
    Mixed,
}

impl DistanceSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Odometer => "odometer",
            Self::Gps => "gps",
            Self::Mixed => "mixed",
        }
    }

    fn with(self, step: Step) -> Self {
        let this = match step {
            Step::Odometer(_) => Self::Odometer,
            Step::Gps(_) => Self::Gps,
            Step::Nothing => return self,
        };
        match self {
            Self::None => this,
            same if same == this => same,
            _ => Self::Mixed,
        }
    }
}

/// One trip.
#[derive(Debug, Clone, PartialEq)]
pub struct Trip {
    pub start: Timestamp,
    pub end: Timestamp,
    /// The first valid position of the trip (at or after `start`).
    pub start_position: Option<(f64, f64)>,
    /// The last valid position of the trip (at or before `end`).
    pub end_position: Option<(f64, f64)>,
    pub distance_km: f64,
    pub duration_secs: i64,
    /// The highest reported speed.
    pub max_speed_kmh: Option<f64>,
    /// Distance over duration.
    pub avg_speed_kmh: Option<f64>,
    pub distance_from: DistanceSource,
    /// `false` when the data ended while the trip was still going.
    pub complete: bool,
}

/// The distance driven on one Beijing calendar day.
#[derive(Debug, Clone, PartialEq)]
pub struct DayMileage {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The day's first instant (Beijing midnight).
    pub start: Timestamp,
    pub distance_km: f64,
    /// Trips that started this day.
    pub trips: usize,
    pub distance_from: DistanceSource,
}

/// The distance one report adds since the previous one.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Nothing,
    Odometer(f64),
    Gps(f64),
}

impl Step {
    fn km(self) -> f64 {
        match self {
            Self::Nothing => 0.0,
            Self::Odometer(km) | Self::Gps(km) => km,
        }
    }
}

/// The trips in a timeline sorted by `ts`.
pub fn trips(points: &[Point]) -> Vec<Trip> {
    let steps = steps(points);
    let mut trips = Vec::new();
    // Index of the trip's first point, and of the first point of the current standstill.
    let mut current: Option<usize> = None;
    let mut standing: Option<usize> = None;
    // A new trip never starts before the point where the last one ended.
    let mut last_end = 0;
    for (i, p) in points.iter().enumerate() {
        if let Some(start) = current {
            let gap = secs(p.ts) - secs(points[i - 1].ts);
            if gap > MAX_GAP_SECS {
                let end = standing.unwrap_or(i - 1);
                trips.extend(trip(points, &steps, start, end, true));
                (current, standing, last_end) = (None, None, end);
            } else if p.ignition == Some(false) {
                trips.extend(trip(points, &steps, start, i, true));
                (current, standing, last_end) = (None, None, i);
                continue;
            } else if !moving(p) {
                let since = *standing.get_or_insert(i);
                if secs(p.ts) - secs(points[since].ts) > STANDSTILL_END_SECS {
                    trips.extend(trip(points, &steps, start, since, true));
                    (current, standing, last_end) = (None, None, since);
                }
                continue;
            } else {
                standing = None;
                continue;
            }
        }
        if moving(p) && p.ignition != Some(false) {
            let before = i.checked_sub(1).filter(|&b| {
                b >= last_end
                    && points[b].ignition != Some(false)
                    && secs(p.ts) - secs(points[b].ts) <= MAX_GAP_SECS
            });
            current = Some(before.unwrap_or(i));
            standing = None;
        }
    }
    if let Some(start) = current {
        let end = standing.unwrap_or(points.len() - 1);
        trips.extend(trip(points, &steps, start, end, false));
    }
    trips
}

/// Distance per Beijing calendar day for every day that overlaps `[from, to)`, oldest first;
/// `trips` are the timeline's trips (counted by the day they start).
pub fn daily_mileage(
    points: &[Point],
    trips: &[Trip],
    from: Timestamp,
    to: Timestamp,
) -> Vec<DayMileage> {
    if from >= to {
        return Vec::new();
    }
    let first = beijing_day(from);
    let last = beijing_day(Timestamp::from_micros(to.as_micros() - 1));
    let mut days: Vec<DayMileage> = (first..=last)
        .map(|day| {
            let start = day_start(day);
            let c = start.to_civil(BEIJING_OFFSET_SECS);
            DayMileage {
                date: format!("{:04}-{:02}-{:02}", c.year, c.month, c.day),
                start,
                distance_km: 0.0,
                trips: 0,
                distance_from: DistanceSource::None,
            }
        })
        .collect();
    let slot = |ts: Timestamp| -> Option<usize> {
        let day = beijing_day(ts);
        (first..=last)
            .contains(&day)
            .then(|| (day - first) as usize)
    };
    for (p, step) in points.iter().zip(steps(points)) {
        if let Some(d) = slot(p.ts).map(|i| &mut days[i]) {
            d.distance_km += step.km();
            d.distance_from = d.distance_from.with(step);
        }
    }
    for t in trips {
        if let Some(i) = slot(t.start) {
            days[i].trips += 1;
        }
    }
    days
}

/// Great-circle distance between two `(lon, lat)` positions in degrees, in km.
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lon1, lat1) = (a.0.to_radians(), a.1.to_radians());
    let (lon2, lat2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// The Beijing calendar day of an instant, as days since 1970-01-01.
fn beijing_day(ts: Timestamp) -> i64 {
    (ts.as_secs() + i64::from(BEIJING_OFFSET_SECS)).div_euclid(SECS_PER_DAY)
}

fn day_start(day: i64) -> Timestamp {
    Timestamp::from_secs(day * SECS_PER_DAY - i64::from(BEIJING_OFFSET_SECS))
}

fn secs(ts: Timestamp) -> i64 {
    ts.as_micros().div_euclid(MICROS_PER_SEC)
}

fn moving(p: &Point) -> bool {
    p.speed_kmh.is_some_and(|s| s > MOVING_KMH)
}

fn plausible(km: f64, dt_secs: f64) -> bool {
    km.is_finite() && km >= 0.0 && km <= RESOLUTION_KM + MAX_PLAUSIBLE_KMH * dt_secs / 3600.0
}

/// The step each point adds (the first adds nothing).
fn steps(points: &[Point]) -> Vec<Step> {
    let mut out = Vec::with_capacity(points.len());
    let mut last_odometer: Option<(Timestamp, f64)> = None;
    // The last accepted position, and the speed reported with it.
    let mut anchor: Option<(Timestamp, (f64, f64), Option<f64>)> = None;
    let mut rejected = 0;
    let dt = |a: Timestamp, b: Timestamp| (b.as_micros() - a.as_micros()) as f64 / 1e6;
    for p in points {
        let mut gps = None;
        if let Some(pos) = p.position {
            match anchor {
                Some((t0, from, speed0)) => {
                    let km = haversine_km(from, pos);
                    if plausible(km, dt(t0, p.ts)) {
                        let standing = |s: Option<f64>| s.is_some_and(|s| s < JITTER_KMH);
                        gps = Some(if standing(speed0) && standing(p.speed_kmh) {
                            0.0
                        } else {
                            km
                        });
                        anchor = Some((p.ts, pos, p.speed_kmh));
                        rejected = 0;
                    } else {
                        rejected += 1;
                        if rejected >= REANCHOR_AFTER {
                            anchor = Some((p.ts, pos, p.speed_kmh));
                            rejected = 0;
                        }
                    }
                }
                None => anchor = Some((p.ts, pos, p.speed_kmh)),
            }
        }
        let odometer = match (p.odometer_km, last_odometer) {
            (Some(km), Some((t0, km0))) => Some(km - km0).filter(|&d| plausible(d, dt(t0, p.ts))),
            _ => None,
        };
        if let Some(km) = p.odometer_km.filter(|km| km.is_finite()) {
            last_odometer = Some((p.ts, km));
        }
        out.push(match (odometer, gps) {
            (Some(km), _) => Step::Odometer(km),
            // Without the odometer on both ends of the step (or with an implausible advance),
            // the positions measure it.
            (None, Some(km)) => Step::Gps(km),
            (None, None) => Step::Nothing,
        });
    }
    out
}

/// The trip over `points[start..=end]`, unless it has no duration.
fn trip(
    points: &[Point],
    steps: &[Step],
    start: usize,
    end: usize,
    complete: bool,
) -> Option<Trip> {
    let (first, last) = (&points[start], &points[end]);
    let duration_secs = secs(last.ts) - secs(first.ts);
    if end <= start || duration_secs <= 0 {
        return None;
    }
    let span = &points[start..=end];
    let mut distance_km = 0.0;
    let mut distance_from = DistanceSource::None;
    // The step of the first point covers the time before the trip.
    for &step in &steps[start + 1..=end] {
        distance_km += step.km();
        distance_from = distance_from.with(step);
    }
    let max_speed_kmh = span
        .iter()
        .filter_map(|p| p.speed_kmh)
        .filter(|s| s.is_finite())
        .reduce(f64::max);
    Some(Trip {
        start: first.ts,
        end: last.ts,
        start_position: span.iter().find_map(|p| p.position),
        end_position: span.iter().rev().find_map(|p| p.position),
        distance_km,
        duration_secs,
        max_speed_kmh,
        avg_speed_kmh: Some(distance_km * 3600.0 / duration_secs as f64),
        distance_from,
        complete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-07-07T08:00:00+08:00.
    const T0: i64 = 1_783_382_400;

    /// A point `t` seconds after T0, heading east along latitude 39.1 at `x` km from 117.2°E.
    fn pt(t: i64, acc: bool, speed: f64, odometer: Option<f64>, x: f64) -> Point {
        // One degree of longitude at 39.1°N is 111.195 km · cos(39.1°).
        let km_per_deg = 111.195 * 39.1f64.to_radians().cos();
        Point {
            ts: Timestamp::from_secs(T0 + t),
            ignition: Some(acc),
            speed_kmh: Some(speed),
            odometer_km: odometer,
            position: Some((117.2 + x / km_per_deg, 39.1)),
        }
    }

    /// Driving at 36 km/h (10 m/s) from `t0` for `n` reports 30 s apart, starting `x0` km east
    /// and at odometer `odo0` (when given).
    fn drive(t0: i64, n: i64, x0: f64, odo0: Option<f64>) -> Vec<Point> {
        (0..n)
            .map(|k| {
                let x = x0 + 0.3 * k as f64;
                pt(t0 + 30 * k, true, 36.0, odo0.map(|o| o + 0.3 * k as f64), x)
            })
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn ignition_off_ends_a_trip() {
        let mut points = vec![pt(0, true, 0.0, Some(100.0), 0.0)];
        points.extend(drive(30, 10, 0.3, Some(100.3)));
        // Stops and switches off 30 s after the last moving report, 0.3 km further.
        points.push(pt(330, false, 0.0, Some(103.3), 3.3));
        points.push(pt(600, false, 0.0, Some(103.3), 3.3));
        let trips = trips(&points);
        assert_eq!(trips.len(), 1, "{trips:?}");
        let t = &trips[0];
        assert_eq!(
            t.start,
            Timestamp::from_secs(T0),
            "starts at the report before moving"
        );
        assert_eq!(
            t.end,
            Timestamp::from_secs(T0 + 330),
            "ends where ignition went off"
        );
        assert_eq!(t.duration_secs, 330);
        assert!(close(t.distance_km, 3.3), "{}", t.distance_km);
        assert_eq!(t.distance_from, DistanceSource::Odometer);
        assert_eq!(t.max_speed_kmh, Some(36.0));
        assert!(close(t.avg_speed_kmh.unwrap(), 3.3 * 3600.0 / 330.0));
        assert!(t.complete);
        assert_eq!(t.start_position, points[0].position);
        assert_eq!(t.end_position, points[11].position);
    }

    #[test]
    fn a_standstill_longer_than_five_minutes_ends_a_trip_and_a_shorter_one_does_not() {
        let mut points = drive(0, 5, 0.0, Some(10.0)); // 0..120 s, 0..1.2 km
        // A red light: 4 minutes still, ignition on.
        for k in 1..=8 {
            points.push(pt(120 + 30 * k, true, 0.0, Some(11.2), 1.2));
        }
        points.extend(drive(390, 5, 1.2, Some(11.2))); // 390..510 s, to 2.4 km
        // Parked with the engine running: still from 540 s for 6 minutes.
        for k in 1..=13 {
            points.push(pt(510 + 30 * k, true, 0.0, Some(12.4), 2.4));
        }
        points.extend(drive(1000, 3, 2.4, Some(12.4)));
        let trips = trips(&points);
        assert_eq!(trips.len(), 2, "{trips:?}");
        assert_eq!(trips[0].start, Timestamp::from_secs(T0));
        assert_eq!(
            trips[0].end,
            Timestamp::from_secs(T0 + 540),
            "the trip ended where the long standstill began"
        );
        assert!(close(trips[0].distance_km, 2.4), "{}", trips[0].distance_km);
        assert!(trips[0].complete);
        // The third drive is still going when the data ends.
        assert_eq!(trips[1].start, Timestamp::from_secs(T0 + 900));
        assert_eq!(trips[1].end, Timestamp::from_secs(T0 + 1060));
        assert!(!trips[1].complete);
    }

    #[test]
    fn without_an_odometer_positions_measure_the_distance_and_a_jump_is_ignored() {
        let mut points: Vec<Point> = drive(0, 11, 0.0, None);
        // One report 50 km off to the north: a GPS jump (6000 km/h in 30 s).
        points[5].position = Some((117.2, 39.55));
        let trips = trips(&points);
        assert_eq!(trips.len(), 1);
        let t = &trips[0];
        assert_eq!(t.distance_from, DistanceSource::Gps);
        // 10 steps of 0.3 km; the jump's two steps are replaced by one from report 4 to 6.
        assert!((t.distance_km - 3.0).abs() < 0.01, "{}", t.distance_km);

        // The same drive with an odometer that glitches once: the odometer measures all other
        // steps, the positions measure the glitched one.
        let mut points = drive(0, 11, 0.0, Some(500.0));
        points[5].odometer_km = Some(9_999.0);
        let t = &super::trips(&points)[0];
        assert!((t.distance_km - 3.0).abs() < 0.01, "{}", t.distance_km);
        assert_eq!(t.distance_from, DistanceSource::Mixed);
    }

    #[test]
    fn odometer_and_gps_can_disagree_and_the_odometer_wins() {
        // The odometer says 0.4 km per step (wheel slip, a different route between fixes…),
        // the positions 0.3 km.
        let points: Vec<Point> = (0..5)
            .map(|k| {
                pt(
                    30 * k,
                    true,
                    40.0,
                    Some(1.0 + 0.4 * k as f64),
                    0.3 * k as f64,
                )
            })
            .collect();
        let t = &trips(&points)[0];
        assert!(close(t.distance_km, 1.6), "{}", t.distance_km);
        assert_eq!(t.distance_from, DistanceSource::Odometer);
    }

    #[test]
    fn relocation_after_repeated_rejections_is_not_counted() {
        // A ferry: the vehicle reappears 100 km away and stays there.
        let mut points = drive(0, 4, 0.0, None);
        let mut far = drive(120, 6, 100.0, None);
        far.iter_mut()
            .for_each(|p| p.ts = Timestamp::from_secs(p.ts.as_secs() + 30));
        points.extend(far);
        let km: f64 = steps(&points).iter().map(|s| s.km()).sum();
        // 3 steps before; the first three far reports are rejected, the third becomes the new
        // anchor, and the three after it count.
        assert!((km - 0.3 * 6.0).abs() < 0.01, "{km}");
    }

    #[test]
    fn a_parked_receiver_wandering_adds_nothing() {
        let mut points: Vec<Point> = (0..20)
            .map(|k| {
                pt(
                    30 * k,
                    false,
                    0.0,
                    None,
                    if k % 2 == 0 { 0.0 } else { 0.05 },
                )
            })
            .collect();
        assert!(trips(&points).is_empty());
        let days = daily_mileage(
            &points,
            &[],
            Timestamp::from_secs(T0),
            Timestamp::from_secs(T0 + 3600),
        );
        assert_eq!(days.len(), 1);
        assert!(close(days[0].distance_km, 0.0));
        // Moving without ignition (towed) is not a trip either, but it is mileage.
        for (k, p) in points.iter_mut().enumerate() {
            *p = pt(30 * k as i64, false, 20.0, None, 0.15 * k as f64);
        }
        assert!(trips(&points).is_empty());
        let days = daily_mileage(
            &points,
            &[],
            Timestamp::from_secs(T0),
            Timestamp::from_secs(T0 + 3600),
        );
        assert!((days[0].distance_km - 0.15 * 19.0).abs() < 0.01);
    }

    #[test]
    fn a_long_silence_ends_a_trip_at_the_last_report() {
        let mut points = drive(0, 5, 0.0, Some(0.0));
        points.extend(drive(120 + 900, 5, 10.0, Some(10.0)));
        let trips = trips(&points);
        assert_eq!(trips.len(), 2, "{trips:?}");
        assert_eq!(trips[0].end, Timestamp::from_secs(T0 + 120));
        assert!(trips[0].complete);
        assert_eq!(trips[1].start, Timestamp::from_secs(T0 + 1020));
        // The 8.8 km driven during the silence count for the day, not for either trip.
        let days = daily_mileage(
            &points,
            &trips,
            Timestamp::from_secs(T0),
            Timestamp::from_secs(T0 + 7200),
        );
        assert!(close(days[0].distance_km, 1.2 + 8.8 + 1.2), "{days:?}");
        assert!(close(trips[0].distance_km + trips[1].distance_km, 2.4));
    }

    #[test]
    fn daily_mileage_splits_at_beijing_midnight() {
        // 2026-07-07T23:58:00+08:00 = 15:58 UTC: a drive across Beijing midnight.
        let midnight = T0 + 16 * 3600;
        let points: Vec<Point> = (0..9)
            .map(|k| {
                let mut p = pt(0, true, 36.0, Some(200.0 + 0.3 * k as f64), 0.3 * k as f64);
                p.ts = Timestamp::from_secs(midnight - 150 + 30 * k);
                p
            })
            .collect();
        let trips = trips(&points);
        let from = Timestamp::from_secs(T0 - 8 * 3600); // 2026-07-07T00:00:00+08:00
        let to = Timestamp::from_secs(midnight + 86_400);
        let days = daily_mileage(&points, &trips, from, to);
        let got: Vec<(&str, f64, usize)> = days
            .iter()
            .map(|d| {
                (
                    d.date.as_str(),
                    (d.distance_km * 10.0).round() / 10.0,
                    d.trips,
                )
            })
            .collect();
        // Four steps end before midnight, four at or after it.
        assert_eq!(got, [("2026-07-07", 1.2, 1), ("2026-07-08", 1.2, 0)]);
        assert_eq!(days[1].start, Timestamp::from_secs(midnight));
        assert_eq!(days[0].distance_from, DistanceSource::Odometer);
        // Days without data are listed with nothing driven; a range inside one day is one day.
        let days = daily_mileage(&[], &[], from, Timestamp::from_secs(T0));
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].distance_from, DistanceSource::None);
        assert!(daily_mileage(&[], &[], to, from).is_empty());
    }

    #[test]
    fn haversine_matches_known_distances() {
        // Tianjin railway station to Beijing South railway station: about 108 km.
        let km = haversine_km((117.2095, 39.1365), (116.3785, 39.8652));
        assert!((km - 107.5).abs() < 3.0, "{km}");
        assert!(close(haversine_km((117.0, 39.0), (117.0, 39.0)), 0.0));
        // One degree of latitude.
        assert!((haversine_km((0.0, 0.0), (0.0, 1.0)) - 111.195).abs() < 0.01);
    }

    #[test]
    fn empty_and_single_point_timelines_have_no_trips() {
        assert!(trips(&[]).is_empty());
        assert!(trips(&[pt(0, true, 50.0, None, 0.0)]).is_empty());
    }
}
