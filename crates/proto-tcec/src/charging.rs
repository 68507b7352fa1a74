//! Mapping stored T/CEC 102 messages to the shared charging model ([`model::ChargingEvent`]).
//!
//! Pure and total: a message the models cannot read, or an interface that carries nothing the
//! model holds (statistics, acknowledgements), gives no events, never a panic. The operator of
//! every event is the authenticated peer ([`Stored::operator_id`]), not an `OperatorID` inside
//! the payload, so one operator cannot write into another's registry.

use model::{
    BEIJING_OFFSET_SECS, Charger, ChargingEvent, ChargingSession, CivilTime, ConnectorState,
    ConnectorStatus as StatusRow, Station, Timestamp,
};
use serde::Deserialize;

use crate::codes::{ConnectorStatus, StopReason};
use crate::lenient;
use crate::model::{
    ChargeOrderInfo, ChargeStatus, ConnectorStatusInfo, NotificationStationInfo,
    NotificationStationStatus, QueryStationStatusResponse, QueryStationsInfoResponse, StationInfo,
    decode_json,
};
use crate::stored::Stored;

/// The `source` of every record this crate produces.
pub const SOURCE: &str = "tcec";

/// Interface names (T/CEC 102.2/102.3 and the supervision additions), as the URL carries them.
pub mod interface {
    pub const QUERY_TOKEN: &str = "query_token";
    pub const QUERY_STATIONS_INFO: &str = "query_stations_info";
    pub const QUERY_STATION_STATUS: &str = "query_station_status";
    pub const QUERY_STATION_STATS: &str = "query_station_stats";
    pub const NOTIFICATION_STATION_INFO: &str = "notification_stationInfo";
    pub const NOTIFICATION_STATION_STATUS: &str = "notification_stationStatus";
    pub const NOTIFICATION_CHARGE_ORDER_INFO: &str = "notification_charge_order_info";
    /// Beijing's variant for orders that earn the opening-to-the-public bonus.
    pub const NOTIFICATION_CHARGE_ORDER_INFO_FOR_BONUS: &str =
        "notification_charge_order_info_for_bonus";
    pub const NOTIFICATION_EQUIP_CHARGE_STATUS: &str = "notification_equip_charge_status";
    pub const NOTIFICATION_CONNECTOR_CHARGE_STATUS: &str = "notification_connector_charge_status";
    /// Supervision additions (Shanghai / cpmt numbering 9.9, 9.11, 9.13).
    pub const NOTIFICATION_BMS_INFO: &str = "notification_bmsInfo";
    pub const NOTIFICATION_ALARM_INFO: &str = "notification_alarmInfo";
    pub const NOTIFICATION_EVENT_INFO: &str = "notification_eventInfo";

    /// Every interface an operator pushes to the supervising platform.
    pub const PUSHES: [&str; 9] = [
        NOTIFICATION_STATION_INFO,
        NOTIFICATION_STATION_STATUS,
        NOTIFICATION_CHARGE_ORDER_INFO,
        NOTIFICATION_CHARGE_ORDER_INFO_FOR_BONUS,
        NOTIFICATION_EQUIP_CHARGE_STATUS,
        NOTIFICATION_CONNECTOR_CHARGE_STATUS,
        NOTIFICATION_BMS_INFO,
        NOTIFICATION_ALARM_INFO,
        NOTIFICATION_EVENT_INFO,
    ];

    /// The canonical spelling of a push interface, matched without regard to ASCII case
    /// (`notification_stationinfo` is seen), or `None` if it is not one.
    pub fn canonical_push(name: &str) -> Option<&'static str> {
        PUSHES.into_iter().find(|p| p.eq_ignore_ascii_case(name))
    }
}

