//! The payloads inside `Data` (T/CEC 102.2 public information, 102.3 business, 102.4 token).
//!
//! Decoding is tolerant of what real operators send — the spelling variants the standard
//! itself spreads (`SevicePrice`/`ServicePrice`, `ElecMoney`/`ElectMoney`, `SumPeriod`/
//! `SubPeriod`, …) as serde aliases, numbers sent as strings, ids sent as numbers, lists sent
//! as a string — and of missing optional fields. Encoding is strict: the 2016 spelling,
//! numbers as numbers, absent fields left out.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codes::{
    ConfirmResult, ConnectorStatus, ConnectorType, Construction, EquipmentType, LockStatus,
    NationalStandard, NotificationStatus, ParkStatus, StartChargeSeqStat, StationStatus,
    StationType, StopReason, SuccStat, TokenFailReason,
};
use crate::error::Error;
use crate::lenient;

/// Reads a decrypted payload; errors carry the line and column in the plaintext.
pub fn decode_json<T: DeserializeOwned>(plaintext: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(plaintext).map_err(|e| Error::json(&e))
}

/// Writes a payload in the strict form, ready for [`crate::Request::seal`].
pub fn encode_json<T: Serialize>(payload: &T) -> Vec<u8> {
    // The models hold only strings, numbers and lists of them: serialization cannot fail.
    serde_json::to_vec(payload).unwrap_or_else(|_| unreachable!("models always serialize"))
}

/// `query_token` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryTokenRequest {
    #[serde(rename = "OperatorID", deserialize_with = "lenient::text")]
    pub operator_id: String,
    #[serde(rename = "OperatorSecret", deserialize_with = "lenient::text")]
    pub operator_secret: String,
}

/// `query_token` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryTokenResponse {
    #[serde(rename = "OperatorID", deserialize_with = "lenient::text")]
    pub operator_id: String,
    #[serde(rename = "SuccStat")]
    pub succ_stat: SuccStat,
    #[serde(
        rename = "AccessToken",
        default,
        deserialize_with = "lenient::text_or_empty"
    )]
    pub access_token: String,
    /// Seconds the token stays valid.
    #[serde(
        rename = "TokenAvailableTime",
        default,
        deserialize_with = "lenient::opt_int"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_available_time: Option<u32>,
    #[serde(
        rename = "FailReason",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fail_reason: Option<TokenFailReason>,
}

/// `ConnectorInfo`: one charging connector (gun) of an equipment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorInfo {
    #[serde(rename = "ConnectorID", deserialize_with = "lenient::text")]
    pub connector_id: String,
    #[serde(
        rename = "ConnectorName",
        default,
        deserialize_with = "lenient::opt_text"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_name: Option<String>,
    #[serde(
        rename = "ConnectorType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub connector_type: Option<ConnectorType>,
    /// Volts.
    #[serde(
        rename = "VoltageUpperLimits",
        default,
        deserialize_with = "lenient::opt_f64"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voltage_upper_limits: Option<f64>,
    /// Volts.
    #[serde(
        rename = "VoltageLowerLimits",
        default,
        deserialize_with = "lenient::opt_f64"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voltage_lower_limits: Option<f64>,
    /// Amperes.
    #[serde(rename = "Current", default, deserialize_with = "lenient::opt_f64")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<f64>,
    /// Kilowatts.
    #[serde(rename = "Power", default, deserialize_with = "lenient::opt_f64")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power: Option<f64>,
    #[serde(rename = "ParkNo", default, deserialize_with = "lenient::opt_text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub park_no: Option<String>,
    #[serde(
        rename = "NationalStandard",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub national_standard: Option<NationalStandard>,
}

