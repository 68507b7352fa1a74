//! Request parameters: extractors that answer in the API's error format, and parsers whose
//! messages name the parameter and say what was expected.
//!
//! Query parameters are taken as strings and parsed here rather than by serde, because serde's
//! messages ("invalid digit found in string") do not say which parameter was wrong. An empty value
//! counts as absent: DESIGN.md writes the endpoints as `?online=&category=…` and clients fill
//! such templates literally.

use std::str::FromStr;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use model::{Timestamp, Vin};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// `Query<T>` whose rejection (e.g. an unknown parameter) is a 400 in the API's format.
#[derive(Debug)]
pub(crate) struct Params<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(t)) => Ok(Self(t)),
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// The `{vin}` path segment: a vehicle's id, checked to be a well-formed VIN or JT/T 808
/// terminal id (up to 20 digits, longer than a VIN may be).
#[derive(Debug)]
pub(crate) struct VinPath(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for VinPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(vin) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        if crate::registry::check_terminal_id(&vin).is_err() {
            check_vin(&vin).map_err(|m| ApiError::BadRequest(format!("vin: {m}")))?;
        }
        Ok(Self(vin))
    }
}

/// A VIN as the platform accepts it from devices (`model::Vin`: 1–17 letters, digits, `-`, `_`),
/// and written exactly in that form, without the padding devices send.
pub(crate) fn check_vin(vin: &str) -> Result<(), String> {
    match Vin::from_str(vin) {
        Ok(v) if v.as_str() == vin => Ok(()),
        Ok(_) => Err(format!("{vin:?} has leading or trailing spaces")),
        Err(e) => Err(format!("{vin:?}: {e}")),
    }
}

/// A parameter's value, `None` when absent or empty.
pub(crate) fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

pub(crate) fn parse_bool(name: &str, value: &Option<String>) -> Result<Option<bool>, ApiError> {
    present(value)
        .map(|v| match v {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(ApiError::BadRequest(format!(
                "{name}: expected true or false, got {v:?}"
            ))),
        })
        .transpose()
}

/// A count with a default and an upper bound; above the bound is an error rather than silently
/// clamped, so a client never mistakes a short page for the end of the data.
pub(crate) fn parse_count(
    name: &str,
    value: &Option<String>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    let Some(v) = present(value) else {
        return Ok(default);
    };
    let n: usize = v.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "{name}: expected a non-negative integer, got {v:?}"
        ))
    })?;
    if n > max {
        return Err(ApiError::BadRequest(format!(
            "{name}: at most {max}, got {n}"
        )));
    }
    Ok(n)
}

pub(crate) fn parse_time(
    name: &str,
    value: &Option<String>,
) -> Result<Option<Timestamp>, ApiError> {
    present(value)
        .map(|v| {
            Timestamp::parse(v).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "{name}: expected an RFC 3339 time (2026-07-07T06:55:15+08:00) or epoch \
                     seconds, got {v:?}"
                ))
            })
        })
        .transpose()
}

/// An entity id (a VIN, JT/T 808 terminal id or charger id): 1–64 characters, none of them
/// whitespace or control characters.
pub(crate) fn parse_entity(name: &str, value: &Option<String>) -> Result<Option<String>, ApiError> {
    present(value)
        .map(|v| {
            let n = v.chars().count();
            if n > 64 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
                Err(ApiError::BadRequest(format!(
                    "{name}: expected a VIN, terminal id or charger id (1–64 characters without \
                     spaces), got {v:?}"
                )))
            } else {
                Ok(v.to_owned())
            }
        })
        .transpose()
}

/// A machine name such as an alarm kind: 1–64 of `a`–`z`, `0`–`9` and `_`.
pub(crate) fn parse_name(name: &str, value: &Option<String>) -> Result<Option<String>, ApiError> {
    present(value)
        .map(|v| {
            let ok = v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if ok {
                Ok(v.to_owned())
            } else {
                Err(ApiError::BadRequest(format!(
                    "{name}: expected a name of 1–64 characters a–z, 0–9 and _ \
                     (e.g. insulation_low), got {v:?}"
                )))
            }
        })
        .transpose()
}

/// An integer in `min..=max`.
pub(crate) fn parse_in_range(
    name: &str,
    value: &Option<String>,
    min: u8,
    max: u8,
) -> Result<Option<u8>, ApiError> {
    present(value)
        .map(|v| match v.parse::<u8>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::BadRequest(format!(
                "{name}: expected an integer from {min} to {max}, got {v:?}"
            ))),
        })
        .transpose()
}

