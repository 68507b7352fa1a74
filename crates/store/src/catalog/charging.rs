//! Charging state in the catalog: the station and charger registry, the latest state of each
//! connector, open sessions, the sessions already emitted, the outputs of every applied charging
//! record, OCPP transaction ids and T/CEC access tokens.
//!
//! [`Catalog::apply_charging`] folds the [`ChargingEvent`]s of committed WAL records into this
//! state and returns the rows each record adds to the lake: `connector_status` holds *changes*
//! (a repeated status is not a row), and `charging_sessions` holds each finished session once
//! (OCPP start/meter/stop folded into one row; a T/CEC order resent by its operator is not a
//! second row).
//!
//! Why `charging_out`: what a record yields depends on the state before it (was the status the
//! same? was the session open?), so re-applying it after a restart would give a different answer
//! than the first time. Instead, the outputs of every record are stored in the same transaction
//! that advances the `charging` cursor, and a record at or below the cursor is answered from
//! there. A WAL replay after `kill -9` therefore hands the lake exactly the rows it would have
//! had; the caller prunes the stored outputs once the lake has them in Parquet
//! ([`Catalog::prune_charging_out`]).

use model::{
    Charger, ChargingEvent, ChargingSession, ConnectorState, ConnectorStatus, OCPP_OPERATOR,
    Station, Timestamp,
};
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::{Value, json};

use super::{Catalog, CatalogError, Result, hash_token, sqlite};

/// The cursor under which the highest applied charging record's LSN is kept.
pub const CHARGING_CURSOR: &str = "charging";

/// At most this many unexpired T/CEC tokens are kept per operator; storing one more drops the
/// one that expires first (an operator asking for tokens in a loop cannot grow the table).
pub const MAX_TCEC_TOKENS_PER_OPERATOR: usize = 16;

/// One committed WAL record's charging events, for [`Catalog::apply_charging`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChargingRecord<'a> {
    /// The record's LSN; records are applied in LSN order.
    pub lsn: u64,
    /// When the platform received the record: the `received_at` of the sessions folded from
    /// it, and the `updated_at`/`first_seen` of registry entries.
    pub received_at: Timestamp,
    /// The organisation that may see the stations of this record (the T/CEC peer's or the OCPP
    /// site's `org`); `None` keeps the organisation a station already has.
    pub org: Option<&'a str>,
    pub events: &'a [ChargingEvent],
}

/// What one applied record adds to the lake.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChargingApplied {
    /// `connector_status` rows: the status changes.
    pub statuses: Vec<ConnectorStatus>,
    /// `charging_sessions` rows: the sessions finished by this record and not emitted before.
    pub sessions: Vec<ChargingSession>,
}

impl ChargingApplied {
    pub fn is_empty(&self) -> bool {
        self.statuses.is_empty() && self.sessions.is_empty()
    }
}

/// A registry station with what the catalog adds.
#[derive(Debug, Clone, PartialEq)]
pub struct StationRecord {
    pub station: Station,
    /// The organisation whose tokens may see the station.
    pub org: Option<String>,
    /// `received_at` of the record that last wrote it.
    pub updated_at: Timestamp,
}

/// A registry charger with what the catalog adds.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargerRecord {
    pub charger: Charger,
    /// `received_at` of the first record that named it.
    pub first_seen: Timestamp,
    /// `received_at` of the record that last wrote it.
    pub updated_at: Timestamp,
}

/// The latest state of a connector.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorRecord {
    /// The latest status; `power_kw`/`soc_pct` also follow meter readings.
    pub status: ConnectorStatus,
    /// The open session on the connector, if one is known.
    pub session_id: Option<String>,
}

/// A session that started and has not ended yet.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenSession {
    pub session_id: String,
    pub operator_id: String,
    pub station_id: String,
    pub equipment_id: String,
    pub connector_id: String,
    pub start_ts: Timestamp,
    pub meter_start_wh: Option<f64>,
    /// The highest energy register read during the session.
    pub last_meter_wh: Option<f64>,
    pub id_tag: Option<String>,
    pub source: String,
}

const KIND_STATUS: &str = "status";
const KIND_SESSION: &str = "session";

const CONNECTOR_COLUMNS: &str = "operator_id, station_id, equipment_id, connector_id, ts, \
                                 received_at, status, raw_status, source, power_kw, soc_pct, \
                                 session_id";

