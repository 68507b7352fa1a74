//! Mapping a stored CALL to the shared charging model ([`model::ChargingEvent`]).
//!
//! Identifiers follow `model::charging`: `operator_id` is [`model::OCPP_OPERATOR`], `station_id`
//! the charger's site, `equipment_id` the charge point id, and `connector_id` is
//! `"{chargePointId}-{n}"` where `n` is the 1.6 `connectorId` or the 2.0.1 `evseId` (an EVSE
//! charges one vehicle at a time and 2.0.1 transactions and limits are per EVSE, so it is what a
//! 1.6 connector is). `n = 0` (the whole charger, its main meter) is used for meter readings of
//! the charger as a whole and when a 2.0.1 transaction's EVSE is unknown; a 1.6 status of
//! connector 0 (the charger itself) gives no connector status.
//!
//! Session ids: 1.6 the integer the CSMS assigned, as text; 2.0.1 the station's `transactionId`.
//! Times are the message's own when it has a valid one, else the receive time.

use model::{Charger, ChargingEvent, ConnectorState, ConnectorStatus, OCPP_OPERATOR, Timestamp};
use serde::Serialize;

use crate::{Incoming, Measurand, Request, Stored, Version, receive, v16, v201};

/// The enumeration value's name as on the wire.
fn wire_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn time_or(t: &crate::DateTime, fallback: Timestamp) -> Timestamp {
    t.timestamp().unwrap_or(fallback)
}

fn connector_id(cp: &str, n: impl std::fmt::Display) -> String {
    format!("{cp}-{n}")
}

/// The model's state for a 1.6 connector status.
pub fn state_v16(status: v16::ChargePointStatus) -> ConnectorState {
    use v16::ChargePointStatus::*;
    match status {
        Available => ConnectorState::Available,
        Preparing | SuspendedEV | SuspendedEVSE | Finishing => ConnectorState::Occupied,
        Charging => ConnectorState::Charging,
        Reserved => ConnectorState::Reserved,
        Unavailable => ConnectorState::Unavailable,
        Faulted => ConnectorState::Faulted,
    }
}

/// The model's state for a 2.0.1 connector status.
pub fn state_v201(status: v201::ConnectorStatus) -> ConnectorState {
    use v201::ConnectorStatus::*;
    match status {
        Available => ConnectorState::Available,
        Occupied => ConnectorState::Occupied,
        Reserved => ConnectorState::Reserved,
        Unavailable => ConnectorState::Unavailable,
        Faulted => ConnectorState::Faulted,
    }
}

/// The readings of one meter value, in model units.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Reading {
    energy_wh: Option<f64>,
    power_kw: Option<f64>,
    soc_pct: Option<f64>,
}

impl Reading {
    fn is_empty(&self) -> bool {
        self.energy_wh.is_none() && self.power_kw.is_none() && self.soc_pct.is_none()
    }
}

/// Picks one value per measurand: the value without a phase when there is one, else the sum of
/// the per-phase values (a three-phase meter may report only L1, L2, L3).
#[derive(Default)]
struct Pick {
    whole: Option<f64>,
    phases: Option<f64>,
}

impl Pick {
    fn add(&mut self, phased: bool, v: f64) {
        if !v.is_finite() {
            return;
        }
        if phased {
            self.phases = Some(self.phases.unwrap_or(0.0) + v);
        } else if self.whole.is_none() {
            self.whole = Some(v);
        }
    }

    fn get(&self) -> Option<f64> {
        self.whole.or(self.phases)
    }
}

fn is_line_phase(p: Option<crate::Phase>) -> Option<bool> {
    use crate::Phase::*;
    match p {
        None => Some(false),
        Some(L1 | L2 | L3 | L1N | L2N | L3N) => Some(true),
        // Neutral and line-to-line values are not part of the total.
        Some(_) => None,
    }
}

