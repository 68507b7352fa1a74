//! The vehicle identification number, validated once where it enters the platform.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

/// A vehicle identifier as carried in the 17-byte identifier field of GB/T 32960 (normally a
/// GB 16735 VIN; test tools and platforms also send shorter NUL- or space-padded codes).
///
/// Construction trims the padding and accepts 1–17 printable ASCII characters, so that an
/// identifier can be used safely as a file-name component, a map key and a SQL literal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Vin(String);

impl TryFrom<String> for Vin {
    type Error = VinError;
    fn try_from(s: String) -> Result<Self, VinError> {
        Self::from_field(s.as_bytes())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VinError {
    Empty,
    TooLong(usize),
    BadByte(u8),
}

impl std::error::Error for VinError {}

impl fmt::Display for VinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("identifier is empty"),
            Self::TooLong(n) => write!(f, "identifier has {n} characters, more than 17"),
            Self::BadByte(b) => write!(
                f,
                "identifier contains byte 0x{b:02X}; only letters, digits, - and _ are allowed"
            ),
        }
    }
}

impl Vin {
    /// From the raw field: trailing and leading NULs and spaces are padding.
    pub fn from_field(raw: &[u8]) -> Result<Self, VinError> {
        let pad = |b: &u8| *b == 0 || *b == b' ';
        let start = raw.iter().position(|b| !pad(b)).unwrap_or(raw.len());
        let end = raw.iter().rposition(|b| !pad(b)).map_or(start, |i| i + 1);
        let body = &raw[start..end];
        if body.is_empty() {
            return Err(VinError::Empty);
        }
        if body.len() > 17 {
            return Err(VinError::TooLong(body.len()));
        }
        if let Some(&b) = body
            .iter()
            .find(|&&b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            return Err(VinError::BadByte(b));
        }
        Ok(Self(String::from_utf8_lossy(body).into_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Vin {
    type Err = VinError;
    fn from_str(s: &str) -> Result<Self, VinError> {
        Self::from_field(s.as_bytes())
    }
}

impl fmt::Display for Vin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Vin {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_is_trimmed_and_garbage_refused() {
        assert_eq!(
            Vin::from_field(b"H3V21BA29SZ003109").unwrap().as_str(),
            "H3V21BA29SZ003109"
        );
        assert_eq!(
            Vin::from_field(b"123456789\0\0\0\0\0\0\0\0")
                .unwrap()
                .as_str(),
            "123456789"
        );
        assert_eq!(Vin::from_field(b"ABC     ").unwrap().as_str(), "ABC");
        assert_eq!(Vin::from_field(&[0; 17]), Err(VinError::Empty));
        assert_eq!(Vin::from_field(b"AB\x01CD"), Err(VinError::BadByte(1)));
        assert_eq!(Vin::from_field(b"AB/CD"), Err(VinError::BadByte(b'/')));
        assert_eq!(Vin::from_field(&[b'A'; 18]), Err(VinError::TooLong(18)));
    }
}
