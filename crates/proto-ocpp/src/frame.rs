//! OCPP-J RPC framing: one WebSocket text message to a CALL, CALLRESULT or CALLERROR and back.
//!
//! The WebSocket already delimits messages, so this layer bounds the size, checks the array
//! shape (`[2, id, action, payload]`, `[3, id, payload]`, `[4, id, code, description, details]`,
//! OCPP-J 1.6 §4 and 2.0.1 Part 4 §4) and says which CALLERROR, if any, the sender is owed.

use serde_json::{Map, Value};

use crate::{ErrorCode, Version};

/// The default bound on one message, in bytes. Real 1.6 chargers stay far below it; a signed
/// 2.0.1 meter value with a certificate chain is the largest thing seen, at a few kilobytes.
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 64 * 1024;

/// The longest unique id either version allows (`string[0..36]`).
pub const MAX_UNIQUE_ID_LEN: usize = 36;

/// Message type numbers.
pub const CALL: u64 = 2;
pub const CALL_RESULT: u64 = 3;
pub const CALL_ERROR: u64 = 4;

/// A request: `[2, uniqueId, action, payload]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub unique_id: String,
    pub action: String,
    pub payload: Map<String, Value>,
}

/// A successful answer: `[3, uniqueId, payload]`. The action is not on the wire; the caller
/// knows it from the CALL with the same id.
#[derive(Debug, Clone, PartialEq)]
pub struct CallResult {
    pub unique_id: String,
    pub payload: Map<String, Value>,
}

/// A failed answer: `[4, uniqueId, errorCode, errorDescription, errorDetails]`. The code is kept
/// as sent; [`CallErrorFrame::error_code`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallErrorFrame {
    pub unique_id: String,
    pub error_code: String,
    pub description: String,
    pub details: Map<String, Value>,
}

impl CallErrorFrame {
    /// The code, in either version's spelling; `None` for a code neither version defines.
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::parse(&self.error_code)
    }
}

/// One OCPP-J message.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Call(Call),
    CallResult(CallResult),
    CallError(CallErrorFrame),
}

impl Frame {
    pub fn unique_id(&self) -> &str {
        match self {
            Frame::Call(c) => &c.unique_id,
            Frame::CallResult(r) => &r.unique_id,
            Frame::CallError(e) => &e.unique_id,
        }
    }

    /// The JSON text of this frame.
    pub fn encode(&self) -> String {
        let value = match self {
            Frame::Call(c) => Value::Array(vec![
                CALL.into(),
                c.unique_id.clone().into(),
                c.action.clone().into(),
                Value::Object(c.payload.clone()),
            ]),
            Frame::CallResult(r) => Value::Array(vec![
                CALL_RESULT.into(),
                r.unique_id.clone().into(),
                Value::Object(r.payload.clone()),
            ]),
            Frame::CallError(e) => Value::Array(vec![
                CALL_ERROR.into(),
                e.unique_id.clone().into(),
                e.error_code.clone().into(),
                e.description.clone().into(),
                Value::Object(e.details.clone()),
            ]),
        };
        value.to_string()
    }
}

/// What is wrong with a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameErrorKind {
    #[error("message of {len} bytes exceeds the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not a JSON array")]
    NotArray,
    #[error("message type missing or not an integer")]
    BadMessageType,
    #[error("message type {0} not supported")]
    UnknownMessageType(u64),
    #[error("unique id missing or not a string")]
    BadUniqueId,
    #[error("unique id of {0} characters exceeds 36")]
    UniqueIdTooLong(usize),
    #[error("message type {message_type} needs {expected} elements, got {got}")]
    WrongArity {
        message_type: u64,
        expected: usize,
        got: usize,
    },
    #[error("action missing or not a string")]
    BadAction,
    #[error("payload is not a JSON object")]
    PayloadNotObject,
    #[error("error code or description is not a string")]
    BadErrorFields,
}

/// A message that is not a valid OCPP-J frame, with what could be read of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct FrameError {
    pub kind: FrameErrorKind,
    /// The unique id, when it could be read.
    pub unique_id: Option<String>,
    /// The message type number, when it could be read.
    pub message_type: Option<u64>,
}

impl FrameError {
    /// The CALLERROR code this error maps to.
    pub fn code(&self) -> ErrorCode {
        match self.kind {
            FrameErrorKind::TooLarge { .. } | FrameErrorKind::PayloadNotObject => {
                ErrorCode::FormatViolation
            }
            FrameErrorKind::UnknownMessageType(_) => ErrorCode::MessageTypeNotSupported,
            _ => ErrorCode::RpcFrameworkError,
        }
    }

    /// The CALLERROR owed to the sender, as frame text, or `None` when none is owed.
    ///
    /// One is owed only when the id could be read (without it the sender cannot correlate an
    /// answer) and the message was a CALL or of an unknown type; an answer to a CALLRESULT or
    /// CALLERROR would start an error ping-pong, which both versions forbid.
    pub fn reply(&self, version: Version) -> Option<String> {
        let id = self.unique_id.as_ref()?;
        match self.message_type {
            Some(CALL) => {}
            Some(t) if t != CALL_RESULT && t != CALL_ERROR => {}
            _ => return None,
        }
        Some(encode_error_frame(
            id,
            version,
            self.code(),
            &self.kind.to_string(),
        ))
    }