fn reading_v16(mv: &v16::MeterValue) -> Reading {
    let (mut energy, mut power, mut soc) = (Pick::default(), Pick::default(), Pick::default());
    for sv in &mv.sampled_value {
        let Some(v) = sv.number() else { continue };
        let Some(phased) = is_line_phase(sv.phase) else {
            continue;
        };
        match sv.measurand_or_default() {
            Measurand::EnergyActiveImportRegister => {
                let wh = match sv.unit {
                    Some(v16::UnitOfMeasure::KWh) => v * 1000.0,
                    None | Some(v16::UnitOfMeasure::Wh) => v,
                    Some(_) => continue,
                };
                energy.add(phased, wh);
            }
            Measurand::PowerActiveImport => {
                let kw = match sv.unit {
                    Some(v16::UnitOfMeasure::KW) => v,
                    None | Some(v16::UnitOfMeasure::W) => v / 1000.0,
                    Some(_) => continue,
                };
                power.add(phased, kw);
            }
            Measurand::SoC => soc.add(false, v),
            _ => {}
        }
    }
    Reading {
        energy_wh: energy.get(),
        power_kw: power.get(),
        soc_pct: soc.get(),
    }
}

fn unit_v201(sv: &v201::SampledValue) -> Option<&str> {
    sv.unit_of_measure
        .as_ref()
        .and_then(|u| u.unit.as_ref())
        .map(|u| u.as_str())
}

fn reading_v201(mv: &v201::MeterValue) -> Reading {
    let (mut energy, mut power, mut soc) = (Pick::default(), Pick::default(), Pick::default());
    for sv in &mv.sampled_value {
        if sv.signed_meter_value.is_some() && !sv.value.is_finite() {
            continue;
        }
        let Some(phased) = is_line_phase(sv.phase) else {
            continue;
        };
        let v = sv.scaled();
        match sv
            .measurand
            .unwrap_or(Measurand::EnergyActiveImportRegister)
        {
            Measurand::EnergyActiveImportRegister => {
                let wh = match unit_v201(sv) {
                    Some("kWh") => v * 1000.0,
                    None | Some("Wh") => v,
                    Some(_) => continue,
                };
                energy.add(phased, wh);
            }
            Measurand::PowerActiveImport => {
                let kw = match unit_v201(sv) {
                    Some("kW") => v,
                    // The schema's default unit is Wh, which no power is in; chargers that
                    // leave it out mean watts.
                    None | Some("W") | Some("Wh") => v / 1000.0,
                    Some(_) => continue,
                };
                power.add(phased, kw);
            }
            Measurand::SoC => soc.add(false, v),
            _ => {}
        }
    }
    Reading {
        energy_wh: energy.get(),
        power_kw: power.get(),
        soc_pct: soc.get(),
    }
}

fn meter_event(
    connector: &str,
    session_id: Option<String>,
    ts: Timestamp,
    r: Reading,
) -> Option<ChargingEvent> {
    (!r.is_empty()).then(|| ChargingEvent::Meter {
        operator_id: OCPP_OPERATOR.to_owned(),
        connector_id: connector.to_owned(),
        session_id,
        ts,
        energy_wh: r.energy_wh,
        power_kw: r.power_kw,
        soc_pct: r.soc_pct,
    })
}

/// The model events one stored CALL says. Pure: the same record gives the same events, live or on
/// replay. A text that does not decode (it was answered with a CALLERROR and should not have been
/// stored) and calls that carry no data (Heartbeat, Authorize) give none.
pub fn to_events(stored: &Stored, received_at: Timestamp) -> Vec<ChargingEvent> {
    let Incoming::Call { request, .. } = receive(stored.version, &stored.text, usize::MAX) else {
        return Vec::new();
    };
    let m = Mapper {
        stored,
        received_at,
        source: stored.version.subprotocol(),
    };
    match request {
        Request::V16(r) => m.v16(r),
        Request::V201(r) => m.v201(r),
    }
}

struct Mapper<'a> {
    stored: &'a Stored,
    received_at: Timestamp,
    source: &'static str,
}

