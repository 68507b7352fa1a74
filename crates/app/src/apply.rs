//! Applying committed records: decode the frame, run the alarm rules, update live state, buffer
//! samples in the lake, and publish what changed to the live stream.
//!
//! The same code runs for live traffic and for WAL replay, so both give the same result. Alarm
//! changes are stored in the catalog together with the LSN of the last record that caused them
//! (`rules_lsn`) *before* the records' rows reach the lake: the lake's flush position can then
//! never pass a record whose alarm changes are unrecorded, and a replay after a crash re-evaluates
//! exactly the records whose changes are not stored yet. Records at or below `rules_lsn` only
//! rebuild the rules' memory (`Engine::observe`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use api::StreamEvent;
use model::{
    AlarmChangeKind, AlarmNotice, ChargingEvent, FleetReport, Timestamp, VehicleInfo,
    VehicleSample, Vin,
};
use pipeline::{IngestRecord, LiveState, SourceProtocol};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use proto_gbt32960::{Block2016, Block2025, Body, Command, Frame, Report, decode, to_sample};
use rules::{AlarmChange, AlarmEvent, Engine, FrameAlarms};
use store::catalog::{Catalog, ChargingApplied, ChargingRecord, RULES_CURSOR};
use store::lake::{Lake, LakeRows};
use tokio::sync::broadcast;

use crate::directory::Terminals;
use crate::webhook::Doorbell;

/// The registry by VIN, shared with the API.
pub(crate) type Registry = Arc<RwLock<HashMap<String, VehicleInfo>>>;
/// Charging operator id → organisation.
pub(crate) type OperatorOrgs = Arc<RwLock<HashMap<String, String>>>;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChangeLabels {
    change: &'static str,
}

/// `haihe_alarms_open` and `haihe_alarm_changes_total{change}`.
#[derive(Debug, Clone, Default)]
pub(crate) struct AlarmMetrics {
    open: Gauge,
    changes: Family<ChangeLabels, Counter>,
}

impl AlarmMetrics {
    pub(crate) fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        registry.register(
            "haihe_alarms_open",
            "Alarms open now (as the rule engine knows them)",
            self.open.clone(),
        );
        registry.register(
            "haihe_alarm_changes",
            "Alarm changes recorded, by change",
            self.changes.clone(),
        );
    }
}

/// Owns the rule engine; everything that changes alarms from data goes through here, one batch
/// at a time (the platform keeps it behind a mutex shared by the applier and the clock tick).
pub(crate) struct Applier {
    lake: Arc<Lake>,
    live: Arc<LiveState>,
    catalog: Arc<Catalog>,
    registry: Registry,
    terminals: Terminals,
    /// Charging operator id → organisation (`[[tcec.peers]] org`), for scoping stream events.
    operator_orgs: OperatorOrgs,
    engine: Engine,
    rules_lsn: u64,
    stream: broadcast::Sender<StreamEvent>,
    /// Woken after alarm changes are stored (the webhook deliverers wait on it).
    stored: Arc<Doorbell>,
    pub(crate) metrics: AlarmMetrics,
}

impl std::fmt::Debug for Applier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applier")
            .field("rules_lsn", &self.rules_lsn)
            .finish_non_exhaustive()
    }
}

/// What the applier works on, shared with the rest of the platform.
pub(crate) struct Parts {
    pub(crate) lake: Arc<Lake>,
    pub(crate) live: Arc<LiveState>,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) registry: Registry,
    pub(crate) terminals: Terminals,
    pub(crate) operator_orgs: OperatorOrgs,
    pub(crate) stream: broadcast::Sender<StreamEvent>,
    pub(crate) stored: Arc<Doorbell>,
}

/// One record's outcome before it is stored.
struct Decoded {
    lsn: u64,
    samples: Vec<VehicleSample>,
    /// JT/T 808 location reports.
    reports: Vec<FleetReport>,
    /// The alarm block's extras of the report the samples came from.
    alarms: FrameAlarms,
    org: Option<String>,
    /// What a T/CEC 102 or OCPP message says about stations, connectors and sessions.
    charging: Vec<ChargingEvent>,
    received_at: Timestamp,
}

