//! `GET /api/v1/kpi?from=&to=`: the plan's fleet-electrification targets beside the measured
//! figures (DESIGN.md §1–2: plan task 21 and its goals).
//!
//! ```text
//! {"period": {"from", "to"},
//!  "plan": "…the plan the targets come from…",
//!  "fleet": [{"category",
//!             "registered": {"total", "new_energy", "share"},
//!             "active": {"total", "new_energy", "share"},
//!             "target": {"share", "text", "measured"} | null}],
//!  "totals": {"registered": {…}, "active": {…}, "active_unregistered"}}
//! ```
//!
//! `registered` counts the registry's vehicles per category; `active` those of them with any
//! `vehicle_samples` or `fleet_reports` row in `[from, to)` (matched by VIN or terminal id);
//! `new_energy` those with a `bev`, `phev` or `fcev` powertrain (not `methanol_hybrid`, not
//! `ice`); `share` is `new_energy / total`, `null` when `total` is 0. Every known category is
//! listed (the plan's even when empty), then other categories found in the registry, then
//! `null` for vehicles registered without one. `active_unregistered` counts vehicles and terminals
//! that sent data but are not in the registry (absent for org principals: such vehicles have no
//! owner). An org principal sees its own vehicles only. `charging` counts chargers against the
//! plan's 50 000 ([`charger_kpi`]); `null` when the backend has no charging module.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use axum::Extension;
use axum::Json;
use axum::extract::State;
use model::VehicleInfo;
use serde::Deserialize;
use serde::Serialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::auth::org_scope;
use crate::backend::{
    BackendError, CategoryCount, ChargerView, ChargingFilter, FleetCount, FleetCounts, Principal,
};
use crate::error::ApiError;
use crate::params::{Params, max_range, time_range_with};
use crate::registry::{CATEGORIES, is_new_energy};

/// Without `from`: the 30 days before `to`.
pub(crate) const KPI_DEFAULT_WINDOW_SECS: i64 = 30 * 86_400;
/// The longest period of one KPI request (days).
pub(crate) const KPI_MAX_RANGE_DAYS: i64 = 366;

/// Where the targets come from.
pub const PLAN: &str = "Tianjin new-energy and intelligent connected vehicle plan 2023–2027, \
                        task 21 and goals";

/// One target of the plan for a vehicle category.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlanTarget {
    #[serde(skip)]
    pub category: &'static str,
    /// The new-energy share the plan asks for, when it names a number.
    pub share: Option<f64>,
    /// What the plan says, in its own terms.
    pub text: &'static str,
    /// How Haihe measures progress towards it, and where the measure falls short.
    pub measured: &'static str,
}

const PUBLIC_SECTOR_MEASURE: &str = "share of the category's registered vehicles (and of those \
    active in the period) with a bev, phev or fcev powertrain; the plan counts newly added \
    vehicles, but the registry does not record when a vehicle joined the fleet, so the whole \
    registered fleet of the category is measured";

/// The plan's fleet targets, as data: one per category it names.
pub const PLAN_TARGETS: &[PlanTarget] = &[
    PlanTarget {
        category: "sanitation",
        share: Some(0.8),
        text: "at least 80 % of newly added sanitation vehicles in public sectors are \
               new-energy vehicles",
        measured: PUBLIC_SECTOR_MEASURE,
    },
    PlanTarget {
        category: "logistics",
        share: Some(0.8),
        text: "at least 80 % of newly added logistics vehicles in public sectors are \
               new-energy vehicles",
        measured: PUBLIC_SECTOR_MEASURE,
    },
    PlanTarget {
        category: "postal",
        share: Some(0.8),
        text: "at least 80 % of newly added postal vehicles in public sectors are new-energy \
               vehicles",
        measured: PUBLIC_SECTOR_MEASURE,
    },
    PlanTarget {
        category: "taxi",
        share: None,
        text: "promote new-energy taxis",
        measured: "no numeric share in the plan's text as the project has it; the measured \
                   share of registered and active taxis is shown for tracking",
    },
    PlanTarget {
        category: "heavy_truck",
        share: None,
        text: "promote new-energy heavy trucks, at the port first",
        measured: "no numeric share in the plan's text as the project has it; the registry does \
                   not mark port trucks, so every registered heavy truck is counted",
    },
];

