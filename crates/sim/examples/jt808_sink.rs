//! A small JT/T 808 platform for trying and measuring the simulator without a full server: it
//! decodes what arrives with `proto_jt808`, answers through the codec's `Session` over an
//! in-memory directory that lets any terminal register (0x8100 with a code, 0x8001 for the
//! rest), and prints the frames, reports and batch items received every five seconds.
//!
//! `cargo run --release -p sim --example jt808_sink -- 127.0.0.1:6808`, then
//! `haihe simulate --jt808 127.0.0.1:6808 --terminals 100`.

#![allow(clippy::print_stderr)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use proto_jt808::{Body, Framer, MemoryDirectory, Session, SessionConfig, TerminalPolicy, decode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Default)]
struct Counts {
    frames: AtomicU64,
    reports: AtomicU64,
    batch_items: AtomicU64,
    bad: AtomicU64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:6808".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("jt808 sink listening on {}", listener.local_addr()?);
    let counts = Arc::new(Counts::default());
    let directory = Arc::new(MemoryDirectory::new());
    let c = counts.clone();
    tokio::spawn(async move {
        let (mut t0, mut n0) = (Instant::now(), 0);
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let n = c.frames.load(Relaxed);
            let rate = (n - n0) as f64 / t0.elapsed().as_secs_f64();
            eprintln!(
                "sink: {n} frames ({rate:.0}/s), {} reports, {} batch items, {} bad",
                c.reports.load(Relaxed),
                c.batch_items.load(Relaxed),
                c.bad.load(Relaxed)
            );
            (t0, n0) = (Instant::now(), n);
        }
    });
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(serve(stream, counts.clone(), directory.clone()));
    }
}

async fn serve(mut stream: TcpStream, counts: Arc<Counts>, directory: Arc<MemoryDirectory>) {
    let config = SessionConfig {
        terminals: TerminalPolicy::Open,
        max_refusals: 5,
    };
    let mut session = Session::new();
    let mut framer = Framer::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut out = Vec::new();
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        framer.push(&buf[..n]);
        while let Some(raw) = framer.next_frame() {
            counts.frames.fetch_add(1, Relaxed);
            let Ok(frame) = raw.map(|r| decode(&r)) else {
                counts.bad.fetch_add(1, Relaxed);
                continue;
            };
            let Ok(frame) = frame else {
                counts.bad.fetch_add(1, Relaxed);
                continue;
            };
            match &frame.body {
                Body::Location(_) => {
                    counts.reports.fetch_add(1, Relaxed);
                }
                Body::Batch(b) => {
                    counts.batch_items.fetch_add(b.items.len() as u64, Relaxed);
                }
                _ => {}
            }
            let outcome = session.on_frame(&config, directory.as_ref(), &frame);
            for reply in outcome.replies {
                let _ = reply.encode_into(&mut out);
            }
            if outcome.close {
                let _ = stream.write_all(&out).await;
                return;
            }
        }
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
    }
}