impl Applier {
    /// An applier whose engine knows the alarms open in the catalog and where the rules stopped.
    pub(crate) fn new(parts: Parts, rules: rules::RulesConfig) -> anyhow::Result<Self> {
        let Parts {
            lake,
            live,
            catalog,
            registry,
            terminals,
            operator_orgs,
            stream,
            stored,
        } = parts;
        let mut engine = Engine::new(rules);
        let open: Vec<(Vin, String, u8)> = catalog
            .open_alarms()?
            .into_iter()
            .filter_map(|a| Some((a.entity_id.parse::<Vin>().ok()?, a.kind, a.level)))
            .collect();
        engine.restore(&open);
        let rules_lsn = catalog
            .cursor(RULES_CURSOR)?
            .map_or(0, |p| u64::try_from(p).unwrap_or(0));
        Ok(Self {
            lake,
            live,
            catalog,
            registry,
            terminals,
            operator_orgs,
            engine,
            rules_lsn,
            stream,
            stored,
            metrics: AlarmMetrics::default(),
        })
    }

    /// Applies committed records in LSN order: rules first (their changes stored in one
    /// transaction), then the lake and live state, then the stream.
    pub(crate) fn apply_batch(&mut self, batch: &[(u64, IngestRecord)]) -> anyhow::Result<()> {
        let mut decoded = Vec::with_capacity(batch.len());
        let mut events: Vec<(AlarmEvent, Option<String>)> = Vec::new();
        let mut last_eventful = None;
        for (lsn, record) in batch {
            let d = self.decode(*lsn, record);
            let before = events.len();
            for s in &d.samples {
                if *lsn <= self.rules_lsn {
                    self.engine.observe(s, &d.alarms);
                } else {
                    let caused = self.engine.on_sample(s, &d.alarms);
                    if !caused.is_empty() {
                        let org = self.org_of(s.vin.as_str(), d.org.as_deref());
                        events.extend(caused.into_iter().map(|e| (e, org.clone())));
                    }
                }
            }
            if events.len() > before {
                last_eventful = Some(*lsn);
            }
            decoded.push(d);
        }
        let notices = self.store_events(&events, last_eventful);
        let mut charging = self.apply_charging(&decoded)?;
        for d in &decoded {
            for s in &d.samples {
                if !s.reissue {
                    self.live.touch(
                        s.vin.as_str(),
                        s.received_at,
                        d.org.as_deref(),
                        Some(s.clone()),
                    );
                }
            }
            for r in &d.reports {
                let org = self.org_of(r.vin.as_deref().unwrap_or(&r.terminal_id), None);
                self.live.touch_fleet(r, org.as_deref());
            }
            let out = charging.remove(&d.lsn).unwrap_or_default();
            // Every LSN is inserted, with or without rows, so the lake knows what it has applied.
            self.lake.insert_all(
                d.lsn,
                &LakeRows {
                    samples: &d.samples,
                    reports: &d.reports,
                    statuses: &out.statuses,
                    sessions: &out.sessions,
                },
            )?;
            if self.stream.receiver_count() > 0 {
                for status in out.statuses {
                    let org = self.operator_org(&status.operator_id);
                    let _ = self.stream.send(StreamEvent::Connector {
                        org,
                        status: Arc::new(status),
                    });
                }
            }
        }
        if self.stream.receiver_count() > 0 {
            for r in decoded.iter().flat_map(|d| &d.reports) {
                if !r.reissue {
                    let org = self.org_of(r.vin.as_deref().unwrap_or(&r.terminal_id), None);
                    let _ = self.stream.send(StreamEvent::Fleet {
                        org,
                        report: Arc::new(r.clone()),
                    });
                }
            }
            for d in decoded {
                for s in d.samples {
                    if !s.reissue {
                        let org = self.org_of(s.vin.as_str(), d.org.as_deref());
                        let _ = self.stream.send(StreamEvent::Sample {
                            org,
                            sample: Arc::new(s),
                        });
                    }
                }
            }
        }
        self.publish(notices);
        Ok(())
    }

    /// Folds the batch's charging events into the catalog (stations, chargers, latest connector
    /// states, open sessions) and returns the rows each record adds to the lake. A record the
    /// catalog applied before (a WAL replay) gives the rows it gave then.
    fn apply_charging(&self, decoded: &[Decoded]) -> anyhow::Result<HashMap<u64, ChargingApplied>> {
        let records: Vec<ChargingRecord<'_>> = decoded
            .iter()
            .filter(|d| !d.charging.is_empty())
            .map(|d| ChargingRecord {
                lsn: d.lsn,
                received_at: d.received_at,
                org: d.org.as_deref(),
                events: &d.charging,
            })
            .collect();
        if records.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(self.catalog.apply_charging(&records)?.into_iter().collect())
    }

