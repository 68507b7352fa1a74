//! The API's charging reads: stations, connectors and chargers from the catalog, connector
//! changes and sessions from the lake, each filtered by operator, station, district, status and
//! the principal's organisation.
//!
//! An org principal sees the operators configured with its organisation (`[[tcec.peers]] org`)
//! and the stations the catalog records with it; the city's own OCPP chargers belong to no
//! organisation.

use std::collections::{BTreeMap, HashSet};

use api::{BackendError, ChargerView, ChargingFilter, ConnectorView, StationView};
use gateway::ocpp::CallFailure;
use model::{ChargingSession, ConnectorStatus, OCPP_OPERATOR, Timestamp};
use store::catalog::CatalogError;
use store::lake::LakeError;

use crate::backend::PlatformBackend;

fn internal(e: CatalogError) -> BackendError {
    BackendError::Internal(e.to_string())
}

fn lake_error(e: LakeError) -> BackendError {
    BackendError::Internal(e.to_string())
}

/// Which operators a filter lets through.
struct Scope {
    operator: Option<String>,
    /// `Some` for an org principal: only these operators.
    allowed: Option<HashSet<String>>,
    station: Option<String>,
}

impl Scope {
    fn passes(&self, operator_id: &str, station_id: &str) -> bool {
        self.operator.as_deref().is_none_or(|o| o == operator_id)
            && self
                .allowed
                .as_ref()
                .is_none_or(|a| a.contains(operator_id))
            && self.station.as_deref().is_none_or(|s| s == station_id)
    }
}

impl PlatformBackend {
    fn scope(&self, f: &ChargingFilter) -> Result<Scope, BackendError> {
        let allowed = match &f.org {
            None => None,
            Some(org) => {
                let mut ops: HashSet<String> = self
                    .0
                    .operator_orgs
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .iter()
                    .filter(|(_, o)| *o == org)
                    .map(|(op, _)| op.clone())
                    .collect();
                ops.extend(
                    self.0
                        .catalog
                        .stations(None, Some(org))
                        .map_err(internal)?
                        .into_iter()
                        .map(|s| s.station.operator_id),
                );
                Some(ops)
            }
        };
        Ok(Scope {
            operator: f.operator.clone(),
            allowed,
            station: f.station.clone(),
        })
    }

    pub(crate) fn charging_stations(
        &self,
        f: &ChargingFilter,
    ) -> Result<Vec<StationView>, BackendError> {
        let scope = self.scope(f)?;
        let mut states: BTreeMap<(String, String), BTreeMap<String, usize>> = BTreeMap::new();
        for c in self
            .0
            .catalog
            .connectors(None, f.operator.as_deref())
            .map_err(internal)?
        {
            let s = c.status;
            *states
                .entry((s.operator_id, s.station_id))
                .or_default()
                .entry(s.status.as_str().to_owned())
                .or_default() += 1;
        }
        Ok(self
            .0
            .catalog
            .stations(f.operator.as_deref(), None)
            .map_err(internal)?
            .into_iter()
            .filter(|r| {
                let s = &r.station;
                scope.passes(&s.operator_id, &s.station_id)
                    && f.district
                        .as_ref()
                        .is_none_or(|d| s.district.as_ref() == Some(d))
            })
            .map(|r| {
                let key = (r.station.operator_id.clone(), r.station.station_id.clone());
                StationView {
                    connector_states: states.remove(&key).unwrap_or_default(),
                    station: r.station,
                    org: r.org,
                    updated_at: r.updated_at,
                }
            })
            .collect())
    }

    pub(crate) fn charging_connectors(
        &self,
        f: &ChargingFilter,
    ) -> Result<Vec<ConnectorView>, BackendError> {
        let scope = self.scope(f)?;
        Ok(self
            .0
            .catalog
            .connectors(f.status, f.operator.as_deref())
            .map_err(internal)?
            .into_iter()
            .filter(|c| scope.passes(&c.status.operator_id, &c.status.station_id))
            .map(|c| ConnectorView {
                status: c.status,
                session_id: c.session_id,
            })
            .collect())
    }

