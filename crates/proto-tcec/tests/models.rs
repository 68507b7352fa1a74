//! The payload models: the field-name variants real operators send, numbers as strings, ids
//! as numbers, lists as strings, unknown enumeration codes, and strict re-encoding.

use proto_tcec::codes::{
    ConnectorStatus, ConnectorType, Construction, EquipmentType, NationalStandard, StationStatus,
    StationType, StopReason, SuccStat, TokenFailReason,
};
use proto_tcec::model::{
    ChargeOrderInfo, ChargeOrderInfoResponse, NotificationResponse, NotificationStationStatus,
    QueryStationStatsRequest, QueryStationStatsResponse, QueryStationStatusRequest,
    QueryStationStatusResponse, QueryStationsInfoRequest, QueryStationsInfoResponse,
    QueryTokenResponse, StationInfo,
};
use proto_tcec::{Error, decode_json, encode_json};
use serde_json::{Value, json};

fn decode<T: serde::de::DeserializeOwned>(v: &Value) -> T {
    decode_json(v.to_string().as_bytes()).unwrap()
}

#[test]
fn service_spellings_of_the_standard_and_of_didi_both_decode() {
    let standard = json!({
        "StartChargeSeq": "MA01H3BQ2123456789012345678", "ConnectorID": "C1",
        "StartTime": "2024-03-01 10:00:00", "EndTime": "2024-03-01 11:00:00",
        "TotalPower": 20.5, "TotalElecMoney": 16.4, "TotalSeviceMoney": 8.2, "TotalMoney": 24.6,
        "StopReason": 2, "SumPeriod": 1,
        "ChargeDetails": [{"DetailStartTime": "2024-03-01 10:00:00",
            "DetailEndTime": "2024-03-01 11:00:00", "ElecPrice": 0.8, "SevicePrice": 0.4,
            "DetailPower": 20.5, "DetailElecMoney": 16.4, "DetailSeviceMoney": 8.2}]
    });
    let didi = json!({
        "StartChargeSeq": "MA01H3BQ2123456789012345678", "ConnectorID": "C1",
        "StartTime": "2024-03-01 10:00:00", "EndTime": "2024-03-01 11:00:00",
        "TotalPower": "20.5", "TotalElectMoney": "16.4", "TotalServiceMoney": "8.2",
        "TotalMoney": "24.6", "StopReason": "2", "SubPeriod": "1",
        "ChargeDetails": [{"DetailStartTime": "2024-03-01 10:00:00",
            "DetailEndTime": "2024-03-01 11:00:00", "ElecPrice": "0.8", "ServicePrice": "0.4",
            "DetailPower": "20.5", "DetailElectMoney": "16.4", "DetailServiceMoney": "8.2"}]
    });
    let a: ChargeOrderInfo = decode(&standard);
    let b: ChargeOrderInfo = decode(&didi);
    assert_eq!(a, b);
    assert_eq!(a.total_sevice_money, Some(8.2));
    assert_eq!(a.total_elec_money, Some(16.4));
    assert_eq!(a.sum_period, Some(1));
    assert_eq!(a.stop_reason, Some(StopReason::Bms));
    assert_eq!(a.charge_details[0].sevice_price, Some(0.4));
    assert_eq!(a.charge_details[0].detail_sevice_money, Some(8.2));
    // Encoding is strict: the 2016 spelling, numbers as numbers.
    let back: Value = serde_json::from_slice(&encode_json(&b)).unwrap();
    assert_eq!(back, standard);
}