/// The events one stored message says, with `received_at` as the receive time (and as the
/// status time when the payload has none).
pub fn to_events(stored: &Stored, received_at: Timestamp) -> Vec<ChargingEvent> {
    use interface::*;
    let op = stored.operator_id.as_str();
    let name = stored.interface.as_str();
    let is = |n: &str| name.eq_ignore_ascii_case(n);
    let data = &stored.data;
    let mut out = Vec::new();
    if is(NOTIFICATION_STATION_INFO) {
        if let Ok(n) = decode_json::<NotificationStationInfo>(data) {
            station_events(op, &n.station_info, &mut out);
        }
    } else if is(QUERY_STATIONS_INFO) {
        if let Ok(r) = decode_json::<QueryStationsInfoResponse>(data) {
            for s in &r.station_infos {
                station_events(op, s, &mut out);
            }
        }
    } else if is(NOTIFICATION_STATION_STATUS) {
        if let Ok(n) = decode_json::<NotificationStationStatus>(data) {
            out.push(status_event(op, "", &n.connector_status_info, received_at));
        }
    } else if is(QUERY_STATION_STATUS) {
        if let Ok(r) = decode_json::<QueryStationStatusResponse>(data) {
            for s in &r.station_status_infos {
                for c in &s.connector_status_infos {
                    out.push(status_event(op, &s.station_id, c, received_at));
                }
            }
        }
    } else if is(NOTIFICATION_CHARGE_ORDER_INFO) || is(NOTIFICATION_CHARGE_ORDER_INFO_FOR_BONUS) {
        if let Ok(o) = decode_json::<ChargeOrderInfo>(data) {
            let ids = decode_json::<Ids>(data).unwrap_or_default();
            out.extend(session_event(op, &o, ids, received_at));
        }
    } else if (is(NOTIFICATION_EQUIP_CHARGE_STATUS) || is(NOTIFICATION_CONNECTOR_CHARGE_STATUS))
        && let Some((status, ids)) = charge_status(data)
    {
        charge_status_events(op, &status, ids, received_at, &mut out);
    }
    out
}

/// Station and equipment ids some operators add to payloads that the 2016 text leaves without.
#[derive(Debug, Default, Deserialize)]
struct Ids {
    #[serde(rename = "StationID", default, deserialize_with = "lenient::opt_text")]
    station_id: Option<String>,
    #[serde(
        rename = "EquipmentID",
        default,
        deserialize_with = "lenient::opt_text"
    )]
    equipment_id: Option<String>,
}

/// A `ChargeStatus` as `notification_equip_charge_status` or
/// `notification_connector_charge_status` carry it: flat (the 2016 text) or wrapped in an
/// object under one of the names platforms use (`ChargeStatus`, `ConnectorChargeStatusInfo`,
/// `EquipChargeStatusInfo`, `ChargeStatusInfo`).
pub fn decode_charge_status(data: &[u8]) -> Option<ChargeStatus> {
    charge_status(data).map(|(s, _)| s)
}

fn charge_status(data: &[u8]) -> Option<(ChargeStatus, Ids)> {
    #[derive(Deserialize)]
    struct Wrapped {
        #[serde(
            alias = "ConnectorChargeStatusInfo",
            alias = "EquipChargeStatusInfo",
            alias = "ChargeStatusInfo"
        )]
        #[serde(rename = "ChargeStatus")]
        inner: serde_json::Value,
    }
    if let Ok(s) = decode_json::<ChargeStatus>(data) {
        return Some((s, decode_json::<Ids>(data).unwrap_or_default()));
    }
    let w = decode_json::<Wrapped>(data).ok()?;
    let s = ChargeStatus::deserialize(&w.inner).ok()?;
    let ids = Ids::deserialize(&w.inner).unwrap_or_default();
    Some((s, ids))
}

