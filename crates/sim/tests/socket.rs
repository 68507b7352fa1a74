//! The simulator against a real GB/T 32960 server on a real socket: a small server written
//! here with the codec (`Framer`, `decode`, `standard_reply`) records every frame it receives,
//! and the tests compare that record with what the simulator says it sent.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::Timestamp;
use proto_gbt32960::{
    Body, Command, Edition, Frame, Framer, Response, Time, decode, reply, standard_reply, to_sample,
};
use sim::SimError;
use sim::gbt32960::{Config, Mode, Snapshot, run};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// How the test server behaves.
#[derive(Debug, Clone, Default)]
struct Behaviour {
    /// Platform logins must carry these credentials, or are answered 0x02 (error).
    credentials: Option<(String, String)>,
    /// Close the first connection after this many realtime frames.
    drop_first_after: Option<usize>,
}

/// Everything the server received, one list of frames per connection, in arrival order.
#[derive(Debug, Default)]
struct Record {
    connections: Vec<Vec<Frame>>,
    /// When each frame arrived (wall clock), parallel to `connections`.
    arrivals: Vec<Vec<Timestamp>>,
    /// When the simulator closed each connection (wall clock), if it has.
    closed: Vec<Option<Timestamp>>,
}

impl Record {
    fn frames(&self) -> impl Iterator<Item = &Frame> {
        self.connections.iter().flatten()
    }

    fn count(&self, command: Command) -> usize {
        self.frames()
            .filter(|f| f.header.command == command)
            .count()
    }
}

struct Server {
    addr: SocketAddr,
    record: Arc<Mutex<Record>>,
}