    pub(crate) fn charging_chargers(
        &self,
        f: &ChargingFilter,
    ) -> Result<Vec<ChargerView>, BackendError> {
        let scope = self.scope(f)?;
        let connected = self.connected_chargers();
        Ok(self
            .0
            .catalog
            .chargers()
            .map_err(internal)?
            .into_iter()
            .filter(|c| scope.passes(&c.charger.operator_id, &c.charger.station_id))
            .map(|c| {
                let ocpp = c.charger.operator_id == OCPP_OPERATOR;
                ChargerView {
                    connected: ocpp.then(|| connected.contains(&c.charger.equipment_id)),
                    charger: c.charger,
                    first_seen: c.first_seen,
                }
            })
            .collect())
    }

    /// Ids of the OCPP chargers connected now.
    fn connected_chargers(&self) -> HashSet<String> {
        self.0
            .csms
            .connected()
            .into_iter()
            .map(|c| c.charge_point)
            .collect()
    }

    pub(crate) async fn charging_sessions_between(
        &self,
        from: Timestamp,
        to: Timestamp,
        f: ChargingFilter,
        limit: usize,
    ) -> Result<Vec<ChargingSession>, BackendError> {
        let scope = self.scope(&f)?;
        let rows = self
            .0
            .lake
            .sessions_between(from, to, f.operator.as_deref(), usize::MAX)
            .await
            .map_err(lake_error)?;
        Ok(rows
            .into_iter()
            .filter(|s| scope.passes(&s.operator_id, &s.station_id))
            .take(limit)
            .collect())
    }

    pub(crate) async fn connector_changes_between(
        &self,
        from: Timestamp,
        to: Timestamp,
        f: ChargingFilter,
    ) -> Result<Vec<ConnectorStatus>, BackendError> {
        let scope = self.scope(&f)?;
        let rows = self
            .0
            .lake
            .connector_status_between(from, to, f.operator.as_deref())
            .await
            .map_err(lake_error)?;
        Ok(rows
            .into_iter()
            .filter(|c| scope.passes(&c.operator_id, &c.station_id))
            .collect())
    }

    /// Each configured site: its limit now, the tariff, the sessions' shares and the power its
    /// connectors report.
    pub(crate) fn charging_sites(&self) -> Result<serde_json::Value, BackendError> {
        let connectors = self
            .0
            .catalog
            .connectors(None, Some(OCPP_OPERATOR))
            .map_err(internal)?;
        let sites: Vec<serde_json::Value> = self
            .0
            .config
            .sites
            .iter()
            .map(|site| {
                let schedule = self.0.csms.site_schedule(&site.id);
                let measured: f64 = connectors
                    .iter()
                    .filter(|c| c.status.station_id == site.id)
                    .filter_map(|c| c.status.power_kw)
                    .sum();
                serde_json::json!({
                    "id": site.id,
                    "name": site.name,
                    "max_power_kw": site.max_power_kw,
                    "limit_kw": schedule.limit_kw,
                    "allocated_kw": schedule.total_kw,
                    "measured_kw": measured,
                    "tariff": site.tariff.iter().map(|p| serde_json::json!({
                        "from": p.from, "to": p.to, "price": p.price, "max_power_kw": p.max_power_kw,
                    })).collect::<Vec<_>>(),
                    "sessions": schedule.sessions.iter().map(|s| serde_json::json!({
                        "charge_point": s.charge_point,
                        "connector": s.connector,
                        "transaction_id": s.transaction_id,
                        "limit_kw": s.kw,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        Ok(serde_json::json!({ "sites": sites }))
    }

    /// One OCPP call to a connected charger, in the charger's version.
    pub(crate) async fn command(
        &self,
        charger: String,
        action: String,
        payload: serde_json::Value,
    ) -> Result<serde_json::Value, BackendError> {
        let csms = &self.0.csms;
        let Some(info) = csms
            .connected()
            .into_iter()
            .find(|c| c.charge_point == charger)
        else {
            return Err(BackendError::NotFound(format!(
                "connected charger {charger}"
            )));
        };
        let request = proto_ocpp::decode_call(info.version, &action, payload).map_err(|e| {
            BackendError::BadRequest(format!("{action} for OCPP {}: {e}", info.version))
        })?;
        match csms.call(&charger, request).await {
            Ok(response) => Ok(response.to_payload()),
            Err(CallFailure::NotConnected(_)) => Err(BackendError::NotFound(format!(
                "connected charger {charger}"
            ))),
            Err(CallFailure::Timeout) => Err(BackendError::Unavailable(format!(
                "charger {charger} did not answer in time"
            ))),
            Err(e) => Err(BackendError::Conflict(e.to_string())),
        }
    }
}
