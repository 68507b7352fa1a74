//! Operator commands in version-neutral form, for the API: each becomes the request the connected
//! charger's version calls for.

use std::sync::atomic::Ordering;

use proto_ocpp::{CiString, Request, Version, v16, v201};
use serde_json::Value;

use super::{CallFailure, Csms};

/// The id tag a remote start uses when the operator gives none.
pub const OPERATOR_ID_TAG: &str = "HAIHE-OPERATOR";

/// What an operator can ask a charger to do.
#[derive(Debug, Clone, PartialEq)]
pub enum ChargerCommand {
    /// 1.6 `RemoteStartTransaction`, 2.0.1 `RequestStartTransaction` (on `connector`, or where the
    /// charger chooses).
    RemoteStart {
        connector: Option<i32>,
        id_tag: String,
    },
    /// 1.6 `RemoteStopTransaction` (the id must be the integer the CSMS assigned), 2.0.1
    /// `RequestStopTransaction`.
    RemoteStop { transaction_id: String },
    /// `ChangeAvailability` of one connector/EVSE, or of the whole charger when `None`.
    ChangeAvailability {
        connector: Option<i32>,
        operative: bool,
    },
    /// A cap on the whole charger (`ChargePointMaxProfile` / `ChargingStationMaxProfile`, W):
    /// chargers apply the lower of it and the orderly-charging share, so it never lifts a session
    /// above its share.
    LimitCharger { kw: f64 },
}

/// The charger's answer to a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    /// `Accepted` (or, for availability, `Scheduled`).
    pub accepted: bool,
    /// The status as the charger sent it.
    pub status: String,
}

/// Profile id of the charger-wide cap, apart from the per-transaction ids of orderly charging.
const CHARGER_CAP_PROFILE_ID: i32 = 900_000_001;

fn invalid(what: impl Into<String>) -> CallFailure {
    CallFailure::Invalid(what.into())
}

fn id_token_201(tag: &str) -> Result<v201::IdToken, CallFailure> {
    Ok(v201::IdToken {
        id_token: CiString::new(tag).ok_or_else(|| invalid("id tag longer than 36"))?,
        kind: v201::IdTokenType::Central,
        additional_info: None,
    })
}

fn watts(kw: f64) -> Result<f64, CallFailure> {
    if !kw.is_finite() || kw < 0.0 {
        return Err(invalid(format!("limit {kw} kW")));
    }
    Ok((kw * 1000.0).floor())
}

impl Csms {
    /// The version the charger is connected with.
    pub fn version_of(&self, charge_point: &str) -> Option<Version> {
        self.connected()
            .into_iter()
            .find(|c| c.charge_point == charge_point)
            .map(|c| c.version)
    }

    /// Sends an operator command to a connected charger and reports its answer.
    pub async fn command(
        &self,
        charge_point: &str,
        command: ChargerCommand,
    ) -> Result<CommandOutcome, CallFailure> {
        let version = self
            .version_of(charge_point)
            .ok_or_else(|| CallFailure::NotConnected(charge_point.to_owned()))?;
        let request = self.command_request(version, command)?;
        let answer = self.call(charge_point, request).await?;
        let status = match answer.to_payload().get("status") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err(CallFailure::BadAnswer("no status".into())),
        };
        let accepted = matches!(status.as_str(), "Accepted" | "Scheduled");
        Ok(CommandOutcome { accepted, status })
    }

    fn command_request(
        &self,
        version: Version,
        command: ChargerCommand,
    ) -> Result<Request, CallFailure> {
        let connector_u32 = |c: Option<i32>| -> Result<Option<u32>, CallFailure> {
            c.map(|c| u32::try_from(c).map_err(|_| invalid(format!("connector {c}"))))
                .transpose()
        };
        Ok(match (version, command) {
            (Version::V16, ChargerCommand::RemoteStart { connector, id_tag }) => Request::V16(
                v16::Request::RemoteStartTransaction(v16::RemoteStartTransactionRequest {
                    connector_id: connector_u32(connector)?,
                    id_tag: CiString::new(id_tag)
                        .ok_or_else(|| invalid("id tag longer than 20"))?,
                    charging_profile: None,
                }),
            ),
            (Version::V201, ChargerCommand::RemoteStart { connector, id_tag }) => Request::V201(
                v201::Request::RequestStartTransaction(v201::RequestStartTransactionRequest {
                    evse_id: connector,
                    remote_start_id: self.next_profile_id.fetch_add(1, Ordering::Relaxed),
                    id_token: id_token_201(&id_tag)?,
                    charging_profile: None,
                    group_id_token: None,
                }),
            ),
            (Version::V16, ChargerCommand::RemoteStop { transaction_id }) => {
                let tx = transaction_id
                    .parse()
                    .map_err(|_| invalid(format!("1.6 transaction id {transaction_id:?}")))?;
                Request::V16(v16::Request::RemoteStopTransaction(
                    v16::RemoteStopTransactionRequest { transaction_id: tx },
                ))
            }
            (Version::V201, ChargerCommand::RemoteStop { transaction_id }) => Request::V201(
                v201::Request::RequestStopTransaction(v201::RequestStopTransactionRequest {
                    transaction_id: CiString::new(transaction_id)
                        .ok_or_else(|| invalid("transaction id longer than 36"))?,
                }),
            ),
            (
                Version::V16,
                ChargerCommand::ChangeAvailability {
                    connector,
                    operative,
                },
            ) => Request::V16(v16::Request::ChangeAvailability(
                v16::ChangeAvailabilityRequest {
                    connector_id: connector_u32(connector)?.unwrap_or(0),
                    kind: if operative {
                        v16::AvailabilityType::Operative
                    } else {
                        v16::AvailabilityType::Inoperative
                    },
                },
            )),
            (
                Version::V201,
                ChargerCommand::ChangeAvailability {
                    connector,
                    operative,
                },
            ) => Request::V201(v201::Request::ChangeAvailability(
                v201::ChangeAvailabilityRequest {
                    evse: connector.map(|id| v201::Evse {
                        id,
                        connector_id: None,
                    }),
                    operational_status: if operative {
                        v201::OperationalStatus::Operative
                    } else {
                        v201::OperationalStatus::Inoperative
                    },
                },
            )),
            (Version::V16, ChargerCommand::LimitCharger { kw }) => Request::V16(
                v16::Request::SetChargingProfile(v16::SetChargingProfileRequest {
                    connector_id: 0,
                    cs_charging_profiles: v16::ChargingProfile::constant_watts(
                        CHARGER_CAP_PROFILE_ID,
                        v16::ChargingProfilePurpose::ChargePointMaxProfile,
                        None,
                        watts(kw)?,
                    ),
                }),
            ),
            (Version::V201, ChargerCommand::LimitCharger { kw }) => Request::V201(
                v201::Request::SetChargingProfile(v201::SetChargingProfileRequest {
                    evse_id: 0,
                    charging_profile: v201::ChargingProfile::constant_watts(
                        CHARGER_CAP_PROFILE_ID,
                        v201::ChargingProfilePurpose::ChargingStationMaxProfile,
                        None,
                        watts(kw)?,
                    ),
                }),
            ),
        })
    }
}
