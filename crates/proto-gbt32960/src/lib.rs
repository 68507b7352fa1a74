//! GB/T 32960.3 (2016 `##` and 2025 `$$`): the protocol through which China's new-energy
//! vehicles, and their makers' platforms, report to public platforms.
//!
//! Sans-IO: bytes and `now` go in; frames, replies, samples and errors come out. The layers:
//! - [`Framer`]: splits a byte stream into frames (partial and concatenated frames, resync after
//!   garbage, the 65 531-byte bound, BCC check);
//! - [`decode`] / [`Frame::encode`]: one frame to typed messages and back, byte for byte;
//! - [`reply`]: the replies the standard owes a sender;
//! - [`to_sample`]: realtime and reissue reports as `model::VehicleSample` in physical units;
//! - [`to_json`]: the document `haihe decode` prints.

mod body;
mod frame;
mod framer;
mod json;
mod layout;
mod reply;
mod report;
mod sample;
mod session;
mod value;

#[cfg(test)]
mod proptests;

pub use body::{
    Activation, ActivationResponse, Control, KeyExchange, Logout, Param, ParamList, ParamQuery,
    ParamValue, PlatformLogin, TerminalControl, Upgrade, VehicleLogin2016, VehicleLogin2025,
    param_name,
};
pub use frame::{
    Body, Command, Edition, Frame, Header, MAX_DATA_LEN, MAX_FRAME_LEN, OVERHEAD, Response, decode,
    decode_body,
};
pub use framer::Framer;
pub use json::to_json;
/// The name of a general alarm flag bit (shared with the rules through `model`).
pub use model::alarm_flags::flag_name as alarm_flag_name;
pub use reply::{reply, reply_to_raw, standard_reply};
pub use report::{
    Alarm2016, Alarm2025, AlarmFlags, Block2016, Block2025, CellVoltages2016, Engine2016,
    Engine2025, Extremes2016, FaultCode, FaultLists, FlagLevel, FuelCell2016, FuelCell2025,
    FuelCellStack, FuelCellStacks2025, FuelCellTail2016, Motor2016, Motor2025, Motors2016,
    Motors2025, PackTemperatures2025, PackVoltage2025, PackVoltages2025, Position, Position2025,
    ProbeGroup, ProbeTemperatures2016, RawBlock, Report, Report2016, Report2025, Signature,
    SubsystemVoltages2016, SuperCapacitor2025, SuperCapacitorExtremes2025, Vehicle2016,
    Vehicle2025,
};
pub use sample::to_sample;
pub use session::{Outcome, PlatformAccount, Reject, Session, SessionConfig, TerminalPolicy};
pub use value::{
    ActivationInfo, ActivationStatus, Brake, CellV, ChargingState, CoordSystem, DcdcState,
    Encryption, EngineState, FixedStr, Gear, List, MotorState, Num8, Num16, Quality, RawInt,
    RunMode, Scaled, SigAlgorithm, TempC, Time, VehicleState,
};
pub use wire::{DecodeError, ErrorKind};

/// A message that cannot be put on the wire as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("data unit of {0} bytes exceeds the 65 531-byte limit")]
    TooLong(usize),
    #[error("too many {what} ({count}) for the count field")]
    TooMany { what: &'static str, count: usize },
    #[error("{0}")]
    Invalid(&'static str),
}
