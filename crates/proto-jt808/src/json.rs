//! The JSON document `haihe decode --protocol jt808` prints for a frame: the message named,
//! values in physical units, alarm and status bits and items by name, raw bytes as hex.

use serde_json::{Map, Value, json};

use crate::body::GeneralResponse;
use crate::frame::{Body, Frame, msg_id};
use crate::header::Version;
use crate::location::{
    EXT_SIGNAL_BITS, IO_BITS, Item, Location, alarm_names, load_state, status_names,
};
use crate::value::HexDisplay;

/// `{"protocol","version","message","msg_id","terminal_id","phone","serial",…,"body"}`;
/// `protocol_version` for 2019, `package` for one packet of a subpackaged message, `quirks`
/// for what a lenient decode accepted, `version_flag` when attribute bit 14 disagrees with the
/// header layout (vector V22).
pub fn to_json(frame: &Frame) -> Value {
    let h = &frame.header;
    let mut doc = Map::new();
    doc.insert("protocol".into(), json!("jt808"));
    doc.insert("version".into(), json!(h.version.as_str()));
    doc.insert("message".into(), json!(msg_id::name(h.msg_id)));
    doc.insert("msg_id".into(), json!(format!("0x{:04X}", h.msg_id)));
    doc.insert("terminal_id".into(), json!(h.terminal_id()));
    doc.insert("phone".into(), json!(h.phone.digits()));
    doc.insert("serial".into(), json!(h.serial));
    if h.version == Version::V2019 {
        doc.insert("protocol_version".into(), json!(h.protocol_version));
    }
    doc.insert("encryption".into(), json!(h.encryption));
    if h.version_flag != (h.version == Version::V2019) {
        doc.insert("version_flag".into(), json!(h.version_flag));
    }
    if h.reserved_bit {
        doc.insert("reserved_bit".into(), json!(true));
    }
    if let Some(p) = h.package {
        doc.insert(
            "package".into(),
            json!({ "total": p.total, "index": p.index }),
        );
    }
    if !frame.quirks.is_empty() {
        doc.insert("quirks".into(), json!(frame.quirks));
    }
    doc.insert("body".into(), body(&frame.body));
    Value::Object(doc)
}

fn body(b: &Body) -> Value {
    match b {
        Body::TerminalResponse(r) | Body::PlatformResponse(r) => response(r),
        Body::Empty => json!({}),
        Body::Register(r) => json!({
            "province": r.province,
            "city": r.city,
            "maker": r.maker,
            "model": r.model,
            "terminal_id": r.terminal_id,
            "plate_color": r.plate_color,
            "plate": r.plate,
        }),
        Body::RegisterResponse(r) => json!({
            "ack_serial": r.ack_serial,
            "result": r.result,
            "result_name": r.result_name(),
            "auth_code": r.auth_code,
        }),
        Body::Authenticate(a) => serde_json::to_value(a).unwrap_or(Value::Null),
        Body::Location(l) => location(l),
        Body::Batch(b) => json!({
            "type": b.kind,
            "type_name": match b.kind { 0 => "normal", 1 => "blind_area", _ => "unknown" },
            "count": b.items.len(),
            "items": b.items.iter().map(location).collect::<Vec<_>>(),
        }),
        Body::RetransmitRequest(r) => serde_json::to_value(r).unwrap_or(Value::Null),
        Body::Raw(bytes) => json!({ "len": bytes.len(), "raw": HexDisplay(bytes).to_string() }),
    }
}

fn response(r: &GeneralResponse) -> Value {
    json!({
        "ack_serial": r.ack_serial,
        "ack_msg_id": format!("0x{:04X}", r.ack_msg_id),
        "ack_message": msg_id::name(r.ack_msg_id),
        "result": r.result,
        "result_name": r.result_name(),
    })
}

fn location(l: &Location) -> Value {
    let mut doc = json!({
        "alarm": format!("0x{:08X}", l.alarm),
        "alarms": alarm_names(l.alarm),
        "status": format!("0x{:08X}", l.status),
        "status_flags": status_names(l.status),
        "load": load_state(l.status),
        "lat": l.lat_deg(),
        "lon": l.lon_deg(),
        "alt_m": l.alt_m(),
        "speed_kmh": l.speed_kmh(),
        "heading_deg": l.direction,
        "time": l.time,
        "time_bcd": HexDisplay(&l.time.0).to_string(),
        "items": l.items.iter().map(item).collect::<Vec<_>>(),
    });
    if !l.tail.is_empty() {
        doc["tail"] = json!(HexDisplay(&l.tail).to_string());
    }
    doc
}

fn bit_names(value: u32, names: &[&'static str]) -> Vec<String> {
    (0..32)
        .filter(|b| value & (1 << b) != 0)
        .map(|b| {
            names
                .get(b)
                .map_or_else(|| format!("bit{b}"), |n| (*n).to_owned())
        })
        .collect()
}

fn item(i: &Item) -> Value {
    let id = i.id();
    let mut doc = json!({ "id": format!("0x{id:02X}") });
    if let Some(name) = Item::name(id) {
        doc["name"] = json!(name);
    }
    match *i {
        Item::Mileage(v) => doc["mileage_km"] = json!(f64::from(v) / 10.0),
        Item::Fuel(v) => doc["fuel_l"] = json!(f64::from(v) / 10.0),
        Item::RecorderSpeed(v) => doc["recorder_speed_kmh"] = json!(f64::from(v) / 10.0),
        Item::ExtSignals(v) => {
            doc["value"] = json!(format!("0x{v:08X}"));
            doc["signals"] = json!(bit_names(v, &EXT_SIGNAL_BITS));
        }
        Item::Io(v) => {
            doc["value"] = json!(format!("0x{v:04X}"));
            doc["flags"] = json!(bit_names(u32::from(v), &IO_BITS));
        }
        Item::Analog(v) => {
            doc["ad0"] = json!(v & 0xFFFF);
            doc["ad1"] = json!(v >> 16);
        }
        Item::Signal(v) => doc["signal_strength"] = json!(v),
        Item::Satellites(v) => doc["satellites"] = json!(v),
        Item::Other { ref bytes, .. } => {
            doc["len"] = json!(bytes.len());
            doc["raw"] = json!(HexDisplay(bytes).to_string());
        }
    }
    doc
}
