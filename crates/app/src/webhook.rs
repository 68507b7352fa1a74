//! Webhook delivery of alarm changes: one thread per configured webhook reads the catalog's outbox
//! in `event_id` order and POSTs each change of at least `min_level`, signed, retrying with
//! exponential back-off while the receiver is down.
//!
//! Delivery is at-least-once and in order: the webhook's cursor (`webhook:NAME` in the catalog)
//! moves past an event only after the receiver answered 2xx (or refused it for good, see below),
//! so neither a receiver that is down for minutes nor a server restart loses a change. A crash
//! between the receiver's answer and the cursor update sends that one change again; receivers
//! drop repeats by `X-Haihe-Event-Id`.
//!
//! Each request carries:
//! - `X-Haihe-Event-Id`: the change's `event_id`; `X-Haihe-Event`: `opened`, `level_changed`,
//!   `acknowledged` or `closed`;
//! - `X-Haihe-Timestamp`: Unix seconds when this attempt was signed;
//! - `X-Haihe-Signature: sha256=HEX`, HMAC-SHA256 with the webhook's secret over
//!   `TIMESTAMP + "." + BODY`, so a receiver can check both origin and freshness.
//!
//! A 4xx answer other than 408 and 429 means the receiver will never take this body; retrying
//! would block every later change, so the change is skipped, logged and counted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use model::AlarmNotice;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use sha2::Sha256;
use store::catalog::Catalog;

use crate::config::Webhook;

/// Wakes the deliverers when changes were stored, instead of polling the catalog.
#[derive(Debug, Default)]
pub(crate) struct Doorbell {
    rings: Mutex<u64>,
    cv: Condvar,
}

impl Doorbell {
    pub(crate) fn ring(&self) {
        let mut n = self.rings.lock().unwrap_or_else(|e| e.into_inner());
        *n += 1;
        self.cv.notify_all();
    }

    /// Waits until the bell rang after `seen` rings, or `timeout`; returns the ring count.
    fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let guard = self.rings.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = self
            .cv
            .wait_timeout_while(guard, timeout, |n| *n == seen)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    webhook: String,
    outcome: &'static str,
}

/// `haihe_webhook_deliveries_total{webhook, outcome}`: `delivered`, `retried`, `refused`
/// (a 4xx, skipped), `filtered` (below `min_level`).
#[derive(Debug, Clone, Default)]
pub(crate) struct WebhookMetrics {
    deliveries: Family<DeliveryLabels, Counter>,
}

impl WebhookMetrics {
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "haihe_webhook_deliveries",
            "Alarm changes sent to webhooks, by outcome",
            m.deliveries.clone(),
        );
        m
    }

    fn count(&self, webhook: &str, outcome: &'static str) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                webhook: webhook.to_owned(),
                outcome,
            })
            .inc();
    }
}

/// The catalog cursor holding the last change webhook `name` took.
pub(crate) fn cursor_name(name: &str) -> String {
    format!("webhook:{name}")
}

/// The signature header value for `body` signed at `timestamp`.
pub(crate) fn signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// What one attempt gave.
enum Attempt {
    Delivered,
    /// Try again later (network error, timeout, 5xx, 408, 429).
    Retry(String),
    /// The receiver refused this change for good.
    Refused(u16),
}

/// One webhook's deliverer.
pub(crate) struct Deliverer {
    hook: Webhook,
    catalog: Arc<Catalog>,
    bell: Arc<Doorbell>,
    metrics: WebhookMetrics,
    shutdown: Arc<AtomicBool>,
    agent: ureq::Agent,
}

