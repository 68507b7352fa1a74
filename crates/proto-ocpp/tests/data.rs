//! Runs every message in `test_data/`: `ok/` messages decode into the typed messages and encode
//! back to equivalent JSON; `err/` messages give exactly the CALLERROR (or silence) expected.

use std::fs;
use std::path::Path;

use proto_ocpp::{
    DEFAULT_MAX_MESSAGE_LEN, Frame, Version, decode_call, decode_result, encode_call, encode_error,
    encode_result, parse,
};
use serde_json::Value;

struct Case {
    name: String,
    version: Version,
    action: Option<String>,
    frame: String,
    reply: Option<String>,
}

fn cases(dir: &str) -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data")
        .join(dir);
    let mut paths: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                text.starts_with("# source: "),
                "{name}: first line names the source"
            );
            let field = |key: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(key))
                    .map(str::to_owned)
            };
            Case {
                version: Version::from_subprotocol(&field("version: ").unwrap()).unwrap(),
                action: field("action: "),
                frame: field("frame: ").unwrap_or_else(|| panic!("{name}: no frame")),
                reply: field("reply: "),
                name,
            }
        })
        .collect()
}

/// JSON with every number as f64, so `16` and `16.0` compare equal as they do on the wire.
fn normalize(v: Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Array(a) => Value::Array(a.into_iter().map(normalize).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, normalize(v))).collect()),
        other => other,
    }
}

fn same_json(name: &str, got: &str, want: &str) {
    let got: Value = serde_json::from_str(got).unwrap();
    let want: Value = serde_json::from_str(want).unwrap();
    assert_eq!(normalize(got), normalize(want), "{name}");
}

#[test]
fn ok_messages_round_trip() {
    let cases = cases("ok");
    assert!(cases.len() >= 40);
    for case in cases {
        let name = &case.name;
        let frame =
            parse(&case.frame, DEFAULT_MAX_MESSAGE_LEN).unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = match &frame {
            Frame::Call(call) => {
                let req = decode_call(
                    case.version,
                    &call.action,
                    Value::Object(call.payload.clone()),
                )
                .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(req.version(), case.version, "{name}");
                encode_call(&call.unique_id, &req)
            }
            Frame::CallResult(res) => {
                let action = case.action.as_deref().expect("results name their action");
                let res_typed =
                    decode_result(case.version, action, Value::Object(res.payload.clone()))
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(res_typed.action(), action, "{name}");
                encode_result(&res.unique_id, &res_typed)
            }
            Frame::CallError(e) => {
                assert!(e.error_code().is_some(), "{name}");
                frame.encode()
            }
        };
        same_json(name, &again, &case.frame);
    }
}

#[test]
fn err_messages_get_the_owed_reply() {
    let cases = cases("err");
    assert!(cases.len() >= 10);
    for case in cases {
        let name = &case.name;
        let want = case
            .reply
            .as_deref()
            .unwrap_or_else(|| panic!("{name}: no reply line"));
        let got = match parse(&case.frame, DEFAULT_MAX_MESSAGE_LEN) {
            Ok(Frame::Call(call)) => {
                let err = decode_call(case.version, &call.action, Value::Object(call.payload))
                    .expect_err(name);
                Some(encode_error(&call.unique_id, case.version, &err))
            }
            Ok(other) => panic!("{name}: decoded as {other:?}"),
            Err(e) => e.reply(case.version),
        };
        match (got, want) {
            (None, "none") => {}
            (Some(got), want) => assert_eq!(got, want, "{name}"),
            (None, want) => panic!("{name}: no reply, expected {want}"),
        }
    }
}
