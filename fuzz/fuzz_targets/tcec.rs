//! Fuzz target for T/CEC 102: no request or response body, Data field or payload may make the
//! envelope, the decryption, the replay guard or the data models panic; no bytes may make the
//! stored form's decoder or `to_events` panic, and stored bytes that decode encode back to
//! exactly themselves (the format is deterministic, see `proto_tcec::stored`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::Timestamp;
use proto_tcec::charging::interface;
use proto_tcec::model::{ChargeOrderInfo, ConnectorStatusInfo, StationInfo};
use proto_tcec::{
    Origin, PeerSecrets, ReplayGuard, Request, Response, Stored, decode_json, decode_stored,
    decrypt_data, encode_stored, to_events,
};

fuzz_target!(|data: &[u8]| {
    let Ok(secrets) = PeerSecrets::new(
        "123456789",
        "1234567890abcdef",
        "1234567890abcdef",
        "1234567890abcdef",
        "1234567890abcdef",
    ) else {
        return;
    };
    let mut guard = ReplayGuard::new(300, 64);
    let now = Timestamp::from_secs(1_700_000_000);
    if let Ok(request) = Request::parse(data) {
        let _ = request.open(&secrets, &mut guard, now);
    }
    if let Ok(response) = Response::parse(data) {
        let _ = response.open(&secrets);
    }
    let _ = decrypt_data(&secrets, &String::from_utf8_lossy(data));
    let _ = decode_json::<StationInfo>(data);
    let _ = decode_json::<ConnectorStatusInfo>(data);
    let _ = decode_json::<ChargeOrderInfo>(data);

    // The bytes as a stored record: decoding is exact, mapping is total.
    if let Ok(stored) = decode_stored(data) {
        assert_eq!(
            encode_stored(&stored),
            data,
            "stored bytes do not re-encode exactly"
        );
        let _ = to_events(&stored, now);
    }
    // The bytes as the Data of every interface the mapping reads.
    for name in interface::PUSHES.into_iter().chain([
        interface::QUERY_STATIONS_INFO,
        interface::QUERY_STATION_STATUS,
    ]) {
        let stored = Stored {
            operator_id: "123456789".to_owned(),
            interface: name.to_owned(),
            origin: Origin::Push,
            data: data.to_vec(),
        };
        let _ = to_events(&stored, now);
    }
});
