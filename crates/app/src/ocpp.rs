//! Wiring of the CSMS: who may connect (`[ocpp]`, `[[ocpp.chargers]]`), where each charger is
//! (its site), transaction ids from the catalog, and each site's power limit now (`[[sites]]`,
//! with the time-of-use periods that lower it).

use std::collections::HashMap;
use std::sync::Arc;

use gateway::ocpp::{Admission, ChargerDirectory};
use model::{BEIJING_OFFSET_SECS, Timestamp};
use store::catalog::Catalog;

use crate::config::{Ocpp, OcppCharger, Site, TerminalPolicy};

/// The site of chargers that name none.
pub(crate) const DEFAULT_SITE: &str = "default";

/// The `stations` rows of the configured sites: operator [`model::OCPP_OPERATOR`], the site's
/// limit as its rated power, its chargers' connectors unknown until they boot.
pub(crate) fn site_stations(config: &crate::config::Config) -> Vec<model::Station> {
    config
        .sites
        .iter()
        .map(|s| model::Station {
            operator_id: model::OCPP_OPERATOR.to_owned(),
            station_id: s.id.clone(),
            name: s.name.clone().unwrap_or_else(|| s.id.clone()),
            lon: s.lon,
            lat: s.lat,
            district: s.district.clone(),
            connectors: 0,
            rated_power_kw: s.max_power_kw,
            source: "ocpp".to_owned(),
        })
        .collect()
}

/// The CSMS's view of the configuration and catalog.
pub(crate) struct ConfigDirectory {
    admission: TerminalPolicy,
    chargers: HashMap<String, OcppCharger>,
    sites: HashMap<String, Site>,
    catalog: Arc<Catalog>,
}

impl ConfigDirectory {
    pub(crate) fn new(ocpp: &Ocpp, sites: &[Site], catalog: Arc<Catalog>) -> Self {
        Self {
            admission: ocpp.admission,
            chargers: ocpp
                .chargers
                .iter()
                .map(|c| (c.id.clone(), c.clone()))
                .collect(),
            sites: sites.iter().map(|s| (s.id.clone(), s.clone())).collect(),
            catalog,
        }
    }
}

/// Compares without stopping at the first difference.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Minutes since Beijing midnight of `t`.
fn beijing_minute(t: Timestamp) -> i64 {
    (t.as_secs() + i64::from(BEIJING_OFFSET_SECS)).rem_euclid(86_400) / 60
}

/// `HH:MM` as minutes since midnight (`24:00` allowed as the end of the day).
pub(crate) fn parse_hhmm(s: &str) -> Option<i64> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..=24).contains(&h) && (0..60).contains(&m) && h * 60 + m <= 1440).then_some(h * 60 + m)
}

/// The site's limit at `now`: its `max_power_kw`, lowered by a tariff period that covers `now`
/// and sets its own (periods may wrap midnight, e.g. 22:00–06:00).
pub(crate) fn site_limit_at(site: &Site, now: Timestamp) -> f64 {
    let minute = beijing_minute(now);
    site.tariff
        .iter()
        .filter_map(|p| {
            let (from, to) = (parse_hhmm(&p.from)?, parse_hhmm(&p.to)?);
            let inside = if from <= to {
                (from..to).contains(&minute)
            } else {
                minute >= from || minute < to
            };
            inside.then_some(p.max_power_kw?)
        })
        .fold(site.max_power_kw, f64::min)
}

impl ChargerDirectory for ConfigDirectory {
    fn admit(&self, charge_point: &str, password: Option<&[u8]>) -> Admission {
        let entry = self.chargers.get(charge_point);
        let admitted = match (self.admission, entry) {
            // A registered charger presents its password (security profile 1 or 2).
            (_, Some(c)) => match (&c.password, password) {
                (Some(expected), Some(given)) => same_secret(expected.as_bytes(), given),
                (Some(_), None) => false,
                (None, _) => self.admission == TerminalPolicy::Open,
            },
            (TerminalPolicy::Open, None) => true,
            (TerminalPolicy::Registered, None) => false,
        };
        if !admitted {
            return Admission::Refused;
        }
        Admission::Admitted {
            site: entry
                .and_then(|c| c.site.clone())
                .unwrap_or_else(|| DEFAULT_SITE.to_owned()),
            priority: entry.map_or(0, |c| c.priority),
        }
    }

    fn allocate_transaction(
        &self,
        charge_point: &str,
        connector_id: i32,
        id_tag: &str,
        now: Timestamp,
    ) -> Result<i32, String> {
        self.catalog
            .allocate_ocpp_transaction(charge_point, connector_id, id_tag, now)
            .map_err(|e| e.to_string())
    }