    /// The organisation of a charging operator (its stations' `org`).
    fn operator_org(&self, operator_id: &str) -> Option<String> {
        self.operator_orgs
            .read()
            .ok()
            .and_then(|m| m.get(operator_id).cloned())
    }

    /// The platform clock: time-based rules (offline).
    pub(crate) fn tick(&mut self, now: Timestamp) {
        let events: Vec<_> = self
            .engine
            .on_tick(now)
            .into_iter()
            .map(|e| {
                let org = self.org_of(e.entity_id.as_str(), None);
                (e, org)
            })
            .collect();
        let notices = self.store_events(&events, None);
        self.publish(notices);
    }

    /// The platform was not listening until `now` (a restart): silence before it is not a vehicle
    /// going offline.
    pub(crate) fn resume(&mut self, now: Timestamp) {
        self.engine.resume(now);
        self.metrics
            .open
            .set(i64::try_from(self.engine.open_count()).unwrap_or(i64::MAX));
    }

    pub(crate) fn open_alarm_count(&self) -> usize {
        self.engine.open_count()
    }

    fn decode(&mut self, lsn: u64, record: &IngestRecord) -> Decoded {
        let mut samples = Vec::new();
        let mut reports = Vec::new();
        let mut alarms = FrameAlarms::default();
        let mut charging = Vec::new();
        match record.protocol {
            SourceProtocol::Gbt32960 => match decode(&record.payload) {
                Ok(frame) => {
                    let vin = frame.header.vin.text();
                    match frame.header.command {
                        Command::REALTIME | Command::REISSUE => {
                            samples.extend(to_sample(&frame, record.received_at));
                            alarms = frame_alarms(&frame);
                        }
                        Command::VEHICLE_LOGIN => {
                            self.live
                                .touch(&vin, record.received_at, record.org.as_deref(), None);
                        }
                        Command::VEHICLE_LOGOUT => {
                            self.live.logout(&vin, record.received_at);
                            if let Ok(v) = vin.parse::<Vin>() {
                                self.engine.on_logout(&v, record.received_at);
                            }
                        }
                        _ => {}
                    }
                }
                Err(e) => {
                    tracing::error!(lsn, error = %e, "a stored GB/T 32960 frame no longer decodes; skipped");
                }
            },
            SourceProtocol::Jt808 => match proto_jt808::decode_stored(&record.payload) {
                Ok(frame) => {
                    let terminal = frame.terminal_id();
                    let vin = self
                        .terminals
                        .read()
                        .ok()
                        .and_then(|t| t.get(&terminal).cloned());
                    reports = proto_jt808::to_reports(&frame, record.received_at);
                    for r in &mut reports {
                        r.vin.clone_from(&vin);
                    }
                    let id = vin.as_deref().unwrap_or(&terminal);
                    if frame.header.msg_id == proto_jt808::msg_id::LOGOUT {
                        self.live.logout(id, record.received_at);
                    } else if reports.is_empty() {
                        let org = self.org_of(id, None);
                        self.live.touch_terminal(
                            &terminal,
                            vin.as_deref(),
                            record.received_at,
                            org.as_deref(),
                        );
                    }
                }
                Err(e) => {
                    tracing::error!(lsn, error = %e, "a stored JT/T 808 message no longer decodes; skipped");
                }
            },
            SourceProtocol::Tcec => match proto_tcec::decode_stored(&record.payload) {
                Ok(stored) => charging = proto_tcec::to_events(&stored, record.received_at),
                Err(e) => {
                    tracing::error!(lsn, error = %e, "a stored T/CEC 102 message no longer decodes; skipped");
                }
            },
            SourceProtocol::Ocpp => match proto_ocpp::decode_stored(&record.payload) {
                Ok(stored) => charging = proto_ocpp::to_events(&stored, record.received_at),
                Err(e) => {
                    tracing::error!(lsn, error = %e, "a stored OCPP message no longer decodes; skipped");
                }
            },
        }
        Decoded {
            lsn,
            samples,
            reports,
            alarms,
            org: record.org.clone(),
            charging,
            received_at: record.received_at,
        }
    }

    /// The organisation owning `vin`: the relaying platform's, else the registry's.
    fn org_of(&self, vin: &str, relayed_by: Option<&str>) -> Option<String> {
        if let Some(org) = relayed_by {
            return Some(org.to_owned());
        }
        self.registry
            .read()
            .ok()?
            .get(vin)
            .and_then(|v| v.owner_org.clone())
    }

