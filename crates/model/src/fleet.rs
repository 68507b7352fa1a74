//! The normalized JT/T 808 location report: one row of the `fleet_reports` table (DESIGN.md §4).

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// One location report (0x0200, or one item of a 0x0704 batch) in physical units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetReport {
    /// The terminal's phone number as digits (leading zeros of the BCD field removed).
    pub terminal_id: String,
    /// The registry's VIN for the terminal, when it is registered.
    pub vin: Option<String>,
    /// Device time (the report's BCD time, Beijing time on the wire).
    pub ts: Timestamp,
    /// When the platform received the frame.
    pub received_at: Timestamp,
    /// `jt808-2011`, `jt808-2013` or `jt808-2019`.
    pub source: String,
    /// From a 0x0704 batch of type 1 (blind-area re-send): history, not live state.
    pub reissue: bool,
    /// Degrees, negative west (status bit 3).
    pub lon: f64,
    /// Degrees, negative south (status bit 2).
    pub lat: f64,
    pub speed_kmh: f64,
    pub heading_deg: f64,
    pub alt_m: f64,
    /// The 32 alarm flags as sent.
    pub alarm_bits: u32,
    /// The 32 status flags as sent.
    pub status_bits: u32,
    /// Status bit 0.
    pub acc_on: bool,
    /// Status bit 1: the fix is valid.
    pub position_valid: bool,
    /// Additional item 0x01.
    pub mileage_km: Option<f64>,
    /// Additional item 0x02.
    pub fuel_l: Option<f64>,
    /// Additional item 0x03 (the tachograph's speed).
    pub recorder_speed_kmh: Option<f64>,
}
