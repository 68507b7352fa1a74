//! Tolerant deserializers for what real operators send: numbers as strings, ids as numbers,
//! lists as a string holding a JSON array. Serialization stays strict (see `model.rs`).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn int_of<T: TryFrom<i64>, E: serde::de::Error>(v: &Value) -> Result<Option<T>, E> {
    let n = match v {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_i64().or_else(|| {
            // "Status": 3.0 is an integer in a float's clothes.
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        other => {
            return Err(E::custom(format!(
                "expected an integer, got {}",
                describe(other)
            )));
        }
    };
    let n = n.ok_or_else(|| E::custom(format!("expected an integer, got {v}")))?;
    T::try_from(n)
        .map(Some)
        .map_err(|_| E::custom(format!("integer {n} out of range")))
}

/// An integer, sent as a number or as a string of digits.
pub(crate) fn int<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<T, D::Error> {
    let v = Value::deserialize(d)?;
    int_of(&v)?.ok_or_else(|| D::Error::custom("expected an integer, got nothing"))
}

/// An optional integer; `null` and `""` are absent.
pub(crate) fn opt_int<'de, D: Deserializer<'de>, T: TryFrom<i64>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    int_of(&Value::deserialize(d)?)
}

/// An optional decimal number, sent as a number or a string (`"StationLat": "39.1"`).
pub(crate) fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(n.as_f64()),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("expected a number, got {s:?}"))),
        other => Err(D::Error::custom(format!(
            "expected a number, got {}",
            describe(&other)
        ))),
    }
}

fn text_of<E: serde::de::Error>(v: Value) -> Result<Option<String>, E> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        // Vector 1 of the standard sends "connectorID": 1.
        Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(E::custom(format!(
            "expected a string, got {}",
            describe(&other)
        ))),
    }
}

/// An identifier or text, sent as a string or as a number.
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    text_of(Value::deserialize(d)?)?.ok_or_else(|| D::Error::custom("expected a string, got null"))
}

/// Optional text, sent as a string or as a number; `null` is absent.
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    text_of(Value::deserialize(d)?)
}

/// A list of strings: a JSON array, a string holding a JSON array (`"[\"1\",\"2\"]"`, seen
/// from a provincial platform), or a comma-separated string; `null` and `""` are empty.
pub(crate) fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    fn items<E: serde::de::Error>(items: Vec<Value>) -> Result<Vec<String>, E> {
        items
            .into_iter()
            .map(|v| text_of(v).map(Option::unwrap_or_default))
            .collect()
    }
    match Value::deserialize(d)? {
        Value::Null => Ok(Vec::new()),
        Value::Array(a) => items(a),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                Ok(Vec::new())
            } else if t.starts_with('[') {
                match serde_json::from_str::<Vec<Value>>(t) {
                    Ok(a) => items(a),
                    Err(e) => Err(D::Error::custom(format!(
                        "a string holding a list that is not a JSON array: {e}"
                    ))),
                }
            } else {
                Ok(t.split(',').map(|p| p.trim().to_owned()).collect())
            }
        }
        other => Err(D::Error::custom(format!(
            "expected a list, got {}",
            describe(&other)
        ))),
    }
}

/// Text where `null` means empty (`"Data": null` in a refusal).
pub(crate) fn text_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    opt_text(d).map(Option::unwrap_or_default)
}
