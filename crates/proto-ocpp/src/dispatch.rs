//! Dispatch by action: payloads to typed messages with the specification's error codes, and
//! the text of the CSMS's calls, results and errors.

use serde_json::{Map, Value};

use crate::frame::{
    Call, CallErrorFrame, CallResult, Frame, FrameError, encode_error_frame, parse,
};
use crate::{CallError, ErrorCode, MAX_UNIQUE_ID_LEN, Version, v16, v201};

/// A typed request of either version. Messages live for one exchange, so the size
/// difference between variants is not worth boxing.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Request {
    V16(v16::Request),
    V201(v201::Request),
}

/// A typed response of either version.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Response {
    V16(v16::Response),
    V201(v201::Response),
}

impl Request {
    pub fn version(&self) -> Version {
        match self {
            Request::V16(_) => Version::V16,
            Request::V201(_) => Version::V201,
        }
    }

    pub fn action(&self) -> &'static str {
        match self {
            Request::V16(r) => r.action(),
            Request::V201(r) => r.action(),
        }
    }

    pub fn to_payload(&self) -> Value {
        match self {
            Request::V16(r) => r.to_payload(),
            Request::V201(r) => r.to_payload(),
        }
    }
}

impl Response {
    pub fn version(&self) -> Version {
        match self {
            Response::V16(_) => Version::V16,
            Response::V201(_) => Version::V201,
        }
    }

    pub fn action(&self) -> &'static str {
        match self {
            Response::V16(r) => r.action(),
            Response::V201(r) => r.action(),
        }
    }

    pub fn to_payload(&self) -> Value {
        match self {
            Response::V16(r) => r.to_payload(),
            Response::V201(r) => r.to_payload(),
        }
    }
}

impl From<v16::Request> for Request {
    fn from(r: v16::Request) -> Self {
        Request::V16(r)
    }
}

impl From<v201::Request> for Request {
    fn from(r: v201::Request) -> Self {
        Request::V201(r)
    }
}

impl From<v16::Response> for Response {
    fn from(r: v16::Response) -> Self {
        Response::V16(r)
    }
}

impl From<v201::Response> for Response {
    fn from(r: v201::Response) -> Self {
        Response::V201(r)
    }
}

fn check_object(payload: &Value) -> Result<(), CallError> {
    if payload.is_object() {
        Ok(())
    } else {
        Err(CallError::new(
            ErrorCode::FormatViolation,
            "payload is not a JSON object",
        ))
    }
}

fn not_implemented(version: Version, action: &str) -> CallError {
    CallError::new(
        ErrorCode::NotImplemented,
        format!("action {action:?} is not implemented for {version}"),
    )
}

/// Decodes the payload of a CALL of `action`.
///
/// Errors carry the code to answer with: `NotImplemented` for an action not typed here,
/// `FormatViolation` for a payload that is not an object, and for a bad field the code
/// [`CallError::from_payload_error`] picks (missing → occurrence, wrong JSON type → type,
/// outside the enumeration or too long → property).
pub fn decode_call(version: Version, action: &str, payload: Value) -> Result<Request, CallError> {
    check_object(&payload)?;
    let decoded = match version {
        Version::V16 => v16::Request::from_payload(action, payload).map(|r| r.map(Request::V16)),
        Version::V201 => v201::Request::from_payload(action, payload).map(|r| r.map(Request::V201)),
    };
    decoded
        .ok_or_else(|| not_implemented(version, action))?
        .map_err(|e| CallError::from_payload_error(&e))
}

/// Decodes the CALLRESULT payload answering a call of `action` (the caller remembers the action
/// by unique id, since a CALLRESULT does not carry it).
pub fn decode_result(
    version: Version,
    action: &str,
    payload: Value,
) -> Result<Response, CallError> {
    check_object(&payload)?;
    let decoded = match version {
        Version::V16 => v16::Response::from_payload(action, payload).map(|r| r.map(Response::V16)),
        Version::V201 => {
            v201::Response::from_payload(action, payload).map(|r| r.map(Response::V201))
        }
    };
    decoded
        .ok_or_else(|| not_implemented(version, action))?
        .map_err(|e| CallError::from_payload_error(&e))
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        // Every typed message serializes as an object; an empty one is the safe fallback.
        _ => Map::new(),
    }
}

/// The CALL frame text of `request` under `unique_id`.
pub fn encode_call(unique_id: &str, request: &Request) -> String {
    Frame::Call(Call {
        unique_id: unique_id.to_owned(),
        action: request.action().to_owned(),
        payload: object(request.to_payload()),
    })
    .encode()
}