/// `EquipmentInfo`: one charger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EquipmentInfo {
    #[serde(rename = "EquipmentID", deserialize_with = "lenient::text")]
    pub equipment_id: String,
    #[serde(
        rename = "ManufacturerID",
        default,
        deserialize_with = "lenient::opt_text"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer_id: Option<String>,
    #[serde(
        rename = "ManufacturerName",
        default,
        deserialize_with = "lenient::opt_text"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer_name: Option<String>,
    #[serde(
        rename = "EquipmentModel",
        default,
        deserialize_with = "lenient::opt_text"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equipment_model: Option<String>,
    /// `yyyy-MM-dd`.
    #[serde(
        rename = "ProductionDate",
        default,
        deserialize_with = "lenient::opt_text"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production_date: Option<String>,
    #[serde(
        rename = "EquipmentType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub equipment_type: Option<EquipmentType>,
    #[serde(
        rename = "ConnectorInfos",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub connector_infos: Vec<ConnectorInfo>,
    #[serde(
        rename = "EquipmentLng",
        default,
        deserialize_with = "lenient::opt_f64"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equipment_lng: Option<f64>,
    #[serde(
        rename = "EquipmentLat",
        default,
        deserialize_with = "lenient::opt_f64"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equipment_lat: Option<f64>,
    /// Kilowatts.
    #[serde(rename = "Power", default, deserialize_with = "lenient::opt_f64")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power: Option<f64>,
    #[serde(
        rename = "EquipmentName",
        default,
        deserialize_with = "lenient::opt_text"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equipment_name: Option<String>,
}

/// `StationInfo`: one charging station with its equipment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StationInfo {
    #[serde(rename = "StationID", deserialize_with = "lenient::text")]
    pub station_id: String,
    #[serde(rename = "OperatorID", default, deserialize_with = "lenient::opt_text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<String>,
    #[serde(
        rename = "EquipmentOwnerID",
        default,
        deserialize_with = "lenient::opt_text"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equipment_owner_id: Option<String>,
    #[serde(
        rename = "StationName",
        default,
        deserialize_with = "lenient::opt_text"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub station_name: Option<String>,
    #[serde(
        rename = "CountryCode",
        default,
        deserialize_with = "lenient::opt_text"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// GB/T 2260 administrative division code.
    #[serde(rename = "AreaCode", default, deserialize_with = "lenient::opt_text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_code: Option<String>,
    #[serde(rename = "Address", default, deserialize_with = "lenient::opt_text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(rename = "StationTel", default, deserialize_with = "lenient::opt_text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub station_tel: Option<String>,
    #[serde(rename = "ServiceTel", default, deserialize_with = "lenient::opt_text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tel: Option<String>,
    #[serde(
        rename = "StationType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub station_type: Option<StationType>,
    #[serde(
        rename = "StationStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub station_status: Option<StationStatus>,
    /// 0 means unknown.
    #[serde(rename = "ParkNums", default, deserialize_with = "lenient::opt_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub park_nums: Option<u32>,
    /// GCJ-02 longitude.
    #[serde(rename = "StationLng", default, deserialize_with = "lenient::opt_f64")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub station_lng: Option<f64>,
    /// GCJ-02 latitude.
    #[serde(rename = "StationLat", default, deserialize_with = "lenient::opt_f64")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub station_lat: Option<f64>,
    #[serde(rename = "SiteGuide", default, deserialize_with = "lenient::opt_text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_guide: Option<String>,
    #[serde(
        rename = "Construction",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub construction: Option<Construction>,
    #[serde(
        rename = "Pictures",
        default,
        deserialize_with = "lenient::string_list"
    )]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pictures: Vec<String>,
    #[serde(rename = "MatchCars", default, deserialize_with = "lenient::opt_text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_cars: Option<String>,
    #[serde(rename = "ParkInfo", default, deserialize_with = "lenient::opt_text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub park_info: Option<String>,
    #[serde(rename = "BusineHours", alias = "BusinessHours", default)]
    #[serde(
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub busine_hours: Option<String>,
    #[serde(
        rename = "ElectricityFee",
        default,
        deserialize_with = "lenient::opt_text"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub electricity_fee: Option<String>,
    #[serde(rename = "ServiceFee", default, deserialize_with = "lenient::opt_text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_fee: Option<String>,
    #[serde(rename = "ParkFee", default, deserialize_with = "lenient::opt_text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub park_fee: Option<String>,
    #[serde(rename = "Payment", default, deserialize_with = "lenient::opt_text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<String>,
    /// 0 no, 1 yes.
    #[serde(
        rename = "SupportOrder",
        default,
        deserialize_with = "lenient::opt_int"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_order: Option<u8>,
    #[serde(rename = "Remark", default, deserialize_with = "lenient::opt_text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// 1 self-operated, 2 operated on behalf (Shanghai/cpmt; the standard's texts spell it
    /// `OpratorType`).
    #[serde(rename = "OpratorType", alias = "OperatorType", default)]
    #[serde(
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub oprator_type: Option<u8>,
    #[serde(
        rename = "EquipmentInfos",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub equipment_infos: Vec<EquipmentInfo>,
}