fn station_events(op: &str, s: &StationInfo, out: &mut Vec<ChargingEvent>) {
    let mut connectors = 0u32;
    let mut rated = 0.0;
    let mut chargers = Vec::with_capacity(s.equipment_infos.len());
    for e in &s.equipment_infos {
        let ids: Vec<String> = e
            .connector_infos
            .iter()
            .map(|c| c.connector_id.clone())
            .collect();
        connectors = connectors.saturating_add(u32::try_from(ids.len()).unwrap_or(u32::MAX));
        // Equipment power; without it, the sum of its connectors' power.
        let power = e.power.or_else(|| {
            let p: Vec<f64> = e.connector_infos.iter().filter_map(|c| c.power).collect();
            (!p.is_empty()).then(|| p.iter().sum())
        });
        rated += power.unwrap_or(0.0);
        let model = [e.manufacturer_name.as_deref(), e.equipment_model.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        chargers.push(ChargingEvent::Charger(Charger {
            operator_id: op.to_owned(),
            station_id: s.station_id.clone(),
            equipment_id: e.equipment_id.clone(),
            power_kw: power,
            connectors: ids,
            commissioned: e.production_date.as_deref().and_then(parse_date),
            model: (!model.is_empty()).then_some(model),
            source: SOURCE.to_owned(),
        }));
    }
    out.push(ChargingEvent::Station(Station {
        operator_id: op.to_owned(),
        station_id: s.station_id.clone(),
        name: s.station_name.clone().unwrap_or_default(),
        lon: s.station_lng,
        lat: s.station_lat,
        district: s.area_code.clone().filter(|a| !a.trim().is_empty()),
        connectors,
        rated_power_kw: rated,
        source: SOURCE.to_owned(),
    }));
    out.extend(chargers);
}

/// The model state of a T/CEC connector code (0 offline, 1 available, 2 occupied, 3 charging,
/// 4 reserved, 255 faulted; anything else, such as private codes, unknown).
pub fn connector_state(status: ConnectorStatus) -> ConnectorState {
    match status {
        ConnectorStatus::Offline => ConnectorState::Offline,
        ConnectorStatus::Idle => ConnectorState::Available,
        ConnectorStatus::OccupiedNotCharging => ConnectorState::Occupied,
        ConnectorStatus::Charging => ConnectorState::Charging,
        ConnectorStatus::Reserved => ConnectorState::Reserved,
        ConnectorStatus::Fault => ConnectorState::Faulted,
        ConnectorStatus::Other(_) => ConnectorState::Unknown,
    }
}

/// kW from the phase voltages and currents that are present, `None` if no phase has both.
fn power_kw(phases: [(Option<f64>, Option<f64>); 3]) -> Option<f64> {
    let products: Vec<f64> = phases
        .into_iter()
        .filter_map(|(v, i)| Some(v? * i?))
        .collect();
    (!products.is_empty()).then(|| products.iter().sum::<f64>() / 1000.0)
}

fn status_event(
    op: &str,
    station_id: &str,
    c: &ConnectorStatusInfo,
    received_at: Timestamp,
) -> ChargingEvent {
    ChargingEvent::Status(StatusRow {
        operator_id: op.to_owned(),
        station_id: station_id.to_owned(),
        equipment_id: c.equipment_id.clone().unwrap_or_default(),
        connector_id: c.connector_id.clone(),
        ts: received_at,
        received_at,
        status: connector_state(c.status),
        raw_status: c.status.code().to_string(),
        source: SOURCE.to_owned(),
        power_kw: power_kw([
            (c.voltage_a, c.current_a),
            (c.voltage_b, c.current_b),
            (c.voltage_c, c.current_c),
        ]),
        soc_pct: c.soc,
    })
}

/// Words for a `StopReason` (5–99 are operator-defined and kept as their code).
pub fn stop_reason_text(reason: StopReason) -> String {
    match reason {
        StopReason::User => "user".to_owned(),
        StopReason::UserOperatorPlatform => "user_operator_platform".to_owned(),
        StopReason::Bms => "bms".to_owned(),
        StopReason::ChargerFault => "charger_fault".to_owned(),
        StopReason::ConnectorUnplugged => "connector_unplugged".to_owned(),
        StopReason::Other(code) => format!("operator_defined_{code}"),
    }
}

fn session_event(
    op: &str,
    o: &ChargeOrderInfo,
    ids: Ids,
    received_at: Timestamp,
) -> Option<ChargingEvent> {
    let start_ts = parse_time(&o.start_time)?;
    let end_ts = parse_time(&o.end_time)?;
    Some(ChargingEvent::Session(ChargingSession {
        session_id: o.start_charge_seq.clone(),
        operator_id: op.to_owned(),
        station_id: ids.station_id.unwrap_or_default(),
        equipment_id: ids.equipment_id.unwrap_or_default(),
        connector_id: o.connector_id.clone(),
        start_ts,
        end_ts,
        received_at,
        energy_kwh: o.total_power,
        fee_total: o.total_money,
        stop_reason: o.stop_reason.map(stop_reason_text),
        id_tag: None,
        source: SOURCE.to_owned(),
    }))
}

fn charge_status_events(
    op: &str,
    s: &ChargeStatus,
    ids: Ids,
    received_at: Timestamp,
    out: &mut Vec<ChargingEvent>,
) {
    // `EndTime` of a ChargeStatus is the time of the sample.
    let ts = s
        .end_time
        .as_deref()
        .and_then(parse_time)
        .unwrap_or(received_at);
    let power = power_kw([
        (s.voltage_a, s.current_a),
        (s.voltage_b, s.current_b),
        (s.voltage_c, s.current_c),
    ]);
    let status = s.connector_status.unwrap_or(ConnectorStatus::Charging);
    out.push(ChargingEvent::Status(StatusRow {
        operator_id: op.to_owned(),
        station_id: ids.station_id.unwrap_or_default(),
        equipment_id: ids.equipment_id.unwrap_or_default(),
        connector_id: s.connector_id.clone(),
        ts,
        received_at,
        status: connector_state(status),
        raw_status: status.code().to_string(),
        source: SOURCE.to_owned(),
        power_kw: power,
        soc_pct: s.soc,
    }));
    out.push(ChargingEvent::Meter {
        operator_id: op.to_owned(),
        connector_id: s.connector_id.clone(),
        session_id: s.start_charge_seq.clone().filter(|q| !q.is_empty()),
        ts,
        energy_wh: s.total_power.map(|kwh| kwh * 1000.0),
        power_kw: power,
        soc_pct: s.soc,
    });
}

/// The digit groups of a date or time text (`2024-03-01 10:00:00`, `2024/3/1 10:00:00`,
/// `20240301100000`): six numbers for a time, three for a date.
fn numbers(text: &str, want: usize) -> Option<Vec<u32>> {
    let groups: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    let widths: &[usize] = if want == 6 {
        &[4, 2, 2, 2, 2, 2]
    } else {
        &[4, 2, 2]
    };
    let digits: Vec<&str> = match groups.as_slice() {
        // One run of digits: fixed widths.
        [one] if one.len() == widths.iter().sum::<usize>() => {
            let mut at = 0;
            widths
                .iter()
                .map(|w| {
                    let g = &one[at..at + w];
                    at += w;
                    g
                })
                .collect()
        }
        many if many.len() >= want => many[..want].to_vec(),
        _ => return None,
    };
    digits
        .iter()
        .map(|g| if g.len() <= 4 { g.parse().ok() } else { None })
        .collect()
}

/// A T/CEC time (`yyyy-MM-dd HH:mm:ss`, Beijing time; separators are not checked).
pub fn parse_time(text: &str) -> Option<Timestamp> {
    let n = numbers(text, 6)?;
    civil(&n)?.to_timestamp(BEIJING_OFFSET_SECS)
}

fn civil(n: &[u32]) -> Option<CivilTime> {
    let field = |i: usize| n.get(i).copied().unwrap_or(0);
    Some(CivilTime {
        year: i32::try_from(field(0)).ok()?,
        month: u8::try_from(field(1)).ok()?,
        day: u8::try_from(field(2)).ok()?,
        hour: u8::try_from(field(3)).ok()?,
        minute: u8::try_from(field(4)).ok()?,
        second: u8::try_from(field(5)).ok()?,
    })
}

/// A `ProductionDate` as `YYYY-MM-DD`, or `None` when it is not a calendar date.
fn parse_date(text: &str) -> Option<String> {
    let n = numbers(text, 3)?;
    let c = civil(&n)?;
    c.is_valid()
        .then(|| format!("{:04}-{:02}-{:02}", c.year, c.month, c.day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_with_any_separators() {
        let t = parse_time("2024-03-01 10:00:00").unwrap();
        assert_eq!(
            t.to_rfc3339(BEIJING_OFFSET_SECS),
            "2024-03-01T10:00:00+08:00"
        );
        assert_eq!(parse_time("20240301100000"), Some(t));
        assert_eq!(parse_time("2024/3/1 10:00:00"), Some(t));
        assert_eq!(parse_time("2024-03-01"), None);
        assert_eq!(parse_time("2024-02-30 10:00:00"), None);
        assert_eq!(parse_time(""), None);
        assert_eq!(parse_date("2019-8-1").as_deref(), Some("2019-08-01"));
        assert_eq!(parse_date("20190801").as_deref(), Some("2019-08-01"));
        assert_eq!(
            parse_date("2019-08-01 00:00:00").as_deref(),
            Some("2019-08-01")
        );
        assert_eq!(parse_date("0000-00-00"), None);
        assert_eq!(parse_date("123456789012345678901"), None);
    }
}
