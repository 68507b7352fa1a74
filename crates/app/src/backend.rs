//! The API's view of the platform: `api::Backend` over the catalog, live state and lake.
//!
//! A vehicle's id in the API is its VIN or, for a JT/T 808 terminal, its terminal id; live state
//! and `positions` key a terminal by its terminal id until the registry knows its VIN, so every
//! per-vehicle lookup tries both ids the registry links.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use api::{
    AlarmFilter, AlarmStateFilter, Backend, BackendError, BoxFuture, ChargerView, ChargingFilter,
    ConnectorView, DayMileage, Drive, FleetCounts, Page, Principal, QueryResult, Role, StationView,
    StreamEvent, TrackPoint, Trip, TripEnd, VehicleFilter, VehicleState, VehicleStatus,
};
use model::{Alarm, ChargingSession, ConnectorStatus, Timestamp, VehicleInfo, VehicleSample};
use pipeline::{Latest, LiveEntry};
use store::catalog::{AckOutcome, AlarmQuery, CatalogError, StateFilter};
use store::lake::LakeError;

use crate::platform::{Platform, now};

pub(crate) struct PlatformBackend(pub(crate) Arc<Platform>);

fn lake_error(e: LakeError) -> BackendError {
    match e {
        LakeError::NotReadOnly(_) | LakeError::Query(_) => BackendError::BadRequest(e.to_string()),
        other => BackendError::Internal(other.to_string()),
    }
}

/// Live state's latest report as the API shows it.
fn state_of(latest: Latest) -> VehicleState {
    match latest {
        Latest::Sample(s) => VehicleState::Sample(s),
        Latest::Fleet(r) => VehicleState::Fleet(r),
    }
}

