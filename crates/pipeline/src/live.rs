//! Live state: the latest report of every vehicle, whatever protocol it speaks, and when it was
//! last heard from.
//!
//! Entries are keyed by entity id: the VIN, or for a JT/T 808 terminal whose VIN the registry does
//! not know, its terminal id (`store::lake::fleet_entity_id`, the rule `positions` follows too).
//! When a terminal's VIN becomes known, its entry moves from the terminal id to the VIN.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use model::{FleetReport, Timestamp, VehicleSample};

/// The newest report of a vehicle: a row of `vehicle_samples` (GB/T 32960) or of
/// `fleet_reports` (JT/T 808).
#[derive(Debug, Clone, PartialEq)]
// One per vehicle in a map that is rarely cloned as a whole; boxing the larger row would add an
// allocation to every report applied.
#[allow(clippy::large_enum_variant)]
pub enum Latest {
    Sample(VehicleSample),
    Fleet(FleetReport),
}

impl Latest {
    /// Device time of the report.
    pub fn ts(&self) -> Timestamp {
        match self {
            Self::Sample(s) => s.ts,
            Self::Fleet(r) => r.ts,
        }
    }

    /// The table whose columns the report has.
    pub fn table(&self) -> &'static str {
        match self {
            Self::Sample(_) => "vehicle_samples",
            Self::Fleet(_) => "fleet_reports",
        }
    }

    /// The GB/T 32960 sample, if that is what the report is.
    pub fn as_sample(&self) -> Option<&VehicleSample> {
        match self {
            Self::Sample(s) => Some(s),
            Self::Fleet(_) => None,
        }
    }
}

/// What the platform knows about one vehicle right now.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEntry {
    pub last_seen: Timestamp,
    /// Set by a logout: the vehicle said goodbye, so it is offline whatever the clock says.
    pub logged_out: bool,
    pub org: Option<String>,
    /// The newest report by device time (a late reissue does not replace a newer state).
    pub latest: Option<Latest>,
}

impl LiveEntry {
    fn new(at: Timestamp) -> Self {
        Self {
            last_seen: at,
            logged_out: false,
            org: None,
            latest: None,
        }
    }

    fn heard(&mut self, at: Timestamp, org: Option<&str>) {
        if at >= self.last_seen {
            self.last_seen = at;
            self.logged_out = false;
        }
        if let Some(org) = org {
            self.org = Some(org.to_owned());
        }
    }

    fn offer(&mut self, latest: Latest) {
        if self.latest.as_ref().is_none_or(|l| latest.ts() >= l.ts()) {
            self.latest = Some(latest);
        }
    }

    /// Folds an older entry of the same vehicle (kept under another id) into this one.
    fn absorb(&mut self, other: LiveEntry) {
        if other.last_seen > self.last_seen {
            self.last_seen = other.last_seen;
            self.logged_out = other.logged_out;
        }
        if self.org.is_none() {
            self.org = other.org;
        }
        if let Some(latest) = other.latest {
            self.offer(latest);
        }
    }
}

/// Thread-safe map of entity id → [`LiveEntry`]; `offline_after` decides "online".
#[derive(Debug)]
pub struct LiveState {
    entries: RwLock<HashMap<String, LiveEntry>>,
    offline_after_micros: i64,
}

impl LiveState {
    pub fn new(offline_after_secs: u64) -> Self {
        Self {
            entries: RwLock::default(),
            offline_after_micros: i64::try_from(offline_after_secs)
                .unwrap_or(i64::MAX / 1_000_000)
                .saturating_mul(1_000_000),
        }
    }