    /// Always true: WebSocket delimits messages, so one bad message never desynchronises the
    /// next, and the connection carries on.
    pub fn can_continue(&self) -> bool {
        true
    }
}

pub(crate) fn encode_error_frame(
    unique_id: &str,
    version: Version,
    code: ErrorCode,
    description: &str,
) -> String {
    Frame::CallError(CallErrorFrame {
        unique_id: unique_id.to_owned(),
        error_code: code.as_str(version).to_owned(),
        description: description.to_owned(),
        details: Map::new(),
    })
    .encode()
}

/// Parses one WebSocket text message of at most `max_len` bytes.
pub fn parse(text: &str, max_len: usize) -> Result<Frame, FrameError> {
    let mut err = FrameError {
        kind: FrameErrorKind::NotArray,
        unique_id: None,
        message_type: None,
    };
    if text.len() > max_len {
        err.kind = FrameErrorKind::TooLarge {
            len: text.len(),
            max: max_len,
        };
        return Err(err);
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            err.kind = FrameErrorKind::NotJson(e.to_string());
            return Err(err);
        }
    };
    let Value::Array(items) = value else {
        return Err(err);
    };
    let mut items = items.into_iter();
    let Some(message_type) = items.next().as_ref().and_then(Value::as_u64) else {
        err.kind = FrameErrorKind::BadMessageType;
        return Err(err);
    };
    err.message_type = Some(message_type);
    let Some(Value::String(unique_id)) = items.next() else {
        err.kind = FrameErrorKind::BadUniqueId;
        return Err(err);
    };
    let id_len = unique_id.chars().count();
    if id_len > MAX_UNIQUE_ID_LEN {
        err.kind = FrameErrorKind::UniqueIdTooLong(id_len);
        return Err(err);
    }
    err.unique_id = Some(unique_id.clone());
    let rest: Vec<Value> = items.collect();
    let expected = match message_type {
        CALL => 4,
        CALL_RESULT => 3,
        CALL_ERROR => 5,
        other => {
            err.kind = FrameErrorKind::UnknownMessageType(other);
            return Err(err);
        }
    };
    // Some 1.6 chargers leave out the empty errorDetails; accept a CALLERROR of four.
    let arity_ok = rest.len() + 2 == expected || (message_type == CALL_ERROR && rest.len() == 2);
    if !arity_ok {
        err.kind = FrameErrorKind::WrongArity {
            message_type,
            expected,
            got: rest.len() + 2,
        };
        return Err(err);
    }
    let mut rest = rest.into_iter();
    match message_type {
        CALL => {
            let Some(Value::String(action)) = rest.next() else {
                err.kind = FrameErrorKind::BadAction;
                return Err(err);
            };
            let payload = take_object(rest.next(), &mut err)?;
            Ok(Frame::Call(Call {
                unique_id,
                action,
                payload,
            }))
        }
        CALL_RESULT => {
            let payload = take_object(rest.next(), &mut err)?;
            Ok(Frame::CallResult(CallResult { unique_id, payload }))
        }
        _ => {
            let (Some(Value::String(error_code)), Some(Value::String(description))) =
                (rest.next(), rest.next())
            else {
                err.kind = FrameErrorKind::BadErrorFields;
                return Err(err);
            };
            let details = take_object(rest.next(), &mut err)?;
            Ok(Frame::CallError(CallErrorFrame {
                unique_id,
                error_code,
                description,
                details,
            }))
        }
    }
}