const OPEN_COLUMNS: &str = "session_id, operator_id, station_id, equipment_id, connector_id, \
                            start_ts, meter_start_wh, last_meter_wh, id_tag, source";

fn connector_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ConnectorRecord> {
    let status: String = r.get(6)?;
    Ok(ConnectorRecord {
        status: ConnectorStatus {
            operator_id: r.get(0)?,
            station_id: r.get(1)?,
            equipment_id: r.get(2)?,
            connector_id: r.get(3)?,
            ts: Timestamp::from_micros(r.get(4)?),
            received_at: Timestamp::from_micros(r.get(5)?),
            status: ConnectorState::parse(&status).unwrap_or(ConnectorState::Unknown),
            raw_status: r.get(7)?,
            source: r.get(8)?,
            power_kw: r.get(9)?,
            soc_pct: r.get(10)?,
        },
        session_id: r.get(11)?,
    })
}

fn open_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OpenSession> {
    Ok(OpenSession {
        session_id: r.get(0)?,
        operator_id: r.get(1)?,
        station_id: r.get(2)?,
        equipment_id: r.get(3)?,
        connector_id: r.get(4)?,
        start_ts: Timestamp::from_micros(r.get(5)?),
        meter_start_wh: r.get(6)?,
        last_meter_wh: r.get(7)?,
        id_tag: r.get(8)?,
        source: r.get(9)?,
    })
}