#[test]
fn station_info_tolerates_strings_for_numbers_and_lists() {
    let v = json!({
        "StationID": 1001, "OperatorID": "MA01H3BQ2", "EquipmentOwnerID": "MA01H3BQ2",
        "StationName": "河西充电站", "CountryCode": "CN", "AreaCode": "120103",
        "Address": "天津市河西区", "ServiceTel": "022-12345678",
        "StationType": "1", "StationStatus": 50, "ParkNums": "20",
        "StationLng": "117.217", "StationLat": 39.1, "Construction": 255,
        "Pictures": "[\"http://a/1.jpg\",\"http://a/2.jpg\"]",
        "BusinessHours": "00:00-24:00", "OperatorType": 1, "SupportOrder": "0",
        "NewFieldFromSomeOperator": {"kept": false},
        "EquipmentInfos": [{
            "EquipmentID": "E1", "EquipmentType": 1, "Power": "120.0", "ProductionDate": "2023-01-01",
            "ConnectorInfos": [{"ConnectorID": "E1-1", "ConnectorType": 4,
                "VoltageUpperLimits": 750, "VoltageLowerLimits": "200", "Current": 250,
                "Power": 120, "NationalStandard": 2}]
        }]
    });
    let s: StationInfo = decode(&v);
    assert_eq!(s.station_id, "1001");
    assert_eq!(s.station_type, Some(StationType::Public));
    assert_eq!(s.station_status, Some(StationStatus::InUse));
    assert_eq!(s.construction, Some(Construction::Other255));
    assert_eq!(s.park_nums, Some(20));
    assert_eq!((s.station_lng, s.station_lat), (Some(117.217), Some(39.1)));
    assert_eq!(s.pictures, ["http://a/1.jpg", "http://a/2.jpg"]);
    assert_eq!(s.busine_hours.as_deref(), Some("00:00-24:00"));
    assert_eq!(s.oprator_type, Some(1));
    assert_eq!(s.support_order, Some(0));
    let e = &s.equipment_infos[0];
    assert_eq!(
        (e.equipment_type, e.power),
        (Some(EquipmentType::Dc), Some(120.0))
    );
    let c = &e.connector_infos[0];
    assert_eq!(c.connector_type, Some(ConnectorType::DcPlug));
    assert_eq!(c.voltage_lower_limits, Some(200.0));
    assert_eq!(c.national_standard, Some(NationalStandard::Gbt2015));
    let strict: Value = serde_json::from_slice(&encode_json(&s)).unwrap();
    assert_eq!(strict["StationLng"], json!(117.217));
    assert_eq!(strict["StationID"], json!("1001"));
    assert_eq!(strict["BusineHours"], json!("00:00-24:00"));
    assert_eq!(strict["OpratorType"], json!(1));
    assert!(strict.get("NewFieldFromSomeOperator").is_none());
}

#[test]
fn pictures_as_a_plain_or_comma_separated_string() {
    let s: StationInfo = decode(&json!({"StationID": "1", "Pictures": "a.jpg, b.jpg"}));
    assert_eq!(s.pictures, ["a.jpg", "b.jpg"]);
    let s: StationInfo = decode(&json!({"StationID": "1", "Pictures": ""}));
    assert!(s.pictures.is_empty());
}

#[test]
fn connector_status_codes_including_unknown_ones() {
    for (code, status) in [
        (0, ConnectorStatus::Offline),
        (1, ConnectorStatus::Idle),
        (2, ConnectorStatus::OccupiedNotCharging),
        (3, ConnectorStatus::Charging),
        (4, ConnectorStatus::Reserved),
        (255, ConnectorStatus::Fault),
        (21501, ConnectorStatus::Other(21501)),
    ] {
        let n: NotificationStationStatus =
            decode(&json!({"ConnectorStatusInfo": {"ConnectorID": "C1", "Status": code}}));
        assert_eq!(n.connector_status_info.status, status);
        assert_eq!(status.code(), code);
        let back: Value = serde_json::from_slice(&encode_json(&n)).unwrap();
        assert_eq!(back["ConnectorStatusInfo"]["Status"], json!(code));
    }
}

#[test]
fn supervision_fields_and_lowercase_keys_of_the_standard_sample() {
    // The shape of T/CEC 102.4 Appendix C's plaintext, without its trailing comma.
    let v = json!({"total": 1, "stationStatusInfos": [{"stationID": "111111111111111",
        "connectorStatusInfos": [{"connectorID": 1, "equipmentID": "10000000000000000000001",
        "status": 4, "currentA": 0, "currentB": "0", "currentC": 0, "voltageA": 220.5,
        "voltageB": 0, "voltageC": 0, "soc": 10}]}]});
    let r: QueryStationStatusResponse = decode(&v);
    assert_eq!(r.total, 1);
    let c = &r.station_status_infos[0].connector_status_infos[0];
    assert_eq!(c.connector_id, "1");
    assert_eq!(c.equipment_id.as_deref(), Some("10000000000000000000001"));
    assert_eq!(c.status, ConnectorStatus::Reserved);
    assert_eq!(
        (c.current_b, c.voltage_a, c.soc),
        (Some(0.0), Some(220.5), Some(10.0))
    );
    let strict: Value = serde_json::from_slice(&encode_json(&r)).unwrap();
    assert_eq!(
        strict["StationStatusInfos"][0]["ConnectorStatusInfos"][0]["SOC"],
        json!(10.0)
    );
}

