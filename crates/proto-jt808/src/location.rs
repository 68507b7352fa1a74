//! 0x0200 location report (28 bytes of basic information plus additional items) and 0x0704
//! batch upload, with the names of the alarm and status bits and of the items.
//!
//! Known items are decoded when they have their standard length; any other item, and a known
//! id with an unexpected length, is kept raw (id and bytes) in arrival order. Bytes at the end
//! that do not form a whole item are kept too (`tail`), so nothing a device sent is dropped and
//! the report still encodes back to its bytes.

use wire::{DecodeError, Reader, Writer};

use crate::EncodeError;
use crate::body::finish;
use crate::value::BcdTime;

/// The names of alarm flag bits 0–31 (JT/T 808-2013 table 24 with the 2019 additions, after
/// go-jt808's model as quoted in the research note).
pub const ALARM_BITS: [&str; 32] = [
    "emergency",
    "overspeed",
    "fatigue_driving",
    "danger_warning",
    "gnss_module_fault",
    "gnss_antenna_open",
    "gnss_antenna_short",
    "main_power_undervoltage",
    "main_power_cut",
    "display_fault",
    "tts_module_fault",
    "camera_fault",
    "ic_card_module_fault",
    "overspeed_warning",
    "fatigue_warning",
    "violation_driving_warning",
    "tyre_pressure_warning",
    "right_turn_blind_zone_warning",
    "driving_time_exceeded_today",
    "overtime_parking",
    "area_in_out",
    "route_in_out",
    "route_segment_time_abnormal",
    "route_deviation",
    "vss_fault",
    "fuel_level_abnormal",
    "vehicle_stolen",
    "illegal_ignition",
    "illegal_displacement",
    "collision_warning",
    "rollover_warning",
    "illegal_door_open",
];

/// The names of the single status bits; bits 8–9 (load) are a two-bit field, see
/// [`load_state`], and 23–31 are reserved (named `bit23` … in JSON).
pub const STATUS_BITS: [(u8, &str); 21] = [
    (0, "acc_on"),
    (1, "positioned"),
    (2, "south_latitude"),
    (3, "west_longitude"),
    (4, "out_of_service"),
    (5, "coordinates_encrypted"),
    (6, "forward_collision_warning"),
    (7, "lane_departure_warning"),
    (10, "fuel_line_cut"),
    (11, "circuit_cut"),
    (12, "doors_locked"),
    (13, "door1_open"),
    (14, "door2_open"),
    (15, "door3_open"),
    (16, "door4_open"),
    (17, "door5_open"),
    (18, "gps"),
    (19, "beidou"),
    (20, "glonass"),
    (21, "galileo"),
    (22, "moving"),
];

pub const STATUS_ACC_ON: u32 = 1 << 0;
pub const STATUS_POSITIONED: u32 = 1 << 1;
pub const STATUS_SOUTH: u32 = 1 << 2;
pub const STATUS_WEST: u32 = 1 << 3;

/// The load field, status bits 8–9: 00 empty, 01 half, 10 reserved, 11 full.
pub fn load_state(status: u32) -> &'static str {
    match (status >> 8) & 0x03 {
        0 => "empty",
        1 => "half",
        2 => "reserved",
        _ => "full",
    }
}

/// The names of the set alarm bits.
pub fn alarm_names(alarm: u32) -> Vec<&'static str> {
    (0..32)
        .filter(|b| alarm & (1 << b) != 0)
        .map(|b| ALARM_BITS[b])
        .collect()
}

/// The names of the set single status bits (`bitN` for the reserved ones).
pub fn status_names(status: u32) -> Vec<String> {
    let mut out: Vec<String> = STATUS_BITS
        .iter()
        .filter(|(b, _)| status & (1 << b) != 0)
        .map(|(_, n)| (*n).to_owned())
        .collect();
    out.extend(
        (23..32)
            .filter(|b| status & (1 << b) != 0)
            .map(|b| format!("bit{b}")),
    );
    out
}

/// Bits of item 0x25 (extended vehicle signal status), 0–14; 15–31 reserved.
pub const EXT_SIGNAL_BITS: [&str; 15] = [
    "low_beam",
    "high_beam",
    "right_turn_signal",
    "left_turn_signal",
    "brake",
    "reverse",
    "fog_lamp",
    "clearance_lamp",
    "horn",
    "air_conditioner",
    "neutral",
    "retarder",
    "abs",
    "heater",
    "clutch",
];

/// Bits of item 0x2A (IO status), 0–1; 2–15 reserved.
pub const IO_BITS: [&str; 2] = ["deep_sleep", "sleep"];

