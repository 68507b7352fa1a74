//! One simulated charge point: its connectors and sessions, the calls it owes the CSMS (kept
//! in order and resent after a reconnect until answered), and its answers to the CSMS's calls.
//!
//! The state here outlives connections; [`Charger::connection`] runs one WebSocket until it
//! drops or the run stops.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use model::Timestamp;
use proto_ocpp::{
    CallError, DateTime, ErrorCode, Incoming, Measurand, ReadingContext, Request, Response,
    Version, encode_call, encode_error, encode_result, receive, v16, v201,
};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::{ChargerSummary, Config, ProfileRecord, TxRecord, wall_now};
use crate::rng::Rng;

/// Calls waiting to be sent, at most; beyond it new meter values are dropped (and counted).
const MAX_QUEUE: usize = 10_000;

/// What the charger owes the CSMS; the payload is built when it is sent, so that a 1.6
/// transaction id assigned meanwhile is used.
#[derive(Debug, Clone)]
enum Out {
    Boot,
    Heartbeat,
    Status {
        connector: u32,
        status: v16::ChargePointStatus,
        at: Timestamp,
    },
    Authorize {
        tx: usize,
    },
    Start {
        tx: usize,
    },
    Meter {
        tx: usize,
        wh: i64,
        power_w: f64,
        soc: f64,
        at: Timestamp,
        seq_no: i32,
    },
    Stop {
        tx: usize,
        seq_no: i32,
    },
}

/// A session in progress or done.
#[derive(Debug, Clone)]
struct Tx {
    rec: TxRecord,
    /// 1.6: the id the CSMS assigned.
    csms_id: Option<i32>,
    vehicle_max_w: f64,
    battery_wh: f64,
    soc_start: f64,
    next_seq_no: i32,
    /// Meter reading (Wh) and time of the last update.
    wh: f64,
    last: Instant,
    /// TxProfile limit, W.
    limit_w: Option<f64>,
    authorized: bool,
    open: bool,
}

#[derive(Debug, Clone)]
struct Connector {
    status: v16::ChargePointStatus,
    /// 2.0.1 status last queued, to send only changes.
    last_201: Option<v201::ConnectorStatus>,
    /// The session on this connector.
    tx: Option<usize>,
    next_event: Instant,
    next_meter: Instant,
    /// Energy register, Wh.
    register_wh: f64,
    /// TxDefaultProfile limit, W.
    default_limit_w: Option<f64>,
    inoperative: bool,
    /// An Inoperative change waiting for the session to end.
    pending_inoperative: bool,
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Dropped or failed; connect again.
    Dropped,
    /// The run is over and what could be delivered was.
    Stopped,
}

#[derive(Debug)]
pub(crate) struct Charger {
    pub(crate) id: String,
    pub(crate) version: Version,
    config: Config,
    rated_w: f64,
    rng: Rng,
    connectors: Vec<Connector>,
    txs: Vec<Tx>,
    queue: VecDeque<Out>,
    next_id: u64,
    pub(crate) booted: bool,
    heartbeat: Duration,
    next_heartbeat: Instant,
    boot_retry_at: Option<Instant>,
    /// ChargePointMaxProfile limit, W.
    max_limit_w: Option<f64>,
    pub(crate) summary: ChargerSummary,
    stopping: bool,
}

fn dt(t: Timestamp) -> DateTime {
    DateTime::from_timestamp(t)
}

fn ci<const N: usize>(s: &str) -> proto_ocpp::CiString<N> {
    proto_ocpp::CiString::new(s.chars().take(N).collect::<String>()).unwrap_or_default()
}

fn r16(r: impl Into<v16::Request>) -> Request {
    Request::V16(r.into())
}

fn r201(r: impl Into<v201::Request>) -> Request {
    Request::V201(r.into())
}

fn to_201(s: v16::ChargePointStatus) -> v201::ConnectorStatus {
    use v16::ChargePointStatus as S;
    match s {
        S::Available => v201::ConnectorStatus::Available,
        S::Reserved => v201::ConnectorStatus::Reserved,
        S::Unavailable => v201::ConnectorStatus::Unavailable,
        S::Faulted => v201::ConnectorStatus::Faulted,
        _ => v201::ConnectorStatus::Occupied,
    }
}

