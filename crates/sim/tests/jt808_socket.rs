//! The JT/T 808 simulator against a small platform on a real socket. The platform is written
//! here with `proto_jt808`: its `Framer` and strict `decode` take apart every byte that arrives
//! (and every frame must encode back to exactly its bytes), and its `Session` over a
//! `MemoryDirectory` answers as the gateway does — 0x8100 with an auth code, 0x8001 for the
//! rest. Behaviour switches make it refuse, drop, fail or ignore; the tests compare what it
//! received with what the simulator's summary says.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::Timestamp;
use proto_jt808::{
    Batch, Body, Frame, Framer, GeneralResponse, Item, Location, MemoryDirectory, STATUS_ACC_ON,
    STATUS_POSITIONED, STATUS_SOUTH, STATUS_WEST, Session, SessionConfig, TerminalPolicy, Version,
    decode, msg_id,
};
use sim::jt808::{Config, Summary, Versions, run};
use sim::routes::TIANJIN_BOX;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// How the test platform behaves.
#[derive(Debug, Clone, Default)]
struct Behaviour {
    /// Only these terminals are in the registry (`TerminalPolicy::Registered`); `None`: open.
    known: Option<Vec<String>>,
    /// Close a terminal's first connection, without answering, when its n-th report (0x0200
    /// or 0x0704) arrives.
    drop_first_at_report: Option<usize>,
    /// With `drop_first_at_report`: give the terminal a new auth code when dropping it, as a
    /// platform that lost or revoked the old one.
    new_code_on_drop: bool,
    /// Answer reports with an odd serial "failure".
    fail_odd_reports: bool,
    /// Never answer reports and batches.
    ignore_reports: bool,
    /// Send this platform command (empty body) right after a successful authentication.
    command_after_auth: Option<u16>,
}

#[derive(Debug, Default)]
struct Conn {
    terminal: Option<String>,
    frames: Vec<Frame>,
    arrivals: Vec<Timestamp>,
    /// The terminal closed it (rather than the platform).
    closed_by_terminal: bool,
    closed: bool,
}

#[derive(Debug, Default)]
struct Record {
    conns: Vec<Conn>,
}

impl Record {
    fn conns_of(&self, terminal: &str) -> Vec<&Conn> {
        self.conns
            .iter()
            .filter(|c| c.terminal.as_deref() == Some(terminal))
            .collect()
    }

    fn frames_of(&self, terminal: &str) -> Vec<&Frame> {
        self.conns_of(terminal)
            .into_iter()
            .flat_map(|c| &c.frames)
            .collect()
    }

    fn count(&self, terminal: &str, id: u16) -> usize {
        self.frames_of(terminal)
            .iter()
            .filter(|f| f.header.msg_id == id)
            .count()
    }
}

/// Every fix a list of frames delivered, with the batch type it came in (`None`: 0x0200).
fn fixes(frames: &[&Frame]) -> Vec<(Option<u8>, Location)> {
    let mut out = Vec::new();
    for f in frames {
        match &f.body {
            Body::Location(l) => out.push((None, l.clone())),
            Body::Batch(b) => out.extend(b.items.iter().map(|l| (Some(b.kind), l.clone()))),
            _ => {}
        }
    }
    out
}

fn signal(l: &Location) -> u8 {
    l.items
        .iter()
        .find_map(|i| match i {
            Item::Signal(s) => Some(*s),
            _ => None,
        })
        .expect("every report carries 0x30")
}

struct Platform {
    addr: SocketAddr,
    record: Arc<Mutex<Record>>,
    directory: Arc<MemoryDirectory>,
}

