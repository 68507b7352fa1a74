//! Field types that keep the raw wire value and know its scale, offset, sentinels and names.
//!
//! Messages store exactly what was on the wire, so that encoding a decoded frame gives back the
//! same bytes (needed to forward frames to upper platforms unchanged and to check signatures).
//! The physical value is computed on demand: `(raw - OFF) / DIV`, in integer arithmetic until the
//! one final division, so `48` with `DIV = 10` prints as `4.8`, not `4.800000000000001`.

use std::fmt;

use model::{BEIJING_OFFSET_SECS, CivilTime, Timestamp};
use serde::{Serialize, Serializer};
use wire::{DecodeError, Reader, Writer};

/// Whether a field carries a number or one of the standard's two "no value" markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    Valid,
    /// 0xFE, 0xFFFE, 0xFFFFFFFE: the device saw an abnormal value.
    Abnormal,
    /// 0xFF, 0xFFFF, 0xFFFFFFFF: the device has no valid value.
    Invalid,
}

/// An unsigned big-endian integer of one field width.
pub trait RawInt: Copy + Eq + fmt::Debug {
    const WIDTH: usize;
    const ABNORMAL: Self;
    const INVALID: Self;
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self, DecodeError>;
    fn write(self, out: &mut Vec<u8>);
    fn to_i64(self) -> i64;
    /// From exactly `WIDTH` big-endian bytes.
    fn from_be(b: &[u8]) -> Self;
    /// `None` when the value does not fit the width.
    fn from_i64(v: i64) -> Option<Self>;
}

macro_rules! raw_int {
    ($t:ty, $w:expr, $read:ident, $put:ident) => {
        impl RawInt for $t {
            const WIDTH: usize = $w;
            const ABNORMAL: Self = <$t>::MAX - 1;
            const INVALID: Self = <$t>::MAX;
            fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self, DecodeError> {
                r.$read(field)
            }
            fn write(self, out: &mut Vec<u8>) {
                out.$put(self);
            }
            fn to_i64(self) -> i64 {
                i64::from(self)
            }
            fn from_be(b: &[u8]) -> Self {
                <$t>::from_be_bytes(b.try_into().expect("WIDTH bytes"))
            }
            fn from_i64(v: i64) -> Option<Self> {
                <$t>::try_from(v).ok()
            }
        }
    };
}
raw_int!(u8, 1, u8, put_u8);
raw_int!(u16, 2, u16, put_u16);
raw_int!(u32, 4, u32, put_u32);

/// A measured value: raw integer `T`, physical value `(raw - OFF) / DIV`. With `S = true` the two
/// top values of the width are the abnormal/invalid sentinels; fields for which the edition
/// defines no sentinel use `S = false` and always have a value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scaled<T, const OFF: i64, const DIV: u32, const S: bool = true>(pub T);

impl<T: RawInt, const OFF: i64, const DIV: u32, const S: bool> Scaled<T, OFF, DIV, S> {
    pub const ABNORMAL: Self = Self(T::ABNORMAL);
    pub const INVALID: Self = Self(T::INVALID);

    pub fn raw(self) -> T {
        self.0
    }

    pub fn quality(self) -> Quality {
        if S && self.0 == T::ABNORMAL {
            Quality::Abnormal
        } else if S && self.0 == T::INVALID {
            Quality::Invalid
        } else {
            Quality::Valid
        }
    }

    /// The physical value, `None` for a sentinel.
    pub fn get(self) -> Option<f64> {
        (self.quality() == Quality::Valid).then(|| (self.0.to_i64() - OFF) as f64 / f64::from(DIV))
    }

    /// The raw value for a physical value, rounded to the field's resolution and clamped to the
    /// range below the sentinels (what a sending device does with an out-of-range reading).
    pub fn from_value(v: f64) -> Self {
        let top = T::ABNORMAL.to_i64() - 1;
        let raw = ((v * f64::from(DIV)).round() as i64 + OFF).clamp(0, top);
        Self(T::from_i64(raw).expect("clamped into the width"))
    }

    pub(crate) fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self, DecodeError> {
        T::read(r, field).map(Self)
    }

    pub(crate) fn write(self, out: &mut Vec<u8>) {
        self.0.write(out);
    }
}

