//! `to_events`: stored T/CEC messages of real shape (the vectors' plaintexts, the 2016 field
//! lists of the protocol notes, the spelling variants operators send) mapped to the shared
//! charging model.

use model::{BEIJING_OFFSET_SECS, ChargingEvent, ConnectorState, Timestamp};
use proto_tcec::{Origin, Stored, decode_stored, encode_stored, to_events};
use serde_json::json;

const OP: &str = "MA01H3BQ2";

fn received() -> Timestamp {
    Timestamp::from_secs(1_709_265_600) // 2024-03-01 12:00:00 +08:00
}

fn stored(interface: &str, origin: Origin, data: &[u8]) -> Stored {
    Stored {
        operator_id: OP.into(),
        interface: interface.into(),
        origin,
        data: data.to_vec(),
    }
}

fn events(interface: &str, origin: Origin, data: &serde_json::Value) -> Vec<ChargingEvent> {
    let s = stored(interface, origin, data.to_string().as_bytes());
    // Through the stored form, as the platform reads it back from the log.
    let s = decode_stored(&encode_stored(&s)).unwrap();
    to_events(&s, received())
}

fn station_info() -> serde_json::Value {
    json!({
        "StationID": "ST0001", "OperatorID": "MA01H3BQ2", "EquipmentOwnerID": "MA01H3BQ2",
        "StationName": "海河充电站", "CountryCode": "CN", "AreaCode": "120101",
        "Address": "天津市和平区", "ServiceTel": "022-12345678", "StationType": 1,
        "StationStatus": 50, "ParkNums": 10, "StationLng": "117.200983", "StationLat": 39.084158,
        "Construction": 6, "Pictures": "", "Payment": "线上",
        "EquipmentInfos": [
            {"EquipmentID": "EQ01", "ManufacturerID": "MA0000001", "ManufacturerName": "TELD",
             "EquipmentModel": "DC-120", "ProductionDate": "2021-6-1", "EquipmentType": 1,
             "Power": 120.0,
             "ConnectorInfos": [
                {"ConnectorID": "EQ01-1", "ConnectorType": 4, "Power": 60, "NationalStandard": 2},
                {"ConnectorID": "EQ01-2", "ConnectorType": 4, "Power": 60, "NationalStandard": 2}]},
            {"EquipmentID": "EQ02", "EquipmentType": 2, "ProductionDate": "unknown",
             "ConnectorInfos": [{"ConnectorID": "EQ02-1", "ConnectorType": 3, "Power": "7"}]}
        ]
    })
}

#[test]
fn station_info_push_gives_the_station_and_its_chargers() {
    let ev = events(
        "notification_stationInfo",
        Origin::Push,
        &json!({ "StationInfo": station_info() }),
    );
    assert_eq!(ev.len(), 3, "{ev:#?}");
    let ChargingEvent::Station(s) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(s.operator_id, OP);
    assert_eq!(s.station_id, "ST0001");
    assert_eq!(s.name, "海河充电站");
    assert_eq!(s.lon, Some(117.200983));
    assert_eq!(s.lat, Some(39.084158));
    assert_eq!(s.district.as_deref(), Some("120101"));
    assert_eq!(s.connectors, 3);
    assert_eq!(
        s.rated_power_kw, 127.0,
        "120 kW + the 7 kW of EQ02's only connector"
    );
    assert_eq!(s.source, "tcec");
    let ChargingEvent::Charger(c) = &ev[1] else {
        panic!("{ev:?}")
    };
    assert_eq!(
        (c.station_id.as_str(), c.equipment_id.as_str()),
        ("ST0001", "EQ01")
    );
    assert_eq!(c.connectors, ["EQ01-1", "EQ01-2"]);
    assert_eq!(c.power_kw, Some(120.0));
    assert_eq!(c.commissioned.as_deref(), Some("2021-06-01"));
    assert_eq!(c.model.as_deref(), Some("TELD DC-120"));
    let ChargingEvent::Charger(c) = &ev[2] else {
        panic!("{ev:?}")
    };
    assert_eq!(c.power_kw, Some(7.0));
    assert_eq!(c.commissioned, None);
    assert_eq!(c.model, None);
}

#[test]
fn stations_info_pages_give_every_station() {
    let mut second = station_info();
    second["StationID"] = json!("ST0002");
    second["EquipmentInfos"] = json!([]);
    let ev = events(
        "query_stations_info",
        Origin::Poll,
        &json!({"PageNo": 1, "PageCount": 3, "ItemSize": 2, "StationInfos": [station_info(), second]}),
    );
    let stations: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            ChargingEvent::Station(s) => Some((s.station_id.as_str(), s.connectors)),
            _ => None,
        })
        .collect();
    assert_eq!(stations, [("ST0001", 3), ("ST0002", 0)]);
    assert_eq!(ev.len(), 4);
}