    fn site_limit(&self, site: &str, now: Timestamp) -> Option<f64> {
        self.sites.get(site).map(|s| site_limit_at(s, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TariffPeriod;

    fn site(periods: &[(&str, &str, Option<f64>)]) -> Site {
        Site {
            id: "depot-1".into(),
            name: None,
            max_power_kw: 60.0,
            lon: None,
            lat: None,
            district: None,
            tariff: periods
                .iter()
                .map(|(from, to, kw)| TariffPeriod {
                    from: (*from).into(),
                    to: (*to).into(),
                    price: 1.0,
                    max_power_kw: *kw,
                })
                .collect(),
        }
    }

    /// 2026-07-07 at `hh:mm` Beijing time.
    fn beijing(hh: i64, mm: i64) -> Timestamp {
        Timestamp::parse(&format!("2026-07-07T{hh:02}:{mm:02}:00+08:00")).unwrap()
    }

    #[test]
    fn the_limit_follows_the_tariff_periods_that_set_one() {
        let s = site(&[
            ("08:00", "11:00", Some(40.0)),
            ("22:00", "06:00", Some(80.0)),
            ("11:00", "13:00", None),
        ]);
        assert_eq!(site_limit_at(&s, beijing(7, 59)), 60.0);
        assert_eq!(site_limit_at(&s, beijing(8, 0)), 40.0);
        assert_eq!(site_limit_at(&s, beijing(10, 59)), 40.0);
        assert_eq!(
            site_limit_at(&s, beijing(11, 0)),
            60.0,
            "a period without a limit"
        );
        // A higher period limit never raises the site's own.
        assert_eq!(site_limit_at(&s, beijing(23, 30)), 60.0);
        assert_eq!(site_limit_at(&s, beijing(3, 0)), 60.0);
        assert_eq!(parse_hhmm("24:00"), Some(1440));
        assert_eq!(parse_hhmm("24:01"), None);
        assert_eq!(parse_hhmm("7"), None);
    }

    fn directory(admission: TerminalPolicy) -> ConfigDirectory {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(Catalog::open(dir.path().join("catalog.db")).unwrap());
        std::mem::forget(dir);
        let ocpp = Ocpp {
            admission,
            chargers: vec![
                OcppCharger {
                    id: "CP-0001".into(),
                    password: Some("s3cret-pass".into()),
                    site: Some("depot-1".into()),
                    priority: 2,
                },
                OcppCharger {
                    id: "CP-0002".into(),
                    password: None,
                    site: None,
                    priority: 0,
                },
            ],
            ..Ocpp::default()
        };
        ConfigDirectory::new(&ocpp, &[site(&[])], catalog)
    }

    #[test]
    fn registered_chargers_need_their_password() {
        let d = directory(TerminalPolicy::Registered);
        assert_eq!(
            d.admit("CP-0001", Some(b"s3cret-pass")),
            Admission::Admitted {
                site: "depot-1".into(),
                priority: 2
            }
        );
        assert_eq!(d.admit("CP-0001", Some(b"s3cret-pasS")), Admission::Refused);
        assert_eq!(d.admit("CP-0001", None), Admission::Refused);
        assert_eq!(
            d.admit("CP-0002", None),
            Admission::Refused,
            "no password set"
        );
        assert_eq!(d.admit("CP-9999", Some(b"x")), Admission::Refused);
        assert_eq!(d.site_limit("depot-1", beijing(9, 0)), Some(60.0));
        assert_eq!(d.site_limit("elsewhere", beijing(9, 0)), None);
        let a = d
            .allocate_transaction("CP-0001", 1, "TAG", beijing(9, 0))
            .unwrap();
        let b = d
            .allocate_transaction("CP-0001", 1, "TAG", beijing(9, 1))
            .unwrap();
        assert!(a > 0 && b > a);
    }

    #[test]
    fn open_admission_takes_unknown_chargers_but_still_checks_set_passwords() {
        let d = directory(TerminalPolicy::Open);
        assert_eq!(
            d.admit("CP-9999", None),
            Admission::Admitted {
                site: DEFAULT_SITE.into(),
                priority: 0
            }
        );
        assert_eq!(d.admit("CP-0001", Some(b"wrong")), Admission::Refused);
        assert!(matches!(
            d.admit("CP-0002", None),
            Admission::Admitted { .. }
        ));
    }
}
