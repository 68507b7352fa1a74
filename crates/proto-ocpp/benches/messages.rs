//! Per-message cost of the OCPP-J paths a CSMS runs for every charger message: `receive` (frame
//! parse and `decode_call` to the typed request) of a 1.6 `MeterValues` with four sampled values
//! and of a 2.0.1 `TransactionEvent` (`Updated`) with four, the `encode_result` of a 1.6
//! `StartTransaction` answer, and on the stored side `to_events` of a stored `MeterValues` and
//! the stored form's encode + decode.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use model::Timestamp;
use proto_ocpp::v16::{AuthorizationStatus, IdTagInfo, StartTransactionResponse};
use proto_ocpp::{
    DEFAULT_MAX_MESSAGE_LEN, Incoming, Response, Stored, Version, decode_stored, encode_result,
    encode_stored, receive, to_events, v16,
};

/// A periodic 1.6 `MeterValues`: energy register, power, current on L1 and the EV's SoC.
const V16_METER_VALUES: &str = concat!(
    r#"[2,"m1","MeterValues",{"connectorId":2,"transactionId":1001,"meterValue":[{"timestamp":"2026-11-27T08:05:00Z","sampledValue":["#,
    r#"{"value":"1236567","context":"Sample.Periodic","format":"Raw","measurand":"Energy.Active.Import.Register","location":"Outlet","unit":"Wh"},"#,
    r#"{"value":"7.20","context":"Sample.Periodic","measurand":"Power.Active.Import","unit":"kW"},"#,
    r#"{"value":"31.9","context":"Sample.Periodic","measurand":"Current.Import","phase":"L1","unit":"A"},"#,
    r#"{"value":"56","context":"Sample.Periodic","measurand":"SoC","location":"EV","unit":"Percent"}]}]}]"#
);

/// A periodic 2.0.1 `TransactionEvent` (`Updated`), the same four quantities.
const V201_TX_UPDATED: &str = concat!(
    r#"[2,"e2","TransactionEvent",{"eventType":"Updated","meterValue":[{"sampledValue":["#,
    r#"{"value":1236567,"measurand":"Energy.Active.Import.Register","location":"Outlet","unitOfMeasure":{"unit":"Wh"}},"#,
    r#"{"value":7.2,"measurand":"Power.Active.Import","unitOfMeasure":{"unit":"W","multiplier":3}},"#,
    r#"{"value":31.9,"measurand":"Current.Import","phase":"L1","location":"Outlet","unitOfMeasure":{"unit":"A"}},"#,
    r#"{"value":56,"measurand":"SoC","location":"EV","unitOfMeasure":{"unit":"Percent"}}],"#,
    r#""timestamp":"2026-11-27T08:17:00Z"}],"timestamp":"2026-11-27T08:17:00Z","triggerReason":"MeterValuePeriodic","#,
    r#""seqNo":3,"evse":{"id":1,"connectorId":1},"transactionInfo":{"transactionId":"a7b3c1d2-0001","chargingState":"Charging","timeSpentCharging":900}}]"#
);

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ocpp_receive");
    g.throughput(Throughput::Elements(1));
    let cases = [
        (
            Version::V16,
            "v16_MeterValues",
            V16_METER_VALUES,
            "MeterValues",
        ),
        (
            Version::V201,
            "v201_TransactionEvent_Updated",
            V201_TX_UPDATED,
            "TransactionEvent",
        ),
    ];
    for (version, name, text, action) in cases {
        match receive(version, text, DEFAULT_MAX_MESSAGE_LEN) {
            Incoming::Call { request, .. } => assert_eq!(request.action(), action),
            other => panic!("{name} does not decode: {other:?}"),
        }
        g.bench_function(format!("{name}_{}B", text.len()), |b| {
            b.iter(|| receive(version, black_box(text), DEFAULT_MAX_MESSAGE_LEN));
        });
    }
    g.finish();

    let answer = Response::V16(v16::Response::StartTransaction(StartTransactionResponse {
        id_tag_info: IdTagInfo {
            expiry_date: None,
            parent_id_tag: None,
            status: AuthorizationStatus::Accepted,
        },
        transaction_id: 1001,
    }));
    assert_eq!(
        encode_result("t1", &answer),
        r#"[3,"t1",{"idTagInfo":{"status":"Accepted"},"transactionId":1001}]"#
    );
    let mut g = c.benchmark_group("ocpp_encode_result");
    g.throughput(Throughput::Elements(1));
    g.bench_function("v16_StartTransaction", |b| {
        b.iter(|| encode_result(black_box("t1"), black_box(&answer)));
    });
    g.finish();

    let stored = Stored {
        charge_point: "CP-0001".to_owned(),
        version: Version::V16,
        station_id: "depot-1".to_owned(),
        transaction_id: None,
        connector: None,
        text: V16_METER_VALUES.to_owned(),
    };
    let received = Timestamp::from_secs(1_795_766_700);
    let events = to_events(&stored, received).len();
    assert!(events > 0, "a stored MeterValues says something");
    let bytes = encode_stored(&stored).expect("encodes");
    let mut g = c.benchmark_group(format!("ocpp_stored_v16_MeterValues_{}B", bytes.len()));
    g.throughput(Throughput::Elements(1));
    g.bench_function(format!("to_events_{events}"), |b| {
        b.iter(|| to_events(black_box(&stored), received));
    });
    g.bench_function("encode_decode_stored", |b| {
        b.iter(|| {
            let bytes = encode_stored(black_box(&stored)).expect("encodes");
            decode_stored(&bytes).expect("decodes")
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
