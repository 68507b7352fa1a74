//! The only crate that owns device sockets: one generic TCP listener that serves any registered
//! protocol, with a connection limit, idle timeout, bounded reads and backpressure.
//!
//! A protocol plugs in as a [`Protocol`] that makes one [`Connection`] state machine per socket.
//! The connection turns bytes into [`Output`]s; the listener carries them out in order: records
//! go to the pipeline (waiting for room when it is full, which stops reading this socket), and
//! every reply waits until everything persisted before it on this connection is durable.

mod gbt32960;
mod jt808;
mod listener;
mod metrics;
pub mod ocpp;
pub mod tcec;

pub use gbt32960::{Gbt32960, Registered};
pub use jt808::{Jt808, Jt808Directory};
pub use listener::{ListenerOptions, Shared, serve};
pub use metrics::GatewayMetrics;
pub use ocpp::{Csms, CsmsOptions, OcppMetrics};

use model::Timestamp;
use pipeline::IngestRecord;

/// What a connection asks the listener to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Make this record durable (it counts toward the next reply's wait).
    Persist(IngestRecord),
    /// Send these bytes once every earlier `Persist` of this connection is durable.
    Reply(Vec<u8>),
    /// This connection now owns an identity (a VIN, a platform account): close any other
    /// connection that owned it.
    Claim(String),
    /// Count one frame with this outcome (`accepted`, `ignored`, or a refusal reason).
    Counted(&'static str),
    /// Close after the replies queued so far are sent.
    Close,
}

/// One socket's protocol state machine. Sans-IO: bytes and the receive time in, outputs out.
pub trait Connection: Send {
    fn on_bytes(&mut self, data: &[u8], now: Timestamp, out: &mut Vec<Output>);

    /// The passing of time, about once a second per connection whether or not bytes arrive:
    /// for protocol timers (e.g. JT/T 808 subpackage timeouts). Does nothing by default.
    fn on_idle(&mut self, now: Timestamp, out: &mut Vec<Output>) {
        let _ = (now, out);
    }
}

/// A protocol the gateway can serve.
pub trait Protocol: Send + Sync + 'static {
    /// Metrics label and log name, e.g. `gbt32960`.
    fn name(&self) -> &'static str;
    fn connect(&self, peer: std::net::SocketAddr) -> Box<dyn Connection>;
}
