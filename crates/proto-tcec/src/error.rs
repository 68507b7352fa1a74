//! The one error of this crate and the standard's `Ret` codes it maps to.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a T/CEC 102 message was refused.
///
/// Messages start with the words operators and tests look for (`bad signature`, `cannot
/// decrypt`, `stale timestamp`, `replayed seq`, `bad JSON at …`); [`Error::ret`] gives the
/// `Ret` code the reply to the peer carries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The HTTP body is not an envelope: not JSON, or a field is missing or of the wrong type.
    #[error("bad envelope at line {line} column {column}: {message}")]
    Envelope {
        line: usize,
        column: usize,
        message: String,
    },
    /// An envelope field is present but malformed (`TimeStamp` not 14 digits, `Seq` not 4, …).
    #[error("bad {field}: {reason}")]
    Field { field: &'static str, reason: String },
    /// The envelope names an operator these secrets do not belong to.
    #[error("unknown operator {0:?}")]
    UnknownOperator(String),
    /// `Sig` is not the upper-case hex HMAC-MD5 of the signed fields.
    #[error("bad signature")]
    BadSignature,
    /// `Data` is signed correctly but is not Base64 of an AES-128-CBC/PKCS#7 ciphertext under
    /// the peer's `DataSecret`/`DataSecretIV`.
    #[error("cannot decrypt Data: {0}")]
    Decrypt(&'static str),
    /// `TimeStamp` is further from `now` than the replay window allows.
    #[error("stale timestamp {time_stamp}: {skew_secs} s from now, window is ±{window_secs} s")]
    StaleTimestamp {
        time_stamp: String,
        skew_secs: i64,
        window_secs: u32,
    },
    /// The same operator already sent this `TimeStamp` and `Seq` within the window.
    #[error("replayed seq {seq} at {time_stamp} from operator {operator_id:?}")]
    ReplayedSeq {
        operator_id: String,
        time_stamp: String,
        seq: String,
    },
    /// The replay guard is full of unexpired entries; accepting more would forget one.
    #[error("replay guard full ({0} requests inside the window); try again later")]
    ReplayGuardFull(usize),
    /// The decrypted `Data` is not the JSON the endpoint expects.
    #[error("bad JSON at line {line} column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
}

impl Error {
    /// The `Ret` code a reply to the peer carries for this error.
    ///
    /// A stale or replayed request is a wrong POST parameter (`TimeStamp`/`Seq`), 4003; the
    /// standard has no code of its own for it.
    pub fn ret(&self) -> Ret {
        match self {
            Error::BadSignature => Ret::SignatureError,
            Error::Envelope { .. }
            | Error::Field { .. }
            | Error::UnknownOperator(_)
            | Error::StaleTimestamp { .. }
            | Error::ReplayedSeq { .. } => Ret::BadRequest,
            Error::Decrypt(_) | Error::Json { .. } => Ret::BadData,
            Error::ReplayGuardFull(_) => Ret::Busy,
        }
    }

    pub(crate) fn json(e: &serde_json::Error) -> Self {
        Error::Json {
            line: e.line(),
            column: e.column(),
            message: strip_position(e),
        }
    }

    pub(crate) fn envelope(e: &serde_json::Error) -> Self {
        Error::Envelope {
            line: e.line(),
            column: e.column(),
            message: strip_position(e),
        }
    }
}

// serde_json appends " at line L column C" to its message; we print the position ourselves.
fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// The `Ret` of a response envelope (T/CEC 102.4 §4.5, and the codes real platforms agree on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ret {
    /// `-1`: system busy, the caller should retry later.
    Busy,
    /// `0`: success.
    Ok,
    /// `4001`: signature error.
    SignatureError,
    /// `4002`: token error (missing, unknown or expired `AccessToken`).
    TokenError,
    /// `4003`: POST parameters invalid (missing or malformed `OperatorID`, `Sig`, `TimeStamp`,
    /// `Data`, `Seq`).
    BadRequest,
    /// `4004`: business parameters invalid — `Data` that cannot be decrypted or read.
    BadData,
    /// `500`: system error.
    SystemError,
    /// A code outside the standard (some operators add 4005 API forbidden, 4006 partner unknown).
    Other(i32),
}

impl Ret {
    pub const fn code(self) -> i32 {
        match self {
            Ret::Busy => -1,
            Ret::Ok => 0,
            Ret::SignatureError => 4001,
            Ret::TokenError => 4002,
            Ret::BadRequest => 4003,
            Ret::BadData => 4004,
            Ret::SystemError => 500,
            Ret::Other(code) => code,
        }
    }

    pub const fn from_code(code: i32) -> Self {
        match code {
            -1 => Ret::Busy,
            0 => Ret::Ok,
            4001 => Ret::SignatureError,
            4002 => Ret::TokenError,
            4003 => Ret::BadRequest,
            4004 => Ret::BadData,
            500 => Ret::SystemError,
            other => Ret::Other(other),
        }
    }

    /// The `Msg` to send with this code when there is nothing more specific to say.
    pub const fn default_msg(self) -> &'static str {
        match self {
            Ret::Busy => "系统繁忙",
            Ret::Ok => "请求成功",
            Ret::SignatureError => "签名错误",
            Ret::TokenError => "Token错误",
            Ret::BadRequest => "POST参数不合法",
            Ret::BadData => "请求的业务参数不合法",
            Ret::SystemError => "系统错误",
            Ret::Other(_) => "",
        }
    }
}

impl Serialize for Ret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i32(self.code())
    }
}

impl<'de> Deserialize<'de> for Ret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::lenient::int(d).map(Ret::from_code)
    }
}
