//! Counters of the T/CEC server and poller, registered in the platform's Prometheus registry.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InterfaceLabel {
    interface: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PollLabel {
    interface: &'static str,
    outcome: &'static str,
}

/// Accepted pushes by interface, refusals by reason, polls by interface and outcome. Cheap to
/// clone (the counters are shared); labels come from fixed lists, so cardinality is bounded.
#[derive(Debug, Clone, Default)]
pub struct TcecMetrics {
    accepted: Family<InterfaceLabel, Counter>,
    refused: Family<ReasonLabel, Counter>,
    polls: Family<PollLabel, Counter>,
}

impl TcecMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "haihe_tcec_accepted",
            "T/CEC 102 requests answered Ret=0 (pushes once durable, tokens issued), by interface",
            self.accepted.clone(),
        );
        registry.register(
            "haihe_tcec_refused",
            "T/CEC 102 requests refused, by reason",
            self.refused.clone(),
        );
        registry.register(
            "haihe_tcec_polls",
            "T/CEC 102 calls to operators, by interface and outcome (ok, retried, failed)",
            self.polls.clone(),
        );
    }

    pub(crate) fn accept(&self, interface: &'static str) {
        self.accepted
            .get_or_create(&InterfaceLabel { interface })
            .inc();
    }

    pub(crate) fn refuse(&self, reason: &'static str) {
        self.refused.get_or_create(&ReasonLabel { reason }).inc();
    }

    pub(crate) fn poll(&self, interface: &'static str, outcome: &'static str) {
        self.polls
            .get_or_create(&PollLabel { interface, outcome })
            .inc();
    }

    /// Requests accepted on `interface` so far.
    pub fn accepted(&self, interface: &'static str) -> u64 {
        self.accepted
            .get_or_create(&InterfaceLabel { interface })
            .get()
    }

    /// Requests refused for `reason` so far.
    pub fn refused(&self, reason: &'static str) -> u64 {
        self.refused.get_or_create(&ReasonLabel { reason }).get()
    }

    /// Calls to operators on `interface` with `outcome` so far.
    pub fn polls(&self, interface: &'static str, outcome: &'static str) -> u64 {
        self.polls
            .get_or_create(&PollLabel { interface, outcome })
            .get()
    }
}
