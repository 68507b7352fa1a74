//! GB/T 32960 on the generic listener: framer, decoder and session state machine per socket.

use std::net::SocketAddr;
use std::sync::Arc;

use model::Timestamp;
use pipeline::{IngestRecord, SourceProtocol};
use proto_gbt32960::{Framer, Session, SessionConfig, Time, decode};

use crate::{Connection, Output, Protocol};

/// Tells whether the registry knows a VIN (for `terminals = "registered"`).
pub type Registered = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The GB/T 32960 protocol with its session policy.
pub struct Gbt32960 {
    config: Arc<SessionConfig>,
    registered: Registered,
}

impl std::fmt::Debug for Gbt32960 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gbt32960")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Gbt32960 {
    pub fn new(config: SessionConfig, registered: Registered) -> Self {
        Self {
            config: Arc::new(config),
            registered,
        }
    }
}

impl Protocol for Gbt32960 {
    fn name(&self) -> &'static str {
        "gbt32960"
    }

    fn connect(&self, peer: SocketAddr) -> Box<dyn Connection> {
        Box::new(Conn {
            peer,
            framer: Framer::new(),
            session: Session::new(),
            config: Arc::clone(&self.config),
            registered: Arc::clone(&self.registered),
        })
    }
}

struct Conn {
    peer: SocketAddr,
    framer: Framer,
    session: Session,
    config: Arc<SessionConfig>,
    registered: Registered,
}

impl Connection for Conn {
    fn on_bytes(&mut self, data: &[u8], now: Timestamp, out: &mut Vec<Output>) {
        self.framer.push(data);
        let time = Time::from_timestamp(now);
        while let Some(item) = self.framer.next_frame() {
            let bytes = match item {
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::warn!(peer = %self.peer, error = %e, "GB/T 32960 frame refused");
                    out.push(Output::Counted("bad_frame"));
                    continue;
                }
            };
            let outcome = match decode(&bytes) {
                Ok(frame) => self
                    .session
                    .on_frame(&self.config, &frame, time, &*self.registered),
                Err(e) => {
                    tracing::warn!(peer = %self.peer, error = %e, "GB/T 32960 data unit does not decode");
                    self.session.on_malformed(&bytes, time)
                }
            };
            if let Some(reason) = outcome.reject {
                tracing::info!(peer = %self.peer, reason = reason.label(), "GB/T 32960 frame refused");
            }
            if let Some(identity) = outcome.claim {
                out.push(Output::Claim(identity));
            }
            out.push(Output::Counted(match (outcome.reject, outcome.persist) {
                (Some(r), _) => r.label(),
                (None, true) => "accepted",
                (None, false) => "ignored",
            }));
            if outcome.persist {
                let org = self
                    .session
                    .platform()
                    .map(|i| self.config.platforms[i].org.clone());
                out.push(Output::Persist(IngestRecord {
                    protocol: SourceProtocol::Gbt32960,
                    received_at: now,
                    org,
                    payload: bytes,
                }));
            }
            if let Some(reply) = outcome.reply {
                match reply.encode() {
                    Ok(b) => out.push(Output::Reply(b)),
                    Err(e) => tracing::error!(error = %e, "cannot encode a reply"),
                }
            }
            if outcome.close {
                out.push(Output::Close);
                return;
            }
        }
    }
}
