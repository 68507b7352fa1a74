//! Typed field checks on decoded messages: the values a CSMS acts on, vendor deviations that
//! must be tolerated, and building the CSMS's own calls.

use proto_ocpp::{
    DateTime, Measurand, Phase, ReadingContext, Request, Response, Version, decode_call,
    decode_result, encode_result, v16, v201,
};
use serde_json::json;

fn v16_call(action: &str, payload: serde_json::Value) -> v16::Request {
    match decode_call(Version::V16, action, payload).unwrap() {
        Request::V16(r) => r,
        other => panic!("{other:?}"),
    }
}

fn v201_call(action: &str, payload: serde_json::Value) -> v201::Request {
    match decode_call(Version::V201, action, payload).unwrap() {
        Request::V201(r) => r,
        other => panic!("{other:?}"),
    }
}

#[test]
fn v16_meter_values_fields() {
    let req = v16_call(
        "MeterValues",
        json!({"connectorId": 2, "transactionId": 1001, "meterValue": [{
        "timestamp": "2026-11-27T08:05:00Z",
        "sampledValue": [
            {"value": "1236567", "context": "Sample.Periodic", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": "229.8", "measurand": "Voltage", "phase": "L1-N", "unit": "V"},
            {"value": "41", "measurand": "Temperature", "unit": "Celcius"},
            {"value": "100"},
            {"value": "AAEC", "format": "SignedData"}
        ]}]}),
    );
    let v16::Request::MeterValues(mv) = req else {
        panic!()
    };
    assert_eq!(mv.transaction_id, Some(1001));
    let mv0 = &mv.meter_value[0];
    assert_eq!(mv0.timestamp.timestamp().unwrap().as_secs(), 1_795_766_700);
    let s = &mv0.sampled_value;
    assert_eq!(s[0].context, Some(ReadingContext::SamplePeriodic));
    assert_eq!(s[0].number(), Some(1_236_567.0));
    assert_eq!(s[1].phase, Some(Phase::L1N));
    // The misspelling real chargers send is read, and written the schema's way.
    assert_eq!(s[2].unit, Some(v16::UnitOfMeasure::Celsius));
    assert_eq!(serde_json::to_value(s[2].unit).unwrap(), json!("Celsius"));
    assert_eq!(
        s[3].measurand_or_default(),
        Measurand::EnergyActiveImportRegister
    );
    assert_eq!(s[4].number(), None);
}

#[test]
fn unknown_fields_are_tolerated() {
    let req = v16_call(
        "BootNotification",
        json!({"chargePointVendor": "V", "chargePointModel": "M", "vendorExtra": {"x": 1}}),
    );
    let v16::Request::BootNotification(boot) = req else {
        panic!()
    };
    assert_eq!(boot.charge_point_model.as_str(), "M");
    assert_eq!(boot.firmware_version, None);

    let req = v201_call(
        "Heartbeat",
        json!({"customData": {"vendorId": "com.example", "extra": true}}),
    );
    assert_eq!(req, v201::Request::Heartbeat(v201::HeartbeatRequest {}));
}

#[test]
fn v16_charging_profile_units_and_periods() {
    let req = v16_call(
        "SetChargingProfile",
        json!({"connectorId": 0, "csChargingProfiles": {
        "chargingProfileId": 1, "stackLevel": 0,
        "chargingProfilePurpose": "ChargePointMaxProfile", "chargingProfileKind": "Absolute",
        "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 11000}, {"startPeriod": 3600, "limit": 7400.5, "numberPhases": 1}
        ]}}}),
    );
    let v16::Request::SetChargingProfile(p) = req else {
        panic!()
    };
    let sched = &p.cs_charging_profiles.charging_schedule;
    assert_eq!(sched.charging_rate_unit, v16::ChargingRateUnit::W);
    assert_eq!(sched.charging_schedule_period[0].limit, 11000.0);
    assert_eq!(sched.charging_schedule_period[1].limit, 7400.5);
    assert_eq!(sched.charging_schedule_period[1].number_phases, Some(1));
    assert_eq!(
        p.cs_charging_profiles.charging_profile_purpose,
        v16::ChargingProfilePurpose::ChargePointMaxProfile
    );
}

#[test]
fn v201_transaction_event_fields() {
    let req = v201_call(
        "TransactionEvent",
        json!({"eventType": "Ended", "timestamp": "2026-11-27T09:00:00Z", "triggerReason": "EVDeparted",
               "seqNo": 9, "offline": true,
               "transactionInfo": {"transactionId": "tx-1", "chargingState": "Idle", "stoppedReason": "EVDisconnected"},
               "idToken": {"idToken": "ABC", "type": "eMAID"},
               "evse": {"id": 1, "connectorId": 2},
               "meterValue": [{"timestamp": "2026-11-27T09:00:00Z", "sampledValue": [
                   {"value": 7.2, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W", "multiplier": 3}}]}]}),
    );
    let v201::Request::TransactionEvent(ev) = req else {
        panic!()
    };
    assert_eq!(ev.event_type, v201::TransactionEventType::Ended);
    assert_eq!(ev.seq_no, 9);
    assert_eq!(ev.offline, Some(true));
    assert_eq!(ev.transaction_info.transaction_id.as_str(), "tx-1");
    assert_eq!(
        ev.transaction_info.stopped_reason,
        Some(v201::StoppedReason::EVDisconnected)
    );
    assert_eq!(ev.id_token.unwrap().kind, v201::IdTokenType::EMaid);
    assert_eq!(ev.evse.unwrap().connector_id, Some(2));
    let sv = &ev.meter_value.unwrap()[0].sampled_value[0];
    assert_eq!(sv.scaled(), 7200.0);
}

#[test]
fn v201_transaction_id_bound() {
    let err = decode_call(
        Version::V201,
        "RequestStopTransaction",
        json!({"transactionId": "x".repeat(37)}),
    )
    .unwrap_err();
    assert_eq!(err.code, proto_ocpp::ErrorCode::PropertyConstraintViolation);
}

#[test]
fn csms_answers_a_boot() {
    let now = model::Timestamp::from_secs(1_795_766_400);
    let res = Response::V16(v16::Response::BootNotification(
        v16::BootNotificationResponse {
            status: v16::RegistrationStatus::Accepted,
            current_time: DateTime::from_timestamp(now),
            interval: 300,
        },
    ));
    assert_eq!(
        encode_result("19223201", &res),
        r#"[3,"19223201",{"status":"Accepted","currentTime":"2026-11-27T08:00:00Z","interval":300}]"#
    );
}

#[test]
fn charger_answers_are_typed() {
    let res = decode_result(
        Version::V201,
        "RequestStartTransaction",
        json!({"status": "Accepted", "transactionId": "tx-9"}),
    )
    .unwrap();
    let Response::V201(v201::Response::RequestStartTransaction(r)) = res else {
        panic!()
    };
    assert_eq!(r.status, v201::RequestStartStopStatus::Accepted);
    assert_eq!(r.transaction_id.unwrap().as_str(), "tx-9");
}