/// `ConnectorStatusInfo`: the live state of one connector, with the supervision additions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorStatusInfo {
    #[serde(rename = "ConnectorID", alias = "connectorID")]
    #[serde(deserialize_with = "lenient::text")]
    pub connector_id: String,
    #[serde(rename = "EquipmentID", alias = "equipmentID", default)]
    #[serde(
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub equipment_id: Option<String>,
    #[serde(rename = "Status", alias = "status")]
    pub status: ConnectorStatus,
    #[serde(rename = "ParkStatus", alias = "parkStatus", default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub park_status: Option<ParkStatus>,
    #[serde(rename = "LockStatus", alias = "lockStatus", default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_status: Option<LockStatus>,
    #[serde(rename = "CurrentA", alias = "currentA", default)]
    #[serde(
        deserialize_with = "lenient::opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub current_a: Option<f64>,
    #[serde(rename = "CurrentB", alias = "currentB", default)]
    #[serde(
        deserialize_with = "lenient::opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub current_b: Option<f64>,
    #[serde(rename = "CurrentC", alias = "currentC", default)]
    #[serde(
        deserialize_with = "lenient::opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub current_c: Option<f64>,
    #[serde(rename = "VoltageA", alias = "voltageA", default)]
    #[serde(
        deserialize_with = "lenient::opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub voltage_a: Option<f64>,
    #[serde(rename = "VoltageB", alias = "voltageB", default)]
    #[serde(
        deserialize_with = "lenient::opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub voltage_b: Option<f64>,
    #[serde(rename = "VoltageC", alias = "voltageC", default)]
    #[serde(
        deserialize_with = "lenient::opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub voltage_c: Option<f64>,
    /// Percent.
    #[serde(rename = "SOC", alias = "Soc", alias = "soc", default)]
    #[serde(
        deserialize_with = "lenient::opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub soc: Option<f64>,
}

/// `notification_stationStatus` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationStationStatus {
    #[serde(rename = "ConnectorStatusInfo")]
    pub connector_status_info: ConnectorStatusInfo,
}

/// The response of `notification_stationStatus` and `notification_stationInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationResponse {
    #[serde(rename = "Status")]
    pub status: NotificationStatus,
}

/// `query_stations_info` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryStationsInfoRequest {
    /// `yyyy-MM-dd HH:mm:ss`; absent or empty asks for everything.
    #[serde(
        rename = "LastQueryTime",
        default,
        deserialize_with = "lenient::opt_text"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_query_time: Option<String>,
    /// From 1; absent means 1.
    #[serde(rename = "PageNo", default, deserialize_with = "lenient::opt_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_no: Option<u32>,
    /// Absent means 10.
    #[serde(rename = "PageSize", default, deserialize_with = "lenient::opt_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
}

impl QueryStationsInfoRequest {
    /// The page asked for, with the standard's defaults (page 1 of 10).
    pub fn page(&self) -> (u32, u32) {
        (
            self.page_no.filter(|&n| n > 0).unwrap_or(1),
            self.page_size.filter(|&n| n > 0).unwrap_or(10),
        )
    }
}

/// `query_stations_info` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryStationsInfoResponse {
    #[serde(rename = "PageNo", deserialize_with = "lenient::int")]
    pub page_no: u32,
    #[serde(rename = "PageCount", deserialize_with = "lenient::int")]
    pub page_count: u32,
    #[serde(rename = "ItemSize", deserialize_with = "lenient::int")]
    pub item_size: u32,
    #[serde(rename = "StationInfos", default)]
    pub station_infos: Vec<StationInfo>,
}

/// `query_station_status` request: at most 50 stations per call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryStationStatusRequest {
    #[serde(rename = "StationIDs", deserialize_with = "lenient::string_list")]
    pub station_ids: Vec<String>,
}

/// One station's connectors in a `query_station_status` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StationStatusInfo {
    #[serde(
        rename = "StationID",
        alias = "stationID",
        deserialize_with = "lenient::text"
    )]
    pub station_id: String,
    #[serde(
        rename = "ConnectorStatusInfos",
        alias = "connectorStatusInfos",
        default
    )]
    pub connector_status_infos: Vec<ConnectorStatusInfo>,
}

/// `query_station_status` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryStationStatusResponse {
    #[serde(rename = "Total", alias = "total", deserialize_with = "lenient::int")]
    pub total: u32,
    #[serde(rename = "StationStatusInfos", alias = "stationStatusInfos", default)]
    pub station_status_infos: Vec<StationStatusInfo>,
}

