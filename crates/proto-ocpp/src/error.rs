//! CALLERROR codes, spelled as each version spells them, and the error a call is answered with.

use crate::Version;

/// The reason a CALL failed, as a CALLERROR `errorCode` names it.
///
/// One variant per meaning; [`ErrorCode::as_str`] gives the version's spelling. OCPP-J 1.6 §4.2.3
/// spells two codes wrongly (`FormationViolation`, `OccurenceConstraintViolation`) and the typos
/// are normative; 2.0.1 corrects them and adds `MessageTypeNotSupported` and `RpcFrameworkError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The action is not known by the receiver.
    NotImplemented,
    /// The action is known but not supported.
    NotSupported,
    /// The receiver hit an internal error while handling the call.
    InternalError,
    /// The payload is incomplete.
    ProtocolError,
    /// The call was refused for security reasons (e.g. before an accepted boot).
    SecurityError,
    /// The payload is syntactically wrong or does not match the action's structure
    /// (`FormationViolation` in 1.6).
    FormatViolation,
    /// A field holds a value outside its allowed set or length.
    PropertyConstraintViolation,
    /// A required field is missing, or a field occurs more often than allowed
    /// (`OccurenceConstraintViolation` in 1.6).
    OccurrenceConstraintViolation,
    /// A field holds a value of the wrong data type.
    TypeConstraintViolation,
    /// Any other error.
    GenericError,
    /// 2.0.1: the message type number is unknown. In 1.6, sent as `ProtocolError`.
    MessageTypeNotSupported,
    /// 2.0.1: the frame is not a valid RPC message (e.g. its id cannot be read). In 1.6, sent as
    /// `FormationViolation`.
    RpcFrameworkError,
}

impl ErrorCode {
    /// Every code, for tests and parsers.
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::NotImplemented,
        ErrorCode::NotSupported,
        ErrorCode::InternalError,
        ErrorCode::ProtocolError,
        ErrorCode::SecurityError,
        ErrorCode::FormatViolation,
        ErrorCode::PropertyConstraintViolation,
        ErrorCode::OccurrenceConstraintViolation,
        ErrorCode::TypeConstraintViolation,
        ErrorCode::GenericError,
        ErrorCode::MessageTypeNotSupported,
        ErrorCode::RpcFrameworkError,
    ];

    /// The wire spelling of this code in `version`. Codes 1.6 lacks map to their nearest 1.6 code.
    pub const fn as_str(self, version: Version) -> &'static str {
        let v16 = matches!(version, Version::V16);
        match self {
            ErrorCode::NotImplemented => "NotImplemented",
            ErrorCode::NotSupported => "NotSupported",
            ErrorCode::InternalError => "InternalError",
            ErrorCode::ProtocolError => "ProtocolError",
            ErrorCode::SecurityError => "SecurityError",
            ErrorCode::FormatViolation if v16 => "FormationViolation",
            ErrorCode::FormatViolation => "FormatViolation",
            ErrorCode::PropertyConstraintViolation => "PropertyConstraintViolation",
            ErrorCode::OccurrenceConstraintViolation if v16 => "OccurenceConstraintViolation",
            ErrorCode::OccurrenceConstraintViolation => "OccurrenceConstraintViolation",
            ErrorCode::TypeConstraintViolation => "TypeConstraintViolation",
            ErrorCode::GenericError => "GenericError",
            ErrorCode::MessageTypeNotSupported if v16 => "ProtocolError",
            ErrorCode::MessageTypeNotSupported => "MessageTypeNotSupported",
            ErrorCode::RpcFrameworkError if v16 => "FormationViolation",
            ErrorCode::RpcFrameworkError => "RpcFrameworkError",
        }
    }

    /// Reads a code leniently: either version's spelling is accepted, since peers mix them up.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "FormationViolation" => Some(ErrorCode::FormatViolation),
            "OccurenceConstraintViolation" => Some(ErrorCode::OccurrenceConstraintViolation),
            _ => ErrorCode::ALL
                .into_iter()
                .find(|c| c.as_str(Version::V201) == text),
        }
    }
}

/// The error a CALL is answered with: a code and a human-readable description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {description}")]
pub struct CallError {
    pub code: ErrorCode,
    pub description: String,
}

impl CallError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    /// Maps a payload deserialization error to the code the specification assigns to it: a
    /// missing or repeated field is an occurrence violation, a value of the wrong JSON type a
    /// type violation, a value outside its enumeration or length a property violation, and
    /// anything else (syntax) a format violation. serde_json reports these only as messages, so
    /// the mapping reads the message's opening words, which serde has kept stable since 1.0.
    pub fn from_payload_error(err: &serde_json::Error) -> Self {
        let msg = err.to_string();
        let code = if msg.starts_with("missing field") || msg.starts_with("duplicate field") {
            ErrorCode::OccurrenceConstraintViolation
        } else if msg.starts_with("invalid type") || msg.starts_with("invalid length") {
            ErrorCode::TypeConstraintViolation
        } else if msg.starts_with("unknown variant")
            || msg.starts_with("invalid value")
            || msg.starts_with(crate::types::TOO_LONG)
        {
            ErrorCode::PropertyConstraintViolation
        } else {
            ErrorCode::FormatViolation
        };
        Self::new(code, msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_spellings() {
        use ErrorCode::*;
        assert_eq!(FormatViolation.as_str(Version::V16), "FormationViolation");
        assert_eq!(FormatViolation.as_str(Version::V201), "FormatViolation");
        assert_eq!(
            OccurrenceConstraintViolation.as_str(Version::V16),
            "OccurenceConstraintViolation"
        );
        assert_eq!(
            OccurrenceConstraintViolation.as_str(Version::V201),
            "OccurrenceConstraintViolation"
        );
        assert_eq!(
            MessageTypeNotSupported.as_str(Version::V16),
            "ProtocolError"
        );
        assert_eq!(
            MessageTypeNotSupported.as_str(Version::V201),
            "MessageTypeNotSupported"
        );
        assert_eq!(RpcFrameworkError.as_str(Version::V16), "FormationViolation");
        assert_eq!(RpcFrameworkError.as_str(Version::V201), "RpcFrameworkError");
    }

    #[test]
    fn parse_accepts_both_spellings() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(c.as_str(Version::V201)), Some(c));
        }
        assert_eq!(
            ErrorCode::parse("FormationViolation"),
            Some(ErrorCode::FormatViolation)
        );
        assert_eq!(
            ErrorCode::parse("OccurenceConstraintViolation"),
            Some(ErrorCode::OccurrenceConstraintViolation)
        );
        assert_eq!(ErrorCode::parse("Nope"), None);
    }
}
