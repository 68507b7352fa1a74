//! Alarm state in the catalog: the `alarms` table (one row per alarm's life), the `alarm_events`
//! outbox (one row per change, with a snapshot of the alarm after it) and named cursors.
//!
//! Why an outbox: a webhook receiver may be down for minutes and the server may restart, yet each
//! change must reach it. Every change is written in the same transaction as the alarm row it
//! changes, with an increasing `event_id`; a deliverer keeps its position as a cursor in the same
//! database and moves it only after the receiver answered. The API's live stream sends the same
//! notices, so a stream client and a webhook see one history.
//!
//! Why `rules_lsn`: the rules run on committed WAL records. Changes caused by records up to
//! `rules_lsn` are stored; after a restart, the WAL replay feeds older records to the rules only
//! to rebuild their memory, and re-evaluates newer ones for real — so no change is stored twice
//! and none is missed.

use model::{Alarm, AlarmChangeKind, AlarmNotice, AlarmState, Timestamp, alarm::is_critical};
use rusqlite::{OptionalExtension, Transaction, params};

use super::{Catalog, CatalogError, Result, sqlite};

/// The cursor under which the rules' position in the WAL is kept.
pub const RULES_CURSOR: &str = "rules_lsn";

/// One change the rule engine decided, to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmChange<'a> {
    pub entity_id: &'a str,
    pub kind: &'a str,
    pub level: u8,
    pub at: Timestamp,
    /// `Opened`, `LevelChanged` or `Closed` (acknowledgements come from [`Catalog::ack_alarm`]).
    pub change: AlarmChangeKind,
    pub source: &'a str,
    pub detail: &'a str,
    /// Owner organisation of the entity, recorded when the alarm opens.
    pub org: Option<&'a str>,
}

/// Which alarms to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlarmQuery {
    /// Alarms open at or closed after `from`…
    pub from: Option<Timestamp>,
    /// …and opened before `to`.
    pub to: Option<Timestamp>,
    pub entity: Option<String>,
    pub kind: Option<String>,
    pub min_level: Option<u8>,
    pub state: Option<StateFilter>,
    pub org: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

/// The `state` filter of the alarm list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFilter {
    /// Not closed, acknowledged or not.
    Open,
    /// Not closed and not acknowledged.
    Unacked,
    /// Not closed and acknowledged.
    Acknowledged,
    Closed,
}

const ALARM_COLUMNS: &str = "alarm_id, entity_id, kind, level, opened_at, acked_at, acked_by, \
                             ack_comment, closed_at, source, detail, org";

fn alarm_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Alarm> {
    let level: u8 = r.get(3)?;
    let acked_at: Option<i64> = r.get(5)?;
    let closed_at: Option<i64> = r.get(8)?;
    let state = match (closed_at, acked_at) {
        (Some(_), _) => AlarmState::Closed,
        (None, Some(_)) => AlarmState::Acknowledged,
        (None, None) => AlarmState::Open,
    };
    Ok(Alarm {
        alarm_id: r.get(0)?,
        entity_id: r.get(1)?,
        kind: r.get(2)?,
        level,
        critical: is_critical(level),
        state,
        opened_at: Timestamp::from_micros(r.get(4)?),
        acked_at: acked_at.map(Timestamp::from_micros),
        acked_by: r.get(6)?,
        ack_comment: r.get(7)?,
        closed_at: closed_at.map(Timestamp::from_micros),
        source: r.get(9)?,
        detail: r.get(10)?,
        org: r.get(11)?,
    })
}

fn load(tx: &rusqlite::Connection, id: i64) -> rusqlite::Result<Option<Alarm>> {
    tx.query_row(
        &format!("SELECT {ALARM_COLUMNS} FROM alarms WHERE alarm_id = ?1"),
        [id],
        alarm_from_row,
    )
    .optional()
}

/// Appends the outbox row for a change of alarm `id` and returns its notice.
fn record_event(
    tx: &Transaction<'_>,
    id: i64,
    change: AlarmChangeKind,
    at: Timestamp,
) -> rusqlite::Result<Option<AlarmNotice>> {
    let Some(alarm) = load(tx, id)? else {
        return Ok(None);
    };
    let snapshot = serde_json::to_string(&alarm)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    tx.execute(
        "INSERT INTO alarm_events (alarm_id, change, at, snapshot) VALUES (?1, ?2, ?3, ?4)",
        params![id, change.as_str(), at.as_micros(), snapshot],
    )?;
    Ok(Some(AlarmNotice {
        event_id: tx.last_insert_rowid(),
        change,
        at,
        alarm,
    }))
}

fn open_id(tx: &Transaction<'_>, entity: &str, kind: &str) -> rusqlite::Result<Option<i64>> {
    tx.query_row(
        "SELECT alarm_id FROM alarms WHERE entity_id = ?1 AND kind = ?2 AND closed_at IS NULL",
        [entity, kind],
        |r| r.get(0),
    )
    .optional()
}

