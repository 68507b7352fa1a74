//! Property tests: the framer and the dispatcher never panic on arbitrary input, and frames
//! round-trip through their text.

use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::{
    Call, CallErrorFrame, CallResult, DEFAULT_MAX_MESSAGE_LEN, ErrorCode, Frame, IdGenerator,
    MAX_UNIQUE_ID_LEN, Version, decode_call, encode_error, parse, v16, v201,
};

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        // Decimals of at most 13 digits: serde_json reads those back exactly (longer ones
        // may be off by one ulp without its `float_roundtrip` feature, which is not ours to test).
        (any::<i32>(), 0i32..4).prop_map(|(m, e)| Value::from(f64::from(m) / 10f64.powi(e))),
        ".{0,12}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(".{0,8}", json_value(), 0..4).prop_map(|m| m.into_iter().collect())
}

fn unique_id() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..=MAX_UNIQUE_ID_LEN)
        .prop_map(|c| c.into_iter().collect())
}

fn frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        (unique_id(), ".{0,24}", object()).prop_map(|(unique_id, action, payload)| {
            Frame::Call(Call {
                unique_id,
                action,
                payload,
            })
        }),
        (unique_id(), object())
            .prop_map(|(unique_id, payload)| Frame::CallResult(CallResult { unique_id, payload })),
        (unique_id(), ".{0,30}", ".{0,40}", object()).prop_map(
            |(unique_id, error_code, description, details)| {
                Frame::CallError(CallErrorFrame {
                    unique_id,
                    error_code,
                    description,
                    details,
                })
            }
        ),
    ]
}

fn version() -> impl Strategy<Value = Version> {
    prop_oneof![Just(Version::V16), Just(Version::V201)]
}

fn action() -> impl Strategy<Value = String> {
    let known: Vec<&'static str> = v16::ACTIONS
        .iter()
        .chain(v201::ACTIONS.iter())
        .copied()
        .collect();
    prop_oneof![
        prop::sample::select(known).prop_map(str::to_owned),
        ".{0,20}",
    ]
}

proptest! {
    #[test]
    fn framer_never_panics_on_text(text in ".{0,200}", max in 0usize..300) {
        let _ = parse(&text, max);
    }

    #[test]
    fn framer_never_panics_on_arrays(
        items in prop::collection::vec(json_value(), 0..7),
        head in prop::option::of(0u64..8),
        v in version(),
    ) {
        let mut items = items;
        if let Some(t) = head {
            items.insert(0, Value::from(t));
        }
        let text = Value::Array(items).to_string();
        if let Err(e) = parse(&text, DEFAULT_MAX_MESSAGE_LEN) {
            // A reply, when owed, is itself a well-formed CALLERROR.
            if let Some(reply) = e.reply(v) {
                let back = parse(&reply, DEFAULT_MAX_MESSAGE_LEN);
                prop_assert!(matches!(back, Ok(Frame::CallError(_))), "{reply}");
            }
        }
    }

    #[test]
    fn frames_round_trip(f in frame()) {
        let text = f.encode();
        prop_assert_eq!(parse(&text, usize::MAX).unwrap(), f);
    }

    #[test]
    fn dispatcher_never_panics(v in version(), action in action(), payload in json_value()) {
        if let Err(e) = decode_call(v, &action, payload) {
            let reply = encode_error("1", v, &e);
            let back = parse(&reply, DEFAULT_MAX_MESSAGE_LEN).unwrap();
            let Frame::CallError(err) = back else { panic!("{reply}") };
            prop_assert_eq!(err.error_code(), Some(e.code));
        }
    }

    #[test]
    fn generated_ids_fit(prefix in ".{0,60}", skip in 0u64..1000) {
        let mut ids = IdGenerator::new(&prefix);
        for _ in 0..skip.min(5) {
            ids.next_id();
        }
        let a = ids.next_id();
        let b = ids.next_id();
        prop_assert!(a.chars().count() <= MAX_UNIQUE_ID_LEN);
        prop_assert_ne!(a, b);
    }

    #[test]
    fn every_code_round_trips_in_both_spellings(i in 0usize..ErrorCode::ALL.len(), v in version()) {
        let c = ErrorCode::ALL[i];
        let parsed = ErrorCode::parse(c.as_str(v)).unwrap();
        // 1.6 lacks two codes and sends their nearest 1.6 code instead.
        let expected = match (v, c) {
            (Version::V16, ErrorCode::MessageTypeNotSupported) => ErrorCode::ProtocolError,
            (Version::V16, ErrorCode::RpcFrameworkError) => ErrorCode::FormatViolation,
            _ => c,
        };
        prop_assert_eq!(parsed, expected);
    }
}