#[test]
fn station_ids_as_a_string_holding_an_array() {
    let a: QueryStationStatusRequest = decode(&json!({"StationIDs": ["1", "2"]}));
    let b: QueryStationStatusRequest = decode(&json!({"StationIDs": "[\"1\",\"2\"]"}));
    assert_eq!(a, b);
    assert_eq!(a.station_ids, ["1", "2"]);
    assert_eq!(encode_json(&b), br#"{"StationIDs":["1","2"]}"#);
}

#[test]
fn query_stations_info_paging() {
    let r: QueryStationsInfoRequest = decode(&json!({"LastQueryTime": "", "PageNo": "2"}));
    assert_eq!(r.last_query_time.as_deref(), Some(""));
    assert_eq!(r.page(), (2, 10));
    let r: QueryStationsInfoRequest = decode(&json!({}));
    assert_eq!(r.page(), (1, 10));
    let resp: QueryStationsInfoResponse = decode(&json!({"PageNo": 1, "PageCount": "3",
        "ItemSize": 21, "StationInfos": [{"StationID": "S1"}]}));
    assert_eq!((resp.page_no, resp.page_count, resp.item_size), (1, 3, 21));
    assert_eq!(resp.station_infos[0].station_id, "S1");
}

#[test]
fn query_station_stats_round_trip() {
    let req: QueryStationStatsRequest =
        decode(&json!({"StationID": "S1", "StartTime": "2024-03-01", "EndTime": "2024-03-02"}));
    assert_eq!(req.end_time, "2024-03-02");
    let v = json!({"StationStats": {"StationID": "S1", "StartTime": "2024-03-01",
        "EndTime": "2024-03-02", "StationElectricity": 100.5,
        "EquipmentStatsInfos": [{"EquipmentID": "E1", "EquipmentElectricity": 100.5,
            "ConnectorStatsInfos": [{"ConnectorID": "E1-1", "ConnectorElectricity": 100.5}]}]}});
    let r: QueryStationStatsResponse = decode(&v);
    let back: Value = serde_json::from_slice(&encode_json(&r)).unwrap();
    assert_eq!(back, v);
}

#[test]
fn token_and_notification_responses() {
    let t: QueryTokenResponse = decode(&json!({"OperatorID": "123456789", "SuccStat": 1,
        "AccessToken": "", "TokenAvailableTime": 0, "FailReason": 2}));
    assert_eq!(t.succ_stat, SuccStat::Failure);
    assert_eq!(t.fail_reason, Some(TokenFailReason::WrongSecret));
    let n: NotificationResponse = decode(&json!({"Status": "1"}));
    assert_eq!(encode_json(&n), br#"{"Status":1}"#);
    let o: ChargeOrderInfoResponse =
        decode(&json!({"StartChargeSeq": "X", "ConnectorID": "C1", "ConfirmResult": 0}));
    assert_eq!(o.confirm_result.code(), 0);
}

#[test]
fn bad_json_names_its_position() {
    let err = decode_json::<NotificationStationStatus>(
        b"{\n  \"ConnectorStatusInfo\": {\"ConnectorID\": \"C1\", \"Status\": \"busy\"}\n}",
    )
    .unwrap_err();
    let Error::Json { line, message, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*line, 2);
    assert!(message.contains("expected an integer"), "{message}");
    assert!(
        err.to_string().starts_with("bad JSON at line 2 column"),
        "{err}"
    );
    let err = decode_json::<StationInfo>(br#"{"StationName": "x"}"#).unwrap_err();
    assert!(
        err.to_string().contains("missing field `StationID`"),
        "{err}"
    );
}