impl<T: RawInt, const OFF: i64, const DIV: u32, const S: bool> fmt::Debug
    for Scaled<T, OFF, DIV, S>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.quality() {
            Quality::Valid => write!(f, "{:?}={}", self.0, self.get().unwrap_or_default()),
            q => write!(f, "{:?}={q:?}", self.0),
        }
    }
}

impl<T: RawInt, const OFF: i64, const DIV: u32, const S: bool> Serialize
    for Scaled<T, OFF, DIV, S>
{
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        match self.quality() {
            Quality::Valid if DIV == 1 => s.serialize_i64(self.0.to_i64() - OFF),
            Quality::Valid => s.serialize_f64(self.get().unwrap_or_default()),
            Quality::Abnormal => s.serialize_str("abnormal"),
            Quality::Invalid => s.serialize_str("invalid"),
        }
    }
}

/// A plain count or number with the usual sentinels.
pub type Num8 = Scaled<u8, 0, 1>;
pub type Num16 = Scaled<u16, 0, 1>;
/// A temperature byte: raw − 40 °C.
pub type TempC = Scaled<u8, 40, 1>;
/// A cell voltage word: 0.001 V.
pub type CellV = Scaled<u16, 0, 1000>;

/// Defines a one-byte enumerated field: the raw byte, its standard names, and the sentinels.
macro_rules! code {
    ($(#[$m:meta])* $name:ident { $($val:literal => $text:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(test, derive(proptest_derive::Arbitrary))]
        pub struct $name(pub u8);

        impl $name {
            /// The standard's name of the value, `abnormal`/`invalid` for the sentinels, `None`
            /// for a value the standard does not define.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($val => Some($text),)*
                    0xFE => Some("abnormal"),
                    0xFF => Some("invalid"),
                    _ => None,
                }
            }

            /// The name when it is a real value (not a sentinel, not undefined).
            pub fn value_name(self) -> Option<&'static str> {
                match self.0 {
                    $($val => Some($text),)*
                    _ => None,
                }
            }

            pub fn is_sentinel(self) -> bool {
                self.0 >= 0xFE
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}(0x{:02X} {n})", stringify!($name), self.0),
                    None => write!(f, "{}(0x{:02X})", stringify!($name), self.0),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<Z: serde::Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
                match self.name() {
                    Some(n) => s.serialize_str(n),
                    None => s.serialize_u8(self.0),
                }
            }
        }
    };
}
pub(crate) use code;

code!(
    /// Vehicle state (整车状态).
    VehicleState { 0x01 => "started", 0x02 => "stopped", 0x03 => "other" }
);
code!(
    /// Charging state.
    ChargingState {
        0x01 => "parked_charging", 0x02 => "driving_charging", 0x03 => "not_charging",
        0x04 => "charge_complete",
    }
);
code!(
    /// Operating mode.
    RunMode { 0x01 => "ev", 0x02 => "hybrid", 0x03 => "fuel" }
);
code!(
    /// DC-DC converter state.
    DcdcState { 0x01 => "working", 0x02 => "off" }
);
code!(
    /// Drive motor state.
    MotorState { 0x01 => "consuming", 0x02 => "generating", 0x03 => "off", 0x04 => "ready" }
);
code!(
    /// Engine state (2016).
    EngineState { 0x01 => "on", 0x02 => "off" }
);
code!(
    /// Coordinate system of a 2025 position.
    CoordSystem { 0x01 => "wgs84", 0x02 => "gcj02", 0x03 => "other" }
);
code!(
    /// Data-unit encryption, also the key type of a key exchange.
    Encryption { 0x01 => "none", 0x02 => "rsa", 0x03 => "aes", 0x04 => "sm2", 0x05 => "sm4" }
);
code!(
    /// Signature algorithm (2025).
    SigAlgorithm { 0x01 => "sm2", 0x02 => "rsa", 0x03 => "ecc" }
);
code!(
    /// Activation result (2025, 0x0A).
    ActivationStatus { 0x01 => "activated", 0x02 => "failed" }
);
code!(
    /// Activation information code. The transcription of Table B.4 gives 0x00 success,
    /// 0x01 chip already activated, 0x02 VIN duplicate; rtm_con numbers them from 1. We name the
    /// transcription's values and print any other as its number.
    ActivationInfo { 0x00 => "success", 0x01 => "chip_already_activated", 0x02 => "vin_duplicate" }
);

