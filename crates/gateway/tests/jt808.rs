//! The JT/T 808 listener over real sockets and the real write-ahead log: registration and
//! authentication, replies only after durability, refusals, reconnects, subpackages and their
//! retransmission requests, lenient terminals.

use std::sync::Arc;
use std::time::Duration;

use gateway::{GatewayMetrics, Jt808, ListenerOptions, Shared, serve};
use pipeline::{Committed, Pipeline, PipelineOptions, SourceProtocol, WalBus};
use proto_jt808::*;
use store::wal::{Wal, WalOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::UnboundedReceiver;

const TERMINAL: &str = "13800000001";

fn phone(digits: &str) -> Phone {
    Phone::from_digits(digits, 6).unwrap()
}

fn frame(terminal: &str, msg: u16, serial: u16, body: Body) -> Frame {
    Frame::new(
        Header::new(Version::V2013, msg, phone(terminal), serial),
        body,
    )
}

fn enc(f: &Frame) -> Vec<u8> {
    f.encode().unwrap()
}

fn register(terminal: &str) -> Vec<u8> {
    enc(&frame(
        terminal,
        msg_id::REGISTER,
        1,
        Body::Register(Register {
            province: 12,
            city: 100,
            maker: Text::new("HAIHE"),
            model: Text::new("T-1"),
            terminal_id: Text::new("0000001"),
            plate_color: 2,
            plate: Text::new("津A12345"),
        }),
    ))
}

fn authenticate(terminal: &str, code: &str) -> Vec<u8> {
    enc(&frame(
        terminal,
        msg_id::AUTHENTICATE,
        2,
        Body::Authenticate(Authenticate {
            code: Text::new(code),
            imei: None,
            software_version: None,
        }),
    ))
}

fn location(n: u16) -> Location {
    let second = (n % 60) as u8;
    Location {
        alarm: 0,
        status: 3,
        lat: 39_084_158 + u32::from(n),
        lon: 117_200_983,
        alt: 5,
        speed: 523,
        direction: 90,
        time: BcdTime([
            0x26,
            0x11,
            0x27,
            0x10,
            0x30,
            ((second / 10) << 4) | (second % 10),
        ]),
        items: vec![Item::Mileage(123_456 + u32::from(n)), Item::Satellites(9)],
        tail: vec![],
    }
}

fn report(terminal: &str, serial: u16) -> Vec<u8> {
    enc(&frame(
        terminal,
        msg_id::LOCATION,
        serial,
        Body::Location(location(serial)),
    ))
}

fn heartbeat(terminal: &str, serial: u16) -> Vec<u8> {
    enc(&frame(terminal, msg_id::HEARTBEAT, serial, Body::Empty))
}

struct Server {
    addr: std::net::SocketAddr,
    wal: Arc<Wal>,
    metrics: GatewayMetrics,
    directory: Arc<MemoryDirectory>,
    protocol: Arc<Jt808>,
    applied: UnboundedReceiver<Committed>,
    _dir: tempfile::TempDir,
}

async fn start(policy: TerminalPolicy, limits: Limits, options: ListenerOptions) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let wal = Arc::new(wal);
    let (pipeline, applied) = Pipeline::new(
        Arc::new(WalBus(Arc::clone(&wal))),
        PipelineOptions::default(),
    );
    let directory = Arc::new(MemoryDirectory::new());
    let config = SessionConfig {
        terminals: policy,
        max_refusals: 3,
    };
    let protocol = Arc::new(Jt808::new(config, directory.clone(), limits));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let metrics = GatewayMetrics::default();
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(serve(
        listener,
        protocol.clone(),
        options,
        pipeline,
        Arc::new(Shared::default()),
        metrics.clone(),
        rx,
    ));
    std::mem::forget(tx);
    Server {
        addr,
        wal,
        metrics,
        directory,
        protocol,
        applied,
        _dir: dir,
    }
}

