//! Registry entries: what the platform knows about a vehicle besides its data.

use serde::{Deserialize, Serialize};

/// One row of the `vehicles` table (DESIGN.md §4) and one item of `POST /api/v1/vehicles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VehicleInfo {
    pub vin: String,
    /// JT/T 808 terminal phone number (digits), when the vehicle has one.
    #[serde(default)]
    pub terminal_id: Option<String>,
    #[serde(default)]
    pub plate: Option<String>,
    /// `private`, `taxi`, `bus`, `sanitation`, `logistics`, `postal`, `heavy_truck`, `test`, …
    #[serde(default)]
    pub category: Option<String>,
    /// `bev`, `phev`, `fcev`, `methanol_hybrid`, `ice`.
    #[serde(default)]
    pub powertrain: Option<String>,
    /// The organisation the vehicle belongs to (its carmaker platform or fleet).
    #[serde(default)]
    pub owner_org: Option<String>,
}