fn to_sql_error(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

/// A finite number, or `None`: SQLite and JSON have no NaN, and an infinite reading means nothing.
fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// One event applied to the state; returns what it adds to the lake.
fn apply_event(
    tx: &Transaction<'_>,
    event: &ChargingEvent,
    received_at: Timestamp,
    org: Option<&str>,
    out: &mut ChargingApplied,
) -> rusqlite::Result<()> {
    let now = received_at.as_micros();
    match event {
        ChargingEvent::Station(s) => {
            tx.execute(
                "INSERT INTO stations (operator_id, station_id, name, lon, lat, district,
                     connectors, rated_power_kw, source, org, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (operator_id, station_id) DO UPDATE SET
                     name = excluded.name,
                     lon = excluded.lon,
                     lat = excluded.lat,
                     district = excluded.district,
                     connectors = excluded.connectors,
                     rated_power_kw = excluded.rated_power_kw,
                     source = excluded.source,
                     org = COALESCE(excluded.org, stations.org),
                     updated_at = excluded.updated_at",
                params![
                    s.operator_id,
                    s.station_id,
                    s.name,
                    finite(s.lon),
                    finite(s.lat),
                    s.district,
                    s.connectors,
                    finite(Some(s.rated_power_kw)).unwrap_or(0.0),
                    s.source,
                    org,
                    now
                ],
            )?;
        }
        ChargingEvent::Charger(c) => {
            let connectors = serde_json::to_string(&c.connectors).map_err(to_sql_error)?;
            // A boot notification knows neither the connectors nor the power: what an earlier
            // record said stays until something says otherwise.
            tx.execute(
                "INSERT INTO chargers (operator_id, equipment_id, station_id, power_kw, connectors,
                     commissioned, model, source, first_seen, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
                 ON CONFLICT (operator_id, equipment_id) DO UPDATE SET
                     station_id = excluded.station_id,
                     power_kw = COALESCE(excluded.power_kw, chargers.power_kw),
                     connectors = CASE WHEN excluded.connectors = '[]'
                                       THEN chargers.connectors ELSE excluded.connectors END,
                     commissioned = COALESCE(excluded.commissioned, chargers.commissioned),
                     model = COALESCE(excluded.model, chargers.model),
                     source = excluded.source,
                     updated_at = excluded.updated_at",
                params![
                    c.operator_id,
                    c.equipment_id,
                    c.station_id,
                    finite(c.power_kw),
                    connectors,
                    c.commissioned,
                    c.model,
                    c.source,
                    now
                ],
            )?;
        }
        ChargingEvent::Status(s) => apply_status(tx, s, out)?,
        ChargingEvent::SessionStarted {
            session_id,
            operator_id,
            station_id,
            equipment_id,
            connector_id,
            start_ts,
            meter_start_wh,
            id_tag,
            source,
        } => {
            let meter = finite(*meter_start_wh);
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO charging_open (operator_id, session_id, station_id,
                     equipment_id, connector_id, start_ts, meter_start_wh, last_meter_wh, id_tag,
                     source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)",
                params![
                    operator_id,
                    session_id,
                    station_id,
                    equipment_id,
                    connector_id,
                    start_ts.as_micros(),
                    meter,
                    id_tag,
                    source
                ],
            )?;
            if inserted > 0 {
                tx.execute(
                    "UPDATE connectors SET session_id = ?3
                     WHERE operator_id = ?1 AND connector_id = ?2",
                    params![operator_id, connector_id, session_id],
                )?;
            }
        }
        ChargingEvent::Meter {
            operator_id,
            connector_id,
            session_id,
            ts,
            energy_wh,
            power_kw,
            soc_pct,
        } => {
            let session = match session_id {
                Some(id) => Some(id.clone()),
                None => tx
                    .query_row(
                        "SELECT session_id FROM charging_open
                         WHERE operator_id = ?1 AND connector_id = ?2
                         ORDER BY start_ts DESC LIMIT 1",
                        params![operator_id, connector_id],
                        |r| r.get::<_, String>(0),
                    )
                    .optional()?,
            };
            if let (Some(session), Some(energy)) = (session, finite(*energy_wh)) {
                // The register only grows; a reading that arrives late must not lower it.
                tx.execute(
                    "UPDATE charging_open SET last_meter_wh = MAX(COALESCE(last_meter_wh, ?3), ?3)
                     WHERE operator_id = ?1 AND session_id = ?2",
                    params![operator_id, session, energy],
                )?;
            }
            tx.execute(
                "UPDATE connectors SET power_kw = COALESCE(?3, power_kw),
                     soc_pct = COALESCE(?4, soc_pct)
                 WHERE operator_id = ?1 AND connector_id = ?2 AND ts <= ?5",
                params![
                    operator_id,
                    connector_id,
                    finite(*power_kw),
                    finite(*soc_pct),
                    ts.as_micros()
                ],
            )?;
        }
        ChargingEvent::SessionEnded {
            session_id,
            operator_id,
            end_ts,
            meter_stop_wh,
            stop_reason,
        } => {
            let open = tx
                .query_row(
                    &format!(
                        "SELECT {OPEN_COLUMNS} FROM charging_open
                         WHERE operator_id = ?1 AND session_id = ?2"
                    ),
                    params![operator_id, session_id],
                    open_from_row,
                )
                .optional()?;
            let session = match open {
                Some(o) => {
                    let stop = finite(*meter_stop_wh).or(o.last_meter_wh);
                    let energy_kwh = match (o.meter_start_wh, stop) {
                        // A register that went backwards (replaced meter) says nothing.
                        (Some(start), Some(stop)) if stop >= start => Some((stop - start) / 1000.0),
                        _ => None,
                    };
                    ChargingSession {
                        session_id: o.session_id,
                        operator_id: o.operator_id,
                        station_id: o.station_id,
                        equipment_id: o.equipment_id,
                        connector_id: o.connector_id,
                        start_ts: o.start_ts,
                        end_ts: *end_ts,
                        received_at,
                        energy_kwh,
                        fee_total: None,
                        stop_reason: stop_reason.clone(),
                        id_tag: o.id_tag,
                        source: o.source,
                    }
                }
                // The start was never seen (it came before this platform knew the charger):
                // the row still says that a session ended, when, and why.
                None => ChargingSession {
                    session_id: session_id.clone(),
                    operator_id: operator_id.clone(),
                    station_id: String::new(),
                    equipment_id: String::new(),
                    connector_id: String::new(),
                    start_ts: *end_ts,
                    end_ts: *end_ts,
                    received_at,
                    energy_kwh: None,
                    fee_total: None,
                    stop_reason: stop_reason.clone(),
                    id_tag: None,
                    source: if operator_id == OCPP_OPERATOR {
                        "ocpp".to_owned()
                    } else {
                        String::new()
                    },
                },
            };
            finish_session(tx, session, out)?;
        }
        ChargingEvent::Session(s) => {
            let mut s = s.clone();
            s.energy_kwh = finite(s.energy_kwh);
            s.fee_total = finite(s.fee_total);
            finish_session(tx, s, out)?;
        }
    }
    Ok(())
}