/// The CALLRESULT frame text answering the call `unique_id` with `response`.
pub fn encode_result(unique_id: &str, response: &Response) -> String {
    Frame::CallResult(CallResult {
        unique_id: unique_id.to_owned(),
        payload: object(response.to_payload()),
    })
    .encode()
}

/// The CALLERROR frame text answering the call `unique_id` with `error`, the code spelled as
/// `version` spells it.
pub fn encode_error(unique_id: &str, version: Version, error: &CallError) -> String {
    encode_error_frame(unique_id, version, error.code, &error.description)
}

/// One received message, sorted by what the receiver must do with it.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Incoming {
    /// A call to handle; answer with [`encode_result`] or [`encode_error`] under `unique_id`.
    Call { unique_id: String, request: Request },
    /// A call that cannot be handled (unknown action, bad payload); send `reply`.
    Refused {
        unique_id: String,
        action: String,
        error: CallError,
        reply: String,
    },
    /// An answer to one of the receiver's calls; give it to the [`crate::Correlator`].
    Result(CallResult),
    /// An error answering one of the receiver's calls; give it to the [`crate::Correlator`].
    Error(CallErrorFrame),
    /// Not a valid OCPP-J message; send `reply` when there is one.
    Malformed {
        error: FrameError,
        reply: Option<String>,
    },
}

/// Parses and decodes one WebSocket text message of a connection speaking `version`: the front
/// door of a CSMS (or of a simulated charger) in one call.
pub fn receive(version: Version, text: &str, max_len: usize) -> Incoming {
    match parse(text, max_len) {
        Ok(Frame::Call(call)) => {
            match decode_call(version, &call.action, Value::Object(call.payload)) {
                Ok(request) => Incoming::Call {
                    unique_id: call.unique_id,
                    request,
                },
                Err(error) => Incoming::Refused {
                    reply: encode_error(&call.unique_id, version, &error),
                    unique_id: call.unique_id,
                    action: call.action,
                    error,
                },
            }
        }
        Ok(Frame::CallResult(r)) => Incoming::Result(r),
        Ok(Frame::CallError(e)) => Incoming::Error(e),
        Err(error) => Incoming::Malformed {
            reply: error.reply(version),
            error,
        },
    }
}

/// Unique ids for the CSMS's own calls on one connection: a prefix chosen by the caller (for
/// instance from the connection number, so ids do not repeat across reconnects, which some
/// chargers mistake for retransmissions) and a counter. Deterministic, so tests can predict it.
#[derive(Debug, Clone)]
pub struct IdGenerator {
    prefix: String,
    next: u64,
}

impl IdGenerator {
    /// The longest prefix kept: with up to 20 counter digits an id stays within 36 characters.
    pub const MAX_PREFIX_LEN: usize = MAX_UNIQUE_ID_LEN - 20;

