//! Live state: the latest sample of every vehicle and when it was last heard from.

use std::collections::HashMap;
use std::sync::RwLock;

use model::{Timestamp, VehicleSample};

/// What the platform knows about one vehicle right now.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEntry {
    pub last_seen: Timestamp,
    /// Set by a logout: the vehicle said goodbye, so it is offline whatever the clock says.
    pub logged_out: bool,
    pub org: Option<String>,
    /// The newest sample by device time (a late reissue does not replace a newer state).
    pub latest: Option<VehicleSample>,
}

/// Thread-safe map of VIN → [`LiveEntry`]; `offline_after` decides "online".
#[derive(Debug)]
pub struct LiveState {
    entries: RwLock<HashMap<String, LiveEntry>>,
    offline_after_micros: i64,
}

impl LiveState {
    pub fn new(offline_after_secs: u64) -> Self {
        Self {
            entries: RwLock::default(),
            offline_after_micros: offline_after_secs as i64 * 1_000_000,
        }
    }

    /// Records that `vin` was heard from at `at` (any frame), optionally with a sample.
    pub fn touch(
        &self,
        vin: &str,
        at: Timestamp,
        org: Option<&str>,
        sample: Option<VehicleSample>,
    ) {
        let mut map = self.entries.write().expect("live lock");
        let e = map.entry(vin.to_owned()).or_insert_with(|| LiveEntry {
            last_seen: at,
            logged_out: false,
            org: None,
            latest: None,
        });
        if at >= e.last_seen {
            e.last_seen = at;
            e.logged_out = false;
        }
        if let Some(org) = org {
            e.org = Some(org.to_owned());
        }
        if let Some(s) = sample
            && e.latest.as_ref().is_none_or(|l| s.ts >= l.ts)
        {
            e.latest = Some(s);
        }
    }

    pub fn logout(&self, vin: &str, at: Timestamp) {
        let mut map = self.entries.write().expect("live lock");
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

    pub fn get(&self, vin: &str) -> Option<LiveEntry> {
        self.entries.read().expect("live lock").get(vin).cloned()
    }

    /// All entries, sorted by VIN.
    pub fn snapshot(&self) -> Vec<(String, LiveEntry)> {
        let map = self.entries.read().expect("live lock");
        let mut v: Vec<_> = map.iter().map(|(k, e)| (k.clone(), e.clone())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    pub fn len(&self) -> usize {
        self.entries.read().expect("live lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Vehicles online at `now`.
    pub fn online_count(&self, now: Timestamp) -> usize {
        let map = self.entries.read().expect("live lock");
        map.values().filter(|e| self.is_online(e, now)).count()
    }
}
