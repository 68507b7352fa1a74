//! Reading and writing fixed-layout structures: one trait for every field type, one macro that
//! turns a field list into a struct with its decoder and encoder, so the layout is written once.

use wire::{DecodeError, Reader, Writer};

use crate::value::{Brake, FixedStr, Gear, RawInt, Scaled, Time};

/// A field with a fixed wire width.
pub(crate) trait Field: Sized {
    const WIDTH: usize;
    fn read_field(r: &mut Reader<'_>, name: &'static str) -> Result<Self, DecodeError>;
    fn write_field(&self, out: &mut Vec<u8>);
}

impl<T: RawInt, const OFF: i64, const DIV: u32, const S: bool> Field for Scaled<T, OFF, DIV, S> {
    const WIDTH: usize = T::WIDTH;
    fn read_field(r: &mut Reader<'_>, name: &'static str) -> Result<Self, DecodeError> {
        Self::read(r, name)
    }
    fn write_field(&self, out: &mut Vec<u8>) {
        self.write(out);
    }
}

macro_rules! byte_field {
    ($($t:ty),*) => {$(
        impl Field for $t {
            const WIDTH: usize = 1;
            fn read_field(r: &mut Reader<'_>, name: &'static str) -> Result<Self, DecodeError> {
                r.u8(name).map(Self)
            }
            fn write_field(&self, out: &mut Vec<u8>) {
                out.put_u8(self.0);
            }
        }
    )*};
}
byte_field!(Gear, Brake);
byte_field!(
    crate::value::VehicleState,
    crate::value::ChargingState,
    crate::value::RunMode,
    crate::value::DcdcState,
    crate::value::MotorState,
    crate::value::EngineState,
    crate::value::CoordSystem,
    crate::value::Encryption,
    crate::value::SigAlgorithm,
    crate::value::ActivationStatus,
    crate::value::ActivationInfo
);

impl Field for u8 {
    const WIDTH: usize = 1;
    fn read_field(r: &mut Reader<'_>, name: &'static str) -> Result<Self, DecodeError> {
        r.u8(name)
    }
    fn write_field(&self, out: &mut Vec<u8>) {
        out.put_u8(*self);
    }
}

impl Field for u16 {
    const WIDTH: usize = 2;
    fn read_field(r: &mut Reader<'_>, name: &'static str) -> Result<Self, DecodeError> {
        r.u16(name)
    }
    fn write_field(&self, out: &mut Vec<u8>) {
        out.put_u16(*self);
    }
}

impl Field for u32 {
    const WIDTH: usize = 4;
    fn read_field(r: &mut Reader<'_>, name: &'static str) -> Result<Self, DecodeError> {
        r.u32(name)
    }
    fn write_field(&self, out: &mut Vec<u8>) {
        out.put_u32(*self);
    }
}

impl<const N: usize> Field for FixedStr<N> {
    const WIDTH: usize = N;
    fn read_field(r: &mut Reader<'_>, name: &'static str) -> Result<Self, DecodeError> {
        r.array(name).map(Self)
    }
    fn write_field(&self, out: &mut Vec<u8>) {
        out.put_slice(&self.0);
    }
}

impl Field for Time {
    const WIDTH: usize = 6;
    fn read_field(r: &mut Reader<'_>, name: &'static str) -> Result<Self, DecodeError> {
        Self::read(r, name)
    }
    fn write_field(&self, out: &mut Vec<u8>) {
        out.put_slice(&self.0);
    }
}

/// `fixed! { "label" /// doc \n pub struct Name { field: Type, … } }` defines the struct (Debug,
/// Clone, PartialEq, Serialize, and Arbitrary in tests) with `read`, `write` and `SIZE`. Error
/// messages name fields as `label.field`.
macro_rules! fixed {
    ($label:literal $(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* $f:ident : $t:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize)]
        #[cfg_attr(test, derive(proptest_derive::Arbitrary))]
        pub struct $name {
            $($(#[$fm])* pub $f: $t,)*
        }

        impl $name {
            /// Bytes on the wire.
            pub const SIZE: usize = 0 $(+ <$t as $crate::layout::Field>::WIDTH)*;

            pub(crate) fn read(r: &mut wire::Reader<'_>) -> Result<Self, wire::DecodeError> {
                // One bounds check for the whole structure names where it starts.
                r.expect_items(1, Self::SIZE, $label)?;
                Ok(Self {
                    $($f: <$t as $crate::layout::Field>::read_field(r, concat!($label, ".", stringify!($f)))?,)*
                })
            }

            pub(crate) fn write(&self, out: &mut Vec<u8>) {
                $($crate::layout::Field::write_field(&self.$f, out);)*
            }
        }
    };
}
pub(crate) use fixed;