/// Counts the registry per category (only `org`'s vehicles when given) and the vehicles among
/// them that are `active` (any of whose VIN or terminal id is in the set). Backends call this
/// with the registry and `Lake::active_entities` of the period.
pub fn count_fleet(
    registry: &[VehicleInfo],
    active: &BTreeSet<String>,
    org: Option<&str>,
) -> FleetCounts {
    let mut by_category: BTreeMap<Option<&str>, CategoryCount> = BTreeMap::new();
    for v in registry {
        if org.is_some_and(|o| v.owner_org.as_deref() != Some(o)) {
            continue;
        }
        let c = by_category
            .entry(v.category.as_deref())
            .or_insert_with(|| CategoryCount {
                category: v.category.clone(),
                registered: FleetCount::default(),
                active: FleetCount::default(),
            });
        let new_energy = u64::from(is_new_energy(v.powertrain.as_deref()));
        c.registered.total += 1;
        c.registered.new_energy += new_energy;
        let is_active =
            active.contains(&v.vin) || v.terminal_id.as_ref().is_some_and(|t| active.contains(t));
        if is_active {
            c.active.total += 1;
            c.active.new_energy += new_energy;
        }
    }
    let active_unregistered = org.is_none().then(|| {
        let known: HashSet<&str> = registry
            .iter()
            .flat_map(|v| std::iter::once(v.vin.as_str()).chain(v.terminal_id.as_deref()))
            .collect();
        active
            .iter()
            .filter(|id| !known.contains(id.as_str()))
            .count() as u64
    });
    FleetCounts {
        categories: by_category.into_values().collect(),
        active_unregistered,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KpiQuery {
    from: Option<String>,
    to: Option<String>,
}

fn figures(c: FleetCount) -> Value {
    let share = (c.total > 0).then(|| {
        let s = c.new_energy as f64 / c.total as f64;
        (s * 10_000.0).round() / 10_000.0
    });
    json!({ "total": c.total, "new_energy": c.new_energy, "share": share })
}

fn add(a: FleetCount, b: FleetCount) -> FleetCount {
    FleetCount {
        total: a.total + b.total,
        new_energy: a.new_energy + b.new_energy,
    }
}

pub(crate) async fn kpi(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    Params(q): Params<KpiQuery>,
) -> Result<Json<Value>, ApiError> {
    let (from, to) = time_range_with(&q.from, &q.to, backend.now(), KPI_DEFAULT_WINDOW_SECS)?;
    max_range((from, to), KPI_MAX_RANGE_DAYS, "a KPI period")?;
    let org = org_scope(&principal)?.map(str::to_owned);
    let counts = backend.fleet_counts(from, to, org.clone()).await?;
    let filter = ChargingFilter {
        org,
        ..ChargingFilter::default()
    };
    let b = backend.clone();
    let charging = match tokio::task::spawn_blocking(move || b.chargers(&filter)).await {
        Ok(Ok(chargers)) => charger_kpi(&chargers),
        // A backend without the charging module: the fleet figures still stand.
        Ok(Err(BackendError::Unavailable(_))) => Value::Null,
        Ok(Err(e)) => return Err(e.into()),
        Err(e) => return Err(ApiError::Internal(format!("charger count failed: {e}"))),
    };

    // Known categories in their order (all of them, so the plan's targets always show), then
    // the others by name, then the uncategorised.
    let mut rows: Vec<CategoryCount> = CATEGORIES
        .iter()
        .map(|c| CategoryCount {
            category: Some((*c).to_owned()),
            registered: FleetCount::default(),
            active: FleetCount::default(),
        })
        .collect();
    let mut others: Vec<CategoryCount> = Vec::new();
    let mut uncategorised: Option<CategoryCount> = None;
    for c in counts.categories {
        match c.category.as_deref() {
            Some(name) => match rows
                .iter_mut()
                .find(|r| r.category.as_deref() == Some(name))
            {
                Some(row) => {
                    row.registered = add(row.registered, c.registered);
                    row.active = add(row.active, c.active);
                }
                None => others.push(c),
            },
            None => uncategorised = Some(c),
        }
    }
    others.sort_by(|a, b| a.category.cmp(&b.category));
    rows.extend(others);
    rows.extend(uncategorised);

    let (mut registered, mut active) = (FleetCount::default(), FleetCount::default());
    let fleet: Vec<Value> = rows
        .iter()
        .map(|r| {
            registered = add(registered, r.registered);
            active = add(active, r.active);
            let target = PLAN_TARGETS
                .iter()
                .find(|t| Some(t.category) == r.category.as_deref());
            json!({
                "category": r.category,
                "registered": figures(r.registered),
                "active": figures(r.active),
                "target": target,
            })
        })
        .collect();
    let mut totals = json!({ "registered": figures(registered), "active": figures(active) });
    if let Some(n) = counts.active_unregistered {
        totals["active_unregistered"] = json!(n);
    }
    Ok(Json(json!({
        "period": { "from": from, "to": to },
        "plan": PLAN,
        "fleet": fleet,
        "totals": totals,
        "charging": charging,
    })))
}

/// The plan's charger goal.
pub const CHARGER_TARGET: u64 = 50_000;
/// The plan's years: chargers commissioned from the first day of the first to the last day of
/// the last count toward [`CHARGER_TARGET`].
pub const PLAN_YEARS: (u16, u16) = (2023, 2027);

/// The `charging` key of the KPI: chargers commissioned in the plan's years against its goal.
pub fn charger_kpi(chargers: &[ChargerView]) -> Value {
    let mut by_year: BTreeMap<String, u64> = BTreeMap::new();
    let (mut in_plan, mut undated) = (0u64, 0u64);
    for c in chargers {
        let year = c
            .charger
            .commissioned
            .as_deref()
            .and_then(|d| d.get(..4))
            .and_then(|y| y.parse::<u16>().ok());
        match year {
            Some(y) => {
                *by_year.entry(y.to_string()).or_default() += 1;
                if (PLAN_YEARS.0..=PLAN_YEARS.1).contains(&y) {
                    in_plan += 1;
                }
            }
            None => undated += 1,
        }
    }
    json!({
        "chargers": chargers.len(),
        "commissioned_in_plan": in_plan,
        "undated": undated,
        "by_year": by_year,
        "target": {
            "chargers": CHARGER_TARGET,
            "text": "at least 50 000 new charging facilities built by 2027",
            "measured": "chargers (T/CEC equipment and OCPP charge points) whose commissioning \
                date (T/CEC ProductionDate; an OCPP charger's first boot) falls in 2023–2027",
            "progress": ((in_plan as f64 / CHARGER_TARGET as f64) * 10_000.0).round() / 10_000.0,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(
        vin: &str,
        terminal: Option<&str>,
        category: Option<&str>,
        pt: &str,
        org: &str,
    ) -> VehicleInfo {
        VehicleInfo {
            vin: vin.to_owned(),
            terminal_id: terminal.map(str::to_owned),
            plate: None,
            category: category.map(str::to_owned),
            powertrain: Some(pt.to_owned()),
            owner_org: Some(org.to_owned()),
        }
    }

    #[test]
    fn vehicles_are_counted_by_category_powertrain_and_activity() {
        let registry = vec![
            v("S1", Some("1001"), Some("sanitation"), "bev", "city"),
            v("S2", Some("1002"), Some("sanitation"), "ice", "city"),
            v("S3", None, Some("sanitation"), "methanol_hybrid", "city"),
            v("T1", None, Some("taxi"), "phev", "cab-co"),
            v("X1", None, None, "fcev", "cab-co"),
        ];
        // S1 is active by its terminal, T1 by its VIN; 9999 and LUNKNOWN are not registered.
        let active: BTreeSet<String> = ["1001", "T1", "9999", "LUNKNOWN"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let counts = count_fleet(&registry, &active, None);
        let get = |c: Option<&str>| {
            counts
                .categories
                .iter()
                .find(|x| x.category.as_deref() == c)
                .cloned()
                .unwrap()
        };
        let s = get(Some("sanitation"));
        assert_eq!(
            (s.registered, s.active),
            (
                FleetCount {
                    total: 3,
                    new_energy: 1
                },
                FleetCount {
                    total: 1,
                    new_energy: 1
                }
            )
        );
        assert_eq!(get(Some("taxi")).active.new_energy, 1);
        assert_eq!(get(None).registered.new_energy, 1, "fcev is new energy");
        assert_eq!(counts.active_unregistered, Some(2));

        let scoped = count_fleet(&registry, &active, Some("cab-co"));
        assert_eq!(scoped.categories.len(), 2);
        assert_eq!(scoped.active_unregistered, None);
    }

    #[test]
    fn every_target_names_a_known_category() {
        for t in PLAN_TARGETS {
            assert!(CATEGORIES.contains(&t.category), "{}", t.category);
            assert!(t.share.is_none_or(|s| (0.0..=1.0).contains(&s)));
        }
    }

    #[test]
    fn chargers_commissioned_in_the_plan_years_count_toward_its_goal() {
        let charger = |commissioned: Option<&str>| ChargerView {
            charger: model::Charger {
                operator_id: "OP1".into(),
                station_id: "S1".into(),
                equipment_id: "E".into(),
                power_kw: Some(60.0),
                connectors: vec!["C1".into()],
                commissioned: commissioned.map(str::to_owned),
                model: None,
                source: "tcec".into(),
            },
            first_seen: model::Timestamp::from_secs(0),
            connected: None,
        };
        let chargers = [
            charger(Some("2022-12-31")),
            charger(Some("2023-01-01")),
            charger(Some("2025-06-30")),
            charger(Some("2027-12-31")),
            charger(Some("2028-01-01")),
            charger(None),
            charger(Some("garbage")),
        ];
        let k = charger_kpi(&chargers);
        assert_eq!(k["chargers"], 7);
        assert_eq!(k["commissioned_in_plan"], 3);
        assert_eq!(k["undated"], 2);
        assert_eq!(k["by_year"]["2022"], 1);
        assert_eq!(k["by_year"]["2027"], 1);
        assert_eq!(k["target"]["chargers"], 50_000);
        assert_eq!(k["target"]["progress"], 0.0001);
    }
}
