//! JT/T 808 (2011, 2013 and 2019): the protocol of China's road-transport fleet terminals
//! (trucks, buses, taxis, sanitation and logistics fleets).
//!
//! Sans-IO: bytes and `now` go in; messages, replies, reports and errors come out. The layers:
//! - [`Framer`]: splits a byte stream into `7E … 7E` frames (partial and joined frames, resync
//!   after garbage, the 2 092-byte bound);
//! - [`decode`] / [`decode_with`] / [`Frame::encode`]: one frame to typed messages and back,
//!   byte for byte (unescaping, XOR checksum, header version detection, bodies);
//! - [`Reassembler`]: subpackaged messages back into one, with timeouts and 0x8003 requests;
//! - [`encode_stored`] / [`decode_stored`]: the on-disk form of one complete message;
//! - [`Session`]: register → auth code → authenticate → reports, over a [`Directory`];
//! - [`to_reports`]: location reports as `model::FleetReport`; [`to_json`]: what
//!   `haihe decode` prints.
//!
//! The terminal id is the header's BCD phone number as digits without leading zeros (`"0"` if
//! all are zero); see [`Phone::terminal_id`].

mod body;
mod escape;
mod frame;
mod framer;
mod header;
mod json;
mod location;
mod reassembly;
mod report;
mod session;
mod stored;
mod value;

#[cfg(test)]
mod proptests;

pub use body::{Authenticate, GeneralResponse, Register, RegisterResponse, RetransmitRequest};
pub use escape::{ESCAPE, FLAG, escape_into, unescape};
pub use frame::{
    Body, Frame, MAX_FRAME_LEN, MIN_CONTENT_LEN, Options, Quirks, decode, decode_with, msg_id,
    peek_header,
};
pub use framer::Framer;
pub use header::{Header, MAX_BODY_LEN, Package, Version};
pub use json::to_json;
pub use location::{
    ALARM_BITS, Batch, EXT_SIGNAL_BITS, IO_BITS, Item, LOCATION_BASIC_LEN, Location, STATUS_ACC_ON,
    STATUS_BITS, STATUS_POSITIONED, STATUS_SOUTH, STATUS_WEST, alarm_names, load_state,
    status_names,
};
pub use reassembly::{Limits, Merged, Missing, Push, Reassembler, ReassemblyStats, Refusal};
pub use report::to_reports;
pub use session::{
    Directory, MemoryDirectory, Outcome, RegisterRefusal, Reject, Session, SessionConfig,
    TerminalPolicy,
};
pub use stored::{STORED_FORMAT, decode_stored, encode_stored};
pub use value::{BcdTime, HexDisplay, Phone, Text};
pub use wire::{DecodeError, ErrorKind};

/// A message that cannot be put on the wire (or into the stored form) as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("body of {0} bytes exceeds the 1 023-byte limit of one frame (split it into packets)")]
    TooLong(usize),
    #[error("{what} longer than its {max}-byte field")]
    FieldTooLong { what: &'static str, max: usize },
    #[error("too many {what} ({count}) for the count field")]
    TooMany { what: &'static str, count: usize },
    #[error("{0}")]
    Invalid(&'static str),
}