    /// A generator whose ids start with `prefix`, cut to [`Self::MAX_PREFIX_LEN`] characters.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.chars().take(Self::MAX_PREFIX_LEN).collect(),
            next: 1,
        }
    }

    /// The next id; never the same twice for one generator.
    pub fn next_id(&mut self) -> String {
        let id = format!("{}{}", self.prefix, self.next);
        self.next = self.next.wrapping_add(1);
        id
    }

    /// A fresh id and the CALL frame text of `request` under it.
    pub fn call(&mut self, request: &Request) -> (String, String) {
        let id = self.next_id();
        let text = encode_call(&id, request);
        (id, text)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn code(version: Version, action: &str, payload: Value) -> ErrorCode {
        decode_call(version, action, payload).unwrap_err().code
    }

    #[test]
    fn unknown_action_is_not_implemented() {
        assert_eq!(
            code(Version::V16, "DataTransfer", json!({})),
            ErrorCode::NotImplemented
        );
        // 2.0.1 action names are not 1.6 actions, and the reverse.
        assert_eq!(
            code(Version::V16, "TransactionEvent", json!({})),
            ErrorCode::NotImplemented
        );
        assert_eq!(
            code(Version::V201, "StartTransaction", json!({})),
            ErrorCode::NotImplemented
        );
    }

    #[test]
    fn payload_errors_map_to_codes() {
        let v = Version::V16;
        assert_eq!(code(v, "Heartbeat", json!([])), ErrorCode::FormatViolation);
        assert_eq!(code(v, "Heartbeat", json!("x")), ErrorCode::FormatViolation);
        assert_eq!(
            code(v, "Authorize", json!({})),
            ErrorCode::OccurrenceConstraintViolation
        );
        assert_eq!(
            code(v, "Authorize", json!({"idTag": 5})),
            ErrorCode::TypeConstraintViolation
        );
        assert_eq!(
            code(v, "Authorize", json!({"idTag": "x".repeat(21)})),
            ErrorCode::PropertyConstraintViolation
        );
        assert_eq!(
            code(
                v,
                "StatusNotification",
                json!({"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"})
            ),
            ErrorCode::PropertyConstraintViolation
        );
        assert_eq!(
            code(
                v,
                "StatusNotification",
                json!({"connectorId": -1, "errorCode": "NoError", "status": "Available"})
            ),
            ErrorCode::PropertyConstraintViolation
        );
        assert_eq!(
            code(
                Version::V201,
                "TransactionEvent",
                json!({"eventType": "Started", "timestamp": "2026-11-27T08:00:00Z",
                       "triggerReason": "Authorized", "seqNo": "0",
                       "transactionInfo": {"transactionId": "t"}})
            ),
            ErrorCode::TypeConstraintViolation
        );
    }

    #[test]
    fn errors_encode_in_version_spelling() {
        let err = decode_call(Version::V16, "Authorize", json!({})).unwrap_err();
        assert_eq!(
            encode_error("42", Version::V16, &err),
            r#"[4,"42","OccurenceConstraintViolation","missing field `idTag`",{}]"#
        );
        let err = decode_call(Version::V201, "Authorize", json!(1)).unwrap_err();
        assert_eq!(
            encode_error("42", Version::V201, &err),
            r#"[4,"42","FormatViolation","payload is not a JSON object",{}]"#
        );
    }

    #[test]
    fn receive_sorts_messages() {
        let v = Version::V16;
        let max = crate::DEFAULT_MAX_MESSAGE_LEN;
        let Incoming::Call { unique_id, request } =
            receive(v, r#"[2,"1","Authorize",{"idTag":"A"}]"#, max)
        else {
            panic!()
        };
        assert_eq!((unique_id.as_str(), request.action()), ("1", "Authorize"));
        let Incoming::Refused { reply, error, .. } =
            receive(v, r#"[2,"2","Reset",{"type":"Hard"}]"#, max)
        else {
            panic!()
        };
        assert_eq!(error.code, ErrorCode::NotImplemented);
        assert!(reply.starts_with(r#"[4,"2","NotImplemented","#), "{reply}");
        assert!(matches!(
            receive(v, r#"[3,"3",{}]"#, max),
            Incoming::Result(_)
        ));
        assert!(matches!(
            receive(v, r#"[4,"4","GenericError","",{}]"#, max),
            Incoming::Error(_)
        ));
        let Incoming::Malformed { reply, .. } = receive(v, r#"[2,"5","Heartbeat",1]"#, max) else {
            panic!()
        };
        assert_eq!(
            reply.as_deref(),
            Some(r#"[4,"5","FormationViolation","payload is not a JSON object",{}]"#)
        );
    }

    #[test]
    fn ids_are_unique_and_bounded() {
        let mut ids = IdGenerator::new(&"c".repeat(40));
        let a = ids.next_id();
        let b = ids.next_id();
        assert_ne!(a, b);
        assert_eq!(a, format!("{}1", "c".repeat(16)));
        ids.next = u64::MAX;
        assert_eq!(ids.next_id().len(), MAX_UNIQUE_ID_LEN);
    }

    #[test]
    fn call_and_result_frames() {
        let mut ids = IdGenerator::new("cs-");
        let req = Request::V16(v16::Request::RemoteStopTransaction(
            v16::RemoteStopTransactionRequest { transaction_id: 7 },
        ));
        let (id, text) = ids.call(&req);
        assert_eq!(id, "cs-1");
        assert_eq!(
            text,
            r#"[2,"cs-1","RemoteStopTransaction",{"transactionId":7}]"#
        );
        let res = Response::V201(v201::Response::Heartbeat(v201::HeartbeatResponse {
            current_time: crate::DateTime("2026-11-27T08:00:00Z".into()),
        }));
        assert_eq!(
            encode_result("h1", &res),
            r#"[3,"h1",{"currentTime":"2026-11-27T08:00:00Z"}]"#
        );
        let back = decode_result(
            Version::V16,
            "RemoteStopTransaction",
            json!({"status": "Accepted"}),
        )
        .unwrap();
        assert_eq!(back.action(), "RemoteStopTransaction");
        assert_eq!(
            decode_result(Version::V16, "Nope", json!({}))
                .unwrap_err()
                .code,
            ErrorCode::NotImplemented
        );
    }
}