fn apply_change(tx: &Transaction<'_>, c: &AlarmChange<'_>) -> rusqlite::Result<Option<i64>> {
    let open = open_id(tx, c.entity_id, c.kind)?;
    let at = c.at.as_micros();
    match (c.change, open) {
        (AlarmChangeKind::Opened, None) => {
            tx.execute(
                "INSERT INTO alarms (entity_id, kind, level, opened_at, source, detail, org)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![c.entity_id, c.kind, c.level, at, c.source, c.detail, c.org],
            )?;
            Ok(Some(tx.last_insert_rowid()))
        }
        // Already open (the engine restarted without knowing): keep the row, take the level.
        (AlarmChangeKind::Opened | AlarmChangeKind::LevelChanged, Some(id)) => {
            let changed = tx.execute(
                "UPDATE alarms SET level = ?2, detail = ?3 WHERE alarm_id = ?1 AND level != ?2",
                params![id, c.level, c.detail],
            )?;
            Ok((changed > 0 || c.change == AlarmChangeKind::LevelChanged).then_some(id))
        }
        (AlarmChangeKind::Closed, Some(id)) => {
            tx.execute(
                "UPDATE alarms SET closed_at = ?2 WHERE alarm_id = ?1",
                params![id, at],
            )?;
            Ok(Some(id))
        }
        // Nothing open to change or close, or an acknowledgement (not the engine's to record).
        (AlarmChangeKind::LevelChanged | AlarmChangeKind::Closed, None)
        | (AlarmChangeKind::Acknowledged, _) => Ok(None),
    }
}

/// What acknowledging an alarm did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckOutcome {
    Acknowledged(AlarmNotice),
    NotFound,
    /// It was acknowledged before; the alarm as it is.
    AlreadyAcknowledged(Alarm),
}