/// One additional item of a location report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// 0x01: odometer, 1/10 km.
    Mileage(u32),
    /// 0x02: fuel, 1/10 L.
    Fuel(u16),
    /// 0x03: speed from the tachograph, 1/10 km/h.
    RecorderSpeed(u16),
    /// 0x25: extended vehicle signal status bits.
    ExtSignals(u32),
    /// 0x2A: IO status bits.
    Io(u16),
    /// 0x2B: analog inputs, AD0 in bits 0–15, AD1 in bits 16–31.
    Analog(u32),
    /// 0x30: wireless signal strength.
    Signal(u8),
    /// 0x31: GNSS satellites in use.
    Satellites(u8),
    /// Any other item, or a known id with an unexpected length, as sent.
    Other { id: u8, bytes: Vec<u8> },
}

impl Item {
    pub fn id(&self) -> u8 {
        match self {
            Self::Mileage(_) => 0x01,
            Self::Fuel(_) => 0x02,
            Self::RecorderSpeed(_) => 0x03,
            Self::ExtSignals(_) => 0x25,
            Self::Io(_) => 0x2A,
            Self::Analog(_) => 0x2B,
            Self::Signal(_) => 0x30,
            Self::Satellites(_) => 0x31,
            Self::Other { id, .. } => *id,
        }
    }

    /// The standard length of a decoded item id, `None` for ids kept raw.
    pub fn known_len(id: u8) -> Option<usize> {
        match id {
            0x01 | 0x25 | 0x2B => Some(4),
            0x02 | 0x03 | 0x2A => Some(2),
            0x30 | 0x31 => Some(1),
            _ => None,
        }
    }

    /// The item's name in JSON (also for items kept raw, where the id is a known one).
    pub fn name(id: u8) -> Option<&'static str> {
        Some(match id {
            0x01 => "mileage",
            0x02 => "fuel",
            0x03 => "recorder_speed",
            0x04 => "alarm_event_id",
            0x05 => "tyre_pressure",
            0x06 => "cabin_temperature",
            0x11 => "overspeed_alarm",
            0x12 => "area_route_alarm",
            0x13 => "route_time_alarm",
            0x25 => "ext_signals",
            0x2A => "io_status",
            0x2B => "analog",
            0x30 => "signal_strength",
            0x31 => "gnss_satellites",
            0xE0 => "custom_length",
            _ => return None,
        })
    }

    fn decode(id: u8, v: &[u8]) -> Self {
        let be = |n: usize| v.iter().take(n).fold(0u32, |a, &b| a << 8 | u32::from(b));
        match (id, Self::known_len(id)) {
            (_, Some(n)) if n != v.len() => Self::Other {
                id,
                bytes: v.to_vec(),
            },
            (0x01, _) => Self::Mileage(be(4)),
            (0x02, _) => Self::Fuel(be(2) as u16),
            (0x03, _) => Self::RecorderSpeed(be(2) as u16),
            (0x25, _) => Self::ExtSignals(be(4)),
            (0x2A, _) => Self::Io(be(2) as u16),
            (0x2B, _) => Self::Analog(be(4)),
            (0x30, _) => Self::Signal(v[0]),
            (0x31, _) => Self::Satellites(v[0]),
            _ => Self::Other {
                id,
                bytes: v.to_vec(),
            },
        }
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_u8(self.id());
        match self {
            Self::Mileage(v) | Self::ExtSignals(v) | Self::Analog(v) => {
                out.put_u8(4);
                out.put_u32(*v);
            }
            Self::Fuel(v) | Self::RecorderSpeed(v) | Self::Io(v) => {
                out.put_u8(2);
                out.put_u16(*v);
            }
            Self::Signal(v) | Self::Satellites(v) => {
                out.put_u8(1);
                out.put_u8(*v);
            }
            Self::Other { bytes, .. } => {
                let n = u8::try_from(bytes.len()).map_err(|_| EncodeError::FieldTooLong {
                    what: "location item",
                    max: 255,
                })?;
                out.put_u8(n);
                out.put_slice(bytes);
            }
        }
        Ok(())
    }
}

/// 0x0200 location report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub alarm: u32,
    pub status: u32,
    /// Degrees × 10⁶, unsigned; the hemisphere is status bit 2.
    pub lat: u32,
    /// Degrees × 10⁶, unsigned; the hemisphere is status bit 3.
    pub lon: u32,
    /// Metres (read as signed: a few devices send negative altitudes).
    pub alt: u16,
    /// 1/10 km/h.
    pub speed: u16,
    /// Degrees, 0–359, north 0, clockwise.
    pub direction: u16,
    pub time: BcdTime,
    pub items: Vec<Item>,
    /// Bytes after the last whole item (an item whose length runs past the end, or a lone
    /// byte), kept as sent.
    pub tail: Vec<u8>,
}

