//! The CSMS's side of its own calls on one connection: one outstanding CALL at a time, answers
//! matched by unique id (a CALLRESULT does not name its action), and timeouts against `now`.

use model::Timestamp;

use crate::{
    CallError, CallErrorFrame, CallResult, ErrorCode, IdGenerator, Request, Response, Version,
    decode_result,
};

/// The call in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outstanding {
    pub unique_id: String,
    pub action: &'static str,
    pub sent_at: Timestamp,
}

/// How the charger answered a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A CALLRESULT, decoded as the answer to the call's action.
    Result(Response),
    /// A CALLERROR; `code` is `None` for a code neither version defines.
    Error {
        code: Option<ErrorCode>,
        frame: CallErrorFrame,
    },
}

/// Why an answer, or a new call, could not be taken.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CorrelateError {
    /// Both versions allow one outstanding CALL per direction; wait for the answer or timeout.
    #[error("call {0} is still outstanding")]
    Busy(String),
    /// The call is of the other version than the connection.
    #[error("a {request} call on a {connection} connection")]
    WrongVersion {
        request: Version,
        connection: Version,
    },
    /// An answer whose id matches no outstanding call (late, after a timeout, or invented).
    /// It is dropped; the outstanding call, if any, stays.
    #[error("answer {0} matches no outstanding call")]
    Unknown(String),
    /// The answer matched, but its payload does not decode for the action; the call is over.
    #[error("answer {unique_id} to {action} does not decode: {error}")]
    BadPayload {
        unique_id: String,
        action: &'static str,
        error: CallError,
    },
}

/// Tracks the CSMS's calls on one connection. Sans-IO: the caller sends the text it is given,
/// feeds answers in, and calls [`Correlator::poll_timeout`] with the time.
#[derive(Debug, Clone)]
pub struct Correlator {
    version: Version,
    ids: IdGenerator,
    timeout_secs: i64,
    outstanding: Option<Outstanding>,
}

impl Correlator {
    /// `id_prefix` as for [`IdGenerator::new`]; `timeout_secs` is how long a charger may take
    /// to answer.
    pub fn new(version: Version, id_prefix: &str, timeout_secs: i64) -> Self {
        Self {
            version,
            ids: IdGenerator::new(id_prefix),
            timeout_secs,
            outstanding: None,
        }
    }

    pub fn outstanding(&self) -> Option<&Outstanding> {
        self.outstanding.as_ref()
    }

    /// Starts a call: its unique id and the CALL text to send.
    pub fn call(
        &mut self,
        request: &Request,
        now: Timestamp,
    ) -> Result<(String, String), CorrelateError> {
        if let Some(o) = &self.outstanding {
            return Err(CorrelateError::Busy(o.unique_id.clone()));
        }
        if request.version() != self.version {
            return Err(CorrelateError::WrongVersion {
                request: request.version(),
                connection: self.version,
            });
        }
        let (id, text) = self.ids.call(request);
        self.outstanding = Some(Outstanding {
            unique_id: id.clone(),
            action: request.action(),
            sent_at: now,
        });
        Ok((id, text))
    }

    fn take(&mut self, unique_id: &str) -> Result<Outstanding, CorrelateError> {
        match &self.outstanding {
            Some(o) if o.unique_id == unique_id => {
                Ok(self.outstanding.take().expect("checked just above"))
            }
            _ => Err(CorrelateError::Unknown(unique_id.to_owned())),
        }
    }

    /// Takes a CALLRESULT.
    pub fn on_result(&mut self, result: CallResult) -> Result<Answer, CorrelateError> {
        let call = self.take(&result.unique_id)?;
        decode_result(
            self.version,
            call.action,
            serde_json::Value::Object(result.payload),
        )
        .map(Answer::Result)
        .map_err(|error| CorrelateError::BadPayload {
            unique_id: call.unique_id,
            action: call.action,
            error,
        })
    }

    /// Takes a CALLERROR.
    pub fn on_error(&mut self, frame: CallErrorFrame) -> Result<Answer, CorrelateError> {
        self.take(&frame.unique_id)?;
        Ok(Answer::Error {
            code: frame.error_code(),
            frame,
        })
    }

