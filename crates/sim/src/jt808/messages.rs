//! The messages a simulated terminal sends, built with `proto_jt808`'s types in the body layout
//! of the terminal's version: register, authenticate, location report, batch upload,
//! heartbeat, logout and the terminal's general response.

use std::collections::VecDeque;

use proto_jt808::{
    Authenticate, Batch, BcdTime, Body, EncodeError, Frame, GeneralResponse, Header, Item,
    Location, MAX_BODY_LEN, Register, STATUS_ACC_ON, STATUS_POSITIONED, Text, Version, msg_id,
};

use super::fleet::Identity;
use crate::duty::FleetVehicle;

/// The maker id in 0x0100 (BYTE[5]; 2019 BYTE[11], NUL-padded by the codec).
const MAKER: &str = "HAIHE";
const SOFTWARE_VERSION: &str = "HH808-2.1.0";
/// At most this many reports go into one 0x0704 (fewer if the body would exceed 1 023 bytes).
pub(crate) const MAX_BATCH_ITEMS: usize = 15;

/// Status bit 12 (doors locked), 18/19 (GPS, BeiDou used), 22 (moving, 2019).
const STATUS_LOCKED: u32 = 1 << 12;
const STATUS_GPS: u32 = 1 << 18;
const STATUS_BEIDOU: u32 = 1 << 19;
const STATUS_MOVING: u32 = 1 << 22;
/// Status bits 8–9: load 11 = full.
const STATUS_FULL: u32 = 0b11 << 8;
/// Item 0x25 bits: low beam, brake.
const SIGNAL_LOW_BEAM: u32 = 1 << 0;
const SIGNAL_BRAKE: u32 = 1 << 4;

fn header(id: &Identity, msg: u16, serial: u16) -> Header {
    Header::new(id.version, msg, id.phone, serial)
}

pub(crate) fn register(id: &Identity, serial: u16) -> Frame {
    let model = match id.version {
        Version::V2011 => "HH-T808",
        Version::V2013 => "HH-T808-2013",
        Version::V2019 => "HH-T808-2019",
    };
    Frame::new(
        header(id, msg_id::REGISTER, serial),
        Body::Register(Register {
            province: crate::roads::District::PROVINCE,
            city: id.district.code(),
            maker: Text::new(MAKER),
            model: Text::new(model),
            terminal_id: Text::new(&id.device_id),
            plate_color: id.plate_color,
            plate: Text::new(&id.plate),
        }),
    )
}

/// 0x0102: the bare code (2011/2013), or code length, code, IMEI and software version (2019).
pub(crate) fn authenticate(id: &Identity, code: &Text, serial: u16) -> Frame {
    let (imei, software_version) = if id.version == Version::V2019 {
        (Some(Text::new(&id.imei)), Some(Text::new(SOFTWARE_VERSION)))
    } else {
        (None, None)
    };
    Frame::new(
        header(id, msg_id::AUTHENTICATE, serial),
        Body::Authenticate(Authenticate {
            code: code.clone(),
            imei,
            software_version,
        }),
    )
}

pub(crate) fn heartbeat(id: &Identity, serial: u16) -> Frame {
    Frame::new(header(id, msg_id::HEARTBEAT, serial), Body::Empty)
}

pub(crate) fn logout(id: &Identity, serial: u16) -> Frame {
    Frame::new(header(id, msg_id::LOGOUT, serial), Body::Empty)
}

pub(crate) fn location(id: &Identity, serial: u16, report: Location) -> Frame {
    Frame::new(header(id, msg_id::LOCATION, serial), Body::Location(report))
}

pub(crate) fn batch(id: &Identity, serial: u16, kind: u8, items: Vec<Location>) -> Frame {
    Frame::new(
        header(id, msg_id::BATCH, serial),
        Body::Batch(Batch { kind, items }),
    )
}

/// 0x0001 answering a platform message the terminal does not act on.
pub(crate) fn terminal_response(
    id: &Identity,
    serial: u16,
    ack_serial: u16,
    ack_msg_id: u16,
    result: u8,
) -> Frame {
    Frame::new(
        header(id, msg_id::TERMINAL_RESPONSE, serial),
        Body::TerminalResponse(GeneralResponse {
            ack_serial,
            ack_msg_id,
            result,
        }),
    )
}

/// Radio and satellite conditions at the moment of a fix.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Radio {
    /// 0x30, 0–31 (0–3 in a blind area).
    pub(crate) signal: u8,
    /// 0x31.
    pub(crate) satellites: u8,
}

/// The location report of `v` at `time`: the basic block (no alarm; ACC, positioned, load,
/// doors, GNSS systems and — in 2019 — moving in the status word; Tianjin needs no hemisphere
/// bits) and the items 0x01 mileage, 0x02 fuel (vehicles that burn fuel), 0x03 tachograph
/// speed, 0x25 vehicle signals, 0x30 signal strength and 0x31 satellites.
pub(crate) fn fix(version: Version, v: &FleetVehicle, time: BcdTime, radio: Radio) -> Location {
    let (lon, lat) = v.position();
    let speed = (v.speed_kmh() * 10.0).round() as u16;
    let mut status = STATUS_POSITIONED;
    if v.acc_on() {
        status |= STATUS_ACC_ON;
    } else {
        status |= STATUS_LOCKED;
    }
    if v.loaded() == Some(true) {
        status |= STATUS_FULL;
    }
    if version != Version::V2011 {
        status |= STATUS_GPS | STATUS_BEIDOU;
    }
    if version == Version::V2019 && speed > 0 {
        status |= STATUS_MOVING;
    }
    let mut signals = 0;
    if v.acc_on() && v.dark() {
        signals |= SIGNAL_LOW_BEAM;
    }
    if v.braking() {
        signals |= SIGNAL_BRAKE;
    }
    let mut items = vec![Item::Mileage((v.odometer_km() * 10.0).floor() as u32)];
    if let Some(litres) = v.fuel_l() {
        items.push(Item::Fuel((litres * 10.0).round() as u16));
    }
    items.extend([
        Item::RecorderSpeed(speed),
        Item::ExtSignals(signals),
        Item::Signal(radio.signal),
        Item::Satellites(radio.satellites),
    ]);
    Location {
        alarm: 0,
        status,
        lat: (lat * 1e6).round() as u32,
        lon: (lon * 1e6).round() as u32,
        alt: v.altitude_m().round() as u16,
        speed,
        direction: (v.heading_deg().round() as u16) % 360,
        time,
        items,
        tail: Vec::new(),
    }
}

/// The encoded length of one report inside a batch (its length word included).
fn batch_item_len(id: &Identity, report: &Location) -> Result<usize, EncodeError> {
    let frame = location(id, 0, report.clone());
    Ok(2 + frame.body_bytes()?.len())
}

/// Takes from the front of `queue` the reports of one batch: at most [`MAX_BATCH_ITEMS`] and a
/// body of at most 1 023 bytes (count WORD and type BYTE included), oldest first.
pub(crate) fn take_batch(
    id: &Identity,
    queue: &mut VecDeque<Location>,
) -> Result<Vec<Location>, EncodeError> {
    let mut out = Vec::new();
    let mut size = 3;
    while let Some(r) = queue.front() {
        let n = batch_item_len(id, r)?;
        if !out.is_empty() && (out.len() >= MAX_BATCH_ITEMS || size + n > MAX_BODY_LEN) {
            break;
        }
        size += n;
        out.extend(queue.pop_front());
    }
    Ok(out)
}