    // A panic while holding the lock leaves at worst one entry half-updated; the map stays usable.
    fn write(&self) -> RwLockWriteGuard<'_, HashMap<String, LiveEntry>> {
        self.entries.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<String, LiveEntry>> {
        self.entries.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that `vin` was heard from at `at` (any frame), optionally with a GB/T 32960 sample.
    /// The caller leaves reissued samples out: they are history, not state.
    pub fn touch(
        &self,
        vin: &str,
        at: Timestamp,
        org: Option<&str>,
        sample: Option<VehicleSample>,
    ) {
        let mut map = self.write();
        let e = map
            .entry(vin.to_owned())
            .or_insert_with(|| LiveEntry::new(at));
        e.heard(at, org);
        if let Some(s) = sample {
            e.offer(Latest::Sample(s));
        }
    }

    /// Records a JT/T 808 location report, received at `report.received_at`, under its entity id
    /// (the VIN when known, else the terminal id). A reissued report (a blind-area batch) is
    /// history and changes nothing: the result is `false`.
    pub fn touch_fleet(&self, report: &FleetReport, org: Option<&str>) -> bool {
        if report.reissue {
            return false;
        }
        let id = store::lake::fleet_entity_id(report);
        let mut map = self.write();
        // The registry learnt the terminal's VIN: its entry so far was keyed by terminal id.
        let earlier = if id == report.terminal_id {
            None
        } else {
            map.remove(&report.terminal_id)
        };
        let at = report.received_at;
        let e = map
            .entry(id.to_owned())
            .or_insert_with(|| LiveEntry::new(at));
        if let Some(earlier) = earlier {
            e.absorb(earlier);
        }
        e.heard(at, org);
        e.offer(Latest::Fleet(report.clone()));
        true
    }

    /// Records that a JT/T 808 terminal (or its vehicle) was heard from without a location report
    /// (heartbeat, registration, authentication), under the same id its reports use.
    pub fn touch_terminal(
        &self,
        terminal_id: &str,
        vin: Option<&str>,
        at: Timestamp,
        org: Option<&str>,
    ) {
        self.touch(vin.unwrap_or(terminal_id), at, org, None);
    }

    pub fn logout(&self, vin: &str, at: Timestamp) {
        let mut map = self.write();
        if let Some(e) = map.get_mut(vin)
            && at >= e.last_seen
        {
            e.last_seen = at;
            e.logged_out = true;
        }
    }

    pub fn is_online(&self, e: &LiveEntry, now: Timestamp) -> bool {
        !e.logged_out && now.as_micros() - e.last_seen.as_micros() <= self.offline_after_micros
    }

    /// The entry of an entity id (a VIN or a terminal id).
    pub fn get(&self, id: &str) -> Option<LiveEntry> {
        self.read().get(id).cloned()
    }

    /// All entries, sorted by entity id.
    pub fn snapshot(&self) -> Vec<(String, LiveEntry)> {
        let map = self.read();
        let mut v: Vec<_> = map.iter().map(|(k, e)| (k.clone(), e.clone())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Vehicles online at `now`.
    pub fn online_count(&self, now: Timestamp) -> usize {
        let map = self.read();
        map.values().filter(|e| self.is_online(e, now)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TERMINAL: &str = "13800000001";
    const VIN: &str = "LFLEET00000000001";

    fn report(secs: i64, vin: Option<&str>) -> FleetReport {
        FleetReport {
            terminal_id: TERMINAL.to_owned(),
            vin: vin.map(str::to_owned),
            ts: Timestamp::from_secs(secs),
            received_at: Timestamp::from_secs(secs + 1),
            source: "jt808-2013".to_owned(),
            reissue: false,
            lon: 117.2,
            lat: 39.1,
            speed_kmh: 40.0,
            heading_deg: 90.0,
            alt_m: 3.0,
            alarm_bits: 0,
            status_bits: 3,
            acc_on: true,
            position_valid: true,
            mileage_km: Some(1000.0),
            fuel_l: None,
            recorder_speed_kmh: None,
        }
    }

    fn sample(vin: &str, secs: i64) -> VehicleSample {
        VehicleSample::new(
            vin.parse().expect("vin"),
            Timestamp::from_secs(secs),
            Timestamp::from_secs(secs + 1),
            "gbt32960-2016",
            false,
        )
    }

    #[test]
    fn a_terminal_without_a_vin_is_keyed_by_its_terminal_id() {
        let live = LiveState::new(90);
        assert!(live.touch_fleet(&report(1_000, None), None));
        let e = live.get(TERMINAL).expect("entry");
        assert_eq!(e.last_seen, Timestamp::from_secs(1_001));
        assert!(live.is_online(&e, Timestamp::from_secs(1_091)));
        assert!(!live.is_online(&e, Timestamp::from_secs(1_092)));
        match &e.latest {
            Some(Latest::Fleet(r)) => assert_eq!(r.ts, Timestamp::from_secs(1_000)),
            other => panic!("expected a fleet report, got {other:?}"),
        }
        assert_eq!(e.latest.as_ref().map(Latest::table), Some("fleet_reports"));
        assert!(live.get(VIN).is_none());
    }

    #[test]
    fn reissued_fleet_reports_never_move_live_state() {
        let live = LiveState::new(90);
        let mut blind = report(5_000, None);
        blind.reissue = true;
        assert!(!live.touch_fleet(&blind, None));
        assert!(live.is_empty(), "not even last_seen");
        live.touch_fleet(&report(1_000, None), None);
        assert!(!live.touch_fleet(&blind, None));
        let e = live.get(TERMINAL).expect("entry");
        assert_eq!(e.latest.map(|l| l.ts()), Some(Timestamp::from_secs(1_000)));
        assert_eq!(e.last_seen, Timestamp::from_secs(1_001));
    }

    #[test]
    fn an_older_report_arriving_late_does_not_replace_a_newer_state() {
        let live = LiveState::new(90);
        live.touch_fleet(&report(2_000, None), None);
        live.touch_fleet(&report(1_500, None), Some("fleet-a"));
        let e = live.get(TERMINAL).expect("entry");
        assert_eq!(e.latest.map(|l| l.ts()), Some(Timestamp::from_secs(2_000)));
        assert_eq!(e.org.as_deref(), Some("fleet-a"));
    }

    #[test]
    fn a_terminal_whose_vin_becomes_known_moves_to_its_vin() {
        let live = LiveState::new(90);
        live.touch_fleet(&report(1_000, None), Some("fleet-a"));
        live.touch_fleet(&report(1_030, Some(VIN)), None);
        assert!(live.get(TERMINAL).is_none());
        let e = live.get(VIN).expect("entry");
        assert_eq!(e.org.as_deref(), Some("fleet-a"));
        assert_eq!(e.latest.map(|l| l.ts()), Some(Timestamp::from_secs(1_030)));
        assert_eq!(live.len(), 1);
        live.touch_terminal(TERMINAL, Some(VIN), Timestamp::from_secs(1_100), None);
        assert_eq!(live.len(), 1);
        assert_eq!(
            live.get(VIN).expect("entry").last_seen,
            Timestamp::from_secs(1_100)
        );
    }

    #[test]
    fn both_protocols_share_one_map_and_the_newest_report_wins() {
        let live = LiveState::new(90);
        live.touch(
            VIN,
            Timestamp::from_secs(1_001),
            None,
            Some(sample(VIN, 1_000)),
        );
        live.touch(
            "LA9X",
            Timestamp::from_secs(1_001),
            None,
            Some(sample("LA9X", 1_000)),
        );
        live.touch_fleet(&report(1_010, Some(VIN)), None);
        let e = live.get(VIN).expect("entry");
        assert!(matches!(e.latest, Some(Latest::Fleet(_))));
        live.touch(
            VIN,
            Timestamp::from_secs(1_021),
            None,
            Some(sample(VIN, 1_020)),
        );
        let e = live.get(VIN).expect("entry");
        assert_eq!(
            e.latest.as_ref().and_then(Latest::as_sample).map(|s| s.ts),
            Some(Timestamp::from_secs(1_020))
        );
        let ids: Vec<String> = live.snapshot().into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["LA9X", VIN]);
        assert_eq!(live.online_count(Timestamp::from_secs(1_050)), 2);
    }
}