/// Bytes of the basic information.
pub const LOCATION_BASIC_LEN: usize = 28;

impl Location {
    /// Latitude in degrees, negative south.
    pub fn lat_deg(&self) -> f64 {
        let v = f64::from(self.lat) / 1e6;
        if self.status & STATUS_SOUTH != 0 {
            -v
        } else {
            v
        }
    }

    /// Longitude in degrees, negative west.
    pub fn lon_deg(&self) -> f64 {
        let v = f64::from(self.lon) / 1e6;
        if self.status & STATUS_WEST != 0 {
            -v
        } else {
            v
        }
    }

    pub fn speed_kmh(&self) -> f64 {
        f64::from(self.speed) / 10.0
    }

    pub fn alt_m(&self) -> f64 {
        f64::from(self.alt as i16)
    }

    /// The first item with this id that was decoded.
    pub fn item(&self, id: u8) -> Option<&Item> {
        self.items
            .iter()
            .find(|i| i.id() == id && !matches!(i, Item::Other { .. }))
    }

    /// Reads a whole location body: `r` must hold exactly the report.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if r.remaining() < LOCATION_BASIC_LEN {
            // Field by field, for an error that names the missing field.
            r.u32("location.alarm")?;
            r.u32("location.status")?;
            r.u32("location.latitude")?;
            r.u32("location.longitude")?;
            r.u16("location.altitude")?;
            r.u16("location.speed")?;
            r.u16("location.direction")?;
            r.array::<6>("location.time")?;
        }
        // This runs for every report received: slice arithmetic rather than one call per field.
        let b = r.rest();
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u16_at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let mut loc = Self {
            alarm: u32_at(0),
            status: u32_at(4),
            lat: u32_at(8),
            lon: u32_at(12),
            alt: u16_at(16),
            speed: u16_at(18),
            direction: u16_at(20),
            time: BcdTime([b[22], b[23], b[24], b[25], b[26], b[27]]),
            items: Vec::new(),
            tail: Vec::new(),
        };
        let mut rest = &b[LOCATION_BASIC_LEN..];
        if rest.len() >= 2 {
            // Most items are 3–6 bytes long.
            loc.items.reserve(rest.len() / 4);
        }
        while let [id, len, more @ ..] = rest {
            let len = usize::from(*len);
            if more.len() < len {
                break;
            }
            loc.items.push(Item::decode(*id, &more[..len]));
            rest = &more[len..];
        }
        loc.tail = rest.to_vec();
        Ok(loc)
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_u32(self.alarm);
        out.put_u32(self.status);
        out.put_u32(self.lat);
        out.put_u32(self.lon);
        out.put_u16(self.alt);
        out.put_u16(self.speed);
        out.put_u16(self.direction);
        out.put_slice(&self.time.0);
        for item in &self.items {
            item.write(out)?;
        }
        out.put_slice(&self.tail);
        Ok(())
    }
}

/// 0x0704 batch upload: `count WORD | type BYTE | count × (length WORD | 0x0200 body)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// 0 normal batch, 1 blind-area re-send (history).
    pub kind: u8,
    pub items: Vec<Location>,
}

impl Batch {
    pub const NORMAL: u8 = 0;
    pub const BLIND_AREA: u8 = 1;

    /// Whether the items are re-sent history (type 1).
    pub fn is_reissue(&self) -> bool {
        self.kind == Self::BLIND_AREA
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let count = usize::from(r.u16("batch.count")?);
        let kind = r.u8("batch.type")?;
        // Each item needs at least its length word and the basic information.
        r.expect_items(count, 2 + LOCATION_BASIC_LEN, "batch.items")?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            let len = usize::from(r.u16("batch.item_length")?);
            let base = r.offset();
            let body = r.bytes(len, "batch.item")?;
            items.push(Location::read(&mut Reader::new(body, base))?);
        }
        finish(r, "batch")?;
        Ok(Self { kind, items })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let count = u16::try_from(self.items.len()).map_err(|_| EncodeError::TooMany {
            what: "batch items",
            count: self.items.len(),
        })?;
        out.put_u16(count);
        out.put_u8(self.kind);
        for item in &self.items {
            let at = out.len();
            out.put_u16(0);
            item.write(out)?;
            let len = out.len() - at - 2;
            let len = u16::try_from(len).map_err(|_| EncodeError::FieldTooLong {
                what: "batch item",
                max: usize::from(u16::MAX),
            })?;
            out[at..at + 2].copy_from_slice(&len.to_be_bytes());
        }
        Ok(())
    }
}
