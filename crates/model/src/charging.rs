//! The one charging model both sources map into (DESIGN.md §4): stations and chargers (registry
//! entries), connector status changes (`connector_status`) and finished sessions
//! (`charging_sessions`).
//!
//! T/CEC 102 operators report stations, connector states and finished orders; the city's own OCPP
//! chargers report boots, status changes, transaction starts, meter values and stops. Both become
//! [`ChargingEvent`]s; the platform folds the session events into [`ChargingSession`] rows.
//!
//! Identifiers: `operator_id` is the T/CEC `OperatorID` (9 characters), or [`OCPP_OPERATOR`] for
//! chargers the city runs itself. For OCPP, `station_id` is the charger's site, `equipment_id` the
//! charge point id and `connector_id` `"{chargePointId}-{connectorId}"` (so it is unique within the
//! operator, as T/CEC connector ids are).

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// The operator id of chargers connected directly over OCPP.
pub const OCPP_OPERATOR: &str = "ocpp";

/// A connector's state, normalized across T/CEC 102 codes and both OCPP versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorState {
    /// The charger does not talk (T/CEC 0, or no OCPP connection).
    Offline,
    /// Free (T/CEC 1; OCPP `Available`).
    Available,
    /// A vehicle is plugged in but not charging (T/CEC 2; OCPP 1.6 `Preparing`, `Finishing`,
    /// `SuspendedEV`, `SuspendedEVSE`; 2.0.1 `Occupied` outside a charging transaction).
    Occupied,
    /// Charging (T/CEC 3; OCPP 1.6 `Charging`; 2.0.1 a transaction in `Charging` state).
    Charging,
    /// Reserved (T/CEC 4; OCPP `Reserved`).
    Reserved,
    /// Taken out of service (OCPP `Unavailable`).
    Unavailable,
    /// Faulted (T/CEC 255; OCPP `Faulted`).
    Faulted,
    /// A code outside every list (an operator's private state).
    Unknown,
}

impl ConnectorState {
    pub const ALL: [ConnectorState; 8] = [
        Self::Offline,
        Self::Available,
        Self::Occupied,
        Self::Charging,
        Self::Reserved,
        Self::Unavailable,
        Self::Faulted,
        Self::Unknown,
    ];

    /// The name stored in `connector_status.status` and used by `GET /api/v1/connectors?status=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Available => "available",
            Self::Occupied => "occupied",
            Self::Charging => "charging",
            Self::Reserved => "reserved",
            Self::Unavailable => "unavailable",
            Self::Faulted => "faulted",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Counts toward availability: the connector could serve a vehicle (or is serving one).
    pub fn is_in_service(self) -> bool {
        matches!(
            self,
            Self::Available | Self::Occupied | Self::Charging | Self::Reserved
        )
    }
}

impl std::fmt::Display for ConnectorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A station (T/CEC `StationInfo`) or an OCPP site: one row of the `stations` registry table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Station {
    pub operator_id: String,
    pub station_id: String,
    pub name: String,
    /// WGS-84 degrees (T/CEC sends GCJ-02 in practice; kept as sent, see the protocol notes).
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// Administrative district code or name (T/CEC `AreaCode`).
    pub district: Option<String>,
    /// Number of connectors.
    pub connectors: u32,
    /// Sum of the chargers' rated power.
    pub rated_power_kw: f64,
    /// `tcec` or `ocpp`.
    pub source: String,
}

/// A charger (T/CEC `EquipmentInfo`, OCPP charge point): counted toward the plan's chargers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charger {
    pub operator_id: String,
    pub station_id: String,
    pub equipment_id: String,
    pub power_kw: Option<f64>,
    /// Connector ids, as in `connector_status.connector_id`.
    pub connectors: Vec<String>,
    /// Commissioning date `YYYY-MM-DD` (T/CEC `ProductionDate`; for OCPP the first boot's day).
    pub commissioned: Option<String>,
    /// Vendor and model (T/CEC `ManufacturerName`/`EquipmentModel`; OCPP boot fields).
    pub model: Option<String>,
    pub source: String,
}

/// One row of `connector_status`: a connector's state as reported at `ts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorStatus {
    pub operator_id: String,
    pub station_id: String,
    pub equipment_id: String,
    pub connector_id: String,
    /// Device/peer time when it has one, else receive time.
    pub ts: Timestamp,
    pub received_at: Timestamp,
    pub status: ConnectorState,
    /// The code as sent (`3`, `Charging`, …), for audit.
    pub raw_status: String,
    /// `tcec`, `ocpp1.6` or `ocpp2.0.1`.
    pub source: String,
    pub power_kw: Option<f64>,
    pub soc_pct: Option<f64>,
}

/// One row of `charging_sessions`: a finished charging order or transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChargingSession {
    /// T/CEC `StartChargeSeq`; OCPP transaction id.
    pub session_id: String,
    pub operator_id: String,
    pub station_id: String,
    pub equipment_id: String,
    pub connector_id: String,
    pub start_ts: Timestamp,
    pub end_ts: Timestamp,
    pub received_at: Timestamp,
    pub energy_kwh: Option<f64>,
    /// CNY.
    pub fee_total: Option<f64>,
    pub stop_reason: Option<String>,
    /// OCPP id tag / T/CEC has none.
    pub id_tag: Option<String>,
    pub source: String,
}

/// What one stored charging message says, in the shared model. Session events of OCPP are
/// folded into [`ChargingSession`] rows by the platform, which remembers open sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ChargingEvent {
    Station(Station),
    Charger(Charger),
    Status(ConnectorStatus),
    /// A transaction began (OCPP). `meter_start_wh` is the connector's energy register.
    SessionStarted {
        session_id: String,
        operator_id: String,
        station_id: String,
        equipment_id: String,
        connector_id: String,
        start_ts: Timestamp,
        meter_start_wh: Option<f64>,
        id_tag: Option<String>,
        source: String,
    },
    /// A reading during a transaction or on a connector (OCPP MeterValues, TransactionEvent
    /// Updated).
    Meter {
        operator_id: String,
        connector_id: String,
        session_id: Option<String>,
        ts: Timestamp,
        energy_wh: Option<f64>,
        power_kw: Option<f64>,
        soc_pct: Option<f64>,
    },
    /// A transaction ended (OCPP). The start is remembered by the platform.
    SessionEnded {
        session_id: String,
        operator_id: String,
        end_ts: Timestamp,
        meter_stop_wh: Option<f64>,
        stop_reason: Option<String>,
    },
    /// A complete session (T/CEC `notification_charge_order_info`).
    Session(ChargingSession),
}