    /// Stores changes (with the rules' new position) and returns their notices. A failure is
    /// logged: the samples still go to the lake, and the changes are lost only if the process
    /// also stops before the disk recovers (the WAL replay re-evaluates from `rules_lsn`).
    fn store_events(
        &mut self,
        events: &[(AlarmEvent, Option<String>)],
        lsn: Option<u64>,
    ) -> Vec<AlarmNotice> {
        if events.is_empty() {
            return Vec::new();
        }
        let changes: Vec<store::catalog::AlarmChange<'_>> = events
            .iter()
            .map(|(e, org)| store::catalog::AlarmChange {
                entity_id: e.entity_id.as_str(),
                kind: e.kind,
                level: e.level,
                at: e.at,
                change: match e.change {
                    AlarmChange::Opened => AlarmChangeKind::Opened,
                    AlarmChange::LevelChanged { .. } => AlarmChangeKind::LevelChanged,
                    AlarmChange::Closed => AlarmChangeKind::Closed,
                },
                source: e.source.as_str(),
                detail: &e.detail,
                org: org.as_deref(),
            })
            .collect();
        match self.catalog.record_alarm_changes(&changes, lsn) {
            Ok(notices) => {
                if let Some(lsn) = lsn {
                    self.rules_lsn = lsn;
                }
                notices
            }
            Err(e) => {
                tracing::error!(error = %e, changes = changes.len(), "storing alarm changes failed");
                Vec::new()
            }
        }
    }

    fn publish(&self, notices: Vec<AlarmNotice>) {
        if notices.is_empty() {
            return;
        }
        self.metrics
            .open
            .set(i64::try_from(self.engine.open_count()).unwrap_or(i64::MAX));
        for n in notices {
            self.metrics
                .changes
                .get_or_create(&ChangeLabels {
                    change: n.change.as_str(),
                })
                .inc();
            tracing::info!(
                alarm_id = n.alarm.alarm_id,
                entity = %n.alarm.entity_id,
                kind = %n.alarm.kind,
                level = n.alarm.level,
                change = n.change.as_str(),
                "alarm"
            );
            let _ = self.stream.send(StreamEvent::Alarm(Arc::new(n)));
        }
        self.stored.ring();
    }
}

/// The samples a record carries, for readers that only need rows (`haihe sql`).
pub(crate) fn samples_of(record: &IngestRecord) -> Vec<VehicleSample> {
    match record.protocol {
        SourceProtocol::Gbt32960 => match decode(&record.payload) {
            Ok(frame) if matches!(frame.header.command, Command::REALTIME | Command::REISSUE) => {
                to_sample(&frame, record.received_at).into_iter().collect()
            }
            _ => Vec::new(),
        },
        SourceProtocol::Jt808 | SourceProtocol::Tcec | SourceProtocol::Ocpp => Vec::new(),
    }
}

/// The fleet reports a record carries, for readers that only need rows (`haihe sql`); the VIN
/// column stays empty there (the registry is applied by the running platform).
pub(crate) fn reports_of(record: &IngestRecord) -> Vec<FleetReport> {
    match record.protocol {
        SourceProtocol::Jt808 => proto_jt808::decode_stored(&record.payload)
            .map(|f| proto_jt808::to_reports(&f, record.received_at))
            .unwrap_or_default(),
        SourceProtocol::Gbt32960 | SourceProtocol::Tcec | SourceProtocol::Ocpp => Vec::new(),
    }
}

/// Per-flag levels and fault codes of a report's alarm block (empty for other frames).
fn frame_alarms(frame: &Frame) -> FrameAlarms {
    fn alarms_of(frame: &Frame) -> Option<FrameAlarms> {
        let Body::Report(report) = &frame.body else {
            return None;
        };
        let mut out = FrameAlarms::default();
        let faults = match report {
            Report::V2016(r) => r.blocks.iter().find_map(|b| match b {
                Block2016::Alarm(a) => Some(&a.faults),
                _ => None,
            }),
            Report::V2025(r) => r.blocks.iter().find_map(|b| match b {
                Block2025::Alarm(a) => {
                    out.flag_levels = a
                        .flag_levels
                        .items()
                        .iter()
                        .map(|f| (f.bit, f.level))
                        .collect();
                    Some(&a.faults)
                }
                _ => None,
            }),
        }?;
        for (name, list) in [
            ("ress", &faults.ress_faults),
            ("motor", &faults.motor_faults),
            ("engine", &faults.engine_faults),
            ("other", &faults.other_faults),
        ] {
            out.fault_codes
                .extend(list.items().iter().map(|c| (name, c.0)));
        }
        Some(out)
    }
    alarms_of(frame).unwrap_or_default()
}
