//! Fuzz target for T/CEC 102: no request or response body, Data field or payload may make the
//! envelope, the decryption, the replay guard or the data models panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::Timestamp;
use proto_tcec::model::{ChargeOrderInfo, ConnectorStatusInfo, StationInfo};
use proto_tcec::{PeerSecrets, ReplayGuard, Request, Response, decode_json, decrypt_data};

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
});