impl Platform {
    async fn start(b: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let record = Arc::new(Mutex::new(Record::default()));
        let directory = Arc::new(MemoryDirectory::new());
        for t in b.known.iter().flatten() {
            directory.know(t);
        }
        let (rec, dir) = (record.clone(), directory.clone());
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let index = {
                    let mut r = rec.lock().unwrap();
                    r.conns.push(Conn::default());
                    r.conns.len() - 1
                };
                tokio::spawn(serve(stream, index, rec.clone(), dir.clone(), b.clone()));
            }
        });
        Self {
            addr,
            record,
            directory,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&Record) -> T) -> T {
        f(&self.record.lock().unwrap())
    }

    /// Waits (up to 5 s) until every connection is closed: the run returning does not mean
    /// the platform has read the end of each stream.
    async fn wait_closed(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.with(|r| r.conns.iter().all(|c| c.closed)) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

fn wall_now() -> Timestamp {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    Timestamp::from_micros(micros as i64)
}

async fn serve(
    mut stream: TcpStream,
    index: usize,
    record: Arc<Mutex<Record>>,
    dir: Arc<MemoryDirectory>,
    b: Behaviour,
) {
    let cfg = SessionConfig {
        terminals: if b.known.is_some() {
            TerminalPolicy::Registered
        } else {
            TerminalPolicy::Open
        },
        max_refusals: 5,
    };
    let mut session = Session::new();
    let mut framer = Framer::new();
    let mut buf = vec![0u8; 8192];
    let mut reports = 0;
    let mut first_conn = false;
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let mut r = record.lock().unwrap();
                r.conns[index].closed = true;
                r.conns[index].closed_by_terminal = true;
                return;
            }
            Ok(n) => n,
        };
        framer.push(&buf[..n]);
        let mut out = Vec::new();
        while let Some(raw) = framer.next_frame() {
            let raw = raw.expect("the simulator frames correctly");
            let frame = decode(&raw).expect("the simulator's frames decode strictly");
            assert_eq!(
                frame.encode().unwrap(),
                raw,
                "frames encode back to their bytes"
            );
            {
                let mut r = record.lock().unwrap();
                let t = frame.terminal_id();
                if r.conns[index].terminal.is_none() {
                    first_conn = !r.conns.iter().any(|c| c.terminal.as_deref() == Some(&t));
                    r.conns[index].terminal = Some(t);
                }
                r.conns[index].frames.push(frame.clone());
                r.conns[index].arrivals.push(wall_now());
            }
            let id = frame.header.msg_id;
            let report = id == msg_id::LOCATION || id == msg_id::BATCH;
            if report {
                reports += 1;
                if first_conn && b.drop_first_at_report == Some(reports) {
                    if b.new_code_on_drop {
                        dir.set_auth_code(&frame.terminal_id(), "NEWCODE");
                    }
                    let _ = stream.write_all(&out).await;
                    record.lock().unwrap().conns[index].closed = true;
                    return;
                }
            }
            let outcome = session.on_frame(&cfg, dir.as_ref(), &frame);
            for mut reply in outcome.replies {
                if report && b.ignore_reports {
                    continue;
                }
                if let Body::PlatformResponse(g) = &mut reply.body
                    && report
                    && b.fail_odd_reports
                    && g.ack_serial % 2 == 1
                {
                    g.result = GeneralResponse::FAILURE;
                }
                reply.encode_into(&mut out).unwrap();
            }
            if let Some(command) = b.command_after_auth
                && id == msg_id::AUTHENTICATE
                && session.terminal().is_some()
            {
                let h = session.downlink_header(&frame.header, command);
                Frame::new(h, Body::Raw(Vec::new()))
                    .encode_into(&mut out)
                    .unwrap();
            }
            if outcome.close {
                let _ = stream.write_all(&out).await;
                record.lock().unwrap().conns[index].closed = true;
                return;
            }
        }
        if stream.write_all(&out).await.is_err() {
            record.lock().unwrap().conns[index].closed = true;
            return;
        }
    }
}

/// A quick configuration: fixes every 40 ms (parked too), no signal loss, no normal batches,
/// `reports` fixes per terminal.
fn config(addr: SocketAddr, terminals: usize, reports: u64) -> Config {
    let mut c = Config::new(addr.to_string(), terminals, Duration::from_millis(40));
    c.parked_interval = Some(c.interval);
    c.reports_per_terminal = Some(reports);
    c.signal_loss_every = None;
    c.batch_chance = 0.0;
    c.reply_timeout = Duration::from_secs(2);
    c.progress_every = Duration::from_secs(3600);
    // A safety net: every test ends by its report limit long before.
    c.duration = Some(Duration::from_secs(30));
    c
}