/// The gear byte (Table A.1): bits 3–0 gear, bit 4 brake force, bit 5 drive force; in 2025 bit 7
/// set means the gear is invalid (2016 reserves it as 0, and we read a set bit the same way).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Gear(pub u8);

impl Gear {
    pub fn is_valid(self) -> bool {
        self.0 & 0x80 == 0
    }

    /// `N`, `1`…`12`, `R`, `D` or `P`.
    pub fn position(self) -> &'static str {
        const NAMES: [&str; 16] = [
            "N", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "R", "D", "P",
        ];
        NAMES[usize::from(self.0 & 0x0F)]
    }

    pub fn drive_force(self) -> bool {
        self.0 & 0x20 != 0
    }

    pub fn brake_force(self) -> bool {
        self.0 & 0x10 != 0
    }
}

impl fmt::Debug for Gear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gear(0x{:02X} {})", self.0, self.position())
    }
}

impl Serialize for Gear {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("position", self.position())?;
        m.serialize_entry("drive_force", &self.drive_force())?;
        m.serialize_entry("brake_force", &self.brake_force())?;
        m.serialize_entry("valid", &self.is_valid())?;
        m.end()
    }
}

/// Brake pedal (2016 Annex B): 0–100 % travel, 101 = brake on without a travel value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Brake(pub u8);

impl Serialize for Brake {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        match self.0 {
            0..=100 => s.serialize_u8(self.0),
            101 => s.serialize_str("on"),
            0xFE => s.serialize_str("abnormal"),
            0xFF => s.serialize_str("invalid"),
            other => s.serialize_u8(other),
        }
    }
}

/// A fixed-width text field, kept byte for byte; shown trimmed of NUL and space padding.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedStr<const N: usize>(pub [u8; N]);

impl<const N: usize> FixedStr<N> {
    /// Pads with NULs (or truncates) to the field width.
    pub fn new(text: &str) -> Self {
        let mut b = [0u8; N];
        let n = text.len().min(N);
        b[..n].copy_from_slice(&text.as_bytes()[..n]);
        Self(b)
    }

    pub fn text(&self) -> String {
        text_of(&self.0)
    }
}

/// Text of a padded field: NUL and space padding trimmed, invalid UTF-8 replaced.
pub(crate) fn text_of(bytes: &[u8]) -> String {
    let pad = |b: &u8| *b == 0 || *b == b' ';
    let start = bytes.iter().position(|b| !pad(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !pad(b)).map_or(start, |i| i + 1);
    String::from_utf8_lossy(&bytes[start..end]).into_owned()
}

impl<const N: usize> fmt::Debug for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text())
    }
}

impl<const N: usize> Serialize for FixedStr<N> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        s.serialize_str(&self.text())
    }
}

/// Serializes bytes as upper-case hex (keys, signatures, vendor data).
pub(crate) fn hex_bytes<Z: Serializer>(bytes: &[u8], s: Z) -> Result<Z::Ok, Z::Error> {
    s.collect_str(&HexDisplay(bytes))
}

/// Serializes bytes as text (variable-length text fields).
pub(crate) fn text_bytes<Z: Serializer>(bytes: &[u8], s: Z) -> Result<Z::Ok, Z::Error> {
    s.serialize_str(&text_of(bytes))
}

pub(crate) struct HexDisplay<'a>(pub &'a [u8]);

impl fmt::Display for HexDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// The 6-byte binary time YY MM DD hh mm ss (not BCD), Beijing time, year 2000 + YY.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Time(pub [u8; 6]);

impl Time {
    pub fn civil(self) -> CivilTime {
        let [y, mo, d, h, mi, s] = self.0;
        CivilTime {
            year: 2000 + i32::from(y),
            month: mo,
            day: d,
            hour: h,
            minute: mi,
            second: s,
        }
    }

    /// The instant, `None` when the bytes are not a real date.
    pub fn timestamp(self) -> Option<Timestamp> {
        self.civil().to_timestamp(BEIJING_OFFSET_SECS)
    }

    /// The wire time of an instant (years 2000–2255 are representable; others clamp).
    pub fn from_timestamp(ts: Timestamp) -> Self {
        let c = ts.to_civil(BEIJING_OFFSET_SECS);
        let y = (c.year - 2000).clamp(0, 255) as u8;
        Self([y, c.month, c.day, c.hour, c.minute, c.second])
    }

