//! The ingest pipeline: what the gateway hands over after validating a frame, made durable on the
//! bus, then applied (stored, live state updated) in bus order.
//!
//! The gateway calls [`Pipeline::submit`] for every record it accepts and gets a sequence number;
//! before answering the device it waits with [`Pipeline::wait_durable`] until that number is under
//! the durability watermark. Memory is bounded end to end by one byte-weighted semaphore: a record
//! holds its permit from submission until it has been applied, so when storage falls behind,
//! `submit` waits and the gateway stops reading its sockets.

mod bus;
mod live;
mod record;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

pub use bus::{Bus, BusError, OnDurable, WalBus};
pub use live::{Latest, LiveEntry, LiveState};
pub use record::{IngestRecord, RecordError, SourceProtocol};

/// A record on its way from the bus to the applier, with the memory permit it holds.
#[derive(Debug)]
pub struct Committed {
    /// The record's position on the bus (the WAL's LSN).
    pub position: u64,
    pub record: IngestRecord,
    _permit: OwnedSemaphorePermit,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    #[error("record of {size} bytes exceeds the pipeline's in-flight limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("the bus failed: {0}")]
    Bus(String),
    #[error("the pipeline is shutting down")]
    Closed,
}

/// Limits of the pipeline.
#[derive(Debug, Clone, Copy)]
pub struct PipelineOptions {
    /// Bytes of records between submission and apply (default 64 MiB).
    pub max_in_flight_bytes: usize,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            max_in_flight_bytes: 64 << 20,
        }
    }
}

/// Bookkeeping of the durability watermark: every sequence number at or below `durable` is durable.
#[derive(Debug, Default)]
struct Tracker {
    next: u64,
    done_above: BTreeSet<u64>,
    durable: u64,
}

/// What waiters watch: the watermark, or the failure that ended the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Durability {
    Upto(u64),
    Failed(String),
}

/// The handle gateways submit to. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    bus: Arc<dyn Bus>,
    permits: Arc<Semaphore>,
    limit: usize,
    tracker: Mutex<Tracker>,
    durability: watch::Sender<Durability>,
    apply: mpsc::UnboundedSender<Committed>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// Per-record overhead counted against the in-flight limit besides its payload.
const RECORD_OVERHEAD: usize = 128;

impl Pipeline {
    /// A pipeline over `bus`; committed records come out of the returned receiver in bus order
    /// (the receiver's memory is bounded by the in-flight limit, so it can be unbounded).
    pub fn new(
        bus: Arc<dyn Bus>,
        options: PipelineOptions,
    ) -> (Self, mpsc::UnboundedReceiver<Committed>) {
        let (apply, applied) = mpsc::unbounded_channel();
        let limit = options.max_in_flight_bytes.min(Semaphore::MAX_PERMITS);
        let inner = Inner {
            bus,
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            tracker: Mutex::new(Tracker {
                next: 1,
                ..Tracker::default()
            }),
            durability: watch::Sender::new(Durability::Upto(0)),
            apply,
        };
        (
            Self {
                inner: Arc::new(inner),
            },
            applied,
        )
    }

    /// Submits a record: waits for room (backpressure), appends it to the bus and returns its
    /// sequence number. Durability is awaited separately with [`Self::wait_durable`], so a
    /// connection can submit many records and wait once.
    pub async fn submit(&self, record: IngestRecord) -> Result<u64, PipelineError> {
        let inner = &self.inner;
        let cost = record.payload.len() + RECORD_OVERHEAD;
        if cost > inner.limit {
            return Err(PipelineError::TooLarge {
                size: cost,
                limit: inner.limit,
            });
        }
        let permit = Arc::clone(&inner.permits)
            .acquire_many_owned(cost as u32)
            .await
            .map_err(|_| PipelineError::Closed)?;
        if let Durability::Failed(e) = &*inner.durability.borrow() {
            return Err(PipelineError::Bus(e.clone()));
        }
        let encoded = record.encode();
        let seq = {
            let mut t = inner.tracker.lock().expect("tracker lock");
            let seq = t.next;
            t.next += 1;
            seq
        };
        let done_inner = Arc::clone(inner);
        let on_durable = Box::new(move |result: Result<u64, BusError>| match result {
            Ok(position) => {
                done_inner.mark_durable(seq);
                // The applier may be gone at shutdown; the record is durable either way.
                let _ = done_inner.apply.send(Committed {
                    position,
                    record,
                    _permit: permit,
                });
            }
            Err(e) => {
                tracing::error!(error = %e, "bus append failed; refusing further records");
                done_inner
                    .durability
                    .send_replace(Durability::Failed(e.to_string()));
            }
        });
        inner
            .bus
            .append(encoded, on_durable)
            .map_err(|e| PipelineError::Bus(e.to_string()))?;
        Ok(seq)
    }

    /// Waits until record `seq` (and so every record submitted before it) is durable.
    pub async fn wait_durable(&self, seq: u64) -> Result<(), PipelineError> {
        let mut rx = self.inner.durability.subscribe();
        let state = rx
            .wait_for(|d| {
                matches!(d, Durability::Failed(_)) || matches!(d, Durability::Upto(n) if *n >= seq)
            })
            .await
            .map_err(|_| PipelineError::Closed)?;
        match &*state {
            Durability::Failed(e) => Err(PipelineError::Bus(e.clone())),
            Durability::Upto(_) => Ok(()),
        }
    }

    /// The highest sequence number submitted so far (0 before the first).
    pub fn last_submitted(&self) -> u64 {
        self.inner.tracker.lock().expect("tracker lock").next - 1
    }

    /// Bytes of records submitted but not yet applied.
    pub fn in_flight_bytes(&self) -> usize {
        self.inner.limit - self.inner.permits.available_permits()
    }

    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.inner.bus
    }
}

impl Inner {
    fn mark_durable(&self, seq: u64) {
        let mut t = self.tracker.lock().expect("tracker lock");
        if seq == t.durable + 1 {
            t.durable = seq;
            loop {
                let next = t.durable + 1;
                if !t.done_above.remove(&next) {
                    break;
                }
                t.durable = next;
            }
        } else {
            t.done_above.insert(seq);
        }
        let durable = t.durable;
        drop(t);
        self.durability.send_if_modified(|d| match d {
            Durability::Upto(n) if *n < durable => {
                *n = durable;
                true
            }
            _ => false,
        });
    }
}

#[cfg(test)]
mod tests;
