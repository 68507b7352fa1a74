//! What the CSMS asks the platform about chargers: who may connect and where they are, the
//! transaction ids it hands out, which id tags may charge, and each site's power limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};

use model::Timestamp;

/// The answer to a connecting charger.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// Unknown charger or wrong password: the handshake is answered 401.
    Refused,
    /// The charger may connect; `site` is its station id and orderly-charging group, `priority`
    /// its sessions' rank when a site's limit cannot serve everyone (higher first).
    Admitted { site: String, priority: i32 },
}

/// The platform's registry of OCPP chargers, implemented by the binary on its configuration and
/// catalog. Called from async tasks: implementations must not block for long.
pub trait ChargerDirectory: Send + Sync {
    /// Security profile 1: `password` is what HTTP Basic auth carried (the raw octets; `None`
    /// when the handshake had no `Authorization` header).
    fn admit(&self, charge_point: &str, password: Option<&[u8]>) -> Admission;

    /// A new 1.6 transaction id (positive, unique across the platform and restarts).
    fn allocate_transaction(
        &self,
        charge_point: &str,
        connector_id: i32,
        id_tag: &str,
        now: Timestamp,
    ) -> Result<i32, String>;

    /// May this id tag charge? Accepts every tag unless overridden.
    fn authorize(&self, id_tag: &str) -> bool {
        let _ = id_tag;
        true
    }

    /// The site's power limit for orderly charging at `now`, in kW; `None` leaves the site's
    /// chargers uncontrolled.
    fn site_limit(&self, site: &str, now: Timestamp) -> Option<f64>;

    /// The most one session on this charger can draw, in kW; `None` uses
    /// [`super::CsmsOptions::default_session_max_kw`].
    fn charger_max_kw(&self, charge_point: &str) -> Option<f64> {
        let _ = charge_point;
        None
    }
}

/// One registered charger of a [`MemoryDirectory`].
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryCharger {
    /// `None` admits the charger without a password (security profile 0, for tests).
    pub password: Option<Vec<u8>>,
    pub site: String,
    pub priority: i32,
    pub max_kw: Option<f64>,
}

/// A directory held in memory: for tests and as the reference of the trait's behaviour.
#[derive(Debug)]
pub struct MemoryDirectory {
    chargers: Mutex<HashMap<String, MemoryCharger>>,
    limits: Mutex<HashMap<String, f64>>,
    refused_tags: Mutex<Vec<String>>,
    /// Chargers not registered are refused unless this is true.
    open: bool,
    next_tx: AtomicI32,
}

impl MemoryDirectory {
    /// An empty directory; `open` admits unknown chargers without a password to site `open`.
    pub fn new(open: bool) -> Self {
        Self {
            chargers: Mutex::new(HashMap::new()),
            limits: Mutex::new(HashMap::new()),
            refused_tags: Mutex::new(Vec::new()),
            open,
            next_tx: AtomicI32::new(1),
        }
    }

    pub fn add_charger(&self, id: &str, charger: MemoryCharger) {
        self.chargers
            .lock()
            .expect("directory lock")
            .insert(id.to_owned(), charger);
    }

    pub fn set_site_limit(&self, site: &str, limit_kw: Option<f64>) {
        let mut limits = self.limits.lock().expect("directory lock");
        match limit_kw {
            Some(l) => limits.insert(site.to_owned(), l),
            None => limits.remove(site),
        };
    }

    pub fn refuse_tag(&self, tag: &str) {
        self.refused_tags
            .lock()
            .expect("directory lock")
            .push(tag.to_owned());
    }
}

impl ChargerDirectory for MemoryDirectory {
    fn admit(&self, charge_point: &str, password: Option<&[u8]>) -> Admission {
        let chargers = self.chargers.lock().expect("directory lock");
        match chargers.get(charge_point) {
            Some(c) => match &c.password {
                Some(want) if password != Some(want.as_slice()) => Admission::Refused,
                _ => Admission::Admitted {
                    site: c.site.clone(),
                    priority: c.priority,
                },
            },
            None if self.open => Admission::Admitted {
                site: "open".to_owned(),
                priority: 0,
            },
            None => Admission::Refused,
        }
    }

    fn allocate_transaction(
        &self,
        _charge_point: &str,
        _connector_id: i32,
        _id_tag: &str,
        _now: Timestamp,
    ) -> Result<i32, String> {
        let id = self.next_tx.fetch_add(1, Ordering::Relaxed);
        if id <= 0 {
            return Err("transaction ids exhausted".to_owned());
        }
        Ok(id)
    }

    fn authorize(&self, id_tag: &str) -> bool {
        !self
            .refused_tags
            .lock()
            .expect("directory lock")
            .iter()
            .any(|t| t == id_tag)
    }

    fn site_limit(&self, site: &str, _now: Timestamp) -> Option<f64> {
        self.limits
            .lock()
            .expect("directory lock")
            .get(site)
            .copied()
    }

    fn charger_max_kw(&self, charge_point: &str) -> Option<f64> {
        self.chargers
            .lock()
            .expect("directory lock")
            .get(charge_point)
            .and_then(|c| c.max_kw)
    }
}