/// The object in a payload or details position; an absent details element is an empty object.
fn take_object(
    item: Option<Value>,
    err: &mut FrameError,
) -> Result<Map<String, Value>, FrameError> {
    match item {
        Some(Value::Object(m)) => Ok(m),
        None => Ok(Map::new()),
        Some(_) => {
            err.kind = FrameErrorKind::PayloadNotObject;
            Err(err.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails(text: &str) -> FrameError {
        parse(text, DEFAULT_MAX_MESSAGE_LEN).unwrap_err()
    }

    #[test]
    fn three_kinds() {
        let call = parse(r#"[2,"19223201","Heartbeat",{}]"#, 100).unwrap();
        assert_eq!(
            call,
            Frame::Call(Call {
                unique_id: "19223201".into(),
                action: "Heartbeat".into(),
                payload: Map::new(),
            })
        );
        let res = parse(
            r#"[3,"19223201",{"currentTime":"2026-11-27T08:00:00Z"}]"#,
            100,
        )
        .unwrap();
        assert!(matches!(&res, Frame::CallResult(r) if r.payload.len() == 1));
        let e = parse(
            r#"[4,"1","OccurenceConstraintViolation","missing idTag",{}]"#,
            100,
        )
        .unwrap();
        let Frame::CallError(e) = e else { panic!() };
        assert_eq!(
            e.error_code(),
            Some(ErrorCode::OccurrenceConstraintViolation)
        );
        // Four elements: details left out.
        assert!(parse(r#"[4,"1","GenericError",""]"#, 100).is_ok());
    }

    #[test]
    fn encode_is_compact_and_reparses() {
        let f = Frame::Call(Call {
            unique_id: "a".into(),
            action: "Authorize".into(),
            payload: serde_json::from_str(r#"{"idTag":"X"}"#).unwrap(),
        });
        assert_eq!(f.encode(), r#"[2,"a","Authorize",{"idTag":"X"}]"#);
        assert_eq!(parse(&f.encode(), 100).unwrap(), f);
    }

    #[test]
    fn size_bound() {
        let text = r#"[2,"1","Heartbeat",{}]"#;
        assert!(parse(text, text.len()).is_ok());
        let e = parse(text, text.len() - 1).unwrap_err();
        assert!(matches!(e.kind, FrameErrorKind::TooLarge { .. }));
        assert_eq!(e.code(), ErrorCode::FormatViolation);
        assert_eq!(e.reply(Version::V201), None);
    }

    #[test]
    fn unique_id_bound() {
        let ok = format!(r#"[2,"{}","Heartbeat",{{}}]"#, "x".repeat(36));
        assert!(parse(&ok, 1000).is_ok());
        let long = format!(r#"[2,"{}","Heartbeat",{{}}]"#, "x".repeat(37));
        let e = parse(&long, 1000).unwrap_err();
        assert_eq!(e.kind, FrameErrorKind::UniqueIdTooLong(37));
        assert_eq!(e.reply(Version::V201), None);
    }

    #[test]
    fn every_frame_error_and_its_reply() {
        let v = Version::V201;
        let cases: [(&str, FrameErrorKind, ErrorCode, Option<&str>); 10] = [
            (
                "[2,\"1\",",
                FrameErrorKind::NotJson(String::new()),
                ErrorCode::RpcFrameworkError,
                None,
            ),
            (
                "{}",
                FrameErrorKind::NotArray,
                ErrorCode::RpcFrameworkError,
                None,
            ),
            (
                "[\"2\",\"1\",\"Heartbeat\",{}]",
                FrameErrorKind::BadMessageType,
                ErrorCode::RpcFrameworkError,
                None,
            ),
            (
                "[2,1,\"Heartbeat\",{}]",
                FrameErrorKind::BadUniqueId,
                ErrorCode::RpcFrameworkError,
                None,
            ),
            (
                "[6,\"9\",\"Heartbeat\",{}]",
                FrameErrorKind::UnknownMessageType(6),
                ErrorCode::MessageTypeNotSupported,
                Some(r#"[4,"9","MessageTypeNotSupported","message type 6 not supported",{}]"#),
            ),
            (
                "[2,\"9\",\"Heartbeat\"]",
                FrameErrorKind::WrongArity {
                    message_type: 2,
                    expected: 4,
                    got: 3,
                },
                ErrorCode::RpcFrameworkError,
                Some(r#"[4,"9","RpcFrameworkError","message type 2 needs 4 elements, got 3",{}]"#),
            ),
            (
                "[2,\"9\",7,{}]",
                FrameErrorKind::BadAction,
                ErrorCode::RpcFrameworkError,
                Some(r#"[4,"9","RpcFrameworkError","action missing or not a string",{}]"#),
            ),
            (
                "[2,\"9\",\"Heartbeat\",[]]",
                FrameErrorKind::PayloadNotObject,
                ErrorCode::FormatViolation,
                Some(r#"[4,"9","FormatViolation","payload is not a JSON object",{}]"#),
            ),
            // Errors in answers are never answered.
            (
                "[3,\"9\",null]",
                FrameErrorKind::PayloadNotObject,
                ErrorCode::FormatViolation,
                None,
            ),
            (
                "[4,\"9\",1,\"x\",{}]",
                FrameErrorKind::BadErrorFields,
                ErrorCode::RpcFrameworkError,
                None,
            ),
        ];
        for (text, kind, code, reply) in cases {
            let e = fails(text);
            if let FrameErrorKind::NotJson(_) = kind {
                assert!(matches!(e.kind, FrameErrorKind::NotJson(_)), "{text}");
            } else {
                assert_eq!(e.kind, kind, "{text}");
            }
            assert_eq!(e.code(), code, "{text}");
            assert_eq!(e.reply(v).as_deref(), reply, "{text}");
            assert!(e.can_continue());
        }
    }

    #[test]
    fn replies_in_16_spelling() {
        let e = fails("[2,\"9\",\"Heartbeat\",5]");
        assert_eq!(
            e.reply(Version::V16).unwrap(),
            r#"[4,"9","FormationViolation","payload is not a JSON object",{}]"#
        );
        let e = fails("[5,\"9\",{}]");
        assert_eq!(
            e.reply(Version::V16).unwrap(),
            r#"[4,"9","ProtocolError","message type 5 not supported",{}]"#
        );
    }
}
