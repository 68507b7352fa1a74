//! The secrets two platforms exchange when they connect, validated once on construction.

use std::fmt;

/// Why a set of peer secrets was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("{field} must be exactly 16 characters, got {len}")]
    Length { field: &'static str, len: usize },
    #[error("{field} must be printable ASCII (it is used as its bytes), found {found:?}")]
    NotAscii { field: &'static str, found: char },
    #[error("OperatorID must be 1 to 32 ASCII letters or digits, got {0:?}")]
    OperatorId(String),
}

/// The secrets of one peer for one direction (T/CEC 102.4 §4.3): the `OperatorID` that signs
/// the requests, and four 16-character secrets used as their ASCII bytes — never hex- or
/// Base64-decoded.
///
/// `Debug` shows the operator only, so secrets never reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct PeerSecrets {
    operator_id: String,
    operator_secret: String,
    data_secret: [u8; 16],
    data_secret_iv: [u8; 16],
    sig_secret: [u8; 16],
}

impl PeerSecrets {
    /// Validates and stores the secrets.
    ///
    /// The standard's `OperatorID` is a 9-character organisation code; newer platforms send the
    /// 18-character unified social credit code, so up to 32 letters or digits are accepted.
    pub fn new(
        operator_id: &str,
        operator_secret: &str,
        data_secret: &str,
        data_secret_iv: &str,
        sig_secret: &str,
    ) -> Result<Self, SecretError> {
        if operator_id.is_empty()
            || operator_id.len() > 32
            || !operator_id.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(SecretError::OperatorId(operator_id.to_owned()));
        }
        Ok(Self {
            operator_id: operator_id.to_owned(),
            operator_secret: {
                secret16("OperatorSecret", operator_secret)?;
                operator_secret.to_owned()
            },
            data_secret: secret16("DataSecret", data_secret)?,
            data_secret_iv: secret16("DataSecretIV", data_secret_iv)?,
            sig_secret: secret16("SigSecret", sig_secret)?,
        })
    }

    /// The `OperatorID` whose requests these secrets sign and open.
    pub fn operator_id(&self) -> &str {
        &self.operator_id
    }

    /// The secret a `query_token` request carries.
    pub fn operator_secret(&self) -> &str {
        &self.operator_secret
    }

    pub(crate) fn data_secret(&self) -> &[u8; 16] {
        &self.data_secret
    }

    pub(crate) fn data_secret_iv(&self) -> &[u8; 16] {
        &self.data_secret_iv
    }

    pub(crate) fn sig_secret(&self) -> &[u8; 16] {
        &self.sig_secret
    }
}

fn secret16(field: &'static str, value: &str) -> Result<[u8; 16], SecretError> {
    if let Some(found) = value.chars().find(|c| !(c.is_ascii_graphic() || *c == ' ')) {
        return Err(SecretError::NotAscii { field, found });
    }
    value
        .as_bytes()
        .try_into()
        .map_err(|_| SecretError::Length {
            field,
            len: value.len(),
        })
}

impl fmt::Debug for PeerSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerSecrets")
            .field("operator_id", &self.operator_id)
            .finish_non_exhaustive()
    }
}