#[test]
fn status_push_of_vector_4_is_charging_at_receive_time() {
    // The plaintext of vector 4 of shared/vectors/tcec102.md, byte for byte.
    let data = br#"{"ConnectorStatusInfo":{"ConnectorID":"MA01H3BQ2000101","Status":3,"ParkStatus":50,"LockStatus":10}}"#;
    let ev = to_events(
        &stored("notification_stationStatus", Origin::Push, data),
        received(),
    );
    let [ChargingEvent::Status(s)] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert_eq!(s.operator_id, OP);
    assert_eq!(s.station_id, "");
    assert_eq!(s.equipment_id, "");
    assert_eq!(s.connector_id, "MA01H3BQ2000101");
    assert_eq!(s.status, ConnectorState::Charging);
    assert_eq!(s.raw_status, "3");
    assert_eq!((s.ts, s.received_at), (received(), received()));
    assert_eq!(s.power_kw, None);
    assert_eq!(s.source, "tcec");
}

#[test]
fn every_status_code_maps() {
    for (code, state) in [
        (json!(0), ConnectorState::Offline),
        (json!(1), ConnectorState::Available),
        (json!("2"), ConnectorState::Occupied),
        (json!(3), ConnectorState::Charging),
        (json!(4), ConnectorState::Reserved),
        (json!(255), ConnectorState::Faulted),
        (json!(21501), ConnectorState::Unknown),
    ] {
        let ev = events(
            "notification_stationStatus",
            Origin::Push,
            &json!({"ConnectorStatusInfo": {"ConnectorID": "C1", "Status": code}}),
        );
        let [ChargingEvent::Status(s)] = ev.as_slice() else {
            panic!("{ev:?}")
        };
        assert_eq!(s.status, state, "{code}");
        assert_eq!(s.raw_status, code.to_string().trim_matches('"'));
    }
}

#[test]
fn station_status_answer_groups_by_station_with_supervision_fields() {
    let ev = events(
        "query_station_status",
        Origin::Poll,
        &json!({"Total": 2, "StationStatusInfos": [
            {"StationID": "ST0001", "ConnectorStatusInfos": [
                {"ConnectorID": "EQ01-1", "EquipmentID": "EQ01", "Status": 3,
                 "VoltageA": 400, "CurrentA": "100", "SOC": 55.5},
                {"ConnectorID": "EQ01-2", "Status": 1}]},
            {"StationID": "ST0002", "ConnectorStatusInfos": []}]}),
    );
    let rows: Vec<_> = ev
        .iter()
        .map(|e| match e {
            ChargingEvent::Status(s) => s,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].station_id, "ST0001");
    assert_eq!(rows[0].equipment_id, "EQ01");
    assert_eq!(rows[0].power_kw, Some(40.0));
    assert_eq!(rows[0].soc_pct, Some(55.5));
    assert_eq!(rows[1].equipment_id, "");
    assert_eq!(rows[1].status, ConnectorState::Available);
}

#[test]
fn charge_order_becomes_a_session_in_beijing_time() {
    let ev = events(
        "notification_charge_order_info",
        Origin::Push,
        &json!({
            "StartChargeSeq": "MA01H3BQ2123456789012345678", "ConnectorID": "EQ01-1",
            "StartTime": "2024-03-01 10:00:00", "EndTime": "2024-03-01 11:00:00",
            "TotalPower": "20.5", "TotalElectMoney": "16.4", "TotalServiceMoney": "8.2",
            "TotalMoney": 24.6, "StopReason": 2, "SumPeriod": 0, "StationID": "ST0001"
        }),
    );
    let [ChargingEvent::Session(s)] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert_eq!(s.session_id, "MA01H3BQ2123456789012345678");
    assert_eq!(s.operator_id, OP);
    assert_eq!(s.station_id, "ST0001");
    assert_eq!(s.equipment_id, "");
    assert_eq!(s.connector_id, "EQ01-1");
    assert_eq!(
        s.start_ts.to_rfc3339(BEIJING_OFFSET_SECS),
        "2024-03-01T10:00:00+08:00"
    );
    assert_eq!(s.end_ts.as_secs() - s.start_ts.as_secs(), 3600);
    assert_eq!(s.received_at, received());
    assert_eq!(s.energy_kwh, Some(20.5));
    assert_eq!(s.fee_total, Some(24.6));
    assert_eq!(s.stop_reason.as_deref(), Some("bms"));
    assert_eq!(s.id_tag, None);
}