struct Client {
    stream: TcpStream,
    framer: Framer,
}

impl Client {
    async fn connect(server: &Server) -> Self {
        Self {
            stream: TcpStream::connect(server.addr).await.unwrap(),
            framer: Framer::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// The next frame from the platform; `None` when the connection closes (or after 10 s).
    async fn next(&mut self) -> Option<Frame> {
        let mut buf = [0u8; 1024];
        loop {
            if let Some(f) = self.framer.next_frame() {
                return Some(decode(&f.unwrap()).unwrap());
            }
            let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut buf))
                .await
                .ok()?
                .ok()?;
            if n == 0 {
                return None;
            }
            self.framer.push(&buf[..n]);
        }
    }

    /// Registers (open policy) or just authenticates with the code the directory holds.
    async fn log_in(&mut self, server: &Server, terminal: &str) {
        let code = match server.directory.auth_code(terminal) {
            Some(code) => code,
            None => {
                self.send(&register(terminal)).await;
                let Body::RegisterResponse(r) = self.next().await.unwrap().body else {
                    panic!("0x8100")
                };
                assert_eq!(r.result, 0);
                r.auth_code.text()
            }
        };
        self.send(&authenticate(terminal, &code)).await;
        assert_eq!(general(&self.next().await.unwrap()).result, 0);
    }
}

fn general(f: &Frame) -> GeneralResponse {
    match &f.body {
        Body::PlatformResponse(g) => *g,
        other => panic!("not a 0x8001: {other:?}"),
    }
}

fn defaults() -> (Limits, ListenerOptions) {
    (Limits::default(), ListenerOptions::default())
}

