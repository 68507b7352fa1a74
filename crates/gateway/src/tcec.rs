//! T/CEC 102 on the supervising side: the HTTP server operators push to (`/evcs/v1/{interface}`)
//! and the client that polls them.
//!
//! - [`router`] / [`TcecServer`]: `query_token` hands out bearer tokens to configured peers;
//!   every push (`notification_*`) is checked (token, signature before decryption, replay,
//!   operator) and answered `Ret=0` only once its record is durable in the pipeline.
//! - [`Poller`]: for each peer with a URL, `query_stations_info` (all pages),
//!   `query_station_status` (≤ 50 stations a call) and `query_station_stats` on a schedule,
//!   every answer stored as it arrives, with exponential back-off and token renewal.
//!
//! What is stored is `proto_tcec`'s stored form (the decrypted `Data`, the operator and the
//! interface) in a [`pipeline::SourceProtocol::Tcec`] record; `proto_tcec::to_events` maps it
//! to the charging model when it is applied.

mod metrics;
mod poller;
mod server;
mod tokens;

pub use metrics::TcecMetrics;
pub use poller::{Poller, PollerOptions};
pub use server::{TcecOptions, TcecServer, router};
pub use tokens::{MemoryTokenStore, TokenStore};

use proto_tcec::PeerSecrets;

/// One operator platform the city exchanges data with.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The secrets the operator uses when it calls us (its `OperatorID` signs its requests).
    pub secrets: PeerSecrets,
    /// The organisation its records are attributed to (`IngestRecord::org`).
    pub org: Option<String>,
    /// Where its `query_*` interfaces live, e.g. `http://10.1.2.3:8080/evcs/v1`; `None` when
    /// the operator only pushes.
    pub base_url: Option<String>,
    /// The secrets for our calls to it, signing with our `OperatorID`, when the operator gave
    /// us a set of its own; `None` uses [`Peer::secrets`] under our operator id.
    pub outbound: Option<PeerSecrets>,
}

/// The system clock, as a [`model::Timestamp`].
pub(crate) fn system_now() -> model::Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    model::Timestamp::from_micros(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