impl PlatformBackend {
    /// What trips and mileage are computed from: the rows of every id the vehicle goes by.
    async fn drive_data(
        &self,
        id: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<store::lake::DriveData, BackendError> {
        let ids = self.ids_of(id);
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        self.0
            .lake
            .drive_data(&ids, from, to)
            .await
            .map_err(lake_error)
    }

    fn registry(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, VehicleInfo>> {
        self.0
            .registry
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The registry entry of a VIN or terminal id.
    fn registered(&self, id: &str) -> Option<VehicleInfo> {
        let registry = self.registry();
        registry.get(id).cloned().or_else(|| {
            registry
                .values()
                .find(|v| v.terminal_id.as_deref() == Some(id))
                .cloned()
        })
    }

    /// Every id a vehicle's data may be stored under: `id`, and the VIN or terminal id the
    /// registry links to it.
    fn ids_of(&self, id: &str) -> Vec<String> {
        let mut ids = vec![id.to_owned()];
        if let Some(r) = self.registered(id) {
            for other in std::iter::once(r.vin).chain(r.terminal_id) {
                if !ids.contains(&other) {
                    ids.push(other);
                }
            }
        }
        ids
    }

    /// Live state of a vehicle: under its VIN, or under its terminal id while its reports did not
    /// carry the VIN yet.
    fn live_of(&self, id: &str, registry: Option<&VehicleInfo>) -> Option<LiveEntry> {
        self.0.live.get(id).or_else(|| {
            let r = registry?;
            [Some(r.vin.as_str()), r.terminal_id.as_deref()]
                .into_iter()
                .flatten()
                .filter(|other| *other != id)
                .find_map(|other| self.0.live.get(other))
        })
    }

    fn status(&self, id: &str, registry: Option<VehicleInfo>, t: Timestamp) -> VehicleStatus {
        let live = self.live_of(id, registry.as_ref());
        VehicleStatus {
            vin: id.to_owned(),
            online: live.as_ref().is_some_and(|e| self.0.live.is_online(e, t)),
            last_seen: live.as_ref().map(|e| e.last_seen),
            registry,
            state: live.and_then(|e| e.latest).map(state_of),
        }
    }

    fn org_of(&self, vin: &str, registry: Option<&VehicleInfo>) -> Option<String> {
        registry
            .and_then(|r| r.owner_org.clone())
            .or_else(|| self.0.live.get(vin).and_then(|e| e.org))
    }
}

impl Backend for PlatformBackend {
    fn authenticate(&self, token: &str) -> Option<Principal> {
        let (id, role_name, org) = self.0.catalog.token_grant(token)?;
        let role = match role_name.as_str() {
            "admin" => Role::Admin,
            "operator" => Role::Operator,
            "org" => Role::Org,
            _ => return None,
        };
        let subject = match &org {
            Some(org) => format!("token {id} ({role_name} {org})"),
            None => format!("token {id} ({role_name})"),
        };
        Some(Principal { role, org, subject })
    }

    fn ready(&self) -> bool {
        self.0.ready.load(Ordering::Acquire)
    }

    fn metrics(&self) -> String {
        let p = &self.0;
        let mut out = String::new();
        if prometheus_client::encoding::text::encode_registry(&mut out, &p.metrics_registry)
            .is_err()
        {
            out.clear();
        }
        let wal = p.wal.stats();
        let t = now();
        let gauges: [(&str, &str, f64); 10] = [
            (
                "haihe_wal_records",
                "Records appended to the WAL",
                wal.records as f64,
            ),
            (
                "haihe_wal_bytes_written",
                "Bytes written to the WAL",
                wal.bytes_written as f64,
            ),
            (
                "haihe_wal_fsyncs",
                "WAL fsyncs (group commits)",
                wal.fsyncs as f64,
            ),
            (
                "haihe_wal_fsync_seconds",
                "Time spent in WAL fsyncs",
                wal.fsync_time.as_secs_f64(),
            ),
            (
                "haihe_wal_durable_lsn",
                "Highest durable WAL position",
                wal.durable_lsn as f64,
            ),
            (
                "haihe_pipeline_in_flight_bytes",
                "Bytes between gateway and store",
                p.pipeline.in_flight_bytes() as f64,
            ),
            (
                "haihe_store_buffered_rows",
                "Rows in memory, not yet in Parquet",
                p.lake.buffered_rows() as f64,
            ),
            (
                "haihe_store_buffered_bytes",
                "Bytes in memory, not yet in Parquet",
                p.lake.buffered_bytes() as f64,
            ),
            (
                "haihe_vehicles_known",
                "Vehicles with live state",
                p.live.len() as f64,
            ),
            (
                "haihe_vehicles_online",
                "Vehicles online now",
                p.live.online_count(t) as f64,
            ),
        ];
        // The registry's text ends with "# EOF"; our gauges go before it.
        let eof = out.rfind("# EOF").unwrap_or(out.len());
        out.truncate(eof);
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}.\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out.push_str("# EOF\n");
        out
    }

    fn vehicles(&self, filter: VehicleFilter) -> Result<Page<VehicleStatus>, BackendError> {
        let t = now();
        let registry = self.registry().clone();
        // A live entry under a registered terminal id is that VIN's vehicle.
        let by_terminal: HashMap<&str, &str> = registry
            .values()
            .filter_map(|v| Some((v.terminal_id.as_deref()?, v.vin.as_str())))
            .collect();
        let mut vins: Vec<String> = registry.keys().cloned().collect();
        vins.extend(self.0.live.snapshot().into_iter().map(|(id, _)| {
            by_terminal
                .get(id.as_str())
                .map_or(id, |vin| (*vin).to_owned())
        }));
        vins.sort();
        vins.dedup();
        let mut items = Vec::new();
        for vin in vins {
            let reg = registry.get(&vin);
            if let Some(org) = &filter.org
                && self.org_of(&vin, reg).as_ref() != Some(org)
            {
                continue;
            }
            if let Some(cat) = &filter.category
                && reg.and_then(|r| r.category.as_ref()) != Some(cat)
            {
                continue;
            }
            let status = self.status(&vin, reg.cloned(), t);
            if filter.online.is_some_and(|o| o != status.online) {
                continue;
            }
            items.push(status);
        }
        let total = items.len();
        let items = items
            .into_iter()
            .skip(filter.offset)
            .take(filter.limit)
            .collect();
        Ok(Page { items, total })
    }

    fn vehicle(&self, vin: &str) -> Result<VehicleStatus, BackendError> {
        let reg = self.registered(vin);
        if reg.is_none() && self.0.live.get(vin).is_none() {
            return Err(BackendError::NotFound(format!("vehicle {vin}")));
        }
        Ok(self.status(vin, reg, now()))
    }

    fn samples(
        &self,
        vin: String,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<VehicleSample>, BackendError>> {
        Box::pin(async move {
            self.0
                .lake
                .samples(&vin, from, to, limit)
                .await
                .map_err(lake_error)
        })
    }

    fn track(
        &self,
        vin: String,
        from: Timestamp,
        to: Timestamp,
    ) -> BoxFuture<'_, Result<Vec<TrackPoint>, BackendError>> {
        Box::pin(async move {
            let ids = self.ids_of(&vin);
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let points = self
                .0
                .lake
                .track_of(&ids, from, to)
                .await
                .map_err(lake_error)?;
            Ok(points
                .into_iter()
                .map(|(ts, lon, lat, speed_kmh)| TrackPoint {
                    ts,
                    lon,
                    lat,
                    speed_kmh,
                })
                .collect())
        })
    }

    fn trips(
        &self,
        id: String,
        from: Timestamp,
        to: Timestamp,
    ) -> BoxFuture<'_, Result<Drive<Trip>, BackendError>> {
        Box::pin(async move {
            let data = self.drive_data(&id, from, to).await?;
            let end = |ts: Timestamp, at: Option<(f64, f64)>| TripEnd {
                ts,
                lon: at.map(|p| p.0),
                lat: at.map(|p| p.1),
            };
            let items = data
                .trips()
                .into_iter()
                .map(|t| Trip {
                    start: end(t.start, t.start_position),
                    end: end(t.end, t.end_position),
                    distance_km: t.distance_km,
                    duration_secs: t.duration_secs,
                    max_speed_kmh: t.max_speed_kmh,
                    avg_speed_kmh: t.avg_speed_kmh,
                    distance_from: t.distance_from.as_str().to_owned(),
                    complete: t.complete,
                })
                .collect();
            Ok(Drive {
                source: data.table.map(str::to_owned),
                items,
            })
        })
    }

    fn mileage(
        &self,
        id: String,
        from: Timestamp,
        to: Timestamp,
    ) -> BoxFuture<'_, Result<Drive<DayMileage>, BackendError>> {
        Box::pin(async move {
            let data = self.drive_data(&id, from, to).await?;
            let items = data
                .daily_mileage(from, to)
                .into_iter()
                .map(|d| DayMileage {
                    date: d.date,
                    distance_km: d.distance_km,
                    trips: d.trips,
                    distance_from: d.distance_from.as_str().to_owned(),
                })
                .collect();
            Ok(Drive {
                source: data.table.map(str::to_owned),
                items,
            })
        })
    }