impl Catalog {
    /// Records the engine's changes in one transaction, with `rules_lsn` when given, and returns
    /// the notices in order. An `Opened` for an alarm already open only updates its level; a
    /// `Closed` or `LevelChanged` with no open alarm is dropped (both can only follow a restart
    /// that lost the engine's memory, and the table is the truth).
    pub fn record_alarm_changes(
        &self,
        changes: &[AlarmChange<'_>],
        rules_lsn: Option<u64>,
    ) -> Result<Vec<AlarmNotice>> {
        let mut conn = self.lock_conn();
        let tx = conn.transaction().map_err(sqlite(&self.path))?;
        let mut notices = Vec::with_capacity(changes.len());
        for c in changes {
            if let Some(id) = apply_change(&tx, c).map_err(sqlite(&self.path))? {
                let notice = record_event(&tx, id, c.change, c.at).map_err(sqlite(&self.path))?;
                notices.extend(notice);
            }
        }
        if let Some(lsn) = rules_lsn {
            set_cursor(&tx, RULES_CURSOR, lsn as i64).map_err(sqlite(&self.path))?;
        }
        tx.commit().map_err(sqlite(&self.path))?;
        Ok(notices)
    }

    /// Acknowledges alarm `id` at `now` by `by`, open or closed (a closed alarm may still need
    /// someone to confirm it was looked at).
    pub fn ack_alarm(
        &self,
        id: i64,
        by: &str,
        comment: Option<&str>,
        now: Timestamp,
    ) -> Result<AckOutcome> {
        let mut conn = self.lock_conn();
        let tx = conn.transaction().map_err(sqlite(&self.path))?;
        let Some(alarm) = load(&tx, id).map_err(sqlite(&self.path))? else {
            return Ok(AckOutcome::NotFound);
        };
        if alarm.acked_at.is_some() {
            return Ok(AckOutcome::AlreadyAcknowledged(alarm));
        }
        tx.execute(
            "UPDATE alarms SET acked_at = ?2, acked_by = ?3, ack_comment = ?4 WHERE alarm_id = ?1",
            params![id, now.as_micros(), by, comment],
        )
        .map_err(sqlite(&self.path))?;
        let notice = record_event(&tx, id, AlarmChangeKind::Acknowledged, now)
            .map_err(sqlite(&self.path))?;
        tx.commit().map_err(sqlite(&self.path))?;
        Ok(notice.map_or(AckOutcome::NotFound, AckOutcome::Acknowledged))
    }

    /// One alarm.
    pub fn alarm(&self, id: i64) -> Result<Option<Alarm>> {
        load(&self.lock_conn(), id).map_err(sqlite(&self.path))
    }

    /// Every open alarm, for the rule engine at start.
    pub fn open_alarms(&self) -> Result<Vec<Alarm>> {
        self.query_alarms(&AlarmQuery {
            state: Some(StateFilter::Open),
            limit: usize::MAX,
            ..AlarmQuery::default()
        })
        .map(|(items, _)| items)
    }

    /// Alarms matching `q`, newest opened first, and how many match in all.
    pub fn query_alarms(&self, q: &AlarmQuery) -> Result<(Vec<Alarm>, usize)> {
        let mut clauses: Vec<&str> = Vec::new();
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        use rusqlite::types::Value;
        if let Some(from) = q.from {
            clauses.push("(closed_at IS NULL OR closed_at >= ?)");
            args.push(Value::Integer(from.as_micros()));
        }
        if let Some(to) = q.to {
            clauses.push("opened_at < ?");
            args.push(Value::Integer(to.as_micros()));
        }
        if let Some(e) = &q.entity {
            clauses.push("entity_id = ?");
            args.push(Value::Text(e.clone()));
        }
        if let Some(k) = &q.kind {
            clauses.push("kind = ?");
            args.push(Value::Text(k.clone()));
        }
        if let Some(l) = q.min_level {
            clauses.push("level >= ?");
            args.push(Value::Integer(l.into()));
        }
        if let Some(o) = &q.org {
            clauses.push("org = ?");
            args.push(Value::Text(o.clone()));
        }
        match q.state {
            Some(StateFilter::Open) => clauses.push("closed_at IS NULL"),
            Some(StateFilter::Unacked) => clauses.push("closed_at IS NULL AND acked_at IS NULL"),
            Some(StateFilter::Acknowledged) => {
                clauses.push("closed_at IS NULL AND acked_at IS NOT NULL");
            }
            Some(StateFilter::Closed) => clauses.push("closed_at IS NOT NULL"),
            None => {}
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let conn = self.lock_conn();
        let total: i64 = conn
            .query_row(
                &format!("SELECT COUNT(*) FROM alarms{filter}"),
                rusqlite::params_from_iter(args.iter()),
                |r| r.get(0),
            )
            .map_err(sqlite(&self.path))?;
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
        args.push(Value::Integer(limit));
        args.push(Value::Integer(offset));
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {ALARM_COLUMNS} FROM alarms{filter}
                 ORDER BY opened_at DESC, alarm_id DESC LIMIT ? OFFSET ?"
            ))
            .map_err(sqlite(&self.path))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), alarm_from_row)
            .map_err(sqlite(&self.path))?;
        let items = rows
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sqlite(&self.path))?;
        Ok((items, usize::try_from(total).unwrap_or(0)))
    }

    /// Up to `limit` notices with `event_id > after`, oldest first (the outbox, for webhooks).
    pub fn alarm_notices_after(&self, after: i64, limit: usize) -> Result<Vec<AlarmNotice>> {
        let conn = self.lock_conn();
        let mut stmt = conn
            .prepare(
                "SELECT event_id, change, at, snapshot FROM alarm_events
                 WHERE event_id > ?1 ORDER BY event_id LIMIT ?2",
            )
            .map_err(sqlite(&self.path))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![after, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(sqlite(&self.path))?;
        let mut notices = Vec::new();
        for row in rows {
            let (event_id, change, at, snapshot) = row.map_err(sqlite(&self.path))?;
            let change = AlarmChangeKind::parse(&change).ok_or_else(|| CatalogError::Corrupt {
                path: self.path.clone(),
                what: format!("alarm event {event_id} has change {change:?}"),
            })?;
            let alarm = serde_json::from_str(&snapshot).map_err(|e| CatalogError::Corrupt {
                path: self.path.clone(),
                what: format!("alarm event {event_id}: {e}"),
            })?;
            notices.push(AlarmNotice {
                event_id,
                change,
                at: Timestamp::from_micros(at),
                alarm,
            });
        }
        Ok(notices)
    }

    /// The newest `event_id` recorded, 0 when none.
    pub fn last_alarm_event_id(&self) -> Result<i64> {
        self.lock_conn()
            .query_row(
                "SELECT COALESCE(MAX(event_id), 0) FROM alarm_events",
                [],
                |r| r.get(0),
            )
            .map_err(sqlite(&self.path))
    }

    /// Deletes outbox rows up to and including `event_id` (every reader is past them).
    pub fn prune_alarm_events(&self, through: i64) -> Result<usize> {
        self.lock_conn()
            .execute("DELETE FROM alarm_events WHERE event_id <= ?1", [through])
            .map_err(sqlite(&self.path))
    }

    /// A named position (a webhook's delivered event, the rules' WAL position).
    pub fn cursor(&self, name: &str) -> Result<Option<i64>> {
        self.lock_conn()
            .query_row(
                "SELECT position FROM cursors WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()
            .map_err(sqlite(&self.path))
    }

    /// Sets a named position.
    pub fn set_cursor(&self, name: &str, position: i64) -> Result<()> {
        let mut conn = self.lock_conn();
        let tx = conn.transaction().map_err(sqlite(&self.path))?;
        set_cursor(&tx, name, position).map_err(sqlite(&self.path))?;
        tx.commit().map_err(sqlite(&self.path))
    }
}

fn set_cursor(tx: &Transaction<'_>, name: &str, position: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO cursors (name, position) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        params![name, position],
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests;