/// The default window of history endpoints.
pub(crate) const DEFAULT_WINDOW_SECS: i64 = 24 * 3600;

/// `from`/`to` with their defaults: `to` = now, `from` = `to` − 24 h; `from` must be before `to`.
pub(crate) fn time_range(
    from: &Option<String>,
    to: &Option<String>,
    now: Timestamp,
) -> Result<(Timestamp, Timestamp), ApiError> {
    time_range_with(from, to, now, DEFAULT_WINDOW_SECS)
}

/// [`time_range`] with another default window (`from` = `to` − `default_secs`).
pub(crate) fn time_range_with(
    from: &Option<String>,
    to: &Option<String>,
    now: Timestamp,
    default_secs: i64,
) -> Result<(Timestamp, Timestamp), ApiError> {
    let to = parse_time("to", to)?.unwrap_or(now);
    let from = match parse_time("from", from)? {
        Some(from) => from,
        None => Timestamp::from_micros(
            to.as_micros()
                .saturating_sub(default_secs.saturating_mul(1_000_000)),
        ),
    };
    if from >= to {
        return Err(ApiError::BadRequest(format!(
            "from ({from}) must be before to ({to})"
        )));
    }
    Ok((from, to))
}

/// Refuses a range longer than `max_days`: the backend reads the whole range for one answer.
pub(crate) fn max_range(
    (from, to): (Timestamp, Timestamp),
    max_days: i64,
    what: &str,
) -> Result<(), ApiError> {
    if to.as_secs() - from.as_secs() > max_days * 86_400 {
        return Err(ApiError::BadRequest(format!(
            "{what} covers at most {max_days} days; ask for a shorter range"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn counts_have_defaults_and_bounds() {
        assert_eq!(parse_count("limit", &None, 100, 10).unwrap(), 100);
        assert_eq!(parse_count("limit", &s(""), 100, 10).unwrap(), 100);
        assert_eq!(parse_count("limit", &s("7"), 100, 10).unwrap(), 7);
        let e = parse_count("limit", &s("11"), 100, 10).unwrap_err();
        assert_eq!(e.to_string(), "limit: at most 10, got 11");
        let e = parse_count("offset", &s("-1"), 0, 10).unwrap_err();
        assert!(e.to_string().starts_with("offset: expected"), "{e}");
    }

    #[test]
    fn time_range_defaults_to_the_last_day() {
        let now = Timestamp::from_secs(1_000_000);
        let (from, to) = time_range(&None, &None, now).unwrap();
        assert_eq!(
            (from.as_secs(), to.as_secs()),
            (1_000_000 - 86_400, 1_000_000)
        );
        let (from, to) = time_range(&None, &s("500000"), now).unwrap();
        assert_eq!((from.as_secs(), to.as_secs()), (500_000 - 86_400, 500_000));
        assert!(time_range(&s("1000000"), &None, now).is_err());
        let e = time_range(&s("yesterday"), &None, now).unwrap_err();
        assert!(
            e.to_string().starts_with("from: expected an RFC 3339"),
            "{e}"
        );
    }

    #[test]
    fn entities_names_and_ranges() {
        assert_eq!(parse_entity("entity", &None).unwrap(), None);
        assert_eq!(
            parse_entity("entity", &s("CP-0001")).unwrap().as_deref(),
            Some("CP-0001")
        );
        assert!(parse_entity("entity", &s("a b")).is_err());
        assert!(parse_entity("entity", &s(&"x".repeat(65))).is_err());
        assert_eq!(
            parse_name("kind", &s("insulation_low")).unwrap().as_deref(),
            Some("insulation_low")
        );
        assert!(parse_name("kind", &s("Insulation")).is_err());
        assert!(parse_name("kind", &s(&"x".repeat(65))).is_err());
        assert_eq!(parse_in_range("min_level", &s("4"), 1, 4).unwrap(), Some(4));
        assert_eq!(parse_in_range("min_level", &s(""), 1, 4).unwrap(), None);
        for bad in ["0", "5", "-1", "2.5", "300"] {
            let e = parse_in_range("min_level", &s(bad), 1, 4).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with("min_level: expected an integer from 1 to 4"),
                "{e}"
            );
        }
    }

    #[test]
    fn vins_are_checked_without_trimming() {
        assert!(check_vin("LA9ABC12345678901").is_ok());
        assert!(check_vin("TEST-01_a").is_ok());
        assert!(check_vin("").is_err());
        assert!(check_vin(" ABC").is_err());
        assert!(check_vin("AB/C").is_err());
        assert!(check_vin("LA9ABC123456789012").is_err());
    }
}
