//! The CSMS's answers to chargers' calls, and the records it stores for them.

use std::sync::Arc;

use model::Timestamp;
use pipeline::{IngestRecord, SourceProtocol};
use proto_ocpp::{
    CallError, CiString, DateTime, ErrorCode, Request, Response, Stored, Version, encode_error,
    encode_result, encode_stored, v16, v201,
};
use serde_json::json;

use super::{Csms, Session, TxId};

/// The connection a call came on.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) charge_point: String,
    pub(crate) version: Version,
    pub(crate) site: String,
    pub(crate) priority: i32,
}

/// What answering a call produced.
pub(crate) struct Answered {
    /// The CALLRESULT or CALLERROR text.
    pub(crate) reply: String,
    pub(crate) outcome: &'static str,
    /// The site's sessions changed: share its limit again once the reply is sent.
    pub(crate) rebalance: bool,
}

fn internal(what: impl std::fmt::Display) -> CallError {
    CallError::new(ErrorCode::InternalError, what.to_string())
}

/// Untyped actions a charger may send that the CSMS acknowledges without storing: the answer's
/// payload, valid in both versions.
pub(crate) fn untyped_answer(action: &str) -> Option<serde_json::Value> {
    match action {
        // No vendor extension is known to the city platform.
        "DataTransfer" => Some(json!({"status": "UnknownVendorId"})),
        "FirmwareStatusNotification"
        | "DiagnosticsStatusNotification"
        | "LogStatusNotification"
        | "SecurityEventNotification"
        | "NotifyEvent"
        | "NotifyReport"
        | "NotifyMonitoringReport" => Some(json!({})),
        _ => None,
    }
}

impl Csms {
    /// Stores a call durably. Errors become CALLERROR `InternalError`.
    async fn persist(
        &self,
        ctx: &Ctx,
        text: &str,
        transaction_id: Option<i32>,
        connector: Option<i32>,
        received_at: Timestamp,
    ) -> Result<(), CallError> {
        let stored = Stored {
            charge_point: ctx.charge_point.clone(),
            version: ctx.version,
            station_id: ctx.site.clone(),
            transaction_id,
            connector,
            text: text.to_owned(),
        };
        let payload = encode_stored(&stored).map_err(internal)?;
        let seq = self
            .pipeline
            .submit(IngestRecord {
                protocol: SourceProtocol::Ocpp,
                received_at,
                org: None,
                payload,
            })
            .await
            .map_err(internal)?;
        self.pipeline.wait_durable(seq).await.map_err(internal)
    }

    /// Answers one typed call. `text` is the message as received (what is stored).
    pub(crate) async fn answer(
        self: &Arc<Self>,
        ctx: &Ctx,
        unique_id: &str,
        request: Request,
        text: &str,
        received_at: Timestamp,
    ) -> Answered {
        let mut rebalance = false;
        let result = match request {
            Request::V16(r) => {
                self.answer_v16(ctx, r, text, received_at, &mut rebalance)
                    .await
            }
            Request::V201(r) => {
                self.answer_v201(ctx, r, text, received_at, &mut rebalance)
                    .await
            }
        };
        match result {
            Ok(response) => Answered {
                reply: encode_result(unique_id, &response),
                outcome: "accepted",
                rebalance,
            },
            Err(e) => {
                tracing::warn!(charge_point = ctx.charge_point, error = %e, "call answered with an error");
                Answered {
                    reply: encode_error(unique_id, ctx.version, &e),
                    outcome: if e.code == ErrorCode::InternalError {
                        "internal_error"
                    } else {
                        "refused"
                    },
                    rebalance: false,
                }
            }
        }
    }

    async fn answer_v16(
        self: &Arc<Self>,
        ctx: &Ctx,
        request: v16::Request,
        text: &str,
        at: Timestamp,
        rebalance: &mut bool,
    ) -> Result<Response, CallError> {
        use v16::Request as Q;
        use v16::Response as A;
        let id_tag_info = |tag: &str| v16::IdTagInfo {
            expiry_date: None,
            parent_id_tag: None,
            status: if self.directory.authorize(tag) {
                v16::AuthorizationStatus::Accepted
            } else {
                v16::AuthorizationStatus::Invalid
            },
        };
        let answer = match request {
            Q::BootNotification(_) => {
                self.persist(ctx, text, None, None, at).await?;
                A::BootNotification(v16::BootNotificationResponse {
                    status: v16::RegistrationStatus::Accepted,
                    current_time: DateTime::from_timestamp(at),
                    interval: self.options.heartbeat_interval_secs,
                })
            }
            Q::Heartbeat(_) => A::Heartbeat(v16::HeartbeatResponse {
                current_time: DateTime::from_timestamp(at),
            }),
            Q::StatusNotification(_) => {
                self.persist(ctx, text, None, None, at).await?;
                A::StatusNotification(v16::StatusNotificationResponse {})
            }
            Q::Authorize(a) => A::Authorize(v16::AuthorizeResponse {
                id_tag_info: id_tag_info(&a.id_tag),
            }),
            Q::StartTransaction(s) => {
                let connector = s.connector_id as i32;
                let tx = self
                    .directory
                    .allocate_transaction(&ctx.charge_point, connector, &s.id_tag, at)
                    .map_err(internal)?;
                self.persist(ctx, text, Some(tx), None, at).await?;
                *rebalance = self.track(
                    &ctx.site,
                    &ctx.charge_point,
                    connector,
                    TxId::V16(tx),
                    ctx.priority,
                );
                A::StartTransaction(v16::StartTransactionResponse {
                    id_tag_info: id_tag_info(&s.id_tag),
                    transaction_id: tx,
                })
            }
            Q::StopTransaction(s) => {
                let tx = TxId::V16(s.transaction_id);
                let connector = self.session_connector(&ctx.site, &ctx.charge_point, &tx);
                self.persist(ctx, text, None, connector, at).await?;
                *rebalance = self.untrack(&ctx.site, &ctx.charge_point, &tx);
                A::StopTransaction(v16::StopTransactionResponse {
                    id_tag_info: s.id_tag.as_deref().map(id_tag_info),
                })
            }
            Q::MeterValues(m) => {
                self.persist(ctx, text, None, None, at).await?;
                // A transaction the CSMS did not see start (it restarted): track it again.
                if let Some(tx) = m.transaction_id.filter(|_| m.connector_id > 0) {
                    *rebalance = self.track(
                        &ctx.site,
                        &ctx.charge_point,
                        m.connector_id as i32,
                        TxId::V16(tx),
                        ctx.priority,
                    );
                }
                A::MeterValues(v16::MeterValuesResponse {})
            }
            other => {
                return Err(CallError::new(
                    ErrorCode::NotSupported,
                    format!("{} is sent by the CSMS, not to it", other.action()),
                ));
            }
        };
        Ok(Response::V16(answer))
    }