/// `query_station_stats` request; dates are `yyyy-MM-dd`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryStationStatsRequest {
    #[serde(rename = "StationID", deserialize_with = "lenient::text")]
    pub station_id: String,
    #[serde(rename = "StartTime", deserialize_with = "lenient::text")]
    pub start_time: String,
    #[serde(rename = "EndTime", deserialize_with = "lenient::text")]
    pub end_time: String,
}

/// Energy of one connector in a statistics period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorStatsInfo {
    #[serde(rename = "ConnectorID", deserialize_with = "lenient::text")]
    pub connector_id: String,
    /// kWh.
    #[serde(
        rename = "ConnectorElectricity",
        default,
        deserialize_with = "lenient::opt_f64"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_electricity: Option<f64>,
}

/// Energy of one equipment in a statistics period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EquipmentStatsInfo {
    #[serde(rename = "EquipmentID", deserialize_with = "lenient::text")]
    pub equipment_id: String,
    /// kWh.
    #[serde(
        rename = "EquipmentElectricity",
        default,
        deserialize_with = "lenient::opt_f64"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equipment_electricity: Option<f64>,
    #[serde(
        rename = "ConnectorStatsInfos",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub connector_stats_infos: Vec<ConnectorStatsInfo>,
}

/// `StationStats`: energy of one station in a statistics period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StationStats {
    #[serde(rename = "StationID", deserialize_with = "lenient::text")]
    pub station_id: String,
    #[serde(rename = "StartTime", default, deserialize_with = "lenient::opt_text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(rename = "EndTime", default, deserialize_with = "lenient::opt_text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// kWh.
    #[serde(
        rename = "StationElectricity",
        default,
        deserialize_with = "lenient::opt_f64"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub station_electricity: Option<f64>,
    #[serde(
        rename = "EquipmentStatsInfos",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub equipment_stats_infos: Vec<EquipmentStatsInfo>,
}

/// `query_station_stats` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryStationStatsResponse {
    #[serde(rename = "StationStats")]
    pub station_stats: StationStats,
}

/// One time-of-use period of a charge (`ChargeDetails[]`). Money in CNY, energy in kWh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChargeDetail {
    #[serde(rename = "DetailStartTime", deserialize_with = "lenient::text")]
    pub detail_start_time: String,
    #[serde(rename = "DetailEndTime", deserialize_with = "lenient::text")]
    pub detail_end_time: String,
    #[serde(rename = "ElecPrice", default, deserialize_with = "lenient::opt_f64")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elec_price: Option<f64>,
    /// The 2016 text spells it `SevicePrice`; Didi and others send `ServicePrice`.
    #[serde(rename = "SevicePrice", alias = "ServicePrice", default)]
    #[serde(
        deserialize_with = "lenient::opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub sevice_price: Option<f64>,
    #[serde(rename = "DetailPower", default, deserialize_with = "lenient::opt_f64")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail_power: Option<f64>,
    #[serde(rename = "DetailElecMoney", alias = "DetailElectMoney", default)]
    #[serde(
        deserialize_with = "lenient::opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub detail_elec_money: Option<f64>,
    #[serde(rename = "DetailSeviceMoney", alias = "DetailServiceMoney", default)]
    #[serde(
        deserialize_with = "lenient::opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub detail_sevice_money: Option<f64>,
}

/// `ChargeOrderInfo`: the `notification_charge_order_info` request. Times are
/// `yyyy-MM-dd HH:mm:ss` Beijing time; money in CNY, energy in kWh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChargeOrderInfo {
    #[serde(rename = "StartChargeSeq", deserialize_with = "lenient::text")]
    pub start_charge_seq: String,
    #[serde(rename = "ConnectorID", deserialize_with = "lenient::text")]
    pub connector_id: String,
    #[serde(rename = "StartTime", deserialize_with = "lenient::text")]
    pub start_time: String,
    #[serde(rename = "EndTime", deserialize_with = "lenient::text")]
    pub end_time: String,
    #[serde(rename = "TotalPower", default, deserialize_with = "lenient::opt_f64")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_power: Option<f64>,
    #[serde(rename = "TotalElecMoney", alias = "TotalElectMoney", default)]
    #[serde(
        deserialize_with = "lenient::opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_elec_money: Option<f64>,
    #[serde(rename = "TotalSeviceMoney", alias = "TotalServiceMoney", default)]
    #[serde(
        deserialize_with = "lenient::opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_sevice_money: Option<f64>,
    #[serde(rename = "TotalMoney", default, deserialize_with = "lenient::opt_f64")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_money: Option<f64>,
    #[serde(
        rename = "StopReason",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_reason: Option<StopReason>,
    /// Number of `ChargeDetails` (0–32); some operators spell it `SubPeriod`.
    #[serde(rename = "SumPeriod", alias = "SubPeriod", default)]
    #[serde(
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub sum_period: Option<u8>,
    #[serde(
        rename = "ChargeDetails",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub charge_details: Vec<ChargeDetail>,
}

