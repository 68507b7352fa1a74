//! The bus: where records become durable. Embedded mode uses the write-ahead log; the cluster mode
//! will put Kafka behind the same trait.

use std::sync::Arc;

use store::wal::Wal;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BusError(pub String);

/// Called once per record: with its position when durable, or the error that lost it.
pub type OnDurable = Box<dyn FnOnce(Result<u64, BusError>) + Send + 'static>;

pub trait Bus: Send + Sync + 'static {
    /// Appends a record without waiting for durability; `on_durable` is called once it is durable
    /// (it must be cheap: it may run on the bus's own thread). Returns the record's position.
    fn append(&self, payload: Vec<u8>, on_durable: OnDurable) -> Result<u64, BusError>;

    /// Everything below `position` is safely stored elsewhere and may be dropped from the bus.
    fn truncate_before(&self, position: u64) -> Result<(), BusError>;
}

/// The embedded bus: the write-ahead log.
#[derive(Debug, Clone)]
pub struct WalBus(pub Arc<Wal>);

impl Bus for WalBus {
    fn append(&self, payload: Vec<u8>, on_durable: OnDurable) -> Result<u64, BusError> {
        self.0
            .append_with(payload, move |r| {
                on_durable(r.map_err(|e| BusError(e.to_string())));
            })
            .map_err(|e| BusError(e.to_string()))
    }

    fn truncate_before(&self, position: u64) -> Result<(), BusError> {
        self.0
            .truncate_before(position)
            .map(|_| ())
            .map_err(|e| BusError(e.to_string()))
    }
}