    pub(crate) fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self, DecodeError> {
        r.array(field).map(Self)
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.timestamp() {
            Some(ts) => write!(f, "Time({ts})"),
            None => write!(f, "Time(invalid {})", HexDisplay(&self.0)),
        }
    }
}

impl Serialize for Time {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        match self.timestamp() {
            Some(ts) => s.collect_str(&ts),
            None => s.collect_str(&format_args!("invalid {}", HexDisplay(&self.0))),
        }
    }
}

/// A counted list whose count field may itself be a sentinel, in which case no items follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum List<T> {
    Items(Vec<T>),
    Abnormal,
    Invalid,
}

impl<T> List<T> {
    pub fn items(&self) -> &[T] {
        match self {
            Self::Items(v) => v,
            _ => &[],
        }
    }

    pub fn is_sentinel(&self) -> bool {
        !matches!(self, Self::Items(_))
    }

    /// Reads a count of width `C` and then that many items, each at least `min_item` bytes long
    /// (checked against the bytes present before anything is allocated).
    pub(crate) fn read<C: RawInt>(
        r: &mut Reader<'_>,
        count_field: &'static str,
        min_item: usize,
        mut item: impl FnMut(&mut Reader<'_>) -> Result<T, DecodeError>,
    ) -> Result<Self, DecodeError> {
        let count = C::read(r, count_field)?;
        if count == C::ABNORMAL {
            return Ok(Self::Abnormal);
        }
        if count == C::INVALID {
            return Ok(Self::Invalid);
        }
        let n = count.to_i64() as usize;
        r.expect_items(n, min_item, count_field)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(item(r)?);
        }
        Ok(Self::Items(v))
    }

    pub(crate) fn write<C: RawInt>(
        &self,
        out: &mut Vec<u8>,
        what: &'static str,
        mut item: impl FnMut(&T, &mut Vec<u8>) -> Result<(), crate::EncodeError>,
    ) -> Result<(), crate::EncodeError> {
        match self {
            Self::Abnormal => C::ABNORMAL.write(out),
            Self::Invalid => C::INVALID.write(out),
            Self::Items(v) => {
                // A list as long as a sentinel would be read back as the sentinel.
                let count = i64::try_from(v.len())
                    .ok()
                    .filter(|&n| n < C::ABNORMAL.to_i64());
                let count = count
                    .and_then(C::from_i64)
                    .ok_or(crate::EncodeError::TooMany {
                        what,
                        count: v.len(),
                    })?;
                count.write(out);
                for x in v {
                    item(x, out)?;
                }
            }
        }
        Ok(())
    }
}

impl<T: RawInt, const OFF: i64, const DIV: u32, const S: bool> List<Scaled<T, OFF, DIV, S>> {
    /// Reads a count of width `C` and that many values in one bounds check: the hot path of
    /// every report (cell voltages and probe temperatures are most of its bytes).
    pub(crate) fn read_values<C: RawInt>(
        r: &mut Reader<'_>,
        count_field: &'static str,
        items_field: &'static str,
    ) -> Result<Self, DecodeError> {
        let count = C::read(r, count_field)?;
        if count == C::ABNORMAL {
            return Ok(Self::Abnormal);
        }
        if count == C::INVALID {
            return Ok(Self::Invalid);
        }
        let bytes = r.bytes(count.to_i64() as usize * T::WIDTH, items_field)?;
        Ok(Self::Items(
            bytes
                .chunks_exact(T::WIDTH)
                .map(|c| Scaled(T::from_be(c)))
                .collect(),
        ))
    }
}

impl<T: Serialize> Serialize for List<T> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        match self {
            Self::Items(v) => v.serialize(s),
            Self::Abnormal => s.serialize_str("abnormal"),
            Self::Invalid => s.serialize_str("invalid"),
        }
    }
}

#[cfg(test)]
pub(crate) mod arb {
    //! proptest strategies for the field types (the derive covers the structs built from them).
    use proptest::prelude::*;

    use super::*;

    impl<T, const OFF: i64, const DIV: u32, const S: bool> Arbitrary for Scaled<T, OFF, DIV, S>
    where
        T: RawInt + Arbitrary + 'static,
    {
        type Parameters = ();
        type Strategy = BoxedStrategy<Self>;
        fn arbitrary_with((): ()) -> Self::Strategy {
            // Sentinels often, so that their round trip is exercised.
            prop_oneof![
                1 => Just(Self(T::ABNORMAL)),
                1 => Just(Self(T::INVALID)),
                8 => any::<T>().prop_map(Self),
            ]
            .boxed()
        }
    }

