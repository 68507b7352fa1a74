//! Haihe's domain types: identifiers, time and the normalized records every protocol maps into.
//!
//! Nothing here does IO. Protocol crates produce these types; the pipeline, store and API consume
//! them. Field names of the record types are the column names of DESIGN.md §4.

pub mod alarm;
pub mod alarm_flags;
mod charging;
mod fleet;
mod registry;
mod sample;
mod time;
mod vin;

pub use alarm::{Alarm, AlarmChangeKind, AlarmNotice, AlarmState};
pub use charging::{
    Charger, ChargingEvent, ChargingSession, ConnectorState, ConnectorStatus, OCPP_OPERATOR,
    Station,
};
pub use fleet::FleetReport;
pub use registry::VehicleInfo;
pub use sample::{Motor, VehicleSample, quality};
pub use time::{BEIJING_OFFSET_SECS, CivilTime, Timestamp};
pub use vin::{Vin, VinError};
