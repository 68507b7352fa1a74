//! Every vector of `shared/vectors/tcec102.md` (T/CEC 102.4 Appendix C, the Xiaoju query_token
//! pair, the synthetic vectors 4–8), and the OCR-corrupted copy of vector 1 that must fail.

use model::Timestamp;
use proto_tcec::{
    Error, PeerSecrets, ReplayGuard, Request, Response, Ret, decode_json, decrypt_data,
    encrypt_data, model::QueryTokenResponse, parse_time_stamp, request_sig, response_sig,
};

const V1_DATA: &str = "il7B0BSEjFdzpyKzfOFpvg/Se1CP802RItKYFPfSLRxJ3jf0bVl9hvYOEktPAYW2nd7S8MBcyHYyacHKbISq5iTmDzG+ivnR+SZJv3USNTYVMz9rCQVSxd0cLlqsJauko79NnwQJbzDTyLooYoIwz75qBOH2/xOMirpeEqRJrF/EQjWekJmGk9RtboXePu2rka+Xm51syBPhiXJAq0GfbfaFu9tNqs/e2Vjja/ltE1M0lqvxfXQ6da6HrThsm5id4ClZFIi0acRfrsPLRixS/IQYtksxghvJwbqOsbIsITail9Ayy4tKcogeEZiOO+4Ed264NSKmk7l3wKwJLAFjCFogBx8GE3OBz4pqcAn/ydA=";
const V1_PLAIN: &str = r#"{"total":1,"stationStatusInfo":{"operationID":"123456789","stationID":"111111111111111","connectorStatusInfos":{"connectorID":1,"equipmentID":"10000000000000000000001","status":4,"currentA":0,"currentB":0,"currentC":0,"voltageA":0,"voltageB":0,"voltageC":0,"soc":10,}}}"#;
const V1_SIG: &str = "745166E8C43C84D37FFEC0F529C4136F";

/// The standard's sample keys (vectors 1–3).
fn sample() -> PeerSecrets {
    PeerSecrets::new(
        "123456789",
        "1234567890abcdef",
        "1234567890abcdef",
        "1234567890abcdef",
        "1234567890abcdef",
    )
    .unwrap()
}

/// The synthetic keys of vectors 4–8: all different, so mix-ups show.
fn synthetic() -> PeerSecrets {
    PeerSecrets::new(
        "MA01H3BQ2",
        "OperatorSecret16",
        "AbCdEfGh12345678",
        "8765432112345678",
        "SigSecretKey0001",
    )
    .unwrap()
}

fn at(time_stamp: &str) -> Timestamp {
    parse_time_stamp(time_stamp).unwrap()
}

/// The corrupted copy circulating in public Go files (star-charge clients): 0/O and l/I/1
/// confusions from OCR. (The notes print the second fragment as `YolwzT5`; the files read
/// `Yolwz75`, and only that spelling gives the HMAC the notes measured.)
fn v1_ocr_corrupted() -> String {
    let mut data = V1_DATA.to_owned();
    for (good, bad) in [
        ("jf0bVl9hv", "jfObV19hv"),
        ("YoIwz75", "Yolwz75"),
        ("ClZFIi0acR", "ClZFliOacR"),
        ("OsbIsITa", "OsblsITa"),
        ("Kmk7l3wK", "Kmk713wK"),
    ] {
        assert!(data.contains(good), "{good} not in vector 1");
        data = data.replacen(good, bad, 1);
    }
    data
}

#[test]
fn vector1_appendix_c_encrypt_decrypt_sign() {
    let s = sample();
    assert_eq!(encrypt_data(&s, V1_PLAIN.as_bytes()), V1_DATA);
    assert_eq!(decrypt_data(&s, V1_DATA).unwrap(), V1_PLAIN.as_bytes());
    assert_eq!(
        request_sig(&s, "123456789", V1_DATA, "20160729142400", "0001"),
        V1_SIG
    );
}

#[test]
fn vector1_opens_as_a_request_but_its_json_is_not_strict() {
    let s = sample();
    let req = Request {
        operator_id: "123456789".into(),
        data: V1_DATA.into(),
        time_stamp: "20160729142400".into(),
        seq: "0001".into(),
        sig: V1_SIG.into(),
    };
    let mut guard = ReplayGuard::default();
    let plain = req.open(&s, &mut guard, at("20160729142400")).unwrap();
    assert_eq!(plain, V1_PLAIN.as_bytes());
    // The trailing comma of the standard's own sample is refused with its position.
    let err = decode_json::<serde_json::Value>(&plain).unwrap_err();
    assert!(
        err.to_string().starts_with("bad JSON at line 1 column"),
        "{err}"
    );
    assert_eq!(err.ret(), Ret::BadData);
}