impl Server {
    async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let record = Arc::new(Mutex::new(Record::default()));
        let rec = record.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let index = {
                    let mut r = rec.lock().unwrap();
                    r.connections.push(Vec::new());
                    r.arrivals.push(Vec::new());
                    r.closed.push(None);
                    r.connections.len() - 1
                };
                tokio::spawn(serve(stream, index, rec.clone(), behaviour.clone()));
            }
        });
        Self { addr, record }
    }

    fn snapshot<T>(&self, f: impl FnOnce(&Record) -> T) -> T {
        f(&self.record.lock().unwrap())
    }

    /// Waits until the server has received `frames` frames (the simulator's count), so that
    /// the comparison does not race the last bytes in flight.
    async fn wait_for_frames(&self, frames: u64) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got = self.snapshot(|r| r.frames().count() as u64);
            if got >= frames || Instant::now() > deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Server {
    /// Waits (up to 5 s) until the simulator has closed every connection; the run returning
    /// does not mean the server has read the end of each stream yet.
    async fn wait_for_closes(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.snapshot(|r| r.closed.iter().all(Option::is_some)) && Instant::now() < deadline
        {
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

fn now_time() -> Time {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Time::from_timestamp(Timestamp::from_secs(secs as i64))
}

async fn serve(mut stream: TcpStream, index: usize, record: Arc<Mutex<Record>>, b: Behaviour) {
    let mut framer = Framer::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => {
                record.lock().unwrap().closed[index] = Some(wall_now());
                return;
            }
            Ok(n) => n,
        };
        let arrived = wall_now();
        framer.push(&buf[..n]);
        let mut replies = Vec::new();
        while let Some(bytes) = framer.next_frame() {
            let frame = decode(&bytes.expect("the simulator frames correctly")).expect("decodes");
            let answer = match &frame.body {
                Body::PlatformLogin(login) if frame.header.response.is_command() => {
                    let ok = b.credentials.as_ref().is_none_or(|(u, p)| {
                        login.username.text() == *u && login.password.text() == *p
                    });
                    let code = if ok {
                        Response::SUCCESS
                    } else {
                        Response::ERROR
                    };
                    Some(reply(&frame, code, now_time()))
                }
                _ => standard_reply(&frame, now_time(), false),
            };
            if let Some(r) = answer {
                replies.extend(r.encode().unwrap());
            }
            let realtime = {
                let mut r = record.lock().unwrap();
                r.connections[index].push(frame);
                r.arrivals[index].push(arrived);
                r.connections[index]
                    .iter()
                    .filter(|f| f.header.command == Command::REALTIME)
                    .count()
            };
            if index == 0 && b.drop_first_after == Some(realtime) {
                return;
            }
        }
        if stream.write_all(&replies).await.is_err() {
            return;
        }
    }
}

async fn simulate(config: Config) -> Result<Snapshot, SimError> {
    let limit = Duration::from_secs(60);
    tokio::time::timeout(limit, run(config, std::future::pending(), |_| {}))
        .await
        .expect("the simulation ends by itself")
}

fn logout_seq(f: &Frame) -> u16 {
    match &f.body {
        Body::Logout(l) => l.seq,
        other => panic!("not a logout: {other:?}"),
    }
}

fn login_seq(f: &Frame) -> u16 {
    match &f.body {
        Body::VehicleLogin2016(l) => l.seq,
        Body::VehicleLogin2025(l) => l.seq,
        Body::PlatformLogin(l) => l.seq,
        other => panic!("not a login: {other:?}"),
    }
}

/// The simulator's own figures agree with what the server received and answered.
fn check_counts(s: &Snapshot, r: &Record) {
    let frames = r.frames().count() as u64;
    assert_eq!(s.frames_sent, frames, "{s:#?}");
    assert_eq!(s.realtime_sent, r.count(Command::REALTIME) as u64);
    assert_eq!(
        s.vehicle_logins_sent,
        r.count(Command::VEHICLE_LOGIN) as u64
    );
    assert_eq!(
        s.vehicle_logouts_sent,
        r.count(Command::VEHICLE_LOGOUT) as u64
    );
    assert_eq!(
        s.platform_logins_sent,
        r.count(Command::PLATFORM_LOGIN) as u64
    );
    assert_eq!(
        s.platform_logouts_sent,
        r.count(Command::PLATFORM_LOGOUT) as u64
    );
    assert_eq!(s.heartbeats_sent, r.count(Command::HEARTBEAT) as u64);
    let bytes: usize = r.frames().map(|f| f.encode().unwrap().len()).sum();
    assert_eq!(s.bytes_sent, bytes as u64);
    // Every login, heartbeat and logout was answered, and every answer was counted.
    let success = |name: &str| {
        s.replies
            .get(name)
            .and_then(|m| m.get("success"))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(success("vehicle_login"), s.vehicle_logins_sent);
    assert_eq!(success("vehicle_logout"), s.vehicle_logouts_sent);
    assert_eq!(success("heartbeat"), s.heartbeats_sent);
    assert_eq!(success("platform_login"), s.platform_logins_sent);
    assert_eq!(success("platform_logout"), s.platform_logouts_sent);
    assert_eq!(s.heartbeat_rtt_ms.count, s.heartbeats_sent);
    if s.heartbeats_sent > 0 {
        let p50 = s.heartbeat_rtt_ms.p50.unwrap();
        assert!(p50 > 0.0 && p50 < 1_000.0, "p50 {p50} ms");
        assert!(s.heartbeat_rtt_ms.p99.unwrap() >= p50);
    }
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!((s.bad_frames, s.frames_unsent), (0, 0));
    assert_eq!(s.vehicles_online, 0);
    assert!(s.rate_fps > 0.0);
}

/// Every realtime frame maps to a sample of a fleet vehicle, stamped about now.
fn check_reports(r: &Record, vins: &HashSet<String>, edition: Edition) {
    let received = Timestamp::from_secs(0);
    for f in r.frames().filter(|f| f.header.command == Command::REALTIME) {
        assert_eq!(f.header.edition, edition);
        let s = to_sample(f, received).expect("a sample");
        assert!(vins.contains(s.vin.as_str()), "{}", s.vin);
        assert_eq!(s.quality, 0);
        assert_eq!(s.cell_voltages_v.len(), 96);
        assert_eq!(s.probe_temps_c.len(), 32);
        let age = now_time().timestamp().unwrap().as_secs() - s.ts.as_secs();
        assert!((0..120).contains(&age), "device time {age} s old");
    }
}

async fn terminal_mode(edition: Edition) {
    let server = Server::start(Behaviour::default()).await;
    let mut config = Config::new(server.addr.to_string(), 4, Duration::from_millis(50));
    config.edition = edition;
    config.reports_per_vehicle = Some(5);
    config.heartbeat = Some(Duration::from_millis(60));
    let vins: HashSet<String> = config.vins().unwrap().into_iter().collect();
    let s = simulate(config).await.unwrap();
    server.wait_for_frames(s.frames_sent).await;
    server.snapshot(|r| {
        check_counts(&s, r);
        check_reports(r, &vins, edition);
        // One connection per vehicle: login first, then only that VIN, 5 reports, and the
        // logout last with the login's sequence.
        assert_eq!(r.connections.len(), 4);
        let mut seen = HashSet::new();
        for conn in &r.connections {
            let first = &conn[0];
            let last = conn.last().unwrap();
            assert_eq!(first.header.command, Command::VEHICLE_LOGIN);
            assert_eq!(last.header.command, Command::VEHICLE_LOGOUT);
            assert_eq!(logout_seq(last), login_seq(first));
            let vin = first.header.vin;
            assert!(conn.iter().all(|f| f.header.vin == vin));
            let reports = conn
                .iter()
                .filter(|f| f.header.command == Command::REALTIME)
                .count();
            assert_eq!(reports, 5);
            seen.insert(vin.text());
        }
        assert_eq!(seen, vins);
    });
    assert_eq!(s.realtime_sent, 20);
    assert_eq!(s.vehicle_logins_sent, 4);
    assert!(s.heartbeats_sent >= 4, "{} heartbeats", s.heartbeats_sent);
    assert_eq!(s.connections.opened, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminals_log_in_report_and_log_out_2016() {
    terminal_mode(Edition::V2016).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminals_log_in_report_and_log_out_2025() {
    terminal_mode(Edition::V2025).await;
}

async fn platform_mode(connections: usize, edition: Edition) {
    let creds = ("carmaker-a".to_owned(), "change-me".to_owned());
    let server = Server::start(Behaviour {
        credentials: Some(creds.clone()),
        ..Behaviour::default()
    })
    .await;
    let mut config = Config::new(server.addr.to_string(), 7, Duration::from_millis(40));
    config.edition = edition;
    config.vin_prefix = "LA9".to_owned();
    config.mode = Mode::Platform {
        username: creds.0.clone(),
        password: creds.1.clone(),
        connections,
    };
    config.reports_per_vehicle = Some(4);
    config.heartbeat = Some(Duration::from_millis(50));
    let vins: HashSet<String> = config.vins().unwrap().into_iter().collect();
    assert!(vins.iter().all(|v| v.starts_with("LA9") && v.len() == 17));
    let s = simulate(config).await.unwrap();
    server.wait_for_frames(s.frames_sent).await;
    server.snapshot(|r| {
        check_counts(&s, r);
        check_reports(r, &vins, edition);
        assert_eq!(r.connections.len(), connections);
        let mut all = HashSet::new();
        let mut codes = HashSet::new();
        for conn in &r.connections {
            // 0x05 first, with the credentials and the platform's own code.
            let Body::PlatformLogin(login) = &conn[0].body else {
                panic!("first frame {:?}", conn[0].header.command)
            };
            assert_eq!(login.username.text(), creds.0);
            assert_eq!(login.password.text(), creds.1);
            let code = conn[0].header.vin;
            assert!(code.text().starts_with("SIMPLATFORM"));
            codes.insert(code);
            // 0x06 last with the platform login's sequence; heartbeats carry the code.
            let last = conn.last().unwrap();
            assert_eq!(last.header.command, Command::PLATFORM_LOGOUT);
            assert_eq!(last.header.vin, code);
            assert_eq!(logout_seq(last), login.seq);
            // A vehicle reports only after its login, and logs out after its last report.
            let mut logged_in = BTreeMap::new();
            let mut logged_out = HashSet::new();
            for f in &conn[1..conn.len() - 1] {
                let vin = f.header.vin.text();
                match f.header.command {
                    Command::VEHICLE_LOGIN => {
                        logged_in.insert(vin, 0);
                    }
                    Command::REALTIME => {
                        *logged_in.get_mut(&vin).expect("report after login") += 1;
                        assert!(!logged_out.contains(&vin));
                    }
                    Command::VEHICLE_LOGOUT => {
                        assert!(logged_out.insert(vin));
                    }
                    Command::HEARTBEAT => assert_eq!(f.header.vin, code),
                    other => panic!("unexpected {other:?}"),
                }
            }
            assert!(logged_in.values().all(|&n| n == 4), "{logged_in:?}");
            assert_eq!(logged_out.len(), logged_in.len());
            all.extend(logged_in.into_keys());
        }
        assert_eq!(codes.len(), connections);
        assert_eq!(all, vins, "every VIN went over the platform connections");
    });
    assert_eq!(s.realtime_sent, 28);
    assert_eq!(s.platform_logins_sent, connections as u64);
    assert_eq!(s.connections.opened, connections as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_sends_every_vin_over_one_connection() {
    platform_mode(1, Edition::V2016).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_vehicles_spread_over_connections_2025() {
    platform_mode(3, Edition::V2025).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_platform_login_ends_the_run() {
    let server = Server::start(Behaviour {
        credentials: Some(("carmaker-a".into(), "right".into())),
        ..Behaviour::default()
    })
    .await;
    let mut config = Config::new(server.addr.to_string(), 3, Duration::from_millis(20));
    config.mode = Mode::Platform {
        username: "carmaker-a".into(),
        password: "wrong".into(),
        connections: 1,
    };
    let err = simulate(config).await.unwrap_err();
    assert!(
        matches!(err, SimError::PlatformLoginRefused { code: 0x02, .. }),
        "{err}"
    );
    // Nothing but the refused login went out.
    server.snapshot(|r| {
        assert_eq!(r.frames().count(), 1);
        assert_eq!(r.count(Command::PLATFORM_LOGIN), 1);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_terminal_reconnects_and_logs_in_again() {
    let server = Server::start(Behaviour {
        drop_first_after: Some(2),
        ..Behaviour::default()
    })
    .await;
    let mut config = Config::new(server.addr.to_string(), 1, Duration::from_millis(30));
    config.reports_per_vehicle = Some(6);
    let s = simulate(config).await.unwrap();
    assert_eq!(s.connections.opened, 2);
    assert_eq!(s.connections.dropped, 1);
    server.wait_for_frames(s.frames_sent).await;
    server.snapshot(|r| {
        assert_eq!(r.connections.len(), 2);
        // The second login of the day carries the next sequence number.
        let seqs: Vec<u16> = r
            .frames()
            .filter(|f| f.header.command == Command::VEHICLE_LOGIN)
            .map(login_seq)
            .collect();
        assert_eq!(seqs, [1, 2]);
        let second = &r.connections[1];
        assert_eq!(logout_seq(second.last().unwrap()), 2);
        // A report written just as the server hung up may be lost with the connection; the
        // simulator counts what it wrote.
        let received = r.count(Command::REALTIME) as u64;
        assert!(
            s.realtime_sent == received || s.realtime_sent == received + 1,
            "sent {}, received {received}",
            s.realtime_sent
        );
        assert!(s.realtime_sent >= 6);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_and_duration_log_out_cleanly() {
    let server = Server::start(Behaviour::default()).await;
    let mut config = Config::new(server.addr.to_string(), 3, Duration::from_millis(20));
    config.edition = Edition::V2025;
    config.progress_every = Duration::from_millis(30);

    // Shutdown from outside once the server has seen 15 reports.
    let watched = server.record.clone();
    let shutdown = async move {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let n = watched.lock().unwrap().count(Command::REALTIME);
            if n >= 15 || Instant::now() > deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let mut progress = 0;
    let s = tokio::time::timeout(
        Duration::from_secs(60),
        run(config.clone(), shutdown, |_| progress += 1),
    )
    .await
    .unwrap()
    .unwrap();
    server.wait_for_frames(s.frames_sent).await;
    server.snapshot(|r| {
        check_counts(&s, r);
        assert_eq!(r.count(Command::VEHICLE_LOGOUT), 3);
        assert!(r.count(Command::REALTIME) >= 15);
    });
    assert!(progress >= 1, "progress was reported");

    // A duration ends the run the same way.
    let server = Server::start(Behaviour::default()).await;
    config.server = server.addr.to_string();
    config.duration = Some(Duration::from_millis(400));
    let started = Instant::now();
    let s = simulate(config).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));
    server.wait_for_frames(s.frames_sent).await;
    server.snapshot(|r| {
        check_counts(&s, r);
        assert_eq!(r.count(Command::VEHICLE_LOGOUT), 3);
        assert!(r.count(Command::REALTIME) >= 3);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_serializes_with_the_documented_fields() {
    let server = Server::start(Behaviour::default()).await;
    let mut config = Config::new(server.addr.to_string(), 2, Duration::from_millis(20));
    config.reports_per_vehicle = Some(2);
    let s = simulate(config).await.unwrap();
    let json: serde_json::Value = serde_json::to_value(&s).unwrap();
    for key in [
        "frames_sent",
        "realtime_sent",
        "replies",
        "errors",
        "rate_fps",
        "heartbeat_rtt_ms",
        "faults",
    ] {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
    assert_eq!(json["faults"], serde_json::json!([]));
    assert_eq!(json["realtime_sent"], 4);
    assert_eq!(json["replies"]["vehicle_login"]["success"], 2);
    for key in ["p50", "p99", "count"] {
        assert!(json["heartbeat_rtt_ms"].get(key).is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configurations_are_refused() {
    let mut config = Config::new("127.0.0.1:1", 0, Duration::from_secs(1));
    assert!(matches!(
        simulate(config.clone()).await,
        Err(SimError::Config(_))
    ));
    config.vehicles = 2;
    config.mode = Mode::Platform {
        username: "a-name-that-is-too-long".into(),
        password: "x".into(),
        connections: 1,
    };
    assert!(matches!(
        simulate(config.clone()).await,
        Err(SimError::Config(_))
    ));
    config.mode = Mode::Terminal;
    config.vin_prefix = "TOOLONGPREFIX1234".into();
    assert!(matches!(simulate(config).await, Err(SimError::Config(_))));
}

/// Realtime frames of one VIN, with their device times.
fn reports_of<'a>(r: &'a Record, vin: &'a str) -> impl Iterator<Item = (Timestamp, &'a Frame)> {
    r.frames()
        .filter(move |f| f.header.command == Command::REALTIME && f.header.vin.text() == vin)
        .map(|f| (to_sample(f, Timestamp::from_secs(0)).unwrap().ts, f))
}

fn flags(f: &Frame) -> u32 {
    to_sample(f, Timestamp::from_secs(0))
        .unwrap()
        .alarm_flags
        .unwrap()
}

/// The connection (index) whose first frame is `vin`'s login.
fn connection_of(r: &Record, vin: &str) -> usize {
    r.connections
        .iter()
        .position(|c| c[0].header.vin.text() == vin)
        .unwrap_or_else(|| panic!("no connection of {vin}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulted_terminals_flag_from_the_onset_and_the_offline_one_falls_silent() {
    use sim::fault::Fault;
    let server = Server::start(Behaviour::default()).await;
    let mut config = Config::new(server.addr.to_string(), 5, Duration::from_millis(50));
    config.edition = Edition::V2025;
    config.heartbeat = Some(Duration::from_millis(100));
    config.faults = vec![
        Fault::Thermal,
        Fault::Insulation,
        Fault::CellDrift,
        Fault::Offline,
    ];
    config.fault_after = Duration::from_millis(200);
    let duration = Duration::from_millis(2_500);
    config.duration = Some(duration);
    let vins = config.vins().unwrap();
    let started = wall_now();
    let s = simulate(config.clone()).await.unwrap();
    server.wait_for_frames(s.frames_sent).await;
    server.wait_for_closes().await;

    // Fault k went to vehicle k, all with one onset: a whole second, 0.2–1.2 s in.
    let given: Vec<(&str, Fault)> = s.faults.iter().map(|f| (f.vin.as_str(), f.fault)).collect();
    assert_eq!(
        given,
        vins[..4]
            .iter()
            .map(String::as_str)
            .zip(config.faults.iter().copied())
            .collect::<Vec<_>>()
    );
    let at = s.faults[0].at;
    assert!(s.faults.iter().all(|f| f.at == at));
    assert_eq!(at.as_micros() % 1_000_000, 0, "{at}");
    let offset = at.as_micros() - started.as_micros();
    assert!(
        (200_000..1_300_000).contains(&offset),
        "onset {offset} µs in"
    );
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["faults"][0]["fault"], "thermal");
    assert_eq!(json["faults"][2]["fault"], "cell-drift");
    assert_eq!(json["faults"][3]["vin"], vins[3].as_str());
    assert_eq!(json["faults"][0]["at"], at.to_string());

    server.snapshot(|r| {
        check_counts(&s, r);
        // Flags exactly on the reports stamped at or after the onset.
        for (vin, want) in [(&vins[0], 1 << 0 | 1 << 1 | 1 << 23), (&vins[1], 1 << 11)] {
            let (mut before, mut after) = (0, 0);
            for (ts, f) in reports_of(r, vin) {
                if ts < at {
                    assert_eq!(flags(f), 0, "{vin} at {ts}");
                    before += 1;
                } else {
                    assert_eq!(flags(f), want, "{vin} at {ts}");
                    after += 1;
                }
            }
            assert!(
                before > 0 && after > 0,
                "{vin}: {before} before, {after} after"
            );
        }
        for vin in [&vins[2], &vins[4]] {
            assert!(reports_of(r, vin).all(|(_, f)| flags(f) == 0));
        }
        // The offline terminal: reports until the onset, then nothing at all (no heartbeat,
        // no logout) on a connection that stays open until the run stops.
        let c = connection_of(r, &vins[3]);
        assert!(reports_of(r, &vins[3]).all(|(ts, _)| ts < at));
        assert!(reports_of(r, &vins[3]).count() > 0);
        let last = *r.arrivals[c].last().unwrap();
        assert!(
            last.as_micros() < at.as_micros() + 500_000,
            "a frame arrived at {last}, onset {at}"
        );
        assert!(
            r.connections[c]
                .iter()
                .all(|f| f.header.command != Command::VEHICLE_LOGOUT)
        );
        let closed = r.closed[c].expect("closed when the run stopped");
        assert!(
            closed.as_micros() >= started.as_micros() + duration.as_micros() as i64 - 50_000,
            "closed at {closed}, started {started}"
        );
        // The others heartbeat and log out as usual.
        for vin in [&vins[0], &vins[4]] {
            let conn = &r.connections[connection_of(r, vin)];
            assert_eq!(conn.last().unwrap().header.command, Command::VEHICLE_LOGOUT);
        }
        assert_eq!(r.count(Command::VEHICLE_LOGOUT), 4);
    });
    assert_eq!(s.connections.opened, 5);
    assert_eq!(s.connections.dropped, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_leaves_the_offline_vin_out_and_goes_on_with_the_rest() {
    use sim::fault::Fault;
    let server = Server::start(Behaviour::default()).await;
    let mut config = Config::new(server.addr.to_string(), 3, Duration::from_millis(40));
    config.mode = Mode::Platform {
        username: "carmaker-a".into(),
        password: "change-me".into(),
        connections: 1,
    };
    config.heartbeat = Some(Duration::from_millis(60));
    config.faults = vec![Fault::Offline];
    config.fault_after = Duration::ZERO;
    config.duration = Some(Duration::from_millis(2_200));
    let vins = config.vins().unwrap();
    let s = simulate(config).await.unwrap();
    server.wait_for_frames(s.frames_sent).await;
    let at = s.faults[0].at;
    assert_eq!(s.faults[0].vin, vins[0]);
    server.snapshot(|r| {
        check_counts(&s, r);
        assert_eq!(r.connections.len(), 1);
        let conn = &r.connections[0];
        let arrivals = &r.arrivals[0];
        let late = |i: usize| arrivals[i].as_micros() >= at.as_micros() + 500_000;
        // After the onset the offline VIN is absent; the others and the platform go on.
        for (i, f) in conn.iter().enumerate() {
            if late(i) {
                assert_ne!(f.header.vin.text(), vins[0], "{:?}", f.header.command);
            }
        }
        for vin in &vins[1..] {
            assert!(reports_of(r, vin).any(|(ts, _)| ts > at), "{vin} went on");
        }
        assert!(
            conn.iter()
                .enumerate()
                .any(|(i, f)| late(i) && f.header.command == Command::HEARTBEAT),
            "the platform still heartbeats"
        );
        let logouts: Vec<String> = conn
            .iter()
            .filter(|f| f.header.command == Command::VEHICLE_LOGOUT)
            .map(|f| f.header.vin.text())
            .collect();
        assert_eq!(logouts, vins[1..]);
        assert_eq!(
            conn.last().unwrap().header.command,
            Command::PLATFORM_LOGOUT
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_report_limit_the_silent_terminal_ends_when_its_reports_would_have() {
    use sim::fault::Fault;
    let server = Server::start(Behaviour::default()).await;
    let mut config = Config::new(server.addr.to_string(), 2, Duration::from_millis(20));
    config.faults = vec![Fault::Offline];
    config.fault_after = Duration::ZERO;
    config.reports_per_vehicle = Some(80);
    let vins = config.vins().unwrap();
    // No duration and no shutdown: the run must end by itself.
    let s = simulate(config).await.unwrap();
    server.wait_for_frames(s.frames_sent).await;
    server.wait_for_closes().await;
    server.snapshot(|r| {
        check_counts(&s, r);
        assert!(reports_of(r, &vins[0]).count() < 80);
        assert_eq!(reports_of(r, &vins[1]).count(), 80);
        assert_eq!(r.count(Command::VEHICLE_LOGOUT), 1);
        let c = connection_of(r, &vins[0]);
        assert!(r.closed[c].is_some(), "closed without a logout");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_faults_than_vehicles_is_refused() {
    use sim::fault::Fault;
    let mut config = Config::new("127.0.0.1:1", 1, Duration::from_secs(1));
    config.faults = vec![Fault::Thermal, Fault::Offline];
    let err = simulate(config).await.unwrap_err();
    assert!(
        matches!(&err, SimError::Config(m) if m.contains("2 faults")),
        "{err}"
    );
}
