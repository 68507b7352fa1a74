//! A trivial GB/T 32960 server for measuring the simulator: it frames what arrives, answers
//! what the standard says must be answered (logins, logouts, heartbeats) and drops the rest
//! undecoded, printing the frames received per second.
//!
//! `cargo run --release -p sim --example sink -- 127.0.0.1:32960`

#![allow(clippy::print_stderr)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use model::Timestamp;
use proto_gbt32960::{Framer, Response, Time, reply_to_raw};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:32960".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("sink listening on {}", listener.local_addr()?);
    let frames = Arc::new(AtomicU64::new(0));
    let counter = frames.clone();
    tokio::spawn(async move {
        let (mut t0, mut n0) = (Instant::now(), 0);
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let n = counter.load(Relaxed);
            let rate = (n - n0) as f64 / t0.elapsed().as_secs_f64();
            eprintln!("sink: {n} frames, {rate:.0} frames/s");
            (t0, n0) = (Instant::now(), n);
        }
    });
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(serve(stream, frames.clone()));
    }
}

async fn serve(mut stream: TcpStream, frames: Arc<AtomicU64>) {
    let mut framer = Framer::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::new();
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        framer.push(&buf[..n]);
        let mut count = 0;
        while let Some(frame) = framer.next_frame() {
            count += 1;
            let Ok(frame) = frame else { continue };
            // Logins, logouts and heartbeats are answered; reports are not (Annex B).
            if matches!(frame[2], 0x01 | 0x04 | 0x05 | 0x06 | 0x07) && frame[3] == 0xFE {
                let now = Time::from_timestamp(Timestamp::from_secs(0));
                if let Some(reply) = reply_to_raw(&frame, Response::SUCCESS, now) {
                    let _ = reply.encode_into(&mut out);
                }
            }
        }
        frames.fetch_add(count, Relaxed);
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
    }
}