#[test]
fn vector1_ocr_corrupted_copy_is_rejected() {
    let s = sample();
    let bad = v1_ocr_corrupted();
    // The corrupted text is signed by nobody: its HMAC is the one the notes measured.
    assert_eq!(
        request_sig(&s, "123456789", &bad, "20160729142400", "0001"),
        "479B7C2FB14A499CA3F5B1FC2A0F4C1B"
    );
    let req = Request {
        operator_id: "123456789".into(),
        data: bad.clone(),
        time_stamp: "20160729142400".into(),
        seq: "0001".into(),
        sig: V1_SIG.into(),
    };
    let mut guard = ReplayGuard::default();
    let err = req.open(&s, &mut guard, at("20160729142400")).unwrap_err();
    assert_eq!(err, Error::BadSignature);
    assert_eq!(err.to_string(), "bad signature");
    assert_eq!(err.ret(), Ret::SignatureError);
    // Refused before decryption, so the guard did not remember it.
    assert!(guard.is_empty());
    // Decrypted anyway, it still unpads: only the MAC catches it. The first corrupted
    // ciphertext byte is 35, so CBC garbles the whole plaintext block from byte 32 on.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let first_diff = |a: &[u8], b: &[u8]| a.iter().zip(b).position(|(x, y)| x != y).unwrap();
    let ct_bad = first_diff(&b64.decode(&bad).unwrap(), &b64.decode(V1_DATA).unwrap());
    assert_eq!(ct_bad, 35);
    let garbage = decrypt_data(&s, &bad).unwrap();
    assert_eq!(first_diff(&garbage, V1_PLAIN.as_bytes()), 32);
    assert!(
        std::str::from_utf8(&garbage).is_err()
            || decode_json::<serde_json::Value>(&garbage).is_err()
    );
}

const V2_DATA: &str =
    "mYvffpNoFf4E/ZTC1tOw41TC5OlkEobfAYCm5N8hEusaLUaUIqOrXtdbMrSck0DSmfM7mRuOGMoCQzH0nWPGuw==";
const V2_PLAIN: &str = "{\"OperatorID\":\"123456789\",\n\"OperatorSecret\":\"1234567890abcdef\"}";

#[test]
fn vector2_query_token_request() {
    let s = sample();
    assert_eq!(encrypt_data(&s, V2_PLAIN.as_bytes()), V2_DATA);
    assert_eq!(decrypt_data(&s, V2_DATA).unwrap(), V2_PLAIN.as_bytes());
    let req = Request::seal(&s, V2_PLAIN.as_bytes(), at("20180120165755"), 1).unwrap();
    assert_eq!(req.data, V2_DATA);
    assert_eq!(req.time_stamp, "20180120165755");
    assert_eq!(req.seq, "0001");
    assert_eq!(req.sig, "D2D584A14F3F284445DF85D0E8C0697C");
    let token: proto_tcec::model::QueryTokenRequest = decode_json(V2_PLAIN.as_bytes()).unwrap();
    assert_eq!(token.operator_id, "123456789");
    assert_eq!(token.operator_secret, s.operator_secret());
}

const V3_DATA: &str = "uxeKP0ezR5yL8xSg4/ZCDh/N91/u86NXFxd2DrwZVW8zCPYcpl59Twz/yQZ3RaO4rDDrGmkvQignmNEJ+k4PGxdmIC+4fpJ8rU6osSobY+AeA0uueuQ5+eQiWBL6p6v5XMMm91brtK8yfFELYUWQzVcxABnAwK/+dyxtUhqLIxUpkwTEU/4ktN40df9IzzlLO5uvUknPGYu9yL0pp5w9vdRxmA1RiiTDNCysz6klr9bunGV3VJa2qpLcgeZMf/oG";
const V3_PLAIN: &str = "{\r\n  \"OperatorID\": \"123456789\",\r\n  \"SuccStat\": 0,\r\n  \"AccessToken\": \"kVnStIRknCCOBdXgJrmu8rb3pcccifKW2NcQrysKKIzb7iQBxkkjeq3WoGdjgrIL\",\r\n  \"TokenAvailableTime\": 7200,\r\n  \"FailReason\": 0\r\n}";
const V3_SIG: &str = "58E52010C7DEE87FE183B0AFA5B2BE30";