#[test]
fn charge_status_push_gives_status_and_meter_flat_or_wrapped() {
    let status = json!({
        "StartChargeSeq": "MA01H3BQ2123456789012345678", "StartChargeSeqStat": 2,
        "ConnectorID": "EQ01-1", "ConnectorStatus": 3, "CurrentA": 100, "VoltageA": 400,
        "Soc": 60, "StartTime": "2024-03-01 10:00:00", "EndTime": "2024-03-01 10:30:00",
        "TotalPower": 10.25, "ElecMoney": 8.2, "SeviceMoney": 4.1, "TotalMoney": 12.3
    });
    for (interface, data) in [
        ("notification_equip_charge_status", status.clone()),
        (
            "notification_connector_charge_status",
            json!({"ConnectorChargeStatusInfo": status}),
        ),
    ] {
        let ev = events(interface, Origin::Push, &data);
        let [ChargingEvent::Status(s), ChargingEvent::Meter { .. }] = ev.as_slice() else {
            panic!("{interface}: {ev:?}")
        };
        assert_eq!(s.status, ConnectorState::Charging);
        assert_eq!(
            s.ts.to_rfc3339(BEIJING_OFFSET_SECS),
            "2024-03-01T10:30:00+08:00"
        );
        assert_eq!(s.power_kw, Some(40.0));
        let ChargingEvent::Meter {
            operator_id,
            connector_id,
            session_id,
            ts,
            energy_wh,
            power_kw,
            soc_pct,
        } = &ev[1]
        else {
            unreachable!()
        };
        assert_eq!(operator_id, OP);
        assert_eq!(connector_id, "EQ01-1");
        assert_eq!(session_id.as_deref(), Some("MA01H3BQ2123456789012345678"));
        assert_eq!(*ts, s.ts);
        assert_eq!(*energy_wh, Some(10250.0));
        assert_eq!(*power_kw, Some(40.0));
        assert_eq!(*soc_pct, Some(60.0));
    }
}

#[test]
fn undecodable_or_other_messages_give_no_events() {
    // Vector 1's plaintext: lower-case keys and a trailing comma, not JSON.
    let v1 = br#"{"total":1,"stationStatusInfo":{"operationID":"123456789","stationID":"111111111111111","connectorStatusInfos":{"connectorID":1,"equipmentID":"10000000000000000000001","status":4,"currentA":0,"currentB":0,"currentC":0,"voltageA":0,"voltageB":0,"voltageC":0,"soc":10,}}}"#;
    for (interface, data) in [
        ("query_station_status", &v1[..]),
        ("notification_stationStatus", b"not json"),
        ("notification_stationStatus", b"{\"ConnectorStatusInfo\":{}}"),
        ("notification_stationInfo", b"[]"),
        ("notification_charge_order_info", b"{\"StartChargeSeq\":\"1\",\"ConnectorID\":\"C\",\"StartTime\":\"soon\",\"EndTime\":\"later\"}"),
        ("query_station_stats", b"{\"StationStats\":{\"StationID\":\"ST0001\",\"StationElectricity\":12}}"),
        ("notification_alarmInfo", b"{}"),
        ("no_such_interface", b"{}"),
        ("notification_stationStatus", &[0xFF, 0xFE, 0x00][..]),
    ] {
        let ev = to_events(&stored(interface, Origin::Push, data), received());
        assert!(ev.is_empty(), "{interface}: {ev:?}");
    }
}

#[test]
fn interface_names_match_without_regard_to_case() {
    let ev = events(
        "notification_stationstatus",
        Origin::Push,
        &json!({"ConnectorStatusInfo": {"ConnectorID": "C1", "Status": 1}}),
    );
    assert_eq!(ev.len(), 1);
    assert_eq!(
        proto_tcec::charging::interface::canonical_push("NOTIFICATION_STATIONINFO"),
        Some("notification_stationInfo")
    );
}

mod never_panics {
    use proptest::prelude::*;

    use super::*;

    const INTERFACES: [&str; 8] = [
        "notification_stationInfo",
        "query_stations_info",
        "notification_stationStatus",
        "query_station_status",
        "notification_charge_order_info",
        "notification_equip_charge_status",
        "notification_connector_charge_status",
        "query_station_stats",
    ];

    fn json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            "[0-9 :-]{0,20}".prop_map(serde_json::Value::String),
        ];
        let keys = prop_oneof![
            Just("StationID".to_owned()),
            Just("ConnectorID".to_owned()),
            Just("Status".to_owned()),
            Just("StartTime".to_owned()),
            Just("EndTime".to_owned()),
            Just("StartChargeSeq".to_owned()),
            Just("ConnectorStatusInfo".to_owned()),
            Just("StationInfo".to_owned()),
            Just("EquipmentInfos".to_owned()),
            Just("ConnectorInfos".to_owned()),
            Just("StationStatusInfos".to_owned()),
            Just("ConnectorStatusInfos".to_owned()),
            Just("PageNo".to_owned()),
            Just("PageCount".to_owned()),
            Just("ItemSize".to_owned()),
            Just("Total".to_owned()),
            Just("ProductionDate".to_owned()),
            Just("Power".to_owned()),
        ];
        leaf.prop_recursive(4, 48, 8, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map(keys.clone(), inner, 0..8)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes(i in 0..INTERFACES.len(), data in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = to_events(&stored(INTERFACES[i], Origin::Push, &data), received());
        }

        #[test]
        fn arbitrary_json_of_the_right_vocabulary(i in 0..INTERFACES.len(), v in json()) {
            let _ = to_events(&stored(INTERFACES[i], Origin::Poll, v.to_string().as_bytes()), received());
        }
    }
}
