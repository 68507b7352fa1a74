//! The JSON document `haihe decode` prints for a frame.

use model::Timestamp;
use serde_json::{Value, json};

use crate::frame::{Body, Frame};
use crate::sample::to_sample;
use crate::value::text_of;

/// `{"protocol","edition","command","response","vin","encryption","time","message","sample"}`;
/// `sample` only for realtime and reissue commands. `received_at` fills the sample's column of
/// that name.
pub fn to_json(frame: &Frame, received_at: Timestamp) -> Value {
    let h = &frame.header;
    let mut doc = json!({
        "protocol": "gbt32960",
        "edition": h.edition.as_str(),
        "command": h.command.label(),
        "command_id": h.command.0,
        "response": h.response.label(),
        "vin": text_of(&h.vin.0),
        "encryption": h.encryption,
        "time": frame.body.time(),
        "message": message(&frame.body),
    });
    if let Some(sample) = to_sample(frame, received_at) {
        doc["sample"] = serde_json::to_value(sample).unwrap_or(Value::Null);
    }
    doc
}

fn message(body: &Body) -> Value {
    match body {
        Body::Empty => json!({}),
        Body::Raw(bytes) => json!({ "raw": crate::value::HexDisplay(bytes).to_string() }),
        other => serde_json::to_value(other).unwrap_or(Value::Null),
    }
}