#[test]
fn vector3_query_token_response() {
    let s = sample();
    assert_eq!(encrypt_data(&s, V3_PLAIN.as_bytes()), V3_DATA);
    assert_eq!(response_sig(&s, 0, "", V3_DATA), V3_SIG);
    let sealed = Response::seal(&s, Ret::Ok, "", Some(V3_PLAIN.as_bytes()));
    assert_eq!(
        (sealed.data.as_str(), sealed.sig.as_str()),
        (V3_DATA, V3_SIG)
    );
    let body = format!(r#"{{"Ret":0,"Msg":"","Data":"{V3_DATA}","Sig":"{V3_SIG}"}}"#);
    let resp = Response::parse(body.as_bytes()).unwrap();
    let plain = resp.open(&s).unwrap();
    assert_eq!(plain, V3_PLAIN.as_bytes());
    let token: QueryTokenResponse = decode_json(&plain).unwrap();
    assert_eq!(token.token_available_time, Some(7200));
    assert_eq!(token.access_token.len(), 64);
}

#[test]
fn vector3_signature_covers_ret_and_msg() {
    let s = sample();
    for (ret, msg) in [(Ret::Busy, ""), (Ret::Ok, "x")] {
        let resp = Response {
            ret,
            msg: msg.into(),
            data: V3_DATA.into(),
            sig: V3_SIG.into(),
        };
        assert_eq!(resp.open(&s), Err(Error::BadSignature));
    }
}

/// Vectors 4, 6, 7, 8: (Seq, plaintext, Data, Sig) under the synthetic keys.
const SYNTHETIC: [(u16, &str, &str, &str); 4] = [
    (
        1,
        r#"{"ConnectorStatusInfo":{"ConnectorID":"MA01H3BQ2000101","Status":3,"ParkStatus":50,"LockStatus":10}}"#,
        "R3+jXIcGCaRssYThV95Fvig2KPIrbUp8Rpogq0a7lqmsgvBbwzO70btNPJt326gzsGG3kHGnQ5CIZIXqE+m9Z8fVx0V8Zy8YPCBzVPMe8c0Qj46LHajXiZ54bNzSqkXOlsL+heCfyRdaL8SV9FV1zw==",
        "B619E83387A22E0DFFBBA7DE509C32D0",
    ),
    (
        2,
        r#"{"StationID":"1"}"#,
        "l+Liy6d9ILwUpUygC2blglx9z400PLEyF9oFjJTh1DE=",
        "6A0A45EB6AE58535A9314CD88D98AF74",
    ),
    (
        3,
        r#"{"A":"充电站"}"#,
        "9PLoEgC1uXVr96vs8ot6vS6P+fdGUYyUPzTmcbkbrAc=",
        "CD748C821DD6C1FF7250EB8E4A5D29A2",
    ),
    (
        4,
        r#"{"StationID":""}"#,
        "+EQEaKRLMj3yCo2xSvthQ7Yh6kwncfgD1sHvqovAwkM=",
        "F2694804942F195C75D940DB2835DA50",
    ),
];

#[test]
fn vectors_4_6_7_8_synthetic_requests() {
    let s = synthetic();
    let now = at("20240301120000");
    let mut guard = ReplayGuard::default();
    for (seq, plain, data, sig) in SYNTHETIC {
        let req = Request::seal(&s, plain.as_bytes(), now, seq).unwrap();
        assert_eq!(req.data, data, "Data of seq {seq}");
        assert_eq!(req.sig, sig, "Sig of seq {seq}");
        assert_eq!(decrypt_data(&s, data).unwrap(), plain.as_bytes());
        let parsed = Request::parse(req.to_json().as_bytes()).unwrap();
        assert_eq!(parsed.open(&s, &mut guard, now).unwrap(), plain.as_bytes());
    }
    // Vector 8 is exactly 16 bytes: PKCS#7 adds a whole block.
    assert_eq!(SYNTHETIC[3].1.len(), 16);
    assert_eq!(decrypt_data(&s, SYNTHETIC[3].2).unwrap().len(), 16);
}

#[test]
fn vector4_decodes_as_notification_station_status() {
    use proto_tcec::codes::{ConnectorStatus, LockStatus, ParkStatus};
    let s = synthetic();
    let plain = decrypt_data(&s, SYNTHETIC[0].2).unwrap();
    let n: proto_tcec::model::NotificationStationStatus = decode_json(&plain).unwrap();
    let c = &n.connector_status_info;
    assert_eq!(c.connector_id, "MA01H3BQ2000101");
    assert_eq!(c.status, ConnectorStatus::Charging);
    assert_eq!(c.park_status, Some(ParkStatus::Occupied));
    assert_eq!(c.lock_status, Some(LockStatus::Unlocked));
    // Strict re-encoding gives back the operator's bytes here (same order, no extras).
    assert_eq!(proto_tcec::encode_json(&n), plain);
}

#[test]
fn vector5_response_with_utf8_msg() {
    let s = synthetic();
    let resp = Response::seal(&s, Ret::Ok, "请求成功", Some(br#"{"Status":0}"#));
    assert_eq!(resp.data, "Y2oRDANTIhJEWvoq6/GIfA==");
    assert_eq!(resp.sig, "88F8C7B6F88F4A9506636739E72C6588");
    let back = Response::parse(resp.to_json().as_bytes()).unwrap();
    assert_eq!(back.open(&s).unwrap(), br#"{"Status":0}"#);
}

#[test]
fn keys_are_not_interchangeable() {
    // Swapping DataSecret and DataSecretIV, or signing with the data key, must not verify.
    let s = synthetic();
    let swapped = PeerSecrets::new(
        "MA01H3BQ2",
        "OperatorSecret16",
        "8765432112345678",
        "AbCdEfGh12345678",
        "AbCdEfGh12345678",
    )
    .unwrap();
    let (_, plain, data, sig) = SYNTHETIC[1];
    assert_ne!(encrypt_data(&swapped, plain.as_bytes()), data);
    assert_ne!(
        request_sig(&swapped, "MA01H3BQ2", data, "20240301120000", "0002"),
        sig
    );
    assert_eq!(
        request_sig(&s, "MA01H3BQ2", data, "20240301120000", "0002"),
        sig
    );
}

#[test]
fn strict_decoding_refuses_what_the_notes_list() {
    let s = synthetic();
    let now = at("20240301120000");
    let (_, _, data, sig) = SYNTHETIC[1];
    let good = Request {
        operator_id: "MA01H3BQ2".into(),
        data: data.into(),
        time_stamp: "20240301120000".into(),
        seq: "0002".into(),
        sig: sig.into(),
    };
    let open = |r: &Request| r.open(&s, &mut ReplayGuard::default(), now);
    assert!(open(&good).is_ok());

    // An unsigned request with undecryptable Data is refused for its signature: the
    // signature is checked before anything touches Data.
    let unsigned_garbage = Request {
        data: "AAAA".into(),
        ..good.clone()
    };
    assert_eq!(open(&unsigned_garbage), Err(Error::BadSignature));

    let lower = Request {
        sig: sig.to_lowercase(),
        ..good.clone()
    };
    assert_eq!(open(&lower), Err(Error::BadSignature));

    let short_seq = Request {
        seq: "2".into(),
        ..good.clone()
    };
    assert!(matches!(
        open(&short_seq),
        Err(Error::Field { field: "Seq", .. })
    ));

    let other_operator = Request {
        operator_id: "MA01H3BQ3".into(),
        ..good.clone()
    };
    assert_eq!(
        open(&other_operator),
        Err(Error::UnknownOperator("MA01H3BQ3".into()))
    );

    // Whitespace in Base64, even correctly signed, cannot be decrypted.
    let spaced = format!("{} {}", &data[..8], &data[8..]);
    let spaced = Request {
        sig: request_sig(&s, "MA01H3BQ2", &spaced, "20240301120000", "0002"),
        data: spaced,
        ..good.clone()
    };
    let err = open(&spaced).unwrap_err();
    assert!(err.to_string().starts_with("cannot decrypt"), "{err}");
    assert_eq!(err.ret(), Ret::BadData);

    // A whole number of blocks that does not unpad: signed, but not our ciphertext.
    let foreign = "AAAAAAAAAAAAAAAAAAAAAA==";
    let foreign = Request {
        sig: request_sig(&s, "MA01H3BQ2", foreign, "20240301120000", "0002"),
        data: foreign.into(),
        ..good
    };
    assert!(matches!(open(&foreign), Err(Error::Decrypt(_))));
}

#[test]
fn envelope_errors_name_the_position() {
    let err = Request::parse(br#"{"OperatorID":"1","Data":"x","TimeStamp":"1","Seq":"0001"}"#)
        .unwrap_err();
    assert!(err.to_string().contains("missing field `Sig`"), "{err}");
    assert_eq!(err.ret(), Ret::BadRequest);
}

#[test]
fn refusals_are_signed_with_their_ret_code() {
    let s = synthetic();
    let resp = Response::refusal(&s, &Error::BadSignature);
    assert_eq!(resp.ret, Ret::SignatureError);
    assert_eq!(resp.to_json().find(r#""Ret":4001"#), Some(1));
    assert_eq!(resp.msg, "bad signature");
    assert!(resp.data.is_empty());
    assert_eq!(resp.open(&s).unwrap(), b"");
}

#[test]
fn ret_codes_round_trip() {
    for (ret, code) in [
        (Ret::Busy, -1),
        (Ret::Ok, 0),
        (Ret::SignatureError, 4001),
        (Ret::TokenError, 4002),
        (Ret::BadRequest, 4003),
        (Ret::BadData, 4004),
        (Ret::SystemError, 500),
        (Ret::Other(4006), 4006),
    ] {
        assert_eq!(ret.code(), code);
        assert_eq!(Ret::from_code(code), ret);
    }
}