fn status_name(s: v16::ChargePointStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The limit a schedule sets now, in W: the period in force `elapsed` seconds after its start
/// (amperes at 230 V per phase, three phases unless it says otherwise).
fn schedule_limit(periods: &[(i32, f64, Option<i32>)], amps: bool, elapsed: i64) -> Option<f64> {
    let (_, limit, phases) = periods
        .iter()
        .filter(|(start, _, _)| i64::from(*start) <= elapsed.max(0))
        .max_by_key(|(start, _, _)| *start)
        .or_else(|| periods.first())?;
    if !limit.is_finite() || *limit < 0.0 {
        return None;
    }
    Some(if amps {
        limit * 230.0 * f64::from(phases.unwrap_or(3).clamp(1, 3))
    } else {
        *limit
    })
}

impl Charger {
    pub(crate) fn new(number: usize, version: Version, config: Config, now: Instant) -> Self {
        let id = format!("CP-{number:04}");
        let mut rng = Rng::derive(config.seed ^ 0x0CBB, number as u64);
        let rated_w = if number.is_multiple_of(3) {
            60_000.0
        } else {
            7_040.0
        };
        let connectors = (0..config.connectors)
            .map(|_| Connector {
                status: v16::ChargePointStatus::Available,
                last_201: None,
                tx: None,
                next_event: now
                    + config
                        .arrival_mean
                        .map_or(Duration::from_secs(86_400 * 365), |m| {
                            m.mul_f64(rng.range(0.2, 1.0))
                        }),
                next_meter: now,
                register_wh: (rng.range(100.0, 20_000.0) * 1000.0).round(),
                default_limit_w: None,
                inoperative: false,
                pending_inoperative: false,
            })
            .collect();
        let summary = ChargerSummary {
            id: id.clone(),
            version: version.subprotocol().to_owned(),
            rated_kw: rated_w / 1000.0,
            ..ChargerSummary::default()
        };
        let mut c = Self {
            id,
            version,
            config,
            rated_w,
            rng,
            connectors,
            txs: Vec::new(),
            queue: VecDeque::new(),
            next_id: 1,
            booted: false,
            heartbeat: Duration::from_secs(300),
            next_heartbeat: now,
            boot_retry_at: None,
            max_limit_w: None,
            summary,
            stopping: false,
        };
        c.queue.push_back(Out::Boot);
        c
    }

    fn push(&mut self, out: Out) {
        if self.queue.len() >= MAX_QUEUE && matches!(out, Out::Meter { .. } | Out::Heartbeat) {
            self.summary.dropped += 1;
            return;
        }
        self.queue.push_back(out);
    }

    fn set_status(&mut self, connector: u32, status: v16::ChargePointStatus) {
        let c = &mut self.connectors[connector as usize - 1];
        c.status = status;
        if self.version == Version::V201 {
            let s = to_201(status);
            if c.last_201 == Some(s) {
                return;
            }
            c.last_201 = Some(s);
        }
        self.push(Out::Status {
            connector,
            status,
            at: wall_now(),
        });
    }

    /// Every connector's status again (after a boot, or a reconnect).
    fn all_statuses(&mut self) {
        for i in 0..self.connectors.len() {
            self.connectors[i].last_201 = None;
            let s = self.connectors[i].status;
            self.set_status(i as u32 + 1, s);
        }
    }

    fn effective_limit(&self, tx: usize) -> Option<f64> {
        let t = &self.txs[tx];
        let c = &self.connectors[t.rec.connector as usize - 1];
        let tx_limit = t.limit_w.or(c.default_limit_w);
        match (tx_limit, self.max_limit_w) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The power drawn now, W.
    fn power(&self, tx: usize) -> f64 {
        let t = &self.txs[tx];
        let mut p = t.vehicle_max_w.min(self.rated_w);
        if let Some(l) = self.effective_limit(tx) {
            p = p.min(l);
        }
        // Near full, the battery takes less.
        let soc = self.soc(tx);
        if soc > 90.0 {
            p *= ((100.0 - soc) / 10.0).max(0.1);
        }
        p.max(0.0).round()
    }

    fn soc(&self, tx: usize) -> f64 {
        let t = &self.txs[tx];
        let charged = t.wh - t.rec.meter_start as f64;
        (t.soc_start + 100.0 * charged / t.battery_wh).min(100.0)
    }

    /// Brings the meter of session `tx` up to `now`.
    fn accrue(&mut self, tx: usize, now: Instant) {
        if !self.txs[tx].open || !self.txs[tx].authorized {
            self.txs[tx].last = now;
            return;
        }
        let p = self.power(tx);
        let t = &mut self.txs[tx];
        let hours = now.saturating_duration_since(t.last).as_secs_f64() / 3600.0;
        t.wh += p * hours;
        t.last = now;
        let c = &mut self.connectors[t.rec.connector as usize - 1];
        c.register_wh = t.wh;
    }

    /// A vehicle plugs in on `connector`; `remote` carries the id token and remote start id of
    /// a remote start (no local authorization then).
    fn begin(
        &mut self,
        connector: u32,
        id_tag: String,
        remote: Option<Option<i32>>,
        profile_limit: Option<f64>,
        now: Instant,
    ) {
        let c = &self.connectors[connector as usize - 1];
        let dc = self.rated_w > 10_000.0;
        let vehicle_max_w = if dc {
            self.rng.range(40_000.0, 120_000.0)
        } else {
            self.rng.range(3_300.0, 7_000.0)
        }
        .round();
        let meters = self.config.meter_interval;
        let (lo, hi) = self.config.session_intervals;
        let length = meters.mul_f64(self.rng.range(lo, hi.max(lo + 1e-9)));
        let local = self.txs.len();
        let station_tx_id = format!("{}-{}-{}", self.id, connector, local + 1);
        let meter_start = c.register_wh.round() as i64;
        let rec = TxRecord {
            connector,
            id_tag: id_tag.clone(),
            transaction_id: match self.version {
                Version::V16 => None,
                Version::V201 => Some(station_tx_id),
            },
            remote_start: remote.is_some(),
            remote_start_id: remote.flatten(),
            meter_start,
            meter_stop: None,
            start: wall_now().to_rfc3339(0),
            stop: None,
            stop_reason: None,
            started_delivered: false,
            stopped_delivered: false,
            meter_values_delivered: 0,
            max_power_w: 0.0,
            limits_w: Vec::new(),
        };
        self.txs.push(Tx {
            rec,
            csms_id: None,
            vehicle_max_w,
            battery_wh: self.rng.range(40_000.0, 80_000.0),
            soc_start: self.rng.range(10.0, 50.0),
            next_seq_no: 0,
            wh: meter_start as f64,
            last: now,
            limit_w: profile_limit,
            authorized: remote.is_some(),
            open: true,
        });
        if let Some(l) = profile_limit {
            self.txs[local].rec.limits_w.push(l);
        }
        self.connectors[connector as usize - 1].tx = Some(local);
        self.connectors[connector as usize - 1].next_event = now + length;
        self.set_status(connector, v16::ChargePointStatus::Preparing);
        if remote.is_some() {
            self.start_charging(local, now);
        } else {
            self.push(Out::Authorize { tx: local });
        }
    }

    fn start_charging(&mut self, tx: usize, now: Instant) {
        self.txs[tx].authorized = true;
        self.txs[tx].last = now;
        let seq_no = self.take_seq(tx);
        debug_assert_eq!(seq_no, 0);
        self.push(Out::Start { tx });
        let connector = self.txs[tx].rec.connector;
        self.set_status(connector, v16::ChargePointStatus::Charging);
        self.connectors[connector as usize - 1].next_meter = now + self.config.meter_interval;
    }

    fn take_seq(&mut self, tx: usize) -> i32 {
        let t = &mut self.txs[tx];
        let s = t.next_seq_no;
        t.next_seq_no += 1;
        s
    }

    /// Ends session `tx` for `reason` (1.6 spelling; mapped for 2.0.1).
    fn end(&mut self, tx: usize, reason: v16::Reason, now: Instant) {
        if !self.txs[tx].open {
            return;
        }
        self.accrue(tx, now);
        let connector = self.txs[tx].rec.connector;
        let t = &mut self.txs[tx];
        t.open = false;
        if t.authorized {
            t.rec.meter_stop = Some(t.wh.round() as i64);
            t.rec.stop = Some(wall_now().to_rfc3339(0));
            t.rec.stop_reason = serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned));
            let seq_no = self.take_seq(tx);
            self.push(Out::Stop { tx, seq_no });
        }
        let c = &mut self.connectors[connector as usize - 1];
        c.tx = None;
        c.next_event = now + self.config.meter_interval.mul_f64(self.rng.range(0.5, 2.0));
        self.set_status(connector, v16::ChargePointStatus::Finishing);
    }

    /// Timers: arrivals, ends of sessions, departures, meter values, heartbeats, boot retries.
    fn on_timer(&mut self, now: Instant) {
        if let Some(at) = self.boot_retry_at
            && now >= at
        {
            self.boot_retry_at = None;
            if !self.queue.iter().any(|o| matches!(o, Out::Boot)) {
                self.queue.push_front(Out::Boot);
            }
        }
        if !self.booted {
            return;
        }
        if now >= self.next_heartbeat {
            self.next_heartbeat = now + self.heartbeat;
            if !self.queue.iter().any(|o| matches!(o, Out::Heartbeat)) {
                self.push(Out::Heartbeat);
            }
        }
        for i in 0..self.connectors.len() {
            let connector = i as u32 + 1;
            if let Some(tx) = self.connectors[i].tx {
                if self.txs[tx].authorized && now >= self.connectors[i].next_meter {
                    self.connectors[i].next_meter = now + self.config.meter_interval;
                    self.accrue(tx, now);
                    let power_w = self.power(tx);
                    let soc = self.soc(tx);
                    let seq_no = self.take_seq(tx);
                    let t = &mut self.txs[tx];
                    t.rec.max_power_w = t.rec.max_power_w.max(power_w);
                    let wh = t.wh.round() as i64;
                    self.push(Out::Meter {
                        tx,
                        wh,
                        power_w,
                        soc,
                        at: wall_now(),
                        seq_no,
                    });
                }
                if now >= self.connectors[i].next_event || self.soc(tx) >= 100.0 {
                    let reason = if self.soc(tx) >= 100.0 {
                        v16::Reason::EVDisconnected
                    } else {
                        v16::Reason::Local
                    };
                    self.end(tx, reason, now);
                }
                continue;
            }
            if now < self.connectors[i].next_event || self.stopping {
                continue;
            }
            match self.connectors[i].status {
                v16::ChargePointStatus::Finishing => {
                    // The driver unplugs and leaves.
                    if self.connectors[i].pending_inoperative {
                        self.connectors[i].pending_inoperative = false;
                        self.connectors[i].inoperative = true;
                    }
                    let next = if self.connectors[i].inoperative {
                        v16::ChargePointStatus::Unavailable
                    } else {
                        v16::ChargePointStatus::Available
                    };
                    self.set_status(connector, next);
                    self.connectors[i].next_event = self.next_arrival(now);
                }
                v16::ChargePointStatus::Available if self.config.arrival_mean.is_some() => {
                    let tag = format!("TAG{:05}", self.rng.below(100_000));
                    self.begin(connector, tag, None, None, now);
                }
                _ => self.connectors[i].next_event = self.next_arrival(now),
            }
        }
    }

    fn next_arrival(&mut self, now: Instant) -> Instant {
        match self.config.arrival_mean {
            Some(m) => now + m.mul_f64(self.rng.range(0.5, 1.5)),
            None => now + Duration::from_secs(86_400 * 365),
        }
    }

    fn next_deadline(&self) -> Instant {
        let mut d = self.next_heartbeat.max(Instant::now());
        if !self.booted {
            d = Instant::now() + Duration::from_secs(3600);
        }
        if let Some(b) = self.boot_retry_at {
            d = d.min(b);
        }
        if self.booted {
            for c in &self.connectors {
                d = d.min(c.next_event);
                if c.tx.is_some() {
                    d = d.min(c.next_meter);
                }
            }
        }
        d
    }

    /// The payload of `out`, or `None` when it can no longer be sent (a 1.6 transaction the
    /// CSMS never gave an id).
    fn request(&self, out: &Out) -> Option<Request> {
        let now = wall_now();
        let r = match (self.version, out) {
            (Version::V16, Out::Boot) => r16(v16::BootNotificationRequest {
                charge_point_vendor: ci("TJ-EVSE"),
                charge_point_model: ci(if self.rated_w > 10_000.0 {
                    "DC60-2G"
                } else {
                    "AC7-2G"
                }),
                charge_point_serial_number: Some(ci(&format!("SN{}", self.id))),
                charge_box_serial_number: None,
                firmware_version: Some(ci("2.4.1")),
                iccid: None,
                imsi: None,
                meter_type: Some(ci("DLT645")),
                meter_serial_number: None,
            }),
            (Version::V201, Out::Boot) => r201(v201::BootNotificationRequest {
                charging_station: v201::ChargingStation {
                    serial_number: Some(ci(&format!("SN{}", self.id))),
                    model: ci(if self.rated_w > 10_000.0 {
                        "DC60-2G"
                    } else {
                        "AC7-2G"
                    }),
                    modem: None,
                    vendor_name: ci("TJ-EVSE"),
                    firmware_version: Some(ci("2.4.1")),
                },
                reason: v201::BootReason::PowerUp,
            }),
            (Version::V16, Out::Heartbeat) => r16(v16::HeartbeatRequest {}),
            (Version::V201, Out::Heartbeat) => r201(v201::HeartbeatRequest {}),
            (
                Version::V16,
                Out::Status {
                    connector,
                    status,
                    at,
                },
            ) => r16(v16::StatusNotificationRequest {
                connector_id: *connector,
                error_code: v16::ChargePointErrorCode::NoError,
                info: None,
                status: *status,
                timestamp: Some(dt(*at)),
                vendor_id: None,
                vendor_error_code: None,
            }),
            (
                Version::V201,
                Out::Status {
                    connector,
                    status,
                    at,
                },
            ) => r201(v201::StatusNotificationRequest {
                timestamp: dt(*at),
                connector_status: to_201(*status),
                evse_id: *connector as i32,
                connector_id: 1,
            }),
            (Version::V16, Out::Authorize { tx }) => r16(v16::AuthorizeRequest {
                id_tag: ci(&self.txs[*tx].rec.id_tag),
            }),
            (Version::V201, Out::Authorize { tx }) => r201(v201::AuthorizeRequest {
                id_token: self.id_token(*tx),
                certificate: None,
                iso15118_certificate_hash_data: None,
            }),
            (Version::V16, Out::Start { tx }) => {
                let t = &self.txs[*tx];
                r16(v16::StartTransactionRequest {
                    connector_id: t.rec.connector,
                    id_tag: ci(&t.rec.id_tag),
                    meter_start: t.rec.meter_start as i32,
                    reservation_id: None,
                    timestamp: Timestamp::parse(&t.rec.start).map_or_else(|| dt(now), dt),
                })
            }
            (Version::V201, Out::Start { tx }) => {
                let t = &self.txs[*tx];
                r201(v201::TransactionEventRequest {
                    event_type: v201::TransactionEventType::Started,
                    meter_value: Some(vec![meter_201(
                        t.rec.meter_start as f64,
                        None,
                        None,
                        ReadingContext::TransactionBegin,
                        Timestamp::parse(&t.rec.start).unwrap_or(now),
                    )]),
                    timestamp: Timestamp::parse(&t.rec.start).map_or_else(|| dt(now), dt),
                    trigger_reason: if t.rec.remote_start {
                        v201::TriggerReason::RemoteStart
                    } else {
                        v201::TriggerReason::Authorized
                    },
                    seq_no: 0,
                    offline: None,
                    number_of_phases_used: None,
                    cable_max_current: None,
                    reservation_id: None,
                    transaction_info: v201::TransactionInfo {
                        transaction_id: ci(t.rec.transaction_id.as_deref().unwrap_or_default()),
                        charging_state: Some(v201::ChargingState::Charging),
                        time_spent_charging: None,
                        stopped_reason: None,
                        remote_start_id: t.rec.remote_start_id,
                    },
                    id_token: Some(self.id_token(*tx)),
                    evse: Some(v201::Evse {
                        id: t.rec.connector as i32,
                        connector_id: Some(1),
                    }),
                })
            }
            (
                Version::V16,
                Out::Meter {
                    tx,
                    wh,
                    power_w,
                    soc,
                    at,
                    ..
                },
            ) => {
                let t = &self.txs[*tx];
                let sv =
                    |value: String, m: Measurand, unit: v16::UnitOfMeasure| v16::SampledValue {
                        value,
                        context: Some(ReadingContext::SamplePeriodic),
                        format: None,
                        measurand: Some(m),
                        phase: None,
                        location: None,
                        unit: Some(unit),
                    };
                r16(v16::MeterValuesRequest {
                    connector_id: t.rec.connector,
                    transaction_id: Some(t.csms_id?),
                    meter_value: vec![v16::MeterValue {
                        timestamp: dt(*at),
                        sampled_value: vec![
                            sv(
                                wh.to_string(),
                                Measurand::EnergyActiveImportRegister,
                                v16::UnitOfMeasure::Wh,
                            ),
                            sv(
                                format!("{power_w:.0}"),
                                Measurand::PowerActiveImport,
                                v16::UnitOfMeasure::W,
                            ),
                            sv(
                                format!("{soc:.0}"),
                                Measurand::SoC,
                                v16::UnitOfMeasure::Percent,
                            ),
                        ],
                    }],
                })
            }
            (
                Version::V201,
                Out::Meter {
                    tx,
                    wh,
                    power_w,
                    soc,
                    at,
                    seq_no,
                },
            ) => {
                let t = &self.txs[*tx];
                r201(v201::TransactionEventRequest {
                    event_type: v201::TransactionEventType::Updated,
                    meter_value: Some(vec![meter_201(
                        *wh as f64,
                        Some(*power_w),
                        Some(soc.round()),
                        ReadingContext::SamplePeriodic,
                        *at,
                    )]),
                    timestamp: dt(*at),
                    trigger_reason: v201::TriggerReason::MeterValuePeriodic,
                    seq_no: *seq_no,
                    offline: None,
                    number_of_phases_used: None,
                    cable_max_current: None,
                    reservation_id: None,
                    transaction_info: v201::TransactionInfo {
                        transaction_id: ci(t.rec.transaction_id.as_deref().unwrap_or_default()),
                        charging_state: Some(v201::ChargingState::Charging),
                        time_spent_charging: None,
                        stopped_reason: None,
                        remote_start_id: None,
                    },
                    id_token: None,
                    evse: None,
                })
            }
            (Version::V16, Out::Stop { tx, .. }) => {
                let t = &self.txs[*tx];
                let reason = t
                    .rec
                    .stop_reason
                    .as_deref()
                    .and_then(|r| serde_json::from_value(serde_json::json!(r)).ok());
                r16(v16::StopTransactionRequest {
                    id_tag: Some(ci(&t.rec.id_tag)),
                    meter_stop: t.rec.meter_stop.unwrap_or(t.rec.meter_start) as i32,
                    timestamp: t
                        .rec
                        .stop
                        .as_deref()
                        .and_then(Timestamp::parse)
                        .map_or_else(|| dt(now), dt),
                    transaction_id: t.csms_id?,
                    reason,
                    transaction_data: None,
                })
            }
            (Version::V201, Out::Stop { tx, seq_no }) => {
                let t = &self.txs[*tx];
                let stop_at = t
                    .rec
                    .stop
                    .as_deref()
                    .and_then(Timestamp::parse)
                    .unwrap_or(now);
                let stopped_reason = match t.rec.stop_reason.as_deref() {
                    Some("Remote") => v201::StoppedReason::Remote,
                    Some("EVDisconnected") => v201::StoppedReason::EVDisconnected,
                    Some("DeAuthorized") => v201::StoppedReason::DeAuthorized,
                    _ => v201::StoppedReason::Local,
                };
                r201(v201::TransactionEventRequest {
                    event_type: v201::TransactionEventType::Ended,
                    meter_value: Some(vec![meter_201(
                        t.rec.meter_stop.unwrap_or(t.rec.meter_start) as f64,
                        None,
                        None,
                        ReadingContext::TransactionEnd,
                        stop_at,
                    )]),
                    timestamp: dt(stop_at),
                    trigger_reason: if stopped_reason == v201::StoppedReason::Remote {
                        v201::TriggerReason::RemoteStop
                    } else {
                        v201::TriggerReason::EVDeparted
                    },
                    seq_no: *seq_no,
                    offline: None,
                    number_of_phases_used: None,
                    cable_max_current: None,
                    reservation_id: None,
                    transaction_info: v201::TransactionInfo {
                        transaction_id: ci(t.rec.transaction_id.as_deref().unwrap_or_default()),
                        charging_state: Some(v201::ChargingState::EVConnected),
                        time_spent_charging: None,
                        stopped_reason: Some(stopped_reason),
                        remote_start_id: None,
                    },
                    id_token: None,
                    evse: None,
                })
            }
        };
        Some(r)
    }

    fn id_token(&self, tx: usize) -> v201::IdToken {
        v201::IdToken {
            id_token: ci(&self.txs[tx].rec.id_tag),
            kind: if self.txs[tx].rec.remote_start {
                v201::IdTokenType::Central
            } else {
                v201::IdTokenType::ISO14443
            },
            additional_info: None,
        }
    }

    /// The CSMS answered `out`.
    fn on_answer(&mut self, out: &Out, answer: Result<Response, Option<ErrorCode>>, now: Instant) {
        let ok = answer.is_ok();
        if !ok {
            self.summary.call_errors += 1;
        }
        match out {
            Out::Boot => {
                let (status, interval) = match &answer {
                    Ok(Response::V16(v16::Response::BootNotification(b))) => (
                        match b.status {
                            v16::RegistrationStatus::Accepted => 0,
                            v16::RegistrationStatus::Pending => 1,
                            v16::RegistrationStatus::Rejected => 2,
                        },
                        b.interval,
                    ),
                    Ok(Response::V201(v201::Response::BootNotification(b))) => (
                        match b.status {
                            v201::RegistrationStatus::Accepted => 0,
                            v201::RegistrationStatus::Pending => 1,
                            v201::RegistrationStatus::Rejected => 2,
                        },
                        b.interval,
                    ),
                    _ => (2, 0),
                };
                self.summary.boots_sent += 1;
                let interval = Duration::from_secs(u64::try_from(interval).unwrap_or(0).max(1));
                if status == 0 {
                    self.summary.boots_accepted += 1;
                    self.booted = true;
                    self.heartbeat = interval;
                    self.next_heartbeat = now + interval;
                    self.all_statuses();
                } else {
                    // Pending or Rejected: try again after the interval the CSMS gave.
                    self.summary.boots_refused += 1;
                    let wait = if interval.is_zero() {
                        Duration::from_secs(10)
                    } else {
                        interval
                    };
                    self.boot_retry_at = Some(now + wait.min(Duration::from_secs(300)));
                }
            }
            Out::Heartbeat => {
                if ok {
                    self.summary.heartbeats_delivered += 1;
                }
            }
            Out::Status { .. } => {
                if ok {
                    self.summary.status_delivered += 1;
                }
            }
            Out::Authorize { tx } => {
                let accepted = match &answer {
                    Ok(Response::V16(v16::Response::Authorize(a))) => {
                        a.id_tag_info.status == v16::AuthorizationStatus::Accepted
                    }
                    Ok(Response::V201(v201::Response::Authorize(a))) => {
                        a.id_token_info.status == v201::AuthorizationStatus::Accepted
                    }
                    _ => false,
                };
                if !self.txs[*tx].open {
                    return;
                }
                if accepted {
                    self.start_charging(*tx, now);
                } else {
                    self.summary.authorize_refused += 1;
                    self.end(*tx, v16::Reason::DeAuthorized, now);
                }
            }
            Out::Start { tx } => {
                self.txs[*tx].rec.started_delivered = ok;
                let accepted = match &answer {
                    Ok(Response::V16(v16::Response::StartTransaction(s))) => {
                        self.txs[*tx].csms_id = Some(s.transaction_id);
                        self.txs[*tx].rec.transaction_id = Some(s.transaction_id.to_string());
                        s.id_tag_info.status == v16::AuthorizationStatus::Accepted
                    }
                    Ok(Response::V201(v201::Response::TransactionEvent(t))) => t
                        .id_token_info
                        .as_ref()
                        .is_none_or(|i| i.status == v201::AuthorizationStatus::Accepted),
                    _ => true,
                };
                if !accepted {
                    self.end(*tx, v16::Reason::DeAuthorized, now);
                }
            }
            Out::Meter { tx, .. } => {
                if ok {
                    self.txs[*tx].rec.meter_values_delivered += 1;
                }
            }
            Out::Stop { tx, .. } => {
                self.txs[*tx].rec.stopped_delivered = ok;
            }
        }
    }

    /// A call from the CSMS: the answer to send.
    fn on_call(&mut self, request: Request, now: Instant) -> Result<Response, CallError> {
        *self
            .summary
            .calls_received
            .entry(request.action().to_owned())
            .or_default() += 1;
        let not_supported =
            |a: &str| CallError::new(ErrorCode::NotSupported, format!("{a} is not supported"));
        match request {
            Request::V16(v16::Request::RemoteStartTransaction(r)) => {
                let connector = match r.connector_id {
                    Some(c) => Some(c).filter(|&c| self.free(c)),
                    None => (1..=self.connectors.len() as u32).find(|&c| self.free(c)),
                };
                let limit = r.charging_profile.as_ref().and_then(|p| {
                    let periods: Vec<_> = p
                        .charging_schedule
                        .charging_schedule_period
                        .iter()
                        .map(|x| (x.start_period, x.limit, x.number_phases))
                        .collect();
                    schedule_limit(
                        &periods,
                        p.charging_schedule.charging_rate_unit == v16::ChargingRateUnit::A,
                        0,
                    )
                });
                let status = match connector {
                    Some(c) if self.booted => {
                        self.begin(c, r.id_tag.into_string(), Some(None), limit, now);
                        v16::RemoteStartStopStatus::Accepted
                    }
                    _ => v16::RemoteStartStopStatus::Rejected,
                };
                Ok(v16::Response::from(v16::RemoteStartTransactionResponse { status }).into())
            }
            Request::V201(v201::Request::RequestStartTransaction(r)) => {
                let connector = match r.evse_id {
                    Some(c) => u32::try_from(c).ok().filter(|&c| self.free(c)),
                    None => (1..=self.connectors.len() as u32).find(|&c| self.free(c)),
                };
                let limit = r.charging_profile.as_ref().and_then(limit_201);
                let status = match connector {
                    Some(c) if self.booted => {
                        self.begin(
                            c,
                            r.id_token.id_token.into_string(),
                            Some(Some(r.remote_start_id)),
                            limit,
                            now,
                        );
                        v201::RequestStartStopStatus::Accepted
                    }
                    _ => v201::RequestStartStopStatus::Rejected,
                };
                Ok(v201::Response::from(v201::RequestStartTransactionResponse {
                    status,
                    status_info: None,
                    transaction_id: None,
                })
                .into())
            }
            Request::V16(v16::Request::RemoteStopTransaction(r)) => {
                let tx = self.open_tx(|t| t.csms_id == Some(r.transaction_id));
                let status = match tx {
                    Some(tx) => {
                        self.end(tx, v16::Reason::Remote, now);
                        v16::RemoteStartStopStatus::Accepted
                    }
                    None => v16::RemoteStartStopStatus::Rejected,
                };
                Ok(v16::Response::from(v16::RemoteStopTransactionResponse { status }).into())
            }
            Request::V201(v201::Request::RequestStopTransaction(r)) => {
                let id = r.transaction_id.as_str().to_owned();
                let tx = self.open_tx(|t| t.rec.transaction_id.as_deref() == Some(id.as_str()));
                let status = match tx {
                    Some(tx) => {
                        self.end(tx, v16::Reason::Remote, now);
                        v201::RequestStartStopStatus::Accepted
                    }
                    None => v201::RequestStartStopStatus::Rejected,
                };
                Ok(v201::Response::from(v201::RequestStopTransactionResponse {
                    status,
                    status_info: None,
                })
                .into())
            }
            Request::V16(v16::Request::ChangeAvailability(r)) => {
                let inoperative = r.kind == v16::AvailabilityType::Inoperative;
                let status = match self.change_availability(r.connector_id, inoperative) {
                    None => v16::AvailabilityStatus::Rejected,
                    Some(true) => v16::AvailabilityStatus::Scheduled,
                    Some(false) => v16::AvailabilityStatus::Accepted,
                };
                Ok(v16::Response::from(v16::ChangeAvailabilityResponse { status }).into())
            }
            Request::V201(v201::Request::ChangeAvailability(r)) => {
                let inoperative = r.operational_status == v201::OperationalStatus::Inoperative;
                let connector = r
                    .evse
                    .map_or(0, |e| u32::try_from(e.id).unwrap_or(u32::MAX));
                let status = match self.change_availability(connector, inoperative) {
                    None => v201::ChangeAvailabilityStatus::Rejected,
                    Some(true) => v201::ChangeAvailabilityStatus::Scheduled,
                    Some(false) => v201::ChangeAvailabilityStatus::Accepted,
                };
                Ok(v201::Response::from(v201::ChangeAvailabilityResponse {
                    status,
                    status_info: None,
                })
                .into())
            }
            Request::V16(v16::Request::SetChargingProfile(r)) => {
                let p = &r.cs_charging_profiles;
                let periods: Vec<_> = p
                    .charging_schedule
                    .charging_schedule_period
                    .iter()
                    .map(|x| (x.start_period, x.limit, x.number_phases))
                    .collect();
                let limit = schedule_limit(
                    &periods,
                    p.charging_schedule.charging_rate_unit == v16::ChargingRateUnit::A,
                    0,
                );
                let purpose = match p.charging_profile_purpose {
                    v16::ChargingProfilePurpose::ChargePointMaxProfile => Purpose::Max,
                    v16::ChargingProfilePurpose::TxDefaultProfile => Purpose::Default,
                    v16::ChargingProfilePurpose::TxProfile => Purpose::Tx,
                };
                let accepted = self.apply_profile(
                    r.connector_id,
                    purpose,
                    limit,
                    |t| p.transaction_id.is_none_or(|id| t.csms_id == Some(id)),
                    now,
                );
                let status = if accepted {
                    v16::ChargingProfileStatus::Accepted
                } else {
                    v16::ChargingProfileStatus::Rejected
                };
                Ok(v16::Response::from(v16::SetChargingProfileResponse { status }).into())
            }
            Request::V201(v201::Request::SetChargingProfile(r)) => {
                let p = &r.charging_profile;
                let purpose = match p.charging_profile_purpose {
                    v201::ChargingProfilePurpose::ChargingStationMaxProfile
                    | v201::ChargingProfilePurpose::ChargingStationExternalConstraints => {
                        Purpose::Max
                    }
                    v201::ChargingProfilePurpose::TxDefaultProfile => Purpose::Default,
                    v201::ChargingProfilePurpose::TxProfile => Purpose::Tx,
                };
                let tx_id = p.transaction_id.as_ref().map(|t| t.as_str().to_owned());
                let accepted = self.apply_profile(
                    u32::try_from(r.evse_id).unwrap_or(u32::MAX),
                    purpose,
                    limit_201(p),
                    |t| {
                        tx_id
                            .as_deref()
                            .is_none_or(|id| t.rec.transaction_id.as_deref() == Some(id))
                    },
                    now,
                );
                let status = if accepted {
                    v201::ChargingProfileStatus::Accepted
                } else {
                    v201::ChargingProfileStatus::Rejected
                };
                Ok(v201::Response::from(v201::SetChargingProfileResponse {
                    status,
                    status_info: None,
                })
                .into())
            }
            other => Err(not_supported(other.action())),
        }
    }

    fn free(&self, connector: u32) -> bool {
        connector >= 1
            && (connector as usize) <= self.connectors.len()
            && self.connectors[connector as usize - 1].tx.is_none()
            && self.connectors[connector as usize - 1].status == v16::ChargePointStatus::Available
    }

    fn open_tx(&self, f: impl Fn(&Tx) -> bool) -> Option<usize> {
        self.txs.iter().position(|t| t.open && f(t))
    }

    /// `None`: no such connector; `Some(true)`: scheduled after a session.
    fn change_availability(&mut self, connector: u32, inoperative: bool) -> Option<bool> {
        let targets: Vec<u32> = if connector == 0 {
            (1..=self.connectors.len() as u32).collect()
        } else if (connector as usize) <= self.connectors.len() {
            vec![connector]
        } else {
            return None;
        };
        let mut scheduled = false;
        for c in targets {
            let conn = &mut self.connectors[c as usize - 1];
            if conn.tx.is_some() || conn.status == v16::ChargePointStatus::Finishing {
                conn.pending_inoperative = inoperative;
                if !inoperative {
                    conn.inoperative = false;
                }
                scheduled = true;
                continue;
            }
            conn.inoperative = inoperative;
            conn.pending_inoperative = false;
            let s = if inoperative {
                v16::ChargePointStatus::Unavailable
            } else {
                v16::ChargePointStatus::Available
            };
            if conn.status != s {
                self.set_status(c, s);
            }
        }
        Some(scheduled)
    }

    fn apply_profile(
        &mut self,
        connector: u32,
        purpose: Purpose,
        limit: Option<f64>,
        matches_tx: impl Fn(&Tx) -> bool,
        now: Instant,
    ) -> bool {
        let Some(limit) = limit else {
            return false;
        };
        if connector as usize > self.connectors.len() {
            return false;
        }
        let mut record = ProfileRecord {
            connector,
            purpose: purpose.name().to_owned(),
            limit_w: limit,
            transaction_id: None,
            received: wall_now().to_rfc3339(0),
        };
        match purpose {
            Purpose::Max => {
                // Bring open sessions up to now at the old limit first.
                for tx in 0..self.txs.len() {
                    self.accrue(tx, now);
                }
                self.max_limit_w = Some(limit);
            }
            Purpose::Default => {
                let targets: Vec<usize> = if connector == 0 {
                    (0..self.connectors.len()).collect()
                } else {
                    vec![connector as usize - 1]
                };
                for i in targets {
                    self.connectors[i].default_limit_w = Some(limit);
                }
            }
            Purpose::Tx => {
                let tx = self
                    .open_tx(|t| (connector == 0 || t.rec.connector == connector) && matches_tx(t));
                let Some(tx) = tx else {
                    return false;
                };
                self.accrue(tx, now);
                self.txs[tx].limit_w = Some(limit);
                self.txs[tx].rec.limits_w.push(limit);
                record.connector = self.txs[tx].rec.connector;
                record.transaction_id = self.txs[tx].rec.transaction_id.clone();
            }
        }
        self.summary.profiles.push(record);
        true
    }

    /// Runs one connection until it drops or the run is over.
    pub(crate) async fn connection<S>(
        &mut self,
        ws: &mut S,
        stop: &mut tokio::sync::watch::Receiver<bool>,
        give_up: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Ended
    where
        S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
            + futures_util::Sink<Message>
            + Unpin,
    {
        if self.booted {
            // Back after a drop: tell the CSMS where every connector stands.
            self.all_statuses();
        }
        // The call in flight: what it was, its unique id and when it went.
        let mut inflight: Option<(Out, String, &'static str, Instant)> = None;
        loop {
            if *stop.borrow() && !self.stopping {
                self.stopping = true;
                let now = Instant::now();
                for tx in 0..self.txs.len() {
                    if self.txs[tx].open {
                        self.end(tx, v16::Reason::Local, now);
                    }
                }
            }
            if self.stopping && inflight.is_none() && (self.queue.is_empty() || !self.booted) {
                let _ = ws.send(Message::Close(None)).await;
                return Ended::Stopped;
            }
            if inflight.is_none() {
                while let Some(out) = self.queue.front().cloned() {
                    if !self.booted && !matches!(out, Out::Boot) {
                        break;
                    }
                    if matches!(out, Out::Boot) && self.boot_retry_at.is_some() {
                        break;
                    }
                    self.queue.pop_front();
                    let Some(request) = self.request(&out) else {
                        // A 1.6 transaction without an id: nothing to attach this to.
                        self.summary.dropped += 1;
                        continue;
                    };
                    let id = format!("{}", self.next_id);
                    self.next_id += 1;
                    let text = encode_call(&id, &request);
                    if ws.send(Message::text(text)).await.is_err() {
                        self.queue.push_front(out);
                        return Ended::Dropped;
                    }
                    self.summary.calls_sent += 1;
                    inflight = Some((out, id, request.action(), Instant::now()));
                    break;
                }
            }
            let mut deadline = self.next_deadline();
            if let Some((_, _, _, at)) = &inflight {
                deadline = deadline.min(*at + self.config.reply_timeout);
            }
            tokio::select! {
                msg = ws.next() => {
                    let text = match msg {
                        Some(Ok(Message::Text(t))) => t,
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                            if let Some((out, ..)) = inflight.take() {
                                self.queue.push_front(out);
                            }
                            return Ended::Dropped;
                        }
                        Some(Ok(_)) => continue,
                    };
                    let now = Instant::now();
                    match receive(self.version, text.as_str(), self.config.max_message_len) {
                        Incoming::Call { unique_id, request } => {
                            let reply = match self.on_call(request, now) {
                                Ok(resp) => encode_result(&unique_id, &resp),
                                Err(e) => encode_error(&unique_id, self.version, &e),
                            };
                            if ws.send(Message::text(reply)).await.is_err() {
                                if let Some((out, ..)) = inflight.take() {
                                    self.queue.push_front(out);
                                }
                                return Ended::Dropped;
                            }
                        }
                        Incoming::Refused { reply, action, .. } => {
                            *self.summary.calls_received.entry(action).or_default() += 1;
                            if ws.send(Message::text(reply)).await.is_err() {
                                if let Some((out, ..)) = inflight.take() {
                                    self.queue.push_front(out);
                                }
                                return Ended::Dropped;
                            }
                        }
                        Incoming::Result(r) => {
                            if inflight.as_ref().is_some_and(|(_, id, ..)| *id == r.unique_id) {
                                let (out, _, action, _) = inflight.take().expect("checked");
                                let decoded = proto_ocpp::decode_result(
                                    self.version,
                                    action,
                                    serde_json::Value::Object(r.payload),
                                );
                                self.summary.calls_answered += 1;
                                self.on_answer(&out, decoded.map_err(|e| Some(e.code)), now);
                            }
                        }
                        Incoming::Error(e) => {
                            if inflight.as_ref().is_some_and(|(_, id, ..)| *id == e.unique_id) {
                                let (out, ..) = inflight.take().expect("checked");
                                let code = e.error_code();
                                self.summary.calls_answered += 1;
                                if code == Some(ErrorCode::SecurityError) && self.booted {
                                    // The CSMS does not know us on this connection: boot again.
                                    self.booted = false;
                                    self.queue.push_front(out);
                                    self.queue.push_front(Out::Boot);
                                } else {
                                    self.on_answer(&out, Err(code), now);
                                }
                            }
                        }
                        Incoming::Malformed { reply, .. } => {
                            self.summary.malformed += 1;
                            if let Some(reply) = reply
                                && ws.send(Message::text(reply)).await.is_err()
                            {
                                if let Some((out, ..)) = inflight.take() {
                                    self.queue.push_front(out);
                                }
                                return Ended::Dropped;
                            }
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    let now = Instant::now();
                    if let Some((_, _, _, at)) = &inflight
                        && now >= *at + self.config.reply_timeout
                    {
                        // No answer: the connection is not to be trusted; resend on a new one.
                        self.summary.timeouts += 1;
                        if let Some((out, ..)) = inflight.take() {
                            self.queue.push_front(out);
                        }
                        return Ended::Dropped;
                    }
                    self.on_timer(now);
                }
                _ = stop.changed(), if !self.stopping => {}
                _ = give_up.changed() => {
                    if *give_up.borrow() {
                        if let Some((out, ..)) = inflight.take() {
                            self.queue.push_front(out);
                        }
                        let _ = ws.send(Message::Close(None)).await;
                        return Ended::Stopped;
                    }
                }
            }
        }
    }

    /// What is left when the run ends: undelivered calls, and every session.
    pub(crate) fn finish(mut self) -> ChargerSummary {
        self.summary.pending = self.queue.len() as u64;
        self.summary.transactions = self.txs.into_iter().map(|t| t.rec).collect();
        self.summary.statuses = self
            .connectors
            .iter()
            .map(|c| status_name(c.status))
            .collect();
        self.summary
    }
}

#[derive(Debug, Clone, Copy)]
enum Purpose {
    Max,
    Default,
    Tx,
}

impl Purpose {
    fn name(self) -> &'static str {
        match self {
            Self::Max => "ChargePointMaxProfile",
            Self::Default => "TxDefaultProfile",
            Self::Tx => "TxProfile",
        }
    }
}

fn limit_201(p: &v201::ChargingProfile) -> Option<f64> {
    let s = p.charging_schedule.first()?;
    let periods: Vec<_> = s
        .charging_schedule_period
        .iter()
        .map(|x| (x.start_period, x.limit, x.number_phases))
        .collect();
    schedule_limit(
        &periods,
        s.charging_rate_unit == v201::ChargingRateUnit::A,
        0,
    )
}

fn meter_201(
    wh: f64,
    power_w: Option<f64>,
    soc: Option<f64>,
    context: ReadingContext,
    at: Timestamp,
) -> v201::MeterValue {
    let sv = |value: f64, m: Measurand, unit: &str| v201::SampledValue {
        value,
        context: Some(context),
        measurand: Some(m),
        phase: None,
        location: None,
        signed_meter_value: None,
        unit_of_measure: Some(v201::UnitOfMeasure {
            unit: Some(ci(unit)),
            multiplier: None,
        }),
    };
    let mut values = vec![sv(wh, Measurand::EnergyActiveImportRegister, "Wh")];
    if let Some(p) = power_w {
        values.push(sv(p, Measurand::PowerActiveImport, "W"));
    }
    if let Some(s) = soc {
        values.push(sv(s, Measurand::SoC, "Percent"));
    }
    v201::MeterValue {
        sampled_value: values,
        timestamp: dt(at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_from_schedules() {
        assert_eq!(schedule_limit(&[(0, 2000.0, None)], false, 0), Some(2000.0));
        assert_eq!(
            schedule_limit(&[(0, 16.0, Some(1))], true, 0),
            Some(16.0 * 230.0)
        );
        assert_eq!(
            schedule_limit(&[(0, 10.0, None), (60, 5.0, None)], true, 90),
            Some(5.0 * 230.0 * 3.0)
        );
        assert_eq!(schedule_limit(&[], false, 0), None);
    }
}