/// A status report: a row and an output when the status changed, only the readings when it did
/// not, nothing when it is older than what the connector already has.
/// Where a connector is, when its status does not say (a T/CEC status push names only the
/// connector): what the connector's row already knows, else the charger that lists it.
fn place_of(tx: &Transaction<'_>, s: &ConnectorStatus) -> rusqlite::Result<(String, String)> {
    if !s.station_id.is_empty() && !s.equipment_id.is_empty() {
        return Ok((s.station_id.clone(), s.equipment_id.clone()));
    }
    let known: Option<(String, String)> = tx
        .query_row(
            "SELECT station_id, equipment_id FROM connectors
             WHERE operator_id = ?1 AND connector_id = ?2",
            params![s.operator_id, s.connector_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let listed: Option<(String, String)> = tx
        .query_row(
            "SELECT c.station_id, c.equipment_id FROM chargers c, json_each(c.connectors) j
             WHERE c.operator_id = ?1 AND j.value = ?2 LIMIT 1",
            params![s.operator_id, s.connector_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let pick = |given: &str, known: Option<&str>, listed: Option<&str>| -> String {
        [Some(given), known, listed]
            .into_iter()
            .flatten()
            .find(|v| !v.is_empty())
            .unwrap_or_default()
            .to_owned()
    };
    Ok((
        pick(
            &s.station_id,
            known.as_ref().map(|k| k.0.as_str()),
            listed.as_ref().map(|l| l.0.as_str()),
        ),
        pick(
            &s.equipment_id,
            known.as_ref().map(|k| k.1.as_str()),
            listed.as_ref().map(|l| l.1.as_str()),
        ),
    ))
}

fn apply_status(
    tx: &Transaction<'_>,
    s: &ConnectorStatus,
    out: &mut ChargingApplied,
) -> rusqlite::Result<()> {
    let (station_id, equipment_id) = place_of(tx, s)?;
    let current: Option<(String, i64)> = tx
        .query_row(
            "SELECT status, ts FROM connectors WHERE operator_id = ?1 AND connector_id = ?2",
            params![s.operator_id, s.connector_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let ts = s.ts.as_micros();
    let (power, soc) = (finite(s.power_kw), finite(s.soc_pct));
    match current {
        Some((_, stored)) if ts < stored => {}
        Some((status, _)) if status == s.status.as_str() => {
            tx.execute(
                "UPDATE connectors SET ts = ?3, received_at = ?4,
                     power_kw = COALESCE(?5, power_kw), soc_pct = COALESCE(?6, soc_pct),
                     station_id = ?7, equipment_id = ?8
                 WHERE operator_id = ?1 AND connector_id = ?2",
                params![
                    s.operator_id,
                    s.connector_id,
                    ts,
                    s.received_at.as_micros(),
                    power,
                    soc,
                    station_id,
                    equipment_id
                ],
            )?;
        }
        _ => {
            tx.execute(
                "INSERT INTO connectors (operator_id, connector_id, station_id, equipment_id,
                     status, raw_status, source, ts, received_at, power_kw, soc_pct)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (operator_id, connector_id) DO UPDATE SET
                     station_id = excluded.station_id,
                     equipment_id = excluded.equipment_id,
                     status = excluded.status,
                     raw_status = excluded.raw_status,
                     source = excluded.source,
                     ts = excluded.ts,
                     received_at = excluded.received_at,
                     power_kw = excluded.power_kw,
                     soc_pct = excluded.soc_pct",
                params![
                    s.operator_id,
                    s.connector_id,
                    station_id,
                    equipment_id,
                    s.status.as_str(),
                    s.raw_status,
                    s.source,
                    ts,
                    s.received_at.as_micros(),
                    power,
                    soc
                ],
            )?;
            out.statuses.push(ConnectorStatus {
                station_id,
                equipment_id,
                power_kw: power,
                soc_pct: soc,
                ..s.clone()
            });
        }
    }
    Ok(())
}

/// Closes a session: emitted unless it was before, remembered as done, no longer open.
fn finish_session(
    tx: &Transaction<'_>,
    session: ChargingSession,
    out: &mut ChargingApplied,
) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM charging_open WHERE operator_id = ?1 AND session_id = ?2",
        params![session.operator_id, session.session_id],
    )?;
    tx.execute(
        "UPDATE connectors SET session_id = NULL WHERE operator_id = ?1 AND session_id = ?2",
        params![session.operator_id, session.session_id],
    )?;
    let new = tx.execute(
        "INSERT OR IGNORE INTO charging_done (operator_id, session_id, end_ts) VALUES (?1, ?2, ?3)",
        params![
            session.operator_id,
            session.session_id,
            session.end_ts.as_micros()
        ],
    )?;
    if new > 0 {
        out.sessions.push(session);
    }
    Ok(())
}

// The stored outputs are JSON with times as integer microseconds, so that every value (any
// instant, however far from now) reads back exactly as it was computed.

fn status_to_json(s: &ConnectorStatus) -> Value {
    json!({
        "operator_id": s.operator_id,
        "station_id": s.station_id,
        "equipment_id": s.equipment_id,
        "connector_id": s.connector_id,
        "ts": s.ts.as_micros(),
        "received_at": s.received_at.as_micros(),
        "status": s.status.as_str(),
        "raw_status": s.raw_status,
        "source": s.source,
        "power_kw": s.power_kw,
        "soc_pct": s.soc_pct,
    })
}

fn session_to_json(s: &ChargingSession) -> Value {
    json!({
        "session_id": s.session_id,
        "operator_id": s.operator_id,
        "station_id": s.station_id,
        "equipment_id": s.equipment_id,
        "connector_id": s.connector_id,
        "start_ts": s.start_ts.as_micros(),
        "end_ts": s.end_ts.as_micros(),
        "received_at": s.received_at.as_micros(),
        "energy_kwh": s.energy_kwh,
        "fee_total": s.fee_total,
        "stop_reason": s.stop_reason,
        "id_tag": s.id_tag,
        "source": s.source,
    })
}

/// Field access for the stored outputs; `None` means the JSON is not what this module wrote.
struct Fields<'a>(&'a Value);

impl Fields<'_> {
    fn text(&self, name: &str) -> Option<String> {
        self.0.get(name)?.as_str().map(str::to_owned)
    }

    fn opt_text(&self, name: &str) -> Option<Option<String>> {
        match self.0.get(name)? {
            Value::Null => Some(None),
            v => v.as_str().map(|s| Some(s.to_owned())),
        }
    }

    fn time(&self, name: &str) -> Option<Timestamp> {
        self.0.get(name)?.as_i64().map(Timestamp::from_micros)
    }

    fn num(&self, name: &str) -> Option<Option<f64>> {
        match self.0.get(name)? {
            Value::Null => Some(None),
            v => v.as_f64().map(Some),
        }
    }
}

fn status_from_json(v: &Value) -> Option<ConnectorStatus> {
    let f = Fields(v);
    Some(ConnectorStatus {
        operator_id: f.text("operator_id")?,
        station_id: f.text("station_id")?,
        equipment_id: f.text("equipment_id")?,
        connector_id: f.text("connector_id")?,
        ts: f.time("ts")?,
        received_at: f.time("received_at")?,
        status: ConnectorState::parse(&f.text("status")?)?,
        raw_status: f.text("raw_status")?,
        source: f.text("source")?,
        power_kw: f.num("power_kw")?,
        soc_pct: f.num("soc_pct")?,
    })
}

fn session_from_json(v: &Value) -> Option<ChargingSession> {
    let f = Fields(v);
    Some(ChargingSession {
        session_id: f.text("session_id")?,
        operator_id: f.text("operator_id")?,
        station_id: f.text("station_id")?,
        equipment_id: f.text("equipment_id")?,
        connector_id: f.text("connector_id")?,
        start_ts: f.time("start_ts")?,
        end_ts: f.time("end_ts")?,
        received_at: f.time("received_at")?,
        energy_kwh: f.num("energy_kwh")?,
        fee_total: f.num("fee_total")?,
        stop_reason: f.opt_text("stop_reason")?,
        id_tag: f.opt_text("id_tag")?,
        source: f.text("source")?,
    })
}

fn store_outputs(tx: &Transaction<'_>, lsn: i64, out: &ChargingApplied) -> rusqlite::Result<()> {
    let mut stmt =
        tx.prepare("INSERT INTO charging_out (lsn, seq, kind, json) VALUES (?1, ?2, ?3, ?4)")?;
    let rows = out
        .statuses
        .iter()
        .map(|s| (KIND_STATUS, status_to_json(s)))
        .chain(
            out.sessions
                .iter()
                .map(|s| (KIND_SESSION, session_to_json(s))),
        );
    for (seq, (kind, json)) in rows.enumerate() {
        stmt.execute(params![lsn, seq as i64, kind, json.to_string()])?;
    }
    Ok(())
}

fn cursor(tx: &Transaction<'_>) -> rusqlite::Result<i64> {
    Ok(tx
        .query_row(
            "SELECT position FROM cursors WHERE name = ?1",
            [CHARGING_CURSOR],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

impl Catalog {
    /// Applies committed charging records in one transaction and returns, per record and in
    /// order, the rows it adds to the lake (see the module documentation for what each event
    /// does).
    ///
    /// A record at or below the `charging` cursor was applied before (a WAL replay after a
    /// restart): it changes nothing, and its outputs are the ones stored when it was first
    /// applied — empty once [`Catalog::prune_charging_out`] removed them, which the caller does
    /// only for records the lake has in Parquet and therefore ignores.
    pub fn apply_charging(
        &self,
        batch: &[ChargingRecord<'_>],
    ) -> Result<Vec<(u64, ChargingApplied)>> {
        let mut conn = self.lock_conn();
        let tx = conn.transaction().map_err(sqlite(&self.path))?;
        let mut applied = cursor(&tx).map_err(sqlite(&self.path))?;
        let mut results = Vec::with_capacity(batch.len());
        for record in batch {
            let lsn = i64::try_from(record.lsn).map_err(|_| CatalogError::Corrupt {
                path: self.path.clone(),
                what: format!("charging record LSN {} is out of range", record.lsn),
            })?;
            let out = if lsn <= applied {
                self.stored_outputs(&tx, lsn)?
            } else {
                let mut out = ChargingApplied::default();
                for event in record.events {
                    apply_event(&tx, event, record.received_at, record.org, &mut out)
                        .map_err(sqlite(&self.path))?;
                }
                store_outputs(&tx, lsn, &out).map_err(sqlite(&self.path))?;
                applied = lsn;
                out
            };
            results.push((record.lsn, out));
        }
        tx.execute(
            "INSERT INTO cursors (name, position) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            params![CHARGING_CURSOR, applied],
        )
        .map_err(sqlite(&self.path))?;
        tx.commit().map_err(sqlite(&self.path))?;
        Ok(results)
    }

    fn stored_outputs(&self, tx: &Transaction<'_>, lsn: i64) -> Result<ChargingApplied> {
        let mut stmt = tx
            .prepare("SELECT seq, kind, json FROM charging_out WHERE lsn = ?1 ORDER BY seq")
            .map_err(sqlite(&self.path))?;
        let rows = stmt
            .query_map([lsn], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(sqlite(&self.path))?;
        let mut out = ChargingApplied::default();
        for row in rows {
            let (seq, kind, text) = row.map_err(sqlite(&self.path))?;
            let corrupt = || CatalogError::Corrupt {
                path: self.path.clone(),
                what: format!("charging output ({lsn}, {seq}) of kind {kind:?} does not parse"),
            };
            let value: Value = serde_json::from_str(&text).map_err(|_| corrupt())?;
            match kind.as_str() {
                KIND_STATUS => out
                    .statuses
                    .push(status_from_json(&value).ok_or_else(corrupt)?),
                KIND_SESSION => out
                    .sessions
                    .push(session_from_json(&value).ok_or_else(corrupt)?),
                _ => return Err(corrupt()),
            }
        }
        Ok(out)
    }

    /// The stored outputs of every applied record with an LSN above `after_lsn`, in LSN order,
    /// without changing anything (records without outputs are left out). `haihe sql` overlays
    /// these on a read-only lake opened alongside a running server: pass the lake's flushed LSN.
    pub fn charging_outputs_after(&self, after_lsn: u64) -> Result<Vec<(u64, ChargingApplied)>> {
        let after = i64::try_from(after_lsn).unwrap_or(i64::MAX);
        let mut conn = self.lock_conn();
        // A read transaction: one consistent view of every LSN's rows.
        let tx = conn.transaction().map_err(sqlite(&self.path))?;
        let lsns: Vec<i64> = {
            let mut stmt = tx
                .prepare("SELECT DISTINCT lsn FROM charging_out WHERE lsn > ?1 ORDER BY lsn")
                .map_err(sqlite(&self.path))?;
            let rows = stmt
                .query_map([after], |r| r.get(0))
                .map_err(sqlite(&self.path))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(sqlite(&self.path))?
        };
        let mut out = Vec::with_capacity(lsns.len());
        for lsn in lsns {
            out.push((lsn as u64, self.stored_outputs(&tx, lsn)?));
        }
        Ok(out)
    }

    /// Writes stations the configuration defines (OCPP sites), outside the record stream: they
    /// are the operator's settings, not data a peer sent, so they need no replay.
    pub fn upsert_stations(&self, stations: &[Station], now: Timestamp) -> Result<()> {
        let mut conn = self.lock_conn();
        let tx = conn.transaction().map_err(sqlite(&self.path))?;
        let mut unused = ChargingApplied::default();
        for s in stations {
            apply_event(
                &tx,
                &ChargingEvent::Station(s.clone()),
                now,
                None,
                &mut unused,
            )
            .map_err(sqlite(&self.path))?;
        }
        tx.commit().map_err(sqlite(&self.path))
    }

    /// Deletes the stored outputs of records with an LSN below `upto_lsn` (pass the lake's
    /// flushed LSN: the lake ignores those records on replay); returns how many rows went.
    pub fn prune_charging_out(&self, upto_lsn: u64) -> Result<usize> {
        let upto = i64::try_from(upto_lsn).unwrap_or(i64::MAX);
        self.lock_conn()
            .execute("DELETE FROM charging_out WHERE lsn < ?1", [upto])
            .map_err(sqlite(&self.path))
    }

    /// Forgets finished sessions that ended before `before`: a copy of such a session sent
    /// again after that is emitted again. Returns how many went.
    pub fn prune_charging_done(&self, before: Timestamp) -> Result<usize> {
        self.lock_conn()
            .execute(
                "DELETE FROM charging_done WHERE end_ts < ?1",
                [before.as_micros()],
            )
            .map_err(sqlite(&self.path))
    }

    /// The registry's stations, of one operator and/or one organisation when given, ordered by
    /// operator and station id.
    pub fn stations(
        &self,
        operator_id: Option<&str>,
        org: Option<&str>,
    ) -> Result<Vec<StationRecord>> {
        let conn = self.lock_conn();
        let mut stmt = conn
            .prepare(
                "SELECT operator_id, station_id, name, lon, lat, district, connectors,
                        rated_power_kw, source, org, updated_at
                 FROM stations
                 WHERE (?1 IS NULL OR operator_id = ?1) AND (?2 IS NULL OR org = ?2)
                 ORDER BY operator_id, station_id",
            )
            .map_err(sqlite(&self.path))?;
        let rows = stmt
            .query_map(params![operator_id, org], |r| {
                Ok(StationRecord {
                    station: Station {
                        operator_id: r.get(0)?,
                        station_id: r.get(1)?,
                        name: r.get(2)?,
                        lon: r.get(3)?,
                        lat: r.get(4)?,
                        district: r.get(5)?,
                        connectors: r.get(6)?,
                        rated_power_kw: r.get(7)?,
                        source: r.get(8)?,
                    },
                    org: r.get(9)?,
                    updated_at: Timestamp::from_micros(r.get(10)?),
                })
            })
            .map_err(sqlite(&self.path))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sqlite(&self.path))
    }

    /// The registry's chargers, ordered by operator and equipment id.
    pub fn chargers(&self) -> Result<Vec<ChargerRecord>> {
        let conn = self.lock_conn();
        let mut stmt = conn
            .prepare(
                "SELECT operator_id, station_id, equipment_id, power_kw, connectors, commissioned,
                        model, source, first_seen, updated_at
                 FROM chargers ORDER BY operator_id, equipment_id",
            )
            .map_err(sqlite(&self.path))?;
        let rows = stmt
            .query_map([], |r| {
                let connectors: String = r.get(4)?;
                let connectors: Vec<String> = serde_json::from_str(&connectors).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        4,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?;
                Ok(ChargerRecord {
                    charger: Charger {
                        operator_id: r.get(0)?,
                        station_id: r.get(1)?,
                        equipment_id: r.get(2)?,
                        power_kw: r.get(3)?,
                        connectors,
                        commissioned: r.get(5)?,
                        model: r.get(6)?,
                        source: r.get(7)?,
                    },
                    first_seen: Timestamp::from_micros(r.get(8)?),
                    updated_at: Timestamp::from_micros(r.get(9)?),
                })
            })
            .map_err(sqlite(&self.path))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sqlite(&self.path))
    }

    /// The latest state of every connector (in `status`, of one operator, when given), ordered
    /// by operator and connector id.
    pub fn connectors(
        &self,
        status: Option<ConnectorState>,
        operator_id: Option<&str>,
    ) -> Result<Vec<ConnectorRecord>> {
        let conn = self.lock_conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {CONNECTOR_COLUMNS} FROM connectors
                 WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR operator_id = ?2)
                 ORDER BY operator_id, connector_id"
            ))
            .map_err(sqlite(&self.path))?;
        let rows = stmt
            .query_map(
                params![status.map(ConnectorState::as_str), operator_id],
                connector_from_row,
            )
            .map_err(sqlite(&self.path))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sqlite(&self.path))
    }

    /// Every open session, oldest start first.
    pub fn open_sessions(&self) -> Result<Vec<OpenSession>> {
        let conn = self.lock_conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {OPEN_COLUMNS} FROM charging_open
                 ORDER BY start_ts, operator_id, session_id"
            ))
            .map_err(sqlite(&self.path))?;
        let rows = stmt
            .query_map([], open_from_row)
            .map_err(sqlite(&self.path))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sqlite(&self.path))
    }

    /// A new OCPP 1.6 `transactionId` for a `StartTransaction`: positive, never handed out
    /// before (AUTOINCREMENT never reuses an id, even after deletes), at most `i32::MAX`.
    pub fn allocate_ocpp_transaction(
        &self,
        charge_point: &str,
        connector_id: i32,
        id_tag: &str,
        now: Timestamp,
    ) -> Result<i32> {
        let mut conn = self.lock_conn();
        let tx = conn.transaction().map_err(sqlite(&self.path))?;
        tx.execute(
            "INSERT INTO ocpp_transactions (charge_point, connector_id, id_tag, created_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![charge_point, connector_id, id_tag, now.as_micros()],
        )
        .map_err(sqlite(&self.path))?;
        let id = tx.last_insert_rowid();
        let Ok(id) = i32::try_from(id) else {
            // Rolled back on drop: the table does not fill with ids nobody can use.
            return Err(CatalogError::Corrupt {
                path: self.path.clone(),
                what: format!("OCPP transaction ids are exhausted (next would be {id})"),
            });
        };
        tx.commit().map_err(sqlite(&self.path))?;
        Ok(id)
    }

    /// Remembers a T/CEC access token issued to `operator_id` until `expires_at`. Only its
    /// SHA-256 is stored (like API tokens). Tokens expired by the system clock are deleted (only
    /// housekeeping: [`Catalog::tcec_token_operator`] decides by the `now` it is given), and an
    /// operator keeps at most [`MAX_TCEC_TOKENS_PER_OPERATOR`] (the ones expiring last).
    pub fn store_tcec_token(
        &self,
        operator_id: &str,
        token: &str,
        expires_at: Timestamp,
    ) -> Result<()> {
        let mut conn = self.lock_conn();
        let tx = conn.transaction().map_err(sqlite(&self.path))?;
        tx.execute(
            "DELETE FROM tcec_tokens WHERE expires_at <= ?1",
            [super::now_micros()],
        )
        .map_err(sqlite(&self.path))?;
        tx.execute(
            "INSERT OR REPLACE INTO tcec_tokens (token_hash, operator_id, expires_at)
             VALUES (?1, ?2, ?3)",
            params![
                hash_token(token).as_slice(),
                operator_id,
                expires_at.as_micros()
            ],
        )
        .map_err(sqlite(&self.path))?;
        tx.execute(
            "DELETE FROM tcec_tokens WHERE operator_id = ?1 AND token_hash NOT IN (
                 SELECT token_hash FROM tcec_tokens WHERE operator_id = ?1
                 ORDER BY expires_at DESC, token_hash LIMIT ?2)",
            params![operator_id, MAX_TCEC_TOKENS_PER_OPERATOR as i64],
        )
        .map_err(sqlite(&self.path))?;
        tx.commit().map_err(sqlite(&self.path))
    }

    /// The operator a T/CEC token was issued to, if the token is known and not expired at `now`.
    pub fn tcec_token_operator(&self, token: &str, now: Timestamp) -> Result<Option<String>> {
        self.lock_conn()
            .query_row(
                "SELECT operator_id FROM tcec_tokens WHERE token_hash = ?1 AND expires_at > ?2",
                params![hash_token(token).as_slice(), now.as_micros()],
                |r| r.get(0),
            )
            .optional()
            .map_err(sqlite(&self.path))
    }
}

#[cfg(test)]
mod tests;
