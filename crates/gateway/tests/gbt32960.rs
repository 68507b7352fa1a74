//! The GB/T 32960 listener over real sockets and the real write-ahead log.

use std::sync::Arc;
use std::time::Duration;

use gateway::{GatewayMetrics, Gbt32960, ListenerOptions, Shared, serve};
use pipeline::{Pipeline, PipelineOptions, WalBus};
use proto_gbt32960::*;
use store::wal::{Wal, WalOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const T: Time = Time([26, 11, 27, 11, 59, 0]);

fn enc(edition: Edition, command: Command, vin: &str, body: Body) -> Vec<u8> {
    let header = Header {
        edition,
        command,
        response: Response::COMMAND,
        vin: FixedStr::new(vin),
        encryption: Encryption(1),
    };
    Frame { header, body }.encode().unwrap()
}

fn login(vin: &str) -> Vec<u8> {
    enc(
        Edition::V2016,
        Command::VEHICLE_LOGIN,
        vin,
        Body::VehicleLogin2016(VehicleLogin2016 {
            time: T,
            seq: 1,
            iccid: FixedStr::new("89860000000000000001"),
            subsystem_count: 0,
            code_len: 0,
            codes: vec![],
        }),
    )
}

fn realtime(vin: &str, n: u8) -> Vec<u8> {
    let t = Time([26, 11, 27, 11, 0, n]);
    enc(
        Edition::V2016,
        Command::REALTIME,
        vin,
        Body::Report(Report::V2016(Report2016 {
            time: t,
            blocks: vec![],
        })),
    )
}

fn heartbeat(vin: &str) -> Vec<u8> {
    enc(Edition::V2016, Command::HEARTBEAT, vin, Body::Empty)
}

struct Server {
    addr: std::net::SocketAddr,
    wal: Arc<Wal>,
    metrics: GatewayMetrics,
    _dir: tempfile::TempDir,
    _applied: tokio::sync::mpsc::UnboundedReceiver<pipeline::Committed>,
}

async fn start(options: ListenerOptions) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let wal = Arc::new(wal);
    let (pipeline, applied) = Pipeline::new(
        Arc::new(WalBus(Arc::clone(&wal))),
        PipelineOptions::default(),
    );
    let config = SessionConfig {
        terminals: TerminalPolicy::Open,
        platforms: vec![],
        ack_realtime: false,
    };
    let protocol = Arc::new(Gbt32960::new(config, Arc::new(|_: &str| false)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let metrics = GatewayMetrics::default();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(serve(
        listener,
        protocol,
        options,
        pipeline,
        Arc::new(Shared::default()),
        metrics.clone(),
        rx,
    ));
    std::mem::forget(_tx);
    Server {
        addr,
        wal,
        metrics,
        _dir: dir,
        _applied: applied,
    }
}

async fn read_frame(s: &mut TcpStream) -> Option<Frame> {
    let mut framer = Framer::new();
    let mut buf = [0u8; 512];
    loop {
        if let Some(f) = framer.next_frame() {
            return Some(decode(&f.unwrap()).unwrap());
        }
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        framer.push(&buf[..n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_is_sent_only_after_the_reports_before_it_are_durable() {
    let server = start(ListenerOptions::default()).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(&login("LXTERM00000000001")).await.unwrap();
    assert_eq!(
        read_frame(&mut s).await.unwrap().header.response,
        Response::SUCCESS
    );
    let mut burst = Vec::new();
    for n in 0..50 {
        burst.extend(realtime("LXTERM00000000001", n));
    }
    burst.extend(heartbeat("LXTERM00000000001"));
    s.write_all(&burst).await.unwrap();
    let reply = read_frame(&mut s).await.unwrap();
    assert_eq!(reply.header.command, Command::HEARTBEAT);
    // Login + 50 reports were persisted; the heartbeat reply proves all of them are durable.
    assert!(
        server.wal.durable_lsn() >= 51,
        "durable {}",
        server.wal.durable_lsn()
    );
    assert_eq!(server.metrics.frames("gbt32960", "accepted"), 51);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_connection_for_the_same_vin_closes_the_old_one() {
    let server = start(ListenerOptions::default()).await;
    let mut old = TcpStream::connect(server.addr).await.unwrap();
    old.write_all(&login("LXTERM00000000002")).await.unwrap();
    read_frame(&mut old).await.unwrap();
    let mut new = TcpStream::connect(server.addr).await.unwrap();
    new.write_all(&login("LXTERM00000000002")).await.unwrap();
    read_frame(&mut new).await.unwrap();
    assert!(
        read_frame(&mut old).await.is_none(),
        "the old connection is closed"
    );
    new.write_all(&heartbeat("LXTERM00000000002"))
        .await
        .unwrap();
    assert!(read_frame(&mut new).await.is_some(), "the new one works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_answered_and_counted_and_limits_hold() {
    let server = start(ListenerOptions {
        max_connections: 1,
        idle_timeout: Duration::from_millis(300),
        ..ListenerOptions::default()
    })
    .await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(&realtime("LXTERM00000000003", 1))
        .await
        .unwrap();
    let reply = read_frame(&mut s).await.unwrap();
    assert_eq!(reply.header.response, Response::ERROR);
    assert_eq!(server.metrics.frames("gbt32960", "not_logged_in"), 1);
    // Garbage and a bad BCC do not end the connection.
    let mut bad = heartbeat("LXTERM00000000003");
    *bad.last_mut().unwrap() ^= 1;
    s.write_all(b"garbage").await.unwrap();
    s.write_all(&bad).await.unwrap();
    s.write_all(&login("LXTERM00000000003")).await.unwrap();
    assert_eq!(
        read_frame(&mut s).await.unwrap().header.response,
        Response::SUCCESS
    );
    assert_eq!(server.metrics.frames("gbt32960", "bad_frame"), 1);
    // The connection limit is 1: a second socket is closed at once.
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    second.write_all(&login("LXTERM00000000004")).await.unwrap();
    assert!(read_frame(&mut second).await.is_none());
    // An idle connection is closed after the timeout.
    assert!(read_frame(&mut s).await.is_none());
}