async fn simulate(c: Config) -> Summary {
    run(c, std::future::pending(), |_| {}).await.unwrap()
}

fn in_tianjin(l: &Location) -> bool {
    let (x0, y0, x1, y1) = TIANJIN_BOX;
    (x0..=x1).contains(&l.lon_deg()) && (y0..=y1).contains(&l.lat_deg())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_version_registers_and_authenticates_in_its_own_layout() {
    let p = Platform::start(Behaviour::default()).await;
    let c = config(p.addr, 3, 3);
    let fleet = c.fleet().unwrap();
    let s = simulate(c).await;
    p.wait_closed().await;
    let versions: Vec<Version> = fleet.iter().map(|id| id.version).collect();
    assert_eq!(versions, [Version::V2013, Version::V2019, Version::V2011]);
    for id in &fleet {
        p.with(|r| {
            let conns = r.conns_of(&id.terminal_id);
            assert_eq!(conns.len(), 1, "{}", id.terminal_id);
            let frames = &conns[0].frames;
            let reg = &frames[0];
            assert_eq!(reg.header.msg_id, msg_id::REGISTER);
            // The codec tells 2011 from 2013 by the register body's layout.
            assert_eq!(reg.header.version, id.version);
            let bcd = if id.version == Version::V2019 { 10 } else { 6 };
            assert_eq!(reg.header.phone.bcd().len(), bcd);
            assert_eq!(reg.terminal_id(), id.terminal_id);
            let Body::Register(body) = &reg.body else {
                panic!("{:?}", reg.body)
            };
            assert_eq!(body.province, 12);
            assert_eq!(body.city, id.district.code());
            assert_eq!(body.plate.text(), id.plate);
            assert!(body.plate.text().starts_with('津'));
            assert_eq!(body.plate_color, id.plate_color);
            assert_eq!(body.maker.text(), "HAIHE");
            assert_eq!(body.terminal_id.text(), id.device_id);
            let auth = &frames[1];
            let Body::Authenticate(a) = &auth.body else {
                panic!("{:?}", auth.body)
            };
            let code = p.directory.auth_code(&id.terminal_id).unwrap();
            assert_eq!(a.code.text(), code);
            if id.version == Version::V2019 {
                assert_eq!(a.imei.as_ref().unwrap().text(), id.imei);
                assert!(!a.software_version.as_ref().unwrap().text().is_empty());
            } else {
                assert_eq!(a.imei, None);
            }
            assert_eq!(frames.last().unwrap().header.msg_id, msg_id::LOGOUT);
        });
    }
    assert_eq!(
        (s.registered, s.authenticated, s.authentications),
        (3, 3, 3)
    );
    assert!(s.refused.is_empty() && s.failed == 0, "{s:?}");
    for v in ["2011", "2013", "2019"] {
        let vs = &s.versions[v];
        assert_eq!(
            (
                vs.terminals,
                vs.registered,
                vs.authenticated,
                vs.reports_acked
            ),
            (1, 1, 1, 3),
            "{v}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_acknowledged_one_by_one_and_carry_the_standard_items() {
    let p = Platform::start(Behaviour::default()).await;
    let c = config(p.addr, 6, 5);
    let fleet = c.fleet().unwrap();
    let s = simulate(c).await;
    p.wait_closed().await;
    for id in &fleet {
        p.with(|r| {
            let frames = r.frames_of(&id.terminal_id);
            let ids: Vec<u16> = frames.iter().map(|f| f.header.msg_id).collect();
            let mut expected = vec![msg_id::REGISTER, msg_id::AUTHENTICATE];
            expected.extend([msg_id::LOCATION; 5]);
            expected.push(msg_id::LOGOUT);
            assert_eq!(ids, expected, "{}", id.terminal_id);
            // The terminal's own serial counter, one per message.
            let serials: Vec<u16> = frames.iter().map(|f| f.header.serial).collect();
            assert_eq!(serials, (0..8).collect::<Vec<u16>>());
            let mut mileage = 0;
            for (_, l) in fixes(&frames) {
                assert!(in_tianjin(&l), "{l:?}");
                assert_eq!(l.alarm, 0);
                assert_ne!(l.status & STATUS_POSITIONED, 0);
                assert_eq!(l.status & (STATUS_SOUTH | STATUS_WEST), 0);
                if l.status & STATUS_ACC_ON == 0 {
                    assert_eq!(l.speed, 0);
                }
                assert!(l.time.timestamp().is_some());
                let item_ids: Vec<u8> = l.items.iter().map(Item::id).collect();
                let expected: Vec<u8> = if id.powertrain.burns_fuel() {
                    vec![0x01, 0x02, 0x03, 0x25, 0x30, 0x31]
                } else {
                    vec![0x01, 0x03, 0x25, 0x30, 0x31]
                };
                assert_eq!(item_ids, expected, "{:?}", id.powertrain);
                assert_eq!(l.item(0x03), Some(&Item::RecorderSpeed(l.speed)));
                let Some(Item::Mileage(m)) = l.item(0x01) else {
                    panic!()
                };
                assert!(*m >= mileage);
                mileage = *m;
            }
            assert!(r.conns_of(&id.terminal_id)[0].closed_by_terminal);
        });
    }
    assert_eq!(s.fixes, 30);
    assert_eq!((s.reports_sent, s.reports_acked), (30, 30));
    assert_eq!((s.logouts_sent, s.logouts_acked), (6, 6));
    assert!(s.ack_latency_ms.count >= 30 && s.ack_latency_ms.p99.is_some());
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!((s.online, s.unsent, s.batches_sent), (0, 0, 0));
    assert_eq!(s.terminals, 6);
    assert_eq!(s.categories.values().sum::<u64>(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_loss_is_uploaded_as_a_blind_area_batch() {
    let p = Platform::start(Behaviour::default()).await;
    let mut c = config(p.addr, 3, 30);
    c.signal_loss_every = Some(Duration::from_millis(300));
    c.signal_loss_length = Duration::from_millis(400);
    let fleet = c.fleet().unwrap();
    let s = simulate(c).await;
    p.wait_closed().await;
    let (mut blind_batches, mut blind_items, mut blind_reports) = (0, 0, 0);
    for id in &fleet {
        p.with(|r| {
            let conn = &r.conns_of(&id.terminal_id)[0];
            let frames: Vec<&Frame> = conn.frames.iter().collect();
            let all = fixes(&frames);
            assert_eq!(all.len(), 30, "every fix delivered once");
            if id.version == Version::V2011 {
                // No 0x0704 in 2011: the blind-area fixes come one by one.
                assert_eq!(r.count(&id.terminal_id, msg_id::BATCH), 0);
                let weak = all.iter().filter(|(_, l)| signal(l) < 4).count();
                assert!(weak > 0, "no blind-area fix from {}", id.terminal_id);
                blind_reports += weak;
                return;
            }
            let mut batches = 0;
            for (f, arrived) in conn.frames.iter().zip(&conn.arrivals) {
                let Body::Batch(b) = &f.body else {
                    continue;
                };
                assert_eq!(b.kind, Batch::BLIND_AREA);
                batches += 1;
                blind_items += b.items.len();
                for l in &b.items {
                    // Taken in the blind area, before it was sent.
                    assert!(signal(l) < 4, "{l:?}");
                    assert!(l.time.timestamp().unwrap() <= *arrived);
                }
                let times: Vec<_> = b.items.iter().map(|l| l.time.0).collect();
                assert!(times.windows(2).all(|w| w[0] <= w[1]));
            }
            assert!(
                batches >= 1,
                "{} never uploaded a blind area",
                id.terminal_id
            );
            blind_batches += batches;
            // Live reports were taken with signal.
            for (kind, l) in &all {
                if kind.is_none() {
                    assert!(signal(l) >= 14);
                }
            }
        });
    }
    assert!(s.signal_losses >= 3, "{}", s.signal_losses);
    assert_eq!(s.blind_batches_sent, blind_batches);
    assert_eq!(s.blind_items_sent, blind_items as u64);
    assert_eq!(s.blind_reports_sent, blind_reports as u64);
    assert_eq!(s.batches_acked, s.batches_sent);
    assert_eq!(s.reports_acked, s.reports_sent);
    assert_eq!(s.reports_sent + s.batch_items_sent, 90);
    assert!(s.errors.is_empty(), "{:?}", s.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn some_fixes_go_up_as_normal_batches() {
    let p = Platform::start(Behaviour::default()).await;
    let mut c = config(p.addr, 3, 20);
    c.batch_chance = 0.5;
    let fleet = c.fleet().unwrap();
    let s = simulate(c).await;
    p.wait_closed().await;
    for id in &fleet {
        p.with(|r| {
            let frames = r.frames_of(&id.terminal_id);
            assert_eq!(fixes(&frames).len(), 20);
            let batches: Vec<&Batch> = frames
                .iter()
                .filter_map(|f| match &f.body {
                    Body::Batch(b) => Some(b),
                    _ => None,
                })
                .collect();
            if id.version == Version::V2011 {
                assert!(batches.is_empty());
            } else {
                assert!(!batches.is_empty(), "{}", id.terminal_id);
                for b in batches {
                    assert_eq!(b.kind, Batch::NORMAL);
                    assert!((1..=5).contains(&b.items.len()), "{}", b.items.len());
                }
            }
        });
    }
    assert!(s.batches_sent >= 2);
    assert_eq!(s.batches_acked, s.batches_sent);
    assert_eq!(s.blind_batches_sent, 0);
    assert_eq!(s.reports_sent + s.batch_items_sent, 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_is_resumed_with_the_stored_code_and_the_lost_report_resent() {
    let p = Platform::start(Behaviour {
        drop_first_at_report: Some(3),
        ..Behaviour::default()
    })
    .await;
    let c = config(p.addr, 3, 10);
    let fleet = c.fleet().unwrap();
    let s = simulate(c).await;
    p.wait_closed().await;
    for id in &fleet {
        p.with(|r| {
            let conns = r.conns_of(&id.terminal_id);
            assert_eq!(conns.len(), 2, "{}", id.terminal_id);
            let (first, second) = (&conns[0], &conns[1]);
            assert_eq!(first.frames[0].header.msg_id, msg_id::REGISTER);
            let code = |f: &Frame| match &f.body {
                Body::Authenticate(a) => a.code.clone(),
                b => panic!("{b:?}"),
            };
            // Straight to authentication with the stored code; no second registration.
            assert_eq!(second.frames[0].header.msg_id, msg_id::AUTHENTICATE);
            assert_eq!(code(&second.frames[0]), code(&first.frames[1]));
            assert!(
                second
                    .frames
                    .iter()
                    .all(|f| f.header.msg_id != msg_id::REGISTER)
            );
            // Serials go on where they were.
            assert!(second.frames[0].header.serial > first.frames.last().unwrap().header.serial);
            // The report the platform never answered comes again after the reconnect.
            let lost = fixes(&[first.frames.last().unwrap()]);
            let again = fixes(&second.frames.iter().collect::<Vec<_>>());
            assert!(
                again.iter().any(|(_, l)| *l == lost[0].1),
                "{}",
                id.terminal_id
            );
            let delivered = fixes(&first.frames.iter().collect::<Vec<_>>()).len() + again.len();
            let resent = again
                .iter()
                .filter(|(_, l)| {
                    fixes(&first.frames.iter().collect::<Vec<_>>())
                        .iter()
                        .any(|(_, m)| m == l)
                })
                .count();
            assert_eq!(delivered - resent, 10);
        });
    }
    assert_eq!(s.reconnects, 3);
    assert_eq!(
        (s.registered, s.authenticated, s.authentications),
        (3, 3, 6)
    );
    assert_eq!(s.connections.dropped, 3);
    assert_eq!(s.errors.get("connection_closed"), Some(&3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_limit_ends_each_terminal_with_a_logout() {
    let p = Platform::start(Behaviour::default()).await;
    let mut c = config(p.addr, 4, 7);
    c.signal_loss_every = Some(Duration::from_millis(100));
    c.signal_loss_length = Duration::from_millis(100);
    c.batch_chance = 0.3;
    let fleet = c.fleet().unwrap();
    let started = Instant::now();
    let s = simulate(c).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    p.wait_closed().await;
    for id in &fleet {
        p.with(|r| {
            let conns = r.conns_of(&id.terminal_id);
            assert_eq!(conns.len(), 1);
            let frames = r.frames_of(&id.terminal_id);
            assert_eq!(fixes(&frames).len(), 7, "{}", id.terminal_id);
            assert_eq!(frames.last().unwrap().header.msg_id, msg_id::LOGOUT);
            assert_eq!(r.count(&id.terminal_id, msg_id::LOGOUT), 1);
            assert!(conns[0].closed_by_terminal);
        });
    }
    assert_eq!(s.fixes, 28);
    assert_eq!((s.logouts_sent, s.logouts_acked), (4, 4));
    assert_eq!((s.online, s.unsent), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_registration_stops_that_terminal_with_its_reason() {
    let p = Platform::start(Behaviour {
        known: Some(vec!["13800000001".to_owned()]),
        ..Behaviour::default()
    })
    .await;
    let s = simulate(config(p.addr, 2, 3)).await;
    p.wait_closed().await;
    p.with(|r| {
        let refused = r.frames_of("13800000002");
        assert_eq!(refused.len(), 1, "one registration, then nothing");
        assert_eq!(refused[0].header.msg_id, msg_id::REGISTER);
        assert_eq!(r.conns_of("13800000002").len(), 1);
        assert_eq!(r.count("13800000001", msg_id::LOCATION), 3);
    });
    assert_eq!(s.refused.get("terminal_not_in_database"), Some(&1));
    assert_eq!(s.failed, 1);
    let f = &s.failed_terminals[0];
    assert_eq!((f.terminal_id.as_str(), f.version), ("13800000002", "2019"));
    assert!(f.error.contains("terminal_not_in_database"), "{}", f.error);
    assert_eq!((s.registered, s.authenticated), (1, 1));
    assert_eq!(s.versions["2019"].refused, 1);
    assert_eq!(s.errors.get("register_refused"), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_acknowledgements_are_counted() {
    let p = Platform::start(Behaviour {
        fail_odd_reports: true,
        ..Behaviour::default()
    })
    .await;
    let s = simulate(config(p.addr, 2, 6)).await;
    // Reports have serials 2–7: 3, 5 and 7 fail.
    assert_eq!(s.reports_sent, 12);
    assert_eq!(s.reports_acked, 6);
    assert_eq!(s.ack_failures.get("location:failure"), Some(&6));
    assert_eq!(s.errors.get("ack_failure"), Some(&6));
    assert_eq!(s.ack_timeouts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_reports_time_out() {
    let p = Platform::start(Behaviour {
        ignore_reports: true,
        ..Behaviour::default()
    })
    .await;
    let mut c = config(p.addr, 1, 4);
    c.reply_timeout = Duration::from_millis(100);
    let s = simulate(c).await;
    assert_eq!((s.reports_sent, s.reports_acked), (4, 0));
    assert_eq!(s.ack_timeouts, 4);
    assert_eq!(s.errors.get("ack_timeout"), Some(&4));
    assert_eq!(s.logouts_acked, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_terminal_sends_heartbeats() {
    let p = Platform::start(Behaviour::default()).await;
    let mut c = config(p.addr, 1, 3);
    c.interval = Duration::from_millis(500);
    c.parked_interval = Some(c.interval);
    c.heartbeat = Duration::from_millis(100);
    let s = simulate(c).await;
    p.wait_closed().await;
    let seen = p.with(|r| r.count("13800000001", msg_id::HEARTBEAT));
    // Two gaps of 500 ms between three reports: about four heartbeats in each.
    assert!(s.heartbeats_sent >= 4, "{}", s.heartbeats_sent);
    assert_eq!(seen as u64, s.heartbeats_sent);
    assert_eq!(s.heartbeats_acked, s.heartbeats_sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_commands_are_answered_unsupported() {
    let p = Platform::start(Behaviour {
        command_after_auth: Some(0x8201),
        ..Behaviour::default()
    })
    .await;
    let s = simulate(config(p.addr, 1, 2)).await;
    p.wait_closed().await;
    assert_eq!(s.commands_received, 1);
    p.with(|r| {
        let answers: Vec<GeneralResponse> = r
            .frames_of("13800000001")
            .iter()
            .filter_map(|f| match &f.body {
                Body::TerminalResponse(g) => Some(*g),
                _ => None,
            })
            .collect();
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0].ack_msg_id, 0x8201);
        assert_eq!(answers[0].result, GeneralResponse::UNSUPPORTED);
        // The platform's third downlink (after 0x8100 and the 0x8001 to 0x0102).
        assert_eq!(answers[0].ack_serial, 2);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_the_platform_no_longer_accepts_leads_to_a_new_registration() {
    let p = Platform::start(Behaviour {
        drop_first_at_report: Some(2),
        new_code_on_drop: true,
        ..Behaviour::default()
    })
    .await;
    let s = simulate(config(p.addr, 2, 5)).await;
    p.wait_closed().await;
    for t in ["13800000001", "13800000002"] {
        p.with(|r| {
            let second = &r.conns_of(t)[1];
            let ids: Vec<u16> = second.frames.iter().map(|f| f.header.msg_id).collect();
            assert_eq!(
                ids[..3],
                [msg_id::AUTHENTICATE, msg_id::REGISTER, msg_id::AUTHENTICATE],
                "{t}"
            );
            let Body::Authenticate(a) = &second.frames[2].body else {
                panic!()
            };
            assert_eq!(a.code.text(), "NEWCODE");
        });
    }
    assert_eq!(s.refused.get("authentication_failed"), Some(&2));
    assert_eq!((s.registered, s.failed, s.authentications), (2, 0, 4));
    // The two reports lost with the first connections are neither acknowledged nor timed out:
    // they went up again.
    assert_eq!(s.reports_acked, s.reports_sent - 2);
    assert_eq!((s.ack_timeouts, s.batches_acked), (0, s.batches_sent));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_end_of_the_duration_every_terminal_uploads_and_logs_out() {
    let p = Platform::start(Behaviour::default()).await;
    let mut c = config(p.addr, 4, 1_000_000);
    c.reports_per_terminal = None;
    c.duration = Some(Duration::from_millis(700));
    // Long episodes: most terminals are in one when the time is up.
    c.signal_loss_every = Some(Duration::from_millis(150));
    c.signal_loss_length = Duration::from_secs(2);
    let fleet = c.fleet().unwrap();
    let started = Instant::now();
    let s = simulate(c).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    p.wait_closed().await;
    let mut delivered = 0;
    for id in &fleet {
        p.with(|r| {
            let frames = r.frames_of(&id.terminal_id);
            assert_eq!(frames.last().unwrap().header.msg_id, msg_id::LOGOUT);
            delivered += fixes(&frames).len() as u64;
        });
    }
    assert!(s.signal_losses >= 4);
    assert!(s.fixes >= 8, "{}", s.fixes);
    assert_eq!(delivered, s.fixes, "every fix uploaded before the logout");
    assert_eq!((s.unsent, s.online, s.logouts_acked), (0, 0, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_blind_area_goes_up_in_batches_that_each_fit_a_frame() {
    let p = Platform::start(Behaviour::default()).await;
    let mut c = config(p.addr, 2, 80);
    c.versions = Versions::Only(Version::V2019);
    c.interval = Duration::from_millis(10);
    c.parked_interval = Some(c.interval);
    c.signal_loss_every = Some(Duration::from_millis(100));
    c.signal_loss_length = Duration::from_millis(500);
    let s = simulate(c).await;
    p.wait_closed().await;
    let mut largest = 0;
    for t in ["13800000001", "13800000002"] {
        p.with(|r| {
            let frames = r.frames_of(t);
            assert_eq!(fixes(&frames).len(), 80);
            for f in frames {
                if let Body::Batch(b) = &f.body {
                    assert!(b.items.len() <= 15);
                    assert!(f.body_bytes().unwrap().len() <= 1023);
                    largest = largest.max(b.items.len());
                }
            }
        });
    }
    assert_eq!(largest, 15, "no episode needed more than one batch");
    assert!(s.blind_batches_sent >= 4);
    assert_eq!(s.batches_acked, s.batches_sent);
}
