//! Charging analytics, computed from rows: utilisation, availability, faults, energy, sessions
//! and average power per station, district or operator; and data completeness per operator.
//!
//! Pure functions over what the backend read (the `connector_status` changes around the period,
//! the latest state of every connector, the sessions that ended in the period, the stations), so
//! they are tested with tables of rows and any backend gives the same answers.
//!
//! A connector's state holds from one change to the next. Its state at `from` is its last change
//! before `from`; when there is none and it did not change in the period, its latest known state
//! held all along; otherwise the time until its first change is *unknown* and counts in neither
//! numerator nor denominator. Shares are over the *observed* time: `utilisation` is time charging / observed,
//! `availability` is time in service (available, occupied, charging, reserved) / observed.

use std::collections::{BTreeMap, HashMap};

use model::{ChargingSession, ConnectorState, ConnectorStatus, Station, Timestamp};
use serde::Serialize;

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Station,
    District,
    Operator,
}

impl GroupBy {
    pub const ALL: [GroupBy; 3] = [Self::Station, Self::District, Self::Operator];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Station => "station",
            Self::District => "district",
            Self::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// The figures of one group over the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GroupStats {
    /// `operator_id/station_id`, the district (or `unknown`), or the operator id.
    pub key: String,
    /// The station's name (station grouping only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub connectors: usize,
    /// Connector-hours with a known state.
    pub observed_hours: f64,
    pub charging_hours: f64,
    /// `charging_hours / observed_hours`; `null` when nothing was observed.
    pub utilisation: Option<f64>,
    /// In-service hours / observed hours; `null` when nothing was observed.
    pub availability: Option<f64>,
    /// Changes into `faulted` during the period.
    pub faults: usize,
    /// Sessions that ended in the period.
    pub sessions: usize,
    pub energy_kwh: f64,
    /// Energy / charging duration of those sessions; `null` without a session of known length.
    pub avg_power_kw: Option<f64>,
}

/// Everything the analytics read.
#[derive(Debug, Clone, Copy)]
pub struct ChargingRows<'a> {
    pub stations: &'a [Station],
    /// The latest state of every connector (the catalog's `connectors`).
    pub latest: &'a [ConnectorStatus],
    /// `connector_status` rows from before `from` (to find the state at `from`) up to `to`.
    pub changes: &'a [ConnectorStatus],
    /// Sessions that ended in `[from, to)`.
    pub sessions: &'a [ChargingSession],
}

type ConnectorKey<'a> = (&'a str, &'a str);

#[derive(Debug, Clone, Copy, Default)]
struct Extra {
    session_hours: f64,
    timed_energy_kwh: f64,
    in_service_hours: f64,
}

/// Per connector: seconds per state over `[from, to)` and faults.
#[derive(Debug, Default)]
struct Timeline {
    secs: HashMap<ConnectorState, f64>,
    faults: usize,
    /// Times a charging spell ended (charging → anything else) in the period.
    charging_spells: usize,
}

fn timelines<'a>(
    rows: &ChargingRows<'a>,
    from: Timestamp,
    to: Timestamp,
) -> HashMap<ConnectorKey<'a>, Timeline> {
    let mut by_connector: HashMap<ConnectorKey<'a>, Vec<&'a ConnectorStatus>> = HashMap::new();
    for c in rows.changes {
        by_connector
            .entry((c.operator_id.as_str(), c.connector_id.as_str()))
            .or_default()
            .push(c);
    }
    let mut out = HashMap::new();
    for latest in rows.latest {
        let key = (latest.operator_id.as_str(), latest.connector_id.as_str());
        let mut changes = by_connector.remove(&key).unwrap_or_default();
        changes.sort_by_key(|c| c.ts);
        let mut t = Timeline::default();
        let before = changes.iter().rev().find(|c| c.ts < from).map(|c| c.status);
        let changed_in_period = changes.iter().any(|c| c.ts >= from && c.ts < to);
        // No change before `from` in what was read: the latest state held all along if nothing
        // changed during the period either; otherwise the time before the first change is unknown.
        let mut state = before.or((!changed_in_period).then_some(latest.status));
        let mut at = from;
        for c in changes.iter().filter(|c| c.ts >= from && c.ts < to) {
            if let Some(s) = state {
                *t.secs.entry(s).or_default() += secs_between(at, c.ts);
                if s == ConnectorState::Charging && c.status != ConnectorState::Charging {
                    t.charging_spells += 1;
                }
            }
            if c.status == ConnectorState::Faulted && state != Some(ConnectorState::Faulted) {
                t.faults += 1;
            }
            state = Some(c.status);
            at = c.ts;
        }
        if let Some(s) = state {
            *t.secs.entry(s).or_default() += secs_between(at, to);
        }
        out.insert(key, t);
    }
    out
}

fn secs_between(a: Timestamp, b: Timestamp) -> f64 {
    (b.as_micros() - a.as_micros()).max(0) as f64 / 1e6
}