/// `notification_charge_order_info` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChargeOrderInfoResponse {
    #[serde(rename = "StartChargeSeq", deserialize_with = "lenient::text")]
    pub start_charge_seq: String,
    #[serde(rename = "ConnectorID", deserialize_with = "lenient::text")]
    pub connector_id: String,
    #[serde(rename = "ConfirmResult")]
    pub confirm_result: ConfirmResult,
}

/// `notification_stationInfo` request: a station that was added or changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationStationInfo {
    #[serde(rename = "StationInfo", alias = "stationInfo")]
    pub station_info: StationInfo,
}

/// `ChargeStatus`: the state of a charge in progress, pushed by `notification_equip_charge_status`
/// (Beijing asks for it every 50 s while charging) and `notification_connector_charge_status`,
/// and answered by `query_equip_charge_status`. `EndTime` is the time of this sample; times are
/// `yyyy-MM-dd HH:mm:ss` Beijing time; energy in kWh, money in CNY.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChargeStatus {
    #[serde(rename = "StartChargeSeq", default)]
    #[serde(
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_charge_seq: Option<String>,
    #[serde(rename = "StartChargeSeqStat", default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_charge_seq_stat: Option<StartChargeSeqStat>,
    #[serde(rename = "ConnectorID", deserialize_with = "lenient::text")]
    pub connector_id: String,
    #[serde(rename = "ConnectorStatus", default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_status: Option<ConnectorStatus>,
    #[serde(rename = "CurrentA", default, deserialize_with = "lenient::opt_f64")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_a: Option<f64>,
    #[serde(rename = "CurrentB", default, deserialize_with = "lenient::opt_f64")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_b: Option<f64>,
    #[serde(rename = "CurrentC", default, deserialize_with = "lenient::opt_f64")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_c: Option<f64>,
    #[serde(rename = "VoltageA", default, deserialize_with = "lenient::opt_f64")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voltage_a: Option<f64>,
    #[serde(rename = "VoltageB", default, deserialize_with = "lenient::opt_f64")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voltage_b: Option<f64>,
    #[serde(rename = "VoltageC", default, deserialize_with = "lenient::opt_f64")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voltage_c: Option<f64>,
    /// Percent.
    #[serde(
        rename = "Soc",
        alias = "SOC",
        default,
        deserialize_with = "lenient::opt_f64"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soc: Option<f64>,
    #[serde(rename = "StartTime", default, deserialize_with = "lenient::opt_text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// The time of this sample.
    #[serde(rename = "EndTime", default, deserialize_with = "lenient::opt_text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// kWh charged so far.
    #[serde(rename = "TotalPower", default, deserialize_with = "lenient::opt_f64")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_power: Option<f64>,
    #[serde(rename = "ElecMoney", alias = "ElectMoney", default)]
    #[serde(
        deserialize_with = "lenient::opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub elec_money: Option<f64>,
    #[serde(rename = "SeviceMoney", alias = "ServiceMoney", default)]
    #[serde(
        deserialize_with = "lenient::opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub sevice_money: Option<f64>,
    #[serde(rename = "TotalMoney", default, deserialize_with = "lenient::opt_f64")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_money: Option<f64>,
    #[serde(rename = "SumPeriod", alias = "SubPeriod", default)]
    #[serde(
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub sum_period: Option<u8>,
    #[serde(
        rename = "ChargeDetails",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub charge_details: Vec<ChargeDetail>,
}

/// The response of `notification_equip_charge_status` (and of the connector variant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChargeStatusResponse {
    #[serde(rename = "StartChargeSeq", deserialize_with = "lenient::text")]
    pub start_charge_seq: String,
    #[serde(rename = "SuccStat")]
    pub succ_stat: SuccStat,
}
