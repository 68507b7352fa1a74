//! Field types both versions share: bounded strings, dates, and the meter-value enumerations.

use std::fmt;
use std::ops::Deref;

use model::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// The opening words of the error a too-long string gives; the dispatcher maps it to
/// `PropertyConstraintViolation`.
pub(crate) const TOO_LONG: &str = "string longer than";

/// A string of at most `N` characters (1.6 `CiStringNType`, 2.0.1 `string[0..N]`).
///
/// The bound is checked when decoding, so an over-long value from a charger becomes a
/// `PropertyConstraintViolation` rather than a surprise further in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CiString<const N: usize>(String);

impl<const N: usize> CiString<N> {
    /// `None` if `text` has more than `N` characters.
    pub fn new(text: impl Into<String>) -> Option<Self> {
        let text = text.into();
        (text.chars().count() <= N).then_some(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<const N: usize> Deref for CiString<N> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<const N: usize> fmt::Display for CiString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const N: usize> Serialize for CiString<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de, const N: usize> Deserialize<'de> for CiString<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let len = text.chars().count();
        if len > N {
            return Err(de::Error::custom(format_args!(
                "{TOO_LONG} {N} characters: {len}"
            )));
        }
        Ok(Self(text))
    }
}

/// A date and time as the charger wrote it (RFC 3339), kept verbatim so a message re-encodes as
/// it came; [`DateTime::timestamp`] reads it as an instant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DateTime(pub String);

impl DateTime {
    /// The RFC 3339 form of `at` in UTC, as the CSMS writes times.
    pub fn from_timestamp(at: Timestamp) -> Self {
        Self(at.to_rfc3339(0))
    }

    /// The instant, or `None` when the text is not RFC 3339 (chargers without a clock send
    /// things like `1970-01-01T00:00:00` with no offset; a caller decides what to do then).
    pub fn timestamp(&self) -> Option<Timestamp> {
        let text = self.0.as_str();
        // RFC 3339 requires an offset; the numeric form `Timestamp::parse` also accepts is not
        // a date here.
        if text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return None;
        }
        Timestamp::parse(text)
    }
}

/// What a sampled value measures (1.6 `Measurand`, 2.0.1 `MeasurandEnumType`; one list holds
/// both, since 2.0.1 only adds net and apparent energy and drops `RPM`/`Temperature`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Measurand {
    #[serde(rename = "Current.Export")]
    CurrentExport,
    #[serde(rename = "Current.Import")]
    CurrentImport,
    #[serde(rename = "Current.Offered")]
    CurrentOffered,
    #[serde(rename = "Energy.Active.Export.Register")]
    EnergyActiveExportRegister,
    #[serde(rename = "Energy.Active.Import.Register")]
    EnergyActiveImportRegister,
    #[serde(rename = "Energy.Reactive.Export.Register")]
    EnergyReactiveExportRegister,
    #[serde(rename = "Energy.Reactive.Import.Register")]
    EnergyReactiveImportRegister,
    #[serde(rename = "Energy.Active.Export.Interval")]
    EnergyActiveExportInterval,
    #[serde(rename = "Energy.Active.Import.Interval")]
    EnergyActiveImportInterval,
    #[serde(rename = "Energy.Active.Net")]
    EnergyActiveNet,
    #[serde(rename = "Energy.Reactive.Export.Interval")]
    EnergyReactiveExportInterval,
    #[serde(rename = "Energy.Reactive.Import.Interval")]
    EnergyReactiveImportInterval,
    #[serde(rename = "Energy.Reactive.Net")]
    EnergyReactiveNet,
    #[serde(rename = "Energy.Apparent.Net")]
    EnergyApparentNet,
    #[serde(rename = "Energy.Apparent.Import")]
    EnergyApparentImport,
    #[serde(rename = "Energy.Apparent.Export")]
    EnergyApparentExport,
    Frequency,
    #[serde(rename = "Power.Active.Export")]
    PowerActiveExport,
    #[serde(rename = "Power.Active.Import")]
    PowerActiveImport,
    #[serde(rename = "Power.Factor")]
    PowerFactor,
    #[serde(rename = "Power.Offered")]
    PowerOffered,
    #[serde(rename = "Power.Reactive.Export")]
    PowerReactiveExport,
    #[serde(rename = "Power.Reactive.Import")]
    PowerReactiveImport,
    #[serde(rename = "RPM")]
    Rpm,
    SoC,
    Temperature,
    Voltage,
}

/// Which phase a sampled value is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Phase {
    L1,
    L2,
    L3,
    N,
    #[serde(rename = "L1-N")]
    L1N,
    #[serde(rename = "L2-N")]
    L2N,
    #[serde(rename = "L3-N")]
    L3N,
    #[serde(rename = "L1-L2")]
    L1L2,
    #[serde(rename = "L2-L3")]
    L2L3,
    #[serde(rename = "L3-L1")]
    L3L1,
}

/// Why a sampled value was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReadingContext {
    #[serde(rename = "Interruption.Begin")]
    InterruptionBegin,
    #[serde(rename = "Interruption.End")]
    InterruptionEnd,
    Other,
    #[serde(rename = "Sample.Clock")]
    SampleClock,
    #[serde(rename = "Sample.Periodic")]
    SamplePeriodic,
    #[serde(rename = "Transaction.Begin")]
    TransactionBegin,
    #[serde(rename = "Transaction.End")]
    TransactionEnd,
    Trigger,
}

/// Where a sampled value was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Location {
    Body,
    Cable,
    EV,
    Inlet,
    Outlet,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_string() {
        assert!(CiString::<3>::new("abc").is_some());
        assert!(CiString::<3>::new("abcd").is_none());
        // Characters, not bytes.
        assert!(CiString::<2>::new("充电").is_some());
        let err = serde_json::from_str::<CiString<3>>("\"abcd\"").unwrap_err();
        assert!(err.to_string().starts_with(TOO_LONG), "{err}");
    }

    #[test]
    fn date_time_reads_rfc3339_only() {
        let t = DateTime("2026-11-27T08:00:00Z".into()).timestamp().unwrap();
        assert_eq!(t.as_secs(), 1_795_766_400);
        let with_offset = DateTime("2026-11-27T16:00:00.5+08:00".into());
        assert_eq!(
            with_offset.timestamp().unwrap().as_micros(),
            t.as_micros() + 500_000
        );
        assert_eq!(DateTime("1795766400".into()).timestamp(), None);
        assert_eq!(DateTime("2026-11-27T08:00:00".into()).timestamp(), None);
        assert_eq!(DateTime::from_timestamp(t).0, "2026-11-27T08:00:00Z");
    }

    #[test]
    fn dotted_enum_names() {
        let m: Measurand = serde_json::from_str("\"Energy.Active.Import.Register\"").unwrap();
        assert_eq!(m, Measurand::EnergyActiveImportRegister);
        assert_eq!(serde_json::to_string(&Phase::L1N).unwrap(), "\"L1-N\"");
        assert_eq!(
            serde_json::to_string(&ReadingContext::SamplePeriodic).unwrap(),
            "\"Sample.Periodic\""
        );
    }
}