    /// The outstanding call, if it has waited `timeout_secs` or more by `now`; it is then
    /// forgotten, so a late answer is reported as [`CorrelateError::Unknown`].
    pub fn poll_timeout(&mut self, now: Timestamp) -> Option<Outstanding> {
        let o = self.outstanding.as_ref()?;
        let waited = now.as_micros().saturating_sub(o.sent_at.as_micros());
        if waited >= self.timeout_secs.saturating_mul(1_000_000) {
            self.outstanding.take()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::*;
    use crate::{v16, v201};

    fn stop(id: i32) -> Request {
        Request::V16(v16::Request::RemoteStopTransaction(
            v16::RemoteStopTransactionRequest { transaction_id: id },
        ))
    }

    fn result(id: &str, payload: serde_json::Value) -> CallResult {
        let serde_json::Value::Object(payload) = payload else {
            panic!()
        };
        CallResult {
            unique_id: id.into(),
            payload,
        }
    }

    const T0: Timestamp = Timestamp::from_secs(1_795_766_400);

    #[test]
    fn one_call_at_a_time_and_result_typed_by_action() {
        let mut c = Correlator::new(Version::V16, "c", 30);
        let (id, text) = c.call(&stop(5), T0).unwrap();
        assert_eq!(
            text,
            r#"[2,"c1","RemoteStopTransaction",{"transactionId":5}]"#
        );
        assert_eq!(c.call(&stop(6), T0), Err(CorrelateError::Busy(id.clone())));
        // An answer with another id leaves the call outstanding.
        assert_eq!(
            c.on_result(result("zz", json!({}))),
            Err(CorrelateError::Unknown("zz".into()))
        );
        let answer = c
            .on_result(result(&id, json!({"status": "Accepted"})))
            .unwrap();
        assert_eq!(
            answer,
            Answer::Result(Response::V16(v16::Response::RemoteStopTransaction(
                v16::RemoteStopTransactionResponse {
                    status: v16::RemoteStartStopStatus::Accepted
                }
            )))
        );
        assert!(c.outstanding().is_none());
        assert_eq!(c.call(&stop(6), T0).unwrap().0, "c2");
    }

    #[test]
    fn errors_and_bad_payloads_end_the_call() {
        let mut c = Correlator::new(Version::V16, "c", 30);
        let (id, _) = c.call(&stop(5), T0).unwrap();
        let answer = c
            .on_error(CallErrorFrame {
                unique_id: id,
                error_code: "NotSupported".into(),
                description: String::new(),
                details: Map::new(),
            })
            .unwrap();
        assert!(matches!(
            answer,
            Answer::Error {
                code: Some(ErrorCode::NotSupported),
                ..
            }
        ));
        let (id, _) = c.call(&stop(5), T0).unwrap();
        let err = c
            .on_result(result(&id, json!({"status": "Maybe"})))
            .unwrap_err();
        assert!(matches!(
            err,
            CorrelateError::BadPayload {
                error: CallError {
                    code: ErrorCode::PropertyConstraintViolation,
                    ..
                },
                ..
            }
        ));
        assert!(c.outstanding().is_none());
    }

    #[test]
    fn timeout_against_now() {
        let mut c = Correlator::new(Version::V16, "c", 30);
        let (id, _) = c.call(&stop(5), T0).unwrap();
        assert_eq!(
            c.poll_timeout(Timestamp::from_secs(T0.as_secs() + 29)),
            None
        );
        let gone = c
            .poll_timeout(Timestamp::from_secs(T0.as_secs() + 30))
            .unwrap();
        assert_eq!(gone.unique_id, id);
        assert_eq!(gone.action, "RemoteStopTransaction");
        // The late answer is not mistaken for the next call's.
        assert_eq!(
            c.on_result(result(&id, json!({"status": "Accepted"}))),
            Err(CorrelateError::Unknown(id))
        );
    }

    #[test]
    fn version_must_match_the_connection() {
        let mut c = Correlator::new(Version::V201, "c", 30);
        assert!(matches!(
            c.call(&stop(1), T0),
            Err(CorrelateError::WrongVersion { .. })
        ));
        let req = Request::V201(v201::Request::RequestStopTransaction(
            v201::RequestStopTransactionRequest {
                transaction_id: crate::CiString::new("tx").unwrap(),
            },
        ));
        assert!(c.call(&req, T0).is_ok());
    }
}
