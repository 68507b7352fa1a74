//! OCPP-J 1.6 and 2.0.1: the protocol chargers speak to a charging station management system
//! (CSMS) over WebSocket.
//!
//! Sans-IO: message text goes in; frames, typed messages, CALLERRORs and answer text come out.
//! The WebSocket, the clock and the session belong to the caller. The layers:
//! - [`negotiate`]: picks `ocpp2.0.1` or `ocpp1.6` from a `Sec-WebSocket-Protocol` offer;
//! - [`parse`] / [`Frame::encode`]: the RPC framing (CALL, CALLRESULT, CALLERROR), with the size
//!   and unique-id bounds and the CALLERROR a malformed message is owed ([`FrameError::reply`]);
//! - [`v16`], [`v201`]: typed payloads, named and shaped as in the specifications;
//! - [`receive`]: one message in, sorted into a call to handle, a call refused with its
//!   CALLERROR, an answer for the correlator, or a malformed message with the reply it is owed;
//! - [`decode_call`], [`decode_result`], [`encode_call`], [`encode_result`], [`encode_error`],
//!   [`IdGenerator`]: dispatch by action with the specification's error codes, and the CSMS's side
//!   of the conversation;
//! - [`Correlator`]: the CSMS's own calls on one connection — one outstanding at a time, answers
//!   matched by unique id and typed by the call's action, timeouts against a `now` parameter;
//! - [`Stored`], [`encode_stored`], [`decode_stored`]: the write-ahead log's form of one CALL a
//!   charger made, with what the CSMS decided when answering it;
//! - [`to_events`]: a stored CALL in the shared charging model.

#[macro_use]
mod macros;
mod charging;
mod correlate;
mod dispatch;
mod error;
mod frame;
#[cfg(test)]
mod proptests;
mod stored;
mod types;
pub mod v16;
pub mod v201;
mod version;

pub use charging::{source, state_v16, state_v201, to_events};
pub use correlate::{Answer, CorrelateError, Correlator, Outstanding};
pub use dispatch::{
    IdGenerator, Incoming, Request, Response, decode_call, decode_result, encode_call,
    encode_error, encode_result, receive,
};
pub use error::{CallError, ErrorCode};
pub use frame::{
    CALL, CALL_ERROR, CALL_RESULT, Call, CallErrorFrame, CallResult, DEFAULT_MAX_MESSAGE_LEN,
    Frame, FrameError, FrameErrorKind, MAX_UNIQUE_ID_LEN, parse,
};
pub use stored::{
    MAX_STORED_ID, MAX_STORED_TEXT, STORED_FORMAT, StoreError, Stored, StoredError, decode_stored,
    encode_stored,
};
pub use types::{CiString, DateTime, Location, Measurand, Phase, ReadingContext};
pub use version::{DEFAULT_PREFERENCE, Version, negotiate};
