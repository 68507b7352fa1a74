//! The request and response envelopes every T/CEC 102 call travels in, sealed and opened.
//!
//! Opening a request checks, in this order: the operator, the shape of `TimeStamp`/`Seq`/`Sig`,
//! the signature (before anything touches `Data`), the replay guard, and only then decrypts.

use model::Timestamp;
use serde::{Deserialize, Serialize};

use crate::crypto::{decrypt_data, encrypt_data, request_sig, response_sig, verify};
use crate::error::{Error, Ret};
use crate::lenient;
use crate::replay::{ReplayGuard, check_seq, format_time_stamp, parse_time_stamp};
use crate::secrets::PeerSecrets;

/// A request envelope: `{OperatorID, Data, TimeStamp, Seq, Sig}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    #[serde(rename = "OperatorID", deserialize_with = "lenient::text")]
    pub operator_id: String,
    #[serde(rename = "Data")]
    pub data: String,
    #[serde(rename = "TimeStamp", deserialize_with = "lenient::text")]
    pub time_stamp: String,
    #[serde(rename = "Seq", deserialize_with = "lenient::text")]
    pub seq: String,
    #[serde(rename = "Sig")]
    pub sig: String,
}

impl Request {
    /// Parses the HTTP body of a request.
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        serde_json::from_slice(body).map_err(|e| Error::envelope(&e))
    }

    /// The HTTP body for this request.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| unreachable!("strings always serialize"))
    }

    /// Encrypts and signs `plaintext` (the endpoint's JSON) as a request from
    /// `secrets.operator_id()`, stamped with `now` in Beijing time and `seq` (1 to 9999).
    pub fn seal(
        secrets: &PeerSecrets,
        plaintext: &[u8],
        now: Timestamp,
        seq: u16,
    ) -> Result<Self, Error> {
        if !(1..=9999).contains(&seq) {
            return Err(Error::Field {
                field: "Seq",
                reason: format!("{seq} is not in 1..=9999"),
            });
        }
        let operator_id = secrets.operator_id().to_owned();
        let data = encrypt_data(secrets, plaintext);
        let time_stamp = format_time_stamp(now);
        let seq = format!("{seq:04}");
        let sig = request_sig(secrets, &operator_id, &data, &time_stamp, &seq);
        Ok(Self {
            operator_id,
            data,
            time_stamp,
            seq,
            sig,
        })
    }

    /// Checks operator, field shapes and signature, without the replay guard and without
    /// decrypting.
    pub fn verify(&self, secrets: &PeerSecrets) -> Result<(), Error> {
        if self.operator_id != secrets.operator_id() {
            return Err(Error::UnknownOperator(self.operator_id.clone()));
        }
        parse_time_stamp(&self.time_stamp)?;
        check_seq(&self.seq)?;
        verify(
            secrets,
            &[&self.operator_id, &self.data, &self.time_stamp, &self.seq],
            &self.sig,
        )
    }

    /// Verifies, passes the replay guard at `now`, and decrypts: the plaintext JSON bytes,
    /// exactly as the peer encrypted them.
    pub fn open(
        &self,
        secrets: &PeerSecrets,
        guard: &mut ReplayGuard,
        now: Timestamp,
    ) -> Result<Vec<u8>, Error> {
        self.verify(secrets)?;
        guard.check(&self.operator_id, &self.time_stamp, &self.seq, now)?;
        decrypt_data(secrets, &self.data)
    }
}

/// A response envelope: `{Ret, Msg, Data, Sig}`. `Data` is empty when there is nothing to say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    #[serde(rename = "Ret")]
    pub ret: Ret,
    #[serde(rename = "Msg", default, deserialize_with = "lenient::text_or_empty")]
    pub msg: String,
    #[serde(rename = "Data", default, deserialize_with = "lenient::text_or_empty")]
    pub data: String,
    #[serde(rename = "Sig")]
    pub sig: String,
}

impl Response {
    /// Parses the HTTP body of a response.
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        serde_json::from_slice(body).map_err(|e| Error::envelope(&e))
    }

    /// The HTTP body for this response.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| unreachable!("strings always serialize"))
    }

    /// Encrypts `plaintext` (if any) and signs `Ret + Msg + Data`.
    pub fn seal(secrets: &PeerSecrets, ret: Ret, msg: &str, plaintext: Option<&[u8]>) -> Self {
        let data = plaintext.map_or_else(String::new, |p| encrypt_data(secrets, p));
        let sig = response_sig(secrets, ret.code(), msg, &data);
        Self {
            ret,
            msg: msg.to_owned(),
            data,
            sig,
        }
    }

    /// The signed refusal owed for `error`: its `Ret` code and message, no `Data`.
    pub fn refusal(secrets: &PeerSecrets, error: &Error) -> Self {
        Self::seal(secrets, error.ret(), &error.to_string(), None)
    }

    /// Verifies the signature, then decrypts `Data`; an empty `Data` opens to no bytes.
    /// The caller reads `ret` and `msg` itself: a refusal is a well-formed response.
    pub fn open(&self, secrets: &PeerSecrets) -> Result<Vec<u8>, Error> {
        verify(
            secrets,
            &[&self.ret.code().to_string(), &self.msg, &self.data],
            &self.sig,
        )?;
        if self.data.is_empty() {
            Ok(Vec::new())
        } else {
            decrypt_data(secrets, &self.data)
        }
    }
}