    fn fleet_counts(
        &self,
        from: Timestamp,
        to: Timestamp,
        org: Option<String>,
    ) -> BoxFuture<'_, Result<FleetCounts, BackendError>> {
        Box::pin(async move {
            let active: BTreeSet<String> = self
                .0
                .lake
                .active_entities(from, to)
                .await
                .map_err(lake_error)?;
            let registry: Vec<VehicleInfo> = self.registry().values().cloned().collect();
            Ok(api::count_fleet(&registry, &active, org.as_deref()))
        })
    }

    fn sql(
        &self,
        _principal: Principal,
        sql: String,
    ) -> BoxFuture<'_, Result<QueryResult, BackendError>> {
        Box::pin(async move {
            let registry: Vec<VehicleInfo> = self.registry().values().cloned().collect();
            // The alarms table is read from the catalog only for queries that can use it.
            let alarms = if sql.to_ascii_lowercase().contains("alarms") {
                self.0
                    .catalog
                    .query_alarms(&all_alarms())
                    .map_err(internal)?
                    .0
            } else {
                Vec::new()
            };
            let stations = if sql.to_ascii_lowercase().contains("stations") {
                self.0.catalog.stations(None, None).map_err(internal)?
            } else {
                Vec::new()
            };
            let tables = store::lake::CatalogTables {
                vehicles: &registry,
                alarms: &alarms,
                stations: &stations,
            };
            let batches = self
                .0
                .lake
                .sql_with(&sql, &tables)
                .await
                .map_err(lake_error)?;
            let (columns, rows) = store::lake::batches_to_json(&batches).map_err(lake_error)?;
            Ok(QueryResult { columns, rows })
        })
    }

    fn upsert_vehicles(&self, entries: Vec<VehicleInfo>) -> Result<usize, BackendError> {
        // The catalog, not the in-memory copy: `haihe fleet import` may have written since.
        let existing = self.0.catalog.vehicles().map_err(internal)?;
        if let Some((i, message)) = crate::fleet::terminal_conflicts(&existing, &entries)
            .into_iter()
            .next()
        {
            return Err(BackendError::BadRequest(format!(
                "entries[{i}].terminal_id: {message}"
            )));
        }
        let n = self
            .0
            .catalog
            .upsert_vehicles(&entries)
            .map_err(|e| BackendError::Internal(e.to_string()))?;
        self.0
            .reload_registry()
            .map_err(|e| BackendError::Internal(e.to_string()))?;
        Ok(n)
    }

    fn alarms(&self, f: AlarmFilter) -> Result<Page<Alarm>, BackendError> {
        let q = AlarmQuery {
            from: f.from,
            to: f.to,
            entity: f.entity,
            kind: f.kind,
            min_level: f.min_level,
            state: f.state.map(|s| match s {
                AlarmStateFilter::Open => StateFilter::Open,
                AlarmStateFilter::Unacked => StateFilter::Unacked,
                AlarmStateFilter::Acknowledged => StateFilter::Acknowledged,
                AlarmStateFilter::Closed => StateFilter::Closed,
            }),
            org: f.org,
            limit: f.limit,
            offset: f.offset,
        };
        let (items, total) = self.0.catalog.query_alarms(&q).map_err(internal)?;
        Ok(Page { items, total })
    }

    fn alarm(&self, id: i64) -> Result<Alarm, BackendError> {
        self.0
            .catalog
            .alarm(id)
            .map_err(internal)?
            .ok_or_else(|| BackendError::NotFound(format!("alarm {id}")))
    }

    fn ack_alarm(
        &self,
        id: i64,
        by: String,
        comment: Option<String>,
    ) -> Result<Alarm, BackendError> {
        match self
            .0
            .catalog
            .ack_alarm(id, &by, comment.as_deref(), now())
            .map_err(internal)?
        {
            AckOutcome::Acknowledged(notice) => {
                let alarm = notice.alarm.clone();
                let _ = self.0.stream.send(StreamEvent::Alarm(Arc::new(notice)));
                self.0.bell.ring();
                Ok(alarm)
            }
            AckOutcome::NotFound => Err(BackendError::NotFound(format!("alarm {id}"))),
            AckOutcome::AlreadyAcknowledged(a) => Err(BackendError::Conflict(format!(
                "alarm {id} was acknowledged by {} at {}",
                a.acked_by.as_deref().unwrap_or("someone"),
                a.acked_at.map(|t| t.to_string()).unwrap_or_default()
            ))),
        }
    }

    fn stations(&self, filter: &ChargingFilter) -> Result<Vec<StationView>, BackendError> {
        self.charging_stations(filter)
    }

    fn connectors(&self, filter: &ChargingFilter) -> Result<Vec<ConnectorView>, BackendError> {
        self.charging_connectors(filter)
    }

    fn chargers(&self, filter: &ChargingFilter) -> Result<Vec<ChargerView>, BackendError> {
        self.charging_chargers(filter)
    }

    fn charging_sessions(
        &self,
        from: Timestamp,
        to: Timestamp,
        filter: ChargingFilter,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ChargingSession>, BackendError>> {
        Box::pin(self.charging_sessions_between(from, to, filter, limit))
    }

    fn connector_changes(
        &self,
        from: Timestamp,
        to: Timestamp,
        filter: ChargingFilter,
    ) -> BoxFuture<'_, Result<Vec<ConnectorStatus>, BackendError>> {
        Box::pin(self.connector_changes_between(from, to, filter))
    }

    fn sites(&self) -> Result<serde_json::Value, BackendError> {
        self.charging_sites()
    }

    fn charger_command(
        &self,
        charger: String,
        action: String,
        payload: serde_json::Value,
    ) -> BoxFuture<'_, Result<serde_json::Value, BackendError>> {
        Box::pin(self.command(charger, action, payload))
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<StreamEvent> {
        self.0.stream.subscribe()
    }
}

fn internal(e: CatalogError) -> BackendError {
    BackendError::Internal(e.to_string())
}

/// Every alarm, for the SQL table.
pub(crate) fn all_alarms() -> AlarmQuery {
    AlarmQuery {
        limit: usize::MAX,
        ..AlarmQuery::default()
    }
}