/// The next `n` committed records (they reach the applier channel just after durability, so
/// this waits for them, with a deadline).
async fn committed(server: &mut Server, n: usize) -> Vec<Frame> {
    let mut out = Vec::new();
    while out.len() < n {
        let c = tokio::time::timeout(Duration::from_secs(10), server.applied.recv())
            .await
            .expect("records committed in time")
            .expect("pipeline open");
        assert_eq!(c.record.protocol, SourceProtocol::Jt808);
        out.push(decode_stored(&c.record.payload).unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_answered_only_after_they_are_durable() {
    let (limits, options) = defaults();
    let mut server = start(TerminalPolicy::Open, limits, options).await;
    let mut c = Client::connect(&server).await;
    c.log_in(&server, TERMINAL).await;
    let mut burst = Vec::new();
    for n in 10..40 {
        burst.extend(report(TERMINAL, n));
    }
    burst.extend(heartbeat(TERMINAL, 40));
    c.send(&burst).await;
    let mut acked = Vec::new();
    loop {
        let g = general(&c.next().await.unwrap());
        if g.ack_msg_id == msg_id::HEARTBEAT {
            break;
        }
        assert_eq!((g.ack_msg_id, g.result), (msg_id::LOCATION, 0));
        acked.push(g.ack_serial);
    }
    assert_eq!(acked, (10..40).collect::<Vec<_>>());
    // 30 reports persisted; every answer was written after its record was durable.
    assert!(
        server.wal.durable_lsn() >= 30,
        "{}",
        server.wal.durable_lsn()
    );
    assert_eq!(server.metrics.frames("jt808", "accepted"), 30);
    let records = committed(&mut server, 30).await;
    let reports = to_reports(&records[0], model::Timestamp::from_secs(0));
    assert_eq!(reports[0].terminal_id, TERMINAL);
    assert_eq!(reports[0].source, "jt808-2013");
    assert_eq!(reports[0].mileage_km, Some(12_346.6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_terminals_are_refused_and_repeated_refusals_close() {
    let (limits, options) = defaults();
    let mut server = start(TerminalPolicy::Registered, limits, options).await;
    let mut c = Client::connect(&server).await;
    c.send(&register(TERMINAL)).await;
    let Body::RegisterResponse(r) = c.next().await.unwrap().body else {
        panic!("0x8100")
    };
    assert_eq!(r.result, 4, "terminal not in database");
    c.send(&report(TERMINAL, 5)).await;
    let g = general(&c.next().await.unwrap());
    assert_eq!((g.ack_serial, g.result), (5, 1));
    c.send(&heartbeat(TERMINAL, 6)).await;
    assert_eq!(general(&c.next().await.unwrap()).result, 1);
    assert!(c.next().await.is_none(), "closed after three refusals");
    assert_eq!(server.metrics.frames("jt808", "not_in_registry"), 1);
    assert_eq!(server.metrics.frames("jt808", "not_authenticated"), 2);
    assert_eq!(server.wal.durable_lsn(), 0, "nothing persisted");
    assert!(server.applied.try_recv().is_err());

    // Once the registry knows it, the terminal gets in.
    server.directory.know(TERMINAL);
    let mut c = Client::connect(&server).await;
    c.log_in(&server, TERMINAL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_connection_for_the_same_terminal_closes_the_old_one() {
    let (limits, options) = defaults();
    let server = start(TerminalPolicy::Open, limits, options).await;
    let mut old = Client::connect(&server).await;
    old.log_in(&server, TERMINAL).await;
    let mut new = Client::connect(&server).await;
    new.log_in(&server, TERMINAL).await;
    assert!(old.next().await.is_none(), "the old connection is closed");
    new.send(&heartbeat(TERMINAL, 3)).await;
    assert_eq!(general(&new.next().await.unwrap()).result, 0);
}

/// A batch too long for one frame: its packets, out of order and with a resend, become one
/// record, and every packet is answered once the record is durable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packets_are_reassembled_into_one_durable_record() {
    let (limits, options) = defaults();
    let mut server = start(TerminalPolicy::Open, limits, options).await;
    let mut c = Client::connect(&server).await;
    c.log_in(&server, TERMINAL).await;
    let batch = Batch {
        kind: Batch::BLIND_AREA,
        items: (0..40).map(location).collect(),
    };
    let message = frame(TERMINAL, msg_id::BATCH, 100, Body::Batch(batch));
    assert!(message.body_bytes().unwrap().len() > MAX_BODY_LEN);
    let packets = message.split(600, 100).unwrap();
    assert_eq!(packets.len(), 3);
    for i in [2, 0, 0, 1] {
        c.send(&enc(&packets[i])).await;
    }
    let mut acked: Vec<u16> = Vec::new();
    for _ in 0..3 {
        let g = general(&c.next().await.unwrap());
        assert_eq!((g.ack_msg_id, g.result), (msg_id::BATCH, 0));
        acked.push(g.ack_serial);
    }
    assert_eq!(acked, [100, 101, 102]);
    assert!(server.wal.durable_lsn() >= 1);
    let records = committed(&mut server, 1).await;
    assert_eq!(records, std::slice::from_ref(&message));
    let reports = to_reports(&records[0], model::Timestamp::from_secs(0));
    assert_eq!(reports.len(), 40);
    assert!(reports.iter().all(|r| r.reissue));
    assert_eq!(server.metrics.frames("jt808", "subpackage_duplicate"), 1);
    assert_eq!(server.protocol.reassembly_stats().completed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_packets_are_requested_once_after_the_timeout() {
    let limits = Limits {
        timeout: Duration::from_millis(1500),
        ..Limits::default()
    };
    let mut server = start(TerminalPolicy::Open, limits, ListenerOptions::default()).await;
    let mut c = Client::connect(&server).await;
    c.log_in(&server, TERMINAL).await;
    let message = frame(TERMINAL, 0x0801, 7, Body::Raw(vec![0x5A; 2000]));
    let packets = message.split(700, 7).unwrap();
    assert_eq!(packets.len(), 3);
    c.send(&enc(&packets[0])).await;
    c.send(&enc(&packets[2])).await;
    // The connection's once-a-second tick finds the message overdue and asks for packet 2.
    let request = c.next().await.expect("a 0x8003");
    assert_eq!(request.header.msg_id, msg_id::RETRANSMIT_REQUEST);
    let Body::RetransmitRequest(r) = &request.body else {
        panic!("0x8003")
    };
    assert_eq!((r.first_serial, r.indexes.as_slice()), (7, &[2u16][..]));
    assert_eq!(server.metrics.frames("jt808", "retransmit_request"), 1);
    c.send(&enc(&packets[1])).await;
    for serial in 7..10 {
        assert_eq!(general(&c.next().await.unwrap()).ack_serial, serial);
    }
    assert_eq!(committed(&mut server, 1).await, [message]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_bad_checksums_are_answered_and_lenient_models_accepted() {
    let (limits, options) = defaults();
    let mut server = start(TerminalPolicy::Open, limits, options).await;
    let mut c = Client::connect(&server).await;
    c.log_in(&server, TERMINAL).await;
    let mut bad = report(TERMINAL, 20);
    let n = bad.len();
    bad[n - 2] ^= 0x01;
    c.send(b"garbage").await;
    c.send(&bad).await;
    let g = general(&c.next().await.unwrap());
    assert_eq!(
        (g.ack_serial, g.result),
        (20, GeneralResponse::MESSAGE_ERROR)
    );
    // The garbage between two frames comes out as one bad candidate, then the bad frame.
    assert_eq!(server.metrics.frames("jt808", "malformed"), 2);
    c.send(&heartbeat(TERMINAL, 21)).await;
    assert_eq!(general(&c.next().await.unwrap()).result, 0, "still open");

    // V16b of shared/vectors/jt808.md: declared length and checksum both wrong. A terminal
    // whose model is marked lenient gets it accepted.
    let v16b = hex::decode(
        "7E02000032013511221122000700000000000C000301578CC006CA3A5C00470000000014072317201501040000000030011631010BD07E",
    )
    .unwrap();
    server.directory.set_lenient("13511221122");
    server.directory.set_auth_code("13511221122", "c");
    let mut lenient = Client::connect(&server).await;
    lenient.log_in(&server, "13511221122").await;
    lenient.send(&v16b).await;
    let g = general(&lenient.next().await.unwrap());
    assert_eq!((g.ack_serial, g.result), (7, 0));
    let records = committed(&mut server, 1).await;
    let last = records.last().unwrap();
    assert_eq!(last.quirks.found_checksum, Some(0xD0));
    assert_eq!(
        last.encode().unwrap(),
        v16b,
        "stored with its quirks, byte for byte"
    );
}

/// The tick runs while bytes keep coming too: a terminal that heartbeats every 300 ms still
/// gets its retransmission request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tick_runs_under_steady_traffic() {
    let limits = Limits {
        timeout: Duration::from_millis(1200),
        ..Limits::default()
    };
    let server = start(TerminalPolicy::Open, limits, ListenerOptions::default()).await;
    let mut c = Client::connect(&server).await;
    c.log_in(&server, TERMINAL).await;
    let message = frame(TERMINAL, 0x0801, 50, Body::Raw(vec![0xA5; 1500]));
    let packets = message.split(1000, 50).unwrap();
    c.send(&enc(&packets[1])).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut serial = 100;
    let request = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no 0x8003 under traffic"
        );
        c.send(&heartbeat(TERMINAL, serial)).await;
        serial += 1;
        let f = c.next().await.unwrap();
        if f.header.msg_id == msg_id::RETRANSMIT_REQUEST {
            break f;
        }
        assert_eq!(general(&f).ack_msg_id, msg_id::HEARTBEAT);
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let Body::RetransmitRequest(r) = request.body else {
        panic!("0x8003")
    };
    assert_eq!(r.indexes, [1]);
}
