//! Property tests: envelopes seal and open back to the same bytes for arbitrary JSON, and any
//! change to a signed field is caught before decryption.

use model::Timestamp;
use proptest::prelude::*;
use serde_json::Value;

use crate::{Error, PeerSecrets, ReplayGuard, Request, Response, Ret};

fn secrets() -> PeerSecrets {
    PeerSecrets::new(
        "MA01H3BQ2",
        "OperatorSecret16",
        "AbCdEfGh12345678",
        "8765432112345678",
        "SigSecretKey0001",
    )
    .unwrap()
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".*".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((".{0,8}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

// Beijing 2000-01-01 to 2099: any instant the TimeStamp format can carry.
fn instant() -> impl Strategy<Value = Timestamp> {
    (946_656_000i64..4_102_415_000).prop_map(Timestamp::from_secs)
}

proptest! {
    #[test]
    fn request_seal_open_round_trip(v in json(), now in instant(), seq in 1u16..=9999) {
        let s = secrets();
        let plain = v.to_string().into_bytes();
        let sealed = Request::seal(&s, &plain, now, seq).unwrap();
        let wire = Request::parse(sealed.to_json().as_bytes()).unwrap();
        prop_assert_eq!(&wire, &sealed);
        let mut guard = ReplayGuard::default();
        let opened = wire.open(&s, &mut guard, now).unwrap();
        prop_assert_eq!(&opened, &plain);
        // The bytes are the contract (serde_json's float parsing is not exact, so the Value
        // need not be); they must still read as JSON.
        prop_assert!(crate::decode_json::<Value>(&opened).is_ok());
        let replayed = matches!(wire.open(&s, &mut guard, now), Err(Error::ReplayedSeq { .. }));
        prop_assert!(replayed, "a second open must be refused as a replay");
    }

    #[test]
    fn response_seal_open_round_trip(v in proptest::option::of(json()), msg in ".{0,20}", code in -1i32..5000) {
        let s = secrets();
        let plain = v.map(|v| v.to_string().into_bytes());
        let sealed = Response::seal(&s, Ret::from_code(code), &msg, plain.as_deref());
        let wire = Response::parse(sealed.to_json().as_bytes()).unwrap();
        prop_assert_eq!(&wire, &sealed);
        prop_assert_eq!(wire.open(&s).unwrap(), plain.unwrap_or_default());
    }

    #[test]
    fn any_change_to_a_signed_field_is_a_bad_signature(
        v in json(), field in 0usize..4, pos in any::<prop::sample::Index>(), now in instant(),
    ) {
        let s = secrets();
        let mut req = Request::seal(&s, v.to_string().as_bytes(), now, 1).unwrap();
        // Swap one character for another of the same class, so only the signature can notice.
        let text = match field {
            0 => &mut req.data,
            1 => &mut req.time_stamp,
            2 => &mut req.seq,
            _ => &mut req.sig,
        };
        let i = pos.index(text.len());
        let old = text.as_bytes()[i];
        let new = match old {
            b'0'..=b'8' | b'A'..=b'E' | b'a'..=b'y' => old + 1,
            b'9' => b'0',
            b'F' => b'A',
            b'+' | b'/' | b'=' | b'z' | b'G'..=b'Z' => b'A',
            _ => b'0',
        };
        text.replace_range(i..=i, &char::from(new).to_string());
        let mut guard = ReplayGuard::default();
        let result = req.open(&s, &mut guard, now);
        // A changed TimeStamp may stop being a date: refused before the signature, also fine.
        match result {
            Err(Error::BadSignature) => {}
            Err(Error::Field { field: "TimeStamp", .. }) if field == 1 => {}
            other => prop_assert!(false, "field {} pos {}: {:?}", field, i, other),
        }
        prop_assert!(guard.is_empty());
    }
}