    impl<const N: usize> Arbitrary for FixedStr<N> {
        type Parameters = ();
        type Strategy = BoxedStrategy<Self>;
        fn arbitrary_with((): ()) -> Self::Strategy {
            proptest::collection::vec(any::<u8>(), N)
                .prop_map(|v| Self(v.try_into().expect("N bytes")))
                .boxed()
        }
    }

    impl Arbitrary for Time {
        type Parameters = ();
        type Strategy = BoxedStrategy<Self>;
        fn arbitrary_with((): ()) -> Self::Strategy {
            any::<[u8; 6]>().prop_map(Self).boxed()
        }
    }

    /// Lists of up to `max` items, with the two sentinel forms.
    pub(crate) fn list<T: std::fmt::Debug + Clone + 'static>(
        item: impl Strategy<Value = T> + 'static,
        max: usize,
    ) -> BoxedStrategy<List<T>> {
        prop_oneof![
            1 => Just(List::Abnormal),
            1 => Just(List::Invalid),
            8 => proptest::collection::vec(item, 0..=max).prop_map(List::Items),
        ]
        .boxed()
    }

    pub(crate) fn bytes(max: usize) -> BoxedStrategy<Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..=max).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_is_exact_in_decimal() {
        assert_eq!(Scaled::<u16, 0, 10>(48).get(), Some(4.8));
        assert_eq!(Scaled::<u16, 10000, 10>(10025).get(), Some(2.5));
        assert_eq!(Scaled::<u16, 0, 1000>(3282).get(), Some(3.282));
        assert_eq!(Scaled::<u32, 200_000, 10>(199_995).get(), Some(-0.5));
        assert_eq!(
            serde_json::to_string(&Scaled::<u16, 0, 10>(48)).unwrap(),
            "4.8"
        );
        assert_eq!(
            serde_json::to_string(&Scaled::<u8, 40, 1>(0x54)).unwrap(),
            "44"
        );
    }

    #[test]
    fn only_the_exact_width_sentinel_is_no_value() {
        assert_eq!(Scaled::<u16, 0, 1>(0xFFFE).quality(), Quality::Abnormal);
        assert_eq!(Scaled::<u16, 0, 1>(0xFFFF).get(), None);
        assert_eq!(Scaled::<u16, 0, 1>(0xFEFE).get(), Some(65278.0));
        assert_eq!(Scaled::<u8, 0, 1>(0xFE).quality(), Quality::Abnormal);
        assert_eq!(Scaled::<u16, 0, 1, false>(0xFFFF).get(), Some(65535.0));
        assert_eq!(
            serde_json::to_string(&Scaled::<u32, 0, 10>(u32::MAX)).unwrap(),
            "\"invalid\""
        );
    }

    #[test]
    fn from_value_rounds_and_clamps_below_sentinels() {
        assert_eq!(Scaled::<u16, 10000, 10>::from_value(-12.34).0, 9877);
        assert_eq!(Scaled::<u8, 40, 1>::from_value(500.0).0, 0xFD);
        assert_eq!(Scaled::<u8, 40, 1>::from_value(-100.0).0, 0);
    }

    #[test]
    fn time_is_binary_beijing_time() {
        let t = Time([0x1A, 0x07, 0x07, 0x06, 0x37, 0x0F]);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2026-07-07T06:55:15+08:00\""
        );
        assert_eq!(Time::from_timestamp(t.timestamp().unwrap()), t);
        let bad = Time([0x1A, 0x00, 0x07, 0x06, 0x37, 0x0F]);
        assert_eq!(bad.timestamp(), None);
        assert_eq!(
            serde_json::to_string(&bad).unwrap(),
            "\"invalid 1A000706370F\""
        );
    }

    #[test]
    fn gear_byte_decodes_all_parts() {
        let g = Gear(0x1E);
        assert_eq!(
            (g.position(), g.brake_force(), g.drive_force(), g.is_valid()),
            ("D", true, false, true)
        );
        assert!(!Gear(0x8F).is_valid());
        assert_eq!(Gear(0x06).position(), "6");
    }
}