impl Mapper<'_> {
    fn cp(&self) -> &str {
        &self.stored.charge_point
    }

    fn charger(&self, vendor: &str, model: &str) -> ChargingEvent {
        let day = self.received_at.to_civil(model::BEIJING_OFFSET_SECS);
        ChargingEvent::Charger(Charger {
            operator_id: OCPP_OPERATOR.to_owned(),
            station_id: self.stored.station_id.clone(),
            equipment_id: self.cp().to_owned(),
            power_kw: None,
            connectors: Vec::new(),
            commissioned: Some(format!("{:04}-{:02}-{:02}", day.year, day.month, day.day)),
            model: Some(format!("{vendor} {model}").trim().to_owned()),
            source: self.source.to_owned(),
        })
    }

    fn status(
        &self,
        connector: String,
        ts: Timestamp,
        state: ConnectorState,
        raw: String,
    ) -> ChargingEvent {
        ChargingEvent::Status(ConnectorStatus {
            operator_id: OCPP_OPERATOR.to_owned(),
            station_id: self.stored.station_id.clone(),
            equipment_id: self.cp().to_owned(),
            connector_id: connector,
            ts,
            received_at: self.received_at,
            status: state,
            raw_status: raw,
            source: self.source.to_owned(),
            power_kw: None,
            soc_pct: None,
        })
    }

    fn started(
        &self,
        session_id: String,
        connector: String,
        start_ts: Timestamp,
        meter_start_wh: Option<f64>,
        id_tag: Option<String>,
    ) -> ChargingEvent {
        ChargingEvent::SessionStarted {
            session_id,
            operator_id: OCPP_OPERATOR.to_owned(),
            station_id: self.stored.station_id.clone(),
            equipment_id: self.cp().to_owned(),
            connector_id: connector,
            start_ts,
            meter_start_wh,
            id_tag,
            source: self.source.to_owned(),
        }
    }

    fn ended(
        &self,
        session_id: String,
        end_ts: Timestamp,
        meter_stop_wh: Option<f64>,
        stop_reason: Option<String>,
    ) -> ChargingEvent {
        ChargingEvent::SessionEnded {
            session_id,
            operator_id: OCPP_OPERATOR.to_owned(),
            end_ts,
            meter_stop_wh,
            stop_reason,
        }
    }

    fn v16(&self, r: v16::Request) -> Vec<ChargingEvent> {
        let at = self.received_at;
        match r {
            v16::Request::BootNotification(b) => {
                vec![self.charger(&b.charge_point_vendor, &b.charge_point_model)]
            }
            v16::Request::StatusNotification(s) => {
                if s.connector_id == 0 {
                    return Vec::new();
                }
                let ts = s.timestamp.as_ref().map_or(at, |t| time_or(t, at));
                vec![self.status(
                    connector_id(self.cp(), s.connector_id),
                    ts,
                    state_v16(s.status),
                    wire_name(&s.status),
                )]
            }
            v16::Request::StartTransaction(s) => {
                let Some(tx) = self.stored.transaction_id else {
                    return Vec::new();
                };
                vec![self.started(
                    tx.to_string(),
                    connector_id(self.cp(), s.connector_id),
                    time_or(&s.timestamp, at),
                    Some(f64::from(s.meter_start)),
                    Some(s.id_tag.into_string()),
                )]
            }
            v16::Request::StopTransaction(s) => {
                let session = s.transaction_id.to_string();
                let mut out = Vec::new();
                if let (Some(data), Some(c)) = (&s.transaction_data, self.stored.connector) {
                    let conn = connector_id(self.cp(), c);
                    out.extend(data.iter().filter_map(|mv| {
                        meter_event(
                            &conn,
                            Some(session.clone()),
                            time_or(&mv.timestamp, at),
                            reading_v16(mv),
                        )
                    }));
                }
                out.push(self.ended(
                    session,
                    time_or(&s.timestamp, at),
                    Some(f64::from(s.meter_stop)),
                    s.reason.map(|r| wire_name(&r)),
                ));
                out
            }
            v16::Request::MeterValues(m) => {
                let conn = connector_id(self.cp(), m.connector_id);
                let session = m.transaction_id.map(|t| t.to_string());
                m.meter_value
                    .iter()
                    .filter_map(|mv| {
                        meter_event(
                            &conn,
                            session.clone(),
                            time_or(&mv.timestamp, at),
                            reading_v16(mv),
                        )
                    })
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    fn v201(&self, r: v201::Request) -> Vec<ChargingEvent> {
        let at = self.received_at;
        match r {
            v201::Request::BootNotification(b) => {
                vec![self.charger(&b.charging_station.vendor_name, &b.charging_station.model)]
            }
            v201::Request::StatusNotification(s) => vec![self.status(
                connector_id(self.cp(), s.evse_id),
                time_or(&s.timestamp, at),
                state_v201(s.connector_status),
                wire_name(&s.connector_status),
            )],
            v201::Request::MeterValues(m) => {
                let conn = connector_id(self.cp(), m.evse_id);
                m.meter_value
                    .iter()
                    .filter_map(|mv| {
                        meter_event(&conn, None, time_or(&mv.timestamp, at), reading_v201(mv))
                    })
                    .collect()
            }
            v201::Request::TransactionEvent(e) => self.transaction_event(e),
            _ => Vec::new(),
        }
    }

    fn transaction_event(&self, e: v201::TransactionEventRequest) -> Vec<ChargingEvent> {
        let at = self.received_at;
        let ts = time_or(&e.timestamp, at);
        let evse = e
            .evse
            .as_ref()
            .map(|x| x.id)
            .or(self.stored.connector)
            .unwrap_or(0);
        let conn = connector_id(self.cp(), evse);
        let session = e.transaction_info.transaction_id.as_str().to_owned();
        let meters: Vec<(Timestamp, Reading)> = e
            .meter_value
            .iter()
            .flatten()
            .map(|mv| (time_or(&mv.timestamp, at), reading_v201(mv)))
            .collect();
        let mut out = Vec::new();
        if e.event_type == v201::TransactionEventType::Started {
            let meter_start = meters.iter().find_map(|(_, r)| r.energy_wh);
            out.push(self.started(
                session.clone(),
                conn.clone(),
                ts,
                meter_start,
                e.id_token.as_ref().map(|t| t.id_token.as_str().to_owned()),
            ));
        }
        if let Some(state) = e.transaction_info.charging_state {
            let mapped = match state {
                v201::ChargingState::Charging => Some(ConnectorState::Charging),
                v201::ChargingState::EVConnected
                | v201::ChargingState::SuspendedEV
                | v201::ChargingState::SuspendedEVSE => Some(ConnectorState::Occupied),
                v201::ChargingState::Idle => None,
            };
            if let Some(s) = mapped.filter(|_| evse != 0) {
                out.push(self.status(conn.clone(), ts, s, wire_name(&state)));
            }
        }
        out.extend(
            meters
                .iter()
                .filter_map(|&(t, r)| meter_event(&conn, Some(session.clone()), t, r)),
        );
        if e.event_type == v201::TransactionEventType::Ended {
            let meter_stop = meters.iter().rev().find_map(|(_, r)| r.energy_wh);
            out.push(self.ended(
                session,
                ts,
                meter_stop,
                e.transaction_info.stopped_reason.map(|r| wire_name(&r)),
            ));
        }
        out
    }
}

/// The source label of a version in the model's `source` fields.
pub fn source(version: Version) -> &'static str {
    version.subprotocol()
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: Timestamp = Timestamp::from_secs(1_795_766_400); // 2026-11-27T08:00:00Z

    fn stored(version: Version, text: &str) -> Stored {
        Stored {
            charge_point: "CP-1".into(),
            version,
            station_id: "depot-1".into(),
            transaction_id: None,
            connector: None,
            text: text.into(),
        }
    }

    fn v16(text: &str) -> Vec<ChargingEvent> {
        to_events(&stored(Version::V16, text), AT)
    }

    fn v201(text: &str) -> Vec<ChargingEvent> {
        to_events(&stored(Version::V201, text), AT)
    }

    #[test]
    fn boot_is_a_charger_commissioned_on_the_beijing_day() {
        // 20:00 UTC is the next day in Beijing.
        let late = Timestamp::from_secs(AT.as_secs() + 12 * 3600);
        let ev = to_events(
            &stored(
                Version::V16,
                r#"[2,"1","BootNotification",{"chargePointVendor":"Haihe","chargePointModel":"AC22"}]"#,
            ),
            late,
        );
        let [ChargingEvent::Charger(c)] = ev.as_slice() else {
            panic!("{ev:?}")
        };
        assert_eq!(c.operator_id, "ocpp");
        assert_eq!(c.station_id, "depot-1");
        assert_eq!(c.equipment_id, "CP-1");
        assert_eq!(c.commissioned.as_deref(), Some("2026-11-28"));
        assert_eq!(c.model.as_deref(), Some("Haihe AC22"));
        assert_eq!(c.source, "ocpp1.6");
        let ev = v201(
            r#"[2,"1","BootNotification",{"chargingStation":{"model":"DC60","vendorName":"Haihe"},"reason":"PowerUp"}]"#,
        );
        assert!(
            matches!(&ev[..], [ChargingEvent::Charger(c)] if c.model.as_deref() == Some("Haihe DC60") && c.source == "ocpp2.0.1")
        );
    }

    #[test]
    fn status_mapping_both_versions() {
        let cases = [
            ("Available", ConnectorState::Available),
            ("Preparing", ConnectorState::Occupied),
            ("Charging", ConnectorState::Charging),
            ("SuspendedEV", ConnectorState::Occupied),
            ("SuspendedEVSE", ConnectorState::Occupied),
            ("Finishing", ConnectorState::Occupied),
            ("Reserved", ConnectorState::Reserved),
            ("Unavailable", ConnectorState::Unavailable),
            ("Faulted", ConnectorState::Faulted),
        ];
        for (raw, want) in cases {
            let ev = v16(&format!(
                r#"[2,"1","StatusNotification",{{"connectorId":2,"errorCode":"NoError","status":"{raw}","timestamp":"2026-11-27T07:59:00Z"}}]"#
            ));
            let [ChargingEvent::Status(s)] = ev.as_slice() else {
                panic!("{ev:?}")
            };
            assert_eq!(s.status, want, "{raw}");
            assert_eq!(s.raw_status, raw);
            assert_eq!(s.connector_id, "CP-1-2");
            assert_eq!(s.ts.as_secs(), AT.as_secs() - 60);
            assert_eq!(s.received_at, AT);
        }
        // A bad device clock: the receive time stands in.
        let ev = v16(
            r#"[2,"1","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Available","timestamp":"1970-01-01T00:00:00"}]"#,
        );
        assert!(matches!(&ev[..], [ChargingEvent::Status(s)] if s.ts == AT));
        // Connector 0 is the charger itself, not a connector.
        assert!(v16(r#"[2,"1","StatusNotification",{"connectorId":0,"errorCode":"NoError","status":"Available"}]"#).is_empty());
        for (raw, want) in [
            ("Available", ConnectorState::Available),
            ("Occupied", ConnectorState::Occupied),
            ("Reserved", ConnectorState::Reserved),
            ("Unavailable", ConnectorState::Unavailable),
            ("Faulted", ConnectorState::Faulted),
        ] {
            let ev = v201(&format!(
                r#"[2,"1","StatusNotification",{{"timestamp":"2026-11-27T08:00:00Z","connectorStatus":"{raw}","evseId":3,"connectorId":1}}]"#
            ));
            assert!(
                matches!(&ev[..], [ChargingEvent::Status(s)] if s.status == want && s.connector_id == "CP-1-3" && s.raw_status == raw),
                "{ev:?}"
            );
        }
    }

    #[test]
    fn v16_transaction() {
        let mut s = stored(
            Version::V16,
            r#"[2,"1","StartTransaction",{"connectorId":1,"idTag":"TAG1","meterStart":1500,"timestamp":"2026-11-27T08:00:00Z"}]"#,
        );
        // Without the assigned id there is no session to name.
        assert!(to_events(&s, AT).is_empty());
        s.transaction_id = Some(77);
        let ev = to_events(&s, AT);
        assert_eq!(
            ev,
            vec![ChargingEvent::SessionStarted {
                session_id: "77".into(),
                operator_id: "ocpp".into(),
                station_id: "depot-1".into(),
                equipment_id: "CP-1".into(),
                connector_id: "CP-1-1".into(),
                start_ts: AT,
                meter_start_wh: Some(1500.0),
                id_tag: Some("TAG1".into()),
                source: "ocpp1.6".into(),
            }]
        );
        let ev = v16(
            r#"[2,"2","MeterValues",{"connectorId":1,"transactionId":77,"meterValue":[{"timestamp":"2026-11-27T08:05:00Z","sampledValue":[
                {"value":"2.5","measurand":"Energy.Active.Import.Register","unit":"kWh"},
                {"value":"7200","measurand":"Power.Active.Import","unit":"W"},
                {"value":"41","measurand":"SoC","unit":"Percent","location":"EV"},
                {"value":"230","measurand":"Voltage","unit":"V"}]},
              {"timestamp":"2026-11-27T08:06:00Z","sampledValue":[{"value":"3.1","measurand":"Power.Active.Import","unit":"kW","phase":"L1"},{"value":"3.0","measurand":"Power.Active.Import","unit":"kW","phase":"L2"}]},
              {"timestamp":"2026-11-27T08:07:00Z","sampledValue":[{"value":"230","measurand":"Voltage"}]}]}]"#,
        );
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert_eq!(
            ev[0],
            ChargingEvent::Meter {
                operator_id: "ocpp".into(),
                connector_id: "CP-1-1".into(),
                session_id: Some("77".into()),
                ts: Timestamp::from_secs(AT.as_secs() + 300),
                energy_wh: Some(2500.0),
                power_kw: Some(7.2),
                soc_pct: Some(41.0),
            }
        );
        let ChargingEvent::Meter {
            power_kw,
            energy_wh,
            ..
        } = &ev[1]
        else {
            panic!()
        };
        assert!((power_kw.unwrap() - 6.1).abs() < 1e-9);
        assert_eq!(*energy_wh, None);
        // Without a unit, energy is Wh (and the measurand defaults to the import register).
        let ev = v16(
            r#"[2,"2","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2026-11-27T08:05:00Z","sampledValue":[{"value":"1234"}]}]}]"#,
        );
        assert!(
            matches!(&ev[..], [ChargingEvent::Meter { energy_wh: Some(e), session_id: None, .. }] if *e == 1234.0)
        );

        let mut s = stored(
            Version::V16,
            r#"[2,"3","StopTransaction",{"meterStop":9500,"timestamp":"2026-11-27T09:00:00Z","transactionId":77,"reason":"Remote",
               "transactionData":[{"timestamp":"2026-11-27T09:00:00Z","sampledValue":[{"value":"9500"}]}]}]"#,
        );
        let ev = to_events(&s, AT);
        assert_eq!(
            ev,
            vec![ChargingEvent::SessionEnded {
                session_id: "77".into(),
                operator_id: "ocpp".into(),
                end_ts: Timestamp::from_secs(AT.as_secs() + 3600),
                meter_stop_wh: Some(9500.0),
                stop_reason: Some("Remote".into()),
            }]
        );
        // With the connector the CSMS knew, the transaction data are meter readings too.
        s.connector = Some(1);
        let ev = to_events(&s, AT);
        assert_eq!(ev.len(), 2);
        assert!(
            matches!(&ev[0], ChargingEvent::Meter { connector_id, energy_wh: Some(e), .. } if connector_id == "CP-1-1" && *e == 9500.0)
        );
    }

    #[test]
    fn v201_transaction() {
        let ev = v201(
            r#"[2,"1","TransactionEvent",{"eventType":"Started","timestamp":"2026-11-27T08:00:00Z","triggerReason":"Authorized","seqNo":0,
               "transactionInfo":{"transactionId":"tx-9","chargingState":"Charging"},"idToken":{"idToken":"TAG2","type":"ISO14443"},
               "evse":{"id":2,"connectorId":1},
               "meterValue":[{"timestamp":"2026-11-27T08:00:00Z","sampledValue":[{"value":1.5,"measurand":"Energy.Active.Import.Register","unitOfMeasure":{"unit":"kWh"}}]}]}]"#,
        );
        assert_eq!(ev.len(), 3, "{ev:?}");
        assert!(
            matches!(&ev[0], ChargingEvent::SessionStarted { session_id, connector_id, meter_start_wh: Some(m), id_tag: Some(t), source, .. }
            if session_id == "tx-9" && connector_id == "CP-1-2" && *m == 1500.0 && t == "TAG2" && source == "ocpp2.0.1")
        );
        assert!(
            matches!(&ev[1], ChargingEvent::Status(s) if s.status == ConnectorState::Charging && s.raw_status == "Charging")
        );
        assert!(
            matches!(&ev[2], ChargingEvent::Meter { session_id: Some(s), energy_wh: Some(_), .. } if s == "tx-9")
        );

        // Updated without evse: the connector the CSMS knew.
        let mut s = stored(
            Version::V201,
            r#"[2,"2","TransactionEvent",{"eventType":"Updated","timestamp":"2026-11-27T08:10:00Z","triggerReason":"MeterValuePeriodic","seqNo":1,
               "transactionInfo":{"transactionId":"tx-9"},
               "meterValue":[{"timestamp":"2026-11-27T08:10:00Z","sampledValue":[{"value":11,"measurand":"Power.Active.Import","unitOfMeasure":{"unit":"W","multiplier":3}},{"value":55,"measurand":"SoC"}]}]}]"#,
        );
        s.connector = Some(2);
        let ev = to_events(&s, AT);
        assert_eq!(
            ev,
            vec![ChargingEvent::Meter {
                operator_id: "ocpp".into(),
                connector_id: "CP-1-2".into(),
                session_id: Some("tx-9".into()),
                ts: Timestamp::from_secs(AT.as_secs() + 600),
                energy_wh: None,
                power_kw: Some(11.0),
                soc_pct: Some(55.0),
            }]
        );

        let ev = v201(
            r#"[2,"3","TransactionEvent",{"eventType":"Ended","timestamp":"2026-11-27T09:00:00Z","triggerReason":"RemoteStop","seqNo":2,
               "transactionInfo":{"transactionId":"tx-9","stoppedReason":"Remote"},
               "meterValue":[{"timestamp":"2026-11-27T09:00:00Z","sampledValue":[{"value":9000,"context":"Transaction.End"}]}]}]"#,
        );
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(
            matches!(&ev[0], ChargingEvent::Meter { connector_id, .. } if connector_id == "CP-1-0")
        );
        assert_eq!(
            ev[1],
            ChargingEvent::SessionEnded {
                session_id: "tx-9".into(),
                operator_id: "ocpp".into(),
                end_ts: Timestamp::from_secs(AT.as_secs() + 3600),
                meter_stop_wh: Some(9000.0),
                stop_reason: Some("Remote".into()),
            }
        );
        let ev = v201(
            r#"[2,"4","MeterValues",{"evseId":1,"meterValue":[{"timestamp":"2026-11-27T08:00:00Z","sampledValue":[{"value":7.4,"measurand":"Power.Active.Import","unitOfMeasure":{"unit":"kW"}}]}]}]"#,
        );
        assert!(
            matches!(&ev[..], [ChargingEvent::Meter { power_kw: Some(p), session_id: None, connector_id, .. }] if *p == 7.4 && connector_id == "CP-1-1")
        );
    }

    #[test]
    fn no_data_no_events() {
        assert!(v16(r#"[2,"1","Heartbeat",{}]"#).is_empty());
        assert!(v16(r#"[2,"1","Authorize",{"idTag":"A"}]"#).is_empty());
        assert!(v16(r#"not json"#).is_empty());
        assert!(v16(r#"[2,"1","StatusNotification",{}]"#).is_empty());
        assert!(v201(r#"[3,"1",{}]"#).is_empty());
    }
}
