//! The generic TCP listener and the per-connection loop.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::Timestamp;
use pipeline::Pipeline;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio::time::Instant;

use crate::metrics::{FrameLabel, GatewayMetrics, ProtocolLabel};
use crate::{Output, Protocol};

/// Limits of one listener.
#[derive(Debug, Clone, Copy)]
pub struct ListenerOptions {
    pub max_connections: usize,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// Bytes read from a socket at a time (the framer holds at most one frame beyond this).
    pub read_buffer: usize,
    /// Replies queued behind durability before reading pauses.
    pub max_pending_replies: usize,
}

impl Default for ListenerOptions {
    fn default() -> Self {
        Self {
            max_connections: 200_000,
            idle_timeout: Duration::from_secs(300),
            read_buffer: 16 * 1024,
            max_pending_replies: 256,
        }
    }
}

/// State shared by every listener of the platform: which connection owns which identity.
#[derive(Debug, Default)]
pub struct Shared {
    owners: Mutex<HashMap<String, (u64, Arc<Notify>)>>,
    next_id: AtomicU64,
}

impl Shared {
    /// Makes `conn` the owner of `identity`, telling the previous owner (if another connection) to
    /// close: a vehicle that reconnects replaces its stale connection.
    fn claim(&self, identity: String, conn: u64, kick: &Arc<Notify>) {
        let mut owners = self.owners.lock().expect("owners lock");
        if let Some((old, old_kick)) = owners.insert(identity, (conn, Arc::clone(kick)))
            && old != conn
        {
            old_kick.notify_one();
        }
    }

    fn release(&self, conn: u64) {
        self.owners
            .lock()
            .expect("owners lock")
            .retain(|_, (owner, _)| *owner != conn);
    }
}

/// Accepts connections until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    protocol: Arc<dyn Protocol>,
    options: ListenerOptions,
    pipeline: Pipeline,
    shared: Arc<Shared>,
    metrics: GatewayMetrics,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(options.max_connections));
    let label = ProtocolLabel {
        protocol: protocol.name(),
    };
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, protocol = protocol.name(), "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            metrics.connections_refused.get_or_create(&label).inc();
            tracing::warn!(%peer, protocol = protocol.name(), "connection limit reached; refusing");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        metrics.connections.get_or_create(&label).inc();
        let conn = Conn {
            id: shared.next_id.fetch_add(1, Ordering::Relaxed),
            peer,
            protocol: Arc::clone(&protocol),
            options,
            pipeline: pipeline.clone(),
            shared: Arc::clone(&shared),
            metrics: metrics.clone(),
            shutdown: shutdown.clone(),
        };
        tokio::spawn(async move {
            conn.run(stream).await;
            drop(slot);
        });
    }
}

struct Conn {
    id: u64,
    peer: SocketAddr,
    protocol: Arc<dyn Protocol>,
    options: ListenerOptions,
    pipeline: Pipeline,
    shared: Arc<Shared>,
    metrics: GatewayMetrics,
    shutdown: watch::Receiver<bool>,
}

/// A reply waiting for durability: send `bytes` once sequence `after` is durable.
struct Pending {
    after: u64,
    bytes: Vec<u8>,
    close: bool,
}

/// How often a connection's `on_idle` runs.
const TICK: Duration = Duration::from_secs(1);

fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_micros(d.as_micros() as i64)
}

impl Conn {
    async fn run(mut self, stream: TcpStream) {
        let name = self.protocol.name();
        let label = ProtocolLabel { protocol: name };
        self.metrics.connections_active.get_or_create(&label).inc();
        let (mut rd, wr) = stream.into_split();
        let (tx, rx) = mpsc::channel::<Pending>(self.options.max_pending_replies);
        let writer = tokio::spawn(write_replies(
            wr,
            rx,
            self.pipeline.clone(),
            self.metrics.clone(),
            name,
        ));
        let kick = Arc::new(Notify::new());
        let mut machine = self.protocol.connect(self.peer);
        let mut buf = vec![0u8; self.options.read_buffer];
        let mut outputs = Vec::new();
        let mut last_seq = 0u64;
        let mut last_read = Instant::now();
        let mut last_tick = Instant::now();
        let reason = 'conn: loop {
            // Wake at least once a second for the protocol's timers (`on_idle`), and at the
            // idle deadline.
            let wait = self
                .options
                .idle_timeout
                .saturating_sub(last_read.elapsed())
                .min(TICK);
            let read = tokio::select! {
                biased;
                _ = kick.notified() => break 'conn "replaced by a newer connection",
                _ = self.shutdown.wait_for(|s| *s) => break 'conn "shutdown",
                r = tokio::time::timeout(wait, rd.read(&mut buf)) => r,
            };
            match read {
                Err(_) if last_read.elapsed() >= self.options.idle_timeout => {
                    break 'conn "idle timeout";
                }
                Err(_) => {}
                Ok(Ok(0)) => break 'conn "closed by peer",
                Ok(Ok(n)) => {
                    last_read = Instant::now();
                    self.metrics.bytes_in.get_or_create(&label).inc_by(n as u64);
                    machine.on_bytes(&buf[..n], now(), &mut outputs);
                }
                Ok(Err(_)) => break 'conn "read error",
            }
            if last_tick.elapsed() >= TICK {
                last_tick = Instant::now();
                machine.on_idle(now(), &mut outputs);
            }
            for out in outputs.drain(..) {
                match out {
                    Output::Persist(record) => match self.pipeline.submit(record).await {
                        Ok(seq) => last_seq = seq,
                        Err(e) => {
                            tracing::error!(peer = %self.peer, protocol = name, error = %e, "cannot persist; closing");
                            break 'conn "pipeline failure";
                        }
                    },
                    Output::Reply(bytes) => {
                        if tx
                            .send(Pending {
                                after: last_seq,
                                bytes,
                                close: false,
                            })
                            .await
                            .is_err()
                        {
                            break 'conn "write error";
                        }
                    }
                    Output::Claim(identity) => self.shared.claim(identity, self.id, &kick),
                    Output::Counted(outcome) => {
                        self.metrics
                            .frames
                            .get_or_create(&FrameLabel {
                                protocol: name,
                                outcome,
                            })
                            .inc();
                    }
                    Output::Close => {
                        let _ = tx
                            .send(Pending {
                                after: last_seq,
                                bytes: Vec::new(),
                                close: true,
                            })
                            .await;
                        break 'conn "closed by protocol";
                    }
                }
            }
        };
        tracing::debug!(peer = %self.peer, protocol = name, reason, "connection ends");
        self.shared.release(self.id);
        // Replies already queued are still sent once their data is durable.
        drop(tx);
        let _ = writer.await;
        self.metrics.connections_active.get_or_create(&label).dec();
    }
}

async fn write_replies(
    mut wr: tokio::net::tcp::OwnedWriteHalf,
    mut rx: mpsc::Receiver<Pending>,
    pipeline: Pipeline,
    metrics: GatewayMetrics,
    name: &'static str,
) {
    let label = ProtocolLabel { protocol: name };
    while let Some(p) = rx.recv().await {
        if p.after > 0 && pipeline.wait_durable(p.after).await.is_err() {
            // Never acknowledge what is not durable.
            break;
        }
        if !p.bytes.is_empty() {
            if wr.write_all(&p.bytes).await.is_err() {
                break;
            }
            metrics.replies.get_or_create(&label).inc();
        }
        if p.close {
            break;
        }
    }
    let _ = wr.shutdown().await;
}