/// The figures per group over `[from, to)`, ordered by key.
pub fn charging_stats(
    rows: &ChargingRows<'_>,
    from: Timestamp,
    to: Timestamp,
    by: GroupBy,
) -> Vec<GroupStats> {
    let stations: HashMap<(&str, &str), &Station> = rows
        .stations
        .iter()
        .map(|s| ((s.operator_id.as_str(), s.station_id.as_str()), s))
        .collect();
    // A session or change names its connector; the latest states say which station it is at.
    let station_of: HashMap<ConnectorKey<'_>, &str> = rows
        .latest
        .iter()
        .map(|c| {
            (
                (c.operator_id.as_str(), c.connector_id.as_str()),
                c.station_id.as_str(),
            )
        })
        .collect();
    let key_of = |operator: &str, station: &str| -> (String, Option<String>) {
        match by {
            GroupBy::Operator => (operator.to_owned(), None),
            GroupBy::Station => (
                format!("{operator}/{station}"),
                stations.get(&(operator, station)).map(|s| s.name.clone()),
            ),
            GroupBy::District => (
                stations
                    .get(&(operator, station))
                    .and_then(|s| s.district.clone())
                    .unwrap_or_else(|| "unknown".into()),
                None,
            ),
        }
    };
    let mut groups: BTreeMap<String, GroupStats> = BTreeMap::new();
    // Per group: hours of sessions with a known length, their energy, and in-service hours.
    let mut extra: BTreeMap<String, Extra> = BTreeMap::new();
    for s in rows.stations {
        let (key, name) = key_of(&s.operator_id, &s.station_id);
        groups.entry(key.clone()).or_insert_with(|| GroupStats {
            key,
            name,
            ..GroupStats::default()
        });
    }
    for ((operator, connector), t) in timelines(rows, from, to) {
        let station = station_of
            .get(&(operator, connector))
            .copied()
            .unwrap_or("");
        let (key, name) = key_of(operator, station);
        let g = groups.entry(key.clone()).or_insert_with(|| GroupStats {
            key,
            name,
            ..GroupStats::default()
        });
        g.connectors += 1;
        for (state, secs) in &t.secs {
            let hours = secs / 3600.0;
            g.observed_hours += hours;
            if *state == ConnectorState::Charging {
                g.charging_hours += hours;
            }
        }
        g.faults += t.faults;
        let in_service: f64 = t
            .secs
            .iter()
            .filter(|(s, _)| s.is_in_service())
            .map(|(_, secs)| secs / 3600.0)
            .sum();
        extra.entry(g.key.clone()).or_default().in_service_hours += in_service;
    }
    for s in rows.sessions {
        let station = if s.station_id.is_empty() {
            station_of
                .get(&(s.operator_id.as_str(), s.connector_id.as_str()))
                .copied()
                .unwrap_or("")
        } else {
            s.station_id.as_str()
        };
        let (key, name) = key_of(&s.operator_id, station);
        let g = groups.entry(key.clone()).or_insert_with(|| GroupStats {
            key: key.clone(),
            name,
            ..GroupStats::default()
        });
        g.sessions += 1;
        if let Some(e) = s.energy_kwh {
            g.energy_kwh += e;
            let hours = secs_between(s.start_ts, s.end_ts) / 3600.0;
            if hours > 0.0 {
                let x = extra.entry(key).or_default();
                x.session_hours += hours;
                x.timed_energy_kwh += e;
            }
        }
    }
    for g in groups.values_mut() {
        let x = extra.get(&g.key).copied().unwrap_or_default();
        if g.observed_hours > 0.0 {
            g.utilisation = Some(g.charging_hours / g.observed_hours);
            g.availability = Some(x.in_service_hours / g.observed_hours);
        }
        g.avg_power_kw = (x.session_hours > 0.0).then(|| x.timed_energy_kwh / x.session_hours);
    }
    groups.into_values().collect()
}

/// How complete one operator's data is.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Completeness {
    pub operator_id: String,
    pub stations: usize,
    pub connectors: usize,
    /// Connectors whose latest state is older than the staleness limit.
    pub stale_connectors: usize,
    /// Stations without any connector state.
    pub stations_without_status: usize,
    /// Charging spells that ended in the period (charging → another state).
    pub charging_spells: usize,
    /// Sessions (orders) received that ended in the period.
    pub sessions: usize,
    /// Spells without an order: `charging_spells − sessions` when positive — orders the operator
    /// did not push.
    pub missing_orders: usize,
    /// The newest state received from the operator.
    pub last_status_at: Option<Timestamp>,
}

/// Data completeness per operator over `[from, to)`; a connector is stale when its latest state
/// is older than `stale_before`.
pub fn completeness(
    rows: &ChargingRows<'_>,
    from: Timestamp,
    to: Timestamp,
    stale_before: Timestamp,
) -> Vec<Completeness> {
    let mut out: BTreeMap<&str, Completeness> = BTreeMap::new();
    let mut with_status: HashMap<(&str, &str), bool> = HashMap::new();
    for s in rows.stations {
        let c = out.entry(&s.operator_id).or_insert_with(|| Completeness {
            operator_id: s.operator_id.clone(),
            ..Completeness::default()
        });
        c.stations += 1;
        with_status.insert((&s.operator_id, &s.station_id), false);
    }
    for l in rows.latest {
        let c = out.entry(&l.operator_id).or_insert_with(|| Completeness {
            operator_id: l.operator_id.clone(),
            ..Completeness::default()
        });
        c.connectors += 1;
        if l.ts < stale_before {
            c.stale_connectors += 1;
        }
        c.last_status_at = c.last_status_at.max(Some(l.ts));
        if let Some(seen) = with_status.get_mut(&(l.operator_id.as_str(), l.station_id.as_str())) {
            *seen = true;
        }
    }
    for ((op, _), seen) in &with_status {
        if !seen && let Some(c) = out.get_mut(op) {
            c.stations_without_status += 1;
        }
    }
    for ((op, _), t) in timelines(rows, from, to) {
        if let Some(c) = out.get_mut(op) {
            c.charging_spells += t.charging_spells;
        }
    }
    for s in rows.sessions {
        if let Some(c) = out.get_mut(s.operator_id.as_str()) {
            c.sessions += 1;
        }
    }
    for c in out.values_mut() {
        c.missing_orders = c.charging_spells.saturating_sub(c.sessions);
    }
    out.into_values().collect()
}

#[cfg(test)]
mod tests;
