//! T/CEC 102 (中电联 charging interconnection, 2016): how operator platforms and the city's
//! supervision platform exchange stations, connector states and charge orders over HTTP+JSON.
//!
//! Sans-IO: HTTP bodies, secrets and `now` go in; envelopes, payloads and errors come out. The
//! layers:
//! - [`PeerSecrets`]: one peer's `OperatorID` and 16-character secrets, validated once;
//! - [`encrypt_data`] / [`decrypt_data`] / [`request_sig`] / [`response_sig`]: the crypto of
//!   102.4 (AES-128-CBC/PKCS#7 + Base64, HMAC-MD5 upper-case hex);
//! - [`Request`] / [`Response`]: the envelopes, sealed and opened — the signature is checked in
//!   constant time *before* `Data` is decrypted;
//! - [`ReplayGuard`]: the `TimeStamp` window and memory of accepted requests the standard lacks;
//! - [`model`] and [`codes`]: the payloads and their enumerations, tolerant of the spellings and
//!   number-as-string habits of real operators;
//! - [`Error`] with its [`Ret`] code, so a refusal is one call ([`Response::refusal`]).
//!
//! **Architecture Invariant:** no tokio, sockets, clocks or logging; `now` is a parameter.
//! Signatures are computed and checked over the text exactly as it travels, never over
//! re-serialized JSON, and `Data` is decrypted only after its signature verified.
//!
//! The models are typed after the 2016 text; the per-peer parts (versions, path prefixes, enum
//! maps, endpoints beyond the ones here) belong to the caller.

pub mod charging;
pub mod codes;
mod crypto;
mod envelope;
mod error;
mod lenient;
pub mod model;
mod outbound;
mod replay;
mod secrets;
mod stored;

#[cfg(test)]
mod proptests;

pub use charging::to_events;
pub use crypto::{decrypt_data, encrypt_data, request_sig, response_sig};
pub use envelope::{Request, Response};
pub use error::{Error, Ret};
pub use model::{decode_json, encode_json};
pub use replay::{ReplayGuard, check_seq, format_time_stamp, parse_time_stamp};
pub use secrets::{PeerSecrets, SecretError};
pub use stored::{MAX_STORED_DATA, Origin, STORED_FORMAT, Stored, decode_stored, encode_stored};