impl Deliverer {
    pub(crate) fn new(
        hook: Webhook,
        catalog: Arc<Catalog>,
        bell: Arc<Doorbell>,
        metrics: WebhookMetrics,
        shutdown: Arc<AtomicBool>,
    ) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(hook.timeout_secs.max(1))))
            .build()
            .into();
        Self {
            hook,
            catalog,
            bell,
            metrics,
            shutdown,
            agent,
        }
    }

    fn cursor_name(&self) -> String {
        cursor_name(&self.hook.name)
    }

    /// Runs until shutdown. A webhook seen for the first time starts at the newest change: it
    /// receives what happens from now on, not the platform's whole history.
    pub(crate) fn run(self) {
        let name = self.cursor_name();
        let mut cursor = loop {
            match self.catalog.cursor(&name) {
                Ok(Some(c)) => break c,
                Ok(None) => match self
                    .catalog
                    .last_alarm_event_id()
                    .and_then(|last| self.catalog.set_cursor(&name, last).map(|()| last))
                {
                    Ok(last) => break last,
                    Err(e) => {
                        tracing::error!(webhook = %self.hook.name, error = %e, "webhook cursor");
                    }
                },
                Err(e) => {
                    tracing::error!(webhook = %self.hook.name, error = %e, "webhook cursor");
                }
            }
            if self.sleep(Duration::from_secs(1)) {
                return;
            }
        };
        let mut rings = 0;
        while !self.shutdown.load(Ordering::Acquire) {
            let notices = match self.catalog.alarm_notices_after(cursor, 256) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(webhook = %self.hook.name, error = %e, "reading the alarm outbox");
                    Vec::new()
                }
            };
            if notices.is_empty() {
                rings = self.bell.wait(rings, Duration::from_secs(1));
                continue;
            }
            for n in notices {
                if !self.deliver(&n) {
                    return; // shutting down; the cursor stays before `n`
                }
                cursor = n.event_id;
                if let Err(e) = self.catalog.set_cursor(&name, cursor) {
                    tracing::error!(webhook = %self.hook.name, error = %e, "saving the webhook cursor");
                }
            }
        }
    }

    /// Delivers one change, retrying until it is delivered or refused; `false` on shutdown.
    fn deliver(&self, n: &AlarmNotice) -> bool {
        if n.alarm.level < self.hook.min_level {
            self.metrics.count(&self.hook.name, "filtered");
            return true;
        }
        let body = match serde_json::to_vec(n) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "serialising an alarm notice");
                return true;
            }
        };
        let mut backoff = Duration::from_secs(1);
        let max = Duration::from_secs(self.hook.max_backoff_secs.max(1));
        loop {
            if self.shutdown.load(Ordering::Acquire) {
                return false;
            }
            match self.attempt(n, &body) {
                Attempt::Delivered => {
                    self.metrics.count(&self.hook.name, "delivered");
                    return true;
                }
                Attempt::Refused(status) => {
                    tracing::warn!(webhook = %self.hook.name, event_id = n.event_id, status, "webhook refused an alarm change; skipped");
                    self.metrics.count(&self.hook.name, "refused");
                    return true;
                }
                Attempt::Retry(why) => {
                    tracing::warn!(webhook = %self.hook.name, event_id = n.event_id, retry_in = ?backoff, %why, "webhook delivery failed");
                    self.metrics.count(&self.hook.name, "retried");
                    if self.sleep(backoff) {
                        return false;
                    }
                    backoff = (backoff * 2).min(max);
                }
            }
        }
    }

    fn attempt(&self, n: &AlarmNotice, body: &[u8]) -> Attempt {
        let timestamp = crate::platform::now().as_micros().max(0) as u64 / 1_000_000;
        let result = self
            .agent
            .post(&self.hook.url)
            .header("Content-Type", "application/json")
            .header("User-Agent", concat!("haihe/", env!("CARGO_PKG_VERSION")))
            .header("X-Haihe-Event-Id", n.event_id.to_string())
            .header("X-Haihe-Event", n.change.as_str())
            .header("X-Haihe-Timestamp", timestamp.to_string())
            .header(
                "X-Haihe-Signature",
                signature(&self.hook.secret, timestamp, body),
            )
            .send(body);
        match result {
            Ok(r) => {
                let status = r.status().as_u16();
                match status {
                    200..=299 => Attempt::Delivered,
                    408 | 429 => Attempt::Retry(format!("HTTP {status}")),
                    400..=499 => Attempt::Refused(status),
                    _ => Attempt::Retry(format!("HTTP {status}")),
                }
            }
            Err(e) => Attempt::Retry(e.to_string()),
        }
    }

    /// Sleeps in short steps; `true` if shutdown came first.
    fn sleep(&self, d: Duration) -> bool {
        let step = Duration::from_millis(100);
        let mut left = d;
        while !left.is_zero() {
            if self.shutdown.load(Ordering::Acquire) {
                return true;
            }
            let s = left.min(step);
            std::thread::sleep(s);
            left -= s;
        }
        self.shutdown.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // The documented construction, computed independently of `signature`.
        let sig = signature("Jefe", 1_700_000_000, b"{\"a\":1}");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"1700000000.{\"a\":1}");
        assert_eq!(
            sig,
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        );
        assert_ne!(sig, signature("Jefe", 1_700_000_001, b"{\"a\":1}"));
        assert_ne!(sig, signature("jefe", 1_700_000_000, b"{\"a\":1}"));
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn doorbell_wakes_a_waiter_and_times_out_without_a_ring() {
        let bell = Arc::new(Doorbell::default());
        assert_eq!(bell.wait(0, Duration::from_millis(10)), 0);
        let b = Arc::clone(&bell);
        let t = std::thread::spawn(move || b.wait(0, Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(50));
        bell.ring();
        assert_eq!(t.join().unwrap(), 1);
    }
}
