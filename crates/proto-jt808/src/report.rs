//! Location reports as `model::FleetReport`: physical units, the columns of `fleet_reports`.

use model::{FleetReport, Timestamp};

use crate::frame::{Body, Frame};
use crate::location::{Item, Location, STATUS_ACC_ON, STATUS_POSITIONED};

/// The reports a frame carries: one for a 0x0200, one per item of a 0x0704 (type 1 marked
/// `reissue`), none for anything else.
///
/// `vin` stays `None` (the platform fills it from the registry). The values are what the bytes
/// say: a latitude over 90° (V17) or a missing south bit (V16) is not corrected here. A report
/// whose BCD time is not a calendar time takes `received_at` as its time when it is live data
/// (0x0200, 0x0704 type 0); a re-sent history item (0x0704 type 1) without a usable time is
/// left out, because placing history at the arrival time would falsify the track.
pub fn to_reports(frame: &Frame, received_at: Timestamp) -> Vec<FleetReport> {
    let source = frame.header.version.source();
    match &frame.body {
        Body::Location(loc) => {
            vec![
                report(frame, loc, received_at, source, false)
                    .unwrap_or_else(|| live_without_time(frame, loc, received_at, source)),
            ]
        }
        Body::Batch(batch) => batch
            .items
            .iter()
            .filter_map(|loc| {
                let reissue = batch.is_reissue();
                report(frame, loc, received_at, source, reissue).or_else(|| {
                    (!reissue).then(|| live_without_time(frame, loc, received_at, source))
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn live_without_time(
    frame: &Frame,
    loc: &Location,
    received_at: Timestamp,
    source: &str,
) -> FleetReport {
    build(frame, loc, received_at, received_at, source, false)
}

fn report(
    frame: &Frame,
    loc: &Location,
    received_at: Timestamp,
    source: &str,
    reissue: bool,
) -> Option<FleetReport> {
    let ts = loc.time.timestamp()?;
    Some(build(frame, loc, ts, received_at, source, reissue))
}

fn build(
    frame: &Frame,
    loc: &Location,
    ts: Timestamp,
    received_at: Timestamp,
    source: &str,
    reissue: bool,
) -> FleetReport {
    let mut r = FleetReport {
        terminal_id: frame.header.terminal_id(),
        vin: None,
        ts,
        received_at,
        source: source.to_owned(),
        reissue,
        lon: loc.lon_deg(),
        lat: loc.lat_deg(),
        speed_kmh: loc.speed_kmh(),
        heading_deg: f64::from(loc.direction),
        alt_m: loc.alt_m(),
        alarm_bits: loc.alarm,
        status_bits: loc.status,
        acc_on: loc.status & STATUS_ACC_ON != 0,
        position_valid: loc.status & STATUS_POSITIONED != 0,
        mileage_km: None,
        fuel_l: None,
        recorder_speed_kmh: None,
    };
    // The first decoded item of each kind counts (some vendors repeat ids).
    for item in &loc.items {
        match *item {
            Item::Mileage(v) if r.mileage_km.is_none() => {
                r.mileage_km = Some(f64::from(v) / 10.0);
            }
            Item::Fuel(v) if r.fuel_l.is_none() => r.fuel_l = Some(f64::from(v) / 10.0),
            Item::RecorderSpeed(v) if r.recorder_speed_kmh.is_none() => {
                r.recorder_speed_kmh = Some(f64::from(v) / 10.0);
            }
            _ => {}
        }
    }
    r
}
