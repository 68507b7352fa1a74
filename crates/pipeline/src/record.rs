//! The unit the gateway hands to the pipeline: one accepted frame, as received, with its metadata.
//!
//! Records carry the raw frame rather than decoded values: it is compact, costs nothing to
//! serialize, keeps the exact bytes for audit and upstream forwarding, and the decoders are
//! deterministic, so applying a replayed record gives what applying it the first time gave.

use model::Timestamp;

/// Which codec the payload is for. The code byte is on-disk format: a protocol keeps its code
/// forever and new protocols take new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceProtocol {
    /// Code 1: the frame exactly as received.
    Gbt32960,
    /// Code 2: one complete message in `proto_jt808`'s stored form (a reassembled message of
    /// several frames is one record).
    Jt808,
    /// Code 3: one T/CEC 102 message an operator pushed or answered, in `proto_tcec`'s stored
    /// form (the decrypted JSON with the operator id and interface name).
    Tcec,
    /// Code 4: one OCPP-J call a charger made, in `proto_ocpp`'s stored form (the message text
    /// with the charge point id, version and what the CSMS assigned in its answer).
    Ocpp,
}

impl SourceProtocol {
    fn code(self) -> u8 {
        match self {
            Self::Gbt32960 => 1,
            Self::Jt808 => 2,
            Self::Tcec => 3,
            Self::Ocpp => 4,
        }
    }

    fn from_code(c: u8) -> Option<Self> {
        match c {
            1 => Some(Self::Gbt32960),
            2 => Some(Self::Jt808),
            3 => Some(Self::Tcec),
            4 => Some(Self::Ocpp),
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
    /// What the protocol's decoder reads back (see [`SourceProtocol`]).
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes written by the first release (GB/T 32960 only): they must decode unchanged.
    #[test]
    fn records_written_before_jt808_still_decode() {
        let old = [
            1u8, 1, 0x00, 0x10, 0xA5, 0xD4, 0xE8, 0x00, 0x00, 0x00, 3, b'o', b'r', b'g', 0x23,
            0x23, 0x07,
        ];
        let r = IngestRecord::decode(&old).unwrap();
        assert_eq!(r.protocol, SourceProtocol::Gbt32960);
        assert_eq!(r.received_at, Timestamp::from_micros(1_000_000_000_000));
        assert_eq!(r.org.as_deref(), Some("org"));
        assert_eq!(r.payload, [0x23, 0x23, 0x07]);
        assert_eq!(r.encode(), old);
    }

    #[test]
    fn each_protocol_round_trips_with_its_code() {
        for (protocol, code) in [
            (SourceProtocol::Gbt32960, 1),
            (SourceProtocol::Jt808, 2),
            (SourceProtocol::Tcec, 3),
            (SourceProtocol::Ocpp, 4),
        ] {
            let r = IngestRecord {
                protocol,
                received_at: Timestamp::from_secs(1_800_000_000),
                org: Some("operator-a".into()),
                payload: vec![1, 13, 0, 0, 0, 0, 0],
            };
            let bytes = r.encode();
            assert_eq!(bytes[1], code);
            assert_eq!(IngestRecord::decode(&bytes).unwrap(), r);
        }
        let mut unknown = IngestRecord {
            protocol: SourceProtocol::Jt808,
            received_at: Timestamp::from_secs(0),
            org: None,
            payload: Vec::new(),
        }
        .encode();
        unknown[1] = 5;
        assert_eq!(
            IngestRecord::decode(&unknown),
            Err(RecordError::Protocol(5))
        );
    }
}
