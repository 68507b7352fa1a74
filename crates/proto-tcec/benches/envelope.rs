//! Per-message cost of the T/CEC 102 path a push takes through the platform: opening a pushed
//! request (parse the body, check operator, shape and HMAC-MD5 signature, replay guard, AES
//! decryption, `decode_json` to the model type), sealing the answer, and on the stored side
//! `to_events` of a `notification_stationInfo` (10 equipment × 2 connectors) and the stored
//! form's encode + decode.
//!
//! The `notification_stationStatus` push and its answer are vectors 4 and 5 of the shared T/CEC
//! 102 vectors (synthetic keys); the set-up checks the benchmarked code reproduces them.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use model::Timestamp;
use proto_tcec::codes::NotificationStatus;
use proto_tcec::model::{NotificationResponse, NotificationStationInfo, NotificationStationStatus};
use proto_tcec::{
    Origin, PeerSecrets, ReplayGuard, Request, Response, Ret, Stored, decode_json, decode_stored,
    encode_json, encode_stored, parse_time_stamp, to_events,
};

const OPERATOR: &str = "MA01H3BQ2";
const TIME_STAMP: &str = "20240301120000";

/// Vector 4: a `notification_stationStatus` request body as the operator posts it.
const STATUS_PUSH: &str = concat!(
    r#"{"OperatorID":"MA01H3BQ2","#,
    r#""Data":"R3+jXIcGCaRssYThV95Fvig2KPIrbUp8Rpogq0a7lqmsgvBbwzO70btNPJt326gzsGG3kHGnQ5CIZIXqE+m9Z8fVx0V8Zy8YPCBzVPMe8c0Qj46LHajXiZ54bNzSqkXOlsL+heCfyRdaL8SV9FV1zw==","#,
    r#""TimeStamp":"20240301120000","Seq":"0001","Sig":"B619E83387A22E0DFFBBA7DE509C32D0"}"#
);
/// Vector 5: the `Data` and `Sig` of the answer to vector 4.
const ANSWER_DATA: &str = "Y2oRDANTIhJEWvoq6/GIfA==";
const ANSWER_SIG: &str = "88F8C7B6F88F4A9506636739E72C6588";

fn secrets() -> PeerSecrets {
    PeerSecrets::new(
        OPERATOR,
        "OperatorSecret16",
        "AbCdEfGh12345678",
        "8765432112345678",
        "SigSecretKey0001",
    )
    .expect("valid secrets")
}

/// A `notification_stationInfo` payload: one public station of `equipment` DC chargers with
/// two connectors each, with the fields real operators fill in.
fn station_info(equipment: usize) -> Vec<u8> {
    let chargers: Vec<String> = (1..=equipment)
        .map(|e| {
            let connectors: Vec<String> = (1..=2)
                .map(|c| {
                    format!(
                        r#"{{"ConnectorID":"MA01H3BQ2{e:03}{c:02}","ConnectorName":"{e}号桩{c}号枪","ConnectorType":4,"VoltageUpperLimits":750,"VoltageLowerLimits":200,"Current":250,"Power":60.0,"ParkNo":"B{e:02}{c}","NationalStandard":2}}"#
                    )
                })
                .collect();
            format!(
                r#"{{"EquipmentID":"MA01H3BQ2{e:03}","ManufacturerID":"MA5FXXXX1","ManufacturerName":"某某电气","EquipmentModel":"DC120-2","ProductionDate":"2023-06-15","EquipmentType":1,"EquipmentLng":117.200983,"EquipmentLat":39.084158,"Power":120.0,"EquipmentName":"{e}号直流桩","ConnectorInfos":[{}]}}"#,
                connectors.join(",")
            )
        })
        .collect();
    format!(
        r#"{{"StationInfo":{{"StationID":"ST0001","OperatorID":"MA01H3BQ2","EquipmentOwnerID":"MA01H3BQ2","StationName":"海河西路公共充电站","CountryCode":"CN","AreaCode":"120101","Address":"天津市和平区海河西路1号","StationTel":"022-12345678","ServiceTel":"400-000-0000","StationType":1,"StationStatus":50,"ParkNums":20,"StationLng":117.200983,"StationLat":39.084158,"SiteGuide":"地下一层B区","Construction":1,"Pictures":["https://example.invalid/1.jpg"],"BusineHours":"00:00-24:00","ElectricityFee":"0.8","ServiceFee":"0.6","ParkFee":"前2小时免费","Payment":"微信,支付宝","SupportOrder":1,"EquipmentInfos":[{}]}}}}"#,
        chargers.join(",")
    )
    .into_bytes()
}

