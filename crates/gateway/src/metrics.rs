//! Counters of the gateway, registered in the platform's Prometheus registry.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ProtocolLabel {
    pub(crate) protocol: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct FrameLabel {
    pub(crate) protocol: &'static str,
    pub(crate) outcome: &'static str,
}

/// Per-protocol connection, byte, frame and reply counters.
#[derive(Debug, Default, Clone)]
pub struct GatewayMetrics {
    pub(crate) connections: Family<ProtocolLabel, Counter>,
    pub(crate) connections_active: Family<ProtocolLabel, Gauge>,
    pub(crate) connections_refused: Family<ProtocolLabel, Counter>,
    pub(crate) bytes_in: Family<ProtocolLabel, Counter>,
    pub(crate) frames: Family<FrameLabel, Counter>,
    pub(crate) replies: Family<ProtocolLabel, Counter>,
}

impl GatewayMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "haihe_connections",
            "Device connections accepted",
            m.connections.clone(),
        );
        registry.register(
            "haihe_connections_active",
            "Device connections open now",
            m.connections_active.clone(),
        );
        registry.register(
            "haihe_connections_refused",
            "Device connections refused at the connection limit",
            m.connections_refused.clone(),
        );
        registry.register(
            "haihe_bytes_in",
            "Bytes read from devices",
            m.bytes_in.clone(),
        );
        registry.register(
            "haihe_frames",
            "Frames by outcome: accepted, ignored, or the reason they were refused",
            m.frames.clone(),
        );
        registry.register(
            "haihe_replies",
            "Replies sent to devices",
            m.replies.clone(),
        );
        m
    }

    /// Frames counted with `outcome` for `protocol` so far (for tests and the load command).
    pub fn frames(&self, protocol: &'static str, outcome: &'static str) -> u64 {
        self.frames
            .get_or_create(&FrameLabel { protocol, outcome })
            .get()
    }
}
