//! The unit the gateway hands to the pipeline: one accepted frame, as received, with its metadata.
//!
//! Records carry the raw frame rather than decoded values: it is compact, costs nothing to
//! serialize, keeps the exact bytes for audit and upstream forwarding, and the decoders are
//! deterministic, so applying a replayed record gives what applying it the first time gave.

use model::Timestamp;

/// Which codec the payload is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceProtocol {
    Gbt32960,
}

impl SourceProtocol {
    fn code(self) -> u8 {
        match self {
            Self::Gbt32960 => 1,
        }
    }

    fn from_code(c: u8) -> Option<Self> {
        match c {
            1 => Some(Self::Gbt32960),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestRecord {
    pub protocol: SourceProtocol,
    pub received_at: Timestamp,
    /// The organisation the sender authenticated as (a carmaker platform), if any.
    pub org: Option<String>,
    /// The frame exactly as received.
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record too short")]
    Short,
    #[error("unknown record version {0}")]
    Version(u8),
    #[error("unknown protocol code {0}")]
    Protocol(u8),
}

const VERSION: u8 = 1;

impl IngestRecord {
    /// `version u8 · protocol u8 · received_at i64 LE · org length u8 · org · payload`.
    pub fn encode(&self) -> Vec<u8> {
        let org = self.org.as_deref().unwrap_or("").as_bytes();
        let org = &org[..org.len().min(255)];
        let mut out = Vec::with_capacity(11 + org.len() + self.payload.len());
        out.push(VERSION);
        out.push(self.protocol.code());
        out.extend_from_slice(&self.received_at.as_micros().to_le_bytes());
        out.push(org.len() as u8);
        out.extend_from_slice(org);
        out.extend_from_slice(&self.payload);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let [version, protocol, rest @ ..] = bytes else {
            return Err(RecordError::Short);
        };
        if *version != VERSION {
            return Err(RecordError::Version(*version));
        }
        let protocol =
            SourceProtocol::from_code(*protocol).ok_or(RecordError::Protocol(*protocol))?;
        let (ts, rest) = rest.split_at_checked(8).ok_or(RecordError::Short)?;
        let received_at =
            Timestamp::from_micros(i64::from_le_bytes(ts.try_into().expect("8 bytes")));
        let (&org_len, rest) = rest.split_first().ok_or(RecordError::Short)?;
        let (org, payload) = rest
            .split_at_checked(usize::from(org_len))
            .ok_or(RecordError::Short)?;
        let org = (!org.is_empty()).then(|| String::from_utf8_lossy(org).into_owned());
        Ok(Self {
            protocol,
            received_at,
            org,
            payload: payload.to_vec(),
        })
    }
}