fn bench(c: &mut Criterion) {
    let secrets = secrets();
    let now =
        Timestamp::from_secs(parse_time_stamp(TIME_STAMP).expect("time stamp").as_secs() + 30);
    let received = now;

    // (a) Open a push: body → envelope → signature, replay guard, decryption → model.
    let station = station_info(10);
    let station_push = Request::seal(&secrets, &station, now, 2)
        .expect("seals")
        .to_json();
    let mut g = c.benchmark_group("tcec_open_push");
    g.throughput(Throughput::Elements(1));
    let open_status = |body: &[u8]| {
        // A fresh guard each time: the same request opened twice is (rightly) a replay.
        let mut guard = ReplayGuard::new(ReplayGuard::DEFAULT_WINDOW_SECS, 1024);
        let request = Request::parse(body).expect("parses");
        let plain = request.open(&secrets, &mut guard, now).expect("opens");
        decode_json::<NotificationStationStatus>(&plain).expect("decodes")
    };
    let status = open_status(STATUS_PUSH.as_bytes());
    assert_eq!(status.connector_status_info.connector_id, "MA01H3BQ2000101");
    g.bench_function(format!("stationStatus_{}B", STATUS_PUSH.len()), |b| {
        b.iter(|| open_status(black_box(STATUS_PUSH.as_bytes())));
    });
    g.bench_function(format!("stationInfo_10x2_{}B", station_push.len()), |b| {
        b.iter(|| {
            let mut guard = ReplayGuard::new(ReplayGuard::DEFAULT_WINDOW_SECS, 1024);
            let request = Request::parse(black_box(station_push.as_bytes())).expect("parses");
            let plain = request.open(&secrets, &mut guard, now).expect("opens");
            decode_json::<NotificationStationInfo>(&plain).expect("decodes")
        });
    });
    g.finish();

    // (b) Seal the answer: model → JSON → encryption and signature → body.
    let answer = NotificationResponse {
        status: NotificationStatus::Accepted,
    };
    let seal = |answer: &NotificationResponse| {
        Response::seal(
            &secrets,
            Ret::Ok,
            Ret::Ok.default_msg(),
            Some(&encode_json(answer)),
        )
    };
    let sealed = seal(&answer);
    assert_eq!(
        (sealed.data.as_str(), sealed.sig.as_str()),
        (ANSWER_DATA, ANSWER_SIG),
        "vector 5"
    );
    let mut g = c.benchmark_group("tcec_seal_answer");
    g.throughput(Throughput::Elements(1));
    g.bench_function("notification_response", |b| {
        b.iter(|| seal(black_box(&answer)).to_json());
    });
    g.finish();

    // (c) and (d): the stored stationInfo.
    let stored = Stored {
        operator_id: OPERATOR.to_owned(),
        interface: "notification_stationInfo".to_owned(),
        origin: Origin::Push,
        data: station,
    };
    let bytes = encode_stored(&stored);
    let events = to_events(&stored, received).len();
    assert_eq!(events, 11, "one station and ten chargers");
    let mut g = c.benchmark_group(format!("tcec_stored_stationInfo_10x2_{}B", bytes.len()));
    g.throughput(Throughput::Elements(1));
    g.bench_function(format!("to_events_{events}"), |b| {
        b.iter(|| to_events(black_box(&stored), received));
    });
    g.bench_function("encode_decode_stored", |b| {
        b.iter(|| decode_stored(&encode_stored(black_box(&stored))).expect("decodes"));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
