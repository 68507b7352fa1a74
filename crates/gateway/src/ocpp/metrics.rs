//! Counters of the CSMS, registered in the platform's Prometheus registry.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct VersionLabel {
    pub(crate) version: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ReasonLabel {
    pub(crate) reason: &'static str,
}

/// `action` is a typed action's name or `other`, so a charger cannot grow the label set.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct CallLabel {
    pub(crate) action: &'static str,
    pub(crate) outcome: &'static str,
}

/// Connections, handshake refusals, and calls in both directions by action and outcome.
#[derive(Debug, Default, Clone)]
pub struct OcppMetrics {
    pub(crate) connections: Family<VersionLabel, Counter>,
    pub(crate) connections_active: Family<VersionLabel, Gauge>,
    pub(crate) refusals: Family<ReasonLabel, Counter>,
    pub(crate) calls: Family<CallLabel, Counter>,
    pub(crate) csms_calls: Family<CallLabel, Counter>,
}

impl OcppMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "haihe_ocpp_connections",
            "OCPP chargers connected, by version",
            m.connections.clone(),
        );
        registry.register(
            "haihe_ocpp_connections_active",
            "OCPP chargers connected now, by version",
            m.connections_active.clone(),
        );
        registry.register(
            "haihe_ocpp_refusals",
            "OCPP handshakes refused, by reason",
            m.refusals.clone(),
        );
        registry.register(
            "haihe_ocpp_calls",
            "Calls from chargers, by action and outcome",
            m.calls.clone(),
        );
        registry.register(
            "haihe_ocpp_csms_calls",
            "The CSMS's calls to chargers, by action and outcome",
            m.csms_calls.clone(),
        );
        m
    }

    /// Calls from chargers counted with this action and outcome so far (for tests).
    pub fn calls(&self, action: &'static str, outcome: &'static str) -> u64 {
        self.calls
            .get_or_create(&CallLabel { action, outcome })
            .get()
    }

    /// Handshakes refused for `reason` so far (`subprotocol`, `unauthorized`, `identity`,
    /// `capacity`).
    pub fn refusals(&self, reason: &'static str) -> u64 {
        self.refusals.get_or_create(&ReasonLabel { reason }).get()
    }
}