    async fn answer_v201(
        self: &Arc<Self>,
        ctx: &Ctx,
        request: v201::Request,
        text: &str,
        at: Timestamp,
        rebalance: &mut bool,
    ) -> Result<Response, CallError> {
        use v201::Request as Q;
        use v201::Response as A;
        let token_info = |token: &str| v201::IdTokenInfo {
            status: if self.directory.authorize(token) {
                v201::AuthorizationStatus::Accepted
            } else {
                v201::AuthorizationStatus::Invalid
            },
            cache_expiry_date_time: None,
            charging_priority: None,
            language1: None,
            evse_id: None,
            group_id_token: None,
            language2: None,
            personal_message: None,
        };
        let answer = match request {
            Q::BootNotification(_) => {
                self.persist(ctx, text, None, None, at).await?;
                A::BootNotification(v201::BootNotificationResponse {
                    current_time: DateTime::from_timestamp(at),
                    interval: self.options.heartbeat_interval_secs,
                    status: v201::RegistrationStatus::Accepted,
                    status_info: None,
                })
            }
            Q::Heartbeat(_) => A::Heartbeat(v201::HeartbeatResponse {
                current_time: DateTime::from_timestamp(at),
            }),
            Q::StatusNotification(_) => {
                self.persist(ctx, text, None, None, at).await?;
                A::StatusNotification(v201::StatusNotificationResponse {})
            }
            Q::Authorize(a) => A::Authorize(v201::AuthorizeResponse {
                id_token_info: token_info(&a.id_token.id_token),
                certificate_status: None,
            }),
            Q::MeterValues(_) => {
                self.persist(ctx, text, None, None, at).await?;
                A::MeterValues(v201::MeterValuesResponse {})
            }
            Q::TransactionEvent(e) => {
                let tx = TxId::V201(e.transaction_info.transaction_id.as_str().to_owned());
                let known = self.session_connector(&ctx.site, &ctx.charge_point, &tx);
                let evse = e.evse.as_ref().map(|x| x.id);
                // Stored with the EVSE only when the message does not name it.
                let connector = if evse.is_none() { known } else { None };
                self.persist(ctx, text, None, connector, at).await?;
                match (e.event_type, evse.or(known)) {
                    (v201::TransactionEventType::Ended, _) => {
                        *rebalance = self.untrack(&ctx.site, &ctx.charge_point, &tx);
                    }
                    (_, Some(evse)) if evse > 0 => {
                        *rebalance =
                            self.track(&ctx.site, &ctx.charge_point, evse, tx, ctx.priority);
                    }
                    _ => {}
                }
                A::TransactionEvent(v201::TransactionEventResponse {
                    id_token_info: e.id_token.as_ref().map(|t| token_info(&t.id_token)),
                    ..Default::default()
                })
            }
            other => {
                return Err(CallError::new(
                    ErrorCode::NotSupported,
                    format!("{} is sent by the CSMS, not to it", other.action()),
                ));
            }
        };
        Ok(Response::V201(answer))
    }
}

/// The `SetChargingProfile` limiting one session to `watts`: a `TxProfile` for its transaction,
/// relative to the transaction's start, one period from 0 s.
pub(crate) fn tx_profile(s: &Session, watts: f64) -> Request {
    match &s.tx {
        TxId::V16(tx) => Request::V16(v16::Request::SetChargingProfile(
            v16::SetChargingProfileRequest {
                connector_id: s.connector.max(0) as u32,
                cs_charging_profiles: v16::ChargingProfile::constant_watts(
                    s.profile_id,
                    v16::ChargingProfilePurpose::TxProfile,
                    Some(*tx),
                    watts,
                ),
            },
        )),
        TxId::V201(tx) => Request::V201(v201::Request::SetChargingProfile(
            v201::SetChargingProfileRequest {
                evse_id: s.connector,
                charging_profile: v201::ChargingProfile::constant_watts(
                    s.profile_id,
                    v201::ChargingProfilePurpose::TxProfile,
                    CiString::new(tx.clone()),
                    watts,
                ),
            },
        )),
    }
}
